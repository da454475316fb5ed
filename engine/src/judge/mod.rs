//! The judge endpoints: go-judge's `POST /run` and `/file` API on the engine.
//!
//! [`Judge::start`] runs once, on the main thread, before any shard starts (the container helper
//! must be spawned while the process is small, from a thread that lives as long as the server):
//! it starts the container [`Pool`], opens the [`FileStore`] and starts the [`Workers`]. [`routes`]
//! then gives each shard its route table: the built-in routes plus
//!
//! ```text
//!  POST   /run         token   body copied off the connection → worker: parse, run, encode
//!  GET    /file        token   inline: the store's {id: name} listing
//!  POST   /file        token   worker: multipart field "file" → store → "ID"
//!  GET    /file/{id}   token   worker: the bytes, Content-Disposition: attachment
//!  DELETE /file/{id}   token   inline
//!  GET    /version     public  go-judge's feature flags (what works is true)
//!  GET    /config      public  the flags, fileStorePath and runnerConfig (the pool's info)
//! ```
//!
//! Blocking work never runs on a shard: a handler hands a job to the [`Workers`] and returns
//! `Reply::Later` with a future that awaits the job's answer through an
//! `executor::channel` (the worker wakes the shard's ring through an eventfd). If the client
//! goes away first, the future is dropped and the run's [`shardbox_sandbox::Canceller`] fires, killing its
//! programs (go-judge cancels the request context the same way).
//!
//! Every library error becomes an HTTP status in one exhaustive match per error type
//! ([`run::request_error`], [`run::run_error`], [`file::store_error`]); bodies are JSON strings
//! as go-judge's `AbortWithStatusJSON` writes them. Modules: [`flags`], [`workers`], [`run`],
//! [`file`](mod@self::file).

pub mod file;
pub mod flags;
pub mod run;
pub mod workers;

use std::sync::Arc;

use shardbox_http::Method;
use shardbox_sandbox::filestore::{FileStore, StoreError};
use shardbox_sandbox::model::ParseOptions;
use shardbox_sandbox::{Pool, StartError};

use crate::endpoints::{self, Features, static_handler};
use crate::response::StaticResponse;
use crate::router::{Access, PathPattern, Response, Router, ShardInfo};
pub use flags::JudgeArgs;
use workers::Workers;

/// What the judge implements, as go-judge's feature flags (`/version`, `/config`).
pub const FEATURES: Features = Features {
    address_space_limit: true,
    copy_out_optional: true,
    copy_out_truncate: true,
    fix_symlink_escape: true,
    pipe_proxy: true,
    pipe_proxy_zero_copy: true,
    proc_peak: true,
    stream: false,
    symlink: true,
};

/// The `Content-Type` of the judge's JSON bodies.
pub const JSON: &str = shardbox_sandbox::result::CONTENT_TYPE;

