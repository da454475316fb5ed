//! The server: binds one listener per shard, starts the shards, stops them.
//!
//! Shard lifecycle:
//!
//! ```text
//!   Server::bind   validate config, raise RLIMIT_NOFILE, bind N SO_REUSEPORT listeners on the
//!                  caller's thread (errors surface before any thread starts; port 0 becomes
//!                  one port shared by all), create one wake eventfd per shard
//!   Server::run    block SIGTERM/SIGINT (if handling signals) so every thread inherits the
//!                  mask; spawn shards 1..N pinned to their CPUs; run shard 0 on this thread
//!                  (it also reads the signalfd); join all
//!   shutdown       a signal or ShutdownHandle sets the shared flag and writes every shard's
//!                  eventfd; each shard drains (see `crate::shard`) and returns
//! ```
//!
//! [`ServerShared`] is the only state shared between shards: the configuration, the metrics
//! registry (each shard writes only its own counters) and the shutdown flags. Nothing on the
//! request path reads it except the metrics scrape.

use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::{ConfigError, ServerConfig};
use crate::metrics::{MetricsRegistry, ShardMetrics};
use crate::shard::{Shard, ShardError, ShardStart};
use crate::sys;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A listener could not be bound.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Blocking the shutdown signals or creating the signalfd failed.
    #[error("setting up signal handling: {0}")]
    Signals(#[source] std::io::Error),
    /// An eventfd could not be created.
    #[error("creating a shard's eventfd: {0}")]
    Eventfd(#[source] std::io::Error),
    /// A shard thread could not be started.
    #[error("starting shard {shard}: {source}")]
    Spawn {
        /// Shard number.
        shard: usize,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A shard failed.
    #[error(transparent)]
    Shard(#[from] ShardError),
    /// A shard thread panicked.
    #[error("shard {shard} panicked")]
    Panicked {
        /// Shard number.
        shard: usize,
    },
}

/// State shared by every shard.
pub struct ServerShared {
    pub(crate) config: ServerConfig,
    pub(crate) metrics: MetricsRegistry,
    pub(crate) shutdown: AtomicBool,
    pub(crate) force: AtomicBool,
    wake_fds: Vec<OwnedFd>,
}

impl std::fmt::Debug for ServerShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerShared")
            .field("shutdown", &self.shutdown)
            .field("force", &self.force)
            .finish_non_exhaustive()
    }
}

impl ServerShared {
    fn wake_all(&self) {
        for fd in &self.wake_fds {
            if let Err(error) = sys::eventfd_signal(fd.as_fd()) {
                tracing::error!(%error, "waking a shard failed");
            }
        }
    }

    /// Asks every shard to shut down gracefully.
    pub(crate) fn request_shutdown(&self) {
        self.shutdown.store(true, Ordering::Release);
        self.wake_all();
    }

    /// Asks every shard to close all connections now and stop.
    pub(crate) fn force_shutdown(&self) {
        self.shutdown.store(true, Ordering::Release);
        self.force.store(true, Ordering::Release);
        self.wake_all();
    }
}

/// Stops a running server from any thread.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(Arc<ServerShared>);

impl ShutdownHandle {
    /// Graceful shutdown, as SIGTERM: stop accepting, finish in-flight requests, exit.
    pub fn shutdown(&self) {
        self.0.request_shutdown();
    }

    /// Immediate shutdown, as a second SIGTERM: close every connection.
    pub fn force(&self) {
        self.0.force_shutdown();
    }
}

/// A bound server, ready to run.
#[derive(Debug)]
pub struct Server {
    shared: Arc<ServerShared>,
    listeners: Vec<OwnedFd>,
    shard_wake_fds: Vec<OwnedFd>,
    local_addr: SocketAddr,
}

impl Server {
    /// Validates `config` and binds every shard's listener.
    pub fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        config.validate()?;
        let needed = config.fds_needed();
        match sys::raise_nofile_limit(needed) {
            Ok(limit) if limit < needed => tracing::warn!(
                limit,
                needed,
                "RLIMIT_NOFILE is below what the connection cap needs; accepts fail beyond it"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not raise RLIMIT_NOFILE"),
        }
        let mut addr = config.addr;
        let mut listeners = Vec::with_capacity(config.parallelism);
        for _ in 0..config.parallelism {
            let listener = sys::tcp_listener(addr, config.listen_backlog)
                .map_err(|source| ServerError::Listen { addr, source })?;
            if addr.port() == 0 {
                addr = sys::local_addr(listener.as_fd())
                    .map_err(|source| ServerError::Listen { addr, source })?;
            }
            listeners.push(listener);
        }
        let mut wake_fds = Vec::with_capacity(config.parallelism);
        let mut shard_wake_fds = Vec::with_capacity(config.parallelism);
        for _ in 0..config.parallelism {
            let fd = sys::eventfd().map_err(ServerError::Eventfd)?;
            shard_wake_fds.push(fd.try_clone().map_err(ServerError::Eventfd)?);
            wake_fds.push(fd);
        }
        let metrics = MetricsRegistry::new(
            (0..config.parallelism).map(|_| Arc::new(ShardMetrics::default())).collect(),
        );
        let shared = Arc::new(ServerShared {
            config,
            metrics,
            shutdown: AtomicBool::new(false),
            force: AtomicBool::new(false),
            wake_fds,
        });
        Ok(Server { shared, listeners, shard_wake_fds, local_addr: addr })
    }

    /// The address the shards listen on (with the real port if 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops the server from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(Arc::clone(&self.shared))
    }

    /// Every shard's metrics.
    pub fn metrics(&self) -> MetricsRegistry {
        self.shared.metrics.clone()
    }

    /// Runs the shards until shutdown; shard 0 runs on the calling thread.
    pub fn run(self) -> Result<(), ServerError> {
        let Server { shared, listeners, shard_wake_fds, local_addr } = self;
        let config = &shared.config;
        let signal_fd = if config.handle_signals {
            sys::block_shutdown_signals().map_err(ServerError::Signals)?;
            Some(sys::shutdown_signalfd().map_err(ServerError::Signals)?)
        } else {
            None
        };
        let cpus =
            if config.pin_shards { sys::allowed_cpus().unwrap_or_default() } else { Vec::new() };
        tracing::info!(addr = %local_addr, shards = config.parallelism, "shardbox listening");
        let mut starts: Vec<ShardStart> = listeners
            .into_iter()
            .zip(shard_wake_fds)
            .enumerate()
            .map(|(index, (listener, wake_fd))| ShardStart {
                index,
                listener,
                wake_fd,
                signal_fd: None,
                shared: Arc::clone(&shared),
                metrics: Arc::clone(
                    shared.metrics.shard(index).expect("one metrics entry per shard"),
                ),
            })
            .collect();
        if let Some(first) = starts.first_mut() {
            first.signal_fd = signal_fd;
        }
        let mut starts = starts.into_iter();
        let first = starts.next();
        let mut threads = Vec::new();
        for start in starts {
            let index = start.index;
            let cpu = cpus.get(index % cpus.len().max(1)).copied();
            let shared_for_thread = Arc::clone(&shared);
            let thread = std::thread::Builder::new()
                .name(format!("shard-{index}"))
                .spawn(move || run_shard(start, cpu, &shared_for_thread))
                .map_err(|source| ServerError::Spawn { shard: index, source });
            match thread {
                Ok(thread) => threads.push((index, thread)),
                Err(error) => {
                    shared.force_shutdown();
                    let _ = join_all(threads);
                    return Err(error);
                }
            }
        }
        let mut result = match first {
            Some(start) => {
                run_shard(start, cpus.first().copied(), &shared).map_err(ServerError::from)
            }
            None => Ok(()),
        };
        let joined = join_all(threads);
        if result.is_ok() {
            result = joined;
        }
        tracing::info!("shardbox stopped");
        result
    }
}

