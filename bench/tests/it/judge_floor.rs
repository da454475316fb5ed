//! The judge floor servers answer the go-judge benchmark request as go-judge would, fail the
//! way go-judge fails, clean up after themselves, and the load generator's body check tells an
//! `Accepted` run from a failed one through them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use shardbox_bench::judge_floor::{FloorConfig, FloorServer, RunningFloor};
use shardbox_bench::limits::FLOOR_BODY_BYTES_MAX;
use shardbox_bench::request::Target;
use shardbox_bench::run::{RunConfig, RunError, Stop, run};
use sonic_rs::{JsonContainerTrait as _, JsonValueTrait as _, Value};

/// go-judge's README benchmark request (`wrk -s t.lua`), byte for byte.
pub const GO_JUDGE_BENCH_BODY: &str = r#"{"cmd":[{"args":["/bin/cat","a.hs"],"env":["PATH=/usr/bin:/bin"],"files":[{"content":""},{"name":"stdout","max":10240},{"name":"stderr","max":10240}],"cpuLimit":10000000000,"memoryLimit":104857600,"procLimit":50,"copyIn":{"a.hs":{"content":"main = putStrLn \"Hello, World!\""},"b":{"content":"TEST"}}}]}"#;

const BWRAP: &str = "/usr/bin/bwrap";

/// A private work root, so the test can see that every request's directory is removed.
struct WorkRoot(PathBuf);

