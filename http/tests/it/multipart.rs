//! multipart/form-data: generated forms round-trip, limits at max-1/max/max+1, and the shape
//! `POST /file` (go-judge field `file`) relies on.

use proptest::prelude::*;
use shardbox_http::limits::{MULTIPART_PART_HEADER_BYTES_MAX, MULTIPART_PARTS_COUNT_MAX};
use shardbox_http::props::check_multipart;
use shardbox_http::{Limits, Multipart, MultipartError, boundary};

fn form(parts: &[(String, Option<String>, Vec<u8>)], b: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for (name, filename, data) in parts {
        v.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if let Some(f) = filename {
            v.extend_from_slice(
                format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream").as_bytes(),
            );
        }
        v.extend_from_slice(b"\r\n\r\n");
        v.extend_from_slice(data);
        v.extend_from_slice(b"\r\n");
    }
    v.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    v
}

#[test]
fn go_judge_file_upload() {
    // What `curl -F file=@a.out` sends.
    let ct = b"multipart/form-data; boundary=------------------------d74496d66958873e";
    let body = b"--------------------------d74496d66958873e\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"a.out\"\r\n\
Content-Type: application/octet-stream\r\n\r\n\
\x7fELF\x02\x01\x01\0\r\n--------------------------d74496d66958873e--\r\n";
    let b = boundary(ct).unwrap();
    let file = Multipart::new(body, b, &Limits::DEFAULT)
        .map(Result::unwrap)
        .find(|p| p.name.eq_decoded(b"file"))
        .unwrap();
    assert!(file.filename.unwrap().eq_decoded(b"a.out"));
    assert_eq!(file.data, b"\x7fELF\x02\x01\x01\0");
}

#[test]
fn parts_count_max() {
    let max = MULTIPART_PARTS_COUNT_MAX;
    let body = |n: usize| form(&vec![("f".to_string(), None, b"x".to_vec()); n], "bnd");
    for n in [max - 1, max] {
        let input = body(n);
        let parts: Result<Vec<_>, _> = Multipart::new(&input, b"bnd", &Limits::DEFAULT).collect();
        assert_eq!(parts.unwrap().len(), n);
    }
    let input = body(max + 1);
    let parts: Vec<_> = Multipart::new(&input, b"bnd", &Limits::DEFAULT).collect();
    assert_eq!(parts.len(), max + 1);
    assert_eq!(parts[max], Err(MultipartError::TooManyParts { max }));
}

#[test]
fn part_header_bytes_max() {
    let max = MULTIPART_PART_HEADER_BYTES_MAX;
    // Header block = the Content-Disposition line, padded, plus the empty line.
    let body = |len: usize| {
        let prefix = "Content-Disposition: form-data; name=a; x=";
        let pad = len - prefix.len() - 4;
        format!("--b\r\n{prefix}{}\r\n\r\ndata\r\n--b--", "p".repeat(pad)).into_bytes()
    };
    for len in [max - 1, max] {
        let input = body(len);
        let parts: Result<Vec<_>, _> = Multipart::new(&input, b"b", &Limits::DEFAULT).collect();
        assert_eq!(parts.unwrap()[0].data, b"data", "header block of {len}");
    }
    let input = body(max + 1);
    let parts: Vec<_> = Multipart::new(&input, b"b", &Limits::DEFAULT).collect();
    assert_eq!(parts, vec![Err(MultipartError::PartHeadTooLarge { max })]);
}

#[test]
fn boundary_bytes_max() {
    for (n, ok) in [(69, true), (70, true), (71, false)] {
        let b = "q".repeat(n);
        let ct = format!("multipart/form-data; boundary={b}");
        assert_eq!(boundary(ct.as_bytes()).is_ok(), ok, "boundary of {n}");
        let body = form(&[("a".into(), None, b"x".to_vec())], &b);
        let parts: Vec<_> = Multipart::new(&body, b.as_bytes(), &Limits::DEFAULT).collect();
        assert_eq!(parts.iter().all(Result::is_ok), ok, "parse with boundary of {n}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn generated_forms_round_trip(
        parts in prop::collection::vec(
            ("[a-z_]{1,8}", prop::option::of("[a-zA-Z0-9 ._-]{1,12}"), prop::collection::vec(any::<u8>(), 0..64)),
            0..6,
        ),
        b in "[a-zA-Z0-9'()+_,./:=?-]{1,20}",
    ) {
        let body = form(&parts, &b);
        let got: Vec<_> = Multipart::new(&body, b.as_bytes(), &Limits::DEFAULT).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(got.len(), parts.len());
        for (p, (name, filename, data)) in got.iter().zip(&parts) {
            prop_assert!(p.name.eq_decoded(name.as_bytes()));
            prop_assert_eq!(p.filename.map(|f| f.decoded().collect::<Vec<u8>>()), filename.as_ref().map(|f| f.as_bytes().to_vec()));
            prop_assert_eq!(p.data, &data[..]);
        }
        let mut input = b.clone().into_bytes();
        input.push(b'\n');
        input.extend_from_slice(&body);
        check_multipart(&input);
    }

    #[test]
    fn arbitrary_bytes_hold_the_properties(data in prop::collection::vec(any::<u8>(), 0..128)) {
        check_multipart(&data);
    }

    #[test]
    fn mutated_forms_hold_the_properties(
        data in prop::collection::vec(any::<u8>(), 0..16),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut input = b"b\n".to_vec();
        input.extend_from_slice(&form(&[("a".into(), Some("f".into()), data.clone()), ("c".into(), None, data)], "b"));
        let i = at.index(input.len());
        input[i] = byte;
        check_multipart(&input);
    }
}
