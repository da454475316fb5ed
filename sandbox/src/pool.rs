//! [`Pool`]: pre-forked containers, handed out and taken back, replenished in the background.
//!
//! [`Pool::new`] builds the mount plan, starts the zygote, sets up cgroups (or the rlimit
//! fallback), builds `pre_fork` containers, and starts one replenisher thread that keeps
//! `pre_fork` idle containers ready. [`Pool::get`] takes the idle container returned longest
//! ago (or builds one when none is idle and the cap `containers_max` allows; past the cap:
//! [`PoolError::Exhausted`], which the engine maps to 503). Dropping the [`PooledContainer`]
//! sends its init the reset and pushes it back at once, without waiting: the init kills and
//! wipes while the container waits its turn, and `get` reads the answer and checks the cgroup
//! is empty when it hands the container out. One that fails its reset (or is broken) is
//! destroyed and its slot freed for a replacement. [`Pool::check_invariants`] asserts the
//! bookkeeping.
//!
//! ```text
//!  get ──► pop_front ─► finish_reset (answer read, cgroup checked) ─► PooledContainer
//!  drop(PooledContainer) ──► start_reset (Reset sent) ─► push_back      (nobody waits)
//! ```
//!
//! Each container gets a uid slot `s`: container root → host uid `cred_start + 2s`, programs →
//! `cred_start + 2s + 1`. Dropping the pool destroys every idle container, stops the zygote and
//! removes the cgroups and the root directory.

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use crate::cgroup::{CgroupError, CgroupRoot, CgroupVersion};
use crate::config::{CgroupMode, SandboxConfig};
use crate::container::{Container, ContainerError, RunConfig};
use crate::info::SandboxInfo;
use crate::limits::POOL_CONTAINERS_MAX;
use crate::mounts::{MountConfigError, build_plan};
use crate::zygote::{Zygote, ZygoteError};

