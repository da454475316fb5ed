//! The command line: go-judge's flag names, Go's flag syntax, `ES_*` environment variables.
//!
//! `shardbox [flags]` runs the server (as does `shardbox serve [flags]`); other subcommands
//! (e.g. a future `shardbox vm run <elf>`) are added to [`Command`] without changing that. Flags
//! may be spelled `-flag value`, `-flag=value`, `--flag value` or `--flag=value`, as Go's flag
//! package accepts: [`normalize_args`] rewrites a single leading dash of a known long name
//! before clap parses. Booleans take `-silent`, `-silent=true` or `-silent=false`. Durations use
//! Go's syntax (`300ms`, `10s`, `1m30s`). Each flag can also come from an environment variable
//! named like go-judge's (`ES_HTTP_ADDR`, `ES_PARALLELISM`, `ES_AUTH_TOKEN`, ...); a flag on the
//! command line wins.
//!
//! [`main`] parses, sets up logging (`tracing`; `-silent` turns it off, `-release` keeps info and
//! above, `RUST_LOG` overrides both) and runs the server, returning the process exit code.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{self, ServerConfig};
use crate::limits;

/// shardbox: a thread-per-core io_uring server that runs untrusted code (go-judge compatible).
#[derive(Debug, Parser)]
#[command(name = "shardbox", version, args_conflicts_with_subcommands = true)]
#[command(
    after_help = "Flags take one or two dashes (-http-addr or --http-addr), as go-judge's do.\n\
Every flag can also be set from the environment variable shown; a flag given on the command line wins."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

/// Subcommands. Without one, `shardbox` runs the server.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default when no subcommand is given).
    Serve(Box<ServeArgs>),
    /// RISC-V VM tools: `shardbox vm run prog.elf [-- args]` runs a guest program once.
    Vm(crate::vm_cmd::VmArgs),
}