fn run_shard(
    start: ShardStart,
    cpu: Option<usize>,
    shared: &ServerShared,
) -> Result<(), ShardError> {
    let index = start.index;
    if let Some(cpu) = cpu
        && let Err(error) = sys::pin_current_thread(cpu)
    {
        tracing::warn!(shard = index, cpu, %error, "could not pin shard");
    }
    let slice_ns = u64::try_from(shared.config.shard_slice.as_nanos()).unwrap_or(u64::MAX);
    if slice_ns > 0 {
        match sys::set_sched_slice(slice_ns) {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(shard = index, "not SCHED_OTHER: scheduler slice left alone")
            }
            Err(error) => {
                tracing::warn!(shard = index, %error, "could not set the shard's scheduler slice")
            }
        }
    }
    let result = Shard::new(start).and_then(Shard::run);
    if let Err(error) = &result {
        tracing::error!(%error, "shard failed; stopping the server");
        shared.force_shutdown();
    }
    result
}

fn join_all(
    threads: Vec<(usize, std::thread::JoinHandle<Result<(), ShardError>>)>,
) -> Result<(), ServerError> {
    let mut result = Ok(());
    for (shard, thread) in threads {
        let outcome = match thread.join() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(ServerError::Shard(error)),
            Err(_) => Err(ServerError::Panicked { shard }),
        };
        if result.is_ok() {
            result = outcome;
        }
    }
    result
}

/// Binds and runs a server with `config` until it shuts down.
pub fn run(config: ServerConfig) -> Result<(), ServerError> {
    Server::bind(config)?.run()
}
