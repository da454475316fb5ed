//! The server's configuration: what the CLI produces and what shards read.
//!
//! [`ServerConfig`] holds every setting with its embedded default ([`ServerConfig::default`] is
//! what `cargo run --release` uses), and [`ServerConfig::validate`] checks it against
//! `crate::limits` before anything starts, returning a [`ConfigError`] that names the setting.
//! The route table is part of the configuration ([`RoutesFactory`]): each shard builds its own
//! [`crate::router::Router`] on its own thread, so handlers may hold shard-local state.
//!
//! This module does not parse flags (see `crate::cli`) or resolve host names beyond
//! [`resolve_addr`].

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use crate::limits;
use crate::router::{Router, ShardInfo};

/// Builds one shard's routes, on that shard's thread.
pub type RoutesFactory = Arc<dyn Fn(&ShardInfo) -> Router + Send + Sync>;

/// Everything a server needs to start.
#[derive(Clone)]
pub struct ServerConfig {
    /// Address every shard listens on (port 0 picks one port for all shards).
    pub addr: SocketAddr,
    /// Number of shards; each is a pinned thread with its own ring and listener.
    pub parallelism: usize,
    /// Bearer token required on non-public routes (none: no authentication).
    pub auth_token: Option<String>,
    /// Connections per shard; more are answered 503 and closed.
    pub shard_conns_max: u32,
    /// Keep-alive idle timeout.
    pub idle_timeout: Duration,
    /// Time from a request's first byte to the end of its head.
    pub header_timeout: Duration,
    /// Longest gap between reads of a request body.
    pub body_timeout: Duration,
    /// Slowest average rate of a request body, bytes per second, after a grace of
    /// `body_timeout` (0: no minimum); slower gets 408 (`timer::body_too_slow`).
    pub body_bytes_per_sec_min: u64,
    /// Longest a send may make no progress.
    pub write_timeout: Duration,
    /// How long graceful shutdown waits for in-flight requests.
    pub shutdown_timeout: Duration,
    /// Largest request head in bytes (431 beyond).
    pub header_bytes_max: usize,
    /// Most header lines per request (431 beyond).
    pub headers_count_max: usize,
    /// Largest request body in bytes (413 beyond).
    pub body_bytes_max: u64,
    /// Bytes one shard's request bodies still arriving may hold in all (503 beyond; one body
    /// alone is always allowed).
    pub shard_bodies_bytes_max: u64,
    /// Bytes one shard's deferred replies not yet sent may hold in all (a new one past it is
    /// replaced by a 503; one reply alone is always sent).
    pub shard_replies_bytes_max: u64,
    /// Provided receive buffers per shard (a power of two).
    pub recv_buffers: u32,
    /// Bytes per provided receive buffer.
    pub recv_buffer_bytes: u32,
    /// `listen(2)` backlog per shard.
    pub listen_backlog: i32,
    /// Pin shard `i` to the `i`-th allowed CPU.
    pub pin_shards: bool,
    /// Scheduler time slice each shard thread asks for (Linux 6.12+ EEVDF custom slice,
    /// `limits::SHARD_SLICE_MIN..=SHARD_SLICE_MAX`); zero (the default) leaves the kernel's.
    pub shard_slice: Duration,
    /// Completions a busy shard waits for at once (`-wait-batch`,
    /// `limits::WAIT_BATCH_COMPLETIONS_MIN..=WAIT_BATCH_COMPLETIONS_MAX`); 1 turns batching off.
    pub wait_batch_completions: u32,
    /// Longest a batched wait holds the completions it has (`-wait-batch-bound`,
    /// `limits::WAIT_BATCH_BOUND_MIN..=WAIT_BATCH_BOUND_MAX`).
    pub wait_batch_bound: Duration,
    /// Read SIGTERM/SIGINT through a signalfd and shut down gracefully (the binary does; an
    /// embedded server stopped through its `ShutdownHandle` need not).
    pub handle_signals: bool,
    /// The route table, built per shard.
    pub routes: RoutesFactory,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("addr", &self.addr)
            .field("parallelism", &self.parallelism)
            .field("auth_token", &self.auth_token.as_ref().map(|_| "<set>"))
            .field("shard_conns_max", &self.shard_conns_max)
            .field("idle_timeout", &self.idle_timeout)
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("body_bytes_per_sec_min", &self.body_bytes_per_sec_min)
            .field("write_timeout", &self.write_timeout)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("header_bytes_max", &self.header_bytes_max)
            .field("headers_count_max", &self.headers_count_max)
            .field("body_bytes_max", &self.body_bytes_max)
            .field("shard_bodies_bytes_max", &self.shard_bodies_bytes_max)
            .field("shard_replies_bytes_max", &self.shard_replies_bytes_max)
            .field("recv_buffers", &self.recv_buffers)
            .field("recv_buffer_bytes", &self.recv_buffer_bytes)
            .field("pin_shards", &self.pin_shards)
            .field("shard_slice", &self.shard_slice)
            .field("wait_batch_completions", &self.wait_batch_completions)
            .field("wait_batch_bound", &self.wait_batch_bound)
            .finish_non_exhaustive()
    }
}

