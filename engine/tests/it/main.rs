//! Integration tests of the `shardbox` server through real sockets: an in-process server on an
//! ephemeral loopback port, or the real binary (`CARGO_BIN_EXE_shardbox`) as a child process.

mod alloc;
mod attacks;
mod bad_input;
mod batching;
mod capacity;
mod cli;
mod clients;
mod downloads;
mod exhaustion;
mod fairness;
mod harness;
mod judge;
mod pipelining;
mod routes;
mod scheduling;
mod shutdown;
mod timeouts;
mod vm_run;
