//! The wire protocol between the host, the zygote and each container init: sans-IO encode/decode.
//!
//! Transport is a `SOCK_SEQPACKET` unix socket: one message per datagram, at most
//! [`MSG_BYTES_MAX`] bytes, file descriptors beside it in `SCM_RIGHTS` (the codec only counts
//! them: [`Request::fds_expected`]). Every message starts with the protocol version
//! ([`VERSION`]) and a tag byte; integers are little-endian, byte strings are `u32` length +
//! bytes, lists are `u32` count + items. Counts are checked against `limits.rs` and against the
//! bytes left *before* anything is allocated, so a hostile or corrupt datagram costs at most its
//! own size. A decode error on either side means the peer is broken: the container is destroyed.
//!
//! Messages:
//! - host → init: [`Request`]; init → host: [`Reply`]. Strictly one request, then its replies, at
//!   a time per container (`Exec` is answered once: `Exited` when the program is gone, or
//!   `ExecFailed` / `Failed` when it could not start; no message in between, so the host
//!   sleeps once per run).
//! - host → zygote: [`ZygoteRequest`]; zygote → host: [`ZygoteReply`].
//!
//! This module does no I/O: `encode` appends to a caller's `Vec<u8>`, `decode` reads a `&[u8]`.
//!
//! ```
//! use shardbox_sandbox::protocol::{Request, decode_request};
//! let mut buf = Vec::new();
//! Request::Symlink { target: b"/dev/stdin".to_vec(), link: b"in.txt".to_vec() }.encode(&mut buf);
//! assert_eq!(decode_request(&buf).unwrap(), Request::Symlink { target: b"/dev/stdin".to_vec(), link: b"in.txt".to_vec() });
//! ```

use crate::limits::{
    ARGS_COUNT_MAX, ENV_COUNT_MAX, HOST_NAME_BYTES_MAX, MOUNTS_COUNT_MAX, MSG_BYTES_MAX,
    MSG_FDS_MAX, PATH_BYTES_MAX, RLIMITS_COUNT_MAX,
};

/// Protocol version carried by every message. Bump it on any change of the encoding.
pub const VERSION: u8 = 2;

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The message is empty or shorter than its fields say.
    #[error("message truncated")]
    Truncated,
    /// The message is longer than [`MSG_BYTES_MAX`].
    #[error("message of {len} bytes exceeds {max}")]
    TooLong {
        /// Length seen.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The peer speaks another protocol version.
    #[error("protocol version {got}, expected {VERSION}")]
    Version {
        /// Version received.
        got: u8,
    },
    /// Unknown message or field tag.
    #[error("unknown tag {tag} in {what}")]
    Tag {
        /// Where.
        what: &'static str,
        /// Tag value.
        tag: u8,
    },
    /// A list or string is longer than its limit.
    #[error("{what}: {len} exceeds {max}")]
    Limit {
        /// Which field.
        what: &'static str,
        /// Length seen.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Bytes left after the last field.
    #[error("{0} trailing bytes")]
    Trailing(usize),
}

/// One resource limit for `setrlimit` (soft = hard).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    /// The resource (`RLIMIT_*` number).
    pub resource: u32,
    /// The value (soft and hard).
    pub value: u64,
}

/// What the init needs to start one program.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecSpec {
    /// argv, exactly as given. `args[0]` is resolved like go-judge (see `init`).
    pub args: Vec<Vec<u8>>,
    /// Environment, exactly as given (nothing inherited).
    pub env: Vec<Vec<u8>>,
    /// `fd_slots[i]` tells whether fd `i` of the program gets the next fd of the message;
    /// `false` leaves fd `i` closed. Its length is the size of the program's fd table.
    pub fd_slots: Vec<bool>,
    /// Resource limits set in the child before exec.
    pub rlimits: Vec<Rlimit>,
}

/// host → container init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Liveness check; answered by [`Reply::Pong`].
    Ping,
    /// Carries the join files (v1 `tasks`, v2 `cgroup.procs`; one per hierarchy the init is not
    /// in) every program joins before exec,
    /// replacing any earlier set. Answered by [`Reply::Done`].
    AttachCgroup {
        /// Number of fds in the message.
        count: u8,
    },
    /// Open (create dirs, `O_CREAT|O_TRUNC`, mode 0777) for writing: copy-in and collectors.
    /// Regular files only (an existing fifo, socket or device is `Step::NotRegular`), no magic
    /// link in the path, no symlink as the last component. Answered by [`Reply::Opened`] + the
    /// fd, or [`Reply::Failed`].
    OpenWrite {
        /// Container path, relative to `/w` or absolute.
        path: Vec<u8>,
    },
    /// Open a regular file for reading (copy-out): no symlink anywhere in the path, not a dir,
    /// fifo, socket or device. Answered by [`Reply::Opened`] + the fd, or [`Reply::Failed`].
    OpenRead {
        /// Container path, relative to `/w` or absolute.
        path: Vec<u8>,
    },
    /// `symlink(target, link)`. Answered by [`Reply::Done`] or [`Reply::Failed`].
    Symlink {
        /// What the link points to (not checked: it is resolved inside the container).
        target: Vec<u8>,
        /// Container path of the link.
        link: Vec<u8>,
    },
    /// Start a program; the message carries one fd per `true` slot. Answered by
    /// [`Reply::Exited`] once it is gone, or [`Reply::ExecFailed`] / [`Reply::Failed`] when it
    /// could not start. The host's clock at sending is the start of the wall-clock limit.
    Exec(ExecSpec),
    /// Kill every process of the running program; [`Reply::Exited`] follows.
    Kill,
    /// Kill everything, wipe `/w` and `/tmp`, remove IPC objects. Answered by [`Reply::Done`].
    Reset,
}

