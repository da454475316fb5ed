//! The go-judge `POST /run` request model: parsing, validation and limits.
//!
//! [`Request::parse`] takes a body and returns a validated [`Request`] or a [`RequestError`]
//! whose `Display` is the JSON-string body go-judge clients expect. Three stages:
//!
//! ```text
//! bytes ──json::parse──► sonic Value ──wire::decode──► WireRequest ──validate──► Request
//!        (syntax, EOF)             (Go encoding/json rules)      (go-judge ConvertRequest rules,
//!                                                                 limits, -src-prefix, pipes)
//! ```
//!
//! After validation every command has its files resolved into [`CmdFile`] slots (`None` only
//! where a pipe mapping fills it: never after `parse` returns), its limits in named units, its
//! copy-in entries as [`CopyIn`] and its copy-outs with the `?` suffix parsed. Pipe mappings are
//! checked (indices, occupied slots, unfilled `null`s) here rather than at run time, with
//! go-judge's messages and statuses.
//!
//! What this module does not do: it never touches containers or the file store (an unknown
//! `fileId` is found at run time), and it opens no host file (`src` is only checked against the
//! `-src-prefix` list, which resolves symlinks).
//!
//! ```
//! use shardbox_sandbox::model::{ParseOptions, Request};
//! let body = br#"{"cmd":[{"args":["/bin/echo","hi"],"env":["PATH=/bin"],
//!     "files":[{"content":""},{"name":"stdout","max":1024},{"name":"stderr","max":1024}],
//!     "cpuLimit":1000000000,"memoryLimit":104857600,"procLimit":50}]}"#;
//! let req = Request::parse(body, &ParseOptions::default()).unwrap();
//! assert_eq!(req.cmds[0].args, ["/bin/echo", "hi"]);
//! ```

mod json;
mod validate;
mod wire;

use std::path::PathBuf;

pub use json::JsonError;

pub use crate::limits::COPY_OUT_BYTES_DEFAULT;
use crate::limits::REQUEST_BYTES_MAX;

/// Server-side settings that change how a request is validated.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// `-src-prefix`: when non-empty, every `src` must resolve (symlinks followed) under one of
    /// these directories.
    pub src_prefixes: Vec<PathBuf>,
    /// `-copy-out-limit`: the copy-out cap of commands whose `copyOutMax` is 0, in bytes.
    pub copy_out_bytes_default: u64,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self { src_prefixes: Vec::new(), copy_out_bytes_default: COPY_OUT_BYTES_DEFAULT }
    }
}

impl ParseOptions {
    /// Options with `prefixes` as the `-src-prefix` list, each resolved to its canonical path
    /// when it exists (so a prefix given through a symlink still matches).
    pub fn with_src_prefixes(mut self, prefixes: impl IntoIterator<Item = PathBuf>) -> Self {
        self.src_prefixes =
            prefixes.into_iter().map(|p| std::fs::canonicalize(&p).unwrap_or(p)).collect();
        self
    }
}

/// A validated `POST /run` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `requestId`, echoed by the WebSocket API and ignored by `/run`.
    pub request_id: String,
    /// The commands, run concurrently; results come back in this order. Never empty.
    pub cmds: Vec<Cmd>,
    /// Pipes between commands. Empty for a single command (go-judge ignores `pipeMapping` then).
    pub pipes: Vec<PipeMap>,
    /// Most bytes the whole request keeps in memory from its programs' outputs, all commands
    /// together (the server's `-copy-out-limit`): collectors (`pipe: true` ones while the
    /// program runs), proxy captures and inline `copyOut` files (`run::plumbing::Budget`).
    /// `copyOutMax` and a collector's `max` bound one output only, and a request can name
    /// many (up to 64 collectors per command; sparse files and hard links make large
    /// `copyOut` files out of nothing): every byte is held in memory and grows up to six times
    /// as a JSON string. go-judge has no such total.
    pub copy_out_total_bytes_max: u64,
    /// The `-src-prefix` list (canonical paths; empty: any `src`). Checked when the request is
    /// parsed, and again on the file each `src` actually opened: a symlink swapped in between
    /// cannot lead outside.
    pub src_prefixes: Vec<PathBuf>,
}

