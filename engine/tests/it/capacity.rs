//! Ten thousand idle connections: the server holds them without receive buffers, keeps serving
//! others, and refuses connections beyond its cap with 503.

use std::net::TcpStream;
use std::os::fd::AsFd;

use crate::harness::{Binary, Client, eventually};

const IDLE: usize = 10_000;
const CAP: u32 = 10_100;
const EXTRA: usize = 200;

fn metric(addr: std::net::SocketAddr, name: &str) -> u64 {
    let text = Client::connect(addr).get("/metrics").text();
    let line = text
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .expect("metric");
    line.rsplit(' ').next().expect("value").parse().expect("number")
}

#[test]
fn ten_thousand_idle_connections_and_shedding_beyond_the_cap() {
    // The server runs as its own process (it raises its own RLIMIT_NOFILE); this process holds
    // the client ends.
    let limit =
        shardbox_engine::sys::raise_nofile_limit(IDLE as u64 + EXTRA as u64 + 200).expect("rlimit");
    assert!(limit >= (IDLE + EXTRA + 100) as u64, "RLIMIT_NOFILE {limit} is too low for this test");
    let cap = CAP.to_string();
    let server =
        Binary::start(&["-shard-conns-max", &cap, "-idle-timeout", "10m", "-recv-buffers", "1024"]);
    let addr = server.addr;

    let idle: Vec<TcpStream> =
        (0..IDLE).map(|_| TcpStream::connect(addr).expect("connect")).collect();
    // Each scrape is one more (short-lived) connection.
    eventually("all idle connections accepted", || {
        metric(addr, "shardbox_connections_open") == IDLE as u64 + 1
    });

    // Still serving.
    let mut client = Client::connect(addr);
    assert_eq!(client.get("/hello").status, 200);
    let open = IDLE as u64 + 1;

    // Beyond the cap: refused with 503 and closed.
    let extra: Vec<TcpStream> =
        (0..EXTRA).map(|_| TcpStream::connect(addr).expect("connect")).collect();
    let expected_shed = open + EXTRA as u64 - u64::from(CAP);
    let mut refused = 0;
    let mut pending: Vec<&TcpStream> = extra.iter().collect();
    let deadline = std::time::Instant::now() + crate::harness::PATIENCE;
    while refused < expected_shed && std::time::Instant::now() < deadline {
        let mut fds: Vec<nix::poll::PollFd<'_>> = pending
            .iter()
            .map(|s| nix::poll::PollFd::new(s.as_fd(), nix::poll::PollFlags::POLLIN))
            .collect();
        nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16)).expect("poll");
        let ready: Vec<bool> =
            fds.iter().map(|fd| fd.revents().is_some_and(|r| !r.is_empty())).collect();
        drop(fds);
        let mut still = Vec::new();
        for (stream, ready) in pending.into_iter().zip(ready) {
            if !ready {
                still.push(stream);
                continue;
            }
            let mut reader = Client { stream: stream.try_clone().expect("clone"), buf: Vec::new() };
            let reply = reader.read_reply().expect("a 503");
            assert_eq!(reply.status, 503);
            assert_eq!(reply.text(), r#"{"error":"too many connections"}"#);
            assert!(reply.closes());
            assert!(reader.closed());
            refused += 1;
        }
        pending = still;
    }
    assert_eq!(refused, expected_shed, "every connection beyond the cap got its 503");
    assert_eq!(pending.len() as u64, u64::from(CAP) - open, "the ones within the cap were kept");
    assert_eq!(client.get("/hello").status, 200, "the first client is served all along");

    // Free some room: the server serves new connections again.
    drop(extra);
    drop(idle);
    eventually("idle connections closed", || metric(addr, "shardbox_connections_open") <= 2);
    assert!(metric(addr, "shardbox_connections_shed_total") >= expected_shed);
    assert_eq!(Client::connect(addr).get("/hello").status, 200);
}
