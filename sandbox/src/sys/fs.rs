//! Filesystem syscalls: mount, umount, pivot_root, openat2 with resolve flags, fstat, mkdir,
//! symlink, extended attributes, and SysV IPC removal.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::{cvt, cvt_long};

/// Mount flags used by the container setup.
pub mod flags {
    /// Bind mount.
    pub const BIND: u64 = libc::MS_BIND;
    /// Recursive.
    pub const REC: u64 = libc::MS_REC;
    /// Read-only.
    pub const RDONLY: u64 = libc::MS_RDONLY;
    /// Remount.
    pub const REMOUNT: u64 = libc::MS_REMOUNT;
    /// No setuid.
    pub const NOSUID: u64 = libc::MS_NOSUID;
    /// No devices.
    pub const NODEV: u64 = libc::MS_NODEV;
    /// No exec.
    pub const NOEXEC: u64 = libc::MS_NOEXEC;
    /// No atime.
    pub const NOATIME: u64 = libc::MS_NOATIME;
    /// Private propagation.
    pub const PRIVATE: u64 = libc::MS_PRIVATE;
    /// Flags a read-only bind remount must keep when the source mount has them (a user
    /// namespace may not clear locked flags).
    pub const LOCKABLE: u64 = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
}

/// `mount(source, target, fstype, flags, data)`.
pub fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: u64,
    data: Option<&CStr>,
) -> io::Result<()> {
    let p = |c: Option<&CStr>| c.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: every pointer is null or a valid C string alive for the call.
    let ret = unsafe { libc::mount(p(source), target.as_ptr(), p(fstype), flags, p(data).cast()) };
    cvt(ret)?;
    Ok(())
}

/// `umount2(target, MNT_DETACH)`.
pub fn umount_detach(target: &CStr) -> io::Result<()> {
    // SAFETY: `target` is a valid C string.
    cvt(unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) })?;
    Ok(())
}

/// `pivot_root(".", ".")`: the old root ends up stacked under the new one at `/`; the caller
/// detaches it with `umount_detach(".")`.
pub fn pivot_root_here() -> io::Result<()> {
    let dot = c".";
    // SAFETY: both arguments are valid C strings.
    let ret = unsafe { libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) };
    cvt_long(ret)?;
    Ok(())
}

/// Mount flags of the filesystem holding `path` (`statvfs` `f_flag` mapped to `MS_*`).
pub fn mount_flags_of(path: &CStr) -> io::Result<u64> {
    // SAFETY: statvfs is plain data.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a C string, `st` is valid for writes.
    cvt(unsafe { libc::statvfs(path.as_ptr(), &mut st) })?;
    let mut out = 0;
    for (st_flag, ms) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_RDONLY, libc::MS_RDONLY),
    ] {
        if st.f_flag & st_flag != 0 {
            out |= ms;
        }
    }
    Ok(out)
}

/// How `open_resolved` may follow links.
#[derive(Debug, Clone, Copy)]
pub enum Resolve {
    /// No symlink in any component, no magic links (copy-out).
    NoSymlinks,
    /// Ordinary symlinks allowed, magic links (`/proc/self/fd/N`) refused (copy-in).
    NoMagicLinks,
}

/// What to open for.
#[derive(Debug, Clone, Copy)]
pub enum OpenMode {
    /// `O_WRONLY|O_CREAT|O_TRUNC|O_NOFOLLOW|O_NONBLOCK`, mode 0777 (a fifo does not block
    /// the open: without a reader it fails with `ENXIO`).
    CreateWrite,
    /// `O_RDONLY|O_NOFOLLOW|O_NONBLOCK` (a fifo does not block the open).
    Read,
    /// `O_RDONLY|O_DIRECTORY`.
    Directory,
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// `openat2(AT_FDCWD, path, how)` with `O_CLOEXEC`.
pub fn open_resolved(path: &CStr, mode: OpenMode, resolve: Resolve) -> io::Result<OwnedFd> {
    let (flags, perm) = match mode {
        OpenMode::CreateWrite => {
            let f = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NOFOLLOW;
            (f | libc::O_NONBLOCK, 0o777)
        }
        OpenMode::Read => (libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK, 0),
        OpenMode::Directory => (libc::O_RDONLY | libc::O_DIRECTORY, 0),
    };
    let resolve = match resolve {
        Resolve::NoSymlinks => libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS,
        Resolve::NoMagicLinks => libc::RESOLVE_NO_MAGICLINKS,
    };
    let how =
        OpenHow { flags: u64::try_from(flags | libc::O_CLOEXEC).unwrap_or(0), mode: perm, resolve };
    // SAFETY: `path` is a C string and `how` a valid open_how of the size passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            path.as_ptr(),
            std::ptr::addr_of!(how),
            std::mem::size_of::<OpenHow>(),
        )
    };
    let fd = cvt_long(ret)?;
    // SAFETY: openat2 returned a fresh fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The type of a file (`st_mode & S_IFMT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Regular file (also a memfd).
    Regular,
    /// Directory.
    Directory,
    /// Pipe or fifo.
    Fifo,
    /// Socket.
    Socket,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
    /// Symbolic link (an `O_PATH | O_NOFOLLOW` fd).
    Symlink,
    /// No file type: an anonymous inode (eventfd, epoll, signalfd, timerfd, ...).
    Other,
}

