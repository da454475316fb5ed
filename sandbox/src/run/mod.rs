//! Running a validated `POST /run` request: go-judge's semantics on top of the container layer.
//!
//! [`Runner::run`] is blocking and meant for a worker thread. One request, start to end:
//!
//! ```text
//!  1 resolve   every fileId looked up, every files[] src opened     (fail: whole request, 500)
//!  2 acquire   one container per command, all or none               (pool at its cap: 503)
//!  3 pipes     one pipe(2) per pipeMapping (two + a relay per proxy)
//!  4 prepare   per command: copy-in, collectors, its fd table       (copy-in failure: File Error)
//!  5 execute   every command at once, each in its own container with its own limits; relay and
//!              stream-collector threads run beside them; each command's fds close the moment
//!              its program ends, so its peers see end of file
//!  6 collect   collectors (max + 1 bytes), copy-out, copy-out-cached, proxy captures, status;
//!              everything kept in memory comes out of one budget per request
//!              (`copy_out_total_bytes_max`, see plumbing::Budget)
//!  7 release   containers are reset and go back to the pool (after the caller has the results)
//! ```
//!
//! Statuses come from [`crate::status::decide`]; results are [`RunResult`]s for
//! [`crate::result::write_results`]. Modules: [`files`] (inputs, copy-in, copy-out),
//! [`prepare`] (pipes, fd tables, collectors), [`plumbing`] (pipes, ptys, relay and collector
//! loops), [`failure`] (how a failure reads to the API caller). What it does not do: parse or validate (the model did), or write HTTP.

pub mod failure;
pub mod files;
pub mod plumbing;
pub mod prepare;

use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use crate::container::{BrokenReason, ContainerError};
use crate::exec::{Canceller, ExecLimits, ExecOutcome, ExecRequest};
use crate::filestore::FileStore;
use crate::limits::{CPU_RATE_LIMIT_MAX, POOL_WAIT_MS_MAX, PROCS_LIMIT_MAX};
use crate::model::{Cmd, Request};
use crate::pool::{Pool, PoolError, PooledContainer};
use crate::result::{FileError, FileErrorKind, RunResult};
use crate::status::{self, Execution, FileOutcome, Limits, Status};
use failure::{execution, for_caller};
use files::ResolveError;
use plumbing::{Budget, Collected};
use prepare::{Output, Pipes, Plan};

/// Why a request could not run at all. `docs/api/run.md` lists the HTTP status of each.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// More commands than the pool can ever hold at once (HTTP 400).
    #[error("request has {cmds} commands but this server runs at most {max} at once")]
    TooManyCmds {
        /// Commands in the request.
        cmds: usize,
        /// The pool's `containers_max`.
        max: usize,
    },
    /// An unknown `fileId` or an unreadable `files[]` `src` (HTTP 500, as go-judge).
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// Every container stayed in use for `POOL_WAIT_MS_MAX` (HTTP 503).
    #[error("all containers are busy: {0}")]
    Busy(PoolError),
    /// A `pipe: false` collector could not be created in the container (HTTP 500, as go-judge).
    #[error("container: {name}: {source}")]
    Collector {
        /// The collector's name.
        name: String,
        /// Cause.
        source: ContainerError,
    },
    /// A host resource (pipe, memfd, pty) could not be made (HTTP 500).
    #[error("{step}: {source}")]
    Io {
        /// What was being done.
        step: &'static str,
        /// Cause.
        source: io::Error,
    },
}

/// Runs requests against one pool and one file store.
#[derive(Debug, Clone, Copy)]
pub struct Runner<'a> {
    /// The containers.
    pub pool: &'a Pool,
    /// The file store (`fileId`, `copyOutCached`).
    pub store: &'a FileStore,
    /// The pool's `containers_max`.
    pub containers_max: usize,
}