/// One command of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    /// argv; never empty, no NUL bytes. `args[0]` is resolved inside the container.
    pub args: Vec<String>,
    /// The exact environment (nothing is inherited).
    pub env: Vec<String>,
    /// `files[i]` is the child's fd `i`; fds past the end are closed. After [`Request::parse`]
    /// every slot is `Some`, including those filled by pipe mappings ([`CmdFile::Pipe`]).
    pub files: Vec<Option<CmdFile>>,
    /// Give the program a terminal for its collector fds.
    pub tty: bool,
    /// CPU time limit, ns. 0 is not "unlimited": the program exceeds it at once (as in go-judge).
    pub cpu_limit_ns: u64,
    /// Wall-clock limit as requested, ns (`realCpuLimit` overrides `clockLimit` when > 0).
    /// 0 means "use the CPU limit"; see [`Cmd::wall_limit_ns`].
    pub clock_limit_ns: u64,
    /// Memory limit, bytes.
    pub memory_limit_bytes: u64,
    /// `RLIMIT_STACK`, bytes; 0 leaves the default.
    pub stack_limit_bytes: u64,
    /// Maximum tasks (processes plus threads), cgroup `pids.max`.
    pub proc_limit: u64,
    /// CPU bandwidth, 1000 = one CPU; 0 = unlimited. Applied only when the server enables it.
    pub cpu_rate_limit: u64,
    /// cgroup `cpuset.cpus`, e.g. `"0-1"`; empty = inherit.
    pub cpu_set_limit: String,
    /// Also set `RLIMIT_DATA` to the memory limit (`dataSegmentLimit` or `strictMemoryLimit`).
    pub data_segment_limit: bool,
    /// Also set `RLIMIT_AS` to the memory limit.
    pub address_space_limit: bool,
    /// Files and symlinks created before the program starts, sorted by container path (files
    /// are written first, then symlinks, as go-judge does).
    pub copy_in: Vec<(String, CopyIn)>,
    /// Files returned inline in the result's `files`.
    pub copy_out: Vec<CopyOut>,
    /// Files stored in the file store, ids returned in the result's `fileIds`.
    pub copy_out_cached: Vec<CopyOut>,
    /// Per-file copy-out cap, bytes (the server default when the request gave 0).
    pub copy_out_max_bytes: u64,
    /// Return the first `copy_out_max_bytes` of an over-size file (still a file error).
    pub copy_out_truncate: bool,
}

impl Cmd {
    /// The wall-clock limit that is enforced: the requested one, or the CPU limit when none was
    /// requested (go-judge's waiter does the same).
    pub fn wall_limit_ns(&self) -> u64 {
        if self.clock_limit_ns > 0 { self.clock_limit_ns } else { self.cpu_limit_ns }
    }
}

/// Input data for an fd or a copy-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputFile {
    /// `{"src": path}`: a file on the host, opened read-only by the server.
    Host(PathBuf),
    /// `{"content": text}`: bytes given inline.
    Memory(Vec<u8>),
    /// `{"fileId": id}`: a file of the file store.
    Cached(String),
}

/// What one fd of a command is connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdFile {
    /// Read from input data.
    Input(InputFile),
    /// Captured output returned under a name.
    Collector(Collector),
    /// One end of `pipes[index]` (filled in from `pipeMapping`).
    Pipe(usize),
}

/// `{"name": n, "max": m, "pipe": p}`: output captured and returned as `files[name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collector {
    /// Key in the result's `files` (and file name under `/w` when not a pipe).
    pub name: String,
    /// Bytes kept; more is an Output Limit Exceeded (when the program exited 0).
    pub max_bytes: u64,
    /// Collect through a host pipe instead of a file in the container's `/w`.
    pub pipe: bool,
}

/// One `copyIn` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyIn {
    /// A file written (mode 0777, parents created) before the program starts.
    File(InputFile),
    /// `{"symlink": target}`: a symlink `path -> target`.
    Symlink(String),
}

/// One `copyOut`/`copyOutCached` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOut {
    /// Container path (relative to `/w`), without the `?` suffix.
    pub name: String,
    /// The entry ended with `?`: a missing or unreadable file is silently skipped.
    pub optional: bool,
}

/// One end of a pipe: command `cmd`, its fd `fd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipeEnd {
    /// Index into [`Request::cmds`].
    pub cmd: usize,
    /// The child's fd.
    pub fd: usize,
}

/// One `pipeMapping` entry: `writer` (go-judge's `in`) writes, `reader` (`out`) reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipeMap {
    /// The writing end (`in`), e.g. a program's stdout.
    pub writer: PipeEnd,
    /// The reading end (`out`), e.g. the other program's stdin.
    pub reader: PipeEnd,
    /// Relay through the server, draining when the reader exits.
    pub proxy: bool,
    /// With `proxy`: capture the first bytes relayed under this name in the writer's result.
    pub capture: Option<Capture>,
    /// Relay with read/write copies instead of splice.
    pub disable_zero_copy: bool,
}