/// File type and size from `fstat`.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    /// Regular file.
    pub is_regular: bool,
    /// The file type.
    pub kind: FileKind,
    /// Size, bytes.
    pub size_bytes: u64,
}

/// `fstat(fd)`.
pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<Stat> {
    // SAFETY: stat is plain data.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid for writes.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => FileKind::Regular,
        libc::S_IFDIR => FileKind::Directory,
        libc::S_IFIFO => FileKind::Fifo,
        libc::S_IFSOCK => FileKind::Socket,
        libc::S_IFCHR => FileKind::CharDevice,
        libc::S_IFBLK => FileKind::BlockDevice,
        libc::S_IFLNK => FileKind::Symlink,
        _ => FileKind::Other,
    };
    Ok(Stat {
        is_regular: kind == FileKind::Regular,
        kind,
        size_bytes: u64::try_from(st.st_size).unwrap_or(0),
    })
}

/// Clears `O_NONBLOCK` on an fd.
pub fn set_blocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: no memory arguments.
    let fl = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    // SAFETY: no memory arguments.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK) })?;
    Ok(())
}

/// `mkdir(path, mode)`; an existing entry is not an error.
pub fn mkdir(path: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: `path` is a valid C string.
    match cvt(unsafe { libc::mkdir(path.as_ptr(), mode) }) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates an empty regular file if nothing is there (a bind-mount target for a file).
pub fn touch(path: &CStr) -> io::Result<()> {
    // SAFETY: `path` is a valid C string.
    let fd = cvt(unsafe {
        libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC, 0o644)
    })?;
    // SAFETY: we own the fd just opened.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    Ok(())
}

/// `symlink(target, link)`.
pub fn symlink(target: &CStr, link: &CStr) -> io::Result<()> {
    // SAFETY: both are valid C strings.
    cvt(unsafe { libc::symlink(target.as_ptr(), link.as_ptr()) })?;
    Ok(())
}

/// `llistxattr(path)` into `buf`: the names, each NUL-terminated; returns the bytes used.
/// `ERANGE` when they do not fit.
pub fn list_xattrs(path: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `path` is a C string and `buf` is writable for its length.
    let n = unsafe { libc::llistxattr(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let n = cvt_long(n as libc::c_long)?;
    Ok(usize::try_from(n).unwrap_or(0).min(buf.len()))
}

/// `lremovexattr(path, name)`.
pub fn remove_xattr(path: &CStr, name: &CStr) -> io::Result<()> {
    // SAFETY: both are valid C strings.
    cvt(unsafe { libc::lremovexattr(path.as_ptr(), name.as_ptr()) })?;
    Ok(())
}

/// Which SysV IPC object kind.
#[derive(Debug, Clone, Copy)]
pub enum IpcKind {
    /// Shared memory.
    Shm,
    /// Message queue.
    Msg,
    /// Semaphore set.
    Sem,
}

/// Number of SysV IPC objects of `kind` in the caller's IPC namespace: `used_ids` of
/// `SHM_INFO`, `msgpool` of `MSG_INFO`, `semusz` of `SEM_INFO` (each the namespace's `in_use`).
/// One syscall, where reading `/proc/sysvipc/*` costs an open, a formatted table and a close.
pub fn ipc_count(kind: IpcKind) -> io::Result<u32> {
    /// Room for `struct shm_info` (48 bytes), `msginfo` (32) and `seminfo` (40), aligned for the
    /// `unsigned long`s of the first.
    #[repr(C, align(8))]
    struct Info([i32; 16]);
    const SHM_INFO: libc::c_int = 14;
    let mut info = Info([-1; 16]);
    let buf = info.0.as_mut_ptr();
    let (ret, at) = match kind {
        // SAFETY: SHM_INFO writes a `struct shm_info` (48 bytes) to `buf`, which has 64.
        IpcKind::Shm => (unsafe { libc::syscall(libc::SYS_shmctl, 0, SHM_INFO, buf) }, 0),
        // SAFETY: MSG_INFO writes a `struct msginfo` (32 bytes) to `buf`, which has 64.
        IpcKind::Msg => (unsafe { libc::syscall(libc::SYS_msgctl, 0, libc::MSG_INFO, buf) }, 0),
        // SAFETY: SEM_INFO writes a `struct seminfo` (40 bytes) to `buf`, which has 64; the
        // semnum argument is unused.
        IpcKind::Sem => (unsafe { libc::syscall(libc::SYS_semctl, 0, 0, libc::SEM_INFO, buf) }, 7),
    };
    cvt_long(ret)?;
    // A field the kernel did not write (still -1) reads as "unknown": u32::MAX.
    Ok(info.0.get(at).and_then(|n| u32::try_from(*n).ok()).unwrap_or(u32::MAX))
}

/// Removes a SysV IPC object by id (`IPC_RMID`).
pub fn ipc_remove(kind: IpcKind, id: i32) -> io::Result<()> {
    let ret = match kind {
        // SAFETY: IPC_RMID takes no buffer (a null pointer is allowed).
        IpcKind::Shm => unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) },
        // SAFETY: as above.
        IpcKind::Msg => unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) },
        // SAFETY: IPC_RMID uses no fourth argument.
        IpcKind::Sem => unsafe { libc::semctl(id, 0, libc::IPC_RMID) },
    };
    cvt(ret)?;
    Ok(())
}
