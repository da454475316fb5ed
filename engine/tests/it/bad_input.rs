//! Hostile and broken input: each case gets its status (or a close), and the server keeps
//! serving everyone else afterwards.

use crate::harness::{Client, TestServer, test_config};

/// Sends `bytes` on a fresh connection, expects `status` followed by a close, then checks a
/// normal request on another connection still works.
fn rejected(server: &TestServer, bytes: &[u8], status: u16) -> crate::harness::Reply {
    let mut client = server.connect();
    client.send(bytes);
    let reply = client.read_reply().unwrap_or_else(|| {
        panic!("no response to {:?}", String::from_utf8_lossy(&bytes[..bytes.len().min(80)]))
    });
    assert_eq!(
        reply.status,
        status,
        "for {:?}: {}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(80)]),
        reply.text()
    );
    assert!(reply.closes(), "an error that loses the framing closes the connection");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert!(reply.text().starts_with(r#"{"error":""#), "{}", reply.text());
    assert!(client.closed(), "the server closes after the error");
    let mut other = server.connect();
    assert_eq!(other.get("/hello").status, 200, "the server still serves others");
    reply
}

#[test]
fn malformed_requests_get_their_status() {
    let server = TestServer::start(test_config());
    rejected(
        &server,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 random TLS hello\r\n\r\n",
        400,
    );
    rejected(&server, b"GET / HTTP/1.1\nHost: t\n\n", 400);
    rejected(&server, b"GET /hello HTTP/1.1\r\n\r\n", 400); // no Host
    rejected(&server, b"GET /hello HTTP/2.0\r\nHost: t\r\n\r\n", 505);
    rejected(&server, b"GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n", 400);
    rejected(&server, b"GET /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400);
    rejected(
        &server,
        b"GET /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501,
    );
    rejected(
        &server,
        b"POST /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        400,
    );
    rejected(
        &server,
        b"POST /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcdefgh\r\n",
        400,
    );
    server.stop().expect("clean stop");
}

#[test]
fn random_bytes_never_crash_the_server() {
    let server = TestServer::start(test_config());
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..64 {
        let mut bytes = vec![0u8; 16 + (round * 97) % 2000];
        for byte in &mut bytes {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *byte = seed as u8;
        }
        let mut client = server.connect();
        client.send(&bytes);
        client.shutdown_write();
        // Either an error status and a close, or just a close: never a success, never a hang.
        if let Some(reply) = client.read_reply() {
            assert!(reply.status >= 400, "random bytes got {}", reply.status);
        }
    }
    assert_eq!(server.connect().get("/hello").status, 200);
    server.stop().expect("clean stop");
}

#[test]
fn oversized_request_lines_and_heads() {
    let mut config = test_config();
    config.header_bytes_max = 4096;
    let server = TestServer::start(config);
    // Request target beyond the parser's target limit (414) within the head limit? The head
    // limit is smaller here, so a long line is a 431 or 414 depending on which trips first.
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000));
    let reply = rejected(&server, long_target.as_bytes(), 431);
    assert_eq!(reply.text(), r#"{"error":"request header too large"}"#);
    let many_headers: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
    rejected(
        &server,
        format!("GET /hello HTTP/1.1\r\nHost: t\r\n{many_headers}\r\n").as_bytes(),
        431,
    );
    let big_header =
        format!("GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n", "b".repeat(5000));
    rejected(&server, big_header.as_bytes(), 431);
    server.stop().expect("clean stop");

    // With the default head limit, the target limit (8 KiB) trips first.
    let server = TestServer::start(test_config());
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000));
    rejected(&server, long_target.as_bytes(), 414);
    server.stop().expect("clean stop");
}

#[test]
fn headers_at_and_around_the_count_limit() {
    let mut config = test_config();
    config.headers_count_max = 40;
    let server = TestServer::start(config);
    let request = |count: usize| {
        // Host is one of the header lines.
        let extra: String = (1..count).map(|i| format!("X-{i}: v\r\n")).collect();
        format!("GET /hello HTTP/1.1\r\nHost: t\r\n{extra}\r\n")
    };
    for count in [39, 40] {
        let mut client = server.connect();
        client.send(request(count).as_bytes());
        assert_eq!(client.read_reply().expect("reply").status, 200, "{count} headers");
    }
    rejected(&server, request(41).as_bytes(), 431);
    server.stop().expect("clean stop");
}

#[test]
fn bodies_at_and_around_the_limit() {
    let mut config = test_config();
    config.body_bytes_max = 1000;
    let server = TestServer::start(config);
    for length in [999, 1000] {
        let mut client = server.connect();
        let body = "x".repeat(length);
        client.send(
            format!("POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: {length}\r\n\r\n{body}")
                .as_bytes(),
        );
        assert_eq!(client.read_reply().expect("reply").status, 404, "{length} bytes are accepted");
        assert_eq!(client.get("/hello").status, 200, "and the connection continues");
    }
    rejected(&server, b"POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n", 413);
    // A chunked body crossing the limit while it streams.
    let mut chunked =
        b"POST /nope HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..11 {
        chunked.extend_from_slice(b"64\r\n");
        chunked.extend_from_slice(&[b'y'; 100]);
        chunked.extend_from_slice(b"\r\n");
    }
    rejected(&server, &chunked, 413);
    server.stop().expect("clean stop");
}

#[test]
fn bodies_split_across_reads_are_reassembled() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();
    // Content-Length body trickled in three writes, then a chunked one byte-by-byte framing.
    client.send(b"POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    std::thread::sleep(std::time::Duration::from_millis(20));
    client.send(b"defg");
    std::thread::sleep(std::time::Duration::from_millis(20));
    client.send(b"hij");
    assert_eq!(client.read_reply().expect("reply").status, 404);
    let chunked = b"POST /nope HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n";
    for piece in chunked.chunks(7) {
        client.send(piece);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(client.read_reply().expect("reply").status, 404);
    assert_eq!(client.get("/hello").status, 200);
    server.stop().expect("clean stop");
}

#[test]
fn expect_continue_gets_an_interim_response() {
    let server = TestServer::start(test_config());
    let mut client = Client::connect(server.addr);
    client.send(
        b"POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    );
    let interim = client.read_reply().expect("100");
    assert_eq!(interim.status, 100);
    client.send(b"body");
    assert_eq!(client.read_reply().expect("final").status, 404);
    server.stop().expect("clean stop");
}