/// A proxy's capture of relayed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// Key in the writer's result `files`.
    pub name: String,
    /// Bytes kept; the rest is relayed but not kept (no Output Limit Exceeded).
    pub max_bytes: u64,
}

/// Where in a request a problem is, for messages (`cmd[0].files[1]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site(pub String);

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a `POST /run` body is rejected. `Display` is the message the HTTP body carries;
/// `docs/api/run.md` lists the status of each variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The body exceeds [`REQUEST_BYTES_MAX`] (HTTP 413).
    #[error("request body is {len} bytes, more than the limit of {max}")]
    BodyTooLarge {
        /// Body length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not JSON, or a value of the wrong type (HTTP 400).
    #[error("{0}")]
    Json(#[from] JsonError),
    /// `cmd` missing, `null` or empty (HTTP 400).
    #[error("no cmd provided")]
    NoCmd,
    /// A count or size limit is exceeded (HTTP 400).
    #[error("{site}: {what} is {len}, more than the limit of {max}")]
    LimitExceeded {
        /// Where.
        site: Site,
        /// Which quantity (`argv entries`, `bytes`, ...).
        what: &'static str,
        /// The value found.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `args` is empty (HTTP 400; go-judge answers Internal Error).
    #[error("{0}.args is empty: a command needs at least a program name")]
    EmptyArgs(Site),
    /// A string that becomes a C string (argv, env, path, name) contains a NUL byte (HTTP 400).
    #[error("{0} contains a NUL byte")]
    NulByte(Site),
    /// A path or name that must not be empty is (HTTP 400).
    #[error("{0} is empty")]
    EmptyName(Site),
    /// `cpuSetLimit` is not a CPU list like `0-3,8` (HTTP 400; go-judge fails the run when the
    /// cgroup refuses it).
    #[error("{0} is not a CPU list like \"0-3,8\"")]
    BadCpuSet(Site),
    /// A collector or capture name is not a single file name (HTTP 400).
    #[error("{0}: a collector name must be a file name without '/' and not '.' or '..'")]
    BadName(Site),
    /// A file object has no usable kind (HTTP 400).
    #[error(
        "file type is not valid for {0}: expected one of \"src\", \"content\", \"fileId\" or \
         \"name\" with \"max\""
    )]
    InvalidFile(Site),
    /// A stream file (`streamIn`/`streamOut`) is used on `/run` (HTTP 400).
    #[error("file type is not valid for {0}: stream files are only valid on /stream")]
    StreamFile(Site),
    /// A collector inside `copyIn` (HTTP 400).
    #[error(
        "file type is not valid for {0}: copyIn takes \"src\", \"content\", \"fileId\" or \"symlink\""
    )]
    CollectorInCopyIn(Site),
    /// A negative `max` (HTTP 400).
    #[error("{0}.max is negative")]
    NegativeMax(Site),
    /// `src` is outside every `-src-prefix` (HTTP 400).
    #[error("file ({src}) does not under ({prefixes})")]
    SrcOutsidePrefix {
        /// The `src` as given.
        src: String,
        /// The prefix list, formatted as Go formats a `[]string`.
        prefixes: String,
    },
    /// `src` could not be resolved while checking `-src-prefix` (HTTP 400).
    #[error("file ({src}): {reason}")]
    SrcResolve {
        /// The `src` as given.
        src: String,
        /// The resolution error.
        reason: String,
    },
    /// A pipe mapping names a command that does not exist (HTTP 500, as go-judge).
    #[error("pipe: index out of range {0}")]
    PipeIndexOutOfRange(i64),
    /// A pipe mapping names a negative fd (HTTP 500, as go-judge's out-of-range).
    #[error("pipe: fd out of range {0}")]
    PipeFdOutOfRange(i64),
    /// A pipe mapping targets a slot that already has a file (HTTP 500, as go-judge).
    #[error("pipe: fd already occupied {cmd} {fd}")]
    FdOccupied {
        /// Command index.
        cmd: usize,
        /// fd.
        fd: usize,
    },
    /// A `null` file slot that no pipe mapping fills (HTTP 500, as go-judge).
    #[error("null file for index/fd: {cmd}/{fd}")]
    NullFile {
        /// Command index.
        cmd: usize,
        /// fd.
        fd: usize,
    },
}

impl Request {
    /// Parses and validates a `POST /run` body.
    pub fn parse(body: &[u8], opts: &ParseOptions) -> Result<Self, RequestError> {
        if body.len() > REQUEST_BYTES_MAX {
            return Err(RequestError::BodyTooLarge { len: body.len(), max: REQUEST_BYTES_MAX });
        }
        let doc = json::parse(body)?;
        let wire = wire::decode(&doc)?;
        drop(doc);
        validate::request(wire, opts)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
