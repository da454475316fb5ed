//! Header parameters of multipart parts and Content-Type (`; name=value`, RFC 2045 §5.1,
//! RFC 7578 §4.2, RFC 5987 ext-values) and [`ParamValue`], a raw value with its decoding.
//!
//! Values are validated when parsed, so decoding them later cannot fail and needs no buffer:
//! [`ParamValue::decoded`] yields the bytes. This module does not allocate.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use super::MultipartError;
use crate::syntax::{is_ows, is_tchar, is_value_byte, trim_ows};
use crate::target::hex;

/// How a [`ParamValue`]'s raw bytes encode its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamForm {
    /// A token: the raw bytes are the value.
    Token,
    /// The inside of a quoted-string: `\` before a tspecial escapes it.
    Quoted,
    /// An RFC 5987 ext-value after `charset'language'`: percent-encoded UTF-8.
    ExtUtf8,
    /// An RFC 5987 ext-value in ISO-8859-1: percent-encoded Latin-1, decoded to UTF-8.
    ExtLatin1,
}

/// A parameter value (`name=...`, `filename=...`) as it appears, with its encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamValue<'b> {
    /// The raw bytes: the token, the inside of the quotes, or the percent-encoded part.
    pub raw: &'b [u8],
    /// How to decode `raw`.
    pub form: ParamForm,
}

impl<'b> ParamValue<'b> {
    /// The value itself when decoding changes nothing (a token, a quoted-string without
    /// escapes, an ext-value without `%`), else `None`: then use [`Self::decode_into`].
    #[must_use]
    pub fn as_plain(&self) -> Option<&'b [u8]> {
        let plain = match self.form {
            ParamForm::Token => true,
            ParamForm::Quoted => !self.raw.contains(&b'\\'),
            ParamForm::ExtUtf8 => !self.raw.contains(&b'%'),
            ParamForm::ExtLatin1 => !self.raw.iter().any(|&b| b == b'%' || b >= 0x80),
        };
        plain.then_some(self.raw)
    }

    /// The decoded bytes, one at a time.
    pub fn decoded(&self) -> impl Iterator<Item = u8> + 'b {
        Decoded { rest: self.raw, form: self.form, pending: None }
    }

    /// Appends the decoded value to `out`.
    pub fn decode_into(&self, out: &mut Vec<u8>) {
        out.extend(self.decoded());
    }

    /// Whether the decoded value equals `s`, byte for byte.
    #[must_use]
    pub fn eq_decoded(&self, s: &[u8]) -> bool {
        self.decoded().eq(s.iter().copied())
    }
}

/// Iterator behind [`ParamValue::decoded`]; `raw` was validated when the value was parsed.
struct Decoded<'b> {
    rest: &'b [u8],
    form: ParamForm,
    pending: Option<u8>,
}

impl Iterator for Decoded<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        if let Some(b) = self.pending.take() {
            return Some(b);
        }
        let (byte, tail) = match (self.form, self.rest) {
            (_, []) => return None,
            (ParamForm::Quoted, [b'\\', b, tail @ ..]) if is_tspecial(*b) => (*b, tail),
            (ParamForm::ExtUtf8 | ParamForm::ExtLatin1, [b'%', hi, lo, tail @ ..]) => {
                let v = hex(*hi).zip(hex(*lo)).map_or(b'%', |(h, l)| (h << 4) | l);
                (v, tail)
            }
            (_, [b, tail @ ..]) => (*b, tail),
        };
        self.rest = tail;
        if self.form == ParamForm::ExtLatin1 && byte >= 0x80 {
            // U+0080..U+00FF in UTF-8: 0b110000xx 0b10xxxxxx.
            self.pending = Some(0x80 | (byte & 0x3f));
            return Some(0xc0 | (byte >> 6));
        }
        Some(byte)
    }
}

/// tspecials of RFC 2045 §5.1 (the characters a quoted-string backslash may escape).
fn is_tspecial(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')'
            | b'<'
            | b'>'
            | b'@'
            | b','
            | b';'
            | b':'
            | b'\\'
            | b'"'
            | b'/'
            | b'['
            | b']'
            | b'?'
            | b'='
    )
}

/// `bchars` of RFC 2046 §5.1.1.
pub(super) fn is_bchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'\''
                | b'('
                | b')'
                | b'+'
                | b'_'
                | b','
                | b'-'
                | b'.'
                | b'/'
                | b':'
                | b'='
                | b'?'
                | b' '
        )
}

/// The parameters after a media type or disposition type: `; name=value` pairs.
pub(super) fn params(
    mut s: &[u8],
) -> impl Iterator<Item = Result<(&[u8], ParamValue<'_>), MultipartError>> {
    core::iter::from_fn(move || {
        s = trim_ows(s);
        if s.is_empty() {
            return None;
        }
        let result = next_param(s).map(|(name, value, rest)| {
            s = rest;
            (name, value)
        });
        if result.is_err() {
            s = &[];
        }
        Some(result)
    })
}

