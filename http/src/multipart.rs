//! A `multipart/form-data` parser (RFC 7578, RFC 2046 §5.1) over a complete, bounded body.
//!
//! [`boundary`] takes the boundary from a `Content-Type` value; [`Multipart`] iterates the
//! [`Part`]s of a body that the engine has already read in full (its size was bounded by
//! `body_bytes_max`). Each part borrows the body: its raw header block, the form field `name`,
//! the `filename` (`filename*` of RFC 5987 preferred when present), `Content-Type`, and the data
//! slice. Names and file names are [`ParamValue`]s: raw bytes plus how to decode them
//! (quoted-string escapes, or charset and percent-encoding), compared or decoded without
//! allocating.
//!
//! Strictness: part header lines and delimiters end in CRLF; every part needs a
//! `Content-Disposition: form-data` with a `name`; the body must end with the close delimiter
//! (`--boundary--`). A quoted-string backslash escapes only the characters that need it
//! (`"` and `\` and the other tspecials), and is kept otherwise, as browsers and Go's
//! `mime/multipart` do for Windows paths. Limits: `multipart_parts_count_max` parts and
//! `multipart_part_header_bytes_max` bytes of headers per part (both 413).
//!
//! This module does not stream, does not take a basename of file names and does not decide
//! which field the endpoint wants.
//!
//! ```
//! use shardbox_http::{Limits, Multipart, boundary};
//!
//! let ct = b"multipart/form-data; boundary=XyZ";
//! let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.c\"\r\n\
//!              Content-Type: text/x-c\r\n\r\nint main(){}\r\n--XyZ--\r\n";
//! let parts = Multipart::new(body, boundary(ct).unwrap(), &Limits::DEFAULT);
//! let file = parts.map(Result::unwrap).find(|p| p.name.eq_decoded(b"file")).unwrap();
//! assert_eq!(file.filename.unwrap().as_plain(), Some(&b"a.c"[..]));
//! assert_eq!(file.data, b"int main(){}");
//! ```
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

mod param;

pub use param::{ParamForm, ParamValue};
use param::{is_bchar, params};

use crate::limits::{Limits, MULTIPART_BOUNDARY_BYTES_MAX};
use crate::request::Header;
use crate::syntax::{is_ows, is_tchar, is_value_byte, trim_ows};

/// Why a multipart body (or its Content-Type) was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    /// The Content-Type is not `multipart/form-data`.
    #[error("content type is not multipart/form-data")]
    NotFormData,
    /// The Content-Type has no `boundary` parameter.
    #[error("missing multipart boundary")]
    MissingBoundary,
    /// The boundary is empty, longer than 70 bytes, or has characters RFC 2046 does not allow.
    #[error("invalid multipart boundary")]
    InvalidBoundary,
    /// A Content-Type or Content-Disposition parameter list is malformed.
    #[error("invalid header parameters")]
    InvalidParameters,
    /// The body does not contain the opening delimiter.
    #[error("multipart body has no opening boundary")]
    MissingDelimiter,
    /// A delimiter line has something other than whitespace after the boundary.
    #[error("invalid multipart delimiter line")]
    InvalidDelimiter,
    /// The body ends before the close delimiter `--boundary--`.
    #[error("multipart body is truncated")]
    Truncated,
    /// A part header line is malformed.
    #[error("invalid part header")]
    InvalidPartHeader,
    /// A part's header block is longer than `multipart_part_header_bytes_max`.
    #[error("part headers longer than {max} bytes")]
    PartHeadTooLarge {
        /// The limit.
        max: usize,
    },
    /// More parts than `multipart_parts_count_max`.
    #[error("more than {max} parts")]
    TooManyParts {
        /// The limit.
        max: usize,
    },
    /// A part without Content-Disposition, or with two.
    #[error("part needs exactly one Content-Disposition")]
    ContentDisposition,
    /// A Content-Disposition that is not `form-data` with a `name`.
    #[error("Content-Disposition is not form-data with a name")]
    NotFormDataPart,
}

