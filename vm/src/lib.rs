//! A RISC-V rv64 user-mode interpreter for the edge workload.
//!
//! Every edge request runs in a fresh [`Instance`] forked in O(1) from its tenant's frozen
//! [`Template`] and destroyed afterwards, under a mandatory instruction (fuel) budget and a page
//! budget. The pieces, bottom up:
//!
//! - [`elf`] parses static RISC-V ELF64 executables; [`program`] checks them against the
//!   budgets, pre-decodes their code ([`decode`], [`rvc`] → [`op`] in [`code`]) and boots them
//!   (segments, Linux initial stack).
//! - [`memory`] is the guest address window: 4 KiB pages from a shard's [`PagePool`],
//!   copy-on-write over a template, behind a small software TLB; the only `unsafe` of the crate.
//! - [`exec`] is the interpreter loop with per-block fuel; [`alu`] the semantics of the pure
//!   register ops, [`cpu`] its register state and [`fpu`] the F/D semantics.
//! - [`instance`] runs guests and serves `ecall`s: [`linux`] (the Linux subset), [`hostcall`]
//!   (shardbox calls 500..=513) and the embedder's [`Host`].
//! - [`template`] freezes an initialised program and forks it.
//!
//! ```no_run
//! use shardbox_vm::{Captured, Config, Outcome, run_program};
//! let elf = std::fs::read("hello.elf").expect("read");
//! let mut host = Captured::default();
//! let (outcome, stats) = run_program(&elf, &Config::default(), &[b"hello"], &[], 1_000_000, &mut host)?;
//! assert_eq!(outcome, Outcome::Exited(0));
//! println!("{} instructions, stdout {:?}", stats.instret, host.stdout);
//! # Ok::<(), shardbox_vm::LoadError>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing))]

pub mod alu;
pub mod code;
pub mod cpu;
pub mod decode;
pub mod elf;
pub mod exec;
pub mod fpu;
pub mod fuse;
pub mod hostcall;
pub mod instance;
pub mod limits;
pub mod linux;
pub mod memory;
pub mod op;
pub mod program;
#[cfg(feature = "props")]
#[doc(hidden)]
pub mod props;
pub mod rvc;
pub mod template;

pub use exec::TrapKind;
pub use instance::{Captured, Guest, Host, HostResult, Instance, NullHost, Outcome, SeededRandom};
pub use program::{Config, LoadError, Program};
pub use shardbox_alloc::PagePool;
pub use template::{Stats, Template, TemplateError, run_program};
