//! The RFC 9110/9112 rules of the request parser, one test per rule family.

use shardbox_http::{BodyKind, ParseError};

use crate::support::{complete, err, parse};

#[test]
fn host_rules() {
    assert_eq!(err(b"GET / HTTP/1.1\r\n\r\n"), ParseError::MissingHost);
    assert_eq!(err(b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"), ParseError::DuplicateHost);
    assert_eq!(err(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), ParseError::InvalidHost);
    assert_eq!(err(b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), ParseError::InvalidHost);
    complete(b"GET / HTTP/1.0\r\n\r\n");
    complete(b"GET / HTTP/1.1\r\nHost:\r\n\r\n");
    complete(b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
}

#[test]
fn content_length_rules() {
    let (r, _) = complete(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n");
    assert_eq!(r.body, BodyKind::Length(42));
    let (r, _) =
        complete(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 05\r\n\r\n");
    assert_eq!(r.body, BodyKind::Length(5));
    for bad in ["", "-1", "+1", "1 2", "1,1", "0x10", "18446744073709551616", "1.0"] {
        let buf = format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {bad}\r\n\r\n");
        assert_eq!(err(buf.into_bytes().leak()), ParseError::InvalidContentLength, "{bad:?}");
    }
    assert_eq!(
        err(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
        ParseError::ConflictingContentLength
    );
    let too_big = format!(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        shardbox_http::limits::BODY_BYTES_MAX + 1
    );
    assert!(matches!(err(too_big.into_bytes().leak()), ParseError::BodyTooLarge { .. }));
}

#[test]
fn transfer_encoding_rules() {
    let (r, _) = complete(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n");
    assert_eq!(r.body, BodyKind::Chunked);
    let te =
        |v: &str| parse(format!("POST / HTTP/1.1\r\nHost: a\r\n{v}\r\n\r\n").into_bytes().leak());
    assert_eq!(te("Transfer-Encoding: gzip, chunked"), Err(ParseError::UnsupportedTransferCoding));
    assert_eq!(
        te("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked"),
        Err(ParseError::UnsupportedTransferCoding)
    );
    assert_eq!(te("Transfer-Encoding: chunked, gzip"), Err(ParseError::ChunkedNotLast));
    assert_eq!(te("Transfer-Encoding: gzip"), Err(ParseError::ChunkedNotLast));
    assert_eq!(te("Transfer-Encoding: chunked, chunked"), Err(ParseError::ChunkedNotLast));
    assert_eq!(
        te("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"),
        Err(ParseError::ChunkedNotLast)
    );
    assert_eq!(te("Transfer-Encoding: ,chunked"), Err(ParseError::InvalidTransferEncoding));
    assert_eq!(te("Transfer-Encoding:"), Err(ParseError::InvalidTransferEncoding));
    assert_eq!(te("Transfer-Encoding: chunked;x=1"), Err(ParseError::InvalidTransferEncoding));
    assert_eq!(te("Transfer-Encoding: \"chunked\""), Err(ParseError::InvalidTransferEncoding));
    assert_eq!(
        te("Transfer-Encoding: chunked\r\nContent-Length: 5"),
        Err(ParseError::ContentLengthWithTransferEncoding)
    );
    assert_eq!(
        parse(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Err(ParseError::TransferEncodingInHttp10)
    );
}

#[test]
fn keep_alive_rules() {
    let ka = |buf: &'static [u8]| complete(buf).0.keep_alive;
    assert!(ka(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    assert!(!ka(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n"));
    assert!(!ka(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n"));
    assert!(!ka(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: x\r\nConnection: close\r\n\r\n"));
    assert!(ka(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n"));
    assert!(!ka(b"GET / HTTP/1.0\r\n\r\n"));
    assert!(ka(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    assert!(!ka(b"GET / HTTP/1.0\r\nConnection: keep-alive,close\r\n\r\n"));
}

#[test]
fn expect_rules() {
    let (r, _) = complete(
        b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
    );
    assert!(r.expect_continue);
    let (r, _) = complete(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    assert!(!r.expect_continue, "HTTP/1.0 expectations are ignored");
    assert_eq!(
        err(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n"),
        ParseError::ExpectationFailed
    );
    assert_eq!(
        err(b"POST / HTTP/1.1\r\nHost: a\r\nExpect:\r\n\r\n"),
        ParseError::ExpectationFailed
    );
}

#[test]
fn websocket_upgrade() {
    let (r, _) = complete(b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n\r\n");
    assert!(r.websocket_upgrade);
    let (r, _) = complete(b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n");
    assert!(!r.websocket_upgrade, "needs Connection: upgrade");
    let (r, _) =
        complete(b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n");
    assert!(!r.websocket_upgrade);
}