impl MultipartError {
    /// The HTTP status to answer with: 413 for the limits, 400 for the rest.
    #[must_use]
    pub const fn status(&self) -> u16 {
        match self {
            Self::PartHeadTooLarge { .. } | Self::TooManyParts { .. } => 413,
            Self::NotFormData
            | Self::MissingBoundary
            | Self::InvalidBoundary
            | Self::InvalidParameters
            | Self::MissingDelimiter
            | Self::InvalidDelimiter
            | Self::Truncated
            | Self::InvalidPartHeader
            | Self::ContentDisposition
            | Self::NotFormDataPart => 400,
        }
    }

    /// A short stable reason for `{"error":"<reason>"}` (no `"` or `\`).
    #[must_use]
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::NotFormData => "not multipart/form-data",
            Self::MissingBoundary => "missing multipart boundary",
            Self::InvalidBoundary => "invalid multipart boundary",
            Self::InvalidParameters => "invalid header parameters",
            Self::MissingDelimiter => "missing multipart delimiter",
            Self::InvalidDelimiter => "invalid multipart delimiter",
            Self::Truncated => "truncated multipart body",
            Self::InvalidPartHeader => "invalid part header",
            Self::PartHeadTooLarge { .. } => "part header too large",
            Self::TooManyParts { .. } => "too many parts",
            Self::ContentDisposition => "part needs one content-disposition",
            Self::NotFormDataPart => "part is not form-data with a name",
        }
    }
}

/// The boundary of a `multipart/form-data` Content-Type value.
///
/// # Errors
///
/// [`MultipartError::NotFormData`] for another media type, [`MultipartError::MissingBoundary`],
/// [`MultipartError::InvalidBoundary`] or [`MultipartError::InvalidParameters`].
pub fn boundary(content_type: &[u8]) -> Result<&[u8], MultipartError> {
    let ct = trim_ows(content_type);
    let type_end = ct.iter().position(|&b| b == b';').unwrap_or(ct.len());
    let (media, rest) = ct.split_at_checked(type_end).ok_or(MultipartError::NotFormData)?;
    if !trim_ows(media).eq_ignore_ascii_case(b"multipart/form-data") {
        return Err(MultipartError::NotFormData);
    }
    let mut found = None;
    for p in params(rest) {
        let (name, value) = p?;
        if name.eq_ignore_ascii_case(b"boundary") {
            if found.is_some() {
                return Err(MultipartError::InvalidParameters);
            }
            found = Some(value);
        }
    }
    let value = found.ok_or(MultipartError::MissingBoundary)?;
    // Only bchars, so a quoted boundary cannot hold escapes and raw is the value.
    let b = value.raw;
    if b.is_empty()
        || b.len() > MULTIPART_BOUNDARY_BYTES_MAX
        || !b.iter().all(|&c| is_bchar(c))
        || b.last() == Some(&b' ')
    {
        return Err(MultipartError::InvalidBoundary);
    }
    Ok(b)
}

/// One part of a form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part<'b> {
    /// The header block: field lines, each ending in CRLF (without the empty line).
    pub head: &'b [u8],
    /// The form field name (`name` of Content-Disposition).
    pub name: ParamValue<'b>,
    /// The file name: `filename*` when present, else `filename`; `None` for plain fields.
    pub filename: Option<ParamValue<'b>>,
    /// The part's Content-Type value, if it has one.
    pub content_type: Option<&'b [u8]>,
    /// The content, exactly as sent.
    pub data: &'b [u8],
}

impl<'b> Part<'b> {
    /// The header lines of the part (validated when the part was parsed).
    pub fn headers(&self) -> impl Iterator<Item = Header<'b>> + 'b {
        self.head.split(|&b| b == b'\n').filter_map(|line| {
            let line = line.strip_suffix(b"\r")?;
            let colon = line.iter().position(|&b| b == b':')?;
            let name = line.get(..colon)?;
            let value = trim_ows(line.get(colon.saturating_add(1)..)?);
            Some(Header { name, value })
        })
    }

