//! 1 000 `/run` requests through the binary leave its processes, open fds, mounts, cgroups,
//! container root directories and stored files where they started. The requests use every
//! path of the judge that holds a resource: content stdin (a memfd), file and pipe collectors,
//! copy-in files and symlinks, optional copy-out, copy-out-cached (then deleted), two commands
//! joined by a proxied pipe, and CPU-time kills of a program with a background child. The
//! container layer's own leak test (`sandbox/tests/it/leaks.rs`) covers bare pooled runs.

use std::path::Path;
use std::time::{Duration, Instant};

use sonic_rs::{JsonContainerTrait, JsonValueTrait};

use super::{json, post_run, request, require_judge, start};
use crate::harness::Client;

const PREFIX: &str = "shardbox-engine-leaks";

/// The processes descending from `root`.
pub fn descendants(root: u32) -> usize {
    let mut parent = std::collections::HashMap::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().nth(1)?.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parent.insert(pid, ppid);
        }
    }
    parent
        .keys()
        .filter(|&&p| {
            let mut cur = p;
            for _ in 0..64 {
                match parent.get(&cur) {
                    Some(&pp) if pp == root => return true,
                    Some(&pp) if pp > 1 => cur = pp,
                    _ => return false,
                }
            }
            false
        })
        .count()
}

/// The resident set of process `pid`, KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn count_entries(path: &str) -> usize {
    std::fs::read_dir(path).map(|rd| rd.count()).unwrap_or(0)
}

/// The cgroup directories of server `pid` under `prefix` in every hierarchy: its instance
/// directories (`<prefix>/<pid>-...`) and everything below them. The prefix directory sits in
/// the cgroup the server started in, wherever the test runs (v1: each hierarchy's root here;
/// v2: the test's own cgroup in .ci/cgroup2-guest.sh), so every `prefix` directory of the tree
/// is looked at. Other worktrees may run this test at the same time with the same prefix:
/// their instances are not counted.
pub fn cgroups_of(pid: u32, prefix: &str) -> usize {
    fn walk(d: &Path) -> usize {
        subdirs(d).map(|e| 1 + walk(&e)).sum()
    }
    fn subdirs(d: &Path) -> impl Iterator<Item = std::path::PathBuf> {
        std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
    }
    fn prefix_dirs(d: &Path, prefix: &str, depth: u32, out: &mut Vec<std::path::PathBuf>) {
        for sub in subdirs(d) {
            if sub.file_name().is_some_and(|n| n == prefix) {
                out.push(sub);
            } else if depth > 0 {
                prefix_dirs(&sub, prefix, depth - 1, out);
            }
        }
    }
    let mut dirs = Vec::new();
    prefix_dirs(Path::new("/sys/fs/cgroup"), prefix, 4, &mut dirs);
    let own = format!("{pid}-");
    dirs.iter()
        .flat_map(|d| subdirs(d))
        .filter(|e| e.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&own)))
        .map(|e| 1 + walk(&e))
        .sum()
}

/// Everything a leak would grow, for the server process `pid`.
fn snapshot(pid: u32, c: &mut Client) -> [usize; 6] {
    let files = json(&c.get("/file")).as_object().map_or(usize::MAX, |o| o.len());
    [
        descendants(pid),
        count_entries(&format!("/proc/{pid}/fd")),
        std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).map_or(0, |m| m.lines().count()),
        cgroups_of(pid, PREFIX),
        count_entries(
            &std::env::temp_dir().join(format!("shardbox-root-{pid}/0")).display().to_string(),
        ),
        files,
    ]
}

fn sh(script: &str, files: &str, extra: &str) -> String {
    format!(
        r#"{{"args":["/bin/sh","-c","{script}"],"env":["PATH=/usr/bin:/bin"],"files":{files},
            "cpuLimit":2000000000,"clockLimit":5000000000,"memoryLimit":67108864,"procLimit":20{extra}}}"#
    )
}

