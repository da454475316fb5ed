//! The go-judge file store behind `/file` and `fileId`/`copyOutCached`: named, immutable files
//! under opaque ids, with a byte quota and an optional idle timeout.
//!
//! [`FileStore`] keeps an index `id → (name, size, expiry)` under one mutex and the bytes either
//! in memory as sealed memfds ([`shardbox_alloc::blob::Blob`], the default) or on disk as
//! `<dir>/<id>` files (`-dir`). Ids are 8 characters of base32 (`[A-Z2-7]{8}`, 40 random bits)
//! like go-judge's, and treated as opaque everywhere: any id made of ASCII letters and digits
//! (at most 64) is looked up, anything else (`..`, `/`, empty) is simply not found.
//!
//! Limits: the total bytes stored never exceed `bytes_max`, and the entry count never exceeds
//! `files_max`. Every add knows its length first and reserves it under the lock before a byte
//! is copied, so concurrent adds cannot overshoot the quota even transiently; an add that does
//! not fit is refused with [`StoreError::QuotaExceeded`] (go-judge users hit a full `/dev/shm`
//! instead and every run turns into a File Error, go-judge#66). With a TTL
//! (`-file-timeout`), an entry not read for that long is removed; [`FileStore::get`] refreshes
//! it. Expired entries are swept at most once a second, by whichever call comes next.
//!
//! A [`StoredFile`] returned by `get` stays readable after the entry is deleted (it holds the
//! memfd or an open file), so a run never loses a copy-in to a concurrent `DELETE`.
//! [`StoredFile::is_text`] says whether the bytes are UTF-8 without NUL (a download's
//! `Content-Type`); the first call for an entry reads the file, the answer is kept with the
//! entry (files are immutable), and every later call, from any thread, reads nothing.
//!
//! ```
//! use shardbox_sandbox::filestore::{FileStore, FileStoreConfig};
//! let store = FileStore::open(FileStoreConfig::default()).unwrap();
//! let id = store.add_bytes("a.txt", b"hi").unwrap();
//! let f = store.get(&id).unwrap();
//! assert_eq!((f.name.as_str(), f.read_to_vec().unwrap().as_slice()), ("a.txt", &b"hi"[..]));
//! store.delete(&id).unwrap();
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use shardbox_alloc::blob::{Blob, BlobError};

use crate::limits::{
    FILE_ID_TRIES_MAX, FILE_NAME_BYTES_MAX, FILE_STORE_BYTES_DEFAULT, FILE_STORE_FILES_MAX,
};

mod text;
use text::TextVerdict;

/// How often expired entries are swept, at most.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// Longest id that is looked up at all.
const ID_LOOKUP_BYTES: usize = 64;
/// Prefix of partially written files in the directory store.
const TMP_PREFIX: &str = ".tmp-";

/// File store settings (go-judge flags `-dir`, `-file-timeout`; shardbox's quota).
#[derive(Debug, Clone)]
pub struct FileStoreConfig {
    /// `-dir`: keep files in this directory instead of memory.
    pub dir: Option<PathBuf>,
    /// `-file-timeout`: remove an entry not read for this long.
    pub ttl: Option<Duration>,
    /// Total bytes the store may hold.
    pub bytes_max: u64,
    /// Entries the store may hold.
    pub files_max: usize,
}

impl Default for FileStoreConfig {
    fn default() -> Self {
        Self {
            dir: None,
            ttl: None,
            bytes_max: FILE_STORE_BYTES_DEFAULT,
            files_max: FILE_STORE_FILES_MAX,
        }
    }
}

