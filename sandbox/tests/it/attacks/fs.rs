//! Escaping the mount namespace through the host's file operations: `..`, absolute and
//! `/proc/*/root` paths in copy-in and copy-out, traps a program leaves for the next copy
//! (symlinks to magic links, a fifo, hard links), a daemon swapping a file for a symlink, what a
//! program can reach of the init (its `/proc/1/*`, its fds), a directory fd handed to a program.

use std::io::Read;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};
use shardbox_sandbox::{ContainerError, ExecRequest, ExecStep, WaitStatus};

use super::{compile, field, run_bin};
use crate::harness::{check, env, limits, pool, sh};

pub fn tests() -> Vec<Trial> {
    vec![
        Trial::test("attacks::fs::copy_paths_stay_inside", copy_paths),
        Trial::test("attacks::fs::traps_left_for_the_next_copy", traps),
        Trial::test("attacks::fs::swapper_dies_with_the_run", swapper),
        Trial::test("attacks::fs::init_is_out_of_reach", init_out_of_reach),
        Trial::test("attacks::fs::directory_fd_is_refused", directory_fd),
    ]
}

fn bin() -> Result<Vec<u8>, Failed> {
    compile("fs", include_str!("c/fs.c"), &[])
}

/// A host directory that exists only on the host (`/var` is not in the container), removed on
/// drop.
struct HostDir(PathBuf);

