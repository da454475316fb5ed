//! Whether a stored file is text: UTF-8 without NUL bytes (go-judge's rule for a download's
//! `Content-Type` when the name has no known extension), decided once per file.
//!
//! [`TextVerdict`] is kept with each store entry and shared by every [`super::StoredFile`]
//! read from it: the first caller of [`TextVerdict::get_or_check`] reads the file (64 KiB at a
//! time, with a bounded buffer) and the answer is kept; later callers, concurrent ones
//! included, get it without reading a byte. Stored files are immutable, so the answer cannot
//! go stale. A read error is not kept (the next caller tries again). This module does not pick
//! a `Content-Type`: the engine does, from the name first.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Bytes the text check reads at a time.
pub(super) const CHECK_CHUNK_BYTES: usize = 64 * 1024;

/// The cached answer for one entry, plus the store's count of checks done.
#[derive(Debug)]
pub(super) struct TextVerdict {
    /// `None` until a check succeeded. Held during the check, so one check runs per file.
    is_text: Mutex<Option<bool>>,
    /// The store's counter of checks that read a file ([`super::FileStore::text_checks`]).
    checks: Arc<AtomicU64>,
}

impl TextVerdict {
    pub(super) fn new(checks: &Arc<AtomicU64>) -> Self {
        Self { is_text: Mutex::new(None), checks: Arc::clone(checks) }
    }

    /// The kept answer, or the answer of `check` (run at most once successfully per verdict,
    /// even with concurrent callers: they wait for the first).
    pub(super) fn get_or_check(
        &self,
        check: impl FnOnce() -> io::Result<bool>,
    ) -> io::Result<bool> {
        // The guarded value is a plain `Option<bool>`: a panic in a check cannot leave it
        // half-written, so a poisoned lock is still usable.
        let mut kept = self.is_text.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(v) = *kept {
            return Ok(v);
        }
        self.checks.fetch_add(1, Ordering::Relaxed);
        let v = check()?;
        *kept = Some(v);
        Ok(v)
    }
}

/// Whether the `len` bytes `read_at` gives are UTF-8 without NUL, read `chunk` bytes at a time
/// with a bounded buffer: a sequence cut by a chunk's end is carried into the next. A source
/// shorter than `len` is an error.
pub(super) fn is_text(
    mut read_at: impl FnMut(&mut [u8], u64) -> io::Result<usize>,
    len: u64,
    chunk: usize,
) -> io::Result<bool> {
    let chunk = chunk.max(1);
    // At most 3 bytes of an unfinished UTF-8 sequence are carried at the start of `buf`.
    let mut buf = vec![0u8; chunk.saturating_add(3)];
    let (mut carry, mut offset) = (0usize, 0u64);
    while offset < len {
        let want = usize::try_from(len.saturating_sub(offset)).unwrap_or(usize::MAX).min(chunk);
        let end = carry.saturating_add(want);
        let n = read_at(buf.get_mut(carry..end).unwrap_or(&mut []), offset)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        offset = offset.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        let data = buf.get(..carry.saturating_add(n)).unwrap_or(&[]);
        if data.get(carry..).unwrap_or(&[]).contains(&0) {
            return Ok(false);
        }
        match std::str::from_utf8(data) {
            Ok(_) => carry = 0,
            // Cut short at the end: keep the tail (at most 3 bytes) for the next chunk.
            Err(e) if e.error_len().is_none() => {
                let valid = e.valid_up_to();
                let tail = data.len().saturating_sub(valid);
                buf.copy_within(valid..valid.saturating_add(tail), 0);
                carry = tail;
            }
            Err(_) => return Ok(false),
        }
    }
    Ok(carry == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(data: &[u8]) -> bool {
        !data.contains(&0) && std::str::from_utf8(data).is_ok()
    }

    #[test]
    fn the_chunked_check_agrees_with_the_whole_one() {
        let mut cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"hello".to_vec(),
            "é€😀".repeat(7).into_bytes(),
            b"a\0b".to_vec(),
            b"\xff".to_vec(),
            "ab\u{e9}".as_bytes()[..3].to_vec(), // cut inside the last character
        ];
        let mut invalid_late = "x😀".repeat(9).into_bytes();
        invalid_late.push(0x80);
        cases.push(invalid_late);
        for data in &cases {
            for chunk in 1..=9 {
                let read_at = |buf: &mut [u8], at: u64| {
                    let at = usize::try_from(at).expect("small");
                    let n = buf.len().min(data.len() - at);
                    buf[..n].copy_from_slice(&data[at..at + n]);
                    Ok(n)
                };
                let chunked = is_text(read_at, data.len() as u64, chunk).expect("read");
                assert_eq!(chunked, whole(data), "{data:?} in chunks of {chunk}");
            }
        }
        let short = is_text(|_: &mut [u8], _| Ok(0), 4, 2);
        assert!(short.is_err(), "a file shorter than its length is an error");
    }

    #[test]
    fn a_verdict_checks_once_and_keeps_no_error() {
        let checks = Arc::new(AtomicU64::new(0));
        let v = TextVerdict::new(&checks);
        let err = v.get_or_check(|| Err(io::ErrorKind::UnexpectedEof.into()));
        assert!(err.is_err());
        assert!(!v.get_or_check(|| Ok(false)).expect("checked"), "the error was not kept");
        assert!(!v.get_or_check(|| panic!("checked twice")).expect("kept"));
        assert_eq!(checks.load(Ordering::Relaxed), 2, "the failed check and the good one");
    }
}
