//! Errors of the host-side container handle: [`ContainerError`] (what a caller of
//! [`Container`](super::Container) gets) and [`BrokenReason`] (why a container must be
//! destroyed), with the go-judge wording of start failures. Plain types; nothing here does I/O.

use std::io;

use crate::cgroup::CgroupError;
use crate::protocol::{ExecStep, ProtocolError, Step};
use crate::sys;

/// Why a container operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// The container is dead or misbehaved (socket error, timeout, bad reply); it must be
    /// destroyed. go-judge: `Internal Error`.
    #[error("container broken: {0}")]
    Broken(#[from] BrokenReason),
    /// A file operation inside the container failed (the container stays usable).
    #[error("{step:?} {path}: {}", sys::errno_text(*errno))]
    File {
        /// Which step.
        step: Step,
        /// The container path.
        path: String,
        /// errno.
        errno: i32,
    },
    /// Copy-out of something that is not a regular file (symlink, dir, fifo, device).
    #[error("{path} is not a regular file")]
    NotRegular {
        /// The container path.
        path: String,
    },
    /// Writing copy-in content failed (e.g. ENOSPC on the tmpfs).
    #[error("copy {path}: {source}")]
    Copy {
        /// The container path.
        path: String,
        /// Cause.
        source: io::Error,
    },
    /// The program could not be started (go-judge: `Internal Error` with this text).
    #[error("{}", exec_error_text(*step, *errno, args0))]
    Exec {
        /// Which step.
        step: ExecStep,
        /// errno (0 for lookups).
        errno: i32,
        /// `argv[0]` as given.
        args0: String,
    },
    /// The request is too large for the protocol (too many fds, args, bytes).
    #[error("request too large: {0}")]
    TooLarge(&'static str),
    /// Writing limits to or reading counters from the cgroup failed.
    #[error("cgroup: {0}")]
    Cgroup(#[from] CgroupError),
}

impl ContainerError {
    /// The text an API caller may see. Failures about the caller's own paths inside the
    /// container and start failures keep their go-judge wording; a broken container or a cgroup
    /// failure says what failed without the host's cgroup directories, pids or the
    /// container's internal replies ([`Display`](std::fmt::Display) keeps those for the log).
    pub fn caller_text(&self) -> String {
        match self {
            ContainerError::Broken(why) => format!("container broken: {}", why.caller_text()),
            ContainerError::Cgroup(e) => format!("cgroup: {}", e.caller_text()),
            ContainerError::File { .. }
            | ContainerError::NotRegular { .. }
            | ContainerError::Copy { .. }
            | ContainerError::Exec { .. }
            | ContainerError::TooLarge(_) => self.to_string(),
        }
    }
}

/// go-judge-like messages for start failures (§1.6).
fn exec_error_text(step: ExecStep, errno: i32, args0: &str) -> String {
    match step {
        ExecStep::NoArgs => "execve: no args".to_string(),
        ExecStep::NoPath => {
            format!("execve: handle: {args0}: no PATH environment variable provided for look up")
        }
        ExecStep::NotFound => {
            format!("execve: handle: {args0}: executable file not found in $PATH")
        }
        ExecStep::Execve => format!("execve: start: {args0}: execve: {}", errno_lower(errno)),
        other => format!("execve: start: {args0}: {other:?}: {}", errno_lower(errno)),
    }
}

fn errno_lower(errno: i32) -> String {
    let t = sys::errno_text(errno);
    // "No such file or directory (os error 2)" → "no such file or directory"
    let t = t.split(" (os error").next().unwrap_or(&t).to_string();
    let mut c = t.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

/// Why a container is broken.
#[derive(Debug, thiserror::Error)]
pub enum BrokenReason {
    /// Socket error.
    #[error("socket: {0}")]
    Io(io::Error),
    /// The init closed the socket (it died).
    #[error("init exited")]
    Closed,
    /// No answer in time.
    #[error("no answer within {ms} ms")]
    Timeout {
        /// How long we waited.
        ms: u64,
    },
    /// Undecodable reply.
    #[error("protocol: {0}")]
    Protocol(#[from] ProtocolError),
    /// A reply that does not fit the request, or the wrong number of fds.
    #[error("unexpected reply {0}")]
    Unexpected(String),
    /// The init reported a failure of its own (setup, kill, wipe).
    #[error("init failed at {step:?}: {}", sys::errno_text(*errno))]
    Init {
        /// Step.
        step: Step,
        /// errno.
        errno: i32,
    },
    /// The cgroup had tasks when it must have none: after the reset's kill, or after the init
    /// attached it (who: `Cgroup::members_report`).
    #[error("cgroup not empty: {0}")]
    CgroupNotEmpty(String),
    /// An earlier operation broke it.
    #[error("used after a failure")]
    Poisoned,
}

impl BrokenReason {
    /// The text an API caller may see: who is left in a cgroup (host pids and their
    /// `/proc` status) and undecodable replies stay in the server's log.
    pub fn caller_text(&self) -> String {
        match self {
            BrokenReason::CgroupNotEmpty(_) => "cgroup not empty".to_owned(),
            BrokenReason::Unexpected(_) => "unexpected reply from the container".to_owned(),
            BrokenReason::Io(_)
            | BrokenReason::Closed
            | BrokenReason::Timeout { .. }
            | BrokenReason::Protocol(_)
            | BrokenReason::Init { .. }
            | BrokenReason::Poisoned => self.to_string(),
        }
    }
}
