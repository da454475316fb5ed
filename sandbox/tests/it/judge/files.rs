//! Every file kind in real runs: `content`, `fileId`, `src` as stdin; `pipe: false` and
//! `pipe: true` collectors; one collector name at two fds; `tty`; copy-in (files, nested paths,
//! fileId, symlinks, failures); copy-out (`?`, size limits, truncation, not-regular files);
//! copy-out-cached into the store.

use libtest_mimic::{Failed, Trial};
use shardbox_sandbox::status::Status;

use super::{expect_status, file, run_body, run_one, sh, store};
use crate::harness::check;

pub fn tests() -> Vec<Trial> {
    vec![
        Trial::test("judge::files::inputs", inputs),
        Trial::test("judge::files::collectors", collectors),
        Trial::test("judge::files::tty", tty),
        Trial::test("judge::files::copy_in", copy_in),
        Trial::test("judge::files::copy_in_failures", copy_in_failures),
        Trial::test("judge::files::copy_out", copy_out),
        Trial::test("judge::files::copy_out_cached", copy_out_cached),
        Trial::test("judge::files::request_errors", request_errors),
    ]
}

fn with_stdin(stdin: &str) -> String {
    format!(
        r#"{{"args":["/bin/cat"],"env":["PATH=/bin"],
            "files":[{stdin},{{"name":"stdout","max":1048576}},{{"name":"stderr","max":100}}],
            "cpuLimit":2000000000,"memoryLimit":134217728,"procLimit":10}}"#
    )
}

