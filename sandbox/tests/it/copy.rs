//! Copy-in (executable, nested dirs), symlinks, copy-out refusing symlinks, dirs and fifos.

use std::io::Read;

use libtest_mimic::{Failed, Trial};
use shardbox_sandbox::{ContainerError, Step};

use crate::harness::{check, limits, pool, run_args, sh};

pub fn tests() -> Vec<Trial> {
    vec![
        Trial::test("copy::copied_binary_is_executable", copied_binary),
        Trial::test("copy::nested_paths_and_symlinks", nested_and_symlinks),
        Trial::test("copy::copy_out_regular_files_only", copy_out_regular_only),
        Trial::test("copy::copy_in_refuses_magic_links", copy_in_magic_links),
    ]
}

fn copied_binary() -> Result<(), Failed> {
    let mut c = pool().get()?;
    c.copy_in(b"my_echo", &std::fs::read("/bin/echo")?)?;
    let r = run_args(&mut c, &["./my_echo", "TOKEN"], limits())?;
    r.exited(0)?;
    check(r.stdout == "TOKEN\n", || format!("{r:?}"))?;
    let mut src = std::fs::File::open("/bin/true")?;
    let n = c.copy_in_from(b"/tmp/t", &mut src)?;
    check(n == std::fs::metadata("/bin/true")?.len(), || format!("copied {n}"))?;
    run_args(&mut c, &["/tmp/t"], limits())?.exited(0)?;
    Ok(())
}

fn nested_and_symlinks() -> Result<(), Failed> {
    let mut c = pool().get()?;
    c.copy_in(b"a/b/c.txt", b"deep\n")?;
    c.symlink(b"a/b/c.txt", b"link.txt")?;
    c.symlink(b"/dev/stdin", b"input.txt")?;
    let r = sh(&mut c, "cat link.txt; ls -l input.txt | cut -c1", limits())?;
    r.exited(0)?;
    check(r.stdout == "deep\nl\n", || format!("{r:?}"))?;
    match c.symlink(b"x", b"link.txt") {
        Err(ContainerError::File { step: Step::Symlink, errno: 17, .. }) => {}
        other => return Err(format!("symlink over an existing file: {other:?}").into()),
    }
    Ok(())
}

fn copy_out_regular_only() -> Result<(), Failed> {
    let mut c = pool().get()?;
    let setup = "echo -n data > out; ln -s /etc/ld.so.cache sym; ln -s / root; mkdir d; mkfifo f; \
                 ln -s out rel";
    sh(&mut c, setup, limits())?.exited(0)?;
    let (mut f, size) = c.open_read(b"out")?;
    let mut s = String::new();
    f.read_to_string(&mut s)?;
    check(s == "data" && size == 4, || format!("{s:?} {size}"))?;
    let (_, size) = c.open_read(b"/w/out")?;
    check(size == 4, || format!("absolute path size {size}"))?;
    for path in [&b"sym"[..], b"rel", b"root/etc/ld.so.cache", b"d", b"f", b"/dev/null"] {
        let p = String::from_utf8_lossy(path).into_owned();
        match c.open_read(path) {
            Err(ContainerError::NotRegular { .. }) => {}
            // A symlink anywhere in the path: openat2 RESOLVE_NO_SYMLINKS answers ELOOP.
            Err(ContainerError::File { step: Step::Open, errno: 40, .. }) => {}
            other => return Err(format!("copy-out of {p} must be refused: {other:?}").into()),
        }
    }
    match c.open_read(b"missing") {
        Err(ContainerError::File { step: Step::Open, errno: 2, .. }) => {}
        other => return Err(format!("missing file: {other:?}").into()),
    }
    // Still usable after refusals.
    sh(&mut c, "exit 0", limits())?.exited(0)?;
    Ok(())
}

fn copy_in_magic_links() -> Result<(), Failed> {
    let mut c = pool().get()?;
    // The init's fds (control socket, cgroup.procs files) must not be reachable by path.
    for fd in 0..8 {
        let p = format!("/proc/self/fd/{fd}");
        if let Ok(f) = c.open_write(p.as_bytes()) {
            return Err(format!("opened {p} for writing: {f:?}").into());
        }
    }
    match c.open_write(b"/usr/evil") {
        Err(ContainerError::File { step: Step::Open, errno: 30, .. }) => {}
        other => return Err(format!("write to read-only /usr: {other:?}").into()),
    }
    Ok(())
}
