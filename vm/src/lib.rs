//! A RISC-V rv64 user-mode interpreter for the edge workload.
//!
//! Every edge request runs in a fresh `Instance` forked in O(1) from its tenant's frozen `Template`
//! and destroyed afterwards, under a mandatory instruction (fuel) budget and a page budget.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing))]

pub mod fpu;
