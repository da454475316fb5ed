//! Integration tests of the container layer: real containers, as root.
//!
//! This binary is its own container helper: `main` first calls `zygote::hook()` (the zygote is a
//! re-exec of `/proc/self/exe`), then runs the tests with libtest-mimic (`harness = false`).
//! Tests run one at a time: several count host processes, mounts and cgroups. Without root,
//! user namespaces or cgroups, every test is reported ignored and the reason is printed.

mod attacks;
mod copy;
mod exec;
mod harness;
mod isolation;
mod judge;
mod leaks;
mod limits;
mod pool;

use libtest_mimic::{Arguments, Trial};

fn main() {
    shardbox_sandbox::zygote::hook();
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let skip = harness::skip_reason();
    if let Some(reason) = &skip {
        eprintln!("SKIPPING sandbox integration tests: {reason}");
    }
    let mut trials: Vec<Trial> = Vec::new();
    trials.extend(exec::tests());
    trials.extend(copy::tests());
    trials.extend(limits::tests());
    trials.extend(isolation::tests());
    trials.extend(leaks::tests());
    trials.extend(pool::tests());
    trials.extend(attacks::tests());
    trials.extend(judge::tests());
    let trials = trials.into_iter().map(|t| t.with_ignored_flag(skip.is_some())).collect();
    libtest_mimic::run(&args, trials).exit();
}
