//! The incremental contract: a request fed one byte at a time (the engine re-parses the growing
//! buffer) gives `Partial` until the head is complete, then the same result as the whole buffer;
//! an invalid request gives `Partial` or the whole buffer's error at every prefix.

use shardbox_http::{Header, Limits, ParseError, Parsed, parse_request};

use crate::corpus::corpus;

/// (head length, method, target, header count) or the error; `None` for Partial.
type Short = Result<Option<(usize, Vec<u8>, Vec<u8>, usize)>, ParseError>;

fn short(buf: &[u8]) -> Short {
    let mut headers = [Header::EMPTY; 100];
    Ok(match parse_request(buf, &mut headers, &Limits::DEFAULT)? {
        Parsed::Complete { request, head_len } => Some((
            head_len,
            request.method.as_bytes().to_vec(),
            request.target.to_vec(),
            request.headers.len(),
        )),
        Parsed::Partial => None,
    })
}

#[test]
fn every_prefix_of_every_seed() {
    for (name, data) in corpus("http_parse") {
        let whole = short(&data);
        for i in 0..data.len() {
            let part = short(&data[..i]);
            match (&whole, &part) {
                (Ok(Some(w)), Ok(None)) => assert!(i < w.0, "{name}: Partial at {i} past the head"),
                (Ok(Some(w)), Ok(Some(p))) => {
                    assert!(i >= w.0, "{name}: complete at {i} before the head ends");
                    assert_eq!(w, p, "{name}: prefix {i}");
                }
                (Err(_), Ok(None)) | (Ok(None), Ok(None)) => {}
                (Err(w), Err(p)) => assert_eq!(w, p, "{name}: prefix {i}"),
                _ => panic!("{name}: prefix {i} gives {part:?}, whole gives {whole:?}"),
            }
        }
    }
}

#[test]
fn one_byte_at_a_time_into_a_growing_buffer() {
    // As the engine does it: append each received byte, parse the whole buffer again.
    let request = b"POST /run HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}";
    let mut buf = Vec::new();
    let mut completed_at = None;
    for (i, &b) in request.iter().enumerate() {
        buf.push(b);
        let mut headers = [Header::EMPTY; 8];
        match parse_request(&buf, &mut headers, &Limits::DEFAULT).unwrap() {
            Parsed::Partial => assert!(completed_at.is_none()),
            Parsed::Complete { head_len, .. } => {
                completed_at.get_or_insert(i + 1);
                assert_eq!(head_len, request.len() - 2);
            }
        }
    }
    assert_eq!(completed_at, Some(request.len() - 2));
}

#[test]
fn a_bad_byte_is_reported_as_soon_as_it_arrives() {
    let request = b"GET / HTTP/1.1\r\nHost: a\r\nX-Bad: a\x00b\r\n\r\n";
    let bad_at = request.iter().position(|&b| b == 0).unwrap();
    for i in 0..=request.len() {
        let got = short(&request[..i]);
        if i <= bad_at {
            assert_eq!(got, Ok(None), "prefix {i}");
        } else {
            assert_eq!(got, Err(ParseError::InvalidHeaderValue), "prefix {i}");
        }
    }
}
