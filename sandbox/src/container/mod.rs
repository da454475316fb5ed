//! [`Container`]: the host-side handle of one container (blocking; for worker threads).
//!
//! It owns the host end of the control socket, the init's pidfd and the container's cgroup.
//! Operations: [`Container::open_write`] / [`Container::copy_in`] (copy-in, collectors),
//! [`Container::symlink`], [`Container::open_read`] (copy-out: regular files only, no symlink in
//! the path), [`Container::run`] (one program, waits for its outcome while enforcing the CPU and
//! wall limits with a timerfd armed for the earliest possible overrun), and
//! [`Container::reset`] (kill everything, wipe `/w` and `/tmp`, check the cgroup is empty, reset
//! or replace the cgroup; split in [`Container::start_reset`] and [`Container::finish_reset`] so
//! the pool does not wait for the init while it wipes). Any socket error, timeout or undecodable reply marks the container
//! broken: the pool destroys it ([`Container::destroy`]) and never reuses it. Its errors are in
//! `error.rs`.

mod error;
mod reset;

pub use error::{BrokenReason, ContainerError};

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::cgroup::{Cgroup, CgroupLimits, CgroupRoot, CgroupVersion};
use crate::config::SandboxConfig;
use crate::exec::{ExecOutcome, ExecRequest, next_cpu_check_ns, rlimits_for, usable_cpus};
use crate::limits::{
    KILL_WAIT_MS_MAX, MSG_BYTES_MAX, MSG_FDS_MAX, OPEN_WRITE_BATCH_MAX, REPLY_WAIT_MS_MAX,
};
use crate::protocol::{
    ExecSpec, ExecStep, ProtocolError, Reply, Request, Step, WaitStatus, decode_reply,
};
use crate::sys;
use crate::zygote::NewContainer;

