//! go-judge result statuses and the rule that picks one for a finished command.
//!
//! [`decide`] is a pure function: it takes what happened to one command ([`Execution`]: copy-in
//! failed, start failed, or the container layer's [`ExecOutcome`]), the command's [`Limits`] and
//! what collecting its files found ([`FileOutcome`]), and returns a [`Verdict`] (status,
//! `exitStatus`, `error`). It follows go-judge's decision order (reference §1.4):
//!
//! ```text
//! 1 copy-in failed ───────────────────────────► File Error (program not run)
//! 2 start failed ─────────────────────────────► Internal Error (out of memory: Memory Limit Exceeded)
//! 3 exit 0 → Accepted; exit c → Nonzero Exit Status/c;
//!   signal s → by the limit the container enforced, else by signal (below); exitStatus = s
//! 4 only after exit 0: collector overflow → Output Limit Exceeded, else copy-out error → File Error
//! 5 cpu time > cpuLimit ──────────────────────► Time Limit Exceeded
//! 6 peak memory > memoryLimit ────────────────► Memory Limit Exceeded
//! 7 TLE, exitStatus ≠ 0, time < cpuLimit, runTime < wall limit, no wall kill ─► Signalled
//! 8 storing copyOutCached failed ─────────────► File Error
//! ```
//!
//! Signals in step 3: killed for the memory limit (the cgroup OOM-killed) → MLE; for the CPU
//! limit (timer kill, SIGXCPU) or the wall limit → TLE; SIGXCPU → TLE, SIGXFSZ → OLE, SIGSYS →
//! Dangerous Syscall; any other signal, SIGKILL included → Signalled. go-judge cannot tell who
//! sent a SIGKILL, so it calls every SIGKILL a TLE and relies on step 7 to turn it back into
//! Signalled — only when a `clockLimit` was given, so there `kill -9 $$` without `clockLimit`
//! is a TLE. shardbox knows which limit it enforced, so a SIGKILL nobody sent for a limit is
//! Signalled, and step 7 compares with the wall limit actually enforced (the CPU limit when no
//! `clockLimit` is given). Both are listed in `docs/compatibility.md`.

use crate::exec::ExecOutcome;
use crate::protocol::WaitStatus;

/// A go-judge result status. [`Status::as_str`] is the exact JSON string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Exited 0 within every limit.
    Accepted,
    /// Peak memory over the limit, or killed by the memory cgroup.
    MemoryLimitExceeded,
    /// CPU time or wall time over the limit.
    TimeLimitExceeded,
    /// A collector overflowed (after exit 0) or the program hit `RLIMIT_FSIZE`.
    OutputLimitExceeded,
    /// Copy-in failed (program not run), or copy-out failed after exit 0.
    FileError,
    /// Exited with a non-zero code.
    NonzeroExitStatus,
    /// Killed by a signal that no limit explains.
    Signalled,
    /// Killed by the seccomp filter (SIGSYS).
    DangerousSyscall,
    /// The program could not be started, or the server failed.
    InternalError,
}

impl Status {
    /// Every status, in go-judge's numbering order.
    pub const ALL: [Status; 9] = [
        Status::Accepted,
        Status::MemoryLimitExceeded,
        Status::TimeLimitExceeded,
        Status::OutputLimitExceeded,
        Status::FileError,
        Status::NonzeroExitStatus,
        Status::Signalled,
        Status::DangerousSyscall,
        Status::InternalError,
    ];

    /// The exact string go-judge puts in `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Accepted => "Accepted",
            Status::MemoryLimitExceeded => "Memory Limit Exceeded",
            Status::TimeLimitExceeded => "Time Limit Exceeded",
            Status::OutputLimitExceeded => "Output Limit Exceeded",
            Status::FileError => "File Error",
            Status::NonzeroExitStatus => "Nonzero Exit Status",
            Status::Signalled => "Signalled",
            Status::DangerousSyscall => "Dangerous Syscall",
            Status::InternalError => "Internal Error",
        }
    }

    /// The status named by `s` (exact, case-sensitive), if any.
    pub fn from_name(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to one command, as the orchestration saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Execution {
    /// Copy-in or symlink creation failed; the program did not run.
    CopyInFailed {
        /// The first failure's message.
        message: String,
    },
    /// The program could not be started (not found, not executable, container failure).
    StartFailed {
        /// What failed.
        message: String,
        /// It failed for want of memory under the run's limit (the limit was below what the
        /// container holds, or a step after joining the cgroup could not allocate).
        out_of_memory: bool,
    },
    /// The program ran; the container layer's report.
    Finished(ExecOutcome),
}

/// The limits of the command that the status rule compares against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// CPU time limit, ns.
    pub cpu_limit_ns: u64,
    /// Wall-clock limit enforced, ns (the requested `clockLimit`, or the CPU limit without one).
    pub wall_limit_ns: u64,
    /// Memory limit as requested, bytes (the cgroup allows `-extra-memory-limit` more).
    pub memory_limit_bytes: u64,
}