/// The step of a container operation that failed (carried with an errno).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Creating the parent directories of a path.
    Mkdir,
    /// Opening a path.
    Open,
    /// The path is not a regular file (copy-out).
    NotRegular,
    /// Creating a symlink.
    Symlink,
    /// Killing or reaping processes.
    Kill,
    /// Wiping a tmpfs.
    Wipe,
    /// Removing IPC objects.
    Ipc,
    /// A request that is not valid in the current state (e.g. `Kill` with nothing running).
    State,
    /// Container setup (mounts, pivot_root, hostname...), reported instead of `Ready`.
    Setup,
    /// Forking the program.
    Fork,
    /// Joining the cgroup.
    Cgroup,
}

/// Why a program could not be started (after the fork, before or at exec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecStep {
    /// `args` is empty.
    NoArgs,
    /// `args[0]` has no `/`, is not in `/w` and the env has no `PATH=`.
    NoPath,
    /// `args[0]` was not found in `PATH`.
    NotFound,
    /// Joining the cgroup failed.
    Cgroup,
    /// Arranging the fds failed.
    Fds,
    /// `chdir("/w")` failed.
    Chdir,
    /// `setrlimit` failed.
    Rlimit,
    /// Dropping to the unprivileged uid/gid or the capabilities failed.
    Credentials,
    /// Installing the seccomp filter failed.
    Seccomp,
    /// `execve` itself failed (the errno says why: ENOENT, EACCES, ENOEXEC...).
    Execve,
}

impl ExecStep {
    /// Whether the program had joined its cgroup when this step ran (so its allocations were
    /// charged to the run's memory limit): every step after [`ExecStep::Cgroup`].
    pub fn is_in_cgroup(self) -> bool {
        match self {
            ExecStep::NoArgs | ExecStep::NoPath | ExecStep::NotFound | ExecStep::Cgroup => false,
            ExecStep::Fds
            | ExecStep::Chdir
            | ExecStep::Rlimit
            | ExecStep::Credentials
            | ExecStep::Seccomp
            | ExecStep::Execve => true,
        }
    }
}

/// How a program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStatus {
    /// `exit(code)`.
    Exited(i32),
    /// Killed by a signal.
    Signalled(i32),
}

/// Resource usage the init measured for one program (all its processes, via `wait4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitReport {
    /// How the main process ended.
    pub status: WaitStatus,
    /// User CPU of every reaped process, ns.
    pub user_ns: u64,
    /// System CPU of every reaped process, ns.
    pub sys_ns: u64,
    /// Largest maxrss among reaped processes, bytes.
    pub maxrss_bytes: u64,
    /// `CLOCK_MONOTONIC` when the main process was reaped, ns: the host takes the run's wall
    /// time from its own clock at `Exec` to this (capped at its clock on receipt).
    pub end_ns: u64,
}

/// container init → host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The container is set up and serving.
    Ready,
    /// Answer to `Ping`.
    Pong,
    /// The request succeeded.
    Done,
    /// A file was opened; the fd is in the message.
    Opened {
        /// Its size in bytes at open time (`fstat`).
        size_bytes: u64,
    },
    /// The request failed at `step` with `errno`.
    Failed {
        /// Which step.
        step: Step,
        /// The errno (0 when the step has no errno, e.g. `NotRegular`).
        errno: i32,
    },
    /// The program could not be started.
    ExecFailed {
        /// Which step.
        step: ExecStep,
        /// The errno (0 for lookup failures).
        errno: i32,
    },
    /// The program and everything it started are gone.
    Exited(ExitReport),
}

/// What one entry of the container root is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    /// Bind mount of a host path (file or directory).
    Bind,
    /// A fresh tmpfs (`data` holds its options, e.g. `size=128m,nr_inodes=4k`).
    Tmpfs,
    /// A private procfs (read-only, nosuid, nodev, noexec).
    Proc,
}