/// Why a file store operation failed. `docs/api/file.md` lists the HTTP status of each.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No entry with this id (HTTP 404 on `/file`, 500 inside `/run` as go-judge).
    #[error("file does not exists with id: {0:?}")]
    NotFound(String),
    /// Adding `len_bytes` would exceed the byte quota (HTTP 507).
    #[error(
        "file store is full: {len_bytes} more bytes would exceed the quota of {max_bytes} \
         ({used_bytes} in use)"
    )]
    QuotaExceeded {
        /// Bytes of the file being added (at least; a stream is read until the quota).
        len_bytes: u64,
        /// Bytes stored now.
        used_bytes: u64,
        /// The quota.
        max_bytes: u64,
    },
    /// The store holds `files_max` entries already (HTTP 507).
    #[error("file store is full: it holds the maximum of {max} files")]
    TooManyFiles {
        /// The limit.
        max: usize,
    },
    /// The file name is longer than [`FILE_NAME_BYTES_MAX`] (HTTP 400).
    #[error("file name is {len} bytes, more than the limit of {max}")]
    NameTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Making or reading a memfd failed (HTTP 500).
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// A directory-store operation failed (HTTP 500).
    #[error("file store {op} {path}: {source}")]
    Io {
        /// Which step.
        op: &'static str,
        /// The file or directory.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// The random source failed (HTTP 500).
    #[error("getrandom: {0}")]
    Random(#[source] io::Error),
}

impl StoreError {
    /// The text an API caller may see: a disk failure says which step failed and why, not
    /// where the `-dir` store keeps its files ([`Display`](std::fmt::Display) does, for the log).
    pub fn caller_text(&self) -> String {
        match self {
            StoreError::Io { op, source, .. } => format!("file store {op}: {source}"),
            StoreError::NotFound(_)
            | StoreError::QuotaExceeded { .. }
            | StoreError::TooManyFiles { .. }
            | StoreError::NameTooLong { .. }
            | StoreError::Blob(_)
            | StoreError::Random(_) => self.to_string(),
        }
    }
}

/// The bytes of an entry, as returned by [`FileStore::get`].
#[derive(Debug)]
pub enum FileData {
    /// A sealed memfd (memory store).
    Memory(Arc<Blob>),
    /// An open file (directory store).
    Disk(File),
}

/// One file read from the store.
#[derive(Debug)]
pub struct StoredFile {
    /// Its original name (may be empty).
    pub name: String,
    /// Its size, bytes.
    pub len: u64,
    /// Its bytes.
    pub data: FileData,
    /// Whether it is text, shared with its entry.
    text: Arc<TextVerdict>,
}

impl StoredFile {
    /// Whether its bytes are UTF-8 without NUL (go-judge's text rule; an empty file is text).
    /// The first call for a stored file reads it, 64 KiB at a time; the answer is kept with
    /// the entry, so later calls (any thread, any `get` of the same id) read nothing.
    pub fn is_text(&self) -> Result<bool, StoreError> {
        self.text
            .get_or_check(|| {
                let read_at =
                    |buf: &mut [u8], at: u64| Ok(rustix::io::pread(self.as_fd(), buf, at)?);
                text::is_text(read_at, self.len, text::CHECK_CHUNK_BYTES)
            })
            .map_err(|source| StoreError::Io { op: "read", path: self.name.clone(), source })
    }

    /// A fresh read-only descriptor at offset 0, for one consumer.
    pub fn reopen(&self) -> io::Result<File> {
        match &self.data {
            FileData::Memory(b) => b.reopen(),
            FileData::Disk(f) => {
                use std::os::fd::AsRawFd;
                File::open(format!("/proc/self/fd/{}", f.as_raw_fd()))
            }
        }
    }

    /// All its bytes.
    pub fn read_to_vec(&self) -> Result<Vec<u8>, StoreError> {
        match &self.data {
            FileData::Memory(b) => Ok(b.read_to_vec()?),
            FileData::Disk(f) => {
                use std::os::unix::fs::FileExt;
                let len = usize::try_from(self.len).unwrap_or(usize::MAX);
                let mut out = vec![0; len];
                f.read_exact_at(&mut out, 0).map_err(|source| StoreError::Io {
                    op: "read",
                    path: self.name.clone(),
                    source,
                })?;
                Ok(out)
            }
        }
    }
}

impl AsFd for StoredFile {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.data {
            FileData::Memory(b) => b.as_fd(),
            FileData::Disk(f) => f.as_fd(),
        }
    }
}

#[derive(Debug)]
struct Entry {
    name: String,
    len: u64,
    /// `Some` in the memory store; the directory store keeps `<dir>/<id>`.
    blob: Option<Arc<Blob>>,
    expires_at: Option<Instant>,
    /// Whether it is text, once someone asked.
    text: Arc<TextVerdict>,
}

