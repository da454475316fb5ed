//! Run A leaves secrets for run B of another user in the same container: files of every kind
//! in `/w` and `/tmp` (more than the wipe's budget, a mode-000 directory, a socket, a fifo, an
//! open unlinked file held by a daemon), extended attributes on files and on the tmpfs roots
//! themselves (a few, or more than the reset removes one by one), SysV shared memory, message
//! queues and semaphores. After the reset, B finds nothing. Each test first checks that B
//! *would* see A's objects without the reset, so a detection that sees nothing cannot pass by
//! accident.

use libtest_mimic::{Failed, Trial};

use super::{compile, field, run_bin};
use crate::harness::{check, limits, pool};

pub fn tests() -> Vec<Trial> {
    vec![
        Trial::test("attacks::leftovers::files_and_xattrs_do_not_survive_a_reset", files),
        Trial::test("attacks::leftovers::many_root_xattrs_do_not_survive_a_reset", many_xattrs),
        Trial::test("attacks::leftovers::sysv_ipc_does_not_survive_a_reset", sysv_ipc),
        Trial::test("attacks::leftovers::unix_sockets_in_flight_do_not_survive", unix_in_flight),
    ]
}

fn files() -> Result<(), Failed> {
    let bin = compile("fs", include_str!("c/fs.c"), &[])?;
    let mut c = pool().get()?;
    let r = run_bin(&mut c, "fs", &bin, &["plant"], limits())?;
    r.exited(0)?;
    let xattrs = tmpfs_user_xattrs();
    let want = if xattrs { "0 0" } else { "-1 95" };
    check(field(&r, "xattr_w") == Some(want), || format!("user xattrs on /w: {r:?}"))?;
    // Without a reset, B sees A's files and the attribute on /w.
    let r = run_bin(&mut c, "fs", &bin, &["find"], limits())?;
    let xattr = ["found xattr /w user.secret"].into_iter().filter(|_| xattrs);
    for want in ["found /w/secret", "found /tmp/many299"].into_iter().chain(xattr) {
        check(r.stdout.contains(want), || format!("the finder misses {want}: {r:?}"))?;
    }
    c.reset()?;
    let r = run_bin(&mut c, "fs", &bin, &["find"], limits())?;
    r.exited(0)?;
    check(r.stdout == "done\n", || format!("left for the next run: {r:?}"))?;
    Ok(())
}

fn many_xattrs() -> Result<(), Failed> {
    let bin = compile("fs", include_str!("c/fs.c"), &[])?;
    let mut c = pool().get()?;
    let r = run_bin(&mut c, "fs", &bin, &["xattrs"], limits())?;
    let want = if tmpfs_user_xattrs() { "32" } else { "0" };
    check(field(&r, "xattrs_set") == Some(want), || format!("{r:?}"))?;
    c.reset()?;
    let r = run_bin(&mut c, "fs", &bin, &["find"], limits())?;
    r.exited(0)?;
    check(r.stdout == "done\n", || format!("left for the next run: {r:?}"))?;
    Ok(())
}

/// Whether this kernel lets programs set `user.*` attributes on tmpfs (Linux 6.6+). Before,
/// tmpfs refuses them (EOPNOTSUPP, 95), so that part of the attack cannot even start; the
/// tests then check the refusal instead.
fn tmpfs_user_xattrs() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut it = release.split(|c: char| !c.is_ascii_digit()).map(|n| n.parse::<u32>().ok());
    let version = (it.next().flatten(), it.next().flatten());
    let supported = version >= (Some(6), Some(6));
    if !supported {
        eprintln!(
            "    kernel {}: tmpfs has no user xattrs, their part is not exercised",
            release.trim()
        );
    }
    supported
}

fn sysv_ipc() -> Result<(), Failed> {
    let bin = compile("procs", include_str!("c/procs.c"), &["-pthread"])?;
    let mut c = pool().get()?;
    let r = run_bin(&mut c, "procs", &bin, &["ipc-plant"], limits())?;
    r.exited(0)?;
    for what in ["shmget", "msgget", "semget"] {
        check(field(&r, what).is_some_and(|v| !v.starts_with('-')), || format!("{what}: {r:?}"))?;
    }
    let r = run_bin(&mut c, "procs", &bin, &["ipc-find"], limits())?;
    for what in ["shm", "msg", "sem"] {
        check(field(&r, what) == Some("1"), || format!("{what} not visible without reset: {r:?}"))?;
    }
    c.reset()?;
    let r = run_bin(&mut c, "procs", &bin, &["ipc-find"], limits())?;
    r.exited(0)?;
    for what in ["shm", "msg", "sem"] {
        check(field(&r, what) == Some("0"), || format!("{what} left after reset: {r:?}"))?;
    }
    for what in ["shmget_existing", "msgget_existing", "semget_existing"] {
        check(field(&r, what) == Some("-1 2"), || format!("{what} after reset: {r:?}"))?;
    }
    Ok(())
}

/// A listening abstract unix socket that only a cycle of fds in flight (`SCM_RIGHTS`) keeps
/// alive outlives every process of the run; the kernel's unix garbage collector frees it later,
/// from a work queue. The net namespace is the container's, kept from run to run, so the next
/// run must not find the name (a covert channel between users, one bit per name).
fn unix_in_flight() -> Result<(), Failed> {
    let bin = compile("procs", include_str!("c/procs.c"), &["-pthread"])?;
    let mut c = pool().get()?;
    for round in 0..20 {
        let r = run_bin(&mut c, "procs", &bin, &["unix-plant"], limits())?;
        r.exited(0)?;
        // The attack works: with no fd left in any process, the name still answers.
        check(field(&r, "connect_after_close") == Some("0 0"), || format!("plant: {r:?}"))?;
        c.reset()?;
        let r = run_bin(&mut c, "procs", &bin, &["unix-find"], limits())?;
        r.exited(0)?;
        check(field(&r, "connect") == Some("-1 111"), || format!("round {round}: found {r:?}"))?;
        check(r.stdout.contains("sockets 0\n"), || format!("round {round}: left {r:?}"))?;
        c.reset()?;
    }
    Ok(())
}