/// A setting outside what the engine supports.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The listen address did not resolve.
    #[error("cannot resolve listen address {addr:?}: {reason}")]
    Addr {
        /// What was given.
        addr: String,
        /// Why it failed.
        reason: String,
    },
    /// A numeric setting is out of its range.
    #[error("{name} = {value} is outside {min}..={max}")]
    OutOfRange {
        /// The setting's flag name.
        name: &'static str,
        /// The value given.
        value: u64,
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
    /// A setting must be a power of two.
    #[error("{name} = {value} must be a power of two")]
    NotPowerOfTwo {
        /// The setting's flag name.
        name: &'static str,
        /// The value given.
        value: u64,
    },
    /// The auth token is empty or too long, or holds bytes a header value cannot.
    #[error("auth token must be 1..={max} visible ASCII characters")]
    AuthToken {
        /// The limit.
        max: usize,
    },
}

/// The number of CPUs this process may run on (at least 1).
pub fn available_cpus() -> usize {
    crate::sys::allowed_cpus().map(|cpus| cpus.len()).unwrap_or(1).max(1)
}

/// Resolves `host:port` to the address to listen on. Like Go's `net.Listen`, a name with
/// several addresses listens on one of them: the first IPv4 address if any.
pub fn resolve_addr(addr: &str) -> Result<SocketAddr, ConfigError> {
    let error = |reason: String| ConfigError::Addr { addr: addr.to_owned(), reason };
    // Go accepts ":5050" for "all interfaces".
    let spelled = if addr.starts_with(':') { format!("0.0.0.0{addr}") } else { addr.to_owned() };
    let addrs: Vec<SocketAddr> =
        spelled.to_socket_addrs().map_err(|e| error(e.to_string()))?.collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| error("no addresses".to_owned()))
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 5050)),
            parallelism: available_cpus(),
            auth_token: None,
            shard_conns_max: limits::SHARD_CONNS_DEFAULT,
            idle_timeout: limits::IDLE_TIMEOUT_DEFAULT,
            header_timeout: limits::HEADER_TIMEOUT_DEFAULT,
            body_timeout: limits::BODY_TIMEOUT_DEFAULT,
            body_bytes_per_sec_min: limits::BODY_BYTES_PER_SEC_MIN_DEFAULT,
            write_timeout: limits::WRITE_TIMEOUT_DEFAULT,
            shutdown_timeout: limits::SHUTDOWN_TIMEOUT_DEFAULT,
            header_bytes_max: shardbox_http::limits::HEADER_BYTES_MAX,
            headers_count_max: shardbox_http::limits::HEADERS_COUNT_MAX,
            body_bytes_max: shardbox_http::limits::BODY_BYTES_MAX,
            shard_bodies_bytes_max: limits::SHARD_BODIES_BYTES_DEFAULT,
            shard_replies_bytes_max: limits::SHARD_REPLIES_BYTES_DEFAULT,
            recv_buffers: limits::RECV_BUFFERS_DEFAULT,
            recv_buffer_bytes: limits::RECV_BUFFER_BYTES_DEFAULT,
            listen_backlog: limits::LISTEN_BACKLOG,
            pin_shards: true,
            shard_slice: Duration::ZERO,
            wait_batch_completions: limits::WAIT_BATCH_COMPLETIONS_DEFAULT,
            wait_batch_bound: limits::WAIT_BATCH_BOUND_DEFAULT,
            handle_signals: true,
            routes: Arc::new(crate::endpoints::builtin_routes),
        }
    }
}