/// Why the judge could not start.
#[derive(Debug, thiserror::Error)]
pub enum JudgeStartError {
    /// The file store could not be opened (e.g. `-dir` not writable).
    #[error("file store: {0}")]
    Store(#[from] StoreError),
    /// The worker threads could not be started.
    #[error("worker threads: {0}")]
    Workers(#[source] std::io::Error),
    /// The container pool could not start and the server must not run without it: its
    /// configuration is invalid (flags, mount file), or `-no-fallback` was given.
    #[error("container pool: {0}")]
    Pool(#[source] StartError),
}

/// Whether a pool that failed to start stops the server. Invalid configuration always does (an
/// operator's mistake is reported at once, not by every run); a machine that cannot build
/// containers (no root, no user namespaces) keeps go-judge's behaviour of serving and answering
/// every run with `Internal Error`, unless `-no-fallback` asks for strictness.
fn pool_failure_is_fatal(e: &StartError, no_fallback: bool) -> bool {
    match e {
        StartError::Mounts(_)
        | StartError::Size { .. }
        | StartError::UidRange
        | StartError::Cgroup(_) => true,
        StartError::RootDir(_) | StartError::Zygote(_) | StartError::PreFork(_) => no_fallback,
    }
}

/// What the workers share: the containers, the store and the request options.
#[derive(Debug)]
pub struct Core {
    /// The container pool, or why it could not start (runs then report Internal Error).
    pub pool: Result<Pool, String>,
    /// The file store.
    pub store: FileStore,
    /// Request parsing options (`-src-prefix`, `-copy-out-limit`).
    pub parse: ParseOptions,
    /// The pool's `containers_max`.
    pub containers_max: usize,
}

/// The judge: its workers and their shared [`Core`].
#[derive(Debug)]
pub struct Judge {
    // Field order is drop order: the workers finish their jobs before the core can go.
    workers: Workers,
    core: Arc<Core>,
    config_body: Vec<u8>,
}

impl Judge {
    /// Starts the pool, the store and `parallelism` workers; see the module documentation. A
    /// pool that cannot start on this machine is logged and reported by every run (as go-judge
    /// does when it cannot create containers) unless `pool_failure_is_fatal` says otherwise; a
    /// store that cannot open stops the server. Running without cgroups (the rlimit fallback) is
    /// logged as a warning and reported in `/config` as `cgroupType` 0. `store_fds` is how
    /// many descriptors a memory store may hold (one per file; `JudgeArgs::store_config_within`).
    pub fn start(
        args: &JudgeArgs,
        parallelism: usize,
        store_fds: u64,
    ) -> Result<Arc<Judge>, JudgeStartError> {
        let sandbox = args.sandbox_config(parallelism);
        let containers_max = sandbox.containers_max;
        let pool = match Pool::new(sandbox) {
            Ok(pool) => {
                let info = pool.info();
                if info.cgroup_type == 0 {
                    tracing::warn!(
                        "no usable cgroups: limits fall back to rlimits (CPU time to whole \
                         seconds, memory by RLIMIT_DATA, no memory peak); /config reports \
                         cgroupType 0"
                    );
                } else {
                    tracing::info!(
                        cgroup_type = info.cgroup_type,
                        controllers = %info.cgroup_controllers.join(","),
                        "container pool started"
                    );
                }
                Ok(pool)
            }
            Err(e) if pool_failure_is_fatal(&e, args.no_fallback) => {
                return Err(JudgeStartError::Pool(e));
            }
            Err(e) => {
                tracing::error!(error = %e, "the container pool did not start; /run will report Internal Error");
                // Callers see no host paths (mount file, cgroup directories); the log has them.
                Err(e.caller_text())
            }
        };
        let store = FileStore::open(args.store_config_within(store_fds))?;
        let workers = Workers::new(
            args.workers(parallelism),
            args.worker_queue_max,
            args.worker_queue_bytes_max,
        )
        .map_err(JudgeStartError::Workers)?;
        let store_path = args.dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default();
        let runner_config = pool.as_ref().ok().and_then(|p| sonic_rs::to_string(p.info()).ok());
        let config_body = config_body(&store_path, runner_config.as_deref());
        let core = Arc::new(Core { pool, store, parse: args.parse_options(), containers_max });
        Ok(Arc::new(Judge { workers, core, config_body }))
    }

    /// The shared core.
    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// The worker pool.
    pub fn workers(&self) -> &Workers {
        &self.workers
    }
}

/// The `/config` body: [`endpoints::config_body`] with the file store path and `runnerConfig`
/// (omitted when the pool did not start) in their sorted places.
fn config_body(store_path: &str, runner_config: Option<&str>) -> Vec<u8> {
    let base = endpoints::config_body(&FEATURES);
    let mut text = String::from_utf8_lossy(&base).into_owned();
    let mut path = Vec::new();
    shardbox_sandbox::result::write_json_string(&mut path, store_path.as_bytes());
    text = text.replace(
        r#""fileStorePath":"""#,
        &format!(r#""fileStorePath":{}"#, String::from_utf8_lossy(&path)),
    );
    if let Some(rc) = runner_config {
        text = text.replace(r#","stream":"#, &format!(r#","runnerConfig":{rc},"stream":"#));
    }
    text.into_bytes()
}

/// A JSON-string error body (go-judge's `AbortWithStatusJSON(status, message)`).
pub fn error_response(status: u16, message: &str) -> Response {
    Response::new(status, JSON, shardbox_sandbox::result::error_body(message))
}

/// An empty-bodied response (go-judge's `/file` 400 and 404).
pub fn empty_response(status: u16) -> Response {
    Response::new(status, "text/plain; charset=utf-8", Vec::new())
}

/// One shard's routes: the built-in ones plus the judge's; see the module documentation.
pub fn routes(shard: &ShardInfo, judge: &Arc<Judge>) -> Router {
    let json = |body: Vec<u8>| {
        StaticResponse::new(200, vec![(&b"Content-Type"[..], JSON.as_bytes().to_vec())], body)
    };
    endpoints::base_routes(shard)
        .get("/version", Access::Public, static_handler(json(endpoints::version_body(&FEATURES))))
        .get("/config", Access::Public, static_handler(json(judge.config_body.clone())))
        .add(PathPattern::Exact("/run"), Access::Token, Method::Post, run::handler(judge))
        .get("/file", Access::Token, file::list_handler(judge))
        .add(PathPattern::Exact("/file"), Access::Token, Method::Post, file::upload_handler(judge))
        .add(
            PathPattern::Prefix("/file/"),
            Access::Token,
            Method::Get,
            file::download_handler(judge),
        )
        .add(
            PathPattern::Prefix("/file/"),
            Access::Token,
            Method::Delete,
            file::delete_handler(judge),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_has_the_store_path_and_runner_config_in_sorted_place() {
        let body = config_body("/data/store", Some(r#"{"cgroupType":1}"#));
        let text = String::from_utf8(body).expect("utf-8");
        assert!(text.contains(r#""fileStorePath":"/data/store""#), "{text}");
        assert!(
            text.contains(r#""procPeak":true,"runnerConfig":{"cgroupType":1},"stream":false"#),
            "{text}"
        );
        let v: sonic_rs::Value = sonic_rs::from_str(&text).expect("JSON");
        use sonic_rs::JsonValueTrait;
        assert_eq!(v.get("pipeProxy").and_then(|b| b.as_bool()), Some(true));
        let without = String::from_utf8(config_body("", None)).expect("utf-8");
        assert!(!without.contains("runnerConfig"), "{without}");
    }
}
