//! Pipelined requests: answered in order, in as few sends as possible, including requests
//! queued behind a handler that answers later from a task.

use std::time::Duration;

use crate::harness::{TestServer, slow_route_config, test_config};

#[test]
fn sixteen_pipelined_requests_in_one_write() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();
    let paths = ["/hello", "/healthz", "/nope", "/version"];
    let mut batch = Vec::new();
    for i in 0..16 {
        batch.extend_from_slice(
            format!("GET {} HTTP/1.1\r\nHost: t\r\n\r\n", paths[i % 4]).as_bytes(),
        );
    }
    client.send(&batch);
    for i in 0..16 {
        let reply = client.read_reply().expect("reply");
        match paths[i % 4] {
            "/hello" => assert_eq!(reply.body, b"Hello, World!", "response {i}"),
            "/healthz" => assert_eq!(reply.text(), r#"{"status":"ok"}"#, "response {i}"),
            "/nope" => assert_eq!(reply.status, 404, "response {i}"),
            _ => assert!(reply.text().contains("buildVersion"), "response {i}"),
        }
    }
    server.stop().expect("clean stop");
}

#[test]
fn a_long_pipeline_is_answered_in_order_under_backpressure() {
    // More requests than one connection may queue (its pipeline depth): the shard pauses
    // parsing, sends, and resumes.
    let server = TestServer::start(test_config());
    let mut client = server.connect();
    let count = 2000;
    let mut batch = Vec::new();
    for i in 0..count {
        let path = if i % 2 == 0 { "/hello" } else { "/nope" };
        batch.extend_from_slice(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    }
    let writer = {
        let mut stream = client.stream.try_clone().expect("clone");
        std::thread::spawn(move || std::io::Write::write_all(&mut stream, &batch).expect("write"))
    };
    for i in 0..count {
        let reply = client.read_reply().expect("reply");
        assert_eq!(reply.status, if i % 2 == 0 { 200 } else { 404 }, "response {i}");
    }
    writer.join().expect("writer");
    server.stop().expect("clean stop");
}

#[test]
fn requests_behind_a_deferred_one_wait_their_turn() {
    let config = slow_route_config(50);
    let server = TestServer::start(config);
    let mut client = server.connect();
    client.send(
        b"GET /slow?60 HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /slow?1 HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(client.read_reply().expect("1").text(), "slept 60");
    assert_eq!(client.read_reply().expect("2").body, b"Hello, World!");
    assert_eq!(client.read_reply().expect("3").text(), "slept 1");
    assert_eq!(client.read_reply().expect("4").text(), r#"{"status":"ok"}"#);
    // Another connection is served while one waits on a task.
    let mut slow = server.connect();
    slow.send(b"GET /slow?300 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(client.get("/hello").status, 200);
    assert_eq!(slow.read_reply().expect("slow").text(), "slept 300");
    server.stop().expect("clean stop");
}

#[test]
fn a_client_gone_while_its_task_runs_does_not_disturb_others() {
    let config = slow_route_config(30_000);
    let server = TestServer::start(config);
    {
        let mut gone = server.connect();
        gone.send(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
        std::thread::sleep(Duration::from_millis(50));
        // Dropped with a reset: the shard aborts the task and frees the connection.
        rustix::net::sockopt::set_socket_linger(&gone.stream, Some(Duration::ZERO))
            .expect("linger");
    }
    crate::harness::eventually("the abandoned connection is closed", || {
        server.metrics.sum(|m| m.conns_closed.get()) == 1
    });
    let mut client = server.connect();
    assert_eq!(client.get("/hello").status, 200);
    server.stop().expect("clean stop");
}