/// What collecting output and copy-out found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileOutcome<'a> {
    /// A collector received more than its `max`.
    pub collector_overflow: bool,
    /// Message of the first copy-out error, if any.
    pub copy_out_error: Option<&'a str>,
    /// Message of a failure to store a `copyOutCached` file, if any.
    pub cache_error: Option<&'a str>,
}

/// The status, `exitStatus` and `error` of one result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `status`.
    pub status: Status,
    /// `exitStatus`: the exit code, or the signal number.
    pub exit_status: i32,
    /// `error` (omitted from JSON when empty).
    pub error: String,
}

/// `SIGXCPU`: `RLIMIT_CPU` exceeded.
pub const SIGXCPU: i32 = 24;
/// `SIGXFSZ`: `RLIMIT_FSIZE` exceeded.
pub const SIGXFSZ: i32 = 25;
/// `SIGSYS`: killed by the seccomp filter.
pub const SIGSYS: i32 = 31;
/// `ENOMEM`.
pub const ENOMEM: i32 = 12;
/// `E2BIG`.
pub const E2BIG: i32 = 7;

/// The output limit error text go-judge uses.
pub const OUTPUT_LIMIT_MESSAGE: &str = "Output Limit Exceeded";

/// Step 3: the status a finished run gets from how it ended, and its `exitStatus`.
fn runner_status(o: &ExecOutcome) -> (Status, i32) {
    match o.status {
        WaitStatus::Exited(0) => (Status::Accepted, 0),
        WaitStatus::Exited(code) => (Status::NonzeroExitStatus, code),
        WaitStatus::Signalled(sig) => {
            let status = if o.memory_limit_hit {
                Status::MemoryLimitExceeded
            } else if o.cpu_limit_hit || o.wall_limit_hit || sig == SIGXCPU {
                Status::TimeLimitExceeded
            } else if sig == SIGXFSZ {
                Status::OutputLimitExceeded
            } else if sig == SIGSYS {
                Status::DangerousSyscall
            } else {
                Status::Signalled
            };
            (status, sig)
        }
    }
}

