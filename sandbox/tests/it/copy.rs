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
        Trial::test("copy::batched_opens_answer_each_path_in_order", batched_opens),
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

/// `open_write_batch` at the batch size - 1, at it, + 1 and over two batches: every path gets
/// its own file, in order; a path that cannot be created fails alone, the others still open.
fn batched_opens() -> Result<(), Failed> {
    use shardbox_sandbox::limits::OPEN_WRITE_BATCH_MAX;
    use std::io::Write;
    let mut c = pool().get()?;
    for n in [OPEN_WRITE_BATCH_MAX - 1, OPEN_WRITE_BATCH_MAX, OPEN_WRITE_BATCH_MAX + 1, 17] {
        let names: Vec<String> = (0..n).map(|i| format!("b{n}/f{i}")).collect();
        let mut paths: Vec<&[u8]> = names.iter().map(|p| p.as_bytes()).collect();
        // A file where a directory must be: its child cannot be created (ENOTDIR).
        c.copy_in(format!("file{n}").as_bytes(), b"x")?;
        let bad = format!("file{n}/child");
        let bad_at = n / 2;
        paths.insert(bad_at, bad.as_bytes());
        let opened = c.open_write_batch(&paths);
        check(opened.len() == n + 1, || format!("{n}: {} results", opened.len()))?;
        for (i, r) in opened.into_iter().enumerate() {
            match (i == bad_at, r) {
                (true, Err(ContainerError::File { errno: 20, .. })) => {}
                (false, Ok(mut f)) => f.write_all(i.to_string().as_bytes())?,
                (_, other) => return Err(format!("{n}: path {i}: {other:?}").into()),
            }
        }
        let r = sh(&mut c, &format!("cat b{n}/f*"), limits())?;
        r.exited(0)?;
        let mut want: Vec<String> =
            (0..=n).filter(|i| *i != bad_at).map(|i| i.to_string()).collect();
        want.sort_by_key(|i| {
            // `cat b{n}/f*` lists f0, f1, f10, f11, …: the shell's order of the names.
            let k: usize = i.parse().unwrap_or(0);
            let file = if k < bad_at { k } else { k - 1 };
            format!("f{file}")
        });
        check(r.stdout == want.concat(), || format!("{n}: {r:?} want {want:?}"))?;
    }
    Ok(())
}
