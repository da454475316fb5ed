//! Ring work per request, counted (no timing): a keep-alive request costs its recv and its
//! send completion and nothing else — no timer op per request — and one kernel entry (the
//! response's send is submitted by the same enter that waits for the next request); a
//! pipelined batch costs one recv and one send.

use crate::harness::{TestServer, eventually, test_config};

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