/// Picks the status of one command; see the module documentation for the order.
pub fn decide(limits: &Limits, execution: &Execution, files: &FileOutcome<'_>) -> Verdict {
    let o = match execution {
        Execution::CopyInFailed { message } => {
            return Verdict { status: Status::FileError, exit_status: 0, error: message.clone() };
        }
        Execution::StartFailed { message, out_of_memory } => {
            // go-judge#186: a program that cannot even start inside its memory limit is a
            // memory problem, not a server error.
            let status =
                if *out_of_memory { Status::MemoryLimitExceeded } else { Status::InternalError };
            return Verdict { status, exit_status: 0, error: message.clone() };
        }
        Execution::Finished(o) => o,
    };
    let (mut status, exit_status) = runner_status(o);
    let mut error = String::new();
    if o.status == WaitStatus::Exited(0) {
        if files.collector_overflow {
            status = Status::OutputLimitExceeded;
            OUTPUT_LIMIT_MESSAGE.clone_into(&mut error);
        } else if let Some(message) = files.copy_out_error {
            status = Status::FileError;
            message.clone_into(&mut error);
        }
    }
    if o.cpu_time_ns > limits.cpu_limit_ns {
        status = Status::TimeLimitExceeded;
    }
    if o.memory_peak_bytes > limits.memory_limit_bytes {
        status = Status::MemoryLimitExceeded;
    }
    if status == Status::TimeLimitExceeded
        && exit_status != 0
        && o.cpu_time_ns < limits.cpu_limit_ns
        && o.wall_time_ns < limits.wall_limit_ns
        && !o.wall_limit_hit
    {
        status = Status::Signalled;
    }
    if let Some(message) = files.cache_error {
        status = Status::FileError;
        message.clone_into(&mut error);
    }
    Verdict { status, exit_status, error }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits =
        Limits { cpu_limit_ns: 1_000, wall_limit_ns: 3_000, memory_limit_bytes: 1_000 };

    /// A run that ended with `status`, using 10 of everything and hitting no limit.
    fn out(status: WaitStatus) -> ExecOutcome {
        ExecOutcome {
            status,
            cpu_time_ns: 10,
            memory_peak_bytes: 10,
            wall_time_ns: 10,
            cpu_limit_hit: false,
            wall_limit_hit: false,
            memory_limit_hit: false,
            cancelled: false,
            proc_peak: None,
        }
    }

    #[test]
    fn status_strings_are_exact_and_round_trip() {
        let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "Accepted",
                "Memory Limit Exceeded",
                "Time Limit Exceeded",
                "Output Limit Exceeded",
                "File Error",
                "Nonzero Exit Status",
                "Signalled",
                "Dangerous Syscall",
                "Internal Error",
            ]
        );
        for s in Status::ALL {
            assert_eq!(Status::from_name(s.as_str()), Some(s));
            assert_eq!(s.to_string(), s.as_str());
        }
        // go-judge model_test.go: an unknown status string is rejected.
        assert_eq!(Status::from_name("not_a_status"), None);
        assert_eq!(Status::from_name("Non Zero Exit Status"), None, "the README's spelling");
        assert_eq!(Status::from_name("accepted"), None);
    }

    /// Every branch of the rule, one row each: (name, execution, files, status, exitStatus,
    /// error).
    #[test]
    #[rustfmt::skip]
    fn decision_table() {
        use Status::*;
        use WaitStatus::{Exited, Signalled as Sig};
        let overflow = FileOutcome { collector_overflow: true, ..FileOutcome::default() };
        let copy_err = FileOutcome { copy_out_error: Some("open x: no such file"), ..FileOutcome::default() };
        let both = FileOutcome { collector_overflow: true, copy_out_error: Some("e"), cache_error: None };
        let cache_err = FileOutcome { cache_error: Some("file store is full"), ..FileOutcome::default() };
        let none = FileOutcome::default();
        let fin = Execution::Finished;
        let with = |status, f: &dyn Fn(&mut ExecOutcome)| {
            let mut o = out(status);
            f(&mut o);
            Execution::Finished(o)
        };
        let slow = |o: &mut ExecOutcome| o.cpu_time_ns = 1_001;
        let fat = |o: &mut ExecOutcome| o.memory_peak_bytes = 1_001;
        let rows: Vec<(&str, Execution, FileOutcome<'_>, Status, i32, &str)> = vec![
            ("1 copy-in failure", Execution::CopyInFailed { message: "copyin: x".into() }, overflow, FileError, 0, "copyin: x"),
            ("2 start failure", Execution::StartFailed { message: "execve: nope".into(), out_of_memory: false }, none, InternalError, 0, "execve: nope"),
            ("2 start failure, other", Execution::StartFailed { message: "socket".into(), out_of_memory: false }, none, InternalError, 0, "socket"),
            ("2 start failure ENOMEM (go-judge#186)", Execution::StartFailed { message: "execve: cannot allocate memory".into(), out_of_memory: true }, none, MemoryLimitExceeded, 0, "execve: cannot allocate memory"),
            ("3 exit 0", fin(out(Exited(0))), none, Accepted, 0, ""),
            ("3 exit 0 at exactly the limits", with(Exited(0), &|o| { o.cpu_time_ns = 1_000; o.memory_peak_bytes = 1_000; o.wall_time_ns = 3_000; }), none, Accepted, 0, ""),
            ("3 exit 3", fin(out(Exited(3))), none, NonzeroExitStatus, 3, ""),
            ("3 exit -1 (255 as signed)", fin(out(Exited(-1))), none, NonzeroExitStatus, -1, ""),
            ("3 killed for the cpu limit", with(Sig(9), &|o| { o.cpu_limit_hit = true; o.cpu_time_ns = 1_000; }), none, TimeLimitExceeded, 9, ""),
            ("3 killed for the wall limit", with(Sig(9), &|o| { o.wall_limit_hit = true; o.wall_time_ns = 3_000; }), none, TimeLimitExceeded, 9, ""),
            ("3 killed for the wall limit, clock skew below it", with(Sig(9), &|o| { o.wall_limit_hit = true; o.wall_time_ns = 2_999; }), none, TimeLimitExceeded, 9, ""),
            ("3 OOM-killed", with(Sig(9), &|o| o.memory_limit_hit = true), none, MemoryLimitExceeded, 9, ""),
            ("3 OOM beats a cpu kill", with(Sig(9), &|o| { o.memory_limit_hit = true; o.cpu_limit_hit = true; }), none, MemoryLimitExceeded, 9, ""),
            ("3 SIGKILL from the program itself", fin(out(Sig(9))), none, Signalled, 9, ""),
            ("3 cancelled", with(Sig(9), &|o| o.cancelled = true), none, Signalled, 9, ""),
            ("3 SIGXCPU from RLIMIT_CPU", with(Sig(24), &|o| { o.cpu_limit_hit = true; o.cpu_time_ns = 2_000; }), none, TimeLimitExceeded, 24, ""),
            ("3 SIGXFSZ", fin(out(Sig(25))), none, OutputLimitExceeded, 25, ""),
            ("3 SIGSYS", fin(out(Sig(31))), none, DangerousSyscall, 31, ""),
            ("3 SIGSEGV", fin(out(Sig(11))), none, Signalled, 11, ""),
            ("3 SIGINT", fin(out(Sig(2))), none, Signalled, 2, ""),
            ("4 overflow after exit 0", fin(out(Exited(0))), overflow, OutputLimitExceeded, 0, "Output Limit Exceeded"),
            ("4 overflow wins over copy-out error", fin(out(Exited(0))), both, OutputLimitExceeded, 0, "Output Limit Exceeded"),
            ("4 copy-out error after exit 0", fin(out(Exited(0))), copy_err, FileError, 0, "open x: no such file"),
            ("4 overflow ignored after exit 1", fin(out(Exited(1))), overflow, NonzeroExitStatus, 1, ""),
            ("4 copy-out error ignored after a signal", fin(out(Sig(11))), copy_err, Signalled, 11, ""),
            ("4 overflow ignored after SIGXFSZ", fin(out(Sig(25))), overflow, OutputLimitExceeded, 25, ""),
            ("5 cpu over limit after exit 0", with(Exited(0), &slow), none, TimeLimitExceeded, 0, ""),
            ("5 cpu over limit overrides OLE", with(Exited(0), &slow), overflow, TimeLimitExceeded, 0, "Output Limit Exceeded"),
            ("5 cpu over limit after exit 2", with(Exited(2), &slow), none, TimeLimitExceeded, 2, ""),
            ("5 cpu over limit after a segfault", with(Sig(11), &slow), none, TimeLimitExceeded, 11, ""),
            ("6 memory over limit", with(Exited(0), &fat), none, MemoryLimitExceeded, 0, ""),
            ("6 memory beats time", with(Sig(9), &|o| { o.cpu_limit_hit = true; slow(o); fat(o); }), none, MemoryLimitExceeded, 9, ""),
            ("6 memory after SIGKILL without a reported OOM", with(Sig(9), &fat), none, MemoryLimitExceeded, 9, ""),
            ("7 self-sent SIGXCPU under both limits", fin(out(Sig(24))), none, Signalled, 24, ""),
            ("7 not applied at the wall limit", with(Sig(24), &|o| o.wall_time_ns = 3_000), none, TimeLimitExceeded, 24, ""),
            ("7 not applied at the cpu limit", with(Sig(24), &|o| o.cpu_time_ns = 1_000), none, TimeLimitExceeded, 24, ""),
            ("7 not applied to exit status 0", with(Exited(0), &|o| o.cpu_limit_hit = true), none, Accepted, 0, ""),
            ("8 cache failure", fin(out(Exited(0))), cache_err, FileError, 0, "file store is full"),
            ("8 cache failure beats MLE", with(Exited(0), &fat), cache_err, FileError, 0, "file store is full"),
        ];
        for (name, exec, files, status, exit_status, error) in rows {
            let v = decide(&LIMITS, &exec, &files);
            assert_eq!(v, Verdict { status, exit_status, error: error.to_owned() }, "row: {name}");
        }
    }

    #[test]
    fn zero_cpu_limit_is_exceeded_by_any_cpu_use() {
        let limits = Limits { cpu_limit_ns: 0, wall_limit_ns: 0, memory_limit_bytes: 1 << 30 };
        let v = decide(
            &limits,
            &Execution::Finished(out(WaitStatus::Exited(0))),
            &FileOutcome::default(),
        );
        assert_eq!(v.status, Status::TimeLimitExceeded, "go-judge: 0 is not unlimited");
    }
}