fn range(name: &'static str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange { name, value, min, max })
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl ServerConfig {
    /// Checks every setting against the engine's limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        range("parallelism", self.parallelism as u64, 1, limits::SHARDS_MAX as u64)?;
        range(
            "shard-conns-max",
            u64::from(self.shard_conns_max),
            u64::from(limits::SHARD_CONNS_MIN),
            u64::from(limits::SHARD_CONNS_MAX),
        )?;
        let (min, max) = (millis(limits::TIMEOUT_MIN), millis(limits::TIMEOUT_MAX));
        for (name, value) in [
            ("idle-timeout", self.idle_timeout),
            ("header-timeout", self.header_timeout),
            ("body-timeout", self.body_timeout),
            ("write-timeout", self.write_timeout),
            ("shutdown-timeout", self.shutdown_timeout),
        ] {
            range(name, millis(value), min, max)?;
        }
        if !self.shard_slice.is_zero() {
            range(
                "shard-slice (ns)",
                nanos(self.shard_slice),
                nanos(limits::SHARD_SLICE_MIN),
                nanos(limits::SHARD_SLICE_MAX),
            )?;
        }
        range(
            "wait-batch",
            u64::from(self.wait_batch_completions),
            u64::from(limits::WAIT_BATCH_COMPLETIONS_MIN),
            u64::from(limits::WAIT_BATCH_COMPLETIONS_MAX),
        )?;
        range(
            "wait-batch-bound (ns)",
            nanos(self.wait_batch_bound),
            nanos(limits::WAIT_BATCH_BOUND_MIN),
            nanos(limits::WAIT_BATCH_BOUND_MAX),
        )?;
        range(
            "header-bytes-max",
            self.header_bytes_max as u64,
            u64::from(limits::RECV_BUFFER_BYTES_MIN),
            shardbox_http::limits::HEADER_BYTES_MAX as u64 * 4,
        )?;
        range(
            "headers-count-max",
            self.headers_count_max as u64,
            1,
            limits::HEADERS_STORAGE as u64,
        )?;
        range("body-bytes-max", self.body_bytes_max, 0, limits::BODY_BYTES_LIMIT)?;
        range(
            "recv-buffers",
            u64::from(self.recv_buffers),
            1,
            u64::from(limits::RECV_BUFFERS_MAX),
        )?;
        if !self.recv_buffers.is_power_of_two() {
            return Err(ConfigError::NotPowerOfTwo {
                name: "recv-buffers",
                value: u64::from(self.recv_buffers),
            });
        }
        range(
            "recv-buffer-bytes",
            u64::from(self.recv_buffer_bytes),
            u64::from(limits::RECV_BUFFER_BYTES_MIN),
            u64::from(limits::RECV_BUFFER_BYTES_MAX),
        )?;
        range("listen-backlog", u64::try_from(self.listen_backlog).unwrap_or(0), 1, 65_535)?;
        if let Some(token) = &self.auth_token {
            let visible = token.bytes().all(|b| b.is_ascii_graphic());
            if token.is_empty() || token.len() > limits::AUTH_TOKEN_BYTES_MAX || !visible {
                return Err(ConfigError::AuthToken { max: limits::AUTH_TOKEN_BYTES_MAX });
            }
        }
        Ok(())
    }

    /// The HTTP parser limits this configuration asks for.
    pub fn http_limits(&self) -> shardbox_http::Limits {
        shardbox_http::Limits {
            header_bytes_max: self.header_bytes_max,
            headers_count_max: self.headers_count_max,
            body_bytes_max: self.body_bytes_max,
            ..shardbox_http::Limits::DEFAULT
        }
    }

    /// Ring ops one shard may have in flight: every connection's, the shard's own, the 503s
    /// and the executor's (each executor op may also have a cancel in flight).
    pub fn ring_ops_max(&self) -> u32 {
        self.shard_conns_max * limits::OPS_PER_CONN_MAX
            + limits::SHARD_OPS_RESERVED
            + limits::SHED_IN_FLIGHT_MAX
            + 2 * limits::EXECUTOR_OPS_MAX
    }

    /// CQ entries per ring: the ops bound rounded up to a power of two, within the kernel's max.
    pub fn cq_entries(&self) -> u32 {
        self.ring_ops_max().next_power_of_two().min(limits::CQ_ENTRIES_MAX)
    }

    /// File descriptors the whole server may hold: every shard's connections (each with the
    /// file of a download it may be sending, `router::FileBody`) and listeners, the refused
    /// connections in flight, and a margin for eventfds, rings and logs.
    pub fn fds_needed(&self) -> u64 {
        let per_shard =
            u64::from(self.shard_conns_max) * 2 + u64::from(limits::SHED_IN_FLIGHT_MAX) + 8;
        per_shard * self.parallelism as u64 + 64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let config = ServerConfig::default();
        config.validate().expect("defaults validate");
        assert!(
            config.cq_entries() >= config.ring_ops_max()
                || config.cq_entries() == limits::CQ_ENTRIES_MAX
        );
        assert!(config.cq_entries().is_power_of_two());
    }

    #[test]
    fn the_cap_fits_in_the_ring() {
        let config =
            ServerConfig { shard_conns_max: limits::SHARD_CONNS_MAX, ..ServerConfig::default() };
        config.validate().expect("max validates");
        assert!(config.ring_ops_max() <= config.cq_entries());
    }

    #[test]
    fn limits_are_checked_at_max_and_beyond() {
        let at =
            |conns| ServerConfig { shard_conns_max: conns, ..ServerConfig::default() }.validate();
        assert!(at(limits::SHARD_CONNS_MAX - 1).is_ok());
        assert!(at(limits::SHARD_CONNS_MAX).is_ok());
        assert!(matches!(at(limits::SHARD_CONNS_MAX + 1), Err(ConfigError::OutOfRange { .. })));
        assert!(matches!(at(0), Err(ConfigError::OutOfRange { .. })));
        let buffers = |n| ServerConfig { recv_buffers: n, ..ServerConfig::default() }.validate();
        assert!(buffers(limits::RECV_BUFFERS_MAX).is_ok());
        assert!(buffers(limits::RECV_BUFFERS_MAX + 1).is_err());
        assert!(matches!(buffers(3), Err(ConfigError::NotPowerOfTwo { .. })));
        let token = |t: &str| {
            ServerConfig { auth_token: Some(t.into()), ..ServerConfig::default() }.validate()
        };
        assert!(token("secret").is_ok());
        assert!(token("").is_err());
        assert!(token("has space").is_err());
        assert!(token(&"x".repeat(limits::AUTH_TOKEN_BYTES_MAX)).is_ok());
        assert!(token(&"x".repeat(limits::AUTH_TOKEN_BYTES_MAX + 1)).is_err());
        let slice = |d| ServerConfig { shard_slice: d, ..ServerConfig::default() }.validate();
        let ns = Duration::from_nanos(1);
        assert!(slice(Duration::ZERO).is_ok(), "zero: the kernel's default");
        assert!(matches!(slice(limits::SHARD_SLICE_MIN - ns), Err(ConfigError::OutOfRange { .. })));
        assert!(slice(limits::SHARD_SLICE_MIN).is_ok());
        assert!(slice(limits::SHARD_SLICE_MAX - ns).is_ok());
        assert!(slice(limits::SHARD_SLICE_MAX).is_ok());
        assert!(matches!(slice(limits::SHARD_SLICE_MAX + ns), Err(ConfigError::OutOfRange { .. })));
    }

    #[test]
    fn wait_batching_is_checked_at_its_limits() {
        let batch =
            |n| ServerConfig { wait_batch_completions: n, ..ServerConfig::default() }.validate();
        let (min, max) = (limits::WAIT_BATCH_COMPLETIONS_MIN, limits::WAIT_BATCH_COMPLETIONS_MAX);
        assert!(matches!(batch(min - 1), Err(ConfigError::OutOfRange { name: "wait-batch", .. })));
        assert!(batch(min).is_ok(), "1: batching off");
        assert!(batch(min + 1).is_ok());
        assert!(batch(max - 1).is_ok());
        assert!(batch(max).is_ok());
        assert!(matches!(batch(max + 1), Err(ConfigError::OutOfRange { name: "wait-batch", .. })));
        let bound = |d| ServerConfig { wait_batch_bound: d, ..ServerConfig::default() }.validate();
        let ns = Duration::from_nanos(1);
        let (min, max) = (limits::WAIT_BATCH_BOUND_MIN, limits::WAIT_BATCH_BOUND_MAX);
        let out_of_range = |r| matches!(r, Err(ConfigError::OutOfRange { name, .. }) if name == "wait-batch-bound (ns)");
        assert!(out_of_range(bound(Duration::ZERO)));
        assert!(out_of_range(bound(min - ns)));
        assert!(bound(min).is_ok());
        assert!(bound(max - ns).is_ok());
        assert!(bound(max).is_ok());
        assert!(out_of_range(bound(max + ns)));
        let error = batch(0).expect_err("0 is below the minimum").to_string();
        assert_eq!(
            error,
            format!("wait-batch = 0 is outside 1..={}", limits::WAIT_BATCH_COMPLETIONS_MAX)
        );
    }

    #[test]
    fn addresses_resolve_like_go() {
        assert_eq!(
            resolve_addr("127.0.0.1:80").expect("literal"),
            "127.0.0.1:80".parse().expect("addr")
        );
        assert!(resolve_addr("localhost:5050").expect("localhost").ip().is_loopback());
        assert_eq!(resolve_addr(":5050").expect("any").port(), 5050);
        assert!(resolve_addr("no-port").is_err());
    }
}
