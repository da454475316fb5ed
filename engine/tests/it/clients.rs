//! Third-party go-judge clients, unchanged, against the real `shardbox` binary: the proof that
//! "existing go-judge clients work unchanged" with code someone else wrote.
//!
//! Tested: PyPI `go-judge` 0.1.0 (by go-judge's author), its REST client
//! `go_judge.client.RemoteSandbox`. It compiles C++ with `/usr/bin/g++` and `copyOutCached`,
//! runs the binary from its `fileId` (or python3 from a `content` copy-in) with stdin and
//! stdout/stderr collectors, deletes the cached binary with `DELETE /file/{id}`, and checks
//! health with `GET /version`. The drivers are short scripts in `engine/tests/clients/` that
//! print what the client returned as JSON; the assertions are here, on those values, plus our
//! own `GET /file` for the cleanup.
//!
//! The client lives in a virtualenv that `.ci/install.sh` creates from the pinned
//! `engine/tests/clients/requirements.txt` (`target/gojudge-clients/venv`;
//! `SHARDBOX_CLIENTS_VENV` names another). Without it each test prints why and returns, unless
//! `SHARDBOX_REQUIRE_CLIENTS=1` (set by `.ci/run`): then it fails. Without root the judge
//! tests' rule applies (print why, return).

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sonic_rs::{JsonContainerTrait, JsonValueTrait, Value};

use crate::judge::{Server, require_judge, start};

/// How long one driver script may run (it compiles up to nine C++ programs on a shared machine).
const SCRIPT_PATIENCE: Duration = Duration::from_secs(180);

/// The Python interpreter of the clients' virtualenv, or `None` (printed) when it is missing
/// and CI does not require it.
fn client_python() -> Option<PathBuf> {
    let venv = std::env::var_os("SHARDBOX_CLIENTS_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/gojudge-clients/venv"),
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    if python.exists() {
        return Some(python);
    }
    let why = format!(
        "the go-judge clients are not installed ({} is missing): run `bash .ci/install.sh`",
        python.display()
    );
    let required = std::env::var("SHARDBOX_REQUIRE_CLIENTS").is_ok_and(|v| v == "1");
    assert!(!required, "{why} (SHARDBOX_REQUIRE_CLIENTS=1)");
    eprintln!("SKIPPED: {why}");
    None
}

/// Returns early from a test, saying why, when the judge or the clients are missing here;
/// otherwise evaluates to the clients' interpreter.
macro_rules! require_clients {
    () => {{
        require_judge!();
        match client_python() {
            Some(python) => python,
            None => return,
        }
    }};
}

/// The base URL a client is given for `server`.
fn url(server: &Server) -> String {
    format!("http://{}", server.binary.addr)
}

/// Runs `engine/tests/clients/<script> args…` with the clients' interpreter; returns the JSON
/// it printed. Fails with the script's stderr when it exits non-zero or runs too long.
fn run_script(python: &Path, script: &str, args: &[String]) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients").join(script);
    let mut child = Command::new(python)
        .arg(&path)
        .args(args)
        // Loopback only, whatever proxy the environment names.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env_remove("PYTHONPATH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {} {}: {e}", python.display(), path.display()));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if start.elapsed() > SCRIPT_PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{script} ran over {SCRIPT_PATIENCE:?}:\n{}", stderr.join().unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    assert!(status.success(), "{script} failed ({status}):\n{stderr}");
    sonic_rs::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}):\n{stdout}\n{stderr}"))
}

/// `out[case][key]`, failing with the whole case when it is missing.
fn at<'a>(out: &'a Value, case: &str, key: &str) -> &'a Value {
    out.get(case)
        .and_then(|c| c.get(key))
        .unwrap_or_else(|| panic!("{case}.{key} missing: {:?}", out.get(case)))
}

fn text(out: &Value, case: &str, key: &str) -> String {
    at(out, case, key).as_str().unwrap_or_else(|| panic!("{case}.{key} is no string")).to_owned()
}

fn number(out: &Value, case: &str, key: &str) -> u64 {
    at(out, case, key).as_u64().unwrap_or_else(|| panic!("{case}.{key} is no number"))
}

/// Asserts the client's verdict for `case`: its status and exit code.
fn verdict(out: &Value, case: &str, status: &str, exit_code: u64) {
    assert_eq!(
        (text(out, case, "status"), number(out, case, "exit_code")),
        (status.to_owned(), exit_code),
        "{case}: {:?}",
        out.get(case)
    );
}

