//! The `shardbox` server binary.
//!
//! One pinned shard per core, each with its own io_uring ring, listener, connections and pools.

fn main() {
    // First statement: in the container-helper mode this runs the zygote and never returns.
    shardbox_sandbox::zygote::hook();
    eprintln!("shardbox: the engine is not built yet (issue #2)");
    std::process::exit(1);
}
