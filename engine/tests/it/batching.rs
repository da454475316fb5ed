//! Ring work per request, counted (no timing): a keep-alive request costs its recv and its
//! send completion and nothing else — no timer op per request — and one kernel entry (the
//! response's send is submitted by the same enter that waits for the next request); a
//! pipelined batch costs one recv and one send. A busy shard batches its waits by default,
//! and with `-wait-batch 1` never does, so no request waits for others to arrive.

use std::sync::Arc;
use std::time::Instant;

use shardbox_engine::config::ServerConfig;

use crate::harness::{Client, PATIENCE, TestServer, eventually, test_config};

/// Requests per measurement.
const REQUESTS: u64 = 200;
/// Completions and enters that may belong to neither request nor response: the loop turn
/// that saw the warm-up end, a date refresh turn, a late publish.
const SLACK: u64 = 4;

fn ring_counts(server: &TestServer) -> (u64, u64) {
    let shard = server.metrics.shard(0).expect("one shard");
    (shard.ring_completions.get(), shard.ring_enters.get())
}

#[test]
fn a_keep_alive_request_costs_two_completions_and_one_enter() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();
    assert_eq!(client.get("/hello").status, 200);
    // Wait until the warm-up request's send completion has been handled too.
    eventually("the warm-up is counted", || ring_counts(&server).0 >= 3);
    let (completions_before, enters_before) = ring_counts(&server);
    for _ in 0..REQUESTS {
        assert_eq!(client.get("/hello").status, 200);
    }
    let wanted = completions_before + 2 * REQUESTS;
    eventually("every send completion is handled", || ring_counts(&server).0 >= wanted);
    let (completions, enters) = ring_counts(&server);
    let completions = completions - completions_before;
    let enters = enters - enters_before;
    assert!(
        completions <= 2 * REQUESTS + SLACK,
        "{completions} completions for {REQUESTS} requests: more than a recv and a send each \
         (a timer op per request?)"
    );
    assert!(
        enters <= REQUESTS + SLACK,
        "{enters} io_uring_enter calls for {REQUESTS} requests: more than one each (does the \
         wait count the inline send's completion again?)"
    );
    server.stop().expect("clean stop");
}

#[test]
fn a_pipelined_batch_costs_one_recv_and_one_send() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();
    assert_eq!(client.get("/hello").status, 200);
    eventually("the warm-up is counted", || ring_counts(&server).0 >= 3);
    let batch: Vec<u8> = b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n".repeat(16);
    let (completions_before, _) = ring_counts(&server);
    let rounds = 20;
    for _ in 0..rounds {
        client.send(&batch);
        for _ in 0..16 {
            assert_eq!(client.read_reply().expect("reply").status, 200);
        }
    }
    // 16 small requests written at once arrive in one segment on loopback: one recv
    // completion, and all 16 responses leave in one send.
    let wanted = completions_before + 2 * rounds;
    eventually("every send completion is handled", || ring_counts(&server).0 >= wanted);
    let completions = ring_counts(&server).0 - completions_before;
    assert!(
        completions <= 2 * rounds + SLACK,
        "{completions} completions for {rounds} batches of 16: not one recv and one send each"
    );
    server.stop().expect("clean stop");
}

/// Connections that each send one request per round, all written before any reply is read,
/// so that some loop turns handle 16 completions or more (the batching gate).
const BURST_CONNS: usize = 48;

fn shard_count(
    server: &TestServer,
    what: fn(&shardbox_engine::metrics::ShardMetrics) -> u64,
) -> u64 {
    what(server.metrics.shard(0).expect("one shard"))
}

/// Rounds of a request on each of [`BURST_CONNS`] connections until `done` holds (the test
/// fails if it never does within [`PATIENCE`]).
fn busy_spell(server: &TestServer, what: &str, done: impl Fn() -> bool) {
    let mut clients: Vec<Client> = (0..BURST_CONNS).map(|_| server.connect()).collect();
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "no {what} after bursts of {BURST_CONNS} requests");
        for client in &mut clients {
            client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        }
        for client in &mut clients {
            assert_eq!(client.read_reply().expect("reply").status, 200);
        }
    }
}