/// Why the pool could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The mount plan is invalid.
    #[error("mount plan: {0}")]
    Mounts(#[from] MountConfigError),
    /// The root directory could not be created.
    #[error("create root dir: {0}")]
    RootDir(std::io::Error),
    /// No usable cgroups and `no_fallback` was set.
    #[error("cgroups required: {0}")]
    Cgroup(CgroupError),
    /// The zygote could not be started.
    #[error("zygote: {0}")]
    Zygote(#[from] ZygoteError),
    /// A pre-forked container could not be built.
    #[error("pre-fork: {0}")]
    PreFork(#[from] PoolError),
    /// `containers_max` is 0 or above `POOL_CONTAINERS_MAX`, or `pre_fork` above it.
    #[error("containers_max must be 1..={max} and pre_fork <= containers_max")]
    Size {
        /// The limit.
        max: usize,
    },
    /// The uid range would overflow.
    #[error("container_cred_start + 2 × containers_max overflows a uid")]
    UidRange,
}

/// Why `get` failed.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// Every container is in use and the cap is reached (the engine answers 503).
    #[error("all {max} containers are in use")]
    Exhausted {
        /// The cap.
        max: usize,
    },
    /// The zygote could not build a container.
    #[error("zygote: {0}")]
    Zygote(#[from] ZygoteError),
    /// A new container failed its setup.
    #[error("new container: {0}")]
    Container(#[from] ContainerError),
}

impl StartError {
    /// The text an API caller may see (every run's `failed to get environment: ...` when the
    /// pool did not start): no host paths ([`Display`](std::fmt::Display) keeps them for the
    /// log).
    pub fn caller_text(&self) -> String {
        match self {
            StartError::Mounts(_) => "mount plan: invalid (see the server log)".to_owned(),
            StartError::Cgroup(e) => format!("cgroups required: {}", e.caller_text()),
            StartError::PreFork(e) => format!("pre-fork: {}", e.caller_text()),
            StartError::RootDir(_)
            | StartError::Zygote(_)
            | StartError::Size { .. }
            | StartError::UidRange => self.to_string(),
        }
    }
}

impl PoolError {
    /// The text an API caller may see: a new container's failure without host details.
    pub fn caller_text(&self) -> String {
        match self {
            PoolError::Container(e) => format!("new container: {}", e.caller_text()),
            PoolError::Exhausted { .. } | PoolError::Zygote(_) => self.to_string(),
        }
    }
}

#[derive(Debug)]
struct State {
    /// Oldest returned first: a container's reset ([`Container::start_reset`]) runs in its
    /// init while younger ones are handed out, so `get` rarely waits for it.
    idle: VecDeque<Container>,
    /// `slots[s]`: a live container (idle, in use or being built) has uid slot `s`.
    slots: Vec<bool>,
    shutdown: bool,
}

impl State {
    fn live(&self) -> usize {
        self.slots.iter().filter(|s| **s).count()
    }
}

#[derive(Debug)]
struct Inner {
    // Field order is drop order: containers (in `state`) before the zygote, the zygote before
    // the cgroup root.
    state: Mutex<State>,
    wake: Condvar,
    zygote: Zygote,
    cgroups: Option<CgroupRoot>,
    config: SandboxConfig,
    run_config: RunConfig,
    info: SandboxInfo,
    next_id: AtomicU64,
}

/// The pool of containers (share it with `Arc` or by reference; all methods take `&self`).
#[derive(Debug)]
pub struct Pool {
    inner: Arc<Inner>,
    replenisher: Option<JoinHandle<()>>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Pool {
    /// Starts the zygote, cgroups and `pre_fork` containers. Call it early, before the process
    /// grows (the zygote is spawned with posix_spawn, cheap at any size, but starting it first
    /// keeps its own image small).
    pub fn new(config: SandboxConfig) -> Result<Self, StartError> {
        if config.containers_max == 0
            || config.containers_max > POOL_CONTAINERS_MAX
            || config.pre_fork > config.containers_max
        {
            return Err(StartError::Size { max: POOL_CONTAINERS_MAX });
        }
        let span = u32::try_from(config.containers_max.saturating_mul(2))
            .map_err(|_| StartError::UidRange)?;
        config.container_cred_start.checked_add(span).ok_or(StartError::UidRange)?;
        let mut config = config;
        // One directory per pool, so pools of one process never remove each other's.
        static SEQ: AtomicU64 = AtomicU64::new(0);
        config.root_dir = config.root_dir.join(SEQ.fetch_add(1, Ordering::Relaxed).to_string());
        let plan = build_plan(&config)?;
        std::fs::create_dir_all(&config.root_dir).map_err(StartError::RootDir)?;
        let cgroups = match config.cgroup {
            CgroupMode::Off => None,
            CgroupMode::Auto => {
                match CgroupRoot::new(&config.cgroup_prefix, config.enable_cpu_rate) {
                    Ok(root) => Some(root),
                    Err(e) if config.no_fallback => return Err(StartError::Cgroup(e)),
                    Err(e) => {
                        eprintln!(
                            "shardbox sandbox: {e}; falling back to rlimits (no memory peak, coarse CPU limit)"
                        );
                        None
                    }
                }
            }
        };
        let zygote = Zygote::start(&plan)?;
        let machine_cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        let info = SandboxInfo::new(&config, &plan, cgroups.as_ref());
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                idle: VecDeque::new(),
                slots: vec![false; config.containers_max],
                shutdown: false,
            }),
            wake: Condvar::new(),
            zygote,
            cgroups,
            run_config: RunConfig { config: config.clone(), machine_cpus },
            config,
            info,
            next_id: AtomicU64::new(0),
        });
        for _ in 0..inner.config.pre_fork {
            let c = inner.build()?;
            lock(&inner.state).idle.push_back(c);
        }
        let weak = Arc::downgrade(&inner);
        let replenisher = std::thread::Builder::new()
            .name("sandbox-pool".into())
            .spawn(move || replenish(&weak))
            .map_err(StartError::RootDir)?;
        Ok(Pool { inner, replenisher: Some(replenisher) })
    }

    /// Takes a ready container (or builds one, within the cap). The idle container returned
    /// longest ago goes first; its reset is finished here (normally its answer is waiting
    /// already), and one whose reset fails is destroyed and the next one tried.
    pub fn get(&self) -> Result<PooledContainer, PoolError> {
        loop {
            let mut st = lock(&self.inner.state);
            let Some(mut c) = st.idle.pop_front() else { break };
            // Wake the replenisher only when it has something to do: a wake-up per request
            // costs a context switch on the hot path.
            let below = st.idle.len() < self.inner.config.pre_fork;
            drop(st);
            if below {
                self.inner.wake.notify_all();
            }
            if c.reset_pending() {
                // The reset's own check that the cgroup is empty runs now, at hand-out time:
                // it is also the check before reuse. A failure is an operating error (a
                // process that survived the kill): the container is destroyed, never reused.
                if let Err(e) = c.finish_reset() {
                    eprintln!("shardbox sandbox: reset container {}: {e}", c.id());
                    self.inner.discard(c);
                    continue;
                }
            } else {
                c.check_invariants();
            }
            return Ok(PooledContainer { inner: Arc::clone(&self.inner), container: Some(c) });
        }
        self.inner.wake.notify_all();
        let c = self.inner.build()?;
        Ok(PooledContainer { inner: Arc::clone(&self.inner), container: Some(c) })
    }

    /// What the engine's `/config` reports.
    pub fn info(&self) -> &SandboxInfo {
        &self.inner.info
    }

    /// Number of idle containers.
    pub fn idle(&self) -> usize {
        lock(&self.inner.state).idle.len()
    }

    /// Number of live containers (idle + in use + being built).
    pub fn live(&self) -> usize {
        lock(&self.inner.state).live()
    }

    /// Host pid of the zygote.
    pub fn zygote_pid(&self) -> u32 {
        self.inner.zygote.pid()
    }

    /// The cgroup root, if cgroups are in use.
    pub fn cgroups(&self) -> Option<&CgroupRoot> {
        self.inner.cgroups.as_ref()
    }

    /// Asserts the pool's bookkeeping (STYLE.md §10): idle ≤ live ≤ cap, every idle container
    /// passes its own check, idle containers have distinct slots that are marked live. Resets
    /// still pending are finished first (one that fails destroys its container, as `get` does).
    pub fn check_invariants(&self) {
        let mut failed = Vec::new();
        {
            let mut st = lock(&self.inner.state);
            let idle = std::mem::take(&mut st.idle);
            for mut c in idle {
                match c.finish_reset() {
                    Ok(()) => st.idle.push_back(c),
                    Err(_) => failed.push(c),
                }
            }
        }
        for c in failed {
            self.inner.discard(c);
        }
        let st = lock(&self.inner.state);
        assert!(st.idle.len() <= st.live(), "more idle containers than live ones");
        assert!(st.live() <= self.inner.config.containers_max, "more live containers than the cap");
        let mut seen = vec![false; st.slots.len()];
        for c in &st.idle {
            c.check_invariants();
            let s = c.slot();
            assert!(st.slots.get(s).copied().unwrap_or(false), "idle container with a free slot");
            assert!(!seen.get(s).copied().unwrap_or(true), "two idle containers share a slot");
            if let Some(x) = seen.get_mut(s) {
                *x = true;
            }
        }
    }
}

