//! Load generation and side-by-side comparisons for shardbox.
//!
//! This crate depends on nothing internal: it measures what a user sees, through HTTP/1.1 on
//! loopback. The pieces, bottom up:
//!
//! - [`response`]: an incremental response parser (status line, `Content-Length` or chunked
//!   bodies) that checks every response without allocating, optionally searching each body for
//!   a [`needle`];
//! - [`request`]: the target URL and the request bytes, built once;
//! - [`load`]: one event-loop thread driving closed-loop (optionally pipelined) connections;
//! - [`run`]: a whole run: validation against [`limits`], a probe, warm-up, the measured
//!   window, CPU sampling ([`cpu`]) and the merged [`run::RunReport`];
//! - [`compare`]: several targets interleaved over rounds, with medians and ratios;
//! - [`report`] and [`machine`]: text, markdown and CSV output and the record of where a
//!   number was taken;
//! - [`judge_floor`]: go-judge-shaped `/run` servers with no judge behind them (no sandbox, or
//!   a one-shot `bwrap`), the baselines of the judge benchmark.
//!
//! ```no_run
//! use shardbox_bench::request::Target;
//! use shardbox_bench::run::{RunConfig, run};
//! let config = RunConfig::new(Target::parse("http://127.0.0.1:8080/hello")?);
//! let report = run(&config)?;
//! println!("{:.0} req/s, {} errors", report.requests_per_second(), report.errors.total());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod compare;
pub mod cpu;
pub mod judge_floor;
pub mod limits;
pub mod load;
pub mod machine;
pub mod needle;
pub mod probe;
pub mod report;
pub mod request;
pub mod response;
pub mod run;