fn inputs() -> Result<(), Failed> {
    let r = run_one(&with_stdin(r#"{"content":"from content\n"}"#))?;
    expect_status(&r, Status::Accepted)?;
    check(file(&r, "stdout") == "from content\n", || format!("{r:?}"))?;
    let id = store().add_bytes("in.txt", b"from the store\n")?;
    let r = run_one(&with_stdin(&format!(r#"{{"fileId":"{id}"}}"#)))?;
    check(file(&r, "stdout") == "from the store\n", || format!("{r:?}"))?;
    store().delete(&id)?;
    let host = std::env::temp_dir().join(format!("shardbox-judge-src-{}", std::process::id()));
    std::fs::write(&host, b"from the host\n")?;
    let r = run_one(&with_stdin(&format!(r#"{{"src":{:?}}}"#, host.display().to_string())))?;
    check(file(&r, "stdout") == "from the host\n", || format!("{r:?}"))?;
    let _ = std::fs::remove_file(&host);
    // A content stdin is a seekable file (a sealed memfd), as go-judge's.
    let r = run_one(
        r#"{"args":["python3","-c","import os; print(os.lseek(0, 0, 2))"],"env":["PATH=/bin:/usr/bin"],
            "files":[{"content":"abcdef"},{"name":"stdout","max":100},{"name":"stderr","max":1000}],
            "cpuLimit":2000000000,"memoryLimit":134217728,"procLimit":10}"#,
    )?;
    expect_status(&r, Status::Accepted)?;
    check(file(&r, "stdout") == "6\n", || format!("seekable stdin: {r:?}"))?;
    // 1 MiB through content and back.
    let big = "x".repeat(1 << 20);
    let r = run_one(&with_stdin(&format!(r#"{{"content":"{big}"}}"#)))?;
    check(r.files.get("stdout").map(Vec::len) == Some(1 << 20), || "1 MiB round trip".to_string())?;
    Ok(())
}

fn collectors() -> Result<(), Failed> {
    // pipe: true collectors and a shared name across fds 1 and 2.
    let r = run_one(
        r#"{"args":["/bin/sh","-c","echo out; echo err >&2; ls /w"],"env":["PATH=/bin:/usr/bin"],
            "files":[{"content":""},{"name":"both","max":100,"pipe":true},{"name":"both","max":100,"pipe":true}],
            "cpuLimit":2000000000,"memoryLimit":134217728,"procLimit":10}"#,
    )?;
    expect_status(&r, Status::Accepted)?;
    check(file(&r, "both") == "out\nerr\n", || {
        format!("pipe collectors write to no file in /w: {r:?}")
    })?;
    // pipe: false collectors live in /w, as go-judge's.
    let r = run_one(&sh("ls /w", ""))?;
    check(file(&r, "stdout") == "stderr\nstdout\n", || format!("{r:?}"))?;
    // A program that replaces its collector's name cannot redirect what is read.
    let r = run_one(&sh("echo kept; rm /w/stdout; ln -s /etc/passwd /w/stdout", ""))?;
    expect_status(&r, Status::Accepted)?;
    check(file(&r, "stdout") == "kept\n", || format!("{r:?}"))?;
    // A pipe collector overflowing: max + 1 kept, the writer is never blocked.
    let r = run_one(
        r#"{"args":["/bin/sh","-c","head -c 4000000 /dev/zero; echo done >&2"],"env":["PATH=/bin:/usr/bin"],
            "files":[{"content":""},{"name":"stdout","max":1000,"pipe":true},{"name":"stderr","max":100}],
            "cpuLimit":5000000000,"memoryLimit":134217728,"procLimit":10}"#,
    )?;
    expect_status(&r, Status::OutputLimitExceeded)?;
    check(
        r.files.get("stdout").map(Vec::len) == Some(1001) && file(&r, "stderr") == "done\n",
        || format!("{:?}", r.files.get("stderr")),
    )?;
    Ok(())
}

fn tty() -> Result<(), Failed> {
    let r = run_one(
        r#"{"args":["/bin/sh","-c","test -t 1 && echo tty1; test -t 2 && echo tty2 >&2; test -t 0 || echo notty0"],
            "env":["PATH=/bin:/usr/bin","TERM=xterm"],"tty":true,
            "files":[{"content":""},{"name":"stdout","max":100},{"name":"stderr","max":100}],
            "cpuLimit":2000000000,"memoryLimit":134217728,"procLimit":10}"#,
    )?;
    expect_status(&r, Status::Accepted)?;
    check(file(&r, "stdout") == "tty1\r\ntty2\r\nnotty0\r\n", || {
        format!("one terminal under the first name: {r:?}")
    })?;
    check(!r.files.contains_key("stderr"), || format!("{r:?}"))?;
    Ok(())
}

fn copy_in() -> Result<(), Failed> {
    let id = store().add_bytes("data", b"cached\n")?;
    let extra = format!(
        r#","copyIn":{{"a/b/c.txt":{{"content":"deep\n"}},"/tmp/t.txt":{{"content":"tmp\n"}},
            "f.txt":{{"fileId":"{id}"}},"link":{{"symlink":"a/b/c.txt"}},"exe":{{"src":"/bin/echo"}}}}"#
    );
    let r = run_one(&sh(
        "cat a/b/c.txt /tmp/t.txt f.txt link; ./exe ran; stat -c %a a/b/c.txt",
        &extra,
    ))?;
    expect_status(&r, Status::Accepted)?;
    check(file(&r, "stdout") == "deep\ntmp\ncached\ndeep\nran\n777\n", || format!("{r:?}"))?;
    store().delete(&id)?;
    Ok(())
}

fn copy_in_failures() -> Result<(), Failed> {
    let cases = [
        (r#"{"x":{"src":"/nonexistent/file"}}"#, "CopyInOpenFile"),
        (r#"{"/usr/x":{"content":"read-only"}}"#, "CopyInCreateFile"),
        (r#"{"big":{"src":"/dev/zero"}}"#, "CopyInCopyContent"),
        (r#"{"x2":{"content":""},"x2/z":{"content":""}}"#, "CopyInCreateFile"),
        (r#"{"/usr/newdir/x":{"content":""}}"#, "CopyInCreateDir"),
        (r#"{"missing/dir/l":{"symlink":"x"}}"#, "Symlink"),
    ];
    for (copy_in, kind) in cases {
        let r = run_one(&sh("echo ran", &format!(r#","copyIn":{copy_in}"#)))?;
        expect_status(&r, Status::FileError)?;
        let fe = r.file_errors.first();
        check(fe.is_some_and(|e| e.kind.as_str() == kind && e.message == r.error), || {
            format!("{copy_in}: expected {kind}: {r:?}")
        })?;
        check(r.files.is_empty() && r.time_ns == 0 && r.exit_status == 0, || {
            format!("not run: {r:?}")
        })?;
    }
    let r = run_one(&sh("true", r#","copyIn":{"missing/dir/l":{"symlink":"x"}}"#))?;
    check(r.error == r#"symlink: "missing/dir/l" -> "x": no such file or directory"#, || {
        format!("{r:?}")
    })?;
    let r = run_one(&sh("true", r#","copyIn":{"/usr/x":{"content":""}}"#))?;
    check(r.error == r#"copyin: create "/usr/x": read-only file system"#, || format!("{r:?}"))?;
    Ok(())
}

fn copy_out() -> Result<(), Failed> {
    let setup = "printf 1234567890 > ten; ln -s ten sym; mkdir d; mkfifo fifo; echo -n small > s";
    let r = run_one(&sh(setup, r#","copyOut":["ten","s","absent?","stdout"]"#))?;
    expect_status(&r, Status::Accepted)?;
    check(file(&r, "ten") == "1234567890" && file(&r, "s") == "small", || format!("{r:?}"))?;
    check(!r.files.contains_key("absent"), || format!("optional and missing: absent: {r:?}"))?;
    for (name, message) in [
        ("absent", "open absent: no such file or directory"),
        ("sym", "sym is not a regular file"),
        ("d", "d is not a regular file"),
        ("fifo", "fifo is not a regular file"),
    ] {
        let r = run_one(&sh(setup, &format!(r#","copyOut":["{name}"]"#)))?;
        expect_status(&r, Status::FileError)?;
        check(r.error == message, || format!("{name}: {r:?}"))?;
        check(r.file_errors.first().is_some_and(|e| e.kind.as_str() == "CopyOutOpen"), || {
            format!("{r:?}")
        })?;
    }
    // copyOutMax at max - 1, max, max + 1 of a 10-byte file.
    for (max, ok) in [(9, false), (10, true), (11, true)] {
        let r = run_one(&sh(setup, &format!(r#","copyOut":["ten"],"copyOutMax":{max}"#)))?;
        expect_status(&r, if ok { Status::Accepted } else { Status::FileError })?;
        if !ok {
            check(r.error == r#"copyout: "ten" size (10) exceeds limit (9)"#, || format!("{r:?}"))?;
            check(!r.files.contains_key("ten"), || format!("{r:?}"))?;
        }
    }
    let r = run_one(&sh(setup, r#","copyOut":["ten"],"copyOutMax":5,"copyOutTruncate":true"#))?;
    expect_status(&r, Status::FileError)?;
    check(file(&r, "ten") == "12345", || format!("truncated: {r:?}"))?;
    // A copy-out error after a non-zero exit is listed but keeps the status.
    let r = run_one(&sh("exit 4", r#","copyOut":["absent"]"#))?;
    expect_status(&r, Status::NonzeroExitStatus)?;
    check(r.file_errors.len() == 1, || format!("{r:?}"))?;
    Ok(())
}

fn copy_out_cached() -> Result<(), Failed> {
    let r = run_one(&sh(
        "echo -n compiled > a.out; echo log",
        r#","copyOutCached":["a.out","stdout"]"#,
    ))?;
    expect_status(&r, Status::Accepted)?;
    let id = r.file_ids.get("a.out").cloned().unwrap_or_default();
    let f = store().get(&id)?;
    check(f.read_to_vec()? == b"compiled" && f.name == "a.out", || format!("{r:?}"))?;
    let log = r.file_ids.get("stdout").cloned().unwrap_or_default();
    check(store().get(&log)?.read_to_vec()? == b"log\n", || {
        format!("a collector can be cached: {r:?}")
    })?;
    check(!r.files.contains_key("stdout"), || format!("cached collectors leave files: {r:?}"))?;
    // Run the cached file again through copyIn, as a compile-then-run judge does.
    let r = run_one(&sh("cat bin", &format!(r#","copyIn":{{"bin":{{"fileId":"{id}"}}}}"#)))?;
    check(file(&r, "stdout") == "compiled", || format!("{r:?}"))?;
    store().delete(&id)?;
    store().delete(&log)?;
    Ok(())
}

fn request_errors() -> Result<(), Failed> {
    let e = run_body(&format!(r#"{{"cmd":[{}]}}"#, with_stdin(r#"{"fileId":"NOTHERE2"}"#)))
        .expect_err("unknown fileId");
    check(e == r#"file does not exists with id: "NOTHERE2""#, || e.clone())?;
    let e = run_body(&format!(r#"{{"cmd":[{}]}}"#, with_stdin(r#"{"src":"/nonexistent/in"}"#)))
        .expect_err("missing src");
    check(e.starts_with("open file /nonexistent/in"), || e.clone())?;
    let e = run_body(r#"{"cmd":[{"args":["true"],"files":[null]}]}"#).expect_err("null slot");
    check(e == "null file for index/fd: 0/0", || e.clone())?;
    Ok(())
}
