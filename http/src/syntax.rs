//! Byte classes and list syntax of RFC 9110 §5.6, shared by the parsers.
//!
//! Lookup tables for `tchar` (tokens: methods, header names, codings), request-target bytes,
//! field-value bytes and Host bytes, plus an iterator over the members of a comma-separated
//! field value. Pure functions of bytes; no allocation.

/// A 256-entry membership table for the bytes matching a pattern, built at compile time.
macro_rules! byte_table {
    ($($pat:tt)+) => {{
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            #[cfg_attr(
                not(test),
                expect(clippy::indexing_slicing, reason = "i < 256 = t.len(), checked at compile time")
            )]
            let () = t[i] = matches!(i as u8, $($pat)+);
            i += 1;
        }
        t
    }};
}

// tchar of RFC 9110 §5.6.2.
static TCHAR: [bool; 256] = byte_table!(
    b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'0'..=b'9' | b'A'..=b'Z' | b'^'..=b'z'
    | b'|' | b'~'
);
// Request target: visible ASCII only (stricter than httparse, which also takes 0x80..=0xFF).
static TARGET: [bool; 256] = byte_table!(b'!'..=b'~');
// field-value = *( HTAB / SP / VCHAR / obs-text ), RFC 9110 §5.5.
static VALUE: [bool; 256] = byte_table!(b'\t' | b' '..=b'~' | 0x80..=0xff);
// Host = uri-host [ ":" port ]: reg-name, IPv4, or an IP-literal in brackets.
static HOST: [bool; 256] = byte_table!(
    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'%' | b'!' | b'$'
    | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b':' | b'[' | b']'
);

/// `tchar` of RFC 9110 §5.6.2.
#[inline(always)]
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR.get(usize::from(b)).copied().unwrap_or(false)
}

/// A byte allowed in a request target.
#[inline(always)]
pub(crate) fn is_target_byte(b: u8) -> bool {
    TARGET.get(usize::from(b)).copied().unwrap_or(false)
}

/// A byte allowed in a field value (after the leading OWS).
#[inline(always)]
pub(crate) fn is_value_byte(b: u8) -> bool {
    VALUE.get(usize::from(b)).copied().unwrap_or(false)
}

/// A byte allowed in a Host value.
#[inline(always)]
pub(crate) fn is_host_byte(b: u8) -> bool {
    HOST.get(usize::from(b)).copied().unwrap_or(false)
}

/// Optional whitespace: SP or HTAB.
#[inline(always)]
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `s` without leading and trailing SP/HTAB.
#[inline]
pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ows(b)).map_or(start, |p| p.saturating_add(1));
    s.get(start..end).unwrap_or(&[])
}

/// The members of a comma-separated list value (`#element` of RFC 9110 §5.6.1), each trimmed of
/// OWS. Empty members are yielded as empty slices so callers can decide whether to tolerate them.
#[inline]
pub(crate) fn list_members(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tchar_matches_rfc() {
        let specials = b"!#$%&'*+-.^_`|~";
        for b in 0..=255u8 {
            let expect = b.is_ascii_alphanumeric() || specials.contains(&b);
            assert_eq!(is_tchar(b), expect, "byte {b:#x}");
        }
    }

    #[test]
    fn value_bytes_exclude_controls() {
        assert!(is_value_byte(b'\t'));
        assert!(is_value_byte(b' '));
        assert!(is_value_byte(0x80));
        assert!(!is_value_byte(0x7f));
        assert!(!is_value_byte(b'\r'));
        assert!(!is_value_byte(b'\n'));
        assert!(!is_value_byte(0));
    }

    #[test]
    fn target_is_visible_ascii() {
        assert!(is_target_byte(b'/'));
        assert!(is_target_byte(b'~'));
        assert!(!is_target_byte(b' '));
        assert!(!is_target_byte(0x7f));
        assert!(!is_target_byte(0xc3));
    }

    #[test]
    fn list_members_are_trimmed() {
        let m: Vec<&[u8]> = list_members(b" a ,\tb,, c\t").collect();
        assert_eq!(m, vec![&b"a"[..], b"b", b"", b"c"]);
        assert_eq!(trim_ows(b"  "), b"");
        assert_eq!(trim_ows(b""), b"");
    }
}