impl WorkRoot {
    fn new(tag: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("judge-floor-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn entries(&self) -> Vec<String> {
        std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }
}

impl Drop for WorkRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start(mut config: FloorConfig, root: &Path) -> RunningFloor {
    config.work_root = root.to_path_buf();
    FloorServer::bind("127.0.0.1:0", config).unwrap().spawn()
}

/// One request on a fresh connection; returns (status, body).
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a complete head");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// The single result of a `/run` answer.
fn result(body: &str) -> Value {
    let value: Value = sonic_rs::from_str(body).unwrap();
    let array = value.as_array().expect("a JSON array");
    assert_eq!(array.len(), 1, "{body}");
    array.first().unwrap().clone()
}

fn check_accepted_cat(body: &str) {
    let r = result(body);
    assert_eq!(r["status"].as_str(), Some("Accepted"), "{body}");
    assert_eq!(r["exitStatus"].as_i64(), Some(0));
    assert_eq!(r["files"]["stdout"].as_str(), Some("main = putStrLn \"Hello, World!\""));
    assert_eq!(r["files"]["stderr"].as_str(), Some(""));
    assert!(r["time"].as_u64().unwrap() > 0, "CPU time is measured: {body}");
    assert!(r["runTime"].as_u64().unwrap() > 0, "wall time is measured: {body}");
    assert!(r.get("error").is_none(), "no error key when empty: {body}");
}

#[test]
fn floor_answers_the_go_judge_benchmark_request() {
    let root = WorkRoot::new("floor");
    let floor = start(FloorConfig::floor(), &root.0);
    for _ in 0..3 {
        let (status, body) = request(floor.addr(), "POST", "/run", GO_JUDGE_BENCH_BODY);
        assert_eq!(status, 200, "{body}");
        assert!(body.ends_with("}]\n"), "a bare JSON array and a newline, as go-judge: {body:?}");
        check_accepted_cat(&body);
    }
    assert_eq!(root.entries(), Vec::<String>::new(), "every work dir is removed");
}

#[test]
fn floor_fails_like_go_judge() {
    let root = WorkRoot::new("fail");
    let floor = start(FloorConfig::floor(), &root.0);
    let collectors = r#""files":[null,{"name":"stdout","max":4},{"name":"stderr","max":100}]"#;
    let run = |args: &str, extra: &str| {
        let body = format!(r#"{{"cmd":[{{"args":{args},{collectors}{extra}}}]}}"#);
        let (status, body) = request(floor.addr(), "POST", "/run", &body);
        assert_eq!(status, 200, "{body}");
        result(&body)
    };
    let r = run(r#"["/bin/sh","-c","echo oops >&2; exit 3"]"#, "");
    assert_eq!(r["status"].as_str(), Some("Nonzero Exit Status"));
    assert_eq!(r["exitStatus"].as_i64(), Some(3));
    assert_eq!(r["files"]["stderr"].as_str(), Some("oops\n"));
    let r = run(r#"["/bin/sh","-c","kill -9 $$"]"#, "");
    assert_eq!((r["status"].as_str(), r["exitStatus"].as_i64()), (Some("Signalled"), Some(9)));
    let r = run(r#"["/bin/echo","123456789"]"#, "");
    assert_eq!(r["status"].as_str(), Some("Output Limit Exceeded"));
    assert_eq!(r["files"]["stdout"].as_str(), Some("12345"), "max + 1 bytes are kept");
    let r = run(r#"["/bin/sleep","10"]"#, r#","clockLimit":100000000"#);
    assert_eq!(r["status"].as_str(), Some("Time Limit Exceeded"));
    let r = run(r#"["/bin/cat","x"]"#, r#","copyIn":{"../x":{"content":"escape"}}"#);
    assert_eq!(r["status"].as_str(), Some("File Error"));
    let r = run(r#"["/nonexistent"]"#, "");
    assert_eq!(r["status"].as_str(), Some("Internal Error"));
    assert!(r["error"].as_str().unwrap().contains("start"));

    assert_eq!(request(floor.addr(), "POST", "/run", "{").0, 400);
    let (status, body) = request(floor.addr(), "POST", "/run", r#"{"cmd":[]}"#);
    assert_eq!((status, body.as_str()), (400, r#""no cmd provided""#));
    assert_eq!(request(floor.addr(), "GET", "/run", "").0, 404);
    assert_eq!(request(floor.addr(), "POST", "/other", GO_JUDGE_BENCH_BODY).0, 404);
    // The body bound: at the limit the body is read (and is not JSON), one byte over is refused.
    let junk = "x".repeat(FLOOR_BODY_BYTES_MAX);
    assert_eq!(request(floor.addr(), "POST", "/run", &junk).0, 400);
    let mut stream = TcpStream::connect(floor.addr()).unwrap();
    let over = FLOOR_BODY_BYTES_MAX + 1;
    write!(stream, "POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: {over}\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 413 "), "refused on the head alone: {answer:?}");
    assert!(!root.0.join("x").exists() && !root.0.with_file_name("x").exists());
    assert_eq!(root.entries(), Vec::<String>::new(), "every work dir is removed");
}

#[test]
fn floor_refuses_non_loopback_addresses() {
    let err = FloorServer::bind("0.0.0.0:0", FloorConfig::floor()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn bwrap_floor_runs_each_request_in_a_sandbox() {
    assert!(
        Path::new(BWRAP).exists(),
        "{BWRAP} is missing: install the Debian package bubblewrap (.ci/install.sh does)"
    );
    let root = WorkRoot::new("bwrap");
    let floor = start(FloorConfig::bwrap(BWRAP.into()), &root.0);
    let (status, body) = request(floor.addr(), "POST", "/run", GO_JUDGE_BENCH_BODY);
    assert_eq!(status, 200, "{body}");
    check_accepted_cat(&body);
    // Inside: cwd /w, a private pid namespace (the program is not among the host's pids), and
    // no host /root (which exists outside).
    assert!(Path::new("/root").is_dir());
    let probe = r#"{"cmd":[{"args":["/bin/sh","-c","pwd; ls /proc | grep -c '^[0-9]'; test -e /root && echo root-visible || echo no-root"],"files":[null,{"name":"stdout","max":1000},{"name":"stderr","max":1000}]}]}"#;
    let (status, body) = request(floor.addr(), "POST", "/run", probe);
    assert_eq!(status, 200, "{body}");
    let r = result(&body);
    let stdout = r["files"]["stdout"].as_str().unwrap().to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"/w"), "{stdout}");
    let pids: u32 = lines.get(1).unwrap().parse().unwrap();
    assert!(pids <= 5, "a private pid namespace shows a handful of pids, saw {pids}");
    assert_eq!(lines.get(2), Some(&"no-root"), "{stdout}");
    assert_eq!(root.entries(), Vec::<String>::new(), "every work dir is removed");
}

fn judge_run(addr: SocketAddr, body: &str, requests: u64) -> RunConfig {
    let mut config = RunConfig::new(Target::parse(&format!("http://{addr}/run")).unwrap());
    config.request.method = "POST".into();
    config.request.body = body.as_bytes().to_vec();
    config.connections = 2;
    config.warmup = Duration::ZERO;
    config.stop = Stop::Requests { count: requests, deadline: Duration::from_secs(60) };
    config.expect_body_contains = Some(br#""status":"Accepted""#.to_vec());
    config
}

#[test]
fn load_generator_counts_a_failed_run_as_an_error() {
    let root = WorkRoot::new("load");
    let floor = start(FloorConfig::floor(), &root.0);
    // Accepted answers vary in length (times); the needle check passes and no length is imposed.
    let report = run(&judge_run(floor.addr(), GO_JUDGE_BENCH_BODY, 20)).unwrap();
    assert_eq!(report.errors.total(), 0, "{:?}", report.errors);
    assert_eq!(report.requests, 20);
    assert_eq!(report.expect.body_bytes, None);

    // A 200 whose run failed: the probe already refuses it.
    let failing = GO_JUDGE_BENCH_BODY.replace("\"a.hs\"]", "\"missing\"]");
    match run(&judge_run(floor.addr(), &failing, 5)) {
        Err(RunError::ProbeBody { needle, .. }) => assert_eq!(needle, r#""status":"Accepted""#),
        other => panic!("expected a probe body error, got {other:?}"),
    }
}
