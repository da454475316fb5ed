//! Files of a run: resolving inputs, copy-in before the program starts, copy-out after it ends.
//!
//! - [`Resolved`] / [`resolve`]: every `fileId` of a request is looked up and every `files[]`
//!   `src` opened *before* any container is taken (never blocking: `open_src` refuses a fifo,
//!   socket or directory), so an unknown id or a missing host file fails
//!   the whole request (HTTP 500, as go-judge) without spending a container. A copy-in `src`
//!   that cannot be opened is not a request error but a File Error of its command
//!   (`CopyInOpenFile`), so it is kept as [`Source::Unreadable`].
//! - [`copy_in`]: writes a command's copy-in files (sorted by path, parents created, mode 0777),
//!   then its symlinks, stopping at the first failure with go-judge's `fileError` type.
//! - [`copy_out`]: reads `copyOut` / `copyOutCached` files back through the container (regular
//!   files only, no symlink in the path), with the `?` suffix, `copyOutMax` and
//!   `copyOutTruncate` rules and the request's inline total, storing cached ones in the file
//!   store.
//!
//! Messages follow go-judge's where they are stable (`open <name>: no such file or
//! directory`, `<name> is not a regular file`, `copyout: "<name>" size (S) exceeds limit (M)`,
//! `symlink: "<k>" -> "<t>": <reason>`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::container::{Container, ContainerError};
use crate::filestore::{FileStore, StoreError, StoredFile};
use crate::limits::OPEN_WRITE_BATCH_MAX;
use crate::model::{Cmd, CmdFile, CopyIn, CopyOut, InputFile, Request};
use crate::protocol::Step;
use crate::result::{FileError, FileErrorKind};

/// Why resolving a request's inputs failed (the whole request fails).
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A `fileId` is not in the store (go-judge: HTTP 500).
    #[error(transparent)]
    UnknownFileId(StoreError),
    /// A `files[]` `src` could not be opened on the host (go-judge: HTTP 500).
    #[error("open file {}: {}", path.display(), io_text(source))]
    OpenSrc {
        /// The path.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
}

/// `ELOOP`: a symlink where copy-out refuses to follow one.
const ELOOP: i32 = 40;

/// An errno as Go prints it (`no such file or directory`).
pub fn errno_text(errno: i32) -> String {
    io_text(&io::Error::from_raw_os_error(errno))
}

/// An `io::Error` as Go prints an errno: lower case, no "(os error N)".
pub fn io_text(e: &io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    chars.next().map(|f| f.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

/// The data behind an input, ready to use.
#[derive(Debug)]
pub enum Source<'r> {
    /// Inline `content`.
    Memory(&'r [u8]),
    /// A host file opened read-only.
    Host(File),
    /// A copy-in `src` that could not be opened (a File Error of its command).
    Unreadable {
        /// The path.
        path: PathBuf,
        /// Cause.
        error: io::Error,
    },
    /// A file store entry.
    Cached(StoredFile),
}

/// The inputs of one command: `files[i]` for input slots (`None` for collectors and pipes),
/// and each copy-in file (symlinks need nothing).
#[derive(Debug, Default)]
pub struct Resolved<'r> {
    /// By fd.
    pub files: Vec<Option<Source<'r>>>,
    /// By copy-in index (`None` for symlinks).
    pub copy_in: Vec<Option<Source<'r>>>,
}

fn source<'r>(
    input: &'r InputFile,
    store: &FileStore,
    copy_in: bool,
    prefixes: &[PathBuf],
) -> Result<Source<'r>, ResolveError> {
    Ok(match input {
        InputFile::Memory(bytes) => Source::Memory(bytes),
        InputFile::Cached(id) => {
            Source::Cached(store.get(id).map_err(ResolveError::UnknownFileId)?)
        }
        InputFile::Host(path) => match open_src(path, copy_in, prefixes) {
            Ok(f) => Source::Host(f),
            Err(error) if copy_in => Source::Unreadable { path: path.clone(), error },
            Err(source) => return Err(ResolveError::OpenSrc { path: path.clone(), source }),
        },
    })
}

