//! Real runs against the test servers: exact counts, every kind of error detected, bounds on
//! duration and count honoured. No assertion on speed.

use std::time::{Duration, Instant};

use shardbox_bench::report::run_text;
use shardbox_bench::request::Target;
use shardbox_bench::run::{RunConfig, RunError, Stop, run};

use crate::server::{Behaviour, TestServer};

fn config(server: &TestServer, stop: Stop) -> RunConfig {
    let mut config = RunConfig::new(Target::parse(&server.url("/hello")).unwrap());
    config.connections = 4;
    config.warmup = Duration::ZERO;
    config.stop = stop;
    config
}

fn count(n: u64) -> Stop {
    Stop::Requests { count: n, deadline: Duration::from_secs(30) }
}

#[test]
fn fixed_count_is_exact_with_and_without_pipelining() {
    for (depth, threads, n) in [(1, 1, 1000), (4, 2, 1001), (16, 1, 7)] {
        let server = TestServer::start(Behaviour::Hello);
        let mut c = config(&server, count(n));
        c.depth = depth;
        c.threads = threads;
        let report = run(&c).unwrap();
        assert_eq!(report.errors.total(), 0, "{:?}", report.errors);
        assert_eq!(report.requests, n, "depth {depth} threads {threads}");
        assert_eq!(report.latency_ns.len(), n, "one latency sample per measured response");
        // The probe, then exactly the measured requests (no warm-up here).
        assert_eq!(server.served(), n + 1);
        assert_eq!((report.probe.status, report.probe.body_bytes), (200, 5));
        assert_eq!(report.probe.head_bytes, 38);
    }
}

#[test]
fn warmup_is_excluded_from_the_count() {
    let server = TestServer::start(Behaviour::Hello);
    let mut c = config(&server, count(500));
    c.warmup = Duration::from_millis(200);
    let report = run(&c).unwrap();
    assert_eq!(report.requests, 500);
    assert!(server.served() > 501, "warm-up requests were sent but not counted");
}

#[test]
fn duration_bound_is_honoured() {
    let server = TestServer::start(Behaviour::Hello);
    let c = config(&server, Stop::Duration(Duration::from_millis(300)));
    let begin = Instant::now();
    let report = run(&c).unwrap();
    let wall = begin.elapsed();
    assert_eq!(report.errors.total(), 0);
    assert!(report.requests > 0);
    assert!(report.elapsed >= Duration::from_millis(300), "{:?}", report.elapsed);
    // Generous: the bound is that the run stops by itself, not how fast.
    assert!(wall < Duration::from_secs(20), "{wall:?}");
    assert!(server.served() >= report.requests);
}

#[test]
fn server_errors_are_counted_and_fail_the_run() {
    let server = TestServer::start(Behaviour::ServerErrorAfter(50));
    let report = run(&config(&server, count(200))).unwrap();
    assert!(report.failed());
    assert_eq!(report.errors.status, 200 + 1 - 50, "every 500 after the first 50 responses");
    assert_eq!(report.errors.body_length, 0);
    assert_eq!(report.requests, 200);
}

#[test]
fn wrong_body_lengths_are_counted() {
    let server = TestServer::start(Behaviour::ShortBodyAfter(10));
    let report = run(&config(&server, count(100))).unwrap();
    assert!(report.failed());
    assert_eq!(report.errors.body_length, 100 + 1 - 10);
    assert_eq!(report.errors.status, 0);
    let text = run_text(&report);
    assert!(text.contains("hint") && text.contains("--expect-body-contains"), "{text}");
}

#[test]
fn explicit_expectations_override_the_probe() {
    let server = TestServer::start(Behaviour::Hello);
    let mut c = config(&server, count(20));
    c.expect_body_bytes = Some(6);
    let report = run(&c).unwrap();
    assert_eq!(report.errors.body_length, 20);
    c.expect_body_bytes = None;
    c.expect_status = 201;
    assert!(matches!(run(&c), Err(RunError::ProbeStatus { status: 200, expected: 201, .. })));
}

