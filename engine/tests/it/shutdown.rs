//! Graceful shutdown: SIGTERM while a request is in flight lets it finish, closes idle
//! connections, stops accepting and exits 0; a second signal closes everything at once.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::harness::{Binary, Client, TestServer, eventually, slow_route_config, test_config};

fn received_bytes(client: &mut Client) -> u64 {
    let text = client.get("/metrics").text();
    let line =
        text.lines().find(|l| l.starts_with("shardbox_received_bytes_total ")).expect("metric");
    line.rsplit(' ').next().expect("value").parse().expect("number")
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits_zero() {
    let mut server = Binary::start(&["-shutdown-timeout", "60s"]);
    let mut slow = Client::connect(server.addr);
    let mut idle = Client::connect(server.addr);
    let mut probe = Client::connect(server.addr);
    assert_eq!(idle.get("/hello").status, 200);

    // The head is complete, the body is not: the request is in flight.
    let head = b"GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n";
    let before = received_bytes(&mut probe);
    slow.send(head);
    // Wait until the server has read the head (the next scrape's own request is as long as
    // the first one's).
    let scrape = b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n".len() as u64;
    eventually("the server read the head", || {
        received_bytes(&mut probe) >= before + scrape * 2 + head.len() as u64
    });
    drop(probe);

    server.signal(Signal::SIGTERM);
    // Idle connections are closed; new connections are no longer accepted.
    assert!(idle.closed(), "idle connection closed at shutdown");
    eventually("the listener is closed", || std::net::TcpStream::connect(server.addr).is_err());

    slow.send(b"12345");
    let reply = slow.read_reply().expect("the in-flight request completes");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"Hello, World!");
    assert!(reply.closes(), "responses during shutdown close their connection");
    assert!(slow.closed());
    assert_eq!(server.wait(), Some(0), "graceful shutdown exits 0");
    let log = server.log.lock().expect("log").join("\n");
    assert!(log.contains("shutting down gracefully"), "{log}");
}

#[test]
fn a_second_signal_closes_everything() {
    let mut server = Binary::start(&["-shutdown-timeout", "60s"]);
    let mut stuck = Client::connect(server.addr);
    stuck.send(b"POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
    std::thread::sleep(Duration::from_millis(100));
    server.signal(Signal::SIGINT);
    std::thread::sleep(Duration::from_millis(100));
    server.signal(Signal::SIGTERM);
    assert!(stuck.closed());
    assert_eq!(server.wait(), Some(0));
}

#[test]
fn shutdown_handle_waits_for_a_task_in_flight() {
    let config = slow_route_config(300);
    let server = TestServer::start(config);
    let mut client = server.connect();
    client.send(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    eventually("the task started", || server.metrics.sum(|m| m.tasks_spawned.get()) == 1);
    let stop = server.shutdown_handle();
    stop.shutdown();
    let reply = client.read_reply().expect("reply");
    assert_eq!((reply.status, reply.text().as_str()), (200, "slept 300"));
    assert!(reply.closes());
    server.stop().expect("clean stop");
}

#[test]
fn shutdown_timeout_bounds_the_wait() {
    let mut config = test_config();
    config.shutdown_timeout = Duration::from_millis(200);
    config.body_timeout = Duration::from_secs(600);
    let server = TestServer::start(config);
    let mut stuck = server.connect();
    stuck.send(b"POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
    eventually("the head was read", || server.metrics.sum(|m| m.bytes_received.get()) > 0);
    server.stop().expect("stops once the shutdown timeout passes");
    assert!(stuck.closed());
}