#[derive(Debug)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Invariant: the sum of `entries[*].len`.
    used_bytes: u64,
    /// Bytes reserved by adds in progress. Invariant: `used_bytes + reserved_bytes <= bytes_max`.
    reserved_bytes: u64,
    /// Adds in progress (each holds one entry slot).
    reserved_files: usize,
    last_sweep: Instant,
}

/// Bytes and one entry slot reserved for an add in progress; released on drop unless
/// committed.
struct Reservation<'a> {
    store: &'a FileStore,
    bytes: u64,
    active: bool,
}

impl Reservation<'_> {
    /// Turns the reservation into the entry `id` (whose length is at most the reserved bytes).
    fn commit(mut self, id: &str, entry: Entry) {
        let mut inner = self.store.lock();
        inner.reserved_bytes = inner.reserved_bytes.saturating_sub(self.bytes);
        inner.reserved_files = inner.reserved_files.saturating_sub(1);
        debug_assert!(entry.len <= self.bytes, "adds copy at most the reserved length");
        inner.used_bytes = inner.used_bytes.saturating_add(entry.len);
        inner.entries.insert(id.to_owned(), entry);
        self.active = false;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.active {
            let mut inner = self.store.lock();
            inner.reserved_bytes = inner.reserved_bytes.saturating_sub(self.bytes);
            inner.reserved_files = inner.reserved_files.saturating_sub(1);
        }
    }
}

