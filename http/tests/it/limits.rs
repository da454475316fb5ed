//! Every limit at `max - 1`, `max` and `max + 1` (STYLE §9), with the status it maps to.

use shardbox_http::limits::{
    BODY_BYTES_MAX, CHUNK_EXT_BYTES_MAX, CHUNK_SIZE_DIGITS_MAX, HEADER_BYTES_MAX,
    HEADERS_COUNT_MAX, TARGET_BYTES_MAX, TRAILER_BYTES_MAX,
};
use shardbox_http::{ChunkedDecoder, Header, Limits, ParseError, Parsed, parse_request};

fn outcome(buf: &[u8]) -> Result<Option<usize>, ParseError> {
    let mut headers = vec![Header::EMPTY; HEADERS_COUNT_MAX + 10];
    parse_request(buf, &mut headers, &Limits::DEFAULT).map(|p| match p {
        Parsed::Complete { head_len, .. } => Some(head_len),
        Parsed::Partial => None,
    })
}

/// A complete head of exactly `len` bytes (padding one header value).
fn head_of_len(len: usize) -> Vec<u8> {
    let base = b"GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \r\n\r\n";
    let mut v = b"GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ".to_vec();
    v.resize(v.len() + len - base.len(), b'p');
    v.extend_from_slice(b"\r\n\r\n");
    assert_eq!(v.len(), len);
    v
}

#[test]
fn header_bytes_max() {
    let max = HEADER_BYTES_MAX;
    for len in [max - 1, max] {
        let mut buf = head_of_len(len);
        assert_eq!(outcome(&buf), Ok(Some(len)), "head of {len}");
        buf.extend_from_slice(b"body bytes after the head do not count");
        assert_eq!(outcome(&buf), Ok(Some(len)), "head of {len} with a body");
    }
    assert_eq!(outcome(&head_of_len(max + 1)), Err(ParseError::HeadTooLarge { max }));
    // An incomplete head is refused once the buffer reaches the limit, not later.
    let partial = &head_of_len(max + 100)[..max];
    assert_eq!(outcome(&partial[..max - 1]), Ok(None));
    assert_eq!(outcome(partial), Err(ParseError::HeadTooLarge { max }));
    assert_eq!(ParseError::HeadTooLarge { max }.status(), 431);
}

