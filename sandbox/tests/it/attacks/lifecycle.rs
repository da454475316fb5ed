//! Containers and the zygote dying or freezing under the host: the run fails cleanly (no hang,
//! no panic), the broken container is destroyed, and the pool keeps serving.

use std::process::Command;
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};
use shardbox_sandbox::{BrokenReason, ContainerError, ExecLimits, ExecRequest, Pool};

use crate::harness::{check, config, env, limits, pool, sh};

const MS: u64 = 1_000_000;

pub fn tests() -> Vec<Trial> {
    vec![
        Trial::test("attacks::lifecycle::init_killed_mid_run", init_killed),
        Trial::test("attacks::lifecycle::init_stopped_mid_run", init_stopped),
        Trial::test("attacks::lifecycle::zygote_killed", zygote_killed),
    ]
}

fn signal_later(pid: u32, sig: &'static str) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
    })
}

fn sleep_req(wall_ms: u64) -> ExecRequest<'static> {
    ExecRequest {
        args: vec![b"/bin/sleep".to_vec(), b"10".to_vec()],
        env: env(),
        files: vec![],
        limits: ExecLimits { wall_time_ns: Some(wall_ms * MS), ..limits() },
    }
}

fn init_killed() -> Result<(), Failed> {
    let p = pool();
    let mut c = p.get()?;
    let init = c.init_pid();
    let t = signal_later(init, "-KILL");
    let start = Instant::now();
    let r = c.run(&sleep_req(20_000), None);
    t.join().map_err(|_| "killer thread panicked")?;
    check(matches!(r, Err(ContainerError::Broken(_))), || format!("run: {r:?}"))?;
    check(start.elapsed() < Duration::from_secs(3), || format!("took {:?}", start.elapsed()))?;
    check(c.is_broken(), || "container not marked broken".into())?;
    drop(c);
    // The pool replaces it and keeps serving.
    let mut c = p.get()?;
    check(c.init_pid() != init, || "the dead container was handed out again".into())?;
    sh(&mut c, "exit 0", limits())?.exited(0)?;
    drop(c);
    p.check_invariants();
    Ok(())
}

fn init_stopped() -> Result<(), Failed> {
    let p = pool();
    let mut c = p.get()?;
    let init = c.init_pid();
    let t = signal_later(init, "-STOP");
    let start = Instant::now();
    // The wall limit fires, the host asks the frozen init to kill and gives up after
    // KILL_WAIT_MS_MAX (5 s).
    let r = c.run(&sleep_req(500), None);
    t.join().map_err(|_| "stopper thread panicked")?;
    check(matches!(r, Err(ContainerError::Broken(BrokenReason::Timeout { .. }))), || {
        format!("run: {r:?}")
    })?;
    check(start.elapsed() < Duration::from_secs(8), || format!("took {:?}", start.elapsed()))?;
    let started = start_time(init);
    check(started.is_some(), || format!("no /proc/{init}/stat before the destruction"))?;
    drop(c);
    // `destroy` waits until the init's pidfd polls readable: it has exited, but the zygote
    // (its parent, which auto-reaps) may not have released it yet, so it can still be in
    // /proc for a moment. Wait for it to be gone (or its pid taken by another process).
    let deadline = Instant::now() + Duration::from_secs(5);
    while start_time(init) == started && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    check(start_time(init) != started, || {
        format!("the frozen init {init} survived its destruction by 5 s")
    })?;
    let mut c = p.get()?;
    sh(&mut c, "exit 0", limits())?.exited(0)?;
    drop(c);
    p.check_invariants();
    Ok(())
}

/// Start time of process `pid` (field 22 of `/proc/<pid>/stat`); `None` once it is gone.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(19)?.parse().ok()
}

fn zygote_killed() -> Result<(), Failed> {
    let mut cfg = config();
    cfg.pre_fork = 1;
    // Room for the replenisher's container and ours: which of the two builds first is a race.
    cfg.containers_max = 3;
    let p = Pool::new(cfg)?;
    let zygote = p.zygote_pid();
    let st = Command::new("kill").args(["-KILL", &zygote.to_string()]).status()?;
    check(st.success(), || "kill failed".into())?;
    std::thread::sleep(Duration::from_millis(100));
    // Containers built before keep working.
    let mut a = p.get()?;
    sh(&mut a, "exit 0", limits())?.exited(0)?;
    // A new container needs a zygote: the pool starts a new one.
    let mut b = p.get()?;
    sh(&mut b, "exit 0", limits())?.exited(0)?;
    check(p.zygote_pid() != zygote, || "the dead zygote is still the pool's".into())?;
    Ok(())
}
