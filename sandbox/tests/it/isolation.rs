//! Isolation: no network, host paths invisible, read-only outside /w and /tmp, bounded /w, no
//! host processes, dangerous syscalls killed, setuid binaries useless, nothing survives a reset.

use libtest_mimic::{Failed, Trial};
use shardbox_sandbox::{ExecLimits, Pool, WaitStatus};

use crate::harness::{check, config, limits, pool, sh};

pub fn tests() -> Vec<Trial> {
    vec![
        Trial::test("isolation::no_network", no_network),
        Trial::test("isolation::host_home_and_root_invisible", host_paths),
        Trial::test("isolation::read_only_outside_w_and_tmp", read_only),
        Trial::test("isolation::w_is_bounded_by_its_tmpfs", w_bounded),
        Trial::test("isolation::only_container_processes", processes),
        Trial::test("isolation::dangerous_syscalls_get_sigsys", dangerous_syscalls),
        Trial::test("isolation::setuid_binary_gains_nothing", setuid),
        Trial::test("isolation::nothing_survives_a_reset", reset_clears),
        Trial::test("isolation::posix_mqueues_do_not_survive_a_reset", mqueue_cleared),
    ]
}

fn python() -> Option<&'static str> {
    ["/usr/bin/python3", "/bin/python3"].into_iter().find(|p| std::path::Path::new(p).exists())
}

fn no_network() -> Result<(), Failed> {
    let mut c = pool().get()?;
    let r = sh(
        &mut c,
        "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; cat /proc/net/route | wc -l",
        limits(),
    )?;
    r.exited(0)?;
    check(r.stdout == "lo\n0\n" || r.stdout == "lo\n1\n", || format!("interfaces/routes: {r:?}"))?;
    let Some(py) = python() else {
        eprintln!("    python3 not installed: connect() test skipped, interface check done");
        return Ok(());
    };
    let script = "import socket,sys\ns=socket.socket()\ntry:\n s.connect(('127.0.0.1',80))\nexcept OSError as e:\n print(e.errno)\n sys.exit(0)\nsys.exit(1)\n";
    c.copy_in(b"net.py", script.as_bytes())?;
    let r = crate::harness::run_args(&mut c, &[py, "net.py"], limits())?;
    r.exited(0)?;
    check(r.stdout.trim() == "101", || {
        format!("connect 127.0.0.1 must be ENETUNREACH (101): {r:?}")
    })?;
    Ok(())
}

fn host_paths() -> Result<(), Failed> {
    let mut c = pool().get()?;
    let r = sh(
        &mut c,
        "ls / | tr '\\n' ' '; ls /root; ls /home; ls /sys; ls /dev | tr '\\n' ' '",
        limits(),
    )?;
    check(!r.stdout.contains("root") && !r.stdout.contains("home"), || format!("{r:?}"))?;
    check(r.stderr.matches("No such file").count() == 3, || format!("{r:?}"))?;
    check(r.stdout.contains("fd full null random stderr stdin stdout urandom zero"), || {
        format!("/dev: {r:?}")
    })?;
    Ok(())
}

fn read_only() -> Result<(), Failed> {
    let mut c = pool().get()?;
    for p in ["/x", "/etc/x", "/usr/x", "/bin/x", "/proc/x", "/dev/x"] {
        let r = sh(&mut c, &format!("touch {p}"), limits())?;
        check(r.outcome.status == WaitStatus::Exited(1), || format!("touch {p}: {r:?}"))?;
    }
    sh(&mut c, "touch /w/x /tmp/x && echo ok > /dev/null", limits())?.exited(0)?;
    let r = sh(
        &mut c,
        "grep -E ' / | /usr ' /proc/self/mounts | cut -d' ' -f4 | cut -d, -f1",
        limits(),
    )?;
    check(r.stdout.lines().all(|l| l == "ro") && r.stdout.lines().count() >= 2, || {
        format!("{r:?}")
    })?;
    Ok(())
}

fn w_bounded() -> Result<(), Failed> {
    let mut c = pool().get()?;
    let l = ExecLimits { memory_bytes: Some(512 << 20), ..limits() };
    let r = sh(&mut c, "head -c 200000000 /dev/zero > /w/big; echo $?; stat -c %s /w/big", l)?;
    let size: u64 = r.stdout.lines().nth(1).and_then(|s| s.parse().ok()).unwrap_or(u64::MAX);
    check(r.stdout.starts_with('1') && size <= 128 << 20, || format!("{r:?}"))?;
    check(r.stderr.contains("No space left"), || format!("{r:?}"))?;
    Ok(())
}

fn processes() -> Result<(), Failed> {
    let mut c = pool().get()?;
    let r = sh(
        &mut c,
        "ls /proc | grep -c '^[0-9]'; cat /proc/1/status | grep -E '^Uid'; kill -9 1; echo $?",
        limits(),
    )?;
    let l: Vec<&str> = r.stdout.lines().collect();
    // pid 1 (init), sh, ls, grep.
    let n: u32 = l.first().and_then(|s| s.parse().ok()).unwrap_or(99);
    check(n <= 4, || format!("{n} processes visible: {r:?}"))?;
    check(l.last() == Some(&"1"), || format!("kill -9 1 must fail: {r:?}"))?;
    // The init runs as container root, not as the program's uid.
    check(l.get(1).is_some_and(|u| u.contains("\t0\t")), || format!("{r:?}"))?;
    Ok(())
}

