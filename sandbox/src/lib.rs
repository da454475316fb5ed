//! Linux containers for the judge workload, and the go-judge request model.
//!
//! Judge semantics (go-judge compatibility) live in their own modules: [`model`] parses and
//! validates `POST /run` bodies, [`run`] runs them in containers (files, collectors, pipes,
//! copy-in/out), [`status`] decides a result's status, [`result`] encodes results exactly as
//! go-judge does, and [`filestore`] keeps `/file` uploads and cached outputs. [`limits`] names
//! every bound.
//!
//! The code here is blocking Linux calls meant to run outside a shard's event loop, or pure logic.
//! It has no async runtime dependency; the `engine` crate decides where and when it runs.
//!
//! # Container layer
//!
//! ```text
//!  server main() ── zygote::hook() (first statement: helper mode → runs the zygote, exits)
//!        │
//!  Pool::new(SandboxConfig) ── spawns /proc/self/exe --shardbox-container-helper (the zygote)
//!        │                      builds pre_fork containers, replenishes in the background
//!  Pool::get() → PooledContainer (Deref<Target = Container>; drop = reset + back to the pool)
//!        │
//!  Container::{open_write, copy_in, symlink, open_read, run(ExecRequest) → ExecOutcome, reset}
//! ```
//!
//! Modules: [`zygote`] (helper process + host handle), `init` (pid 1 of a container),
//! [`protocol`] (sans-IO wire format), [`container`] (host-side handle, limits enforcement),
//! [`pool`], [`cgroup`] (v1 + v2), [`mounts`] (the root), [`seccomp`], [`exec`] (request,
//! limits, outcome), [`config`], [`info`] (for `/config`), [`limits`], `sys` (raw syscalls).
//! Security layers and what they stop: `docs/security.md`.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing))]

pub mod cgroup;
pub mod config;
pub mod container;
pub mod exec;
pub mod filestore;
pub mod info;
mod init;
pub mod limits;
pub mod model;
pub mod mounts;
pub mod pool;
#[cfg(any(test, feature = "props"))]
#[doc(hidden)]
pub mod props;
pub mod protocol;
pub mod result;
pub mod run;
pub mod seccomp;
pub mod status;
mod sys;
pub mod zygote;

pub use config::{CgroupMode, SandboxConfig};
pub use container::{BrokenReason, Container, ContainerError};
pub use exec::{Canceller, ExecLimits, ExecOutcome, ExecRequest};
pub use info::SandboxInfo;
pub use pool::{Pool, PoolError, PooledContainer, StartError};
pub use protocol::{ExecStep, Step, WaitStatus};
