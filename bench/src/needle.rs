//! A byte string every response body must contain, found while the body streams past.
//!
//! [`Needle`] is a Knuth–Morris–Pratt automaton: its failure table is built once per run, and
//! `Needle::advance` carries "how much of the needle is matched" from one piece of a body to
//! the next, so a match split across reads or chunks is found without storing the body. The
//! response parser feeds it; a run uses it to tell a judge's `"status":"Accepted"` from a `200`
//! that carries a failed run.

use std::sync::Arc;

use crate::limits::BODY_NEEDLE_BYTES_MAX;

/// A byte string to find in response bodies, with its KMP failure table, built once per run.
///
/// Cloning shares the bytes and the table (two reference counts), so every connection can hold
/// one without copying it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Needle {
    bytes: Arc<[u8]>,
    /// `fail[i]`: length of the longest proper prefix of `bytes[..=i]` that is also its suffix.
    fail: Arc<[usize]>,
}

/// Why a needle cannot be used.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum NeedleError {
    /// An empty needle would match every body.
    #[error("the body needle is empty")]
    Empty,
    /// The needle is longer than the limit.
    #[error("the body needle has {len} bytes, more than {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
}

impl Needle {
    /// Builds the search automaton for `bytes` (1..=[`BODY_NEEDLE_BYTES_MAX`] bytes).
    pub fn new(bytes: &[u8]) -> Result<Self, NeedleError> {
        if bytes.is_empty() {
            return Err(NeedleError::Empty);
        }
        if bytes.len() > BODY_NEEDLE_BYTES_MAX {
            return Err(NeedleError::TooLong { len: bytes.len(), max: BODY_NEEDLE_BYTES_MAX });
        }
        let mut fail = vec![0usize; bytes.len()];
        let mut k = 0usize;
        for i in 1..bytes.len() {
            while k > 0 && bytes.get(i) != bytes.get(k) {
                k = fail.get(k - 1).copied().unwrap_or(0);
            }
            if bytes.get(i) == bytes.get(k) {
                k += 1;
            }
            if let Some(slot) = fail.get_mut(i) {
                *slot = k;
            }
        }
        Ok(Self { bytes: bytes.into(), fail: fail.into() })
    }

    /// The bytes searched for.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Advances the automaton over `data` from `matched` bytes of the needle already matched;
    /// returns the new matched length (equal to the needle's length once found).
    pub(crate) fn advance(&self, mut matched: usize, data: &[u8]) -> usize {
        let len = self.bytes.len();
        if matched >= len {
            return len;
        }
        for &byte in data {
            while matched > 0 && self.bytes.get(matched) != Some(&byte) {
                matched = self.fail.get(matched - 1).copied().unwrap_or(0);
            }
            if self.bytes.get(matched) == Some(&byte) {
                matched += 1;
                if matched == len {
                    return matched;
                }
            }
        }
        matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needle_found_across_pieces_and_with_overlaps() {
        let needle = Needle::new(b"aab").unwrap();
        assert_eq!(needle.advance(0, b"aaab"), 3);
        let split = needle.advance(needle.advance(0, b"xa"), b"ab");
        assert_eq!(split, 3, "a match split across two pieces is found");
        assert_eq!(needle.advance(0, b"abab"), 0);
        let json = Needle::new(br#""status":"Accepted""#).unwrap();
        let body = br#"[{"status":"Accepted","exitStatus":0}]"#;
        for cut in 0..body.len() {
            let (a, b) = body.split_at(cut);
            assert_eq!(json.advance(json.advance(0, a), b), json.bytes().len(), "cut at {cut}");
        }
        assert_eq!(Needle::new(b""), Err(NeedleError::Empty));
        assert!(Needle::new(&[b'x'; BODY_NEEDLE_BYTES_MAX]).is_ok());
        assert!(matches!(
            Needle::new(&[b'x'; BODY_NEEDLE_BYTES_MAX + 1]),
            Err(NeedleError::TooLong { .. })
        ));
    }
}