/// One mount of the container root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Kind.
    pub kind: MountKind,
    /// Host path (bind only).
    pub source: Vec<u8>,
    /// Absolute container path.
    pub target: Vec<u8>,
    /// Read-only (binds; tmpfs is always writable).
    pub read_only: bool,
    /// Filesystem options (tmpfs).
    pub data: Vec<u8>,
}

/// Everything the zygote needs to build containers (sent once, after start).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerPlan {
    /// Mounts, in order, sources already checked to exist.
    pub mounts: Vec<MountEntry>,
    /// Symlinks created in the root: `(link, target)`.
    pub symlinks: Vec<(Vec<u8>, Vec<u8>)>,
    /// Paths masked inside `/proc` and elsewhere (`/dev/null` over files, ro tmpfs over dirs).
    pub masked_paths: Vec<Vec<u8>>,
    /// Host directory over which each container mounts its tmpfs root (in its own mount ns).
    pub root_dir: Vec<u8>,
    /// `sethostname`.
    pub host_name: Vec<u8>,
    /// `setdomainname`.
    pub domain_name: Vec<u8>,
    /// uid programs run as, inside the container.
    pub user_uid: u32,
    /// gid programs run as, inside the container.
    pub user_gid: u32,
    /// Install the default seccomp filter on programs.
    pub seccomp: bool,
}

/// host → zygote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZygoteRequest {
    /// Set the plan for every container built from now on. Answered by `Configured` or `Failed`.
    Configure(ContainerPlan),
    /// Build one container. Answered by `Created` + fds `[control socket, pidfd]`, or `Failed`.
    Create {
        /// Host uid that container root maps to (the init runs as it).
        host_root_uid: u32,
        /// Host uid that `plan.user_uid` maps to (programs run as it).
        host_user_uid: u32,
    },
}

/// zygote → host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZygoteReply {
    /// The plan is accepted (the seccomp filter compiled).
    Configured,
    /// A container was started; its control socket and pidfd are in the message.
    Created {
        /// Host pid of the container init.
        pid: u32,
    },
    /// Building failed at `step` with `errno`.
    Failed {
        /// What failed, for the log (a short static word).
        step: ZygoteStep,
        /// The errno.
        errno: i32,
    },
}

/// Steps of the zygote that can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZygoteStep {
    /// No `Configure` before `Create`.
    NotConfigured,
    /// Compiling the seccomp filter.
    Seccomp,
    /// socketpair / pipe.
    Socket,
    /// clone3.
    Clone,
    /// Writing uid_map / gid_map / setgroups.
    IdMap,
}

// ---- encoding -------------------------------------------------------------------------------

struct Writer<'a> {
    buf: &'a mut Vec<u8>,
}

impl Writer<'_> {
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        // Lengths above u32::MAX never fit a message; saturating makes the decoder reject them.
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn bytes(&mut self, v: &[u8]) {
        self.len(v.len());
        self.buf.extend_from_slice(v);
    }
    fn byte_list(&mut self, v: &[Vec<u8>]) {
        self.len(v.len());
        for b in v {
            self.bytes(b);
        }
    }
    fn header(&mut self, tag: u8) {
        self.u8(VERSION);
        self.u8(tag);
    }
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        if n > self.buf.len() {
            return Err(ProtocolError::Truncated);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], ProtocolError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.array::<1>()?[0])
    }
    fn bool(&mut self, what: &'static str) -> Result<bool, ProtocolError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(ProtocolError::Tag { what, tag }),
        }
    }
    fn u32(&mut self) -> Result<u32, ProtocolError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn i32(&mut self) -> Result<i32, ProtocolError> {
        Ok(i32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, ProtocolError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// A count, checked against `max` and against the bytes left (each item takes at least
    /// `item_bytes_min` bytes), before the caller allocates for it.
    fn count(
        &mut self,
        what: &'static str,
        max: usize,
        item_bytes_min: usize,
    ) -> Result<usize, ProtocolError> {
        let n = usize::try_from(self.u32()?).unwrap_or(usize::MAX);
        if n > max {
            return Err(ProtocolError::Limit { what, len: n, max });
        }
        if n.saturating_mul(item_bytes_min) > self.buf.len() {
            return Err(ProtocolError::Truncated);
        }
        Ok(n)
    }
    fn bytes(&mut self, what: &'static str, max: usize) -> Result<Vec<u8>, ProtocolError> {
        let n = self.count(what, max, 1)?;
        Ok(self.take(n)?.to_vec())
    }
    fn byte_list(
        &mut self,
        what: &'static str,
        count_max: usize,
        item_max: usize,
    ) -> Result<Vec<Vec<u8>>, ProtocolError> {
        let n = self.count(what, count_max, 4)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.bytes(what, item_max)?);
        }
        Ok(v)
    }
    fn finish(self) -> Result<(), ProtocolError> {
        if self.buf.is_empty() { Ok(()) } else { Err(ProtocolError::Trailing(self.buf.len())) }
    }
}