#[test]
fn bodies_without_the_needle_are_counted_and_lengths_may_vary() {
    let server = TestServer::start(Behaviour::JudgeFailAfter(30));
    let mut c = config(&server, count(100));
    c.expect_body_contains = Some(br#""status":"Accepted""#.to_vec());
    let report = run(&c).unwrap();
    assert!(report.failed());
    assert_eq!(report.errors.body_content, 100 + 1 - 30, "every failed run after the first 30");
    assert_eq!(report.errors.body_length, 0, "no length imposed: Accepted bodies vary");
    assert_eq!(report.errors.status, 0);
    assert!(!run_text(&report).contains("hint"), "a content check gets no length hint");
    // An explicit length is still checked, and an empty needle is refused before any request.
    c.expect_body_bytes = Some(1);
    c.stop = count(10);
    let server = TestServer::start(Behaviour::JudgeFailAfter(1000));
    c.target = Target::parse(&server.url("/run")).unwrap();
    assert_eq!(run(&c).unwrap().errors.body_length, 10);
    c.expect_body_contains = Some(Vec::new());
    assert!(matches!(run(&c), Err(RunError::Config(_))));
    assert_eq!(server.served(), 11, "nothing sent after the refused config");
}

#[test]
fn chunked_responses_pass() {
    let server = TestServer::start(Behaviour::Chunked);
    let mut c = config(&server, count(300));
    c.depth = 8;
    c.expect_body_bytes = Some(5);
    let report = run(&c).unwrap();
    assert_eq!(report.errors.total(), 0, "{:?}", report.errors);
    assert_eq!(report.requests, 300);
}

#[test]
fn responses_split_across_reads_pass() {
    let server = TestServer::start(Behaviour::Trickle);
    let mut c = config(&server, count(100));
    c.depth = 3;
    let report = run(&c).unwrap();
    assert_eq!(report.errors.total(), 0, "{:?}", report.errors);
    assert_eq!(report.requests, 100);
}

#[test]
fn clean_closes_reconnect_without_errors() {
    let server = TestServer::start(Behaviour::CloseEach);
    let report = run(&config(&server, count(50))).unwrap();
    assert_eq!(report.errors.total(), 0, "{:?}", report.errors);
    assert_eq!(report.requests, 50);
    assert!(report.reconnects >= 50, "{}", report.reconnects);
}

#[test]
fn a_server_that_stops_answering_hits_the_deadline() {
    let server = TestServer::start(Behaviour::HangAfter(20));
    let mut c =
        config(&server, Stop::Requests { count: 100, deadline: Duration::from_millis(500) });
    c.connections = 2;
    let begin = Instant::now();
    let report = run(&c).unwrap();
    assert!(begin.elapsed() < Duration::from_secs(20));
    assert!(report.failed());
    assert_eq!(report.requests, 19, "20 answers, one of them the probe");
    assert_eq!(report.errors.unanswered, 100 - 19);
}

#[test]
fn a_server_that_drops_connections_is_detected() {
    let server = TestServer::start(Behaviour::DieAfter(30));
    let mut c = config(&server, Stop::Requests { count: 100, deadline: Duration::from_secs(2) });
    c.depth = 4;
    let report = run(&c).unwrap();
    assert!(report.failed());
    assert!(report.errors.closed > 0, "{:?}", report.errors);
}

#[test]
fn post_bodies_from_a_file_are_sent() {
    let server = TestServer::start(Behaviour::Echo);
    let path = std::env::temp_dir().join(format!("bench-body-{}.json", std::process::id()));
    std::fs::write(&path, br#"{"cmd":[{"args":["/bin/true"]}]}"#).unwrap();
    let mut c = config(&server, count(64));
    c.request.method = "POST".into();
    c.request.headers.push("Content-Type: application/json".into());
    c.request.body =
        shardbox_bench::request::RequestSpec::read_body(path.to_str().unwrap()).unwrap();
    c.depth = 4;
    let report = run(&c).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(report.errors.total(), 0);
    assert_eq!(report.probe.body_bytes, 32, "the echo proves the body arrived whole");
    assert_eq!(report.requests, 64);
}

#[test]
fn an_unreachable_target_is_an_error_not_a_result() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = RunConfig::new(Target::parse(&format!("http://127.0.0.1:{port}/")).unwrap());
    assert!(matches!(run(&c), Err(RunError::ProbeIo { .. })));
}
