//! Run A leaves secrets for run B of another user in the same container: SysV shared memory,
//! message queues and semaphores. After the reset, B finds nothing. Each test first checks that
//! B *would* see A's objects without the reset, so a detection that sees nothing cannot pass by
//! accident.

use libtest_mimic::{Failed, Trial};

use super::{compile, field, run_bin};
use crate::harness::{check, limits, pool};

pub fn tests() -> Vec<Trial> {
    vec![Trial::test("attacks::leftovers::sysv_ipc_does_not_survive_a_reset", sysv_ipc)]
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