/// Opens a message: length and version checks, returns the tag and a reader over the payload.
fn open(buf: &[u8]) -> Result<(u8, Reader<'_>), ProtocolError> {
    if buf.len() > MSG_BYTES_MAX {
        return Err(ProtocolError::TooLong { len: buf.len(), max: MSG_BYTES_MAX });
    }
    let mut r = Reader { buf };
    let version = r.u8()?;
    if version != VERSION {
        return Err(ProtocolError::Version { got: version });
    }
    let tag = r.u8()?;
    Ok((tag, r))
}

macro_rules! byte_enum {
    ($name:ident, $what:literal, { $($variant:ident = $val:literal),+ $(,)? }) => {
        impl $name {
            fn to_u8(self) -> u8 {
                match self { $($name::$variant => $val),+ }
            }
            fn from_u8(tag: u8) -> Result<Self, ProtocolError> {
                match tag {
                    $($val => Ok($name::$variant),)+
                    _ => Err(ProtocolError::Tag { what: $what, tag }),
                }
            }
        }
    };
}

byte_enum!(Step, "step", {
    Mkdir = 1, Open = 2, NotRegular = 3, Symlink = 4, Kill = 5, Wipe = 6, Ipc = 7, State = 8,
    Setup = 9, Fork = 10, Cgroup = 11,
});
byte_enum!(ExecStep, "exec step", {
    NoArgs = 1, NoPath = 2, NotFound = 3, Cgroup = 4, Fds = 5, Chdir = 6, Rlimit = 7,
    Credentials = 8, Seccomp = 9, Execve = 10,
});
byte_enum!(MountKind, "mount kind", { Bind = 1, Tmpfs = 2, Proc = 3 });
byte_enum!(ZygoteStep, "zygote step", {
    NotConfigured = 1, Seccomp = 2, Socket = 3, Clone = 4, IdMap = 5,
});

/// `Err(Limit)` when `len > max`.
fn within(what: &'static str, len: usize, max: usize) -> Result<(), ProtocolError> {
    if len > max { Err(ProtocolError::Limit { what, len, max }) } else { Ok(()) }
}

impl Request {
    /// Checks the counts and lengths [`decode_request`] checks, before the message is sent: a
    /// request the init cannot decode makes it exit (it takes the host for broken), so one
    /// oversized name from an API caller would cost a container. The encoded length
    /// (`MSG_BYTES_MAX`) is the sender's to check.
    pub fn check_limits(&self) -> Result<(), ProtocolError> {
        match self {
            Request::Ping | Request::Kill | Request::Reset => Ok(()),
            Request::AttachCgroup { count } => {
                within("cgroup fds", usize::from(*count), MSG_FDS_MAX)
            }
            Request::OpenWrite { path } | Request::OpenRead { path } => {
                within("path", path.len(), PATH_BYTES_MAX)
            }
            Request::Symlink { target, link } => {
                within("symlink target", target.len(), PATH_BYTES_MAX)?;
                within("symlink path", link.len(), PATH_BYTES_MAX)
            }
            Request::Exec(spec) => {
                within("args", spec.args.len(), ARGS_COUNT_MAX)?;
                within("env", spec.env.len(), ENV_COUNT_MAX)?;
                within("fd slots", spec.fd_slots.len(), MSG_FDS_MAX)?;
                within("rlimits", spec.rlimits.len(), RLIMITS_COUNT_MAX)
            }
        }
    }

    /// Appends the encoded message to `buf`.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        let mut w = Writer { buf };
        match self {
            Request::Ping => w.header(1),
            Request::AttachCgroup { count } => {
                w.header(2);
                w.u8(*count);
            }
            Request::OpenWrite { path } => {
                w.header(3);
                w.bytes(path);
            }
            Request::OpenRead { path } => {
                w.header(4);
                w.bytes(path);
            }
            Request::Symlink { target, link } => {
                w.header(5);
                w.bytes(target);
                w.bytes(link);
            }
            Request::Exec(spec) => {
                w.header(6);
                w.byte_list(&spec.args);
                w.byte_list(&spec.env);
                w.len(spec.fd_slots.len());
                for s in &spec.fd_slots {
                    w.bool(*s);
                }
                w.len(spec.rlimits.len());
                for r in &spec.rlimits {
                    w.u32(r.resource);
                    w.u64(r.value);
                }
            }
            Request::Kill => w.header(7),
            Request::Reset => w.header(8),
        }
    }

    /// Number of fds that must accompany this request.
    pub fn fds_expected(&self) -> usize {
        match self {
            Request::AttachCgroup { count } => usize::from(*count),
            Request::Exec(spec) => spec.fd_slots.iter().filter(|s| **s).count(),
            _ => 0,
        }
    }
}