    /// The first header named `name` (ASCII case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        self.headers().find(|h| h.name.eq_ignore_ascii_case(name.as_bytes())).map(|h| h.value)
    }
}

/// Iterator over the parts of a complete multipart body. Yields at most one error, then ends.
#[derive(Clone, Debug)]
pub struct Multipart<'b> {
    /// The unparsed rest of the body; `None` once finished or failed.
    rest: Option<&'b [u8]>,
    /// `\r\n--boundary`.
    delimiter: [u8; MULTIPART_BOUNDARY_BYTES_MAX + 4],
    delimiter_len: usize,
    started: bool,
    parts: usize,
    parts_count_max: usize,
    part_header_bytes_max: usize,
}

impl<'b> Multipart<'b> {
    /// Parts of `body` separated by `boundary` (from [`boundary`]). A boundary longer than 70
    /// bytes yields [`MultipartError::InvalidBoundary`].
    #[must_use]
    pub fn new(body: &'b [u8], boundary: &[u8], limits: &Limits) -> Self {
        let mut delimiter = [0u8; MULTIPART_BOUNDARY_BYTES_MAX + 4];
        let delimiter_len = boundary.len().saturating_add(4);
        let ok = match delimiter.get_mut(..delimiter_len) {
            Some(d) if !boundary.is_empty() => {
                let (crlf_dashes, b) = d.split_at_mut(4);
                crlf_dashes.copy_from_slice(b"\r\n--");
                b.copy_from_slice(boundary);
                true
            }
            _ => false,
        };
        Self {
            rest: Some(body),
            delimiter,
            delimiter_len: if ok { delimiter_len } else { 0 },
            started: false,
            parts: 0,
            parts_count_max: limits.multipart_parts_count_max,
            part_header_bytes_max: limits.multipart_part_header_bytes_max,
        }
    }

    fn delimiter(&self) -> &[u8] {
        self.delimiter.get(..self.delimiter_len).unwrap_or(&[])
    }

    /// Consumes the delimiter line at the start of `s` (after `--boundary`): `None` for the close
    /// delimiter, else the part after the line's CRLF.
    fn after_delimiter(s: &[u8]) -> Result<Option<&[u8]>, MultipartError> {
        if s.starts_with(b"--") {
            return Ok(None);
        }
        let s = s.get(s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len())..).unwrap_or(&[]);
        match s {
            [b'\r', b'\n', rest @ ..] => Ok(Some(rest)),
            [] => Err(MultipartError::Truncated),
            _ => Err(MultipartError::InvalidDelimiter),
        }
    }

    /// The next part, from `s` just after its delimiter line; returns the part and the rest
    /// after the next `--boundary`.
    fn part(&mut self, s: &'b [u8]) -> Result<(Part<'b>, &'b [u8]), MultipartError> {
        if self.parts >= self.parts_count_max {
            return Err(MultipartError::TooManyParts { max: self.parts_count_max });
        }
        self.parts = self.parts.saturating_add(1);

        // Header block: lines until an empty one, within the limit.
        let max = self.part_header_bytes_max;
        let mut rest = s;
        let mut disposition = None;
        let mut content_type = None;
        loop {
            let used = s.len().saturating_sub(rest.len());
            let window = rest.get(..max.saturating_sub(used)).unwrap_or(rest);
            let Some(eol) = window.windows(2).position(|w| w == b"\r\n") else {
                return Err(if window.len() < rest.len() {
                    MultipartError::PartHeadTooLarge { max }
                } else {
                    MultipartError::Truncated
                });
            };
            let line = rest.get(..eol).unwrap_or(&[]);
            rest = rest.get(eol.saturating_add(2)..).unwrap_or(&[]);
            if line.is_empty() {
                break;
            }
            let colon = line.iter().position(|&b| !is_tchar(b)).unwrap_or(line.len());
            let (name, value) =
                line.split_at_checked(colon).ok_or(MultipartError::InvalidPartHeader)?;
            let value = value.strip_prefix(b":").ok_or(MultipartError::InvalidPartHeader)?;
            if name.is_empty() || !value.iter().all(|&b| is_value_byte(b)) {
                return Err(MultipartError::InvalidPartHeader);
            }
            let value = trim_ows(value);
            if name.eq_ignore_ascii_case(b"content-disposition") {
                if disposition.replace(value).is_some() {
                    return Err(MultipartError::ContentDisposition);
                }
            } else if name.eq_ignore_ascii_case(b"content-type") {
                content_type = Some(value);
            }
        }
        let head_len = s.len().saturating_sub(rest.len()).saturating_sub(2);
        let head = s.get(..head_len).unwrap_or(&[]);
        let (name, filename) =
            disposition_params(disposition.ok_or(MultipartError::ContentDisposition)?)?;

        // Data: up to the next real delimiter (one followed by `--` or whitespace and CRLF).
        let delimiter = self.delimiter();
        let mut from = 0usize;
        loop {
            let hay = rest.get(from..).unwrap_or(&[]);
            let at = memchr::memmem::find(hay, delimiter).ok_or(MultipartError::Truncated)?;
            let end = from.saturating_add(at);
            let after = rest.get(end.saturating_add(delimiter.len())..).unwrap_or(&[]);
            let is_delimiter = after.starts_with(b"--")
                || after.iter().find(|&&b| !is_ows(b)).is_none_or(|&b| b == b'\r');
            if is_delimiter {
                let data = rest.get(..end).unwrap_or(&[]);
                return Ok((Part { head, name, filename, content_type, data }, after));
            }
            from = end.saturating_add(1);
        }
    }
}