/// The results of a `run_multiple` case, in input order.
fn each(out: &Value, case: &str) -> Vec<Value> {
    out.get(case)
        .and_then(|c| c.as_array())
        .map(|a| a.iter().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn go_judge_py_compiles_and_runs_cpp() {
    let python = require_clients!();
    let server = start(&["-judge-workers", "2"]);
    let out = run_script(&python, "go_judge_cpp.py", &[url(&server)]);
    let version = out.get("version").and_then(|v| v.as_str());
    assert_eq!(version, Some("0.1.0"), "the pinned client");

    verdict(&out, "accepted", "Accepted", 0);
    assert_eq!(text(&out, "accepted", "stdout"), "3\n");
    assert_eq!(text(&out, "accepted", "stderr"), "");
    assert!(number(&out, "accepted", "time_ns") > 0);
    assert!(number(&out, "accepted", "memory_b") > 0);

    // The client turns g++'s non-zero exit into "Compile Error" with g++'s stderr, and keeps
    // the raw result: go-judge's status and the copy-out error for the missing binary.
    verdict(&out, "compile_error", "Compile Error", 1);
    let diagnostics = text(&out, "compile_error", "stderr");
    assert!(diagnostics.contains("error: 'undeclared' was not declared"), "{diagnostics}");
    let raw = at(&out, "compile_error", "metadata");
    assert_eq!(raw.get("status").and_then(|s| s.as_str()), Some("Nonzero Exit Status"));
    let file_error = raw.get("fileError").and_then(|e| e.get(0));
    assert_eq!(file_error.and_then(|e| e.get("name")).and_then(|n| n.as_str()), Some("a"));
    assert_eq!(
        file_error.and_then(|e| e.get("type")).and_then(|t| t.as_str()),
        Some("CopyOutOpen")
    );

    verdict(&out, "exit_3", "Nonzero Exit Status", 3);
    verdict(&out, "segfault", "Signalled", 11);
    verdict(&out, "stderr", "Accepted", 0);
    assert_eq!(text(&out, "stderr", "stderr"), "oops\n");
    assert_eq!(text(&out, "stderr", "stdout"), "");

    // No bound on `time_ns`: on a loaded machine the 1 s wall limit may fire first.
    verdict(&out, "cpu_limit", "Time Limit Exceeded", 9);
    verdict(&out, "memory_limit", "Memory Limit Exceeded", 9);
    assert!(number(&out, "memory_limit", "memory_b") >= 64 << 20);
    // go-judge returns max + 1 bytes of an overflowing collector.
    verdict(&out, "output_limit", "Output Limit Exceeded", 0);
    assert_eq!(text(&out, "output_limit", "stdout"), "x".repeat(10241));

    let results = each(&out, "multiple");
    assert_eq!(results.len(), 6, "{:?}", out.get("multiple"));
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.get("status").and_then(|s| s.as_str()), Some("Accepted"), "{r:?}");
        assert_eq!(r.get("stdout").and_then(|s| s.as_str()), Some(format!("{}\n", 2 * i).as_str()));
    }

    // A language registered at run time (the package README's C example, 32 MiB).
    verdict(&out, "c_readme", "Accepted", 0);
    assert_eq!(text(&out, "c_readme", "stdout"), "c\n");

    // Every successful compile cached its binary ("a", the C one "main"), listed just before
    // the client deleted it; the compile error cached nothing. Afterwards the store is empty.
    let deleted = each(&out, "deleted");
    assert_eq!(deleted.len(), 9, "one delete per successful compile: {deleted:?}");
    let mut c = server.client();
    for (i, d) in deleted.iter().enumerate() {
        let id = d.get("id").and_then(|i| i.as_str()).expect("id");
        let listed = d.get("listed").and_then(|l| l.get(id)).and_then(|n| n.as_str());
        let name = if i + 1 == deleted.len() { "main" } else { "a" };
        assert_eq!(listed, Some(name), "cached before the delete: {d:?}");
        assert_eq!(c.get(&format!("/file/{id}")).status, 404, "{id} still stored");
    }
    assert_eq!(c.get("/file").text(), "{}");
}

#[test]
fn go_judge_py_runs_python3() {
    let python = require_clients!();
    let server = start(&["-judge-workers", "2"]);
    // A port where nothing listens, for the failing health check.
    let closed = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port");
    let out =
        run_script(&python, "go_judge_python.py", &[url(&server), format!("http://{closed}")]);

    assert_eq!(out.get("health").and_then(|h| h.as_bool()), Some(true));
    assert_eq!(out.get("health_closed").and_then(|h| h.as_bool()), Some(false));

    verdict(&out, "accepted", "Accepted", 0);
    assert_eq!(text(&out, "accepted", "stdout"), "7\n");
    verdict(&out, "big_input", "Accepted", 0);
    assert_eq!(text(&out, "big_input", "stdout"), "19999900000\n");

    verdict(&out, "exception", "Nonzero Exit Status", 1);
    assert_eq!(text(&out, "exception", "stdout"), "before\n");
    let traceback = text(&out, "exception", "stderr");
    assert!(traceback.contains("ZeroDivisionError: division by zero"), "{traceback}");

    // Killed by the wall clock (2 x 0.3 s) while sleeping: little CPU time used.
    verdict(&out, "clock_limit", "Time Limit Exceeded", 9);
    assert!(number(&out, "clock_limit", "time_ns") < 300_000_000, "{:?}", out.get("clock_limit"));
    verdict(&out, "memory_limit", "Memory Limit Exceeded", 9);
    assert!(number(&out, "memory_limit", "memory_b") >= 64 << 20);

    verdict(&out, "unicode", "Accepted", 0);
    assert_eq!(text(&out, "unicode", "stdout"), "h\u{e9}llo \u{2713} <&>\n");
    verdict(&out, "invalid_utf8", "Accepted", 0);
    assert_eq!(text(&out, "invalid_utf8", "stdout"), "a\u{fffd}b\n");

    let results = each(&out, "multiple");
    assert_eq!(results.len(), 16, "{:?}", out.get("multiple"));
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.get("status").and_then(|s| s.as_str()), Some("Accepted"), "{r:?}");
        assert_eq!(r.get("stdout").and_then(|s| s.as_str()), Some(format!("{}\n", i * i).as_str()));
    }
    let mixed: Vec<_> = each(&out, "mixed")
        .iter()
        .map(|r| {
            let status = r.get("status").and_then(|s| s.as_str()).unwrap_or_default().to_owned();
            (status, r.get("stdout").and_then(|s| s.as_str()).unwrap_or_default().to_owned())
        })
        .collect();
    let want = [("Accepted", "1\n"), ("Time Limit Exceeded", ""), ("Accepted", "2\n")];
    let want: Vec<_> = want.iter().map(|(s, o)| ((*s).to_owned(), (*o).to_owned())).collect();
    assert_eq!(mixed, want, "one verdict per input, in order");
    // Python needs no compile: nothing was cached.
    assert_eq!(server.client().get("/file").text(), "{}");
}
