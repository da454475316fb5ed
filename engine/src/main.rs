//! The `shardbox` binary: `main` stays tiny; everything is in the `shardbox_engine` library.
//!
//! Its first statement is the sandbox's helper-mode hook: when the binary is re-executed as the
//! container helper, the hook runs it and never returns, before any shard allocates.

fn main() -> std::process::ExitCode {
    // First statement: in the container-helper mode this runs the zygote and never returns.
    shardbox_sandbox::zygote::hook();
    shardbox_engine::cli::main()
}