/// Flags of the server.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (host:port; ":5050" for all interfaces). Default: localhost:5050,
    /// or :5050 when the server is pid 1 (in a container), as go-judge.
    #[arg(long = "http-addr", env = "ES_HTTP_ADDR", value_name = "ADDR")]
    pub http_addr: Option<String>,

    /// Number of shards (threads, each pinned to a CPU with its own ring). Default: CPUs available.
    #[arg(long, env = "ES_PARALLELISM", value_name = "N")]
    pub parallelism: Option<usize>,

    /// Require "Authorization: Bearer TOKEN" on protected routes (/run, /file, /metrics).
    /// /version, /config, /healthz and /hello stay public.
    #[arg(
        long = "auth-token",
        env = "ES_AUTH_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub auth_token: Option<String>,

    /// Turn logging off.
    #[arg(long, env = "ES_SILENT", num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
    pub silent: bool,

    /// Release mode logging: info and above (default: debug and above).
    #[arg(long, env = "ES_RELEASE", num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
    pub release: bool,

    /// Connections per shard; beyond it new connections get 503 and are closed.
    #[arg(long = "shard-conns-max", env = "ES_SHARD_CONNS_MAX", default_value_t = limits::SHARD_CONNS_DEFAULT,
          value_name = "N")]
    pub shard_conns_max: u32,

    /// Close a keep-alive connection idle this long.
    #[arg(long = "idle-timeout", env = "ES_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration,
          value_name = "DURATION")]
    pub idle_timeout: Duration,

    /// Answer 408 and close when a request head takes longer than this from its first byte.
    #[arg(long = "header-timeout", env = "ES_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration,
          value_name = "DURATION")]
    pub header_timeout: Duration,

    /// Answer 408 and close when a request body pauses longer than this.
    #[arg(long = "body-timeout", env = "ES_BODY_TIMEOUT", default_value = "30s", value_parser = parse_duration,
          value_name = "DURATION")]
    pub body_timeout: Duration,

    /// Answer 408 and close when a request body arrives slower than this many bytes per second
    /// on average, after a grace of -body-timeout (0: no minimum)
    #[arg(long = "body-rate-min", env = "ES_BODY_RATE_MIN",
          default_value_t = limits::BODY_BYTES_PER_SEC_MIN_DEFAULT, value_name = "BYTES_PER_SEC")]
    pub body_bytes_per_sec_min: u64,

    /// Close a connection whose response makes no progress for this long (client not reading).
    #[arg(long = "write-timeout", env = "ES_WRITE_TIMEOUT", default_value = "30s", value_parser = parse_duration,
          value_name = "DURATION")]
    pub write_timeout: Duration,

    /// On SIGTERM/SIGINT, wait this long for in-flight requests before closing everything.
    #[arg(long = "shutdown-timeout", env = "ES_SHUTDOWN_TIMEOUT", default_value = "30s",
          value_parser = parse_duration, value_name = "DURATION")]
    pub shutdown_timeout: Duration,

    /// Largest request head in bytes (431 beyond).
    #[arg(long = "header-bytes-max", env = "ES_HEADER_BYTES_MAX",
          default_value_t = shardbox_http::limits::HEADER_BYTES_MAX, value_name = "BYTES")]
    pub header_bytes_max: usize,

    /// Most header lines in a request (431 beyond).
    #[arg(long = "headers-count-max", env = "ES_HEADERS_COUNT_MAX",
          default_value_t = shardbox_http::limits::HEADERS_COUNT_MAX, value_name = "N")]
    pub headers_count_max: usize,

    /// Largest request body in bytes (413 beyond).
    #[arg(long = "body-bytes-max", env = "ES_BODY_BYTES_MAX", default_value_t = shardbox_http::limits::BODY_BYTES_MAX,
          value_name = "BYTES")]
    pub body_bytes_max: u64,

    /// Bytes one shard's request bodies still arriving may hold in all; past it a new body
    /// gets 503 and a close (a body alone is always allowed).
    #[arg(long = "shard-bodies-bytes-max", env = "ES_SHARD_BODIES_BYTES_MAX",
          default_value_t = limits::SHARD_BODIES_BYTES_DEFAULT, value_name = "BYTES")]
    pub shard_bodies_bytes_max: u64,

    /// Bytes one shard's deferred replies (/run answers) not yet read by their clients may
    /// hold in all; past it a new one is replaced by 503 (a reply alone is always sent)
    #[arg(long = "shard-replies-bytes-max", env = "ES_SHARD_REPLIES_BYTES_MAX",
          default_value_t = limits::SHARD_REPLIES_BYTES_DEFAULT, value_name = "BYTES")]
    pub shard_replies_bytes_max: u64,

    /// Provided receive buffers per shard (a power of two).
    #[arg(long = "recv-buffers", env = "ES_RECV_BUFFERS", default_value_t = limits::RECV_BUFFERS_DEFAULT,
          value_name = "N")]
    pub recv_buffers: u32,

    /// Bytes per provided receive buffer.
    #[arg(long = "recv-buffer-bytes", env = "ES_RECV_BUFFER_BYTES", default_value_t = limits::RECV_BUFFER_BYTES_DEFAULT,
          value_name = "BYTES")]
    pub recv_buffer_bytes: u32,

    /// listen(2) backlog per shard.
    #[arg(long = "listen-backlog", env = "ES_LISTEN_BACKLOG", default_value_t = limits::LISTEN_BACKLOG,
          value_name = "N")]
    pub listen_backlog: i32,

    /// Pin each shard to its own CPU.
    #[arg(long = "pin-shards", env = "ES_PIN_SHARDS", num_args = 0..=1, require_equals = true,
          default_value = "true", default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
    pub pin_shards: bool,

    /// Scheduler time slice each shard thread asks for (Linux 6.12+; 100us..100ms, 0 = the
    /// kernel's default). Short: a shard that wakes on a CPU busy with another task (a load
    /// generator, a build, a judged program) may preempt it instead of waiting for that task's
    /// slice to end. Its share of the CPU does not change.
    #[arg(long = "shard-slice", env = "ES_SHARD_SLICE", default_value = "0", value_parser = parse_duration,
          value_name = "DURATION")]
    pub shard_slice: Duration,

    /// Completions a busy shard waits for at once (1..=16; 1 = off). After a loop turn of 16 or
    /// more completions the shard sleeps until this many requests are in, saving wake-ups and
    /// CPU under load; when a busy spell ends, up to N-1 requests may wait -wait-batch-bound
    /// once. Latency-sensitive servers: 1.
    #[arg(long = "wait-batch", env = "ES_WAIT_BATCH",
          default_value_t = limits::WAIT_BATCH_COMPLETIONS_DEFAULT, value_name = "COMPLETIONS")]
    pub wait_batch: u32,

    /// Longest a batched wait holds the requests it has (100us..10ms).
    #[arg(long = "wait-batch-bound", env = "ES_WAIT_BATCH_BOUND", default_value = "10ms",
          value_parser = parse_duration, value_name = "DURATION")]
    pub wait_batch_bound: Duration,

    /// The judge's flags (containers, file store, workers).
    #[command(flatten)]
    pub judge: crate::judge::JudgeArgs,
}

