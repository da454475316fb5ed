//! The chunked decoder against an encoder: any body, chunking, extensions, trailers and input
//! split decode back to the same body, ending right after the message.

use proptest::prelude::*;
use shardbox_http::props::check_chunked;
use shardbox_http::{ChunkedDecoder, Limits};

/// Encodes `chunks` (each with an optional extension) and `trailers`, then `after`.
fn encode(chunks: &[(Vec<u8>, String)], trailers: &[(String, String)], after: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for (data, ext) in chunks.iter().filter(|(d, _)| !d.is_empty()) {
        v.extend_from_slice(format!("{:X}{ext}\r\n", data.len()).as_bytes());
        v.extend_from_slice(data);
        v.extend_from_slice(b"\r\n");
    }
    v.extend_from_slice(b"0\r\n");
    for (name, value) in trailers {
        v.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    v.extend_from_slice(b"\r\n");
    v.extend_from_slice(after);
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_with_any_split(
        chunks in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 0..40), prop_oneof![Just(String::new()), ";[a-z]{1,5}(=[a-z0-9]{0,5})?"]),
            0..6,
        ),
        trailers in prop::collection::vec(("[A-Za-z-]{1,8}", "[ -~]{0,10}"), 0..3),
        splits in prop::collection::vec(1usize..16, 1..64),
    ) {
        let after = b"GET /next HTTP/1.1\r\n";
        let input = encode(&chunks, &trailers, after);
        let expected: Vec<u8> = chunks.iter().flat_map(|(d, _)| d.iter().copied()).collect();

        let mut dec = ChunkedDecoder::new(&Limits::DEFAULT);
        let mut body = Vec::new();
        let (mut consumed, mut avail) = (0usize, 0usize);
        let mut split = splits.iter().cycle();
        let done = loop {
            avail = (avail + split.next().unwrap()).min(input.len());
            let mut finished = false;
            while consumed < avail {
                let d = dec.decode(&input[consumed..avail]).unwrap();
                body.extend_from_slice(&input[consumed..avail][d.data.clone()]);
                consumed += d.consumed;
                if d.done {
                    finished = true;
                    break;
                }
            }
            if finished || avail == input.len() {
                break finished;
            }
        };
        prop_assert!(done);
        prop_assert_eq!(body, expected);
        prop_assert_eq!(&input[consumed..], &after[..]);
        check_chunked(&input);
    }

    #[test]
    fn arbitrary_bytes_hold_the_properties(data in prop::collection::vec(any::<u8>(), 0..64)) {
        check_chunked(&data);
    }

    #[test]
    fn mutated_bodies_hold_the_properties(
        chunks in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..10), Just(String::new())), 0..4),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut input = encode(&chunks, &[], b"");
        let i = at.index(input.len());
        input[i] = byte;
        check_chunked(&input);
    }
}