/// The file store; share it between workers behind an `Arc`.
#[derive(Debug)]
pub struct FileStore {
    cfg: FileStoreConfig,
    inner: Mutex<Inner>,
    /// Text checks that read a file, since the store was opened.
    text_checks: Arc<AtomicU64>,
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new random id: 5 random bytes as 8 base32 characters.
fn new_id() -> Result<String, StoreError> {
    let mut raw = [0u8; 5];
    let mut filled = 0;
    while filled < raw.len() {
        let rest = raw.get_mut(filled..).unwrap_or(&mut []);
        let n = rustix::rand::getrandom(rest, rustix::rand::GetRandomFlags::empty())
            .map_err(|e| StoreError::Random(e.into()))?;
        filled = filled.saturating_add(n);
    }
    let bits = raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    Ok((0..8)
        .map(|i| {
            let shift = 35 - 5 * i;
            let digit = usize::try_from((bits >> shift) & 31).unwrap_or(0);
            char::from(BASE32.get(digit).copied().unwrap_or(b'A'))
        })
        .collect())
}

/// True for ids the store may hold: 1 to 64 ASCII letters and digits. Anything else (`..`,
/// `/`, empty, ...) can never name an entry or a file in the directory store.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= ID_LOOKUP_BYTES && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl FileStore {
    /// Opens a store. With a directory, creates it if missing, removes leftover partial files
    /// and indexes the files already there (name unknown, size counted against the quota).
    pub fn open(cfg: FileStoreConfig) -> Result<Self, StoreError> {
        let now = Instant::now();
        let text_checks = Arc::new(AtomicU64::new(0));
        let mut inner = Inner {
            entries: HashMap::new(),
            used_bytes: 0,
            reserved_bytes: 0,
            reserved_files: 0,
            last_sweep: now,
        };
        if let Some(dir) = &cfg.dir {
            let io = |op, source| StoreError::Io { op, path: dir.display().to_string(), source };
            std::fs::create_dir_all(dir).map_err(|e| io("create", e))?;
            for entry in std::fs::read_dir(dir).map_err(|e| io("list", e))? {
                let entry = entry.map_err(|e| io("list", e))?;
                let name = entry.file_name();
                let Some(id) = name.to_str() else { continue };
                if id.starts_with(TMP_PREFIX) {
                    let _ = std::fs::remove_file(entry.path());
                    continue;
                }
                let meta = entry.metadata().map_err(|e| io("stat", e))?;
                if !meta.is_file() || !is_valid_id(id) || inner.entries.len() >= cfg.files_max {
                    continue;
                }
                inner.used_bytes = inner.used_bytes.saturating_add(meta.len());
                let expires_at = cfg.ttl.and_then(|t| now.checked_add(t));
                let text = Arc::new(TextVerdict::new(&text_checks));
                inner.entries.insert(
                    id.to_owned(),
                    Entry { name: String::new(), len: meta.len(), blob: None, expires_at, text },
                );
            }
        }
        Ok(Self { cfg, inner: Mutex::new(inner), text_checks })
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &FileStoreConfig {
        &self.cfg
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the index half-updated (every update is
        // a single insert/remove plus a counter change), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn path_of(dir: &Path, id: &str) -> PathBuf {
        dir.join(id)
    }

    /// Removes expired entries if the last sweep is older than a second.
    fn sweep(&self, inner: &mut Inner, now: Instant) {
        if self.cfg.ttl.is_none()
            || now.saturating_duration_since(inner.last_sweep) < SWEEP_INTERVAL
        {
            return;
        }
        inner.last_sweep = now;
        let expired: Vec<String> = inner
            .entries
            .iter()
            .filter(|(_, e)| e.expires_at.is_some_and(|t| t <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.remove_locked(inner, &id);
        }
    }

    fn remove_locked(&self, inner: &mut Inner, id: &str) -> Option<Entry> {
        let entry = inner.entries.remove(id)?;
        inner.used_bytes = inner.used_bytes.saturating_sub(entry.len);
        if let Some(dir) = &self.cfg.dir {
            let _ = std::fs::remove_file(Self::path_of(dir, id));
        }
        Some(entry)
    }

    /// Reserves `len` bytes and one entry slot, or says why they do not fit.
    fn reserve(&self, name: &str, len: u64) -> Result<Reservation<'_>, StoreError> {
        if name.len() > FILE_NAME_BYTES_MAX {
            return Err(StoreError::NameTooLong { len: name.len(), max: FILE_NAME_BYTES_MAX });
        }
        let mut inner = self.lock();
        self.sweep(&mut inner, Instant::now());
        if inner.entries.len().saturating_add(inner.reserved_files) >= self.cfg.files_max {
            return Err(StoreError::TooManyFiles { max: self.cfg.files_max });
        }
        let taken = inner.used_bytes.saturating_add(inner.reserved_bytes);
        if len > self.cfg.bytes_max.saturating_sub(taken) {
            return Err(StoreError::QuotaExceeded {
                len_bytes: len,
                used_bytes: taken,
                max_bytes: self.cfg.bytes_max,
            });
        }
        inner.reserved_bytes = inner.reserved_bytes.saturating_add(len);
        inner.reserved_files = inner.reserved_files.saturating_add(1);
        Ok(Reservation { store: self, bytes: len, active: true })
    }

    /// Stores `bytes` under `name` and returns the new id.
    pub fn add_bytes(&self, name: &str, bytes: &[u8]) -> Result<String, StoreError> {
        let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        self.add_file(name, bytes, len)
    }

    /// Stores the first `len` bytes `src` yields (fewer if it ends sooner) under `name` and
    /// returns the new id. `len` is reserved against the quota before anything is read.
    pub fn add_file(&self, name: &str, src: impl Read, len: u64) -> Result<String, StoreError> {
        let reservation = self.reserve(name, len)?;
        let id = self.unused_id()?;
        let src = src.take(len);
        let (blob, copied) = match &self.cfg.dir {
            None => {
                let blob = Blob::from_reader(&format!("shardbox-file-{id}"), src, len)?;
                let copied = blob.len();
                (Some(Arc::new(blob)), copied)
            }
            Some(dir) => (None, Self::write_disk(dir, &id, src)?),
        };
        let expires_at = self.cfg.ttl.and_then(|t| Instant::now().checked_add(t));
        let text = Arc::new(TextVerdict::new(&self.text_checks));
        let entry = Entry { name: name.to_owned(), len: copied, blob, expires_at, text };
        reservation.commit(&id, entry);
        Ok(id)
    }

    fn write_disk(dir: &Path, id: &str, mut src: impl Read) -> Result<u64, StoreError> {
        let tmp = dir.join(format!("{TMP_PREFIX}{id}"));
        let io = |op, source| StoreError::Io { op, path: tmp.display().to_string(), source };
        let result = (|| {
            let mut f = File::create(&tmp).map_err(|e| io("create", e))?;
            let copied = io::copy(&mut src, &mut f).map_err(|e| io("write", e))?;
            f.flush().map_err(|e| io("write", e))?;
            std::fs::rename(&tmp, Self::path_of(dir, id)).map_err(|e| io("rename", e))?;
            Ok(copied)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// A random id no entry has. Ids have 40 random bits and the store holds at most
    /// `files_max` entries, so a second try is already rare; a few more are a broken RNG.
    fn unused_id(&self) -> Result<String, StoreError> {
        for _ in 0..FILE_ID_TRIES_MAX {
            let id = new_id()?;
            if !self.lock().entries.contains_key(&id) {
                return Ok(id);
            }
        }
        Err(StoreError::Random(io::Error::other("no unused id after several tries")))
    }

    /// The entry `id`, refreshing its TTL.
    pub fn get(&self, id: &str) -> Result<StoredFile, StoreError> {
        let not_found = || StoreError::NotFound(id.to_owned());
        if !is_valid_id(id) {
            return Err(not_found());
        }
        let now = Instant::now();
        let mut inner = self.lock();
        self.sweep(&mut inner, now);
        let ttl = self.cfg.ttl;
        let entry = inner.entries.get_mut(id).ok_or_else(not_found)?;
        if entry.expires_at.is_some_and(|t| t <= now) {
            self.remove_locked(&mut inner, id);
            return Err(not_found());
        }
        entry.expires_at = ttl.and_then(|t| now.checked_add(t));
        let (name, len, text) = (entry.name.clone(), entry.len, Arc::clone(&entry.text));
        let data = match (&entry.blob, &self.cfg.dir) {
            (Some(b), _) => FileData::Memory(Arc::clone(b)),
            (None, Some(dir)) => {
                // Opened under the lock so a concurrent delete cannot unlink it in between.
                let path = Self::path_of(dir, id);
                FileData::Disk(File::open(&path).map_err(|source| StoreError::Io {
                    op: "open",
                    path: path.display().to_string(),
                    source,
                })?)
            }
            (None, None) => return Err(not_found()),
        };
        Ok(StoredFile { name, len, data, text })
    }

    /// Removes the entry `id`.
    pub fn delete(&self, id: &str) -> Result<(), StoreError> {
        if !is_valid_id(id) {
            return Err(StoreError::NotFound(id.to_owned()));
        }
        let mut inner = self.lock();
        self.sweep(&mut inner, Instant::now());
        match self.remove_locked(&mut inner, id) {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound(id.to_owned())),
        }
    }

    /// Every `(id, name)`, sorted by id.
    pub fn list(&self) -> Vec<(String, String)> {
        let mut inner = self.lock();
        self.sweep(&mut inner, Instant::now());
        let mut v: Vec<(String, String)> =
            inner.entries.iter().map(|(id, e)| (id.clone(), e.name.clone())).collect();
        v.sort();
        v
    }

    /// Bytes stored now.
    pub fn used_bytes(&self) -> u64 {
        self.lock().used_bytes
    }

    /// How many times [`StoredFile::is_text`] read a file since the store was opened: at most
    /// once per stored file when no read failed (tests assert it).
    pub fn text_checks(&self) -> u64 {
        self.text_checks.load(Ordering::Relaxed)
    }

    /// Asserts the index invariants (tests call this after every step).
    pub fn check_invariants(&self) {
        let inner = self.lock();
        let sum: u64 = inner.entries.values().map(|e| e.len).sum();
        assert_eq!(sum, inner.used_bytes, "used_bytes is the sum of entry sizes");
        assert!(
            inner.used_bytes.saturating_add(inner.reserved_bytes) <= self.cfg.bytes_max,
            "stored plus reserved bytes within the quota"
        );
        assert!(inner.entries.len() <= self.cfg.files_max, "entry count within files_max");
        for (id, e) in &inner.entries {
            assert!(is_valid_id(id), "stored ids are valid");
            assert_eq!(e.blob.is_some(), self.cfg.dir.is_none(), "memory entries have a blob");
            if let Some(b) = &e.blob {
                assert_eq!(b.len(), e.len, "blob length matches the index");
            }
        }
    }

    #[cfg(test)]
    fn expire_all_for_test(&self) {
        let mut inner = self.lock();
        let past = Instant::now();
        for e in inner.entries.values_mut() {
            e.expires_at = Some(past);
        }
        inner.last_sweep = past.checked_sub(SWEEP_INTERVAL).unwrap_or(past);
    }
}

#[cfg(test)]
mod tests;
