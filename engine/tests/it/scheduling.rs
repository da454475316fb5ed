//! How shard threads ask the kernel to schedule them: the time slice (`-shard-slice`) and the
//! CPU pinning (`-pin-shards`), read back from `/proc/self/task/<tid>/{sched,status}` of the
//! thread named `shard-1`. No timing: these check settings, not their effect.

use std::time::Duration;

use shardbox_engine::config::ServerConfig;

use crate::harness::{PATIENCE, TestServer, test_config};

/// The tid of this process's thread named `name`, once it exists.
fn thread_named(name: &str) -> u32 {
    let started = std::time::Instant::now();
    loop {
        let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim_end() == name {
                return task.file_name().to_string_lossy().parse().expect("tid");
            }
        }
        assert!(started.elapsed() < PATIENCE, "no thread named {name}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The `se.slice` line of a thread's scheduler debug file, in ns; `None` when the kernel does
/// not show it (no `CONFIG_SCHED_DEBUG`, or a kernel before EEVDF).
fn slice_ns(tid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/sched")).ok()?;
    let line = text.lines().find(|line| line.trim_start().starts_with("se.slice"))?;
    line.split(':').nth(1)?.trim().parse().ok()
}

/// Whether the kernel honours a custom slice (Linux 6.12+): `sched_setattr` on this thread
/// with `sched_runtime` either shows up in `se.slice` or it does not.
fn custom_slices_supported() -> bool {
    let me = rustix::thread::gettid().as_raw_nonzero().get() as u32;
    slice_ns(me).is_some() && kernel_at_least(6, 12)
}

fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release.trim().split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a, b) >= (major, minor)
}

/// One test for both cases: only these servers run a second shard in this test binary, so
/// the thread named `shard-1` is theirs.
#[test]
fn shard_threads_ask_for_the_configured_slice() {
    if !custom_slices_supported() {
        println!(
            "SKIP shard_threads_ask_for_the_configured_slice: this kernel does not show se.slice \
             in /proc/<pid>/task/<tid>/sched or predates custom slices (Linux 6.12)"
        );
        return;
    }
    let me = rustix::thread::gettid().as_raw_nonzero().get() as u32;
    let default = slice_ns(me).expect("this thread's slice");
    assert_ne!(default, 250_000, "the kernel's default slice is the one this test sets");
    for (slice, wanted) in [(Duration::from_micros(250), 250_000), (Duration::ZERO, default)] {
        let config = ServerConfig { parallelism: 2, shard_slice: slice, ..test_config() };
        let server = TestServer::start(config);
        assert_eq!(server.connect().get("/hello").status, 200);
        let tid = thread_named("shard-1");
        assert_eq!(slice_ns(tid), Some(wanted), "shard-1's slice with -shard-slice {slice:?}");
        server.stop().expect("clean stop");
    }
}
