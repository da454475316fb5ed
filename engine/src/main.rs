//! The `shardbox` server binary.
//!
//! One pinned shard per core, each with its own io_uring ring, listener, connections and pools.

fn main() {
    eprintln!("shardbox: the engine is not built yet (issue #2)");
    std::process::exit(1);
}
