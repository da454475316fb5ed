//! How a failure reads to an API caller: the `error` of a `/run` result and the body of an
//! HTTP error, without host details.
//!
//! Library errors ([`RunError`], [`ContainerError`], `CgroupError`, `PoolError`,
//! `StoreError`) keep the full story in their [`Display`](std::fmt::Display): cgroup
//! directories (which name the server's own cgroup, its pid and the container), `/proc/<pid>`
//! reports, the `-dir` store's paths. That is for the server's log. What a caller sees comes
//! from each one's `caller_text`: the step and the cause, go-judge's wording where the contract
//! gives one (`execve: handle: ...`, `open <name>: no such file or directory`), the caller's
//! own paths (copy-in and copy-out names, a `files[]` `src`) but nothing of the host's.
//! `for_caller` logs the full text whenever the caller's is shorter.
//!
//! `execution` also decides which start failures are the run's memory limit (reference
//! §1.4, go-judge#186): cgroup v1 refusing a limit below what the cgroup holds already (EBUSY),
//! or a step after joining the cgroup running out of memory there; both read
//! [`memory_too_small_text`], so v1 and v2 give the same answer. What it does not do: decide
//! statuses ([`crate::status::decide`] does, from [`Execution`]).

use crate::container::ContainerError;
use crate::exec::ExecOutcome;
use crate::status::{self, Execution};

use super::RunError;
use super::files::ResolveError;

impl RunError {
    /// The text an API caller may see (the HTTP error body): go-judge's wording, without host
    /// details such as cgroup directories, pids or the `-dir` store's paths. A `files[]` `src`
    /// is the caller's own path and stays. [`Display`](std::fmt::Display) keeps everything, for
    /// the server's log.
    pub fn caller_text(&self) -> String {
        match self {
            RunError::Resolve(ResolveError::UnknownFileId(e)) => e.caller_text(),
            RunError::Busy(e) => format!("all containers are busy: {}", e.caller_text()),
            RunError::Collector { name, source } => {
                format!("container: {name}: {}", source.caller_text())
            }
            RunError::TooManyCmds { .. }
            | RunError::Resolve(ResolveError::OpenSrc { .. })
            | RunError::Io { .. } => self.to_string(),
        }
    }
}

/// `caller`, the text an API caller gets for a failure; when it leaves out details that
/// `full` has, `full` goes to the server's log (warn: a server-side failure an operator should
/// see).
pub(crate) fn for_caller(caller: String, full: &dyn std::fmt::Display, what: &str) -> String {
    let full = full.to_string();
    if full != caller {
        tracing::warn!(error = %full, reported = %caller, "{what}");
    }
    caller
}

/// What happened when a command's program was started. `memory_limit_bytes` is the
/// command's requested `memoryLimit`, for the text of a limit the cgroup refused.
pub(super) fn execution(
    r: Result<ExecOutcome, ContainerError>,
    memory_limit_bytes: u64,
) -> Execution {
    match r {
        Ok(o) => Execution::Finished(o),
        // The memory limit is below what the container's cgroup already holds: cgroup v1
        // refuses the write, so the program cannot start inside it (go-judge#186: report a
        // memory problem). cgroup v2 takes such a limit; the program then fails to start or
        // is OOM-killed, both Memory Limit Exceeded too. The caller learns the limit was too
        // small; the log gets the cgroup file.
        Err(ContainerError::Cgroup(e)) if e.is_memory_limit_below_usage() => {
            tracing::debug!(error = %e, "memory limit below the container's usage");
            Execution::StartFailed {
                message: memory_too_small_text(memory_limit_bytes),
                out_of_memory: true,
            }
        }
        // The same answer when the kernel took the limit and the program could not start
        // under it (on v2 always, on v1 when reclaim got the cgroup under it).
        Err(e) if start_out_of_memory(&e) => {
            tracing::debug!(error = %e, "a program could not start under its memory limit");
            Execution::StartFailed {
                message: memory_too_small_text(memory_limit_bytes),
                out_of_memory: true,
            }
        }
        Err(e) => {
            let message = for_caller(e.caller_text(), &e, "a program could not start");
            Execution::StartFailed { message, out_of_memory: false }
        }
    }
}

/// Whether a program failed to start for want of memory under its limit: a step after it
/// joined its cgroup (where its allocations are charged: the seccomp filter, execve) failed
/// with `ENOMEM`, or execve failed with `E2BIG`, which the kernel returns when it cannot get
/// the pages for argv and env; shardbox bounds those far below the kernel's own size limit
/// (`ARGV_ENV_BYTES_MAX`, asserted in `limits.rs`), so `E2BIG` cannot mean they are too long.
fn start_out_of_memory(e: &ContainerError) -> bool {
    match e {
        ContainerError::Exec { step, errno, .. } if step.is_in_cgroup() => {
            *errno == status::ENOMEM
                || (*step == crate::protocol::ExecStep::Execve && *errno == status::E2BIG)
        }
        _ => false,
    }
}