impl HostDir {
    fn new(tag: &str) -> Result<Self, Failed> {
        let d = PathBuf::from(format!("/var/tmp/sbx-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d)?;
        Ok(HostDir(d))
    }
    fn entries(&self) -> Vec<String> {
        std::fs::read_dir(&self.0)
            .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Path prefixes that reach `/` of the container (never the host's): the paths below try to
/// name a host directory through each.
const PREFIXES: &[&str] = &[
    "",
    "/w/..",
    "/w/../../../..",
    "../../../..",
    "/proc/self/root",
    "/proc/1/root",
    "/proc/self/cwd",
    "/proc/1/cwd",
    "/proc/self/fd/0/..",
    "/dev/../proc/1/root",
];

fn copy_paths() -> Result<(), Failed> {
    let host = HostDir::new("copy")?;
    std::fs::write(host.0.join("secret"), "HOST SECRET")?;
    let dir = host.0.display().to_string();
    let mut c = pool().get()?;
    for p in PREFIXES {
        let target = format!("{p}{dir}/planted");
        let r = c.copy_in(target.as_bytes(), b"from the container");
        check(r.is_err(), || format!("copy-in to {target} succeeded"))?;
        let source = format!("{p}{dir}/secret");
        if let Ok((mut f, _)) = c.open_read(source.as_bytes()) {
            let mut s = String::new();
            f.read_to_string(&mut s)?;
            return Err(format!("copy-out of {source} read {s:?}").into());
        }
    }
    // The container's own /proc/self/fd/N are the init's fds (control socket, cgroup files).
    for fd in 0..16 {
        let p = format!("/proc/self/fd/{fd}");
        check(c.open_read(p.as_bytes()).is_err(), || format!("copy-out of {p} succeeded"))?;
        check(c.open_write(p.as_bytes()).is_err(), || format!("copy-in to {p} succeeded"))?;
    }
    check(host.entries() == ["secret"], || format!("host dir changed: {:?}", host.entries()))?;
    sh(&mut c, "exit 0", limits())?.exited(0)?;
    Ok(())
}

fn errno_of(r: &Result<impl std::fmt::Debug, ContainerError>) -> Option<i32> {
    match r {
        Err(ContainerError::File { errno, .. }) => Some(*errno),
        _ => None,
    }
}

fn traps() -> Result<(), Failed> {
    let bin = bin()?;
    let mut c = pool().get()?;
    let r = run_bin(&mut c, "fs", &bin, &["traps"], limits())?;
    r.exited(0)?;
    // Hard links cannot leave the tmpfs, device nodes cannot be made.
    check(field(&r, "hardlink_ro") == Some("-1 18"), || format!("EXDEV expected: {r:?}"))?;
    check(field(&r, "hardlink_tmp") == Some("-1 18"), || format!("EXDEV expected: {r:?}"))?;
    check(field(&r, "mknod") == Some("-1 1"), || format!("EPERM expected: {r:?}"))?;
    // Copy-out never follows a symlink, magic or not (ELOOP = 40).
    for p in ["up/etc/ld.so.cache", "self/w/fs", "fd/0", "cwd/w/fs", "etc/ld.so.cache", "cache"] {
        let r = c.open_read(p.as_bytes());
        check(errno_of(&r) == Some(40), || format!("copy-out of {p}: {r:?}"))?;
    }
    // Copy-in refuses magic links anywhere and a symlink as the last component; an ordinary
    // symlinked parent stays inside the container (here: the read-only root, EROFS = 30).
    for (p, errno) in
        [("up/tmp/x", 40), ("self/tmp/x", 40), ("fd/0", 40), ("cache", 40), ("etc/x", 30)]
    {
        let r = c.open_write(p.as_bytes());
        check(errno_of(&r) == Some(errno), || format!("copy-in to {p}: {r:?}"))?;
    }
    // A fifo left in /w: opening it for writing would block the init until a reader comes.
    let start = Instant::now();
    let r = c.open_write(b"fifo");
    check(matches!(r, Err(ContainerError::NotRegular { .. })), || {
        format!("copy-in over a fifo: {r:?} after {:?}", start.elapsed())
    })?;
    check(start.elapsed() < Duration::from_secs(1), || format!("took {:?}", start.elapsed()))?;
    let r = c.open_read(b"fifo");
    check(matches!(r, Err(ContainerError::NotRegular { .. })), || format!("copy-out: {r:?}"))?;
    // Nor a socket or a device.
    for p in [&b"sock"[..], b"/dev/null"] {
        let r = c.open_write(p);
        check(matches!(r, Err(ContainerError::NotRegular { .. })), || format!("copy-in: {r:?}"))?;
    }
    sh(&mut c, "exit 0", limits())?.exited(0)?;
    Ok(())
}

fn swapper() -> Result<(), Failed> {
    let bin = bin()?;
    let cache = std::fs::read("/etc/ld.so.cache")?;
    let mut c = pool().get()?;
    let l = shardbox_sandbox::ExecLimits { wall_time_ns: Some(5_000_000_000), ..limits() };
    let start = Instant::now();
    let r = run_bin(&mut c, "fs", &bin, &["swap"], l)?;
    r.exited(0)?;
    check(start.elapsed() < Duration::from_secs(3), || "the run waited for the swapper".into())?;
    let empty = c.cgroup().map(|cg| cg.is_empty()).transpose()?.unwrap_or(true);
    check(empty, || "the swapper outlived the run".into())?;
    // Nothing runs any more: every copy-out sees the same frozen state, and it is either the
    // regular file, a refused symlink or nothing, never the file the symlink names.
    let mut seen = Vec::new();
    for _ in 0..200 {
        let got = match c.open_read(b"out") {
            Ok((mut f, _)) => {
                let mut v = Vec::new();
                f.read_to_end(&mut v)?;
                check(v != cache, || "copy-out followed the symlink".into())?;
                check(v == b"regular", || format!("unexpected content {v:?}"))?;
                "regular".to_string()
            }
            // ELOOP: the symlink; ENOENT: killed between two renames.
            Err(e) => match errno_of(&Err::<(), _>(e)) {
                Some(40) => "symlink".to_string(),
                Some(2) => "missing".to_string(),
                other => return Err(format!("unexpected copy-out error {other:?}").into()),
            },
        };
        if !seen.contains(&got) {
            seen.push(got);
        }
    }
    check(seen.len() == 1, || format!("the file still changes after the run: {seen:?}"))?;
    Ok(())
}

fn init_out_of_reach() -> Result<(), Failed> {
    let bin = bin()?;
    let mut c = pool().get()?;
    let r = run_bin(&mut c, "fs", &bin, &["init"], limits())?;
    r.exited(0)?;
    for p in [
        "/proc/1/environ",
        "/proc/1/mem",
        "/proc/1/fd/0",
        "/proc/1/root/w",
        "/proc/1/cwd",
        "/proc/1/exe",
        "/proc/1/fdinfo/0",
        "/proc/1/maps",
    ] {
        check(field(&r, p) == Some("-1 13"), || format!("{p} must be EACCES: {r:?}"))?;
    }
    check(field(&r, "opendir_/proc/1/fd") == Some("-1 13"), || format!("{r:?}"))?;
    check(field(&r, "kill_1") == Some("-1 1"), || format!("{r:?}"))?;
    check(field(&r, "kill_1_term") == Some("-1 1"), || format!("{r:?}"))?;
    // Exactly the three fds the harness passes: nothing of the init, zygote or host.
    check(field(&r, "fds") == Some("0 1 2"), || format!("fd table: {r:?}"))?;
    // With no fd at all, none: the init's control socket (its fd 0, not close-on-exec) must
    // not slip through an empty fd table. The count is the exit code.
    for files in [0, 1] {
        let null = std::fs::File::open("/dev/null")?;
        let req = ExecRequest {
            args: vec![b"./fs".to_vec(), b"fdcount".to_vec()],
            env: env(),
            files: if files == 0 { vec![] } else { vec![None, Some(null.as_fd())] },
            limits: limits(),
        };
        let o = c.run(&req, None)?;
        check(o.status == WaitStatus::Exited(files), || format!("{files} fds given: {o:?}"))?;
    }
    Ok(())
}

fn directory_fd() -> Result<(), Failed> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let host = HostDir::new("dirfd")?;
    std::fs::write(host.0.join("secret"), "HOST SECRET")?;
    std::os::unix::fs::symlink("/", host.0.join("link"))?;
    let mut c = pool().get()?;
    let out = c.open_write(b"/tmp/out")?;
    // A judge bug handing a directory to a program would open the whole host: openat(fd, "..")
    // walks up from a directory outside the container's root. A block device is the raw disk;
    // a bare symlink fd (O_PATH | O_NOFOLLOW) names a host path.
    const O_PATH: i32 = 0o10_000_000;
    const O_NOFOLLOW: i32 = 0o400_000;
    let mut refused = vec![
        (std::fs::File::open(&host.0)?, 21),
        (std::fs::File::open("/")?, 21),
        (
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(O_PATH | O_NOFOLLOW)
                .open(host.0.join("link"))?,
            22,
        ),
    ];
    let block = std::fs::read_dir("/dev")?
        .flatten()
        .find(|e| e.file_type().map(|t| t.is_block_device()).unwrap_or(false));
    match block {
        Some(dev) => refused.push((std::fs::File::open(dev.path())?, 22)),
        None => eprintln!("    no block device in /dev: that case is not exercised"),
    }
    for (file, errno) in &refused {
        let req = ExecRequest {
            args: vec![b"/bin/cat".to_vec(), b"/dev/fd/3/secret".to_vec()],
            env: env(),
            files: vec![None, Some(out.as_fd()), None, Some(file.as_fd())],
            limits: limits(),
        };
        match c.run(&req, None) {
            Err(ContainerError::Exec { step: ExecStep::Fds, errno: e, .. }) if e == *errno => {}
            other => return Err(format!("{file:?} was handed to a program: {other:?}").into()),
        }
    }
    sh(&mut c, "exit 0", limits())?.exited(0)?;
    Ok(())
}