/// Request `i` of the mix; returns the fileId to delete, if it cached one.
fn one(c: &mut Client, i: usize) -> Option<String> {
    let io =
        r#"[{"content":"in"},{"name":"stdout","max":100},{"name":"stderr","max":100,"pipe":true}]"#;
    let body = if i.is_multiple_of(5) {
        let producer = sh("echo piped", r#"[{"content":""},null]"#, "");
        let consumer = sh("cat", r#"[null,{"name":"stdout","max":100}]"#, "");
        format!(
            r#"{{"cmd":[{producer},{consumer}],"pipeMapping":[{{"in":{{"index":0,"fd":1}},
                "out":{{"index":1,"fd":0}},"proxy":true,"name":"cap","max":3}}]}}"#
        )
    } else if i % 50 == 1 {
        let spin = sh("sleep 30 & while :; do :; done", io, r#","cpuLimit":20000000"#);
        format!(r#"{{"cmd":[{spin}]}}"#)
    } else {
        let extra = if i % 10 == 2 {
            r#","copyIn":{"a/f":{"content":"x"},"l":{"symlink":"a/f"}},"copyOutCached":["out"]"#
        } else {
            r#","copyIn":{"a/f":{"content":"x"},"l":{"symlink":"a/f"}},"copyOut":["out","none?"]"#
        };
        format!(r#"{{"cmd":[{}]}}"#, sh("cat; cat l > out; echo e >&2", io, extra))
    };
    let r = post_run(c, &body);
    assert_eq!(r.status, 200, "{i}: {}", r.text());
    let v = json(&r);
    let first = v.as_array().and_then(|a| a.first()).expect("a result");
    let status = first.get("status").and_then(|s| s.as_str()).unwrap_or_default();
    let want = if i % 50 == 1 { "Time Limit Exceeded" } else { "Accepted" };
    assert_eq!(status, want, "{i}: {}", r.text());
    first.get("fileIds").and_then(|f| f.get("out")).and_then(|s| s.as_str()).map(str::to_owned)
}

/// Runs requests `range` on two connections at once.
fn run_mix(addr: std::net::SocketAddr, range: std::ops::Range<usize>) {
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let range = range.clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                for i in range.filter(|i| i % 2 == t) {
                    if let Some(id) = one(&mut c, i) {
                        let r = request(&mut c, "DELETE", &format!("/file/{id}"), &[], b"");
                        assert_eq!(r.status, 200, "{i}: delete {id}");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
}

#[test]
fn a_thousand_runs_leave_nothing_behind() {
    require_judge!();
    let server = start(&[
        "-cgroup-prefix",
        PREFIX,
        "-pre-fork",
        "4",
        "-containers-max",
        "4",
        "-judge-workers",
        "2",
    ]);
    let pid = server.binary.child.id();
    let addr = server.binary.addr;
    // A connection of its own per snapshot: one kept open over the 1000 runs can reach the
    // idle timeout on a slow machine (the TCG guest of .ci/cgroup2-guest.sh).
    let snap = || snapshot(pid, &mut server.client());
    // Warm up every path once, then let the replenisher settle.
    run_mix(addr, 0..60);
    std::thread::sleep(Duration::from_millis(500));
    let before = snap();
    let rss_before = rss_kib(pid);
    let t0 = Instant::now();
    run_mix(addr, 60..1060);
    let took = t0.elapsed();
    let mut after = snap();
    // Killed programs and replaced containers finish going away asynchronously.
    let settle = Instant::now();
    while after != before && settle.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(100));
        after = snap();
    }
    eprintln!(
        "    1000 mixed /run requests on 2 connections: {took:?} ({:.2} ms each); \
         (procs, fds, mounts, cgroups, roots, files) before {before:?} after {after:?}; \
         server RSS {rss_before} KiB before, {} KiB after (printed, not asserted)",
        took.as_secs_f64() * 1000.0 / 1000.0,
        rss_kib(pid)
    );
    assert!(before[0] >= 5 && before[3] >= 4, "the counts see the containers: {before:?}");
    assert_eq!(before, after, "(procs, fds, mounts, cgroups, roots, files)");
}

#[test]
fn shutdown_finishes_a_run_in_flight_and_leaves_nothing() {
    require_judge!();
    const SHUTDOWN_PREFIX: &str = "shardbox-engine-shutdown";
    let mut server = start(&["-cgroup-prefix", SHUTDOWN_PREFIX, "-pre-fork", "2"]);
    let pid = server.binary.child.id();
    let mut c = server.client();
    let slow = format!(
        r#"{{"cmd":[{}]}}"#,
        sh("sleep 1; echo finished", r#"[{"content":""},{"name":"stdout","max":100}]"#, "")
    );
    c.send(
        format!("POST /run HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{slow}", slow.len())
            .as_bytes(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let root = std::env::temp_dir().join(format!("shardbox-root-{pid}"));
    assert!(root.exists(), "the pool's root directory exists while running");
    assert!(cgroups_of(pid, SHUTDOWN_PREFIX) > 0, "instance cgroups exist while running");
    server.binary.signal(nix::sys::signal::Signal::SIGTERM);
    let r = c.read_reply().expect("the run in flight is answered");
    assert_eq!(r.status, 200, "{}", r.text());
    let v = json(&r);
    let stdout = v
        .as_array()
        .and_then(|a| a.first())
        .and_then(|r| r.get("files"))
        .and_then(|f| f.get("stdout"))
        .and_then(|s| s.as_str())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(stdout, "finished\n");
    assert_eq!(server.binary.wait(), Some(0), "graceful exit");
    // Nothing outlives the server: no helper, container or program, no root directory, and
    // every instance cgroup removed (the prefix directory itself may stay, empty of them).
    assert_eq!(descendants(pid), 0);
    assert!(!root.exists(), "{} left", root.display());
    let leftover = cgroups_of(pid, SHUTDOWN_PREFIX);
    assert_eq!(leftover, 0, "instance cgroups left under {SHUTDOWN_PREFIX}");
}