impl Inner {
    /// Reserves a slot and builds a container in it.
    fn build(&self) -> Result<Container, PoolError> {
        let slot = {
            let mut st = lock(&self.state);
            let Some(slot) = st.slots.iter().position(|s| !*s) else {
                return Err(PoolError::Exhausted { max: self.config.containers_max });
            };
            if let Some(s) = st.slots.get_mut(slot) {
                *s = true;
            }
            slot
        };
        let r = self.build_in(slot);
        if r.is_err() {
            self.free(slot);
        }
        r
    }

    fn build_in(&self, slot: usize) -> Result<Container, PoolError> {
        let base = self.config.container_cred_start;
        let off = u32::try_from(slot.saturating_mul(2)).unwrap_or(u32::MAX);
        let root_uid = base.saturating_add(off);
        let nc = self.zygote.create(root_uid, root_uid.saturating_add(1))?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        Ok(Container::new(id, slot, nc, self.cgroups.as_ref(), self.run_config.clone())?)
    }

    /// Destroys `c` and frees its slot.
    fn discard(&self, c: Container) {
        let slot = c.slot();
        if let Err(e) = c.destroy() {
            eprintln!("shardbox sandbox: destroy container: {e}");
        }
        self.free(slot);
    }

    fn free(&self, slot: usize) {
        let mut st = lock(&self.state);
        if let Some(s) = st.slots.get_mut(slot) {
            *s = false;
        }
        drop(st);
        self.wake.notify_all();
    }