/// Decodes a host → init message.
pub fn decode_request(buf: &[u8]) -> Result<Request, ProtocolError> {
    let (tag, mut r) = open(buf)?;
    let req = match tag {
        1 => Request::Ping,
        2 => {
            let count = r.u8()?;
            if usize::from(count) > MSG_FDS_MAX {
                return Err(ProtocolError::Limit {
                    what: "cgroup fds",
                    len: usize::from(count),
                    max: MSG_FDS_MAX,
                });
            }
            Request::AttachCgroup { count }
        }
        3 => Request::OpenWrite { path: r.bytes("path", PATH_BYTES_MAX)? },
        4 => Request::OpenRead { path: r.bytes("path", PATH_BYTES_MAX)? },
        5 => Request::Symlink {
            target: r.bytes("symlink target", PATH_BYTES_MAX)?,
            link: r.bytes("symlink path", PATH_BYTES_MAX)?,
        },
        6 => {
            let args = r.byte_list("args", ARGS_COUNT_MAX, MSG_BYTES_MAX)?;
            let env = r.byte_list("env", ENV_COUNT_MAX, MSG_BYTES_MAX)?;
            let n = r.count("fd slots", MSG_FDS_MAX, 1)?;
            let mut fd_slots = Vec::with_capacity(n);
            for _ in 0..n {
                fd_slots.push(r.bool("fd slot")?);
            }
            let n = r.count("rlimits", RLIMITS_COUNT_MAX, 12)?;
            let mut rlimits = Vec::with_capacity(n);
            for _ in 0..n {
                rlimits.push(Rlimit { resource: r.u32()?, value: r.u64()? });
            }
            Request::Exec(ExecSpec { args, env, fd_slots, rlimits })
        }
        7 => Request::Kill,
        8 => Request::Reset,
        tag => return Err(ProtocolError::Tag { what: "request", tag }),
    };
    r.finish()?;
    Ok(req)
}

impl Reply {
    /// Appends the encoded message to `buf`.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        let mut w = Writer { buf };
        match self {
            Reply::Ready => w.header(1),
            Reply::Pong => w.header(2),
            Reply::Done => w.header(3),
            Reply::Opened { size_bytes } => {
                w.header(4);
                w.u64(*size_bytes);
            }
            Reply::Failed { step, errno } => {
                w.header(5);
                w.u8(step.to_u8());
                w.i32(*errno);
            }
            Reply::ExecFailed { step, errno } => {
                w.header(6);
                w.u8(step.to_u8());
                w.i32(*errno);
            }
            Reply::Exited(rep) => {
                w.header(8);
                match rep.status {
                    WaitStatus::Exited(c) => {
                        w.u8(1);
                        w.i32(c);
                    }
                    WaitStatus::Signalled(s) => {
                        w.u8(2);
                        w.i32(s);
                    }
                }
                w.u64(rep.user_ns);
                w.u64(rep.sys_ns);
                w.u64(rep.maxrss_bytes);
                w.u64(rep.end_ns);
            }
        }
    }

    /// Number of fds that accompany this reply.
    pub fn fds_expected(&self) -> usize {
        match self {
            Reply::Opened { .. } => 1,
            _ => 0,
        }
    }
}

/// Decodes an init → host message.
pub fn decode_reply(buf: &[u8]) -> Result<Reply, ProtocolError> {
    let (tag, mut r) = open(buf)?;
    let rep = match tag {
        1 => Reply::Ready,
        2 => Reply::Pong,
        3 => Reply::Done,
        4 => Reply::Opened { size_bytes: r.u64()? },
        5 => Reply::Failed { step: Step::from_u8(r.u8()?)?, errno: r.i32()? },
        6 => Reply::ExecFailed { step: ExecStep::from_u8(r.u8()?)?, errno: r.i32()? },
        // 7 was `Started` (version 1): no longer sent, so an unknown tag now.
        8 => {
            let status = match r.u8()? {
                1 => WaitStatus::Exited(r.i32()?),
                2 => WaitStatus::Signalled(r.i32()?),
                tag => return Err(ProtocolError::Tag { what: "wait status", tag }),
            };
            Reply::Exited(ExitReport {
                status,
                user_ns: r.u64()?,
                sys_ns: r.u64()?,
                maxrss_bytes: r.u64()?,
                end_ns: r.u64()?,
            })
        }
        tag => return Err(ProtocolError::Tag { what: "reply", tag }),
    };
    r.finish()?;
    Ok(rep)
}

