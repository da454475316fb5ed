//! Timeouts through the ring: slow senders, idle connections, clients that never read, and
//! half-closed sockets. The server runs with short timeouts; the test waits with generous
//! bounds, so it does not depend on timing.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::harness::{PATIENCE, TestServer, eventually, test_config};

fn short(config: &mut shardbox_engine::config::ServerConfig) {
    config.idle_timeout = Duration::from_millis(300);
    config.header_timeout = Duration::from_millis(300);
    config.body_timeout = Duration::from_millis(300);
    config.write_timeout = Duration::from_millis(300);
}

#[test]
fn slowloris_gets_408_and_a_close() {
    let mut config = test_config();
    short(&mut config);
    config.idle_timeout = Duration::from_secs(60); // only the header timeout may fire
    let server = TestServer::start(config);
    let mut client = server.connect();
    let started = Instant::now();
    // One byte at a time, each well within any per-read timeout: only a deadline from the
    // first byte stops this.
    let head = b"GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: ";
    let mut sent = 0;
    let mut closed_early = false;
    while started.elapsed() < PATIENCE {
        let byte = head.get(sent).copied().unwrap_or(b'a');
        if client.stream.write_all(&[byte]).is_err() {
            closed_early = true;
            break;
        }
        sent += 1;
        std::thread::sleep(Duration::from_millis(20));
        if server.metrics.sum(|m| m.responses_with(408)) > 0 {
            break;
        }
    }
    assert!(!closed_early || server.metrics.sum(|m| m.responses_with(408)) > 0);
    let reply = client.read_reply().expect("a 408 before the close");
    assert_eq!(reply.status, 408);
    assert!(reply.closes());
    assert_eq!(reply.text(), r#"{"error":"request timeout"}"#);
    assert!(client.closed());
    let text = server.connect().get("/metrics").text();
    assert!(text.contains("shardbox_timeouts_total{kind=\"header\"} 1\n"), "{text}");
    server.stop().expect("clean stop");
}

#[test]
fn a_stalled_body_gets_408() {
    let mut config = test_config();
    short(&mut config);
    config.idle_timeout = Duration::from_secs(60);
    let server = TestServer::start(config);
    let mut client = server.connect();
    client.send(b"POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\npartial");
    let reply = client.read_reply().expect("a 408");
    assert_eq!(reply.status, 408);
    assert!(client.closed());
    server.stop().expect("clean stop");
}

/// The body timeout is per pause: a byte every pause held a connection slot for good. A body
/// must now average `-body-rate-min` bytes per second after a grace of `-body-timeout`. Here
/// 2 s of grace at 1000 B/s, one byte every 20 ms (50 B/s): the allowance runs out after about
/// 2.1 s, while every pause stays far below the body timeout; a body sent at once is served.
#[test]
fn a_body_trickled_below_the_minimum_rate_gets_408() {
    let mut config = test_config();
    config.body_timeout = Duration::from_secs(2);
    config.body_bytes_per_sec_min = 1000;
    let server = TestServer::start(config);
    let mut fast = server.connect();
    let body = vec![b'x'; 1 << 20];
    fast.send(b"POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n");
    fast.send(&body);
    assert_eq!(fast.read_reply().expect("a reply").status, 404, "a fast body is read whole");
    let mut client = server.connect();
    client.send(b"POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n");
    let started = Instant::now();
    while server.metrics.sum(|m| m.responses_with(408)) == 0 {
        assert!(started.elapsed() < PATIENCE, "the trickle was never cut off");
        if client.stream.write_all(b"x").is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let reply = client.read_reply().expect("a 408 before the close");
    assert_eq!(reply.status, 408);
    assert!(reply.closes());
    assert_eq!(reply.text(), r#"{"error":"request body too slow"}"#);
    let text = server.connect().get("/metrics").text();
    assert!(text.contains("shardbox_timeouts_total{kind=\"body\"} 1\n"), "{text}");
    server.stop().expect("clean stop");
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let mut config = test_config();
    short(&mut config);
    let server = TestServer::start(config);
    let mut client = server.connect();
    assert_eq!(client.get("/hello").status, 200);
    // Nothing more: the idle timeout closes the connection without a response.
    assert!(client.closed(), "closed by the idle timeout");
    // A connection that never sends anything is idle too.
    let mut silent = server.connect();
    assert!(silent.closed());
    eventually("both idle timeouts counted", || server.metrics.sum(|m| m.conns_closed.get()) >= 2);
    let text = server.connect().get("/metrics").text();
    assert!(text.contains("shardbox_timeouts_total{kind=\"idle\"} 2\n"), "{text}");
    server.stop().expect("clean stop");
}

#[test]
fn a_client_that_never_reads_is_cut_off_and_memory_stays_bounded() {
    let mut config = test_config();
    short(&mut config);
    config.idle_timeout = Duration::from_secs(60);
    let server = TestServer::start(config);
    let mut hog = server.connect();
    // Shrink our receive buffer so the server's sends stall quickly.
    rustix::net::sockopt::set_socket_recv_buffer_size(&hog.stream, 4096).expect("rcvbuf");
    let request = b"GET /version HTTP/1.1\r\nHost: t\r\n\r\n".repeat(64);
    // Keep pipelining requests without reading a single response, until the server gives up.
    let started = Instant::now();
    let mut writes = 0u64;
    while started.elapsed() < PATIENCE {
        if hog.stream.write_all(&request).is_err() {
            break;
        }
        writes += 1;
        if server.metrics.sum(|m| m.conns_closed.get()) > 0 {
            break;
        }
    }
    eventually("the write timeout closes the hog", || {
        server.metrics.sum(|m| m.conns_closed.get()) == 1
    });
    assert!(writes > 0);
    let text = server.connect().get("/metrics").text();
    assert!(text.contains("shardbox_timeouts_total{kind=\"write\"} 1\n"), "{text}");
    // The server paused reading the hog once its output backed up, so it could not make the
    // server buffer without bound: everything it sent fits in a few socket buffers.
    let received = server.metrics.sum(|m| m.bytes_received.get());
    assert!(
        received < 16 * 1024 * 1024,
        "server read {received} bytes from a client that never read"
    );
    server.stop().expect("clean stop");
}

#[test]
fn half_closed_client_still_gets_its_response() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();
    client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    client.shutdown_write();
    let reply = client.read_reply().expect("the response despite the half-close");
    assert_eq!(reply.body, b"Hello, World!");
    assert!(client.closed(), "then the server closes");
    // Pipelined requests before the half-close are all answered.
    let mut client = server.connect();
    client.send(&b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n".repeat(5));
    client.shutdown_write();
    for _ in 0..5 {
        assert_eq!(client.read_reply().expect("reply").status, 200);
    }
    assert!(client.closed());
    server.stop().expect("clean stop");
}