/// Parses a Go duration: a sequence of decimal numbers with units `ns`, `us`/`µs`, `ms`, `s`,
/// `m`, `h` (e.g. `1m30s`, `1.5s`, `300ms`); a bare `0` is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err("empty duration".to_owned());
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len =
            rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if number_len == 0 {
            return Err(format!("invalid duration {text:?}: expected a number"));
        }
        let (number, after) = rest.split_at(number_len);
        let value: f64 = number.parse().map_err(|_| format!("invalid duration {text:?}"))?;
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("missing unit in duration {text:?} (e.g. 10s, 500ms)")),
            other => return Err(format!("unknown unit {other:?} in duration {text:?}")),
        };
        total += value * scale;
        rest = after;
    }
    Duration::try_from_secs_f64(total).map_err(|_| format!("duration {text:?} out of range"))
}

/// Rewrites `-name` / `-name=value` to `--name` / `--name=value` for every long flag the
/// command knows, as Go's flag package accepts both. Stops at `--`.
pub fn normalize_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let command = Cli::command();
    let mut long_names: Vec<String> = Vec::new();
    let mut collect = |cmd: &clap::Command| {
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long() {
                long_names.push(long.to_owned());
            }
        }
    };
    collect(&command);
    for sub in command.get_subcommands() {
        collect(sub);
    }
    long_names.extend(["help".to_owned(), "version".to_owned()]);
    let mut done = false;
    args.into_iter()
        .enumerate()
        .map(|(position, arg)| {
            if position == 0 || done {
                return arg;
            }
            if arg == "--" {
                done = true;
                return arg;
            }
            match arg.strip_prefix('-') {
                Some(rest) if !rest.starts_with('-') => {
                    let name = rest.split('=').next().unwrap_or(rest);
                    if name.len() > 1 && long_names.iter().any(|long| long == name) {
                        format!("-{arg}")
                    } else {
                        arg
                    }
                }
                _ => arg,
            }
        })
        .collect()
}

/// The listen address when `-http-addr` is not given. As pid 1 the server is most likely a
/// container's main process, reachable only through the container's interface (go-judge
/// listens on all interfaces then too); elsewhere it stays private to the machine.
fn default_addr(pid: u32) -> &'static str {
    if pid == 1 { ":5050" } else { "localhost:5050" }
}

impl ServeArgs {
    /// The server configuration these flags describe.
    pub fn to_config(&self) -> Result<ServerConfig, config::ConfigError> {
        let defaults = ServerConfig::default();
        Ok(ServerConfig {
            addr: config::resolve_addr(
                self.http_addr.as_deref().unwrap_or(default_addr(std::process::id())),
            )?,
            parallelism: self.parallelism.unwrap_or(defaults.parallelism),
            auth_token: self.auth_token.clone().filter(|token| !token.is_empty()),
            shard_conns_max: self.shard_conns_max,
            idle_timeout: self.idle_timeout,
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            body_bytes_per_sec_min: self.body_bytes_per_sec_min,
            write_timeout: self.write_timeout,
            shutdown_timeout: self.shutdown_timeout,
            header_bytes_max: self.header_bytes_max,
            headers_count_max: self.headers_count_max,
            body_bytes_max: self.body_bytes_max,
            shard_bodies_bytes_max: self.shard_bodies_bytes_max,
            shard_replies_bytes_max: self.shard_replies_bytes_max,
            recv_buffers: self.recv_buffers,
            recv_buffer_bytes: self.recv_buffer_bytes,
            listen_backlog: self.listen_backlog,
            pin_shards: self.pin_shards,
            shard_slice: self.shard_slice,
            wait_batch_completions: self.wait_batch,
            wait_batch_bound: self.wait_batch_bound,
            handle_signals: true,
            routes: defaults.routes,
        })
    }
}