#[test]
fn a_busy_shard_batches_its_waits_by_default() {
    let server = TestServer::start(test_config());
    busy_spell(&server, "batched wait", || {
        shard_count(&server, |s| s.ring_batched_waits.get()) > 0
    });
    assert!(shard_count(&server, |s| s.busy_turns.get()) > 0, "a busy turn opened the gate");
    server.stop().expect("clean stop");
}

#[test]
fn with_wait_batch_one_no_request_is_held_for_a_batch() {
    let config = ServerConfig { wait_batch_completions: 1, ..test_config() };
    let server = TestServer::start(config);
    // Busy turns that would have batched the next wait by default...
    busy_spell(&server, "busy turn", || shard_count(&server, |s| s.busy_turns.get()) >= 3);
    // ...then a lone request, as at the end of a busy spell.
    let mut lone = server.connect();
    assert_eq!(lone.get("/hello").status, 200);
    // No wait asked the kernel for more than the first completion, so none could hold an
    // arrived request until others came or the bound passed. (The turn that answered the lone
    // request published its ring counts before its send was submitted, at the next enter.)
    assert_eq!(shard_count(&server, |s| s.ring_batched_waits.get()), 0);
    assert_eq!(shard_count(&server, |s| s.ring_batches_short.get()), 0);
    server.stop().expect("clean stop");
}

/// A file body (`router::FileBody`, what `GET /file/{id}` answers) is sent head first, then a
/// chunk at a time, each step started by the completion of the one before. None of those
/// sends may be declared inline (`Ring::expect_inline`): the wait would not count its
/// completion and the download would sit until the 10 ms bound — the first version of file
/// bodies did that with the head, so every download took ≥ 10 ms. Counted, not timed: such
/// a wait ends at its bound (`ring_inline_waits_bounded`); downloads declare none.
#[test]
fn file_bodies_never_wait_for_the_inline_bound() {
    use std::io::{Seek, Write};
    use std::os::fd::OwnedFd;
    use std::rc::Rc;

    use shardbox_engine::router::{Access, Exchange, FileBody, Reply, Response};

    const DOWNLOADS: u64 = 50;
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let path = std::env::temp_dir().join(format!("shardbox-file-body-{}", std::process::id()));
    let mut file = std::fs::File::create_new(&path).expect("temp file");
    file.write_all(&data).expect("write");
    file.rewind().expect("rewind");
    std::fs::remove_file(&path).expect("unlink");
    let file = Arc::new(file);
    let mut config = test_config();
    config.routes = Arc::new(move |shard| {
        let file = Arc::clone(&file);
        shardbox_engine::endpoints::builtin_routes(shard).get(
            "/file-body",
            Access::Public,
            Rc::new(move |_: &mut Exchange<'_, '_>| {
                let fd: OwnedFd = file.try_clone().expect("dup").into();
                let len = file.metadata().expect("stat").len();
                let body = FileBody { fd, len };
                Reply::Later(Box::pin(async move {
                    Response::with_file(200, "application/octet-stream", body)
                }))
            }),
        )
    });
    let server = TestServer::start(config);
    let mut client = server.connect();
    for _ in 0..DOWNLOADS {
        let r = client.get("/file-body");
        assert!(r.status == 200 && r.body == data, "the file's bytes");
    }
    let shard = server.metrics.shard(0).expect("one shard");
    let bounded = shard.ring_inline_waits_bounded.get();
    assert!(
        bounded <= SLACK,
        "{bounded} waits of {DOWNLOADS} downloads ended at the inline bound: a file body's \
         send was declared inline"
    );
    server.stop().expect("clean stop");
}
