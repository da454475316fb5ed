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

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Whether some byte of `x` is less than `n` (exact for `n <= 128`; "hasless" of Bit Twiddling
/// Hacks: a borrow only starts at a byte below `n`, and bytes >= 0x80 are masked out by `!x`).
#[inline(always)]
const fn has_less(x: u64, n: u8) -> bool {
    (x.wrapping_sub(LO.wrapping_mul(n as u64)) & !x & HI) != 0
}

/// Whether some byte of `x` is greater than `n` (exact for `n < 128`; "hasmore").
#[inline(always)]
const fn has_more(x: u64, n: u8) -> bool {
    ((x.wrapping_add(LO.wrapping_mul(127 - n as u64)) | x) & HI) != 0
}

/// Whether some byte of `x` equals `b`.
#[inline(always)]
const fn has_byte(x: u64, b: u8) -> bool {
    let y = x ^ LO.wrapping_mul(b as u64);
    (y.wrapping_sub(LO) & !y & HI) != 0
}

/// Position of the first byte of `s` that fails `ok`, eight bytes at a time: `suspect` says
/// whether a word may hold such a byte (false positives only cost a byte-wise look).
#[inline(always)]
fn first_failing(
    s: &[u8],
    suspect: impl Fn(u64) -> bool,
    ok: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut words = s.chunks_exact(8);
    let mut offset = 0usize;
    for word in &mut words {
        let x = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        if suspect(x)
            && let Some(p) = word.iter().position(|&b| !ok(b))
        {
            return Some(offset.saturating_add(p));
        }
        offset = offset.saturating_add(8);
    }
    words.remainder().iter().position(|&b| !ok(b)).map(|p| offset.saturating_add(p))
}

/// Position of the first byte of `s` that cannot be in a field value (the CR ending it, or an
/// invalid control byte). HTAB is allowed but makes its word take the slow look.
#[inline]
pub(crate) fn value_end(s: &[u8]) -> Option<usize> {
    first_failing(s, |x| has_less(x, 0x20) || has_byte(x, 0x7f), is_value_byte)
}

/// Position of the first byte of `s` that cannot be in a request target.
#[inline]
pub(crate) fn target_end(s: &[u8]) -> Option<usize> {
    first_failing(s, |x| has_less(x, 0x21) || has_more(x, 0x7e), is_target_byte)
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

    /// The word-at-a-time scans agree with the byte-wise definition at every length and offset.
    #[test]
    fn word_scans_match_bytewise() {
        let naive_value = |s: &[u8]| s.iter().position(|&b| !is_value_byte(b));
        let naive_target = |s: &[u8]| s.iter().position(|&b| !is_target_byte(b));
        for bad in 0..=255u8 {
            for len in 0..20 {
                for at in 0..=len {
                    let mut v: Vec<u8> = (0..len).map(|i| b"aZ~!\x80\xff /"[i % 8]).collect();
                    if at < len {
                        v[at] = bad;
                    }
                    assert_eq!(value_end(&v), naive_value(&v), "{v:?}");
                    let t: Vec<u8> =
                        v.iter().map(|&b| if b == b' ' || b >= 0x80 { b'x' } else { b }).collect();
                    let mut t = t;
                    if at < len {
                        t[at] = bad;
                    }
                    assert_eq!(target_end(&t), naive_target(&t), "{t:?}");
                }
            }
        }
        for x in
            [0u64, u64::MAX, 0x2020_2020_2020_2020, 0x7f7f_7f7f_7f7f_7f7f, 0x1f00_ff80_7e21_0920]
        {
            let bytes = x.to_le_bytes();
            assert_eq!(has_less(x, 0x20), bytes.iter().any(|&b| b < 0x20), "{x:#x}");
            assert_eq!(has_more(x, 0x7e), bytes.iter().any(|&b| b > 0x7e), "{x:#x}");
            assert_eq!(has_byte(x, 0x7f), bytes.contains(&0x7f), "{x:#x}");
        }
    }

    #[test]
    fn list_members_are_trimmed() {
        let m: Vec<&[u8]> = list_members(b" a ,\tb,, c\t").collect();
        assert_eq!(m, vec![&b"a"[..], b"b", b"", b"c"]);
        assert_eq!(trim_ows(b"  "), b"");
        assert_eq!(trim_ows(b""), b"");
    }
}