impl ZygoteRequest {
    /// Appends the encoded message to `buf`.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        let mut w = Writer { buf };
        match self {
            ZygoteRequest::Configure(plan) => {
                w.header(1);
                w.len(plan.mounts.len());
                for m in &plan.mounts {
                    w.u8(m.kind.to_u8());
                    w.bytes(&m.source);
                    w.bytes(&m.target);
                    w.bool(m.read_only);
                    w.bytes(&m.data);
                }
                w.len(plan.symlinks.len());
                for (link, target) in &plan.symlinks {
                    w.bytes(link);
                    w.bytes(target);
                }
                w.byte_list(&plan.masked_paths);
                w.bytes(&plan.root_dir);
                w.bytes(&plan.host_name);
                w.bytes(&plan.domain_name);
                w.u32(plan.user_uid);
                w.u32(plan.user_gid);
                w.bool(plan.seccomp);
            }
            ZygoteRequest::Create { host_root_uid, host_user_uid } => {
                w.header(2);
                w.u32(*host_root_uid);
                w.u32(*host_user_uid);
            }
        }
    }
}

/// Decodes a host → zygote message.
pub fn decode_zygote_request(buf: &[u8]) -> Result<ZygoteRequest, ProtocolError> {
    let (tag, mut r) = open(buf)?;
    let req = match tag {
        1 => {
            let n = r.count("mounts", MOUNTS_COUNT_MAX, 14)?;
            let mut mounts = Vec::with_capacity(n);
            for _ in 0..n {
                mounts.push(MountEntry {
                    kind: MountKind::from_u8(r.u8()?)?,
                    source: r.bytes("mount source", PATH_BYTES_MAX)?,
                    target: r.bytes("mount target", PATH_BYTES_MAX)?,
                    read_only: r.bool("read_only")?,
                    data: r.bytes("mount data", PATH_BYTES_MAX)?,
                });
            }
            let n = r.count("symlinks", MOUNTS_COUNT_MAX, 8)?;
            let mut symlinks = Vec::with_capacity(n);
            for _ in 0..n {
                symlinks.push((
                    r.bytes("symlink path", PATH_BYTES_MAX)?,
                    r.bytes("symlink target", PATH_BYTES_MAX)?,
                ));
            }
            let masked_paths = r.byte_list("masked paths", MOUNTS_COUNT_MAX, PATH_BYTES_MAX)?;
            let root_dir = r.bytes("root dir", PATH_BYTES_MAX)?;
            let host_name = r.bytes("host name", HOST_NAME_BYTES_MAX)?;
            let domain_name = r.bytes("domain name", HOST_NAME_BYTES_MAX)?;
            ZygoteRequest::Configure(ContainerPlan {
                mounts,
                symlinks,
                masked_paths,
                root_dir,
                host_name,
                domain_name,
                user_uid: r.u32()?,
                user_gid: r.u32()?,
                seccomp: r.bool("seccomp")?,
            })
        }
        2 => ZygoteRequest::Create { host_root_uid: r.u32()?, host_user_uid: r.u32()? },
        tag => return Err(ProtocolError::Tag { what: "zygote request", tag }),
    };
    r.finish()?;
    Ok(req)
}

impl ZygoteReply {
    /// Appends the encoded message to `buf`.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        let mut w = Writer { buf };
        match self {
            ZygoteReply::Configured => w.header(1),
            ZygoteReply::Created { pid } => {
                w.header(2);
                w.u32(*pid);
            }
            ZygoteReply::Failed { step, errno } => {
                w.header(3);
                w.u8(step.to_u8());
                w.i32(*errno);
            }
        }
    }

    /// Number of fds that accompany this reply.
    pub fn fds_expected(&self) -> usize {
        match self {
            ZygoteReply::Created { .. } => 2,
            _ => 0,
        }
    }
}

