//! Pipes between commands: plain `pipe(2)` and proxies (zero-copy and copying), 1 MiB from a
//! producer to a consumer, a proxy's capture, draining when the reader quits early, a two-way
//! ping-pong interaction, and commands with their own limits running at once.

use libtest_mimic::{Failed, Trial};
use shardbox_sandbox::status::Status;

use super::{expect_status, file, json_string, run_body};
use crate::harness::check;

pub fn tests() -> Vec<Trial> {
    vec![
        Trial::test("judge::pipes::producer_to_consumer_1mib", producer_consumer),
        Trial::test("judge::pipes::proxy_capture_and_drain", proxy_capture_and_drain),
        Trial::test("judge::pipes::ping_pong_interaction", ping_pong),
        Trial::test("judge::pipes::own_limits_at_once", own_limits),
    ]
}

/// A command running `script` under sh with `files` (a JSON array).
fn sh_files(script: &str, files: &str, extra: &str) -> String {
    format!(
        r#"{{"args":["/bin/sh","-c",{}],"env":["PATH=/usr/bin:/bin"],"files":{files},
            "cpuLimit":5000000000,"clockLimit":10000000000,"memoryLimit":134217728,"procLimit":20{extra}}}"#,
        json_string(script)
    )
}

fn producer_consumer() -> Result<(), Failed> {
    let producer = sh_files(
        "head -c 1048576 /dev/zero",
        r#"[{"content":""},null,{"name":"stderr","max":100}]"#,
        "",
    );
    let consumer =
        sh_files("wc -c", r#"[null,{"name":"stdout","max":100},{"name":"stderr","max":100}]"#, "");
    for proxy in [r#""proxy":false"#, r#""proxy":true"#, r#""proxy":true,"disableZeroCopy":true"#] {
        let body = format!(
            r#"{{"cmd":[{producer},{consumer}],"pipeMapping":[{{"in":{{"index":0,"fd":1}},"out":{{"index":1,"fd":0}},{proxy}}}]}}"#
        );
        let r = run_body(&body)?;
        let (p, c) = (r.first().ok_or("no result")?, r.get(1).ok_or("no result")?);
        expect_status(p, Status::Accepted)?;
        expect_status(c, Status::Accepted)?;
        check(file(c, "stdout").trim() == "1048576", || format!("{proxy}: {c:?}"))?;
    }
    Ok(())
}

fn proxy_capture_and_drain() -> Result<(), Failed> {
    // The consumer reads 5 bytes and quits; the producer keeps writing 4 MiB and must neither
    // block nor see EPIPE; the capture keeps the first 8 bytes in the producer's result.
    let producer = sh_files(
        "printf abcdefghij; head -c 4194304 /dev/zero; echo done >&2",
        r#"[{"content":""},null,{"name":"stderr","max":100}]"#,
        "",
    );
    let consumer = sh_files("head -c 5", r#"[null,{"name":"stdout","max":100}]"#, "");
    for zero_copy in ["false", "true"] {
        let body = format!(
            r#"{{"cmd":[{producer},{consumer}],"pipeMapping":[{{"in":{{"index":0,"fd":1}},"out":{{"index":1,"fd":0}},
                "proxy":true,"name":"seen","max":8,"disableZeroCopy":{zero_copy}}}]}}"#
        );
        let r = run_body(&body)?;
        let (p, c) = (r.first().ok_or("no result")?, r.get(1).ok_or("no result")?);
        expect_status(p, Status::Accepted)?;
        check(file(p, "stderr") == "done\n", || format!("producer saw no EPIPE: {p:?}"))?;
        check(file(p, "seen") == "abcdefgh", || format!("capture in the writer's result: {p:?}"))?;
        expect_status(c, Status::Accepted)?;
        check(file(c, "stdout") == "abcde", || format!("{c:?}"))?;
    }
    Ok(())
}

fn ping_pong() -> Result<(), Failed> {
    // An interactor asks 2000 questions; the solution answers each with its double. Two pipes:
    // interactor stdout → solution stdin, solution stdout → interactor stdin.
    let interactor = r#"
import sys
for i in range(2000):
    print(i, flush=True)
    if int(sys.stdin.readline()) != 2 * i:
        sys.exit(1)
print("ok", file=sys.stderr)
"#;
    let solution = r#"
import sys
for line in sys.stdin:
    print(2 * int(line), flush=True)
"#;
    let cmd = |script: &str, files: &str| {
        format!(
            r#"{{"args":["python3","-c",{}],"env":["PATH=/usr/bin:/bin"],"files":{files},
                "cpuLimit":10000000000,"clockLimit":20000000000,"memoryLimit":134217728,"procLimit":20}}"#,
            json_string(script)
        )
    };
    let i = cmd(interactor, r#"[null,null,{"name":"stderr","max":1000}]"#);
    let s = cmd(solution, r#"[null,null,{"name":"stderr","max":1000}]"#);
    for proxy in ["false", "true"] {
        let body = format!(
            r#"{{"cmd":[{i},{s}],"pipeMapping":[
                {{"in":{{"index":0,"fd":1}},"out":{{"index":1,"fd":0}},"proxy":{proxy}}},
                {{"in":{{"index":1,"fd":1}},"out":{{"index":0,"fd":0}},"proxy":{proxy}}}]}}"#
        );
        let r = run_body(&body)?;
        let (ri, rs) = (r.first().ok_or("no result")?, r.get(1).ok_or("no result")?);
        expect_status(ri, Status::Accepted)?;
        check(file(ri, "stderr") == "ok\n", || format!("proxy {proxy}: {ri:?}"))?;
        expect_status(rs, Status::Accepted)?;
    }
    Ok(())
}

fn own_limits() -> Result<(), Failed> {
    // Two independent commands at once: one loops into its CPU limit, the other finishes.
    let spin = sh_files("while :; do :; done", r#"[{"content":""}]"#, r#","cpuLimit":200000000"#);
    let quick = sh_files("echo quick", r#"[{"content":""},{"name":"stdout","max":100}]"#, "");
    let t0 = std::time::Instant::now();
    let r = run_body(&format!(r#"{{"cmd":[{spin},{quick},{quick}]}}"#))?;
    check(r.len() == 3, || format!("{r:?}"))?;
    let spin_r = r.first().ok_or("no result")?;
    expect_status(spin_r, Status::TimeLimitExceeded)?;
    for q in r.iter().skip(1) {
        expect_status(q, Status::Accepted)?;
        check(file(q, "stdout") == "quick\n", || format!("{q:?}"))?;
    }
    check(t0.elapsed() < std::time::Duration::from_secs(5), || "ran at once".to_string())?;
    Ok(())
}
