//! What a program can learn about the host through `/proc`: the cgroup paths (the pool's
//! directory names the server's pid), kernel symbol addresses. Host processes and mounts are
//! covered by `isolation::only_container_processes` and the mount tests.

use libtest_mimic::{Failed, Trial};

use crate::harness::{check, config, limits, pool, sh};

pub fn tests() -> Vec<Trial> {
    vec![
        Trial::test("attacks::info::own_cgroup_paths_are_hidden", cgroup_paths),
        Trial::test("attacks::info::cgroup_paths_stay_hidden_in_a_new_cgroup", new_cgroup),
        Trial::test("attacks::info::kernel_addresses_are_zero", kernel_addresses),
    ]
}

fn cgroup_paths() -> Result<(), Failed> {
    let mut c = pool().get()?;
    let r = sh(&mut c, "cat /proc/self/cgroup", limits())?;
    r.exited(0)?;
    check(!r.stdout.is_empty(), || format!("nothing read: {r:?}"))?;
    // Every hierarchy is its namespace's root: no host path, no server pid.
    for line in r.stdout.lines() {
        check(line.ends_with(":/"), || format!("host cgroup path visible: {line:?} in {r:?}"))?;
    }
    let pid = format!("{}-", std::process::id());
    check(!r.stdout.contains(&pid), || format!("server pid visible: {r:?}"))?;
    Ok(())
}

/// A container whose cgroup is replaced after a reset (every time here: no leftover charge is
/// tolerated) gives its programs a cgroup namespace rooted at the new cgroup, and they are in it.
fn new_cgroup() -> Result<(), Failed> {
    let mut cfg = config();
    cfg.pre_fork = 0;
    cfg.containers_max = 1;
    cfg.memory_leftover_bytes_max = 0;
    let p = shardbox_sandbox::Pool::new(cfg)?;
    let mut dirs = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let mut c = p.get()?;
        let dir = c.cgroup().and_then(|cg| cg.dirs().next().map(std::path::Path::to_path_buf));
        dirs.insert(dir.ok_or("no cgroup")?);
        // Leaves page cache charged to the cgroup (read back after the write).
        let r = sh(
            &mut c,
            "cat /proc/self/cgroup; head -c 1048576 /dev/zero > /w/f; cat /w/f >/dev/null",
            limits(),
        )?;
        r.exited(0)?;
        for line in r.stdout.lines() {
            check(line.ends_with(":/"), || format!("host cgroup path visible: {line:?} in {r:?}"))?;
        }
        let l = shardbox_sandbox::ExecLimits { memory_bytes: Some(16 << 20), ..limits() };
        let r = sh(&mut c, "exec dd if=/dev/zero of=/dev/null bs=64M count=1", l)?;
        check(
            r.outcome.memory_limit_hit
                || matches!(r.outcome.status, shardbox_sandbox::WaitStatus::Signalled(9)),
            || format!("not in the new memory cgroup: {r:?}"),
        )?;
    }
    check(dirs.len() >= 2, || format!("the cgroup was never replaced: {dirs:?}"))?;
    Ok(())
}

fn kernel_addresses() -> Result<(), Failed> {
    let mut c = pool().get()?;
    let r = sh(&mut c, "head -n 50 /proc/kallsyms | cut -d' ' -f1 | sort -u", limits())?;
    r.exited(0)?;
    check(r.stdout.trim() == "0000000000000000", || format!("kernel addresses: {r:?}"))?;
    Ok(())
}
