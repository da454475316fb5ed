//! Every status string of go-judge-api §1.4 through the binary, in one request of nine
//! commands that run at once (so this is also the multi-command test), with the result fields
//! each status carries on the wire (`exitStatus`, `error`, `fileError`, `files`); and the limits
//! only a real run shows: `cpuSetLimit`, `addressSpaceLimit`, `dataSegmentLimit`,
//! `stackLimit` and `cpuRateLimit` (with `-enable-cpu-rate`).

use sonic_rs::{JsonContainerTrait, JsonValueTrait};

use super::{field, json, output, post_run, require_judge, start};

/// A command running `args` (a JSON array) with an empty stdin, stdout/stderr collectors of
/// `max` bytes, generous limits and `extra` fields.
fn cmd(args: &str, max: u32, extra: &str) -> String {
    format!(
        r#"{{"args":{args},"env":["PATH=/usr/bin:/bin"],
            "files":[{{"content":""}},{{"name":"stdout","max":{max}}},{{"name":"stderr","max":10240}}],
            "cpuLimit":5000000000,"clockLimit":20000000000,"memoryLimit":134217728,
            "procLimit":50{extra}}}"#
    )
}

fn sh(script: &str, extra: &str) -> String {
    cmd(&format!(r#"["/bin/sh","-c","{script}"]"#), 10240, extra)
}

/// The `fileError` entries of result `i` as (name, type, message).
fn file_errors(v: &sonic_rs::Value, i: usize) -> Vec<(String, String, String)> {
    let s = |e: &sonic_rs::Value, k: &str| {
        e.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_owned()
    };
    v.as_array()
        .and_then(|a| a.get(i))
        .and_then(|r| r.get("fileError"))
        .and_then(|f| f.as_array())
        .map(|a| a.iter().map(|e| (s(e, "name"), s(e, "type"), s(e, "message"))).collect())
        .unwrap_or_default()
}

#[test]
fn every_status_in_one_request_of_nine_commands() {
    require_judge!();
    let server = start(&["-containers-max", "10"]);
    let mut c = server.client();
    let cmds = [
        sh("echo fine", ""),
        cmd(r#"["python3","-c","b = bytearray(200 << 20)"]"#, 10240, r#","memoryLimit":67108864"#),
        sh("while :; do :; done", r#","cpuLimit":200000000"#),
        cmd(r#"["/bin/sh","-c","printf %0100d 0"]"#, 10, ""),
        sh("true", r#","copyOut":["absent"]"#),
        sh("echo out; exit 3", ""),
        sh("kill -SEGV $$", ""),
        cmd(r#"["unshare","-U","true"]"#, 10240, ""),
        cmd(r#"["no-such-program"]"#, 10240, ""),
    ];
    let r = post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, cmds.join(",")));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = json(&r);
    let results = v.as_array().map(|a| a.len());
    assert_eq!(results, Some(9), "one result per command, in order: {}", r.text());
    let expect = [
        ("Accepted", "0"),
        ("Memory Limit Exceeded", "9"),
        ("Time Limit Exceeded", "9"),
        ("Output Limit Exceeded", "0"),
        ("File Error", "0"),
        ("Nonzero Exit Status", "3"),
        ("Signalled", "11"),
        ("Dangerous Syscall", "31"),
        ("Internal Error", "0"),
    ];
    for (i, (status, exit)) in expect.iter().enumerate() {
        assert_eq!(
            (field(&v, i, "status").as_str(), field(&v, i, "exitStatus").as_str()),
            (*status, *exit),
            "command {i}: {}",
            r.text()
        );
        // Every result carries its usage, in go-judge's units and key order.
        let item = v.as_array().and_then(|a| a.get(i)).expect("result");
        for key in ["time", "memory", "runTime"] {
            assert!(item.get(key).and_then(|n| n.as_u64()).is_some(), "{i} {key}: {}", r.text());
        }
    }
    let accepted = v.as_array().and_then(|a| a.first()).expect("result");
    assert!(accepted.get("error").is_none(), "empty error omitted: {}", r.text());
    assert!(accepted.get("fileError").is_none() && accepted.get("fileIds").is_none());
    assert_eq!(output(&v, 0, "stdout"), "fine\n");
    // MLE: the peak is reported at the limit.
    let peak = v.as_array().and_then(|a| a.get(1)).and_then(|m| m.get("memory"));
    assert!(peak.and_then(|p| p.as_u64()).is_some_and(|p| p >= 64 << 20), "{}", r.text());
    // TLE by CPU: time at least the limit.
    let time = v.as_array().and_then(|a| a.get(2)).and_then(|m| m.get("time"));
    assert!(time.and_then(|t| t.as_u64()).is_some_and(|t| t >= 200_000_000), "{}", r.text());
    // OLE: max + 1 bytes kept and a CollectSizeExceeded fileError.
    assert_eq!(output(&v, 3, "stdout").len(), 11);
    assert_eq!(field(&v, 3, "error"), "Output Limit Exceeded");
    assert_eq!(
        file_errors(&v, 3),
        [("stdout".into(), "CollectSizeExceeded".into(), "Output Limit Exceeded".into())]
    );
    // File Error: the first fileError's message, go-judge's text and type.
    assert_eq!(field(&v, 4, "error"), "open absent: no such file or directory");
    assert_eq!(
        file_errors(&v, 4),
        [("absent".into(), "CopyOutOpen".into(), "open absent: no such file or directory".into())]
    );
    assert_eq!(output(&v, 5, "stdout"), "out\n");
    assert!(field(&v, 8, "error").contains("executable file not found in $PATH"));
    // The key order go-judge writes: status, exitStatus, error, time, memory, runTime, files,
    // fileIds, fileError.
    let text = r.text();
    let fe = text.split(r#"{"status":"File Error""#).nth(1).unwrap_or_default();
    let order: Vec<usize> = [
        r#","exitStatus":"#,
        r#","error":"#,
        r#","time":"#,
        r#","memory":"#,
        r#","runTime":"#,
        r#","files":"#,
        r#","fileError":"#,
    ]
    .iter()
    .map(|k| fe.find(k).unwrap_or(usize::MAX))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "key order {order:?}: {fe}");
    // The server keeps serving.
    let v = json(&post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, sh("echo again", ""))));
    assert_eq!(output(&v, 0, "stdout"), "again\n");
}

#[test]
fn rlimits_and_cpuset_reach_the_program() {
    require_judge!();
    let server = start(&[]);
    let mut c = server.client();
    // memoryLimit 64 MiB + the 16 KiB extra = 65552 KiB.
    let limits = r#","memoryLimit":67108864,"stackLimit":8388608"#;
    let cases = [
        (format!(r#","addressSpaceLimit":true{limits}"#), "65552 unlimited 8192"),
        (format!(r#","dataSegmentLimit":true{limits}"#), "unlimited 65552 8192"),
        (format!(r#","strictMemoryLimit":true{limits}"#), "unlimited 65552 8192"),
        (limits.to_string(), "unlimited unlimited 8192"),
    ];
    for (extra, want) in cases {
        let script = r#"echo $(ulimit -v) $(ulimit -d) $(ulimit -s)"#;
        let v = json(&post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, sh(script, &extra))));
        assert_eq!(output(&v, 0, "stdout").trim(), want, "{extra}");
    }
    // A 200 MiB allocation under addressSpaceLimit fails inside the program (no OOM kill).
    let v = json(&post_run(
        &mut c,
        &format!(
            r#"{{"cmd":[{}]}}"#,
            cmd(
                r#"["python3","-c","b = bytearray(200 << 20)"]"#,
                10240,
                r#","memoryLimit":67108864,"addressSpaceLimit":true"#
            )
        ),
    ));
    assert_eq!(field(&v, 0, "status"), "Nonzero Exit Status");
    assert!(output(&v, 0, "stderr").contains("MemoryError"), "{}", output(&v, 0, "stderr"));
    let script = "grep Cpus_allowed_list /proc/self/status | cut -f2";
    let v =
        json(&post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, sh(script, r#","cpuSetLimit":"0""#))));
    assert_eq!(output(&v, 0, "stdout"), "0\n");
}

#[test]
fn cpu_rate_limit_needs_the_flag() {
    require_judge!();
    // 0.1 CPU for a spinning program stopped by a 1 s wall limit: at most about 100 ms of CPU
    // (plus a CFS period of slack); without -enable-cpu-rate the field is ignored, as go-judge.
    let spin = sh(
        "while :; do :; done",
        r#","cpuLimit":5000000000,"clockLimit":1000000000,"cpuRateLimit":100"#,
    );
    let body = format!(r#"{{"cmd":[{spin}]}}"#);
    let server = start(&["-enable-cpu-rate"]);
    let v = json(&post_run(&mut server.client(), &body));
    assert_eq!(field(&v, 0, "status"), "Time Limit Exceeded");
    let time: u64 = field(&v, 0, "time").parse().expect("time");
    let run_time: u64 = field(&v, 0, "runTime").parse().expect("runTime");
    eprintln!("cpuRateLimit 100: time {} ms in {} ms", time / 1_000_000, run_time / 1_000_000);
    assert!(run_time >= 1_000_000_000, "stopped by the wall limit: {run_time}");
    assert!(time < 350_000_000, "throttled to 0.1 CPU: time {time} ns");
    drop(server);
    let server = start(&[]);
    let v = json(&post_run(&mut server.client(), &body));
    assert_eq!(field(&v, 0, "status"), "Time Limit Exceeded");
    // How much CPU an unthrottled spinner gets depends on the machine's load: printed only.
    let time: u64 = field(&v, 0, "time").parse().expect("time");
    eprintln!("cpuRateLimit ignored: time {} ms", time / 1_000_000);
}

#[test]
fn server_flags_reach_the_program() {
    require_judge!();
    let server =
        start(&["-open-file-limit", "100", "-output-limit", "512k", "-tmp-fs-param", "size=1m"]);
    let mut c = server.client();
    // RLIMIT_CORE 0, NOFILE from -open-file-limit, FSIZE from -output-limit (dash counts 512-byte
    // blocks), CPU floor(2.5 s) + 1 s as the backstop.
    let script =
        "echo $(ulimit -c) $(ulimit -n) $(ulimit -f) $(ulimit -t); grep ' /w ' /proc/mounts";
    let v = json(&post_run(
        &mut c,
        &format!(r#"{{"cmd":[{}]}}"#, sh(script, r#","cpuLimit":2500000000"#)),
    ));
    let out = output(&v, 0, "stdout");
    assert!(out.starts_with("0 100 1024 3\n"), "{out}");
    assert!(out.contains("size=1024k"), "-tmp-fs-param: {out}");
    // Writing past -output-limit is SIGXFSZ, Output Limit Exceeded, below the tmpfs size (the
    // main process must take the signal: a shell that survives its child exits 153).
    let v = json(&post_run(
        &mut c,
        &format!(r#"{{"cmd":[{}]}}"#, sh("exec head -c 800000 /dev/zero > /tmp/big", "")),
    ));
    assert_eq!(field(&v, 0, "status"), "Output Limit Exceeded", "{}", output(&v, 0, "stderr"));
}