#[test]
fn headers_count_max() {
    let head = |n: usize| {
        let mut v = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 1..n {
            v.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        v.extend_from_slice(b"\r\n");
        v
    };
    let max = HEADERS_COUNT_MAX;
    assert!(matches!(outcome(&head(max - 1)), Ok(Some(_))));
    assert!(matches!(outcome(&head(max)), Ok(Some(_))));
    assert_eq!(outcome(&head(max + 1)), Err(ParseError::TooManyHeaders { max }));
    assert_eq!(ParseError::TooManyHeaders { max }.status(), 431);
}

#[test]
fn target_bytes_max() {
    let head = |n: usize| {
        let mut v = b"GET /".to_vec();
        v.resize(4 + n, b't');
        v.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
        v
    };
    let max = TARGET_BYTES_MAX;
    assert!(matches!(outcome(&head(max - 1)), Ok(Some(_))));
    assert!(matches!(outcome(&head(max)), Ok(Some(_))));
    assert_eq!(outcome(&head(max + 1)), Err(ParseError::TargetTooLong { max }));
    // Known as soon as the target passes the limit, before the request line ends.
    assert_eq!(outcome(&head(max + 1)[..4 + max + 1]), Err(ParseError::TargetTooLong { max }));
    assert_eq!(outcome(&head(max + 1)[..4 + max]), Ok(None));
    assert_eq!(ParseError::TargetTooLong { max }.status(), 414);
}

#[test]
fn body_bytes_max_by_content_length() {
    let head = |n: u64| format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {n}\r\n\r\n");
    let max = BODY_BYTES_MAX;
    assert!(matches!(outcome(head(max - 1).as_bytes()), Ok(Some(_))));
    assert!(matches!(outcome(head(max).as_bytes()), Ok(Some(_))));
    assert_eq!(
        outcome(head(max + 1).as_bytes()),
        Err(ParseError::BodyTooLarge { len: max + 1, max })
    );
    assert_eq!(ParseError::BodyTooLarge { len: max + 1, max }.status(), 413);
}

/// Feeds `input` to a fresh decoder with `limits` until done, error or input end.
fn decode_all(mut input: &[u8], limits: &Limits) -> Result<(Vec<u8>, bool), ParseError> {
    let mut dec = ChunkedDecoder::new(limits);
    let mut body = Vec::new();
    loop {
        let d = dec.decode(input)?;
        body.extend_from_slice(&input[d.data.clone()]);
        input = &input[d.consumed..];
        if d.done || input.is_empty() {
            return Ok((body, d.done));
        }
    }
}

#[test]
fn body_bytes_max_by_chunks() {
    // The default limit, announced by chunk sizes: refused before any data arrives.
    let max = BODY_BYTES_MAX;
    for (size, ok) in [(max - 1, true), (max, true), (max + 1, false)] {
        let input = format!("{:x}\r\n", size - 1);
        let r = decode_all(format!("1\r\nx\r\n{input}").as_bytes(), &Limits::DEFAULT);
        if ok {
            assert_eq!(r, Ok((b"x".to_vec(), false)), "size {size}");
        } else {
            assert_eq!(r, Err(ParseError::BodyTooLarge { len: size, max }), "size {size}");
        }
    }
    // A small limit, with the data actually sent.
    let limits = Limits { body_bytes_max: 10, ..Limits::DEFAULT };
    for (n, ok) in [(9usize, true), (10, true), (11, false)] {
        let mut input = b"5\r\nxxxxx\r\n".to_vec();
        input.extend_from_slice(format!("{:x}\r\n", n - 5).as_bytes());
        input.extend(std::iter::repeat_n(b'y', n - 5));
        input.extend_from_slice(b"\r\n0\r\n\r\n");
        let r = decode_all(&input, &limits);
        assert_eq!(r.is_ok(), ok, "body of {n}: {r:?}");
        if ok {
            assert_eq!(r.unwrap().0.len(), n);
        }
    }
}

#[test]
fn chunk_ext_bytes_max() {
    let max = CHUNK_EXT_BYTES_MAX;
    // Split over two chunks: the limit is per body, not per chunk.
    let body = |ext_len: usize| {
        let first = ext_len / 2;
        let second = ext_len - first;
        let ext = |n: usize| {
            let mut e = b";".to_vec();
            e.resize(n, b'e');
            e
        };
        let mut v = b"1".to_vec();
        v.extend_from_slice(&ext(first));
        v.extend_from_slice(b"\r\na\r\n0");
        v.extend_from_slice(&ext(second));
        v.extend_from_slice(b"\r\n\r\n");
        v
    };
    assert!(decode_all(&body(max - 1), &Limits::DEFAULT).unwrap().1);
    assert!(decode_all(&body(max), &Limits::DEFAULT).unwrap().1);
    assert_eq!(
        decode_all(&body(max + 1), &Limits::DEFAULT),
        Err(ParseError::ChunkExtensionTooLong { max })
    );
    assert_eq!(ParseError::ChunkExtensionTooLong { max }.status(), 400);
}

#[test]
fn trailer_bytes_max() {
    let max = TRAILER_BYTES_MAX;
    // The trailer section counts its field lines and the final CRLF.
    let body = |len: usize| {
        let mut v = b"0\r\nX-T: ".to_vec();
        v.resize(3 + len - 4, b't');
        v.extend_from_slice(b"\r\n\r\n");
        assert_eq!(v.len() - 3, len);
        v
    };
    assert!(decode_all(&body(max - 1), &Limits::DEFAULT).unwrap().1);
    assert!(decode_all(&body(max), &Limits::DEFAULT).unwrap().1);
    assert_eq!(
        decode_all(&body(max + 1), &Limits::DEFAULT),
        Err(ParseError::TrailerTooLarge { max })
    );
    assert_eq!(ParseError::TrailerTooLarge { max }.status(), 431);
}

#[test]
fn chunk_size_digits_max() {
    let max = CHUNK_SIZE_DIGITS_MAX;
    let body = |digits: usize| {
        let mut v = vec![b'0'; digits - 1];
        v.extend_from_slice(b"1\r\nx\r\n0\r\n\r\n");
        v
    };
    assert!(decode_all(&body(max - 1), &Limits::DEFAULT).unwrap().1);
    assert!(decode_all(&body(max), &Limits::DEFAULT).unwrap().1);
    assert_eq!(decode_all(&body(max + 1), &Limits::DEFAULT), Err(ParseError::ChunkSizeOverflow));
}
