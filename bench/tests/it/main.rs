//! Integration tests of the load generator: the response parser on split, pipelined and
//! chunked input; real runs against small servers started by the tests (counts, error
//! detection, bounds); CPU accounting from `/proc`; the command line's exit codes; and that a
//! run allocates nothing per request; the judge floor servers.

mod alloc;
mod bounds;
mod cli;
mod cpu;
mod judge_floor;
mod parser;
mod run;
mod server;

/// Counts every allocation of this test binary (see `alloc`); otherwise the system allocator.
#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;
