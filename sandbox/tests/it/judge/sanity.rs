//! go-judge's `integration_test/sanity_test.go` table, ported: the same commands, base limits
//! and expected statuses, except where shardbox differs on purpose (`docs/compatibility.md`):
//! `kill -SIGINT 1` fails here (programs run as uid 1000, not as root of the container).

use libtest_mimic::{Failed, Trial};
use shardbox_sandbox::status::Status;

use super::{cmd, expect_status, file, json_string, run_one, store};
use crate::harness::check;

pub fn tests() -> Vec<Trial> {
    vec![Trial::test("judge::sanity::go_judge_table", table)]
}

/// One row: name, args (JSON), extra fields, expected status, and a check of the result.
type Row = (
    &'static str,
    String,
    String,
    Status,
    fn(&shardbox_sandbox::result::RunResult) -> Result<(), String>,
);

fn bash(script: &str) -> String {
    format!(r#"["/bin/bash","-c",{}]"#, json_string(script))
}

fn ok(_: &shardbox_sandbox::result::RunResult) -> Result<(), String> {
    Ok(())
}

fn table() -> Result<(), Failed> {
    let gpp = which("g++");
    let rows: Vec<Row> = vec![
        ("echo", r#"["echo","hello world"]"#.into(), String::new(), Status::Accepted, |r| {
            check(file(r, "stdout") == "hello world\n", || format!("{r:?}"))
        }),
        (
            "symlink urandom copy-out",
            bash("ln -s /dev/urandom out"),
            r#","copyOut":["out"]"#.into(),
            Status::FileError,
            ok,
        ),
        (
            "sleep past the limits",
            r#"["sleep","2"]"#.into(),
            r#","cpuLimit":1000000000,"realCpuLimit":1000000000"#.into(),
            Status::TimeLimitExceeded,
            ok,
        ),
        (
            "env",
            bash("echo $TEST"),
            r#","env":["PATH=/usr/bin:/bin","TEST=1"]"#.into(),
            Status::Accepted,
            |r| check(file(r, "stdout") == "1\n", || format!("{r:?}")),
        ),
        // go-judge: Accepted (programs are root there and the init ignores SIGINT). Here the
        // program is uid 1000 and cannot signal the init: kill fails.
        ("kill init", bash("kill -SIGINT 1"), String::new(), Status::NonzeroExitStatus, ok),
        (
            "copy-in into a dir",
            bash("ls test_dir"),
            r#","copyIn":{"test_dir/test_file":{"content":"test"}}"#.into(),
            Status::Accepted,
            |r| check(file(r, "stdout") == "test_file\n", || format!("{r:?}")),
        ),
        (
            "copy-in into /tmp",
            bash("ls /tmp"),
            r#","copyIn":{"/tmp/test_file":{"content":"test"}}"#.into(),
            Status::Accepted,
            |r| check(file(r, "stdout") == "test_file\n", || format!("{r:?}")),
        ),
        ("copy-out missing", bash("true"), r#","copyOut":["test"]"#.into(), Status::FileError, ok),
        ("copy-out optional", bash("true"), r#","copyOut":["test?"]"#.into(), Status::Accepted, ok),
        (
            "copy-out cached",
            bash("echo 1 > out"),
            r#","copyOutCached":["out"]"#.into(),
            Status::Accepted,
            |r| {
                let id = r.file_ids.get("out").cloned().unwrap_or_default();
                check(!id.is_empty(), || format!("{r:?}"))?;
                store().delete(&id).map_err(|e| e.to_string())
            },
        ),
        (
            "stack limit",
            bash("ulimit -s"),
            r#","stackLimit":102400000"#.into(),
            Status::Accepted,
            |r| check(file(r, "stdout") == "100000\n", || format!("{r:?}")),
        ),
        (
            "symlink passwd copy-out",
            bash("ln -s /etc/passwd out.txt"),
            r#","copyOut":["out.txt"]"#.into(),
            Status::FileError,
            ok,
        ),
        (
            "copy-out max",
            bash("echo -n 1234567890 > out.txt"),
            r#","copyOut":["out.txt"],"copyOutMax":5"#.into(),
            Status::FileError,
            ok,
        ),
        (
            "copy-out truncate",
            bash("echo -n 1234567890 > out.txt"),
            r#","copyOut":["out.txt"],"copyOutMax":5,"copyOutTruncate":true"#.into(),
            Status::FileError,
            |r| check(file(r, "out.txt") == "12345", || format!("{r:?}")),
        ),
        (
            "fifo copy-out",
            bash("mkfifo out"),
            r#","copyOut":["out"]"#.into(),
            Status::FileError,
            |r| check(r.error.contains("not a regular file"), || format!("{r:?}")),
        ),
    ];
    for (name, args, extra, status, more) in rows {
        let r = run_one(&cmd(&args, &extra)).map_err(|e| format!("{name}: {e}"))?;
        expect_status(&r, status).map_err(|e| format!("{name}: {e}"))?;
        more(&r).map_err(|e| format!("{name}: {e}"))?;
    }
    // g++ with a tty on a bad source: Nonzero Exit Status, colored diagnostics (ESC).
    match gpp {
        None => eprintln!("    g++ not installed: skipping the tty compile row"),
        Some(gpp) => {
            let extra = r#","tty":true,"env":["PATH=/usr/bin:/bin","TERM=xterm"],
                "copyIn":{"a.cc":{"content":"int main() { syntax error }"}},"procLimit":50,
                "memoryLimit":536870912"#;
            let args = format!(r#"["{gpp}","a.cc","-o","a"]"#);
            let r = run_one(&cmd(&args, extra))?;
            expect_status(&r, Status::NonzeroExitStatus)?;
            check(file(&r, "stdout").contains('\u{1b}'), || format!("colored: {r:?}"))?;
        }
    }
    Ok(())
}

fn which(name: &str) -> Option<String> {
    ["/usr/bin", "/bin"]
        .iter()
        .map(|d| format!("{d}/{name}"))
        .find(|p| std::path::Path::new(p).exists())
}