/// Parses `; name=value` at the start of `s`, returning the rest.
fn next_param(s: &[u8]) -> Result<(&[u8], ParamValue<'_>, &[u8]), MultipartError> {
    let s = s.strip_prefix(b";").ok_or(MultipartError::InvalidParameters)?;
    let s = trim_ows(s);
    let name_end = s.iter().position(|&b| !is_tchar(b)).unwrap_or(s.len());
    let (name, s) = s.split_at_checked(name_end).ok_or(MultipartError::InvalidParameters)?;
    let s = trim_ows(s).strip_prefix(b"=").ok_or(MultipartError::InvalidParameters)?;
    let s = trim_ows(s);
    if name.is_empty() {
        return Err(MultipartError::InvalidParameters);
    }
    if let Some(inner) = s.strip_prefix(b"\"") {
        // quoted-string: up to the first unescaped quote.
        let mut i = 0usize;
        loop {
            match inner.get(i) {
                None => return Err(MultipartError::InvalidParameters),
                Some(b'"') => break,
                Some(b'\\') => i = i.saturating_add(2),
                Some(&b) if is_value_byte(b) => i = i.saturating_add(1),
                Some(_) => return Err(MultipartError::InvalidParameters),
            }
        }
        let raw = inner.get(..i).ok_or(MultipartError::InvalidParameters)?;
        let rest = inner.get(i.saturating_add(1)..).unwrap_or(&[]);
        return Ok((name, ParamValue { raw, form: ParamForm::Quoted }, rest));
    }
    let end = s.iter().position(|&b| b == b';' || is_ows(b)).unwrap_or(s.len());
    let (raw, rest) = s.split_at_checked(end).ok_or(MultipartError::InvalidParameters)?;
    if raw.is_empty() {
        return Err(MultipartError::InvalidParameters);
    }
    if name.last() == Some(&b'*') {
        return Ok((name, ext_value(raw)?, rest));
    }
    if !raw.iter().all(|&b| is_tchar(b)) {
        return Err(MultipartError::InvalidParameters);
    }
    Ok((name, ParamValue { raw, form: ParamForm::Token }, rest))
}

/// An RFC 5987 ext-value: `charset'[language]'value-chars`.
fn ext_value(raw: &[u8]) -> Result<ParamValue<'_>, MultipartError> {
    let mut it = raw.splitn(3, |&b| b == b'\'');
    let (Some(charset), Some(_language), Some(value)) = (it.next(), it.next(), it.next()) else {
        return Err(MultipartError::InvalidParameters);
    };
    let form = if charset.eq_ignore_ascii_case(b"utf-8") {
        ParamForm::ExtUtf8
    } else if charset.eq_ignore_ascii_case(b"iso-8859-1") {
        ParamForm::ExtLatin1
    } else {
        return Err(MultipartError::InvalidParameters);
    };
    let mut rest = value;
    while let Some((&b, tail)) = rest.split_first() {
        rest = match (b, tail) {
            (b'%', [hi, lo, tail @ ..]) if hex(*hi).is_some() && hex(*lo).is_some() => tail,
            (b'%', _) => return Err(MultipartError::InvalidParameters),
            (b, tail) if is_tchar(b) => tail,
            _ => return Err(MultipartError::InvalidParameters),
        };
    }
    Ok(ParamValue { raw: value, form })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &[u8]) -> Result<(&[u8], ParamValue<'_>), MultipartError> {
        params(s).next().unwrap()
    }

    #[test]
    fn token_quoted_and_ext() {
        let (n, v) = one(b"; name=abc").unwrap();
        assert_eq!((n, v.form, v.as_plain()), (&b"name"[..], ParamForm::Token, Some(&b"abc"[..])));
        let (_, v) = one(b";x = \"a\\\\b\"").unwrap();
        assert_eq!(v.form, ParamForm::Quoted);
        assert!(v.eq_decoded(b"a\\b"));
        let (_, v) = one(b"; f*=UTF-8'en'%41b").unwrap();
        assert_eq!(v.form, ParamForm::ExtUtf8);
        assert!(v.eq_decoded(b"Ab"));
        assert_eq!(v.as_plain(), None);
    }

    #[test]
    fn malformed() {
        for bad in [
            &b"name=a"[..],
            b";",
            b"; =a",
            b"; a=",
            b"; a=\"x",
            b"; a=\"\x01\"",
            b"; a*=x",
            b"; a*=utf-8''%4",
        ] {
            assert_eq!(one(bad).err(), Some(MultipartError::InvalidParameters), "{bad:?}");
        }
    }

    #[test]
    fn several() {
        let all: Vec<_> = params(b"; a=1 ;b=\"2\";c=3").map(|p| p.unwrap().0).collect();
        assert_eq!(all, vec![&b"a"[..], b"b", b"c"]);
    }
}
