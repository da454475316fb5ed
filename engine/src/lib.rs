//! The shardbox engine: a thread-per-core io_uring HTTP server.
//!
//! One **shard** per core: a pinned thread with its own io_uring ring, `SO_REUSEPORT` listener,
//! connections, timers and executor; shards share nothing on the request path.
//!
//! - [`ring`]: the ring, its op slots (every op owns its buffer until its CQE) and the
//!   provided-buffer ring. With [`sys`], the only modules with `unsafe`.
//! - [`shard`] runs the loop; [`conn`] holds connection state; `pipeline` parses requests in
//!   place and answers them in order; [`timer`] keeps deadlines in per-class FIFO lists driven by
//!   one ring timeout.
//! - [`router`] maps paths to handlers that answer inline or hand off to a task on the
//!   [`executor`] (the slow path); [`endpoints`] holds the built-in routes; [`judge`] the
//!   go-judge `/run` and `/file` endpoints (worker threads, container pool, file store);
//!   [`response`] writes responses with `shardbox_http`'s writer.
//! - [`metrics`]: per-shard counters merged at scrape; [`server`] binds and starts the shards;
//!   [`config`] and [`cli`] describe and parse the settings; [`limits`] names every limit.
//!
//! ```no_run
//! use shardbox_engine::{config::ServerConfig, server::Server};
//!
//! let server = Server::bind(ServerConfig { handle_signals: false, ..ServerConfig::default() })?;
//! let stop = server.shutdown_handle();
//! std::thread::spawn(move || { std::thread::sleep(std::time::Duration::from_secs(1)); stop.shutdown() });
//! server.run()?;
//! # Ok::<(), shardbox_engine::server::ServerError>(())
//! ```

#![deny(unsafe_code)]

pub mod cli;
pub mod config;
pub mod conn;
pub mod endpoints;
pub mod executor;
pub mod judge;
pub mod limits;
pub mod metrics;
#[cfg(test)]
mod operations_doc;
mod pipeline;
pub mod response;
#[expect(unsafe_code, reason = "the ring hands memory and descriptors to the kernel")]
pub mod ring;
pub mod router;
pub mod server;
pub mod shard;
#[expect(unsafe_code, reason = "mmap/munmap of the buffer ring memory")]
pub mod sys;
pub mod tag;
pub mod timer;
pub mod vm_cmd;