/// The `error` of a run whose memory limit is below what its container needs to start the
/// program (the same on cgroup v1 and v2, whichever step found it out).
pub fn memory_too_small_text(memory_limit_bytes: u64) -> String {
    format!(
        "memory limit of {memory_limit_bytes} bytes is below what the container needs to start \
         the program"
    )
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::path::PathBuf;

    use super::*;
    use crate::cgroup::CgroupError;
    use crate::container::BrokenReason;
    use crate::filestore::StoreError;
    use crate::protocol::ExecStep;

    const HOST_DIR: &str = "/sys/fs/cgroup/memory/x/shardbox/22303-4185445-0/c0-0";

    fn write_error(file: &str, errno: i32) -> CgroupError {
        CgroupError::Write {
            path: PathBuf::from(HOST_DIR).join(file),
            value: "16384".into(),
            source: io::Error::from_raw_os_error(errno),
        }
    }

    fn start_failed(e: ContainerError) -> (String, bool) {
        match execution(Err(e), 0) {
            Execution::StartFailed { message, out_of_memory } => (message, out_of_memory),
            other => panic!("not a start failure: {other:?}"),
        }
    }

    #[test]
    fn a_memory_limit_v1_refuses_reads_as_the_limit_without_the_cgroup() {
        let e = ContainerError::Cgroup(write_error("memory.limit_in_bytes", 16));
        assert!(e.to_string().contains(HOST_DIR), "the log keeps it: {e}");
        let (message, oom) = start_failed(e);
        assert_eq!(message, memory_too_small_text(0));
        assert_eq!(
            message,
            "memory limit of 0 bytes is below what the container needs to start the program"
        );
        assert!(oom);
    }

    #[test]
    fn running_out_of_memory_after_joining_the_cgroup_is_the_memory_limit() {
        for (step, errno, oom) in [
            (ExecStep::Execve, status::ENOMEM, true),
            (ExecStep::Seccomp, status::ENOMEM, true),
            (ExecStep::Credentials, status::ENOMEM, true),
            (ExecStep::Execve, status::E2BIG, true),
            // Before the program joined its cgroup nothing was charged to its limit.
            (ExecStep::Cgroup, status::ENOMEM, false),
            (ExecStep::Seccomp, status::E2BIG, false),
            (ExecStep::Execve, 2, false),
        ] {
            let e = ContainerError::Exec { step, errno, args0: "/bin/true".into() };
            let text = e.to_string();
            let (message, got) = start_failed(e);
            assert_eq!(got, oom, "{step:?} {errno}");
            let want = if oom { memory_too_small_text(0) } else { text };
            assert_eq!(message, want, "{step:?} {errno}");
        }
    }

    #[test]
    fn start_failures_keep_go_judges_texts() {
        let e = ContainerError::Exec { step: ExecStep::NotFound, errno: 0, args0: "gcc".into() };
        let (message, oom) = start_failed(e);
        assert_eq!(message, "execve: handle: gcc: executable file not found in $PATH");
        assert!(!oom);
        let e = ContainerError::Exec { step: ExecStep::Execve, errno: 2, args0: "/x".into() };
        assert_eq!(start_failed(e).0, "execve: start: /x: execve: no such file or directory");
    }

    #[test]
    fn other_cgroup_and_container_failures_leave_out_host_details() {
        // Another refused write (not the memory limit): the step and the file's name only.
        let (message, oom) = start_failed(ContainerError::Cgroup(write_error("pids.max", 16)));
        assert_eq!(
            message,
            r#"cgroup: write "16384" to pids.max: Device or resource busy (os error 16)"#
        );
        assert!(!oom);
        let open = CgroupError::Open {
            path: PathBuf::from(HOST_DIR).join("tasks"),
            source: io::Error::from_raw_os_error(2),
        };
        assert_eq!(
            start_failed(ContainerError::Cgroup(open)).0,
            "cgroup: open tasks: No such file or directory (os error 2)"
        );
        let mkdir = CgroupError::Mkdir {
            path: PathBuf::from(HOST_DIR),
            source: io::Error::from_raw_os_error(13),
        };
        assert_eq!(mkdir.caller_text(), "mkdir: Permission denied (os error 13)");
        // Who is left in a cgroup names host pids and their /proc status.
        let who = format!("[memory {HOST_DIR}: pid 4242 {{Name: sh}}] pids.current 1");
        let e = ContainerError::Broken(BrokenReason::CgroupNotEmpty(who));
        assert_eq!(start_failed(e).0, "container broken: cgroup not empty");
        let e = ContainerError::Broken(BrokenReason::Unexpected("Opened { fd: 7 }".into()));
        assert_eq!(start_failed(e).0, "container broken: unexpected reply from the container");
        let e = ContainerError::Broken(BrokenReason::Timeout { ms: 5000 });
        assert_eq!(start_failed(e).0, "container broken: no answer within 5000 ms");
    }

    #[test]
    fn run_errors_leave_out_the_store_directory_and_the_cgroup() {
        let io = StoreError::Io {
            op: "open",
            path: "/var/lib/judge/files/5LWIZAA4".into(),
            source: io::Error::from_raw_os_error(2),
        };
        let e = RunError::Resolve(ResolveError::UnknownFileId(io));
        assert!(e.to_string().contains("/var/lib/judge"), "the log keeps it: {e}");
        assert_eq!(e.caller_text(), "file store open: No such file or directory (os error 2)");
        let e = RunError::Resolve(ResolveError::UnknownFileId(StoreError::NotFound("AB".into())));
        assert_eq!(e.caller_text(), r#"file does not exists with id: "AB""#);
        let e = RunError::Collector {
            name: "stdout".into(),
            source: ContainerError::Cgroup(write_error("memory.limit_in_bytes", 16)),
        };
        assert!(!e.caller_text().contains(HOST_DIR), "{}", e.caller_text());
        assert!(e.caller_text().starts_with("container: stdout: cgroup: write"));
        // A files[] src is the caller's own path: kept, as go-judge does.
        let e = RunError::Resolve(ResolveError::OpenSrc {
            path: "/nonexistent/y".into(),
            source: io::Error::from_raw_os_error(2),
        });
        assert_eq!(e.caller_text(), "open file /nonexistent/y: no such file or directory");
    }
}
