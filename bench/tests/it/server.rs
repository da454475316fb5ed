//! Small HTTP/1.1 servers for the tests, each on a std `TcpListener` thread with one thread
//! per connection. They answer every complete request in a read with one write (like a
//! batching server), count what they answered, and misbehave on purpose when told to.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How the server answers.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// `200` with body `hello`.
    Hello,
    /// `200 hello` for the first `n` requests, then `500` with the same body.
    ServerErrorAfter(u64),
    /// `200 hello` for the first `n` requests, then `200` with a 4-byte body.
    ShortBodyAfter(u64),
    /// `200` with a chunked body `hello` (two chunks, an extension and a trailer).
    Chunked,
    /// `200 hello` with `Connection: close`, then closes the connection.
    CloseEach,
    /// `200 hello`, each response written in two pieces with a pause between them.
    Trickle,
    /// `200` with the request's body echoed back.
    Echo,
    /// `200` with a judge's `Accepted` answer (bodies of varying length) for the first `n`
    /// requests, then `200` with an `Internal Error` answer.
    JudgeFailAfter(u64),
    /// `200 hello` for the first `n` requests, then reads but never answers.
    HangAfter(u64),
    /// `200 hello` for the first `n` requests, then closes every connection it reads on.
    DieAfter(u64),
}

/// A running test server; stops accepting when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    served: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let served = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (served.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || serve(conn, behaviour, &s));
            }
        });
        Self { addr, served, stop, accept: Some(accept) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Responses written so far (all connections, probe included).
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

fn serve(mut conn: TcpStream, behaviour: Behaviour, served: &AtomicU64) {
    conn.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let (mut filled, mut out) = (0usize, Vec::new());
    loop {
        let n = match conn.read(&mut buf[filled..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        filled += n;
        let mut start = 0;
        out.clear();
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            let Ok(httparse::Status::Complete(head)) = req.parse(&buf[start..filled]) else {
                break;
            };
            let len: usize = req
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map(|h| std::str::from_utf8(h.value).unwrap().trim().parse().unwrap())
                .unwrap_or(0);
            if filled - start < head + len {
                break;
            }
            let body = start + head..start + head + len;
            start += head + len;
            let index = served.fetch_add(1, Ordering::SeqCst);
            match behaviour {
                Behaviour::Hello | Behaviour::Trickle => out.extend_from_slice(HELLO),
                Behaviour::ServerErrorAfter(n) if index >= n => out.extend_from_slice(
                    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nhello",
                ),
                Behaviour::ShortBodyAfter(n) if index >= n => {
                    out.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nhell")
                }
                Behaviour::ServerErrorAfter(_) | Behaviour::ShortBodyAfter(_) => {
                    out.extend_from_slice(HELLO)
                }
                Behaviour::Chunked => out.extend_from_slice(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                      3;ext=1\r\nhel\r\n2\r\nlo\r\n0\r\nX-Trailer: t\r\n\r\n",
                ),
                Behaviour::CloseEach => {
                    let _ = conn.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
                    );
                    return;
                }
                Behaviour::Echo => {
                    out.extend_from_slice(
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
                            .as_bytes(),
                    );
                    out.extend_from_slice(&buf[body]);
                }
                Behaviour::JudgeFailAfter(n) => {
                    let body = if index >= n {
                        r#"[{"status":"Internal Error","exitStatus":0,"time":0}]"#.to_string()
                    } else {
                        format!(r#"[{{"status":"Accepted","exitStatus":0,"time":{}}}]"#, index * 7)
                    };
                    out.extend_from_slice(
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len())
                            .as_bytes(),
                    );
                }
                Behaviour::HangAfter(n) if index >= n => {
                    served.fetch_sub(1, Ordering::SeqCst);
                }
                Behaviour::DieAfter(n) if index >= n => return,
                Behaviour::HangAfter(_) | Behaviour::DieAfter(_) => out.extend_from_slice(HELLO),
            }
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        let written = if let Behaviour::Trickle = behaviour {
            out.chunks(HELLO.len()).try_for_each(|response| {
                let (a, b) = response.split_at(response.len() / 3);
                conn.write_all(a)?;
                std::thread::sleep(Duration::from_micros(200));
                conn.write_all(b)
            })
        } else {
            conn.write_all(&out)
        };
        if written.is_err() {
            return;
        }
    }
}

pub const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
