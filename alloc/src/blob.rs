//! Sealed memfd blobs: immutable byte buffers that live in the page cache and are shared by fd.
//!
//! A [`Blob`] is an anonymous memory file (`memfd_create`) that is filled once and then sealed
//! against writing, growing, shrinking and further sealing (`F_SEAL_WRITE | F_SEAL_GROW |
//! F_SEAL_SHRINK | F_SEAL_SEAL`). After sealing, nobody — not the server, not a sandboxed program
//! given the fd — can change its bytes, so one blob can back a file-store entry, a copy-in
//! source and a program's stdin at the same time. [`Blob::reopen`] gives a fresh read-only open
//! file description (its own offset at 0) for each consumer, so concurrent readers never move
//! each other's offset.
//!
//! What it does not do: it does not count bytes against a quota (the file store does), and it
//! keeps no name registry. No `unsafe`: the `memfd` crate and `std` do the syscalls.
//!
//! ```
//! use shardbox_alloc::blob::Blob;
//! let b = Blob::from_bytes("example", b"hello").unwrap();
//! assert_eq!(b.len(), 5);
//! assert_eq!(b.read_to_vec().unwrap(), b"hello");
//! ```

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::FileExt;

use memfd::{FileSeal, Memfd, MemfdOptions};

/// Why a blob could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// `memfd_create` failed.
    #[error("memfd_create: {0}")]
    Create(#[source] memfd::Error),
    /// Writing the contents failed (e.g. out of memory).
    #[error("write blob contents: {0}")]
    Write(#[source] io::Error),
    /// The source had more than the allowed bytes.
    #[error("blob source is larger than {max} bytes")]
    TooLarge {
        /// The limit, bytes.
        max: u64,
    },
    /// Adding the seals failed.
    #[error("seal memfd: {0}")]
    Seal(#[source] memfd::Error),
    /// Reading the blob back failed.
    #[error("read blob: {0}")]
    Read(#[source] io::Error),
}

/// An immutable, sealed memfd and its length.
#[derive(Debug)]
pub struct Blob {
    /// The sealed memfd. Invariant: sealed with write/grow/shrink/seal seals; `len` bytes long.
    file: File,
    /// Length in bytes, fixed by the seals.
    len: u64,
}

fn create(name: &str) -> Result<Memfd, BlobError> {
    MemfdOptions::default()
        .allow_sealing(true)
        .close_on_exec(true)
        .create(name)
        .map_err(BlobError::Create)
}

fn seal(memfd: Memfd, len: u64) -> Result<Blob, BlobError> {
    let seals = [FileSeal::SealShrink, FileSeal::SealGrow, FileSeal::SealWrite, FileSeal::SealSeal];
    memfd.add_seals(&seals).map_err(BlobError::Seal)?;
    Ok(Blob { file: memfd.into_file(), len })
}

impl Blob {
    /// A sealed blob holding `bytes`; `name` shows in `/proc/<pid>/fd` for debugging.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Self, BlobError> {
        let memfd = create(name)?;
        memfd.as_file().write_all(bytes).map_err(BlobError::Write)?;
        seal(memfd, u64::try_from(bytes.len()).unwrap_or(u64::MAX))
    }

    /// A sealed blob holding everything `src` yields, which must be at most `max` bytes
    /// (`max + 1` bytes are read at most, then [`BlobError::TooLarge`]). On Linux, copying
    /// from a file uses `copy_file_range`/`splice` through `std::io::copy`.
    pub fn from_reader(name: &str, src: impl Read, max: u64) -> Result<Self, BlobError> {
        let memfd = create(name)?;
        let mut limited = src.take(max.saturating_add(1));
        let copied = io::copy(&mut limited, &mut memfd.as_file()).map_err(BlobError::Write)?;
        if copied > max {
            return Err(BlobError::TooLarge { max });
        }
        seal(memfd, copied)
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the blob holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A new read-only open file description of the blob, at offset 0, close-on-exec. Each
    /// consumer (a program's stdin, a copy-in, an HTTP download) should take its own.
    pub fn reopen(&self) -> io::Result<File> {
        File::open(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
    }

    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.file.read_at(buf, offset)
    }

    /// All bytes of the blob.
    pub fn read_to_vec(&self) -> Result<Vec<u8>, BlobError> {
        let len = usize::try_from(self.len)
            .map_err(|_| BlobError::Read(io::Error::other("blob larger than memory")))?;
        let mut out = vec![0; len];
        self.file.read_exact_at(&mut out, 0).map_err(BlobError::Read)?;
        Ok(out)
    }
}

impl AsFd for Blob {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Seek;

    use super::*;

    #[test]
    fn bytes_round_trip_and_are_sealed() {
        let b = Blob::from_bytes("t", b"abc").expect("blob");
        assert_eq!((b.len(), b.is_empty()), (3, false));
        assert_eq!(b.read_to_vec().expect("read"), b"abc");
        let mut buf = [0u8; 2];
        assert_eq!(b.read_at(&mut buf, 1).expect("pread"), 2);
        assert_eq!(&buf, b"bc");
        // The seals forbid writing even through a writable descriptor of the same memfd.
        let mut w = std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/proc/self/fd/{}", b.as_fd().as_raw_fd()))
            .expect("opening for write is allowed; writing is not");
        assert!(w.write_all(b"x").is_err(), "F_SEAL_WRITE");
        assert_eq!(b.read_to_vec().expect("read"), b"abc");
        assert!(b.file.set_len(0).is_err(), "shrink is sealed");
        assert!(b.file.set_len(10).is_err(), "grow is sealed");
    }

    #[test]
    fn reopen_gives_independent_offsets() {
        let b = Blob::from_bytes("t", b"0123456789").expect("blob");
        let mut r1 = b.reopen().expect("reopen");
        let mut r2 = b.reopen().expect("reopen");
        let mut four = [0u8; 4];
        r1.read_exact(&mut four).expect("read");
        assert_eq!(&four, b"0123");
        r2.read_exact(&mut four).expect("read");
        assert_eq!(&four, b"0123", "r2 starts at 0 after r1 read");
        assert_eq!(r1.stream_position().expect("pos"), 4);
        assert!(r1.write_all(b"x").is_err(), "reopened read-only");
    }

    #[test]
    fn from_reader_limit_boundaries() {
        let data = vec![7u8; 100];
        for (max, ok) in [(99u64, false), (100, true), (101, true)] {
            let r = Blob::from_reader("t", &data[..], max);
            assert_eq!(r.is_ok(), ok, "max {max}");
            if let Ok(b) = r {
                assert_eq!(b.read_to_vec().expect("read"), data);
            } else {
                assert!(matches!(r, Err(BlobError::TooLarge { max: m }) if m == max));
            }
        }
        let empty = Blob::from_reader("t", &[][..], 0).expect("empty");
        assert!(empty.is_empty());
    }

    #[test]
    fn from_reader_copies_from_a_file() {
        let src = Blob::from_bytes("src", &vec![1u8; 1 << 20]).expect("blob");
        let f = src.reopen().expect("reopen");
        let copy = Blob::from_reader("copy", f, 1 << 20).expect("copy");
        assert_eq!(copy.len(), 1 << 20);
        assert_eq!(copy.read_to_vec().expect("read"), src.read_to_vec().expect("read"));
    }
}