/// Refuses fds no program may be given, whatever the caller meant: a directory (`openat(fd,
/// "..")` walks out of the container: the whole host opens), a block device (raw disk), a bare
/// symlink, an anonymous inode (epoll, eventfd, signalfd, timerfd of the server). Regular files
/// (and memfds), pipes, sockets and character devices pass. `Err(errno)`: `EISDIR` for a
/// directory, `EINVAL` for the rest, or fstat's own error.
fn check_program_fds(fds: &[BorrowedFd<'_>]) -> Result<(), i32> {
    use sys::fs::FileKind;
    for fd in fds {
        let st = sys::fs::fstat(*fd).map_err(|e| sys::errno_of(&e))?;
        match st.kind {
            FileKind::Regular | FileKind::Fifo | FileKind::Socket | FileKind::CharDevice => {}
            FileKind::Directory => return Err(sys::errno::EISDIR),
            FileKind::BlockDevice | FileKind::Symlink | FileKind::Other => {
                return Err(sys::errno::EINVAL);
            }
        }
    }
    Ok(())
}

/// Host-side handle of one container.
#[derive(Debug)]
pub struct Container {
    id: u64,
    slot: usize,
    ctl: OwnedFd,
    pidfd: OwnedFd,
    pid: u32,
    cgroup: Option<Cgroup>,
    generation: u64,
    broken: bool,
    runs: u64,
    rbuf: Vec<u8>,
    timer: OwnedFd,
    config: RunConfig,
    /// v1 with cgroups: the init's `/proc/<pid>/schedstat`. The init lives in the container's
    /// `cpu`/`cpuacct` cgroup (`Cgroup::adopt`), so its own CPU time during a run (the fork,
    /// reaping) is subtracted from `cpuacct.usage`: both count the same scheduler runtime.
    init_sched: Option<File>,
    /// The init's runtime when the run's counters were reset, ns.
    init_base_ns: u64,
    /// `Reset` was sent and its answer not read yet ([`Container::start_reset`]).
    reset_pending: bool,
}

/// The parts of [`SandboxConfig`] a container needs on every run.
#[derive(Debug, Clone)]
pub(crate) struct RunConfig {
    pub config: SandboxConfig,
    pub machine_cpus: u64,
}

impl Container {
    /// Takes over a container from the zygote: waits for `Ready`, creates and attaches its
    /// cgroup.
    pub(crate) fn new(
        id: u64,
        slot: usize,
        nc: NewContainer,
        cgroups: Option<&CgroupRoot>,
        config: RunConfig,
    ) -> Result<Self, ContainerError> {
        let mut c = Container {
            id,
            slot,
            ctl: nc.ctl,
            pidfd: nc.pidfd,
            pid: nc.pid,
            cgroup: None,
            generation: 0,
            broken: false,
            runs: 0,
            rbuf: vec![0u8; MSG_BYTES_MAX],
            timer: sys::sock::timerfd().map_err(BrokenReason::Io)?,
            config,
            init_sched: None,
            init_base_ns: 0,
            reset_pending: false,
        };
        match c.recv(REPLY_WAIT_MS_MAX)? {
            (Reply::Ready, _) => {}
            (Reply::Failed { step, errno }, _) => {
                return Err(c.fail(BrokenReason::Init { step, errno }));
            }
            (other, _) => return Err(c.fail(BrokenReason::Unexpected(format!("{other:?}")))),
        }
        if let Some(root) = cgroups {
            let cg = root.create(&c.cgroup_name())?;
            if cg.version() == CgroupVersion::V1 {
                let path = format!("/proc/{}/schedstat", c.pid);
                c.init_sched = Some(File::open(path).map_err(|e| c.fail(BrokenReason::Io(e)))?);
            }
            c.attach(cg)?;
        }
        Ok(c)
    }

    /// CPU time the init has run, ns (`None` when it does not share the cgroup).
    fn init_runtime_ns(&mut self) -> Result<u64, ContainerError> {
        use std::os::unix::fs::FileExt;
        let Some(f) = self.init_sched.as_ref() else { return Ok(0) };
        let mut buf = [0u8; 64];
        let n = match f.read_at(&mut buf, 0) {
            Ok(n) => n,
            Err(e) => return Err(self.fail(BrokenReason::Io(e))),
        };
        let first = buf.get(..n).unwrap_or_default().split(|b| b.is_ascii_whitespace()).next();
        match first.and_then(|t| std::str::from_utf8(t).ok()?.parse::<u64>().ok()) {
            Some(ns) => Ok(ns),
            None => Err(self.fail(BrokenReason::Unexpected("unreadable schedstat".into()))),
        }
    }

    fn cgroup_name(&self) -> String {
        format!("c{}-{}", self.id, self.generation)
    }

    fn attach(&mut self, mut cg: Cgroup) -> Result<(), ContainerError> {
        cg.adopt(self.pid)?;
        let files = cg.procs_files()?;
        let count = u8::try_from(files.len()).unwrap_or(u8::MAX);
        let borrowed: Vec<_> = files.iter().map(AsFd::as_fd).collect();
        match self.request(&Request::AttachCgroup { count }, &borrowed, REPLY_WAIT_MS_MAX)? {
            (Reply::Done, _) => {}
            (other, _) => return Err(self.fail(BrokenReason::Unexpected(format!("{other:?}")))),
        }
        // The init's helper that made the cgroup namespace passed through this cgroup, and the
        // init reaps it before answering: nothing may be left (STYLE.md §10; the reset and
        // the pool check the same before every hand-out). It once was: a non-blocking reap
        // missed the helper still exiting (`init::enter_container_cgroup_ns`).
        if !cg.is_empty()? {
            let who = cg.members_report();
            return Err(self.fail(BrokenReason::CgroupNotEmpty(who)));
        }
        if let Some(old) = self.cgroup.replace(cg) {
            old.remove()?;
        }
        Ok(())
    }

    /// Container id (unique in the pool).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// uid slot in the pool.
    pub(crate) fn slot(&self) -> usize {
        self.slot
    }

    /// Host pid of the init.
    pub fn init_pid(&self) -> u32 {
        self.pid
    }

    /// Runs completed in this container.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// True once the container must not be used again.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// The container's cgroup, if cgroups are in use.
    pub fn cgroup(&self) -> Option<&Cgroup> {
        self.cgroup.as_ref()
    }

    fn fail(&mut self, r: BrokenReason) -> ContainerError {
        self.broken = true;
        ContainerError::Broken(r)
    }

    fn send(&mut self, req: &Request, fds: &[BorrowedFd<'_>]) -> Result<(), ContainerError> {
        if self.broken {
            return Err(ContainerError::Broken(BrokenReason::Poisoned));
        }
        // A reset's answer comes before any other: read it first.
        self.finish_reset()?;
        if let Err(e) = req.check_limits() {
            return Err(ContainerError::TooLarge(match e {
                ProtocolError::Limit { what, .. } => what,
                _ => "message",
            }));
        }
        let mut buf = Vec::with_capacity(256);
        req.encode(&mut buf);
        if buf.len() > MSG_BYTES_MAX {
            return Err(ContainerError::TooLarge("message"));
        }
        if fds.len() > MSG_FDS_MAX {
            return Err(ContainerError::TooLarge("fds"));
        }
        sys::sock::send_msg(self.ctl.as_fd(), &buf, fds).map_err(|e| self.fail(BrokenReason::Io(e)))
    }

    fn recv(&mut self, timeout_ms: u64) -> Result<(Reply, Vec<OwnedFd>), ContainerError> {
        let t = i32::try_from(timeout_ms).unwrap_or(i32::MAX);
        let ready =
            sys::sock::poll(&[self.ctl.as_fd()], t).map_err(|e| self.fail(BrokenReason::Io(e)))?;
        if !ready.first().copied().unwrap_or(false) {
            return Err(self.fail(BrokenReason::Timeout { ms: timeout_ms }));
        }
        self.recv_now()
    }

    fn recv_now(&mut self) -> Result<(Reply, Vec<OwnedFd>), ContainerError> {
        let mut fds = Vec::new();
        let n = match sys::sock::recv_msg(self.ctl.as_fd(), &mut self.rbuf, &mut fds) {
            Ok(0) => return Err(self.fail(BrokenReason::Closed)),
            Ok(n) => n,
            Err(e) => return Err(self.fail(BrokenReason::Io(e))),
        };
        let reply = match decode_reply(self.rbuf.get(..n).unwrap_or_default()) {
            Ok(r) => r,
            Err(e) => return Err(self.fail(BrokenReason::Protocol(e))),
        };
        if fds.len() != reply.fds_expected() {
            return Err(
                self.fail(BrokenReason::Unexpected(format!("{} fds with {reply:?}", fds.len())))
            );
        }
        Ok((reply, fds))
    }

    fn request(
        &mut self,
        req: &Request,
        fds: &[BorrowedFd<'_>],
        timeout_ms: u64,
    ) -> Result<(Reply, Vec<OwnedFd>), ContainerError> {
        self.send(req, fds)?;
        self.recv(timeout_ms)
    }

    fn file_reply(
        &mut self,
        path: &[u8],
        reply: (Reply, Vec<OwnedFd>),
    ) -> Result<(File, u64), ContainerError> {
        let path_s = String::from_utf8_lossy(path).into_owned();
        match reply {
            // The init is on the other side of a trust boundary: a compromised one could hand
            // over a pipe it never writes to (the copy-out reader would block forever) or
            // announce an absurd size. Only a regular file is accepted, sized by our own fstat.
            (Reply::Opened { .. }, mut fds) => match fds.pop() {
                Some(fd) => match sys::fs::fstat(fd.as_fd()) {
                    Ok(st) if st.is_regular => Ok((File::from(fd), st.size_bytes)),
                    Ok(st) => Err(self.fail(BrokenReason::Unexpected(format!(
                        "Opened a {:?}, not a regular file",
                        st.kind
                    )))),
                    Err(e) => Err(self.fail(BrokenReason::Io(e))),
                },
                None => Err(self.fail(BrokenReason::Unexpected("Opened without fd".into()))),
            },
            (Reply::Failed { step: Step::NotRegular, .. }, _) => {
                Err(ContainerError::NotRegular { path: path_s })
            }
            (Reply::Failed { step, errno }, _) => {
                Err(ContainerError::File { step, path: path_s, errno })
            }
            (other, _) => Err(self.fail(BrokenReason::Unexpected(format!("{other:?}")))),
        }
    }

    /// Opens (creating parent dirs, `O_CREAT|O_TRUNC`, mode 0777) a container path for writing.
    /// Relative paths are under `/w`. Only a regular file is opened: a fifo, socket or device a
    /// program left there is [`ContainerError::NotRegular`].
    pub fn open_write(&mut self, path: &[u8]) -> Result<File, ContainerError> {
        let r =
            self.request(&Request::OpenWrite { path: path.to_vec() }, &[], REPLY_WAIT_MS_MAX)?;
        self.file_reply(path, r).map(|(f, _)| f)
    }

    /// [`Container::open_write`] for several paths, in order, with one exchange per
    /// `OPEN_WRITE_BATCH_MAX` paths: every request of a batch is sent before the first reply is
    /// read, so the init serves them in one wake-up instead of one round trip each. Each path
    /// gets its own result; once the container breaks, the paths not yet answered get
    /// [`BrokenReason::Poisoned`].
    pub fn open_write_batch(&mut self, paths: &[&[u8]]) -> Vec<Result<File, ContainerError>> {
        let mut out = Vec::with_capacity(paths.len());
        for chunk in paths.chunks(OPEN_WRITE_BATCH_MAX) {
            let end = out.len().saturating_add(chunk.len());
            let mut sent = 0;
            let mut send_error = None;
            for path in chunk {
                match self.send(&Request::OpenWrite { path: path.to_vec() }, &[]) {
                    Ok(()) => sent += 1,
                    Err(e) => {
                        send_error = Some(e);
                        break;
                    }
                }
            }
            for path in chunk.iter().take(sent) {
                let r = if self.broken {
                    Err(ContainerError::Broken(BrokenReason::Poisoned))
                } else {
                    self.recv(REPLY_WAIT_MS_MAX)
                        .and_then(|reply| self.file_reply(path, reply).map(|(f, _)| f))
                };
                out.push(r);
            }
            if let Some(e) = send_error {
                out.push(Err(e));
            }
            while out.len() < end {
                out.push(Err(ContainerError::Broken(BrokenReason::Poisoned)));
            }
        }
        while out.len() < paths.len() {
            out.push(Err(ContainerError::Broken(BrokenReason::Poisoned)));
        }
        out
    }

    /// Copies `data` into a new file at `path`.
    pub fn copy_in(&mut self, path: &[u8], data: &[u8]) -> Result<(), ContainerError> {
        let mut f = self.open_write(path)?;
        f.write_all(data).map_err(|source| ContainerError::Copy {
            path: String::from_utf8_lossy(path).into_owned(),
            source,
        })
    }

    /// Copies everything readable from `src` (a file or memfd; the kernel copies directly)
    /// into a new file at `path`.
    pub fn copy_in_from(&mut self, path: &[u8], src: &mut File) -> Result<u64, ContainerError> {
        let mut f = self.open_write(path)?;
        io::copy(src, &mut f).map_err(|source| ContainerError::Copy {
            path: String::from_utf8_lossy(path).into_owned(),
            source,
        })
    }

    /// `symlink(target, path)` inside the container (no parent dirs are created, as go-judge).
    pub fn symlink(&mut self, target: &[u8], path: &[u8]) -> Result<(), ContainerError> {
        let req = Request::Symlink { target: target.to_vec(), link: path.to_vec() };
        match self.request(&req, &[], REPLY_WAIT_MS_MAX)? {
            (Reply::Done, _) => Ok(()),
            (Reply::Failed { step, errno }, _) => Err(ContainerError::File {
                step,
                path: String::from_utf8_lossy(path).into_owned(),
                errno,
            }),
            (other, _) => Err(self.fail(BrokenReason::Unexpected(format!("{other:?}")))),
        }
    }

    /// Opens a container file for copy-out: a regular file reached without any symlink; returns
    /// it and its size.
    pub fn open_read(&mut self, path: &[u8]) -> Result<(File, u64), ContainerError> {
        let r = self.request(&Request::OpenRead { path: path.to_vec() }, &[], REPLY_WAIT_MS_MAX)?;
        self.file_reply(path, r)
    }

    /// Runs one program and waits for it (see the module doc). `cancel` stops it early.
    pub fn run(
        &mut self,
        req: &ExecRequest<'_>,
        cancel: Option<&crate::exec::Canceller>,
    ) -> Result<ExecOutcome, ContainerError> {
        // A second run in one hand-out on v2 before 6.12: the peak cannot be reset.
        if self.cgroup.as_ref().is_some_and(Cgroup::needs_replacing_for_a_run) {
            self.rotate_cgroup()?;
        }
        let cfg = &self.config.config;
        let limits = &req.limits;
        if req.files.len() > MSG_FDS_MAX {
            return Err(ContainerError::TooLarge("files"));
        }
        let cgroup_on = self.cgroup.is_some();
        if let Some(cg) = self.cgroup.as_mut() {
            let cl = CgroupLimits {
                memory_bytes: limits.memory_bytes.map(|m| {
                    m.saturating_add(cfg.extra_memory_limit_bytes)
                        .max(crate::limits::MEMORY_LIMIT_BYTES_MIN)
                }),
                pids: limits.procs_max,
                cpu_rate: if cfg.enable_cpu_rate {
                    limits.cpu_rate.map(|r| (r, cfg.cpu_cfs_period_us))
                } else {
                    None
                },
                cpuset: limits.cpuset.clone(),
            };
            // A refused limit (e.g. below what is charged already) fails this run only: the next
            // `prepare` rewrites every limit.
            cg.prepare(&cl)?;
        }
        let spec = ExecSpec {
            args: req.args.clone(),
            env: req.env.clone(),
            fd_slots: req.files.iter().map(Option::is_some).collect(),
            rlimits: rlimits_for(limits, cfg, cgroup_on),
        };
        let fds: Vec<BorrowedFd<'_>> = req.files.iter().flatten().copied().collect();
        let args0 =
            req.args.first().map(|a| String::from_utf8_lossy(a).into_owned()).unwrap_or_default();
        if let Err(errno) = check_program_fds(&fds) {
            return Err(ContainerError::Exec { step: ExecStep::Fds, errno, args0 });
        }
        let cpus = usable_cpus(self.config.machine_cpus, limits, cfg.enable_cpu_rate);
        self.init_base_ns = self.init_runtime_ns()?;
        // No `Started` comes back (one wake-up less per run): the wall clock starts here, a
        // little before the init spawns, never later (an init cannot defer it).
        let start_ns = sys::monotonic_ns();
        self.send(&Request::Exec(spec), &fds)?;
        let wall_deadline = limits.wall_time_ns.map(|w| start_ns.saturating_add(w));
        let cpu_limit = limits.cpu_time_ns.filter(|_| cgroup_on);
        let mut next_cpu = cpu_limit.map(|l| next_cpu_check_ns(start_ns, 0, l, cpus));
        let (mut cpu_hit, mut wall_hit, mut cancelled) = (false, false, false);
        let mut kill_deadline: Option<u64> = None;
        let report = loop {
            let mut at = [wall_deadline, next_cpu, kill_deadline].into_iter().flatten().min();
            if kill_deadline.is_some() {
                at = kill_deadline;
            }
            sys::sock::timerfd_set_abs(self.timer.as_fd(), at.unwrap_or(0))
                .map_err(|e| self.fail(BrokenReason::Io(e)))?;
            let polled = {
                let mut polled = vec![self.ctl.as_fd(), self.timer.as_fd()];
                if let Some(c) = cancel {
                    polled.push(c.fd());
                }
                sys::sock::poll(&polled, -1)
            };
            let ready = polled.map_err(|e| self.fail(BrokenReason::Io(e)))?;
            if ready.first().copied().unwrap_or(false) {
                match self.recv_now()? {
                    (Reply::Exited(rep), _) => break rep,
                    (Reply::ExecFailed { step, errno }, _) => {
                        sys::sock::timerfd_set_abs(self.timer.as_fd(), 0)
                            .map_err(|e| self.fail(BrokenReason::Io(e)))?;
                        return Err(ContainerError::Exec { step, errno, args0 });
                    }
                    (other, _) => {
                        return Err(self.fail(BrokenReason::Unexpected(format!("{other:?}"))));
                    }
                }
            }
            let mut kill = false;
            if ready.get(2).copied().unwrap_or(false) && kill_deadline.is_none() {
                cancelled = true;
                kill = true;
            }
            if ready.get(1).copied().unwrap_or(false) {
                sys::sock::read_counter(self.timer.as_fd());
                let now = sys::monotonic_ns();
                if let Some(kd) = kill_deadline {
                    if now >= kd {
                        return Err(self.fail(BrokenReason::Timeout { ms: KILL_WAIT_MS_MAX }));
                    }
                } else if wall_deadline.is_some_and(|d| now >= d) {
                    wall_hit = true;
                    kill = true;
                } else if let (Some(limit), Some(nc)) = (cpu_limit, next_cpu)
                    && now >= nc
                {
                    let used = match self.cgroup.as_ref().map(Cgroup::cpu_ns) {
                        Some(Ok(u)) => u.saturating_sub(
                            self.init_runtime_ns()?.saturating_sub(self.init_base_ns),
                        ),
                        Some(Err(e)) => {
                            self.broken = true;
                            return Err(e.into());
                        }
                        None => 0,
                    };
                    if used >= limit {
                        cpu_hit = true;
                        kill = true;
                    } else {
                        next_cpu = Some(next_cpu_check_ns(now, used, limit, cpus));
                    }
                }
            }
            if kill && kill_deadline.is_none() {
                self.send(&Request::Kill, &[])?;
                kill_deadline =
                    Some(sys::monotonic_ns().saturating_add(KILL_WAIT_MS_MAX * 1_000_000));
                next_cpu = None;
            }
        };
        sys::sock::timerfd_set_abs(self.timer.as_fd(), 0)
            .map_err(|e| self.fail(BrokenReason::Io(e)))?;
        self.runs += 1;
        let init_ns = self.init_runtime_ns()?.saturating_sub(self.init_base_ns);
        let (cpu_time_ns, memory_peak_bytes, oom, proc_peak) = match self.cgroup.as_mut() {
            Some(cg) => match cg.usage(report.maxrss_bytes) {
                Ok(u) => (
                    u.cpu_ns.saturating_sub(init_ns),
                    u.memory_peak_bytes,
                    u.oom_kills > 0,
                    u.pids_peak,
                ),
                Err(e) => {
                    self.broken = true;
                    return Err(e.into());
                }
            },
            None => {
                (report.user_ns.saturating_add(report.sys_ns), report.maxrss_bytes, false, None)
            }
        };
        let xcpu = report.status == WaitStatus::Signalled(sys::signal::SIGXCPU);
        let over = limits.cpu_time_ns.is_some_and(|l| cpu_time_ns > l);
        Ok(ExecOutcome {
            status: report.status,
            cpu_time_ns,
            memory_peak_bytes,
            // From the worker's Exec (where the wall limit starts) to the main process's reap;
            // an init's clock reading past ours is capped at ours.
            wall_time_ns: report.end_ns.min(sys::monotonic_ns()).saturating_sub(start_ns),
            cpu_limit_hit: cpu_hit || xcpu || over,
            wall_limit_hit: wall_hit,
            memory_limit_hit: oom,
            cancelled,
            proc_peak,
        })
    }
}

#[cfg(test)]
mod hostile_init;
