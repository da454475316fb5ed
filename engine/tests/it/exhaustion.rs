//! Attacks that try to exhaust the server through what its `/run` and `/file` answers hold:
//! a request's outputs (collectors, captures, copy-out), replies clients never read, and the
//! descriptors a memory file store holds. Each test starts the real binary with small limits,
//! checks the bound, and ends by checking the server still runs programs. Needs root like the
//! judge tests; without it every test prints why and returns.

use std::time::{Duration, Instant};

use crate::attacks::still_serves;
use crate::judge::{Server, field, json, output, post_run, request, require_judge, start};

/// A command with three collectors, each with a `max` of 64 MiB (`pipe` for the three, or a
/// file for stderr), running `script`.
fn three_collectors_cmd(script: &str, stderr_pipe: bool, extra: &str) -> String {
    format!(
        r#"{{"args":["/bin/sh","-c","{script}"],"env":["PATH=/bin:/usr/bin"],
            "files":[{{"content":""}},{{"name":"stdout","max":67108864,"pipe":true}},
                {{"name":"stderr","max":67108864,"pipe":{stderr_pipe}}},
                {{"name":"three","max":67108864,"pipe":true}}],
            "cpuLimit":10000000000,"memoryLimit":134217728,"procLimit":50{extra}}}"#
    )
}