/// Decodes a zygote → host message.
pub fn decode_zygote_reply(buf: &[u8]) -> Result<ZygoteReply, ProtocolError> {
    let (tag, mut r) = open(buf)?;
    let rep = match tag {
        1 => ZygoteReply::Configured,
        2 => ZygoteReply::Created { pid: r.u32()? },
        3 => ZygoteReply::Failed { step: ZygoteStep::from_u8(r.u8()?)?, errno: r.i32()? },
        tag => return Err(ProtocolError::Tag { what: "zygote reply", tag }),
    };
    r.finish()?;
    Ok(rep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..max)
    }

    fn request() -> impl Strategy<Value = Request> {
        prop_oneof![
            Just(Request::Ping),
            Just(Request::Kill),
            Just(Request::Reset),
            (0u8..=64).prop_map(|count| Request::AttachCgroup { count }),
            bytes(64).prop_map(|path| Request::OpenWrite { path }),
            bytes(64).prop_map(|path| Request::OpenRead { path }),
            (bytes(32), bytes(32)).prop_map(|(target, link)| Request::Symlink { target, link }),
            (
                proptest::collection::vec(bytes(16), 0..8),
                proptest::collection::vec(bytes(16), 0..8),
                proptest::collection::vec(any::<bool>(), 0..8),
                proptest::collection::vec((any::<u32>(), any::<u64>()), 0..16),
            )
                .prop_map(|(args, env, fd_slots, rl)| Request::Exec(ExecSpec {
                    args,
                    env,
                    fd_slots,
                    rlimits: rl
                        .into_iter()
                        .map(|(resource, value)| Rlimit { resource, value })
                        .collect(),
                })),
        ]
    }

    fn reply() -> impl Strategy<Value = Reply> {
        prop_oneof![
            Just(Reply::Ready),
            Just(Reply::Pong),
            Just(Reply::Done),
            any::<u64>().prop_map(|size_bytes| Reply::Opened { size_bytes }),
            (1u8..=11, any::<i32>())
                .prop_map(|(s, errno)| Reply::Failed { step: Step::from_u8(s).unwrap(), errno }),
            (1u8..=10, any::<i32>()).prop_map(|(s, errno)| Reply::ExecFailed {
                step: ExecStep::from_u8(s).unwrap(),
                errno
            }),
            (any::<bool>(), any::<i32>(), any::<[u64; 4]>()).prop_map(|(e, c, n)| Reply::Exited(
                ExitReport {
                    status: if e { WaitStatus::Exited(c) } else { WaitStatus::Signalled(c) },
                    user_ns: n[0],
                    sys_ns: n[1],
                    maxrss_bytes: n[2],
                    end_ns: n[3],
                }
            )),
        ]
    }

    proptest! {
        #[test]
        fn request_round_trips(req in request()) {
            let mut buf = Vec::new();
            req.encode(&mut buf);
            prop_assert_eq!(decode_request(&buf).unwrap(), req);
        }

        #[test]
        fn reply_round_trips(rep in reply()) {
            let mut buf = Vec::new();
            rep.encode(&mut buf);
            prop_assert_eq!(decode_reply(&buf).unwrap(), rep);
        }

        #[test]
        fn every_prefix_of_a_request_is_rejected(req in request()) {
            let mut buf = Vec::new();
            req.encode(&mut buf);
            for n in 0..buf.len() {
                prop_assert!(decode_request(&buf[..n]).is_err());
            }
        }

        #[test]
        fn check_limits_agrees_with_the_decoder(req in request()) {
            prop_assert!(agrees_with_decoder(&req));
        }

        /// A hostile peer's message: a valid one with bytes overwritten (counts and lengths
        /// land on arbitrary values), or a valid header with a random body.
        #[test]
        fn mutated_messages_never_panic(
            req in request(),
            rep in reply(),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
            cut in any::<usize>(),
            tag in any::<u8>(),
            tail in bytes(512),
        ) {
            let mut a = Vec::new();
            req.encode(&mut a);
            let mut b = Vec::new();
            rep.encode(&mut b);
            let mut c = vec![VERSION, tag];
            c.extend_from_slice(&tail);
            for mut buf in [a, b, c] {
                for (pos, byte) in &edits {
                    let i = pos % buf.len();
                    buf[i] = *byte;
                }
                for msg in [&buf[..], &buf[..cut % (buf.len() + 1)]] {
                    let _ = decode_request(msg);
                    let _ = decode_reply(msg);
                    let _ = decode_zygote_request(msg);
                    let _ = decode_zygote_reply(msg);
                }
            }
        }

        #[test]
        fn garbage_never_panics(buf in bytes(256)) {
            let _ = decode_request(&buf);
            let _ = decode_reply(&buf);
            let _ = decode_zygote_request(&buf);
            let _ = decode_zygote_reply(&buf);
        }
    }

    #[test]
    fn zygote_messages_round_trip() {
        let plan = ContainerPlan {
            mounts: vec![
                MountEntry {
                    kind: MountKind::Bind,
                    source: b"/usr".to_vec(),
                    target: b"/usr".to_vec(),
                    read_only: true,
                    data: vec![],
                },
                MountEntry {
                    kind: MountKind::Tmpfs,
                    source: vec![],
                    target: b"/w".to_vec(),
                    read_only: false,
                    data: b"size=128m,nr_inodes=4k".to_vec(),
                },
            ],
            symlinks: vec![(b"/dev/fd".to_vec(), b"/proc/self/fd".to_vec())],
            masked_paths: vec![b"/proc/kcore".to_vec()],
            root_dir: b"/tmp/x".to_vec(),
            host_name: b"shardbox".to_vec(),
            domain_name: b"shardbox".to_vec(),
            user_uid: 1000,
            user_gid: 1000,
            seccomp: true,
        };
        for req in [
            ZygoteRequest::Configure(plan),
            ZygoteRequest::Create { host_root_uid: 7, host_user_uid: 8 },
        ] {
            let mut buf = Vec::new();
            req.encode(&mut buf);
            assert_eq!(decode_zygote_request(&buf).unwrap(), req);
            assert!(decode_zygote_request(&buf[..buf.len() - 1]).is_err());
        }
        for rep in [
            ZygoteReply::Configured,
            ZygoteReply::Created { pid: 42 },
            ZygoteReply::Failed { step: ZygoteStep::IdMap, errno: 1 },
        ] {
            let mut buf = Vec::new();
            rep.encode(&mut buf);
            assert_eq!(decode_zygote_reply(&buf).unwrap(), rep);
        }
    }

    #[test]
    fn version_is_checked() {
        let mut buf = Vec::new();
        Request::Ping.encode(&mut buf);
        buf[0] = VERSION + 1;
        assert_eq!(decode_request(&buf), Err(ProtocolError::Version { got: VERSION + 1 }));
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut buf = Vec::new();
        Request::Ping.encode(&mut buf);
        buf.push(0);
        assert_eq!(decode_request(&buf), Err(ProtocolError::Trailing(1)));
    }

    #[test]
    fn message_size_limit_at_max_and_above() {
        // A path of PATH_BYTES_MAX is fine, one byte more is rejected.
        for (len, ok) in
            [(PATH_BYTES_MAX - 1, true), (PATH_BYTES_MAX, true), (PATH_BYTES_MAX + 1, false)]
        {
            let mut buf = Vec::new();
            Request::OpenWrite { path: vec![b'a'; len] }.encode(&mut buf);
            assert_eq!(decode_request(&buf).is_ok(), ok, "len {len}");
        }
        let buf = vec![VERSION; MSG_BYTES_MAX + 1];
        assert_eq!(
            decode_request(&buf),
            Err(ProtocolError::TooLong { len: MSG_BYTES_MAX + 1, max: MSG_BYTES_MAX })
        );
    }

    #[test]
    fn counts_are_checked_before_allocating() {
        // An Exec claiming u32::MAX args in a 10-byte message fails without allocating.
        let mut buf = vec![VERSION, 6];
        buf.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(decode_request(&buf), Err(ProtocolError::Limit { what: "args", .. })));
        let mut buf = vec![VERSION, 6];
        buf.extend_from_slice(&(ARGS_COUNT_MAX as u32).to_le_bytes());
        assert_eq!(decode_request(&buf), Err(ProtocolError::Truncated));
    }

    /// `check_limits` accepts exactly what the decoder accepts (for messages that fit).
    fn agrees_with_decoder(req: &Request) -> bool {
        let mut buf = Vec::new();
        req.encode(&mut buf);
        buf.len() > MSG_BYTES_MAX || req.check_limits().is_ok() == decode_request(&buf).is_ok()
    }

    #[test]
    fn check_limits_at_max_minus_one_max_and_max_plus_one() {
        let exec = |args: usize, env: usize, slots: usize, rl: usize| {
            Request::Exec(ExecSpec {
                args: vec![vec![]; args],
                env: vec![vec![]; env],
                fd_slots: vec![true; slots],
                rlimits: vec![Rlimit { resource: 0, value: 0 }; rl],
            })
        };
        for (max, make) in [
            (ARGS_COUNT_MAX, &(|n| exec(n, 0, 0, 0)) as &dyn Fn(usize) -> Request),
            (ENV_COUNT_MAX, &|n| exec(0, n, 0, 0)),
            (MSG_FDS_MAX, &|n| exec(0, 0, n, 0)),
            (RLIMITS_COUNT_MAX, &|n| exec(0, 0, 0, n)),
            (PATH_BYTES_MAX, &|n| Request::OpenWrite { path: vec![b'a'; n] }),
            (PATH_BYTES_MAX, &|n| Request::OpenRead { path: vec![b'a'; n] }),
            (PATH_BYTES_MAX, &|n| Request::Symlink { target: vec![b'a'; n], link: vec![] }),
            (PATH_BYTES_MAX, &|n| Request::Symlink { target: vec![], link: vec![b'a'; n] }),
            (MSG_FDS_MAX, &|n| Request::AttachCgroup { count: n as u8 }),
        ] {
            for (n, ok) in [(max - 1, true), (max, true), (max + 1, false)] {
                let req = make(n);
                assert_eq!(req.check_limits().is_ok(), ok, "n={n} max={max}");
                assert!(agrees_with_decoder(&req), "n={n}");
            }
        }
    }

    #[test]
    fn fds_expected_counts_present_slots() {
        let spec = ExecSpec { fd_slots: vec![true, false, true], ..ExecSpec::default() };
        assert_eq!(Request::Exec(spec).fds_expected(), 2);
        assert_eq!(Request::AttachCgroup { count: 5 }.fds_expected(), 5);
        assert_eq!(Reply::Opened { size_bytes: 0 }.fds_expected(), 1);
        assert_eq!(ZygoteReply::Created { pid: 1 }.fds_expected(), 2);
    }
}
