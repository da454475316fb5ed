//! Small helpers over a request target: percent-decoding into a caller buffer and query
//! parameter lookup.
//!
//! [`percent_decode`] decodes a path segment (`/file/{id}`) without allocating: the caller passes
//! an output buffer (the result is never longer than the input, so `input.len()` bytes always
//! suffice). [`form_decode`] also turns `+` into a space, for `application/x-www-form-urlencoded`
//! query values. [`query_param`] and [`query_pairs`] split a query at `&` and `=` without
//! decoding. These functions do not judge what a decoded value means: a decoded `/`, `..` or NUL
//! in a file id is for the caller to refuse.
//!
//! ```
//! use shardbox_http::{percent_decode, query_param};
//!
//! let mut out = [0u8; 16];
//! assert_eq!(percent_decode(b"a%20b%2Fc", &mut out), Ok(&b"a b/c"[..]));
//! assert_eq!(query_param(b"x=1&name=a%20b&x=2", b"x"), Some(&b"1"[..]));
//! ```
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

/// Why a percent-encoded string could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PercentDecodeError {
    /// A `%` not followed by two hex digits.
    #[error("invalid percent escape")]
    InvalidEscape,
    /// The output buffer is shorter than the decoded value.
    #[error("output buffer too small")]
    OutputTooSmall,
}

/// Decodes `%XX` escapes of `input` into `out`, returning the decoded bytes.
///
/// # Errors
///
/// [`PercentDecodeError::InvalidEscape`] for a `%` without two hex digits after it;
/// [`PercentDecodeError::OutputTooSmall`] if `out` is shorter than the result.
pub fn percent_decode<'o>(input: &[u8], out: &'o mut [u8]) -> Result<&'o [u8], PercentDecodeError> {
    decode(input, out, false)
}

/// Like [`percent_decode`], and `+` becomes a space (`application/x-www-form-urlencoded`).
///
/// # Errors
///
/// As [`percent_decode`].
pub fn form_decode<'o>(input: &[u8], out: &'o mut [u8]) -> Result<&'o [u8], PercentDecodeError> {
    decode(input, out, true)
}

fn decode<'o>(
    input: &[u8],
    out: &'o mut [u8],
    plus_is_space: bool,
) -> Result<&'o [u8], PercentDecodeError> {
    let mut len = 0usize;
    let mut rest = input;
    loop {
        let (byte, tail) = match rest {
            [] => break,
            [b'%', hi, lo, tail @ ..] => match (hex(*hi), hex(*lo)) {
                (Some(hi), Some(lo)) => ((hi << 4) | lo, tail),
                _ => return Err(PercentDecodeError::InvalidEscape),
            },
            [b'%', ..] => return Err(PercentDecodeError::InvalidEscape),
            [b'+', tail @ ..] if plus_is_space => (b' ', tail),
            [b, tail @ ..] => (*b, tail),
        };
        let slot = out.get_mut(len).ok_or(PercentDecodeError::OutputTooSmall)?;
        *slot = byte;
        len = len.saturating_add(1);
        rest = tail;
    }
    Ok(out.get(..len).unwrap_or(&[]))
}

/// The value of a hex digit.
#[inline]
pub(crate) fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b.wrapping_sub(b'0')),
        b'a'..=b'f' => Some(b.wrapping_sub(b'a').wrapping_add(10)),
        b'A'..=b'F' => Some(b.wrapping_sub(b'A').wrapping_add(10)),
        _ => None,
    }
}

/// The `(name, value)` pairs of a query, split at `&` then at the first `=`; a pair without `=`
/// has an empty value; empty pairs (`&&`) are skipped. Nothing is decoded.
pub fn query_pairs(query: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    query.split(|&b| b == b'&').filter(|p| !p.is_empty()).map(|pair| {
        match pair.iter().position(|&b| b == b'=') {
            Some(eq) => {
                (pair.get(..eq).unwrap_or(&[]), pair.get(eq.saturating_add(1)..).unwrap_or(&[]))
            }
            None => (pair, &[][..]),
        }
    })
}

/// The raw value of the first query parameter whose raw name is exactly `name`.
#[must_use]
pub fn query_param<'q>(query: &'q [u8], name: &[u8]) -> Option<&'q [u8]> {
    query_pairs(query).find(|(n, _)| *n == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes() {
        let mut out = [0u8; 32];
        assert_eq!(percent_decode(b"", &mut out), Ok(&b""[..]));
        assert_eq!(percent_decode(b"abc", &mut out), Ok(&b"abc"[..]));
        assert_eq!(percent_decode(b"%41%4a%4A%00", &mut out), Ok(&b"AJJ\0"[..]));
        assert_eq!(percent_decode(b"caf%C3%A9", &mut out), Ok("café".as_bytes()));
        assert_eq!(percent_decode(b"a+b", &mut out), Ok(&b"a+b"[..]));
        assert_eq!(form_decode(b"a+b%2B", &mut out), Ok(&b"a b+"[..]));
    }

    #[test]
    fn rejects_bad_escapes() {
        let mut out = [0u8; 32];
        for bad in [&b"%"[..], b"%4", b"%4g", b"%g4", b"a%", b"%%41"] {
            assert_eq!(
                percent_decode(bad, &mut out),
                Err(PercentDecodeError::InvalidEscape),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn output_limit_is_exact() {
        let mut out = [0u8; 3];
        assert_eq!(percent_decode(b"a%62c", &mut out), Ok(&b"abc"[..]));
        assert_eq!(percent_decode(b"abcd", &mut out), Err(PercentDecodeError::OutputTooSmall));
        let mut empty = [0u8; 0];
        assert_eq!(percent_decode(b"", &mut empty), Ok(&b""[..]));
        assert_eq!(percent_decode(b"a", &mut empty), Err(PercentDecodeError::OutputTooSmall));
    }

    #[test]
    fn query_lookup() {
        let q = b"a=1&b=&c&&d=x=y&a=2";
        assert_eq!(query_param(q, b"a"), Some(&b"1"[..]));
        assert_eq!(query_param(q, b"b"), Some(&b""[..]));
        assert_eq!(query_param(q, b"c"), Some(&b""[..]));
        assert_eq!(query_param(q, b"d"), Some(&b"x=y"[..]));
        assert_eq!(query_param(q, b"e"), None);
        assert_eq!(query_pairs(q).count(), 5);
        assert_eq!(query_pairs(b"").count(), 0);
    }
}
