//! What a program can learn about the host through `/proc`: the cgroup paths (the pool's
//! directory names the server's pid), kernel symbol addresses. Host processes and mounts are
//! covered by `isolation::only_container_processes` and the mount tests.

use libtest_mimic::{Failed, Trial};

use crate::harness::{check, limits, pool, sh};

pub fn tests() -> Vec<Trial> {
    vec![
        Trial::test("attacks::info::own_cgroup_paths_are_hidden", cgroup_paths),
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

fn kernel_addresses() -> Result<(), Failed> {
    let mut c = pool().get()?;
    let r = sh(&mut c, "head -n 50 /proc/kallsyms | cut -d' ' -f1 | sort -u", limits())?;
    r.exited(0)?;
    check(r.stdout.trim() == "0000000000000000", || format!("kernel addresses: {r:?}"))?;
    Ok(())
}