/// Opens a host `src` read-only without ever blocking the worker (a fifo waits for a writer
/// forever, and with it the worker and, at `-judge-workers 1`, the whole judge): the open is
/// `O_NONBLOCK`, and only a regular file or a character device (`/dev/null`, `/dev/zero`) is
/// accepted; a fifo, socket or directory is refused. A copy-in source keeps `O_NONBLOCK`, so a
/// device with nothing to read (`/dev/tty`, `/dev/kmsg`) fails the copy instead of waiting;
/// a program's fd gets its flags back (its reads are bounded by its own limits).
///
/// With `-src-prefix` (`prefixes` not empty), the file actually opened must be under one of
/// them: the request was checked when it was parsed, but a symlink swapped in since (by
/// whoever can write inside a prefix directory) would lead anywhere on the host.
fn open_src(path: &Path, copy_in: bool, prefixes: &[PathBuf]) -> io::Result<File> {
    use rustix::fs::{FileType, Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd = rustix::fs::open(path, flags, Mode::empty())?;
    match FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) {
        FileType::RegularFile | FileType::CharacterDevice => {}
        _ => {
            let e = "not a regular file or a character device";
            return Err(io::Error::new(io::ErrorKind::InvalidInput, e));
        }
    }
    if !prefixes.is_empty() {
        use std::os::fd::AsRawFd;
        let opened = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
        if !prefixes.iter().any(|p| opened.starts_with(p)) {
            let e = "the file opened is outside -src-prefix";
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, e));
        }
    }
    if !copy_in {
        let status = rustix::fs::fcntl_getfl(&fd)? - OFlags::NONBLOCK;
        rustix::fs::fcntl_setfl(&fd, status)?;
    }
    Ok(File::from(fd))
}

/// Resolves every input of every command (see the module documentation).
pub fn resolve<'r>(req: &'r Request, store: &FileStore) -> Result<Vec<Resolved<'r>>, ResolveError> {
    req.cmds
        .iter()
        .map(|cmd| {
            let files = cmd
                .files
                .iter()
                .map(|f| match f {
                    Some(CmdFile::Input(input)) => {
                        source(input, store, false, &req.src_prefixes).map(Some)
                    }
                    _ => Ok(None),
                })
                .collect::<Result<_, _>>()?;
            let copy_in = cmd
                .copy_in
                .iter()
                .map(|(_, c)| match c {
                    CopyIn::File(input) => source(input, store, true, &req.src_prefixes).map(Some),
                    CopyIn::Symlink(_) => Ok(None),
                })
                .collect::<Result<_, _>>()?;
            Ok(Resolved { files, copy_in })
        })
        .collect()
}

/// A copy-in failure: the command's `error` and its `fileError` entry.
#[derive(Debug)]
pub struct CopyInFailure {
    /// The `fileError` entry (its message is also the result's `error`).
    pub file_error: FileError,
}

fn copy_in_failure(name: &str, kind: FileErrorKind, message: String) -> CopyInFailure {
    CopyInFailure { file_error: FileError { name: name.to_owned(), kind, message } }
}

/// Files opened for writing, in the order asked, each with its own result.
pub type Opened = Vec<Result<File, ContainerError>>;