/// `form-data; name=...; filename=...; filename*=...` → (name, filename* or filename).
fn disposition_params(
    value: &[u8],
) -> Result<(ParamValue<'_>, Option<ParamValue<'_>>), MultipartError> {
    let kind_end = value.iter().position(|&b| b == b';').unwrap_or(value.len());
    let (kind, rest) = value.split_at_checked(kind_end).ok_or(MultipartError::NotFormDataPart)?;
    if !trim_ows(kind).eq_ignore_ascii_case(b"form-data") {
        return Err(MultipartError::NotFormDataPart);
    }
    let (mut name, mut filename, mut filename_ext) = (None, None, None);
    for p in params(rest) {
        let (key, v) = p?;
        let slot = if key.eq_ignore_ascii_case(b"name") {
            &mut name
        } else if key.eq_ignore_ascii_case(b"filename") {
            &mut filename
        } else if key.eq_ignore_ascii_case(b"filename*") {
            &mut filename_ext
        } else {
            continue;
        };
        if slot.replace(v).is_some() {
            return Err(MultipartError::InvalidParameters);
        }
    }
    let name = name.ok_or(MultipartError::NotFormDataPart)?;
    Ok((name, filename_ext.or(filename)))
}

impl<'b> Iterator for Multipart<'b> {
    type Item = Result<Part<'b>, MultipartError>;