/// The container layer's limits for `cmd` (go-judge's zero values kept: a zero CPU, wall or
/// memory limit is a limit of zero). Values the kernel would refuse are clamped.
pub fn exec_limits(cmd: &Cmd) -> ExecLimits {
    ExecLimits {
        cpu_time_ns: Some(cmd.cpu_limit_ns),
        wall_time_ns: Some(cmd.wall_limit_ns()),
        memory_bytes: Some(cmd.memory_limit_bytes),
        stack_bytes: (cmd.stack_limit_bytes > 0).then_some(cmd.stack_limit_bytes),
        procs_max: Some(cmd.proc_limit.min(PROCS_LIMIT_MAX)),
        cpu_rate: (cmd.cpu_rate_limit > 0).then_some(cmd.cpu_rate_limit.min(CPU_RATE_LIMIT_MAX)),
        cpuset: (!cmd.cpu_set_limit.is_empty()).then(|| cmd.cpu_set_limit.clone()),
        data_segment_limit: cmd.data_segment_limit,
        address_space_limit: cmd.address_space_limit,
    }
}

impl Runner<'_> {
    /// Runs `req`; see the module documentation. `cancel` stops every program of the request.
    pub fn run(
        &self,
        req: &Request,
        cancel: Option<&Canceller>,
    ) -> Result<Vec<RunResult>, RunError> {
        let mut out = None;
        self.run_then(req, cancel, |r| out = Some(r));
        out.unwrap_or_else(|| {
            Err(RunError::Io { step: "run", source: io::Error::other("no result") })
        })
    }

    /// Runs `req` and hands the outcome to `deliver` *before* the containers are reset and
    /// returned to the pool (step 7), so a caller can answer the client without waiting for
    /// the reset.
    pub fn run_then(
        &self,
        req: &Request,
        cancel: Option<&Canceller>,
        deliver: impl FnOnce(Result<Vec<RunResult>, RunError>),
    ) {
        let mut containers = Vec::new();
        let outcome = self.run_in(req, cancel, &mut containers);
        deliver(outcome);
        drop(containers);
    }

    fn run_in(
        &self,
        req: &Request,
        cancel: Option<&Canceller>,
        held: &mut Vec<PooledContainer>,
    ) -> Result<Vec<RunResult>, RunError> {
        let n = req.cmds.len();
        if n > self.containers_max {
            return Err(RunError::TooManyCmds { cmds: n, max: self.containers_max });
        }
        let resolved = files::resolve(req, self.store)?;
        *held = match acquire(self.pool, n) {
            Ok(c) => c,
            Err(e @ PoolError::Exhausted { .. }) => return Err(RunError::Busy(e)),
            Err(e) => {
                let reported = for_caller(e.caller_text(), &e, "no container for a run");
                let error = format!("failed to get environment: {reported}");
                return Ok(req.cmds.iter().map(|_| internal_error(&error)).collect());
            }
        };
        let mut pipes = Pipes::new(req)?;
        let mut plans = Vec::with_capacity(n);
        for (i, (c, r)) in held.iter_mut().zip(resolved).enumerate() {
            plans.push(prepare::prepare(c, req, i, r, &mut pipes)?);
        }
        let relays = std::mem::take(&mut pipes.relays);
        drop(pipes);
        let budget = Budget::new(req.copy_out_total_bytes_max);
        let done = execute(req, held, plans, relays, cancel, &budget);
        Ok(self.collect(req, held, done, &budget))
    }

    /// Step 6: results from what each command did.
    fn collect(
        &self,
        req: &Request,
        containers: &mut [PooledContainer],
        done: Executed,
        budget: &Budget,
    ) -> Vec<RunResult> {
        let Executed { cmds, captures } = done;
        let mut results: Vec<RunResult> = Vec::with_capacity(cmds.len());
        // Collectors and captures took theirs while the programs ran; copy-out gets the rest.
        let mut copy_out_left = budget.left();
        for ((cmd, c), ran) in req.cmds.iter().zip(containers.iter_mut()).zip(cmds) {
            results.push(self.result(cmd, c, ran, &mut copy_out_left));
        }
        for (mapping, bytes) in captures {
            let capture =
                req.pipes.get(mapping).and_then(|p| p.capture.as_ref().map(|c| (p.writer.cmd, c)));
            if let Some((writer, c)) = capture
                && let Some(r) = results.get_mut(writer)
            {
                r.files.insert(c.name.clone(), bytes);
            }
        }
        results
    }

    fn result(
        &self,
        cmd: &Cmd,
        c: &mut PooledContainer,
        ran: Ran,
        copy_out_left: &mut u64,
    ) -> RunResult {
        let limits = Limits {
            cpu_limit_ns: cmd.cpu_limit_ns,
            wall_limit_ns: cmd.wall_limit_ns(),
            memory_limit_bytes: cmd.memory_limit_bytes,
        };
        let (execution, outputs) = match ran {
            Ran::CopyInFailed(f) => {
                let exec = Execution::CopyInFailed { message: f.file_error.message.clone() };
                let v = status::decide(&limits, &exec, &FileOutcome::default());
                let mut r = RunResult::new(v.status);
                r.error = v.error;
                r.file_errors.push(f.file_error);
                return r;
            }
            Ran::Ran { outcome, outputs } => (execution(outcome, cmd.memory_limit_bytes), outputs),
        };
        let mut r = RunResult::new(Status::Accepted);
        let mut overflow = false;
        for (name, max, Collected { bytes, cut }) in outputs {
            if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max {
                overflow = true;
                r.file_errors.push(FileError {
                    name: name.clone(),
                    kind: FileErrorKind::CollectSizeExceeded,
                    message: status::OUTPUT_LIMIT_MESSAGE.to_owned(),
                });
            } else if cut {
                overflow = true;
                r.file_errors.push(FileError {
                    name: name.clone(),
                    kind: FileErrorKind::CollectSizeExceeded,
                    message: format!(
                        "output cut at {} bytes: the request's outputs together exceed the \
                         server's copy-out total",
                        bytes.len()
                    ),
                });
            }
            if cmd.copy_out_cached.iter().any(|o| o.name == name) {
                match self.store.add_bytes(&name, &bytes) {
                    Ok(id) => {
                        r.file_ids.insert(name, id);
                    }
                    Err(e) => r.file_errors.push(FileError {
                        name,
                        kind: FileErrorKind::CopyOutCreateFile,
                        message: for_caller(e.caller_text(), &e, "copyOutCached failed"),
                    }),
                }
            } else {
                r.files.insert(name, bytes);
            }
        }
        let mut cache_error = r
            .file_errors
            .iter()
            .find(|e| e.kind == FileErrorKind::CopyOutCreateFile)
            .map(|e| e.message.clone());
        let mut copy_out_error = None;
        if let Execution::Finished(o) = &execution {
            r.time_ns = o.cpu_time_ns;
            r.memory_bytes = o.memory_peak_bytes;
            r.run_time_ns = o.wall_time_ns;
            r.proc_peak = o.proc_peak.unwrap_or(0);
            let is_collector = |name: &str| {
                cmd.files
                    .iter()
                    .flatten()
                    .any(|f| matches!(f, crate::model::CmdFile::Collector(k) if k.name == name))
            };
            let out = files::copy_out(c, cmd, self.store, &is_collector, copy_out_left);
            copy_out_error = out.errors.first().map(|e| e.message.clone());
            cache_error = cache_error.or(out.cache_error);
            r.files.extend(out.files);
            r.file_ids.extend(out.file_ids);
            r.file_errors.extend(out.errors);
        }
        let files = FileOutcome {
            collector_overflow: overflow,
            copy_out_error: copy_out_error.as_deref(),
            cache_error: cache_error.as_deref(),
        };
        let v = status::decide(&limits, &execution, &files);
        r.status = v.status;
        r.exit_status = v.exit_status;
        r.error = v.error;
        r
    }
}