fn dangerous_syscalls() -> Result<(), Failed> {
    let mut c = pool().get()?;
    let Some(py) = python() else {
        eprintln!("    python3 not installed: checking unshare(1) only");
        let r = sh(&mut c, "exec unshare -U true", limits())?;
        check(r.outcome.status == WaitStatus::Signalled(31), || format!("{r:?}"))?;
        return Ok(());
    };
    let calls = [
        ("mount", "libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)"),
        ("umount", "libc.umount2(b'/w', 2)"),
        ("ptrace", "libc.ptrace(16, 1, 0, 0)"),
        ("unshare", "libc.unshare(0x10000000)"),
        ("setns", "libc.setns(0, 0)"),
        ("clone_newuser", "libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)"),
        ("io_uring_setup", "libc.syscall(425, 8, 0)"),
        ("bpf", "libc.syscall(321, 0, 0, 0)"),
        ("keyctl", "libc.syscall(250, 0, 0, 0)"),
        ("perf_event_open", "libc.syscall(298, 0, 0, -1, -1, 0)"),
        ("chroot", "libc.chroot(b'/tmp')"),
        ("pivot_root", "libc.syscall(155, b'/w', b'/w')"),
        ("x32_getpid", "libc.syscall(0x40000000 | 39)"),
    ];
    for (name, call) in calls {
        let script = format!(
            "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n{call}\nprint('survived')\n"
        );
        c.copy_in(b"s.py", script.as_bytes())?;
        let r = crate::harness::run_args(&mut c, &[py, "s.py"], limits())?;
        check(r.outcome.status == WaitStatus::Signalled(31), || {
            format!("{name} must be killed by SIGSYS: {r:?}")
        })?;
    }
    let script = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.syscall(435, 0, 0), ctypes.get_errno())\n";
    c.copy_in(b"s.py", script.as_bytes())?;
    let r = crate::harness::run_args(&mut c, &[py, "s.py"], limits())?;
    check(r.stdout.trim() == "-1 38", || format!("clone3 must be ENOSYS: {r:?}"))?;
    // Ordinary fork/threads still work (clone without namespace flags).
    let r = sh(&mut c, "(exit 7); echo $?", limits())?;
    check(r.stdout.trim() == "7", || format!("{r:?}"))?;
    Ok(())
}

fn setuid() -> Result<(), Failed> {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("sbx-suid-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    let id = dir.join("id");
    std::fs::copy("/usr/bin/id", &id)?;
    std::fs::set_permissions(&id, std::fs::Permissions::from_mode(0o4755))?;
    let conf = dir.join("mount.conf");
    let mut text = String::new();
    for p in shardbox_sandbox::mounts::DEFAULT_RO_BINDS {
        text.push_str(&format!("bind {p}\n"));
    }
    text.push_str(&format!(
        "bind {} /suid\nproc\ntmpfs /w size=16m\ntmpfs /tmp size=16m\n",
        dir.display()
    ));
    std::fs::write(&conf, text)?;
    let mut cfg = config();
    cfg.mount_config = Some(conf);
    cfg.pre_fork = 0;
    cfg.containers_max = 1;
    let result = (|| -> Result<(), Failed> {
        let p = Pool::new(cfg)?;
        let mut c = p.get()?;
        let r = sh(&mut c, "ls -l /suid/id | cut -c1-10; /suid/id -u; /suid/id -ru", limits())?;
        check(r.stdout == "-rwsr-xr-x\n1000\n1000\n", || format!("{r:?}"))?;
        Ok(())
    })();
    std::fs::remove_dir_all(&dir)?;
    result
}

fn reset_clears() -> Result<(), Failed> {
    let mut c = pool().get()?;
    let first = "echo secret > /w/left; echo secret > /tmp/left; mkdir -p /w/d/e; \
                 (sleep 60 &) ; ipcmk -M 4096 >/dev/null 2>&1; ipcs -m | grep -c 0x";
    let r = sh(&mut c, first, limits())?;
    let shm_made = r.stdout.trim() == "1";
    if !shm_made {
        eprintln!("    ipcmk unavailable: SysV part not exercised ({r:?})");
    }
    c.reset()?;
    c.check_invariants();
    let r = sh(
        &mut c,
        "ls -A /w /tmp | grep -v -e '^/' -e '^$' -e '^\\.std'; ls /proc | grep -c '^[0-9]'; ipcs -m | grep -c 0x",
        limits(),
    )?;
    let l: Vec<&str> = r.stdout.lines().collect();
    check(l.first().is_some_and(|n| n.parse::<u32>().unwrap_or(99) <= 4), || {
        format!("files or processes left: {r:?}")
    })?;
    check(!shm_made || l.get(1) == Some(&"0"), || format!("SysV shm left: {r:?}"))?;
    Ok(())
}

fn mqueue_cleared() -> Result<(), Failed> {
    let Some(py) = python() else {
        eprintln!("    python3 not installed: mqueue test skipped");
        return Ok(());
    };
    let mut c = pool().get()?;
    let script = "import ctypes,os,sys\nrt = ctypes.CDLL('librt.so.1', use_errno=True)\n\
                  fd = rt.mq_open(b'/q', os.O_RDWR | (os.O_CREAT if sys.argv[1] == 'create' else 0), 0o600, None)\n\
                  print(fd >= 0, ctypes.get_errno())\n";
    c.copy_in(b"mq.py", script.as_bytes())?;
    let r = crate::harness::run_args(&mut c, &[py, "mq.py", "create"], limits())?;
    check(r.stdout.trim().starts_with("True"), || format!("mq_open create: {r:?}"))?;
    let r = crate::harness::run_args(&mut c, &[py, "mq.py", "open"], limits())?;
    check(r.stdout.trim().starts_with("True"), || {
        format!("a queue persists between runs without reset: {r:?}")
    })?;
    c.reset()?;
    c.copy_in(b"mq.py", script.as_bytes())?;
    let r = crate::harness::run_args(&mut c, &[py, "mq.py", "open"], limits())?;
    check(r.stdout.trim() == "False 2", || format!("queue left after reset: {r:?}"))?;
    Ok(())
}