/// Writes `cmd`'s copy-in files then symlinks into `c`; the first failure stops it.
///
/// `then_open` are paths to open for writing after the copy-in (the command's `pipe: false`
/// collectors). When the copy-in has no symlink (which must be made before them), they go in
/// the same exchange with the init as the last copy-in files and are returned (`Some`): one
/// round trip instead of two. Otherwise `None`, and the caller opens them itself.
pub fn copy_in(
    c: &mut Container,
    cmd: &Cmd,
    sources: &mut [Option<Source<'_>>],
    then_open: &[&[u8]],
) -> Result<Option<Opened>, CopyInFailure> {
    // Files are opened in batches (one exchange with the init per batch), then written in
    // order; a source that cannot be read ends the copy-in after the files before it.
    let mut pending: Vec<(&String, Input<'_, '_>)> = Vec::new();
    for ((path, entry), src) in cmd.copy_in.iter().zip(sources.iter_mut()) {
        let (CopyIn::File(_), Some(src)) = (entry, src) else { continue };
        let input = match src {
            Source::Memory(bytes) => Input::Bytes(bytes),
            Source::Host(f) => Input::Host(f),
            Source::Cached(stored) => match stored.reopen() {
                Ok(f) => Input::Stored(f),
                Err(e) => {
                    write_pending(c, &mut pending, &[])?;
                    let msg = format!("copyin: open file {path:?}: {}", io_text(&e));
                    return Err(copy_in_failure(path, FileErrorKind::CopyInOpenFile, msg));
                }
            },
            Source::Unreadable { path: src_path, error } => {
                write_pending(c, &mut pending, &[])?;
                let msg = format!("copyin: open {}: {}", src_path.display(), io_text(error));
                return Err(copy_in_failure(path, FileErrorKind::CopyInOpenFile, msg));
            }
        };
        pending.push((path, input));
        if pending.len() >= OPEN_WRITE_BATCH_MAX {
            write_pending(c, &mut pending, &[])?;
        }
    }
    let symlinks = cmd.copy_in.iter().any(|(_, e)| matches!(e, CopyIn::Symlink(_)));
    if !symlinks {
        return write_pending(c, &mut pending, then_open).map(Some);
    }
    write_pending(c, &mut pending, &[])?;
    for (path, entry) in &cmd.copy_in {
        let CopyIn::Symlink(target) = entry else { continue };
        if let Err(e) = c.symlink(target.as_bytes(), path.as_bytes()) {
            let reason = match &e {
                ContainerError::File { errno, .. } => errno_text(*errno),
                other => super::for_caller(other.caller_text(), other, "symlink failed"),
            };
            let msg = format!("symlink: {path:?} -> {target:?}: {reason}");
            return Err(copy_in_failure(path, FileErrorKind::Symlink, msg));
        }
    }
    Ok(None)
}

/// The bytes of one copy-in file, ready to write.
enum Input<'a, 'r> {
    /// Inline `content`.
    Bytes(&'r [u8]),
    /// A host file (copied by the kernel).
    Host(&'a mut File),
    /// A file store entry, reopened.
    Stored(File),
}

/// Opens every pending copy-in file, then the `extra` paths, in one batch, then writes each
/// copy-in file in order; the first failure is the command's copy-in failure. Returns what
/// opening `extra` gave.
fn write_pending(
    c: &mut Container,
    pending: &mut Vec<(&String, Input<'_, '_>)>,
    extra: &[&[u8]],
) -> Result<Opened, CopyInFailure> {
    if pending.is_empty() && extra.is_empty() {
        return Ok(Vec::new());
    }
    let paths: Vec<&[u8]> =
        pending.iter().map(|(p, _)| p.as_bytes()).chain(extra.iter().copied()).collect();
    let mut files = c.open_write_batch(&paths);
    let extra_opened = files.split_off(pending.len().min(files.len()));
    for ((path, input), file) in pending.drain(..).zip(files) {
        let copy_err = |source| ContainerError::Copy { path: path.clone(), source };
        let written = file.and_then(|mut f| match input {
            Input::Bytes(bytes) => f.write_all(bytes).map_err(copy_err),
            Input::Host(src) => io::copy(src, &mut f).map(drop).map_err(copy_err),
            Input::Stored(mut src) => io::copy(&mut src, &mut f).map(drop).map_err(copy_err),
        });
        if let Err(e) = written {
            let (kind, msg) = match &e {
                ContainerError::Copy { source, .. } => (
                    FileErrorKind::CopyInCopyContent,
                    format!("copyin: copy {path:?}: {}", io_text(source)),
                ),
                ContainerError::File { step: Step::Mkdir, errno, .. } => (
                    FileErrorKind::CopyInCreateDir,
                    format!("copyin: create directory of {path:?}: {}", errno_text(*errno)),
                ),
                ContainerError::File { errno, .. } => (
                    FileErrorKind::CopyInCreateFile,
                    format!("copyin: create {path:?}: {}", errno_text(*errno)),
                ),
                other => {
                    let text = super::for_caller(other.caller_text(), other, "copy-in failed");
                    (FileErrorKind::CopyInCreateFile, format!("copyin: {path:?}: {text}"))
                }
            };
            return Err(copy_in_failure(path, kind, msg));
        }
    }
    Ok(extra_opened)
}

/// Reads at most `max` bytes of `f` from its start.
pub fn read_prefix(f: &mut File, max: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    f.take(max).read_to_end(&mut out)?;
    Ok(out)
}

/// What copy-out produced for one command.
#[derive(Debug, Default)]
pub struct CopiedOut {
    /// `copyOut` contents by name.
    pub files: BTreeMap<String, Vec<u8>>,
    /// `copyOutCached` ids by name.
    pub file_ids: BTreeMap<String, String>,
    /// Copy-out errors, in request order.
    pub errors: Vec<FileError>,
    /// A `copyOutCached` file could not be stored (status step 8).
    pub cache_error: Option<String>,
}

/// Opens a copy-out file and checks its size; `Ok(None)` for a missing optional file.
fn open_out(
    c: &mut Container,
    o: &CopyOut,
    (max, left): (u64, u64),
    truncate: bool,
    out: &mut CopiedOut,
) -> Option<(File, u64)> {
    let (f, size) = match c.open_read(o.name.as_bytes()) {
        Ok(opened) => opened,
        Err(_) if o.optional => return None,
        Err(e) => {
            let message = match &e {
                // O_NOFOLLOW met a symlink: go-judge reports it as not a regular file.
                ContainerError::File { errno, .. } if *errno == ELOOP => {
                    format!("{} is not a regular file", o.name)
                }
                ContainerError::File { errno, .. } => {
                    format!("open {}: {}", o.name, errno_text(*errno))
                }
                other => super::for_caller(other.caller_text(), other, "copy-out failed"),
            };
            out.errors.push(FileError {
                name: o.name.clone(),
                kind: FileErrorKind::CopyOutOpen,
                message,
            });
            return None;
        }
    };
    let cap = max.min(left);
    if size > cap {
        let message = if size > max {
            format!("copyout: {:?} size ({size}) exceeds limit ({max})", o.name)
        } else {
            format!(
                "copyout: {:?} size ({size}) exceeds what is left ({left}) of the request's \
                 copy-out total",
                o.name
            )
        };
        out.errors.push(FileError {
            name: o.name.clone(),
            kind: FileErrorKind::CopyOutSizeExceeded,
            message,
        });
        if !truncate {
            return None;
        }
        return Some((f, cap));
    }
    Some((f, size))
}

/// Copies out `cmd`'s `copyOut` and `copyOutCached` files, skipping names in `skip` (the
/// collectors, handled by the caller). `left` is what remains of the request's inline total
/// ([`Request::copy_out_total_bytes_max`]): each `copyOut` file takes its bytes from it, and
/// one that does not fit is `CopyOutSizeExceeded` (truncated to what is left under
/// `copyOutTruncate`). `copyOutCached` files go to the store, bounded by its quota instead.
pub fn copy_out(
    c: &mut Container,
    cmd: &Cmd,
    store: &FileStore,
    skip: &dyn Fn(&str) -> bool,
    left: &mut u64,
) -> CopiedOut {
    let mut out = CopiedOut::default();
    let (max, truncate) = (cmd.copy_out_max_bytes, cmd.copy_out_truncate);
    for o in cmd.copy_out.iter().filter(|o| !skip(&o.name)) {
        let Some((mut f, len)) = open_out(c, o, (max, *left), truncate, &mut out) else {
            continue;
        };
        match read_prefix(&mut f, len) {
            Ok(bytes) => {
                let taken = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
                *left = left.saturating_sub(taken);
                out.files.insert(o.name.clone(), bytes);
            }
            Err(e) => out.errors.push(FileError {
                name: o.name.clone(),
                kind: FileErrorKind::CopyOutCopyContent,
                message: format!("copyout: read {:?}: {}", o.name, io_text(&e)),
            }),
        }
    }
    for o in cmd.copy_out_cached.iter().filter(|o| !skip(&o.name)) {
        let Some((f, len)) = open_out(c, o, (max, u64::MAX), truncate, &mut out) else {
            continue;
        };
        let name = Path::new(&o.name)
            .file_name()
            .map_or_else(|| o.name.clone(), |n| n.to_string_lossy().into_owned());
        match store.add_file(&name, f, len) {
            Ok(id) => {
                out.file_ids.insert(o.name.clone(), id);
            }
            Err(e) => {
                let message = super::for_caller(e.caller_text(), &e, "copyOutCached failed");
                out.errors.push(FileError {
                    name: o.name.clone(),
                    kind: FileErrorKind::CopyOutCreateFile,
                    message: message.clone(),
                });
                out.cache_error.get_or_insert(message);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_print_like_go() {
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(io_text(&e), "no such file or directory");
        assert_eq!(io_text(&io::Error::other("Boom")), "boom");
    }

    #[test]
    fn a_symlink_swapped_in_after_the_prefix_check_is_refused() {
        let root = std::env::temp_dir().join(format!("sbx-prefix-swap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let allowed = root.join("allowed");
        std::fs::create_dir_all(&allowed).expect("dir");
        std::fs::write(root.join("secret"), "HOST SECRET").expect("secret");
        let (file, link) = (allowed.join("f"), allowed.join("g"));
        std::fs::write(&file, "fine").expect("file");
        std::fs::write(&link, "fine").expect("file");
        let opts = crate::model::ParseOptions::default().with_src_prefixes([allowed.clone()]);
        let body = format!(
            r#"{{"cmd":[{{"args":["a"],"files":[{{"src":"{}"}}],
                "copyIn":{{"x":{{"src":"{}"}}}}}}]}}"#,
            file.display(),
            link.display()
        );
        let req = Request::parse(body.as_bytes(), &opts).expect("valid: both are under the prefix");
        let store = FileStore::open(crate::filestore::FileStoreConfig::default()).expect("store");
        assert!(resolve(&req, &store).is_ok(), "untouched, both open");
        // Swapped for symlinks to a host file between the check and the open.
        for p in [&file, &link] {
            std::fs::remove_file(p).expect("rm");
            std::os::unix::fs::symlink(root.join("secret"), p).expect("symlink");
        }
        let e = resolve(&req, &store).expect_err("files[0] leads outside the prefix");
        assert!(e.to_string().contains("outside -src-prefix"), "{e}");
        std::fs::remove_file(&file).expect("rm");
        std::fs::write(&file, "fine").expect("file");
        let r = resolve(&req, &store).expect("files[0] is fine again");
        let cmd = r.first().expect("cmd");
        assert!(
            matches!(cmd.copy_in.first(), Some(Some(Source::Unreadable { .. }))),
            "the copy-in source leads outside: {:?}",
            cmd.copy_in
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn resolve_fails_on_unknown_ids_and_missing_host_files_only_in_files() {
        let store = FileStore::open(crate::filestore::FileStoreConfig::default()).expect("store");
        let id = store.add_bytes("a", b"x").expect("add");
        let opts = crate::model::ParseOptions::default();
        let parse = |body: String| Request::parse(body.as_bytes(), &opts).expect("valid");
        let ok = parse(format!(
            r#"{{"cmd":[{{"args":["a"],"files":[{{"fileId":"{id}"}},{{"content":"c"}}],
                "copyIn":{{"x":{{"src":"/nonexistent/x"}},"y":{{"symlink":"x"}}}}}}]}}"#
        ));
        let r = resolve(&ok, &store).expect("a missing copy-in src is not a request error");
        let cmd = r.first().expect("cmd");
        assert!(matches!(cmd.files.first(), Some(Some(Source::Cached(s))) if s.len == 1));
        assert!(matches!(cmd.files.get(1), Some(Some(Source::Memory(b"c")))));
        assert!(matches!(cmd.copy_in.first(), Some(Some(Source::Unreadable { .. }))));
        assert!(matches!(cmd.copy_in.get(1), Some(None)), "symlinks need no source");
        let unknown =
            parse(r#"{"cmd":[{"args":["a"],"copyIn":{"x":{"fileId":"NOPE2345"}}}]}"#.into());
        let e = resolve(&unknown, &store).expect_err("unknown id");
        assert_eq!(e.to_string(), r#"file does not exists with id: "NOPE2345""#);
        let missing =
            parse(r#"{"cmd":[{"args":["a"],"files":[{"src":"/nonexistent/y"}]}]}"#.into());
        let e = resolve(&missing, &store).expect_err("missing src");
        assert_eq!(e.to_string(), "open file /nonexistent/y: no such file or directory");
    }
}