    fn next(&mut self) -> Option<Self::Item> {
        let body = self.rest.take()?;
        let result = (|| {
            if self.delimiter_len == 0 {
                return Err(MultipartError::InvalidBoundary);
            }
            let s = if self.started {
                body
            } else {
                self.started = true;
                // The first delimiter may open the body (no CRLF before it) or follow a preamble.
                let dash_boundary = self.delimiter().get(2..).unwrap_or(&[]);
                match body.strip_prefix(dash_boundary) {
                    Some(after) => after,
                    None => {
                        let at = memchr::memmem::find(body, self.delimiter())
                            .ok_or(MultipartError::MissingDelimiter)?;
                        body.get(at.saturating_add(self.delimiter_len)..).unwrap_or(&[])
                    }
                }
            };
            match Self::after_delimiter(s)? {
                None => Ok(None),
                Some(part_start) => self.part(part_start).map(Some),
            }
        })();
        match result {
            Ok(Some((part, rest))) => {
                self.rest = Some(rest);
                Some(Ok(part))
            }
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(body: &[u8]) -> Vec<Result<Part<'_>, MultipartError>> {
        Multipart::new(body, b"b", &Limits::DEFAULT).collect()
    }

    #[test]
    fn boundary_from_content_type() {
        assert_eq!(boundary(b"multipart/form-data; boundary=abc"), Ok(&b"abc"[..]));
        assert_eq!(boundary(b"Multipart/Form-Data;boundary=\"a b:c\""), Ok(&b"a b:c"[..]));
        assert_eq!(boundary(b"multipart/form-data; charset=utf-8; boundary=x"), Ok(&b"x"[..]));
        assert_eq!(boundary(b"multipart/mixed; boundary=x"), Err(MultipartError::NotFormData));
        assert_eq!(boundary(b"application/json"), Err(MultipartError::NotFormData));
        assert_eq!(boundary(b"multipart/form-data"), Err(MultipartError::MissingBoundary));
        assert_eq!(
            boundary(b"multipart/form-data; boundary=\"\""),
            Err(MultipartError::InvalidBoundary)
        );
        assert_eq!(
            boundary(b"multipart/form-data; boundary=\"a \""),
            Err(MultipartError::InvalidBoundary)
        );
        assert_eq!(
            boundary(b"multipart/form-data; boundary=a{b"),
            Err(MultipartError::InvalidParameters)
        );
        assert_eq!(
            boundary(b"multipart/form-data; boundary"),
            Err(MultipartError::InvalidParameters)
        );
        assert_eq!(
            boundary(b"multipart/form-data; boundary=a; boundary=b"),
            Err(MultipartError::InvalidParameters)
        );
        let b70 = format!("multipart/form-data; boundary={}", "x".repeat(70));
        assert_eq!(boundary(b70.as_bytes()).map(<[u8]>::len), Ok(70));
        let b71 = format!("multipart/form-data; boundary={}", "x".repeat(71));
        assert_eq!(boundary(b71.as_bytes()), Err(MultipartError::InvalidBoundary));
    }

    #[test]
    fn two_parts_with_preamble_and_epilogue() {
        let body = b"preamble\r\n--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue a\r\n--b  \r\n\
            Content-Disposition: form-data; name=file; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\n\
            line1\r\n--bnot a delimiter\r\nline2\r\n--b--\r\nepilogue";
        let ps: Vec<Part<'_>> = parts(body).into_iter().map(Result::unwrap).collect();
        assert_eq!(ps.len(), 2);
        assert!(ps[0].name.eq_decoded(b"a"));
        assert_eq!(ps[0].data, b"value a");
        assert_eq!(ps[0].filename, None);
        assert!(ps[1].name.eq_decoded(b"file"));
        assert_eq!(ps[1].filename.unwrap().as_plain(), Some(&b"x.txt"[..]));
        assert_eq!(ps[1].content_type, Some(&b"text/plain"[..]));
        assert_eq!(ps[1].data, b"line1\r\n--bnot a delimiter\r\nline2");
        assert_eq!(ps[1].header("content-type"), Some(&b"text/plain"[..]));
        assert_eq!(ps[1].headers().count(), 2);
    }

    #[test]
    fn empty_form_and_empty_data() {
        assert!(parts(b"--b--\r\n").is_empty());
        let ps = parts(b"--b\r\nContent-Disposition: form-data; name=e\r\n\r\n\r\n--b--");
        assert_eq!(ps[0].as_ref().unwrap().data, b"");
    }

    #[test]
    fn quoted_strings_and_ext_values() {
        let body = "--b\r\nContent-Disposition: form-data; name=\"f\\\"q\"; filename=\"C:\\dir\\a.txt\"\r\n\r\nx\r\n\
            --b\r\nContent-Disposition: form-data; name=g; filename=\"fallback\"; filename*=UTF-8''na%C3%AFve%20x.txt\r\n\r\ny\r\n\
            --b\r\nContent-Disposition: form-data; name=h; filename*=iso-8859-1'en'%E9t%E9\r\n\r\nz\r\n--b--";
        let ps: Vec<Part<'_>> = parts(body.as_bytes()).into_iter().map(Result::unwrap).collect();
        assert!(ps[0].name.eq_decoded(b"f\"q"));
        assert_eq!(ps[0].name.as_plain(), None);
        let mut out = Vec::new();
        ps[0].filename.unwrap().decode_into(&mut out);
        assert_eq!(out, b"C:\\dir\\a.txt", "a backslash before a non-tspecial stays");
        out.clear();
        ps[1].filename.unwrap().decode_into(&mut out);
        assert_eq!(out, "naïve x.txt".as_bytes());
        out.clear();
        ps[2].filename.unwrap().decode_into(&mut out);
        assert_eq!(out, "été".as_bytes());
    }

    #[test]
    fn malformed_bodies() {
        let cd = "Content-Disposition: form-data; name=a";
        let e = |body: String| parts(body.as_bytes()).into_iter().find_map(Result::err);
        assert_eq!(e("no delimiter".into()), Some(MultipartError::MissingDelimiter));
        assert_eq!(e(format!("--b\r\n{cd}\r\n\r\ndata")), Some(MultipartError::Truncated));
        assert_eq!(e(format!("--b\r\n{cd}\r\n\r\ndata\r\n--b")), Some(MultipartError::Truncated));
        assert_eq!(e(format!("--b\r\n{cd}")), Some(MultipartError::Truncated));
        assert_eq!(
            e(format!("--bx\r\n{cd}\r\n\r\n\r\n--b--")),
            Some(MultipartError::InvalidDelimiter)
        );
        assert_eq!(e("--b\r\n\r\nx\r\n--b--".into()), Some(MultipartError::ContentDisposition));
        assert_eq!(
            e(format!("--b\r\n{cd}\r\n{cd}\r\n\r\nx\r\n--b--")),
            Some(MultipartError::ContentDisposition)
        );
        assert_eq!(
            e("--b\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--b--".into()),
            Some(MultipartError::NotFormDataPart)
        );
        assert_eq!(
            e("--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--".into()),
            Some(MultipartError::NotFormDataPart)
        );
        assert_eq!(
            e(format!("--b\r\n{cd}\r\nBad Header: x\r\n\r\nx\r\n--b--")),
            Some(MultipartError::InvalidPartHeader)
        );
        assert_eq!(
            e(format!("--b\r\n{cd}\r\nX: \x01\r\n\r\nx\r\n--b--")),
            Some(MultipartError::InvalidPartHeader)
        );
        assert_eq!(
            e(format!("--b\r\n{cd}; name=b\r\n\r\nx\r\n--b--")),
            Some(MultipartError::InvalidParameters)
        );
        assert_eq!(
            e("--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--b--".into()),
            Some(MultipartError::InvalidParameters)
        );
        assert_eq!(e("--b\r\nContent-Disposition: form-data; name=a; filename*=koi8-r''x\r\n\r\nx\r\n--b--".into()), Some(MultipartError::InvalidParameters));
        assert_eq!(e("--b\r\nContent-Disposition: form-data; name=a; filename*=UTF-8''%G0\r\n\r\nx\r\n--b--".into()), Some(MultipartError::InvalidParameters));
    }

    #[test]
    fn one_error_then_the_end() {
        let mut it = Multipart::new(b"--b\r\nbad\r\n\r\nx\r\n--b--", b"b", &Limits::DEFAULT);
        assert!(matches!(it.next(), Some(Err(_))));
        assert!(it.next().is_none());
        let mut it = Multipart::new(b"--\r\n", b"", &Limits::DEFAULT);
        assert_eq!(it.next(), Some(Err(MultipartError::InvalidBoundary)));
        assert!(it.next().is_none());
    }

    #[test]
    fn statuses_and_reasons() {
        assert_eq!(MultipartError::TooManyParts { max: 1 }.status(), 413);
        assert_eq!(MultipartError::PartHeadTooLarge { max: 1 }.status(), 413);
        assert_eq!(MultipartError::Truncated.status(), 400);
        assert!(!MultipartError::Truncated.reason().contains('"'));
    }
}
