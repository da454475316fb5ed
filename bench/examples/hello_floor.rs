//! A minimal epoll hello server: the floor against which the load generator is checked.
//!
//! `cargo run --release -p shardbox-bench --example hello_floor -- 127.0.0.1:18090 2` serves
//! `HTTP/1.1 200 OK` with the body `hello, world\n` to every complete request head on every
//! path, from N threads (mio event loops sharing one listener), answering every request found
//! in a read with one write. It checks nothing and has no Date header: it exists to show how
//! many requests per second this machine can push through loopback when the server does almost
//! nothing, so that a load generator limit can be told apart from a server limit. It is not a
//! server to compare against (it skips HTTP work a real server must do).

use std::io::{self, Read, Write};
use std::net::TcpListener as StdListener;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nhello, world\n";
const LISTENER: Token = Token(usize::MAX);

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18090".into());
    let threads: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(2).clamp(1, 64);
    let listener = StdListener::bind(&addr)?;
    listener.set_nonblocking(true)?;
    eprintln!("hello_floor: {threads} threads on {addr}");
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let listener = listener.try_clone();
            std::thread::spawn(move || serve(TcpListener::from_std(listener?)))
        })
        .collect();
    for handle in handles {
        handle.join().map_err(|_| io::Error::other("thread panicked"))??;
    }
    Ok(())
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    filled: usize,
    out: Vec<u8>,
}

fn serve(mut listener: TcpListener) -> io::Result<()> {
    let mut poll = Poll::new()?;
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut events = Events::with_capacity(256);
    loop {
        poll.poll(&mut events, None)?;
        for event in events.iter() {
            if event.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            stream.set_nodelay(true)?;
                            let slot =
                                conns.iter().position(Option::is_none).unwrap_or(conns.len());
                            poll.registry().register(
                                &mut stream,
                                Token(slot),
                                Interest::READABLE,
                            )?;
                            let conn =
                                Conn { stream, buf: vec![0; 65536], filled: 0, out: Vec::new() };
                            if slot == conns.len() {
                                conns.push(Some(conn));
                            } else if let Some(entry) = conns.get_mut(slot) {
                                *entry = Some(conn);
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
                continue;
            }
            let Some(entry) = conns.get_mut(event.token().0) else { continue };
            let Some(conn) = entry.as_mut() else { continue };
            if !handle(conn) {
                *entry = None;
            }
        }
    }
}

/// Reads what is there and answers each complete head. False when the connection is done.
fn handle(conn: &mut Conn) -> bool {
    loop {
        let Some(space) = conn.buf.get_mut(conn.filled..) else { return false };
        let room = space.len();
        let n = match conn.stream.read(space) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        };
        conn.filled += n;
        let mut start = 0;
        while let Some(at) = conn.buf.get(start..conn.filled).and_then(find_head_end) {
            conn.out.extend_from_slice(RESPONSE);
            start += at;
        }
        conn.buf.copy_within(start..conn.filled, 0);
        conn.filled -= start;
        if conn.filled == conn.buf.len() {
            return false;
        }
        // Loopback writes of a few KiB complete at once; one that would block ends the
        // connection (a floor server, not a robust one).
        if !conn.out.is_empty() && conn.stream.write_all(&conn.out).is_err() {
            return false;
        }
        conn.out.clear();
        if n < room {
            return true;
        }
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|at| at + 4)
}