/// Collectors are bounded one by one by their `max`, which the caller picks: a `pipe: true`
/// collector is held in the server's memory while its program runs (no tmpfs, no memory
/// cgroup in the way), and a command may name 63 of them. Measured before the fix: one
/// request whose program wrote 400 MB to a `pipe: true` stdout took down a server limited
/// to 2 GiB (a memory cgroup; the OOM killer ended it: 400 MB kept, then a 2.4 GB reply of
/// `\u0000`s). Everything a request keeps from its programs (collectors, proxy captures,
/// `copyOut`) now comes out of one total, `-copy-out-limit`; an output cut by it is
/// `Output Limit Exceeded`.
#[test]
fn outputs_of_a_request_are_bounded_together() {
    require_judge!();
    let server = start(&["-copy-out-limit", "1m"]);
    let mut c = server.client();
    let names = ["stdout", "stderr", "three"];
    let kept = |v: &sonic_rs::Value, i: usize| -> usize {
        names.iter().map(|n| output(v, i, n).len()).sum()
    };
    // Within the total: every byte comes back.
    let fits = "head -c 300K /dev/zero; head -c 300K /dev/zero >&2; head -c 300K /dev/zero >&3";
    let r = post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, three_collectors_cmd(fits, true, "")));
    let v = json(&r);
    assert_eq!(field(&v, 0, "status"), "Accepted", "{}", &r.text()[..300.min(r.body.len())]);
    assert_eq!(kept(&v, 0), 900 << 10);
    // Three pipes of 600 KiB each, each under its max: 1 MiB at most comes back, in all.
    let over = "head -c 600K /dev/zero; head -c 600K /dev/zero >&2; head -c 600K /dev/zero >&3";
    for stderr_pipe in [true, false] {
        let cmd = three_collectors_cmd(over, stderr_pipe, "");
        let r = post_run(&mut c, &format!(r#"{{"cmd":[{cmd}]}}"#));
        assert_eq!(r.status, 200, "{}", r.text());
        let v = json(&r);
        assert!(kept(&v, 0) <= 1 << 20, "{} bytes kept: over the request's total", kept(&v, 0));
        assert!(kept(&v, 0) >= 600 << 10, "the first output to finish fits whole");
        assert_eq!(field(&v, 0, "status"), "Output Limit Exceeded");
        assert!(field(&v, 0, "fileError").contains("copy-out total"), "{}", r.text().len());
    }
    // Two commands share the total, and copyOut gets what the collectors left.
    let one = three_collectors_cmd("head -c 600K /dev/zero", true, "");
    let copy = three_collectors_cmd("head -c 600K /dev/zero > f", true, r#","copyOut":["f"]"#);
    let r = post_run(&mut c, &format!(r#"{{"cmd":[{one},{copy}]}}"#));
    let v = json(&r);
    assert_eq!(field(&v, 0, "status"), "Accepted");
    assert_eq!(output(&v, 0, "stdout").len(), 600 << 10);
    assert_eq!(output(&v, 1, "f"), "", "600 KiB more do not fit what is left");
    assert_eq!(field(&v, 1, "status"), "File Error");
    assert!(field(&v, 1, "error").contains("copy-out total"), "{}", field(&v, 1, "error"));
    still_serves(&mut c);
}

/// A command printing `bytes` NUL bytes to a stdout collector that keeps them all: its reply
/// is six times that (`\u0000` each).
fn nul_output_cmd(bytes: usize) -> String {
    format!(
        r#"{{"args":["/usr/bin/head","-c","{bytes}","/dev/zero"],"env":["PATH=/bin:/usr/bin"],
            "files":[{{"content":""}},{{"name":"stdout","max":{bytes}}},{{"name":"stderr","max":100}}],
            "cpuLimit":10000000000,"memoryLimit":134217728,"procLimit":50}}"#
    )
}

/// Sends `/run` with `body` on a new connection and reads nothing but the first bytes of its
/// reply, which must be a 200: the reply stays queued on the server (`body` must ask for more
/// than the socket buffers hold).
fn unread_reply(server: &Server, body: &str) -> crate::harness::Client {
    let mut a = server.client();
    a.send(
        format!("POST /run HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}", body.len())
            .as_bytes(),
    );
    let mut first = [0u8; 16];
    let n = a.stream.peek(&mut first).expect("A's reply starts");
    assert!(first[..n].starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&first));
    a
}

/// Replies a client does not read: a `/run` reply is built whole and held on its connection
/// until it is sent; a client that never reads keeps it for `-write-timeout`, one that reads a
/// byte now and then for good. Each is bounded (`-copy-out-limit`, six times that as JSON),
/// their sum was not: measured before the fix, four connections that each ran a program
/// printing 40 MB of NULs and read nothing held 972 MB of the server's RSS, the default
/// limits allow 1.5 GB each. Past `-shard-replies-bytes-max` a large reply is replaced by a
/// 503 (the backstop: a run that started while the budget had room); a small one, or one
/// alone, is always sent.
#[test]
fn unread_replies_are_bounded_per_shard() {
    require_judge!();
    let server = start(&["-shard-replies-bytes-max", "41943040"]);
    // A: a 24 MiB reply (4 MiB of NULs), never read: it holds 24 of the 40 MiB.
    let big = format!(r#"{{"cmd":[{}]}}"#, nul_output_cmd(4 << 20));
    let a = unread_reply(&server, &big);
    // B: the budget is not spent, so B runs; its 24 MiB reply would pass 40 MiB: replaced.
    let mut b = server.client();
    let r = post_run(&mut b, &big);
    assert_eq!(r.status, 503, "{}", &r.text()[..200.min(r.body.len())]);
    assert!(r.text().contains("replies not yet read"), "{}", r.text());
    assert!(!r.text().contains("not run"), "B ran, then its reply was refused: {}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    // A small reply is always sent.
    still_serves(&mut b);
    // A goes away: its reply is given back, and B's large reply is sent.
    drop(a);
    let start = Instant::now();
    loop {
        let r = post_run(&mut b, &big);
        if r.status == 200 {
            assert_eq!(output(&json(&r), 0, "stdout").len(), 4 << 20);
            break;
        }
        assert_eq!(r.status, 503, "{}", r.text());
        assert!(start.elapsed() < Duration::from_secs(20), "A's reply was never given back");
        std::thread::sleep(Duration::from_millis(50));
    }
    still_serves(&mut b);
}

/// The ids of the files in the store (`GET /file`).
fn stored_ids(c: &mut crate::harness::Client) -> Vec<String> {
    use sonic_rs::JsonValueMutTrait;
    let r = c.get("/file");
    assert_eq!(r.status, 200, "{}", r.text());
    let mut v = json(&r);
    let files = v.as_object_mut().unwrap_or_else(|| panic!("not an object: {}", r.text()));
    files.iter().map(|(id, _)| id.to_string()).collect()
}

/// While a shard's unread replies spend its budget, a large `/run` reply would be replaced by a
/// 503 after its program ran: the work, and whatever it stored (`copyOutCached`), lost to a
/// client that could not know. Before the fix: the program ran and stored its file, the client
/// got 503. Now a run whose reply could be charged to the budget (its collectors' `max`) is
/// refused with 503 and `Retry-After` before it runs; a run whose reply cannot be is not held
/// up, and once the budget has room again the same request runs.
#[test]
fn runs_are_refused_before_running_while_unread_replies_spend_the_budget() {
    require_judge!();
    let server = start(&["-shard-replies-bytes-max", "8388608"]);
    // A: a 24 MiB reply never read holds more than the 8 MiB budget: spent.
    let a = unread_reply(&server, &format!(r#"{{"cmd":[{}]}}"#, nul_output_cmd(4 << 20)));
    // B: a program that stores a file and prints 4 MiB of NULs, a 24 MiB reply.
    let stores = r#"{"args":["/bin/sh","-c","echo kept > f; head -c 4194304 /dev/zero"],
        "env":["PATH=/bin:/usr/bin"],
        "files":[{"content":""},{"name":"stdout","max":4194304},{"name":"stderr","max":100}],
        "cpuLimit":10000000000,"memoryLimit":134217728,"procLimit":50,
        "copyOutCached":["f"]}"#;
    let body = format!(r#"{{"cmd":[{stores}]}}"#);
    let mut b = server.client();
    let r = post_run(&mut b, &body);
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(stored_ids(&mut b), Vec::<String>::new(), "B's program did not run");
    assert!(r.text().contains("not run"), "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    // A run whose reply stays small (two 100-byte collectors) is not refused.
    still_serves(&mut b);
    // A goes away: the budget has room again, and B's request runs and stores its file.
    drop(a);
    let start = Instant::now();
    let r = loop {
        let r = post_run(&mut b, &body);
        if r.status == 200 {
            break r;
        }
        assert!(r.text().contains("not run"), "{}", r.text());
        assert!(start.elapsed() < Duration::from_secs(20), "A's reply was never given back");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(field(&json(&r), 0, "status"), "Accepted", "{}", r.text());
    assert_eq!(output(&json(&r), 0, "stdout").len(), 4 << 20);
    assert_eq!(stored_ids(&mut b).len(), 1, "B's program ran once");
}

/// A field of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status.lines().find(|l| l.starts_with(key)).expect("status line");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("KiB")
}

/// A `/run` reply is encoded whole on a worker; it used to be copied behind its head into the
/// connection's output buffer, so a reply peaked at twice its JSON. Measured before the fix
/// (release binary, VmHWM): a program printing 100 MiB of NULs (a 600 MiB reply) took the
/// server from 15 to 1215 MiB; after, to 715 MiB (the output itself, then its JSON, sent from
/// the buffer it was encoded in). Here 16 MiB of NULs, a 96 MiB reply: the peak may grow by the
/// output and its JSON once, with room to spare, never by the JSON twice.
#[test]
fn a_large_reply_is_not_copied() {
    require_judge!();
    let server = start(&[]);
    let pid = server.binary.child.id();
    let mut c = server.client();
    still_serves(&mut c);
    let raw_kib: u64 = 16 << 10;
    let rss_before = status_kib(pid, "VmRSS");
    let r = post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, nul_output_cmd(16 << 20)));
    assert_eq!(r.status, 200, "{}", &r.text()[..200.min(r.body.len())]);
    let json_kib = r.body.len() as u64 >> 10;
    assert!(json_kib >= 6 * raw_kib, "{json_kib} KiB of JSON for {raw_kib} KiB of NULs");
    assert_eq!(output(&json(&r), 0, "stdout").len() as u64, raw_kib << 10);
    let growth = status_kib(pid, "VmHWM").saturating_sub(rss_before);
    assert!(
        growth < raw_kib + json_kib * 3 / 2,
        "peak RSS grew by {growth} KiB for a {json_kib} KiB reply of {raw_kib} KiB of output"
    );
    // Sent on its own after what was queued before it, and before what comes after.
    let big = format!(r#"{{"cmd":[{}]}}"#, nul_output_cmd(1 << 20));
    c.send(
        format!(
            "GET /version HTTP/1.1\r\nHost: t\r\n\r\nPOST /run HTTP/1.1\r\nHost: t\r\n\
             Content-Length: {}\r\n\r\n{big}GET /version HTTP/1.1\r\nHost: t\r\n\r\n",
            big.len()
        )
        .as_bytes(),
    );
    let version = c.read_reply().expect("first /version");
    assert_eq!(version.status, 200);
    let r = c.read_reply().expect("the /run reply");
    assert_eq!(output(&json(&r), 0, "stdout").len(), 1 << 20);
    let again = c.read_reply().expect("second /version");
    assert_eq!((again.status, again.body), (200, version.body));
    still_serves(&mut c);
}

/// The soft `RLIMIT_NOFILE` of process `pid`.
fn nofile_of(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits.lines().find(|l| l.starts_with("Max open files")).expect("nofile line");
    line.split_whitespace().nth(3).and_then(|v| v.parse().ok()).expect("soft limit")
}

/// Empty uploads cost nothing against the store's byte quota, but a memory store holds one
/// descriptor (a sealed memfd) per file. Measured before the fix, at a limit of 20 000
/// descriptors: 20 000 empty uploads, then every `/run` was `Internal Error` (`Too many open
/// files`: no pipe, no container socket, no cgroup file), resets failed and the pool could not
/// be refilled until the files were deleted. The store now holds no more files than the
/// descriptors the connections and runs leave (`507` past it), and runs keep working.
#[test]
fn empty_uploads_cannot_take_every_descriptor() {
    require_judge!();
    let args =
        ["-pre-fork", "1", "-cgroup-prefix", "shardbox-engine-test", "-shard-conns-max", "64"];
    let server = Server { binary: crate::harness::Binary::start_with_nofile(1500, &args) };
    let limit = nofile_of(server.binary.child.id());
    if limit > 4096 {
        eprintln!(
            "SKIPPED: the server raised RLIMIT_NOFILE from 1500 to {limit} (it has \
             CAP_SYS_RESOURCE), so filling its store takes too long for a test"
        );
        return;
    }
    let mut c = server.client();
    let mut stored = Vec::new();
    let refused = loop {
        let r = crate::judge::file::upload(&mut c, "empty", b"");
        if r.status != 200 {
            break r;
        }
        stored.push(crate::judge::file::id_of(&r));
        assert!(stored.len() as u64 <= limit, "{} files stored past the limit", stored.len());
    };
    assert_eq!(refused.status, 507, "{}", refused.text());
    assert!(refused.text().contains("maximum of"), "{}", refused.text());
    assert!(stored.len() >= 256, "only {} files: below the store's floor", stored.len());
    // Runs still get their pipes, memfds and containers: three commands, each with a
    // content input and two collectors.
    let cat = r#"{"args":["/bin/cat"],"env":["PATH=/bin"],"files":[{"content":"x"},
        {"name":"stdout","max":100},{"name":"stderr","max":100}],
        "cpuLimit":2000000000,"memoryLimit":134217728,"procLimit":10}"#;
    for _ in 0..3 {
        let r = post_run(&mut c, &format!(r#"{{"cmd":[{cat},{cat},{cat}]}}"#));
        let v = json(&r);
        for i in 0..3 {
            assert_eq!(field(&v, i, "status"), "Accepted", "{}", r.text());
            assert_eq!(output(&v, i, "stdout"), "x");
        }
    }
    // One file deleted makes room for one more.
    let r = request(&mut c, "DELETE", &format!("/file/{}", stored[0]), &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(crate::judge::file::upload(&mut c, "again", b"").status, 200);
    still_serves(&mut c);
}
