//! The response parser against split, pipelined, chunked and malformed input.

use shardbox_bench::limits::{RESPONSE_BODY_BYTES_MAX, RESPONSE_HEAD_BYTES_MAX};
use shardbox_bench::response::{Needle, Response, ResponseError, ResponseParser, Step};

/// Feeds `wire` in pieces of at most `piece` bytes, as a connection would (keeping a partial
/// head for the next read), and collects every response or the first error.
fn feed(wire: &[u8], piece: usize, head: bool) -> Result<Vec<Response>, ResponseError> {
    let mut parser = ResponseParser::new(head);
    let mut pending: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    for chunk in wire.chunks(piece.max(1)) {
        pending.extend_from_slice(chunk);
        let mut start = 0;
        loop {
            let (used, step) = parser.parse(&pending[start..])?;
            start += used;
            match step {
                Step::Done(r) => out.push(r),
                Step::NeedMore if used == 0 || start == pending.len() => break,
                Step::NeedMore => {}
            }
        }
        pending.drain(..start);
    }
    if let Some(r) = parser.eof()? {
        out.push(r);
    }
    assert!(pending.is_empty(), "unconsumed bytes at the end: {pending:?}");
    Ok(out)
}

/// Parses `wire` split at every possible piece size and checks all agree with `expected`.
fn every_split(wire: &[u8], expected: &[Response]) {
    for piece in 1..=wire.len() {
        assert_eq!(feed(wire, piece, false).unwrap(), expected, "piece size {piece}");
    }
}

fn ok(status: u16, body_bytes: u64) -> Response {
    Response { status, body_bytes, close: false, contains: None }
}

#[test]
fn content_length_at_every_split() {
    let wire = b"HTTP/1.1 200 OK\r\nDate: x\r\nContent-Length: 13\r\n\r\nhello, world\n";
    every_split(wire, &[ok(200, 13)]);
}

#[test]
fn pipelined_responses_in_one_buffer_and_split() {
    let mut wire = Vec::new();
    for i in 0..16 {
        let body = "x".repeat(i);
        wire.extend_from_slice(
            format!("HTTP/1.1 200 OK\r\nContent-Length: {i}\r\n\r\n{body}").as_bytes(),
        );
    }
    let expected: Vec<Response> = (0..16).map(|i| ok(200, i)).collect();
    assert_eq!(feed(&wire, wire.len(), false).unwrap(), expected);
    every_split(&wire, &expected);
}

#[test]
fn chunked_with_extensions_and_trailers_at_every_split() {
    let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;name=value\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: a\r\nY: b\r\n\r\n\
        HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    every_split(wire, &[ok(200, 15), ok(404, 0)]);
}

#[test]
fn chunk_sizes_in_upper_and_lower_hex() {
    let body = "y".repeat(0xab);
    let wire =
        format!("HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\naB\r\n{body}\r\n0\r\n\r\n");
    every_split(wire.as_bytes(), &[ok(200, 0xab)]);
}

#[test]
fn malformed_chunks_are_errors() {
    let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (body, expected) in [
        ("g\r\n", ResponseError::ChunkSize),
        ("\r\n", ResponseError::ChunkSize),
        ("5\r\nhelloXX", ResponseError::ChunkCrlf),
        ("5\nhello", ResponseError::ChunkSize),
        ("0\r\nX: y\rZ", ResponseError::ChunkCrlf),
    ] {
        let wire = format!("{head}{body}");
        assert_eq!(feed(wire.as_bytes(), 1, false), Err(expected.clone()), "{body:?}");
        assert_eq!(feed(wire.as_bytes(), wire.len(), false), Err(expected), "{body:?}");
    }
    let huge = format!("{head}FFFFFFFFFFFFFFFFFF\r\n");
    assert!(matches!(feed(huge.as_bytes(), 4, false), Err(ResponseError::BodyTooLarge { .. })));
}

#[test]
fn interim_no_body_and_head_responses() {
    let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n\
        HTTP/1.1 304 Not Modified\r\n\r\n";
    every_split(wire, &[ok(204, 0), ok(304, 0)]);
    let head =
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(feed(head, 3, true).unwrap(), vec![ok(200, 0), ok(200, 0)]);
}

