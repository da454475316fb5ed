//! Helpers shared by the integration tests.

use shardbox_http::{Header, Limits, ParseError, Parsed, Request, parse_request};

/// Parses with default limits and leaked header storage (tests only).
pub fn parse(buf: &'static [u8]) -> Result<Parsed<Request<'static, 'static>>, ParseError> {
    parse_with(buf, &Limits::DEFAULT)
}

/// Parses with `limits` and leaked header storage (tests only).
pub fn parse_with(
    buf: &'static [u8],
    limits: &Limits,
) -> Result<Parsed<Request<'static, 'static>>, ParseError> {
    let headers: &'static mut [Header<'static>] =
        Box::leak(vec![Header::EMPTY; limits.headers_count_max.max(1)].into_boxed_slice());
    parse_request(buf, headers, limits)
}

/// The complete request and head length, or a panic naming what came back.
pub fn complete(buf: &'static [u8]) -> (Request<'static, 'static>, usize) {
    match parse(buf) {
        Ok(Parsed::Complete { request, head_len }) => (request, head_len),
        other => panic!("expected complete, got {other:?} for {:?}", String::from_utf8_lossy(buf)),
    }
}

/// The error, or a panic naming what came back.
pub fn err(buf: &[u8]) -> ParseError {
    let mut headers = vec![Header::EMPTY; Limits::DEFAULT.headers_count_max];
    match parse_request(buf, &mut headers, &Limits::DEFAULT) {
        Err(e) => e,
        other => panic!("expected error, got {other:?} for {:?}", String::from_utf8_lossy(buf)),
    }
}