    fn put(&self, mut c: Container) {
        if let Some(root) = &self.cgroups {
            root.sweep();
        }
        // Only the request is sent here: the init resets while the container waits in the
        // pool, and `get` reads the answer and checks the cgroup is empty after the kill, just
        // before reuse.
        let ok = !c.is_broken() && c.start_reset().is_ok();
        if ok {
            let mut st = lock(&self.state);
            if !st.shutdown {
                st.idle.push_back(c);
                return;
            }
        }
        self.discard(c);
    }
}

/// The replenisher: keeps `pre_fork` idle containers while the cap allows.
fn replenish(weak: &std::sync::Weak<Inner>) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        {
            let mut st = lock(&inner.state);
            loop {
                if st.shutdown {
                    return;
                }
                if st.idle.len() < inner.config.pre_fork && st.live() < inner.config.containers_max
                {
                    break;
                }
                st = inner.wake.wait(st).unwrap_or_else(PoisonError::into_inner);
            }
        }
        match inner.build() {
            Ok(c) => lock(&inner.state).idle.push_back(c),
            Err(e) => {
                eprintln!("shardbox sandbox: replenish: {e}");
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let idle = {
            let mut st = lock(&self.inner.state);
            st.shutdown = true;
            std::mem::take(&mut st.idle)
        };
        self.inner.wake.notify_all();
        if let Some(t) = self.replenisher.take() {
            let _ = t.join();
        }
        for c in idle {
            let slot = c.slot();
            if let Err(e) = c.destroy() {
                eprintln!("shardbox sandbox: destroy container: {e}");
            }
            self.inner.free(slot);
        }
        let _ = std::fs::remove_dir(&self.inner.config.root_dir);
        if let Some(parent) = self.inner.config.root_dir.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// A container on loan from the pool; dropping it resets it and gives it back.
#[derive(Debug)]
pub struct PooledContainer {
    inner: Arc<Inner>,
    container: Option<Container>,
}

impl PooledContainer {
    /// Destroys the container instead of returning it (e.g. after a suspicious run).
    pub fn discard(mut self) {
        if let Some(c) = self.container.take() {
            let slot = c.slot();
            let _ = c.destroy();
            self.inner.free(slot);
        }
    }
}

impl Deref for PooledContainer {
    type Target = Container;
    #[expect(
        clippy::expect_used,
        reason = "`container` is Some until drop or discard, which consume self"
    )]
    fn deref(&self) -> &Container {
        self.container.as_ref().expect("container present until drop")
    }
}

impl DerefMut for PooledContainer {
    #[expect(
        clippy::expect_used,
        reason = "`container` is Some until drop or discard, which consume self"
    )]
    fn deref_mut(&mut self) -> &mut Container {
        self.container.as_mut().expect("container present until drop")
    }
}

impl Drop for PooledContainer {
    fn drop(&mut self) {
        if let Some(c) = self.container.take() {
            self.inner.put(c);
        }
    }
}

/// cgroup version as go-judge's `cgroupType`.
pub fn cgroup_type(v: Option<CgroupVersion>) -> u8 {
    match v {
        None => 0,
        Some(CgroupVersion::V1) => 1,
        Some(CgroupVersion::V2) => 2,
    }
}