#[test]
fn close_delimited_body_and_connection_close() {
    let wire = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end";
    assert_eq!(
        feed(wire, 5, false).unwrap(),
        vec![Response { status: 200, body_bytes: 13, close: true, contains: None }]
    );
    let wire = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    assert!(feed(wire, 64, false).unwrap()[0].close, "HTTP/1.0 closes by default");
    let wire = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi";
    assert!(!feed(wire, 64, false).unwrap()[0].close);
}

#[test]
fn truncated_bodies_are_errors() {
    let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello";
    assert_eq!(feed(wire, 7, false), Err(ResponseError::Truncated));
    let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
    assert_eq!(feed(wire, 7, false), Err(ResponseError::Truncated));
}

#[test]
fn bad_heads_and_lengths_are_errors() {
    assert!(matches!(feed(b"HTTX/1.1 200 OK\r\n\r\n", 64, false), Err(ResponseError::Head(_))));
    let conflicting = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab";
    assert_eq!(feed(conflicting, 64, false), Err(ResponseError::ContentLength));
    let same = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab";
    assert_eq!(feed(same, 64, false).unwrap(), vec![ok(200, 2)]);
    let signed = b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n";
    assert_eq!(feed(signed, 64, false), Err(ResponseError::ContentLength));
    let gzip = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n";
    assert_eq!(feed(gzip, 64, false), Err(ResponseError::TransferEncoding));
}

/// A head of exactly `len` bytes with an empty body.
fn head_of(len: usize) -> Vec<u8> {
    let fixed = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: \r\n\r\n".len();
    format!("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: {}\r\n\r\n", "a".repeat(len - fixed))
        .into_bytes()
}

#[test]
fn head_size_limit_at_max_minus_one_max_and_max_plus_one() {
    for len in [RESPONSE_HEAD_BYTES_MAX - 1, RESPONSE_HEAD_BYTES_MAX] {
        let wire = head_of(len);
        assert_eq!(wire.len(), len);
        assert_eq!(feed(&wire, 1000, false).unwrap(), vec![ok(200, 0)], "len {len}");
    }
    let over = head_of(RESPONSE_HEAD_BYTES_MAX + 1);
    for piece in [1000, over.len()] {
        assert_eq!(
            feed(&over, piece, false),
            Err(ResponseError::HeadTooLarge { max: RESPONSE_HEAD_BYTES_MAX }),
            "piece {piece}"
        );
    }
}

#[test]
fn body_size_limit_at_max_and_max_plus_one() {
    let mut parser = ResponseParser::new(false);
    let at_max = format!("HTTP/1.1 200 OK\r\nContent-Length: {RESPONSE_BODY_BYTES_MAX}\r\n\r\n");
    let (used, step) = parser.parse(at_max.as_bytes()).unwrap();
    assert_eq!((used, step), (at_max.len(), Step::NeedMore));
    let mut parser = ResponseParser::new(false);
    let over =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", RESPONSE_BODY_BYTES_MAX + 1);
    assert!(matches!(parser.parse(over.as_bytes()), Err(ResponseError::BodyTooLarge { .. })));
}

#[test]
fn needle_is_found_across_chunks_and_reads() {
    let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5\r\n[{\"st\r\nf\r\natus\":\"Accepted\r\n3\r\n\"}]\r\n0\r\n\r\n\
                 HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n\"status\":\"X";
    let needle = Needle::new(br#""status":"Accepted""#).unwrap();
    for piece in 1..=wire.len() {
        let mut parser = ResponseParser::with_needle(false, Some(needle.clone()));
        let mut pending: Vec<u8> = Vec::new();
        let mut found = Vec::new();
        for chunk in wire.chunks(piece) {
            pending.extend_from_slice(chunk);
            let mut start = 0;
            loop {
                let (used, step) = parser.parse(&pending[start..]).unwrap();
                start += used;
                match step {
                    Step::Done(r) => found.push(r.contains),
                    Step::NeedMore if used == 0 || start == pending.len() => break,
                    Step::NeedMore => {}
                }
            }
            pending.drain(..start);
        }
        assert_eq!(found, [Some(true), Some(false)], "piece size {piece}");
    }
}