/// A result with `Internal Error` and `error`, nothing else.
fn internal_error(error: &str) -> RunResult {
    let mut r = RunResult::new(Status::InternalError);
    error.clone_into(&mut r.error);
    r
}

/// Takes `n` containers, all or none: when the pool is at its cap, gives back what it took and
/// tries again a little later, until `POOL_WAIT_MS_MAX` (so requests holding part of what they
/// need can never wait on each other forever).
fn acquire(pool: &Pool, n: usize) -> Result<Vec<PooledContainer>, PoolError> {
    let deadline = Instant::now() + Duration::from_millis(POOL_WAIT_MS_MAX);
    let mut round = 0u64;
    loop {
        let mut got = Vec::with_capacity(n);
        let mut failed = None;
        for _ in 0..n {
            match pool.get() {
                Ok(c) => got.push(c),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        match failed {
            None => return Ok(got),
            Some(PoolError::Exhausted { .. }) if Instant::now() < deadline => {
                drop(got);
                round = round.saturating_add(1);
                // Back off 2..=17 ms, staggered by thread so retries do not line up.
                let jitter = (round.wrapping_mul(7).wrapping_add(thread_salt())) % 16;
                std::thread::sleep(Duration::from_millis(2 + jitter));
            }
            Some(e) => return Err(e),
        }
    }
}

fn thread_salt() -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::thread::current().id().hash(&mut h);
    h.finish()
}

/// What one command did.
enum Ran {
    /// Copy-in failed; nothing ran.
    CopyInFailed(files::CopyInFailure),
    /// The program was started (or failed to start).
    Ran {
        /// The container layer's report.
        outcome: Result<ExecOutcome, ContainerError>,
        /// Each collector: name, max, the bytes kept (at most `max + 1`).
        outputs: Vec<(String, u64, Collected)>,
    },
}

/// Step 5's results.
struct Executed {
    /// By command.
    cmds: Vec<Ran>,
    /// Proxy captures by mapping index (only mappings with a capture).
    captures: Vec<(usize, Vec<u8>)>,
}

/// Runs one command's program; closes its fds as soon as it ends.
fn exec_one(
    c: &mut PooledContainer,
    cmd: &Cmd,
    plan: Plan,
    cancel: Option<&Canceller>,
) -> Result<ExecOutcome, ContainerError> {
    let Plan { fds, slots, .. } = plan;
    let req = ExecRequest {
        args: cmd.args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        env: cmd.env.iter().map(|e| e.as_bytes().to_vec()).collect(),
        files: slots.iter().map(|s| s.and_then(|k| fds.get(k)).map(AsFd::as_fd)).collect(),
        limits: exec_limits(cmd),
    };
    let r = c.run(&req, cancel);
    drop(req);
    drop(fds);
    // Its processes are dead: have the kernel free the pipes they left in flight, so a program
    // reading from this one sees its end now (see `execute`).
    drop(std::os::unix::net::UnixDatagram::pair());
    r
}

/// Step 5: every program at once, with relays and stream collectors on scoped threads.
fn execute(
    req: &Request,
    containers: &mut [PooledContainer],
    plans: Vec<Plan>,
    relays: Vec<prepare::Relay>,
    cancel: Option<&Canceller>,
    budget: &Budget,
) -> Executed {
    std::thread::scope(|s| {
        let relay_threads: Vec<_> = relays
            .into_iter()
            .map(|r| {
                let p = req.pipes.get(r.mapping);
                let capture = p.and_then(|p| p.capture.as_ref().map(|c| c.max_bytes));
                let zero_copy = !p.is_some_and(|p| p.disable_zero_copy);
                let mapping = r.mapping;
                let t = s.spawn(move || plumbing::relay(r.from, r.to, capture, zero_copy, budget));
                (mapping, capture.is_some(), t)
            })
            .collect();
        // Collectors: files are read after the run; streams are drained while it runs.
        let mut running = Vec::with_capacity(plans.len());
        for mut plan in plans {
            let mut outputs = Vec::new();
            for k in std::mem::take(&mut plan.collectors) {
                let output = match k.output {
                    Output::File(f) => Pending::File(f),
                    Output::Stream(fd) => {
                        let max = k.max_bytes;
                        Pending::Thread(s.spawn(move || plumbing::collect(fd, max, budget)))
                    }
                };
                outputs.push((k.name, k.max_bytes, output));
            }
            running.push((plan, outputs));
        }
        let single = running.len() == 1;
        let mut execs = Vec::with_capacity(running.len());
        for ((cmd, c), (mut plan, outputs)) in
            req.cmds.iter().zip(containers.iter_mut()).zip(running)
        {
            if let Some(f) = plan.copy_in_failure.take() {
                drop(plan);
                execs.push((Exec::Failed(f), outputs));
            } else if single {
                execs.push((Exec::Done(exec_one(c, cmd, plan, cancel)), outputs));
            } else {
                execs
                    .push((Exec::Thread(s.spawn(move || exec_one(c, cmd, plan, cancel))), outputs));
            }
        }
        let ended: Vec<_> = execs
            .into_iter()
            .map(|(exec, outputs)| {
                let outcome = match exec {
                    Exec::Failed(f) => Err(f),
                    Exec::Done(r) => Ok(r),
                    Exec::Thread(t) => Ok(t.join().unwrap_or_else(|_| {
                        let why = BrokenReason::Unexpected("the run thread panicked".into());
                        Err(ContainerError::Broken(why))
                    })),
                };
                (outcome, outputs)
            })
            .collect();
        // Every program has ended and every process of the request is dead; a pipe a
        // collector or relay still waits on can only be held by an fd in flight (SCM_RIGHTS,
        // in a cycle of unix sockets no process holds), which only the kernel's collector
        // frees. It runs when some unix socket is released while fds are in flight: release
        // one until the threads are done, else they would wait for ever.
        let threads_done = |ended: &[(_, Vec<(_, _, Pending<'_>)>)]| {
            ended.iter().flat_map(|(_, o)| o).all(|(_, _, p)| match p {
                Pending::Thread(t) => t.is_finished(),
                Pending::File(_) => true,
            }) && relay_threads.iter().all(|(_, _, t)| t.is_finished())
        };
        while !threads_done(&ended) {
            drop(std::os::unix::net::UnixDatagram::pair());
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let cmds = ended
            .into_iter()
            .map(|(outcome, outputs)| {
                let outcome = match outcome {
                    Err(f) => return Ran::CopyInFailed(f),
                    Ok(r) => r,
                };
                let outputs = outputs
                    .into_iter()
                    .map(|(name, max, pending)| {
                        let collected = match pending {
                            Pending::File(mut f) => read_file_output(&mut f, max, budget),
                            Pending::Thread(t) => t.join().unwrap_or_default(),
                        };
                        (name, max, collected)
                    })
                    .collect();
                Ran::Ran { outcome, outputs }
            })
            .collect();
        let captures = relay_threads
            .into_iter()
            .filter_map(|(mapping, keep, t)| {
                let bytes = t.join().unwrap_or_default();
                keep.then_some((mapping, bytes))
            })
            .collect();
        Executed { cmds, captures }
    })
}

/// Reads a file collector's first `max + 1` bytes after its program ended, taking them from
/// `budget` first (only what the file holds: a small output takes little).
fn read_file_output(f: &mut std::fs::File, max: u64, budget: &Budget) -> Collected {
    let size = f.metadata().map_or(0, |m| m.len());
    let want = size.min(max.saturating_add(1));
    let granted = budget.take(want);
    let bytes = files::read_prefix(f, granted).unwrap_or_default();
    budget.give_back(granted.saturating_sub(u64::try_from(bytes.len()).unwrap_or(u64::MAX)));
    Collected { bytes, cut: granted < want }
}

/// A command's program, running or done.
enum Exec<'s> {
    Failed(files::CopyInFailure),
    Done(Result<ExecOutcome, ContainerError>),
    Thread(std::thread::ScopedJoinHandle<'s, Result<ExecOutcome, ContainerError>>),
}

/// A collector's output, to be read or joined.
enum Pending<'s> {
    File(std::fs::File),
    Thread(std::thread::ScopedJoinHandle<'s, Collected>),
}