fn init_logging(args: &ServeArgs) {
    if args.silent {
        return;
    }
    let default = if args.release { "info" } else { "debug" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}

/// Parses `args` (program name first).
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Cli, clap::Error> {
    let matches = Cli::command().try_get_matches_from(normalize_args(args))?;
    Cli::from_arg_matches(&matches)
}

/// Entry point of the `shardbox` binary: parse, log, serve. Returns the exit code.
pub fn main() -> ExitCode {
    let cli = match parse(std::env::args()) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let args = match &cli.command {
        Some(Command::Serve(args)) => args,
        Some(Command::Vm(vm)) => return crate::vm_cmd::main(vm),
        None => &cli.serve,
    };
    init_logging(args);
    let config = match args.to_config().and_then(|config| config.validate().map(|()| config)) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("shardbox: {error}");
            return ExitCode::from(2);
        }
    };
    // The judge starts here, on the main thread (which lives as long as the server) and before
    // any shard allocates: its container helper is spawned while the process is small. Its
    // threads must not take SIGTERM/SIGINT (the default action would kill the process before
    // the graceful shutdown), so the signals are blocked first, as `server::run` does for the
    // shards; the container helper unblocks them for itself and its programs.
    if config.handle_signals
        && let Err(error) = crate::sys::block_shutdown_signals()
    {
        eprintln!("shardbox: blocking the shutdown signals: {error}");
        return ExitCode::FAILURE;
    }
    // A memory file store holds one descriptor per file: raise the limit for it too, and size
    // the store to the descriptors the connections and runs leave.
    let store_fds = shardbox_sandbox::limits::FILE_STORE_FILES_MAX as u64;
    let wanted = config.fds_needed() + limits::JUDGE_RUN_FDS_RESERVE + store_fds;
    let fds_room = match crate::sys::raise_nofile_limit(wanted) {
        Ok(limit) => limit.saturating_sub(config.fds_needed() + limits::JUDGE_RUN_FDS_RESERVE),
        Err(error) => {
            tracing::warn!(%error, "could not raise RLIMIT_NOFILE");
            0
        }
    };
    let judge = match crate::judge::Judge::start(&args.judge, config.parallelism, fds_room) {
        Ok(judge) => judge,
        Err(error) => {
            eprintln!("shardbox: {error}");
            return ExitCode::from(2);
        }
    };
    let routes_judge = std::sync::Arc::clone(&judge);
    let config = ServerConfig {
        routes: std::sync::Arc::new(move |shard: &crate::router::ShardInfo| {
            crate::judge::routes(shard, &routes_judge)
        }),
        ..config
    };
    let result = crate::server::run(config);
    drop(judge);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "shardbox failed");
            eprintln!("shardbox: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        std::iter::once("shardbox").chain(list.iter().copied()).map(str::to_owned).collect()
    }

    fn serve(list: &[&str]) -> ServeArgs {
        let cli = parse(args(list)).expect("parses");
        match cli.command {
            Some(Command::Serve(args)) => *args,
            Some(Command::Vm(_)) | None => cli.serve,
        }
    }

    #[test]
    fn single_and_double_dashes_both_work() {
        let a =
            serve(&["-http-addr", "127.0.0.1:1", "-parallelism=3", "--auth-token", "t", "-silent"]);
        assert_eq!(a.http_addr.as_deref(), Some("127.0.0.1:1"));
        assert_eq!(a.parallelism, Some(3));
        assert_eq!(a.auth_token.as_deref(), Some("t"));
        assert!(a.silent);
        let b = serve(&["--http-addr=127.0.0.1:2", "-release=1", "-silent=false"]);
        assert_eq!(b.http_addr.as_deref(), Some("127.0.0.1:2"));
        assert!(b.release);
        assert!(!b.silent);
    }

    #[test]
    fn defaults_match_the_embedded_config() {
        let a = serve(&[]);
        assert_eq!(a.http_addr, None);
        assert_eq!(default_addr(1), ":5050", "pid 1 (a container): all interfaces, as go-judge");
        assert_eq!(default_addr(2), "localhost:5050");
        let config = a.to_config().expect("config");
        let defaults = ServerConfig::default();
        assert_eq!(config.shard_conns_max, defaults.shard_conns_max);
        assert_eq!(config.idle_timeout, defaults.idle_timeout);
        assert_eq!(config.header_timeout, defaults.header_timeout);
        assert_eq!(config.body_timeout, defaults.body_timeout);
        assert_eq!(config.write_timeout, defaults.write_timeout);
        assert_eq!(config.shutdown_timeout, defaults.shutdown_timeout);
        assert_eq!(config.body_bytes_max, defaults.body_bytes_max);
        assert_eq!(config.pin_shards, defaults.pin_shards);
        assert_eq!(config.shard_slice, defaults.shard_slice);
        assert_eq!(config.wait_batch_completions, defaults.wait_batch_completions);
        assert_eq!(config.wait_batch_bound, defaults.wait_batch_bound);
        assert!(config.addr.ip().is_loopback());
        assert_eq!(config.addr.port(), 5050);
        config.validate().expect("valid");
    }

    #[test]
    fn subcommand_and_flags_coexist() {
        let a = serve(&["serve", "-idle-timeout", "1m30s", "-shard-slice", "250us"]);
        assert_eq!(a.idle_timeout, Duration::from_secs(90));
        assert_eq!(a.shard_slice, Duration::from_micros(250));
        assert!(parse(args(&["-no-such-flag"])).is_err());
        assert!(parse(args(&["-parallelism", "x"])).is_err());
    }

    #[test]
    fn wait_batch_flags() {
        let a = serve(&["-wait-batch", "1", "-wait-batch-bound=500us"]);
        let config = a.to_config().expect("config");
        assert_eq!(config.wait_batch_completions, 1);
        assert_eq!(config.wait_batch_bound, Duration::from_micros(500));
        config.validate().expect("batching off, short bound: valid");
        let b = serve(&["--wait-batch=16", "--wait-batch-bound", "10ms"]);
        b.to_config().expect("config").validate().expect("the maximum is valid");
        let over = serve(&["-wait-batch", "17"]).to_config().expect("parses");
        assert!(over.validate().is_err(), "17 is parsed, then refused at start");
        assert!(parse(args(&["-wait-batch", "-1"])).is_err());
        assert!(parse(args(&["-wait-batch", "eight"])).is_err());
        assert!(parse(args(&["-wait-batch-bound", "10"])).is_err(), "a duration needs a unit");
    }

    #[test]
    fn only_known_names_are_rewritten() {
        let out = normalize_args(args(&["-http-addr=x", "-h", "-V", "-x", "--", "-silent"]));
        assert_eq!(out, args(&["--http-addr=x", "-h", "-V", "-x", "--", "-silent"]));
    }

    /// `docs/operations.md` has a row `| `-name` | `ES_NAME` | default | meaning |` for every
    /// flag, with the flag's environment variable and default, and no row for a flag that does
    /// not exist.
    #[test]
    fn every_flag_is_documented_in_operations_md() {
        let rows = crate::operations_doc::rows("`-");
        let command = Cli::command();
        let mut names = Vec::new();
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if long == "help" || long == "version" {
                continue;
            }
            let name = format!("`-{long}`");
            let row = rows
                .iter()
                .find(|cells| cells.get(1).map(String::as_str) == Some(name.as_str()))
                .unwrap_or_else(|| panic!("docs/operations.md has no row for -{long}"));
            let env = arg.get_env().map(|env| format!("`{}`", env.to_string_lossy()));
            assert_eq!(
                row.get(2).map(String::as_str),
                env.as_deref(),
                "environment variable of -{long}"
            );
            if let Some(default) = arg.get_default_values().first() {
                let documented = row.get(3).map(|cell| cell.replace('`', "")).unwrap_or_default();
                let default = default.to_string_lossy();
                assert!(
                    documented.split([' ', '(']).next() == Some(&*default),
                    "docs/operations.md gives -{long} the default {documented:?}, the code {default:?}"
                );
            }
            names.push(name);
        }
        for cells in &rows {
            let name = cells.get(1).map(String::as_str).unwrap_or_default();
            assert!(
                names.iter().any(|n| n == name),
                "docs/operations.md documents unknown flag {name}"
            );
        }
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }
}
