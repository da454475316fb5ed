//! Attacks on the judge through its HTTP API, against the real `shardbox` binary: hostile
//! request fields (paths, `src`, `fileId`), hostile programs whose outputs try to exhaust the
//! server, and requests shaped to exhaust it directly. Every attack is bounded in count and
//! time; each test ends by checking the server still answers a plain run. Container-level
//! attacks (syscalls, mounts, processes) are in the sandbox crate's `tests/it/attacks/`; the
//! seccomp bypasses are tried here too, end to end.
//! Needs root like the judge tests; without it every test prints why and returns.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::harness::{Client, rss_bytes};
use crate::judge::{
    Server, echo_cmd, field, json, output, post_run, request, require_judge, sh_cmd, start,
};

/// A host directory for one test (outside every container), removed on drop.
struct HostDir(PathBuf);

impl HostDir {
    fn new(tag: &str) -> HostDir {
        let d = PathBuf::from(format!("/var/tmp/sbx-http-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("host dir");
        HostDir(d)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The server still runs a program and answers it.
pub(crate) fn still_serves(c: &mut Client) {
    let r = post_run(c, &format!(r#"{{"cmd":[{}]}}"#, echo_cmd("alive")));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(output(&json(&r), 0, "stdout"), "alive\n", "{}", r.text());
}

fn mkfifo(path: &str) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o666)).expect("mkfifo");
}

/// A `src` naming a fifo (or anything else that blocks on open or read) must not hold the
/// worker: with one worker, the judge would be dead for good.
#[test]
fn a_fifo_src_does_not_block_the_judge() {
    require_judge!();
    let dir = HostDir::new("fifo");
    mkfifo(&dir.path("fifo"));
    std::fs::write(dir.path("ok"), "fine").expect("write");
    let prefix = dir.0.display().to_string();
    let server = start(&["-judge-workers", "1", "-src-prefix", &prefix]);
    let mut c = server.client();
    let fifo = dir.path("fifo");
    let began = Instant::now();
    // As a copy-in source: the command's File Error.
    let r = post_run(
        &mut c,
        &format!(
            r#"{{"cmd":[{}]}}"#,
            sh_cmd("cat x", &format!(r#","copyIn":{{"x":{{"src":"{fifo}"}}}}"#))
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = json(&r);
    assert_eq!(field(&v, 0, "status"), "File Error", "{}", r.text());
    assert!(field(&v, 0, "error").contains("not a regular file or a char"), "{}", r.text());
    // As a program's stdin: the request's error (as an unreadable src, go-judge's 500).
    let body = sh_cmd("cat", "").replace(r#"{"content":""}"#, &format!(r#"{{"src":"{fifo}"}}"#));
    let r = post_run(&mut c, &format!(r#"{{"cmd":[{body}]}}"#));
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(r.text().contains("not a regular file or a character device"), "{}", r.text());
    assert!(began.elapsed() < Duration::from_secs(10), "took {:?}", began.elapsed());
    // A regular file and a character device still work, for both.
    let ok = dir.path("ok");
    let body = sh_cmd("cat; cat x", &format!(r#","copyIn":{{"x":{{"src":"{ok}"}}}}"#))
        .replace(r#"{"content":""}"#, &format!(r#"{{"src":"{ok}"}}"#));
    let r = post_run(&mut c, &format!(r#"{{"cmd":[{body}]}}"#));
    assert_eq!(output(&json(&r), 0, "stdout"), "finefine", "{}", r.text());
    drop(server);
    let server = start(&["-judge-workers", "1"]);
    let mut c = server.client();
    let body = sh_cmd("cat; echo end", "").replace(r#"{"content":""}"#, r#"{"src":"/dev/null"}"#);
    let r = post_run(&mut c, &format!(r#"{{"cmd":[{body}]}}"#));
    assert_eq!(output(&json(&r), 0, "stdout"), "end\n", "{}", r.text());
    // A device that blocks once drained (the kernel log) fails the copy-in; it does not wait.
    if std::path::Path::new("/dev/kmsg").exists() {
        let began = Instant::now();
        let r = post_run(
            &mut c,
            &format!(r#"{{"cmd":[{}]}}"#, sh_cmd("true", r#","copyIn":{"x":{"src":"/dev/kmsg"}}"#)),
        );
        assert_eq!(field(&json(&r), 0, "status"), "File Error", "{}", r.text());
        assert!(began.elapsed() < Duration::from_secs(10), "took {:?}", began.elapsed());
    } else {
        eprintln!("no /dev/kmsg here: the blocking-device case is not tried");
    }
    still_serves(&mut c);
}

/// A program turns one file into many (hard links, sparse files: no memory, no tmpfs blocks)
/// and the request names several for copy-out: each is read into the server's memory and sent
/// as a JSON string (up to six bytes per byte). The request's inline copy-out total is the
/// server's `-copy-out-limit`, not that limit per file.
#[test]
fn copy_out_of_many_names_for_one_file_is_bounded_per_request() {
    require_judge!();
    let server = start(&["-copy-out-limit", "1m"]);
    let mut c = server.client();
    // Four names of one 600 KiB sparse file, and a fifth, small, file.
    let script = "truncate -s 600K a && ln a b && ln a c && ln a d && echo small > e";
    let copy_out = r#","copyOut":["a","b","c","d","e"]"#;
    let r = post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, sh_cmd(script, copy_out)));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = json(&r);
    let returned: usize = ["a", "b", "c", "d", "e"].iter().map(|n| output(&v, 0, n).len()).sum();
    assert!(returned <= 1 << 20, "returned {returned} bytes inline: over the request's total");
    assert_eq!(output(&v, 0, "a").len(), 600 << 10, "the first file fits");
    assert_eq!(output(&v, 0, "e"), "small\n", "a file that fits what is left is returned");
    assert_eq!(field(&v, 0, "status"), "File Error", "{}", &r.text()[..300]);
    assert!(field(&v, 0, "error").contains("copy-out total"), "{}", field(&v, 0, "error"));
    // Two commands share the total.
    let one = sh_cmd("truncate -s 600K a", r#","copyOut":["a"]"#);
    let r = post_run(&mut c, &format!(r#"{{"cmd":[{one},{one}]}}"#));
    let v = json(&r);
    let returned = output(&v, 0, "a").len() + output(&v, 1, "a").len();
    assert_eq!(returned, 600 << 10, "one of the two fits");
    // With copyOutTruncate, the file that overflows is cut to what is left.
    let truncating = r#","copyOut":["a","b"],"copyOutTruncate":true"#;
    let r = post_run(
        &mut c,
        &format!(r#"{{"cmd":[{}]}}"#, sh_cmd("truncate -s 600K a && ln a b", truncating)),
    );
    let v = json(&r);
    assert_eq!(output(&v, 0, "a").len() + output(&v, 0, "b").len(), 1 << 20);
    still_serves(&mut c);
}

/// Paths in copyIn and copyOut that try to leave the container or follow a link out: `..`,
/// absolute host paths, `/proc/*/root`, a copyIn symlink to a host file read back through
/// copyOut (go-judge#176), a directory symlink, a fifo and a device as copy-out targets. The
/// host file must never come back, and nothing may be written on the host.
#[test]
fn copy_paths_and_links_stay_in_the_container() {
    require_judge!();
    let dir = HostDir::new("paths");
    std::fs::write(dir.path("secret"), "HOST SECRET").expect("write");
    let d = dir.0.display().to_string();
    let server = start(&[]);
    let mut c = server.client();
    let copy_in = format!(
        r#","copyIn":{{"../../../..{d}/planted":{{"content":"x"}},"{d}/planted2":{{"content":"x"}},
            "/proc/1/root{d}/planted3":{{"content":"x"}},"ln":{{"symlink":"{d}/secret"}},
            "dl":{{"symlink":"{d}"}},"pr":{{"symlink":"/proc/1/root{d}"}}}}"#
    );
    // Copy-in of the three host paths fails (File Error) before the program runs.
    let r = post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, sh_cmd("true", &copy_in)));
    assert_eq!(field(&json(&r), 0, "status"), "File Error", "{}", r.text());
    // Links only, then read back through them and through traversals.
    let links = format!(
        r#","copyIn":{{"ln":{{"symlink":"{d}/secret"}},"dl":{{"symlink":"{d}"}},
            "pr":{{"symlink":"/proc/1/root{d}"}}}},
            "copyOut":["ln","dl/secret","pr/secret","../../..{d}/secret","{d}/secret",
            "/proc/1/root{d}/secret","/proc/self/root{d}/secret","f","/dev/zero"]"#
    );
    let r = post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, sh_cmd("mkfifo f", &links)));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.text().contains("HOST SECRET"), "a host file came back: {}", r.text());
    let v = json(&r);
    assert_eq!(field(&v, 0, "status"), "File Error", "{}", r.text());
    let errors = field(&v, 0, "fileError");
    for name in ["\"ln\"", "\"dl/secret\"", "\"f\"", "\"/dev/zero\""] {
        assert!(errors.contains(name), "no error for {name}: {errors}");
    }
    let entries: Vec<_> = std::fs::read_dir(&dir.0).expect("dir").flatten().collect();
    assert_eq!(entries.len(), 1, "written on the host: {entries:?}");
    still_serves(&mut c);
}

/// fileIds that try to walk out of a `-dir` store, in `/file/{id}` and in request fields.
#[test]
fn file_ids_cannot_leave_the_store() {
    require_judge!();
    let dir = HostDir::new("store");
    let store = dir.path("store");
    std::fs::create_dir_all(&store).expect("store dir");
    std::fs::write(dir.path("secret"), "HOST SECRET").expect("write");
    let server = start(&["-dir", &store]);
    let mut c = server.client();
    for id in [
        "..%2Fsecret",
        "%2E%2E%2Fsecret",
        "..",
        "%2Fetc%2Fpasswd",
        "secret%00",
        "a%2F..%2F..%2Fsecret",
    ] {
        let r = c.get(&format!("/file/{id}"));
        assert_eq!(r.status, 404, "GET /file/{id}: {}", r.text());
        assert!(!r.text().contains("HOST SECRET"), "{id}");
    }
    for id in ["../secret", "/etc/passwd", ".."] {
        let body = sh_cmd("cat x", &format!(r#","copyIn":{{"x":{{"fileId":"{id}"}}}}"#));
        let r = post_run(&mut c, &format!(r#"{{"cmd":[{body}]}}"#));
        assert!(!r.text().contains("HOST SECRET"), "{id}: {}", r.text());
        assert_eq!(r.status, 500, "unknown id {id}: {}", r.text());
    }
    assert!(std::path::Path::new(&dir.path("secret")).exists());
    still_serves(&mut c);
}

/// Programs that try to outlive their run: a daemon in a new session ignoring signals and
/// holding a pipe collector, a pipeline writer that leaves a child holding the pipe, a writer
/// that sleeps past its clock limit with the pipe open. Every run ends within its limits and
/// the next run in the container finds no process, file or IPC object of the last.
#[test]
fn nothing_outlives_its_run() {
    require_judge!();
    let server = start(&["-pre-fork", "1", "-containers-max", "2"]);
    let mut c = server.client();
    let began = Instant::now();
    let daemon = sh_cmd(
        r#"(setsid sh -c 'trap \"\" TERM HUP INT; exec sleep 100' &); touch /tmp/left; echo bye"#,
        r#","clockLimit":5000000000"#,
    )
    .replace(r#"{"name":"stdout","max":10240}"#, r#"{"name":"stdout","max":10240,"pipe":true}"#);
    let r = post_run(&mut c, &format!(r#"{{"cmd":[{daemon}]}}"#));
    let v = json(&r);
    assert_eq!(
        (field(&v, 0, "status"), output(&v, 0, "stdout")),
        ("Accepted".into(), "bye\n".into())
    );
    let pipe = r#","pipeMapping":[{"in":{"index":0,"fd":1},"out":{"index":1,"fd":0}}]"#;
    let reader = sh_cmd("cat; echo done", r#","clockLimit":20000000000"#)
        .replace(r#"{"content":""}"#, "null");
    for writer in ["(sleep 100 &); echo x", "echo x; exec sleep 100"] {
        let w = sh_cmd(writer, r#","clockLimit":1000000000"#)
            .replace(r#"{"name":"stdout","max":10240}"#, "null");
        let r = post_run(&mut c, &format!(r#"{{"cmd":[{w},{reader}]{pipe}}}"#));
        assert_eq!(output(&json(&r), 1, "stdout"), "x\ndone\n", "{writer}: {}", r.text());
    }
    assert!(began.elapsed() < Duration::from_secs(15), "took {:?}", began.elapsed());
    // Both containers, in turn: nothing of the runs above.
    for _ in 0..2 {
        let look =
            sh_cmd("cat /proc/[0-9]*/comm; ls -A /tmp /w; cat /proc/sysvipc/shm | wc -l", "");
        let r = post_run(&mut c, &format!(r#"{{"cmd":[{look}]}}"#));
        let out = output(&json(&r), 0, "stdout");
        assert!(!out.contains("sleep"), "a process survived: {out}");
        // /w holds only this run's collectors; the IPC table only its header line.
        assert!(out.ends_with("/tmp:\n\n/w:\nstderr\nstdout\n1\n"), "left over: {out}");
    }
    still_serves(&mut c);
}

/// Many large `/run` bodies while the worker is busy: each queued job holds a copy of its body
/// (and its connection the original) until it has run, so without a byte bound on the queue
/// the server's memory grows with every request (measured: 30 bodies of 16 MiB held 1 GB).
/// Past `-worker-queue-bytes-max` the judge answers 503 at once and keeps serving.
#[test]
fn queued_bodies_are_bounded_in_bytes() {
    require_judge!();
    let server = start(&["-judge-workers", "1", "-worker-queue-bytes-max", "3m"]);
    // The only worker sleeps.
    let mut busy = server.client();
    let sleeper = sh_cmd("sleep 4", r#","clockLimit":10000000000"#);
    busy.send(
        format!(
            "POST /run HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{{\"cmd\":[{sleeper}]}}",
            sleeper.len() + 10
        )
        .as_bytes(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let body = format!(
        r#"{{"cmd":[{}]}}"#,
        sh_cmd("true", "")
            .replace(r#"{"content":""}"#, &format!(r#"{{"content":"{}"}}"#, "x".repeat(1 << 20)),)
    );
    let began = Instant::now();
    let mut clients: Vec<Client> = (0..6).map(|_| server.client()).collect();
    let mut statuses = Vec::new();
    for c in &mut clients {
        c.send(
            format!("POST /run HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", body.len())
                .as_bytes(),
        );
        c.send(body.as_bytes());
        // A refused request is answered at once; an accepted one waits for the sleeper.
        c.stream.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
        let mut peek = [0u8; 12];
        if let Ok(12) = c.stream.peek(&mut peek) {
            statuses.push(String::from_utf8_lossy(&peek[9..12]).into_owned());
        } else {
            statuses.push("queued".to_owned());
        }
    }
    let refused = statuses.iter().filter(|s| *s == "503").count();
    let queued = statuses.iter().filter(|s| *s == "queued").count();
    assert!((1..=3).contains(&queued), "3 MiB hold 1 to 3 bodies of 1 MiB: {statuses:?}");
    assert_eq!(refused + queued, 6, "{statuses:?}");
    assert!(began.elapsed() < Duration::from_secs(5), "refusals waited: {:?}", began.elapsed());
    let r = busy.read_reply().expect("the sleeper's reply");
    assert_eq!(r.status, 200, "{}", r.text());
    for (c, s) in clients.iter_mut().zip(&statuses) {
        c.stream.set_read_timeout(Some(crate::harness::PATIENCE)).expect("timeout");
        let r = c.read_reply().expect("a reply");
        let want = if s == "queued" { 200 } else { 503 };
        assert_eq!(r.status, want, "{}", r.text());
    }
    still_serves(&mut server.client());
}

/// How many MiB the server's RSS grows by while 8 connections each get one answer from `send`
/// and then stay open, idle (after two warm-up connections, so the allocator's first large
/// blocks count in the base); returns the growth, the base and the idle connections.
fn idle_growth_mib(server: &Server, send: impl Fn(&mut Client)) -> (u64, u64, Vec<Client>) {
    for _ in 0..2 {
        send(&mut server.client());
    }
    let pid = server.binary.child.id();
    let base = rss_bytes(pid) >> 20;
    let mut idle = Vec::new();
    for _ in 0..8 {
        let mut c = server.client();
        send(&mut c);
        idle.push(c);
    }
    ((rss_bytes(pid) >> 20).saturating_sub(base), base, idle)
}

/// A connection that once carried a large body must not keep its buffer while it idles
/// (keep-alive, up to the idle timeout): otherwise every idle connection can pin up to
/// `-body-bytes-max` (measured before the fix: eight idle connections after one 16 MiB body
/// each held 128 MiB more).
#[test]
fn idle_connections_do_not_keep_large_buffers() {
    require_judge!();
    let server = start(&[]);
    let body = format!(r#"{{"cmd":[]}}{}"#, " ".repeat(16 << 20));
    let send = |c: &mut Client| {
        let r = request(c, "POST", "/run", &[], body.as_bytes());
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(!r.closes(), "the connection stays open");
    };
    let (grown, base, mut idle) = idle_growth_mib(&server, send);
    assert!(grown < 64, "8 idle connections hold {grown} MiB more (base {base} MiB)");
    still_serves(&mut idle[0]);
}

/// The same for responses: a connection's output buffer grows to its largest response (a
/// `/run` with a large collector output) and must not keep that size once the response is
/// sent, or every idle keep-alive connection pins its largest answer until the idle timeout
/// (measured before the fix: eight idle connections after one 8 MiB output each held 56 MiB
/// more).
#[test]
fn idle_connections_do_not_keep_large_response_buffers() {
    require_judge!();
    const OUTPUT_BYTES: usize = 8 << 20;
    let server = start(&[]);
    let run = format!(
        r#"{{"cmd":[{}]}}"#,
        // `tr -c a a`: every byte that is not `a` becomes `a` (JSON without escapes).
        sh_cmd(&format!("head -c {OUTPUT_BYTES} /dev/zero | tr -c a a"), "").replacen(
            r#""name":"stdout","max":10240"#,
            &format!(r#""name":"stdout","max":{}"#, OUTPUT_BYTES + 1),
            1
        )
    );
    let send = |c: &mut Client| {
        let r = post_run(c, &run);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(output(&json(&r), 0, "stdout").len(), OUTPUT_BYTES, "the whole output");
        assert!(!r.closes(), "the connection stays open");
    };
    let (grown, base, mut idle) = idle_growth_mib(&server, send);
    eprintln!("8 idle connections after {OUTPUT_BYTES}-byte outputs: +{grown} MiB");
    assert!(grown < 32, "8 idle connections hold {grown} MiB more (base {base} MiB)");
    still_serves(&mut idle[0]);
}

/// Bodies still arriving: each connection's is bounded by `-body-bytes-max`, but a client
/// trickling large bodies over many connections held their sum (measured before the fix: 40
/// connections with 15 MiB of a 16 MiB body each took the server from 60 to 684 MB). Past
/// `-shard-bodies-bytes-max` a new body gets 503 at once; one body alone always passes.
#[test]
fn bodies_in_progress_are_bounded_per_shard() {
    require_judge!();
    let server = start(&["-shard-bodies-bytes-max", "8000000"]);
    let head = |len: usize| {
        format!("POST /run HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\n\r\n").into_bytes()
    };
    let body = |len: usize| format!(r#"{{"cmd":[]}}{}"#, " ".repeat(len - 10)).into_bytes();
    // A: 6 MB announced, 1 MB sent, then silence.
    let mut a = server.client();
    let a_body = body(6_000_000);
    a.send(&head(a_body.len()));
    a.send(&a_body[..1_000_000]);
    std::thread::sleep(Duration::from_millis(200));
    // B: 4 MB more would pass 8 MB: refused before its body is read.
    let mut b = server.client();
    b.send(&head(4_000_000));
    let r = b.read_reply().expect("an answer without the body");
    assert_eq!(r.status, 503, "{}", r.text());
    // C: 1 MB fits beside A.
    let mut c = server.client();
    let r = request(&mut c, "POST", "/run", &[], &body(1_000_000));
    assert_eq!(r.status, 400, "no cmd: {}", r.text());
    // A completes; then a 4 MB body fits again.
    a.send(&a_body[1_000_000..]);
    let r = a.read_reply().expect("A's reply");
    assert_eq!(r.status, 400, "{}", r.text());
    let r = request(&mut c, "POST", "/run", &[], &body(4_000_000));
    assert_eq!(r.status, 400, "{}", r.text());
    // One body larger than the whole budget still passes when it is alone.
    let r = request(&mut c, "POST", "/run", &[], &body(9_000_000));
    assert_eq!(r.status, 400, "{}", r.text());
    still_serves(&mut c);
}

/// Ways around a seccomp filter that compares x86-64 syscall numbers, sent as programs through
/// `POST /run` to the real binary: each must come back `Dangerous Syscall` (signal 31), and
/// `clone3` with `CLONE_NEWUSER` (flags in memory, out of the filter's reach) must fail with
/// ENOSYS. Without the filter the first four create a user namespace or read the LDT. The C
/// versions of these, and more, are the sandbox crate's `attacks::syscalls` tests.
#[test]
fn syscall_number_bypasses_are_dangerous_syscalls() {
    require_judge!();
    let server = start(&[]);
    let mut c = server.client();
    let libc = "import ctypes, mmap; libc = ctypes.CDLL(None, use_errno=True); L = ctypes.c_long";
    // i386 unshare(CLONE_NEWUSER) by int $0x80 from a page of code: push rbx; mov eax, 310;
    // mov ebx, 0x10000000; int $0x80; pop rbx; ret.
    let int80 = "m = mmap.mmap(-1, 4096, prot=7); m.write(bytes.fromhex('53b836010000bb00000010cd805bc3')); \
                 f = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(m))); print(f())";
    let killed = [
        ("x32 unshare", "print(libc.syscall(L(0x40000000 | 272), L(0x10000000)))"),
        ("bits above 31", "print(libc.syscall(L((1 << 32) | 272), L(0x10000000)))"),
        ("int 0x80 unshare", int80),
        ("modify_ldt", "print(libc.syscall(L(154), L(0), ctypes.create_string_buffer(16), L(16)))"),
    ];
    for (what, code) in killed {
        let r = post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, py_cmd(&format!("{libc}; {code}"))));
        let v = json(&r);
        assert_eq!(
            (field(&v, 0, "status").as_str(), field(&v, 0, "exitStatus").as_str()),
            ("Dangerous Syscall", "31"),
            "{what}: {}",
            r.text()
        );
    }
    let clone3 = "a = (ctypes.c_uint64 * 8)(0x10000000, 0, 0, 0, 17, 0, 0, 0); \
                  r = libc.syscall(L(435), a, L(64)); print(r, ctypes.get_errno())";
    let r = post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, py_cmd(&format!("{libc}; {clone3}"))));
    let v = json(&r);
    assert_eq!(
        (field(&v, 0, "status"), output(&v, 0, "stdout")),
        ("Accepted".into(), "-1 38\n".into()),
        "clone3: {}",
        r.text()
    );
    still_serves(&mut c);
}

/// A command running `python3 -c code` (`code` without double quotes or backslashes).
fn py_cmd(code: &str) -> String {
    assert!(!code.contains(['"', '\\']), "{code}");
    format!(
        r#"{{"args":["/usr/bin/python3","-c","{code}"],"env":["PATH=/bin:/usr/bin"],
            "files":[{{"content":""}},{{"name":"stdout","max":10240}},{{"name":"stderr","max":10240}}],
            "cpuLimit":10000000000,"memoryLimit":134217728,"procLimit":50}}"#
    )
}
