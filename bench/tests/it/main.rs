//! Integration tests of the load generator: the response parser on split, pipelined and
//! chunked input; real runs against small servers started by the tests (counts, error
//! detection, bounds); CPU accounting from `/proc`; the command line's exit codes.

mod bounds;
mod cli;
mod cpu;
mod parser;
mod run;
mod server;
