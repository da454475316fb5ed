//! `POST /run` through the binary: round trips, every error status with its JSON-string body
//! (and the server still serving afterwards), cancellation when the client leaves, a full
//! worker queue, and parallel runs.

use std::time::{Duration, Instant};

use super::{echo_cmd, field, json, output, post_run, request, require_judge, sh_cmd, start};
use crate::harness::Client;

#[test]
fn run_round_trip_like_go_judge() {
    require_judge!();
    let server = start(&[]);
    let mut c = server.client();
    let r = post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, echo_cmd("a<b>&")));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
    assert!(r.body.ends_with(b"]\n"), "a bare array and a newline: {}", r.text());
    assert!(r.text().contains(r"a\u003cb\u003e\u0026\n"), "HTML escaped as Go does: {}", r.text());
    assert!(
        r.text().starts_with(r#"[{"status":"Accepted","exitStatus":0,"time":"#),
        "{}",
        r.text()
    );
    let v = json(&r);
    assert_eq!(output(&v, 0, "stdout"), "a<b>&\n");
    // PascalCase keys from clients in the wild work too (go-judge#167).
    let pascal = r#"{"Cmd":[{"Args":["/bin/echo","x"],"Env":["PATH=/bin"],"Files":[{"Content":""},
        {"Name":"stdout","Max":100}],"CpuLimit":1000000000,"MemoryLimit":104857600,"ProcLimit":5}]}"#;
    let v = json(&post_run(&mut c, pascal));
    assert_eq!(output(&v, 0, "stdout"), "x\n");
    // Programs start with SIGTERM unblocked and not ignored, although the server blocks it
    // for its own threads.
    let v = json(&post_run(
        &mut c,
        &format!(r#"{{"cmd":[{}]}}"#, sh_cmd("kill -TERM $$; sleep 1", "")),
    ));
    assert_eq!(
        (field(&v, 0, "status"), field(&v, 0, "exitStatus")),
        ("Signalled".into(), "15".into())
    );
    // Two commands and a pipe, results in order.
    let body = format!(
        r#"{{"cmd":[{},{}],"pipeMapping":[{{"in":{{"index":0,"fd":1}},"out":{{"index":1,"fd":0}}}}]}}"#,
        sh_cmd("echo piped", "").replace(r#"{"name":"stdout","max":10240}"#, "null"),
        sh_cmd("cat", "").replace(r#"{"content":""}"#, "null"),
    );
    let r = post_run(&mut c, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = json(&r);
    assert_eq!(output(&v, 1, "stdout"), "piped\n", "{}", r.text());
}

#[test]
fn every_error_has_its_status_and_a_json_string_body() {
    require_judge!();
    let server = start(&["-body-bytes-max", "1000000"]);
    let mut c = server.client();
    let huge_argv = format!(r#"{{"cmd":[{{"args":["{}"]}}]}}"#, "a".repeat(60_000));
    let two = |maps: &str, files0: &str| {
        format!(
            r#"{{"cmd":[{{"args":["true"],"files":{files0}}},{{"args":["true"]}}],"pipeMapping":{maps}}}"#
        )
    };
    let cases: Vec<(String, u16, &str)> = vec![
        ("".into(), 400, "EOF"),
        ("{".into(), 400, "invalid JSON"),
        (r#"{"cmd":[]}"#.into(), 400, "no cmd provided"),
        (
            r#"{"cmd":[{"args":["a"],"cpuLimit":-1}]}"#.into(),
            400,
            "json: cannot unmarshal number -1 into Go struct field Cmd.cmd.cpuLimit of type uint64",
        ),
        (
            r#"{"cmd":[{"args":["a"],"memoryLimit":1.5}]}"#.into(),
            400,
            "cannot unmarshal number 1.5",
        ),
        (r#"{"cmd":[{"args":["a"],"procLimit":1e3}]}"#.into(), 400, "cannot unmarshal number 1e3"),
        (
            r#"{"cmd":[{"args":["a"],"files":[{}]}]}"#.into(),
            400,
            "file type is not valid for cmd[0].files[0]",
        ),
        (r#"{"cmd":[{"args":[]}]}"#.into(), 400, "cmd[0].args is empty"),
        (huge_argv, 400, "argv plus env bytes is 60008, more than the limit of 57344"),
        (
            format!(r#"{{"cmd":[{}]}}"#, vec![r#"{"args":["true"]}"#; 65].join(",")),
            400,
            "cmd count is 65, more than the limit of 64",
        ),
        (
            r#"{"cmd":[{"args":["a"],"files":[{"fileId":"NOSUCHID"}]}]}"#.into(),
            500,
            r#"file does not exists with id: "NOSUCHID""#,
        ),
        (
            r#"{"cmd":[{"args":["a"],"files":[{"src":"/nonexistent/x"}]}]}"#.into(),
            500,
            "open file /nonexistent/x: no such file or directory",
        ),
        (
            two(r#"[{"in":{"index":5,"fd":1},"out":{"index":1,"fd":0}}]"#, "[]"),
            500,
            "pipe: index out of range 5",
        ),
        (
            two(r#"[{"in":{"index":0,"fd":0},"out":{"index":1,"fd":0}}]"#, r#"[{"content":""}]"#),
            500,
            "pipe: fd already occupied 0 0",
        ),
        (two("[]", "[null]"), 500, "null file for index/fd: 0/0"),
    ];
    for (body, status, message) in cases {
        let r = post_run(&mut c, &body);
        assert_eq!(r.status, status, "{body:.200}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
        let text: String =
            sonic_rs::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()));
        assert!(text.contains(message), "{body:.200}: {text}");
    }
    // A collector whose file cannot be created in the container (copy-in made a directory of
    // its name): go-judge's 500 "container: <name>: ...".
    let body =
        format!(r#"{{"cmd":[{}]}}"#, sh_cmd("true", r#","copyIn":{"stdout/x":{"content":"x"}}"#));
    let r = post_run(&mut c, &body);
    assert_eq!(r.status, 500, "{}", r.text());
    let text: String = sonic_rs::from_slice(&r.body).expect("a JSON string");
    assert!(text.starts_with("container: stdout: "), "{text}");
    // More commands than the pool can ever hold (4 x parallelism 1).
    let five = format!(r#"{{"cmd":[{}]}}"#, vec![echo_cmd("x"); 5].join(","));
    let r = post_run(&mut c, &five);
    assert_eq!(r.status, 400, "{}", r.text());
    // A body over -body-bytes-max is refused by the engine.
    let r = post_run(&mut c, &format!(r#"{{"cmd":[],"x":"{}"}}"#, "y".repeat(1_000_001)));
    assert_eq!(r.status, 413);
    // Missing PATH: a result, not an HTTP error (go-judge's text).
    let mut c = server.client();
    let no_path = r#"{"cmd":[{"args":["echo"],"cpuLimit":1000000000,"memoryLimit":104857600,"procLimit":5}]}"#;
    let v = json(&post_run(&mut c, no_path));
    assert_eq!(field(&v, 0, "status"), "Internal Error");
    assert_eq!(
        field(&v, 0, "error"),
        "execve: handle: echo: no PATH environment variable provided for look up"
    );
    // And the server still runs programs.
    let v = json(&post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, echo_cmd("still here"))));
    assert_eq!(output(&v, 0, "stdout"), "still here\n");
}

#[test]
fn a_reset_connection_cancels_its_run() {
    require_judge!();
    let server = start(&["-judge-workers", "1"]);
    let mut c = server.client();
    let slow = format!(
        r#"{{"cmd":[{}]}}"#,
        sh_cmd("sleep 30", r#","clockLimit":60000000000,"cpuLimit":60000000000"#)
    );
    c.send(
        format!("POST /run HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{slow}", slow.len())
            .as_bytes(),
    );
    std::thread::sleep(Duration::from_millis(500));
    // SO_LINGER 0: close sends a reset. (A plain close is a half-close to the engine, which
    // still answers; docs/compatibility.md.)
    rustix::net::sockopt::set_socket_linger(&c.stream, Some(Duration::ZERO)).expect("linger");
    drop(c);
    // The only worker is free again long before the 30 s sleep would end.
    let t0 = Instant::now();
    let mut c = server.client();
    let v = json(&post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, echo_cmd("next"))));
    assert_eq!(output(&v, 0, "stdout"), "next\n");
    assert!(
        t0.elapsed() < Duration::from_secs(15),
        "the abandoned run was killed: {:?}",
        t0.elapsed()
    );
}

#[test]
fn a_full_worker_queue_answers_503() {
    require_judge!();
    let server = start(&["-judge-workers", "1", "-worker-queue-max", "1"]);
    let slow = format!(r#"{{"cmd":[{}]}}"#, sh_cmd("sleep 2", ""));
    // One running, one queued, the rest refused.
    let mut clients: Vec<Client> = (0..4).map(|_| server.client()).collect();
    for c in &mut clients {
        c.send(
            format!(
                "POST /run HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{slow}",
                slow.len()
            )
            .as_bytes(),
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let statuses: Vec<u16> =
        clients.iter_mut().map(|c| c.read_reply().expect("reply").status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 2, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 2, "{statuses:?}");
    let mut c = server.client();
    let r = post_run(&mut c, &slow);
    assert_eq!(r.status, 200, "the queue drains: {}", r.text());
}

#[test]
fn parallel_runs() {
    require_judge!();
    let server = start(&["-judge-workers", "4"]);
    let addr = server.binary.addr;
    let threads: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                let mut seen = Vec::new();
                for j in 0..3 {
                    let text = format!("run-{i}-{j}");
                    let r = post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, echo_cmd(&text)));
                    assert_eq!(r.status, 200, "{}", r.text());
                    seen.push((output(&json(&r), 0, "stdout"), format!("{text}\n")));
                }
                seen
            })
        })
        .collect();
    for t in threads {
        for (got, want) in t.join().expect("client thread") {
            assert_eq!(got, want);
        }
    }
    // Pipelined /run requests on one connection come back in order.
    let mut c = server.client();
    let mut bytes = Vec::new();
    for i in 0..3 {
        let body = format!(r#"{{"cmd":[{}]}}"#, echo_cmd(&format!("p{i}")));
        bytes.extend_from_slice(
            format!(
                "POST /run HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    }
    c.send(&bytes);
    for i in 0..3 {
        let r = c.read_reply().expect("reply");
        assert_eq!(output(&json(&r), 0, "stdout"), format!("p{i}\n"));
    }
    let _ = request;
}

#[test]
fn a_pool_busy_past_its_wait_answers_503() {
    require_judge!();
    // One container, two workers: the second request waits for the container (10 s), then 503.
    let server = start(&["-containers-max", "1", "-judge-workers", "2"]);
    let slow = format!(
        r#"{{"cmd":[{}]}}"#,
        sh_cmd("sleep 12.25; echo slept", r#","clockLimit":30000000000"#)
    );
    let mut holder = server.client();
    holder.send(
        format!("POST /run HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{slow}", slow.len())
            .as_bytes(),
    );
    // Wait until the holder's program runs (it holds the only container).
    crate::harness::eventually("the holder's sleep runs", || {
        std::fs::read_dir("/proc").into_iter().flatten().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == b"sleep\x0012.25\x00")
        })
    });
    let mut c = server.client();
    let t0 = Instant::now();
    let r = post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, echo_cmd("waited")));
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(t0.elapsed() >= Duration::from_secs(9), "it waited first: {:?}", t0.elapsed());
    let text: String = sonic_rs::from_slice(&r.body).expect("a JSON string");
    assert_eq!(text, "all containers are busy: all 1 containers are in use");
    let r = holder.read_reply().expect("the holder's answer");
    assert_eq!(output(&json(&r), 0, "stdout"), "slept\n");
    // The container is back: the next request runs.
    let v = json(&post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, echo_cmd("free"))));
    assert_eq!(output(&v, 0, "stdout"), "free\n");
}

#[test]
fn multi_command_requests_share_a_small_pool_without_deadlock() {
    require_judge!();
    // Four containers, four workers, four clients each sending three-command requests: only
    // one such request fits at a time, and a request holding part of what it needs must not
    // block another (containers are taken all or none), so every request completes.
    let server = start(&["-containers-max", "4", "-pre-fork", "4", "-judge-workers", "4"]);
    let addr = server.binary.addr;
    let t0 = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                for j in 0..3 {
                    let cmds: Vec<String> =
                        (0..3).map(|k| echo_cmd(&format!("{i}-{j}-{k}"))).collect();
                    let r = post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, cmds.join(",")));
                    assert_eq!(r.status, 200, "{i}-{j}: {}", r.text());
                    let v = json(&r);
                    for k in 0..3 {
                        assert_eq!(output(&v, k, "stdout"), format!("{i}-{j}-{k}\n"));
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    eprintln!("    12 three-command requests over a pool of 4: {:?}", t0.elapsed());
}
