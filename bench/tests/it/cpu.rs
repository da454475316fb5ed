//! CPU accounting from `/proc`: listener discovery, descendants, user/system split.

use std::process::Command;
use std::time::{Duration, Instant};

use shardbox_bench::cpu::{CpuTime, MachineCpu, ProcessSet, pids_listening_on, read_proc_stat};

#[test]
fn finds_this_process_from_its_listening_port() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let pids = pids_listening_on(port).unwrap();
    assert_eq!(pids, vec![std::process::id()]);
    drop(listener);
    assert!(ProcessSet::listening_on(port).is_err(), "nobody listens any more");
}

#[test]
fn own_user_time_grows_while_spinning() {
    // Spin until the kernel has charged at least one tick (bounded), so a loaded machine
    // that gives this thread little CPU slows the test down rather than failing it.
    let before = read_proc_stat(std::process::id()).unwrap();
    let begin = Instant::now();
    let mut x = 0u64;
    let mut after = before;
    while after.utime == before.utime && begin.elapsed() < Duration::from_secs(20) {
        for _ in 0..1_000_000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        after = read_proc_stat(std::process::id()).unwrap();
    }
    assert!(after.utime > before.utime, "{before:?} -> {after:?}");
}

#[test]
fn descendants_are_charged_to_their_root() {
    use std::os::unix::process::CommandExt as _;
    // The root only waits; a child subshell spins (a bounded loop, and the whole process group
    // is killed at the end). Its CPU must show up in the root's set.
    let mut root = Command::new("sh")
        .arg("-c")
        .arg("(n=0; while [ $n -lt 20000000 ]; do n=$((n+1)); done) & wait")
        .process_group(0)
        .spawn()
        .unwrap();
    let group = rustix::process::Pid::from_raw(i32::try_from(root.id()).unwrap()).unwrap();
    let set = ProcessSet::new(vec![root.id()]).unwrap();
    let begin = Instant::now();
    let mut first = set.sample().unwrap();
    while first.pids().count() < 2 && begin.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
        first = set.sample().unwrap();
    }
    let children = first.pids().count();
    let begin = Instant::now();
    let mut used = CpuTime::default();
    while begin.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
        used = set.sample().unwrap().since(&first);
        if used != CpuTime::default() {
            break;
        }
    }
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    root.wait().unwrap();
    assert!(children >= 2, "root and the spinning child: {children}");
    assert!(used.user_ns + used.system_ns > 0, "{used:?}");
}

#[test]
fn a_missing_pid_is_refused() {
    assert!(ProcessSet::new(vec![u32::MAX - 1]).is_err());
}

#[test]
fn machine_counters_advance() {
    let a = MachineCpu::read().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let b = MachineCpu::read().unwrap();
    assert!(b.total > a.total);
    assert!((0.0..=100.0).contains(&b.steal_percent_since(&a)));
}

#[test]
fn reaped_children_are_charged_to_their_reaper() {
    use std::os::unix::process::CommandExt as _;
    // A judge's programs live for a millisecond: no sample sees them alive. Here the spinning
    // child starts after the first sample and is reaped by the root; its CPU must still show up
    // (through the root's cutime/cstime), since a pid absent from the first sample is ignored.
    let mut root = Command::new("sh")
        .arg("-c")
        .arg("sleep 0.3; (n=0; while [ $n -lt 400000 ]; do n=$((n+1)); done); sleep 20")
        .process_group(0)
        .spawn()
        .unwrap();
    let group = rustix::process::Pid::from_raw(i32::try_from(root.id()).unwrap()).unwrap();
    let set = ProcessSet::new(vec![root.id()]).unwrap();
    let first = set.sample().unwrap();
    let begin = Instant::now();
    let mut used = CpuTime::default();
    while begin.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
        let root_now = read_proc_stat(root.id()).unwrap();
        if root_now.cutime + root_now.cstime > 0 {
            used = set.sample().unwrap().since(&first);
            break;
        }
    }
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    root.wait().unwrap();
    assert!(used.total_ns() > 0, "the reaped child's CPU is charged to the root: {used:?}");
}

#[test]
fn processes_born_during_the_window_are_charged_in_full() {
    use std::os::unix::process::CommandExt as _;
    // The spinning child is born after the first sample and still alive at the second: only
    // its own counters carry its CPU (nobody has reaped it), and they must count in full.
    let mut root = Command::new("sh")
        .arg("-c")
        .arg("sleep 0.3; (n=0; while [ $n -lt 20000000 ]; do n=$((n+1)); done) & wait")
        .process_group(0)
        .spawn()
        .unwrap();
    let group = rustix::process::Pid::from_raw(i32::try_from(root.id()).unwrap()).unwrap();
    let set = ProcessSet::new(vec![root.id()]).unwrap();
    let first = set.sample().unwrap();
    let begin = Instant::now();
    let (mut used, mut born) = (CpuTime::default(), 0);
    while begin.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
        let now = set.sample().unwrap();
        born = now.pids().filter(|p| !first.pids().any(|q| q == *p)).count();
        used = now.since(&first);
        // 100 ms: far more than the shell and its `sleep` use, so only the spinner gets here.
        if born > 0 && used.total_ns() >= 100_000_000 {
            break;
        }
    }
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    root.wait().unwrap();
    assert!(born > 0, "the spinning child appeared");
    assert!(used.total_ns() >= 100_000_000, "a process born in the window is charged: {used:?}");
}
