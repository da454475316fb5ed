//! The pool's hand-off: a returned container is reset while it waits (the reset is only sent
//! when it goes back), finished and checked when it is handed out again; one whose check fails
//! is destroyed, never reused.

use std::time::Duration;

use libtest_mimic::{Failed, Trial};
use shardbox_sandbox::Pool;

use crate::harness::{check, config, limits, sh};

pub fn tests() -> Vec<Trial> {
    vec![
        Trial::test("pool::a_returned_container_is_reset_before_reuse", reset_before_reuse),
        Trial::test("pool::a_container_failing_its_reset_is_destroyed", failed_reset),
    ]
}

/// A pool of its own (these tests count and take containers), two containers, none pre-forked.
fn small_pool() -> Result<Pool, Failed> {
    let mut cfg = config();
    cfg.pre_fork = 0;
    cfg.containers_max = 2;
    Ok(Pool::new(cfg)?)
}

fn reset_before_reuse() -> Result<(), Failed> {
    let p = small_pool()?;
    let mut a = p.get()?;
    let id = a.id();
    sh(&mut a, "echo x > /w/left; echo y > /tmp/left", limits())?.exited(0)?;
    drop(a);
    check(p.idle() == 1, || format!("idle {}", p.idle()))?;
    // The only idle container is the one just returned, its reset perhaps still running.
    let mut a = p.get()?;
    check(a.id() == id, || "another container was built".into())?;
    check(!a.reset_pending(), || "handed out before its reset was finished".into())?;
    let r = sh(&mut a, "ls -A /w /tmp", limits())?;
    r.exited(0)?;
    check(!r.stdout.contains("left"), || format!("files survived the reset: {r:?}"))?;
    drop(a);
    // Oldest first: with two idle containers, the one returned first is handed out first.
    let first = p.get()?;
    let second = p.get()?;
    let (first_id, second_id) = (first.id(), second.id());
    drop(first);
    drop(second);
    let next = p.get()?;
    check(next.id() == first_id, || {
        format!("got {} after returning {first_id} then {second_id}", next.id())
    })?;
    drop(next);
    p.check_invariants();
    Ok(())
}

fn failed_reset() -> Result<(), Failed> {
    let p = small_pool()?;
    let mut a = p.get()?;
    let (id, init) = (a.id(), a.init_pid());
    sh(&mut a, "exit 0", limits())?.exited(0)?;
    let pids = a
        .cgroup()
        .and_then(|cg| cg.dirs().find(|d| d.to_string_lossy().contains("/pids/")))
        .map(std::path::Path::to_path_buf);
    let Some(pids) = pids else {
        eprintln!("SKIPPED: needs a v1 pids hierarchy");
        return Ok(());
    };
    drop(a);
    // A process in the container's cgroup while it waits in the pool: whatever the reset did,
    // the check at hand-out sees it.
    let mut stray = std::process::Command::new("sleep").arg("100").spawn()?;
    std::fs::write(pids.join("cgroup.procs"), stray.id().to_string())?;
    let mut b = p.get()?;
    check(b.id() != id, || "a container with a stray process was handed out".into())?;
    sh(&mut b, "exit 0", limits())?.exited(0)?;
    let status = stray.wait()?;
    check(std::os::unix::process::ExitStatusExt::signal(&status) == Some(9), || {
        format!("the stray process was not killed with the container: {status:?}")
    })?;
    let gone = (0..300).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        !std::path::Path::new(&format!("/proc/{init}")).exists()
    });
    check(gone, || format!("the destroyed container's init {init} is still alive"))?;
    drop(b);
    p.check_invariants();
    check(p.live() <= 2, || format!("live {}", p.live()))?;
    Ok(())
}
