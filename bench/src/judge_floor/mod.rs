//! Judge floors: go-judge-shaped `POST /run` servers with no judge behind them.
//!
//! A judge benchmark needs baselines that do the same work through the same HTTP path, so that
//! the load generator measures all targets alike. [`FloorServer`] accepts the body of a
//! go-judge `/run` request (the subset go-judge's own benchmark uses: one `cmd` with `args`,
//! `env`, `files` = stdin `content` plus `stdout`/`stderr` collectors, and `copyIn` contents),
//! and for each request
//!
//! 1. creates a fresh work directory (under `/dev/shm` when it exists: a tmpfs, like a judge's
//!    `/w`) and writes the `copyIn` files into it;
//! 2. spawns the program there, stdin from the `content` (none when empty), stdout and stderr
//!    on pipes, read up to each collector's `max + 1` bytes, the rest drained;
//! 3. waits for it, reads its CPU time from `/proc/<pid>/schedstat` before reaping it, removes
//!    the directory, and answers a go-judge-shaped JSON array (`status`, `exitStatus`, `time`,
//!    `memory`, `runTime`, `files`).
//!
//! With [`Isolation::None`] the program runs directly: the floor, what running it costs with
//! no sandbox at all. With [`Isolation::Bwrap`] every request runs `bwrap` as a one-shot
//! sandbox around it (read-only binds of `/usr /bin /lib /lib64 /etc`, private `/proc`, `/dev`
//! and `/tmp`, every namespace unshared, the work directory bound at `/w`): what a judge built
//! on a per-run sandbox tool pays.
//!
//! It does not enforce `cpuLimit`, `memoryLimit` or `procLimit` (that is the work a judge adds,
//! and the floor exists to measure the work without it); a wall-clock bound
//! (`clockLimit`, else `cpuLimit`, at most
//! [`FLOOR_WALL_MS_MAX`](crate::limits::FLOOR_WALL_MS_MAX)) kills a program that hangs.
//! It reports `memory` as 0 (no cgroup to read it from). This module is the HTTP side (bind,
//! accept, keep-alive, bounds); `job` parses a request, runs its program and encodes the result. It runs whatever it is sent as the
//! server's own user: it only binds loopback addresses, and must never be exposed.
//!
//! ```no_run
//! use shardbox_bench::judge_floor::{FloorConfig, FloorServer};
//! let server = FloorServer::bind("127.0.0.1:0", FloorConfig::floor())?;
//! println!("POST http://{}/run", server.addr());
//! server.serve_forever();
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::limits::{
    FLOOR_BODY_BYTES_MAX, FLOOR_CONNECTIONS_MAX, FLOOR_HEAD_BYTES_MAX, FLOOR_IDLE_MS_MAX,
};

mod job;

pub use job::BWRAP_ARGS;
use job::run_request;

/// How a floor runs each program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// Directly, as a child of the server: no sandbox.
    None,
    /// Inside a one-shot `bwrap` sandbox (the path of the `bwrap` binary).
    Bwrap(PathBuf),
}

/// What a floor server does.
#[derive(Clone, Debug)]
pub struct FloorConfig {
    /// How programs run.
    pub isolation: Isolation,
    /// Where per-request work directories are created.
    pub work_root: PathBuf,
}

impl FloorConfig {
    /// No sandbox; work directories under `/dev/shm` (or the temp dir when it is missing).
    pub fn floor() -> Self {
        let shm = Path::new("/dev/shm");
        let work_root = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
        Self { isolation: Isolation::None, work_root }
    }

    /// Like [`FloorConfig::floor`], each program inside `bwrap`.
    pub fn bwrap(bwrap: PathBuf) -> Self {
        Self { isolation: Isolation::Bwrap(bwrap), ..Self::floor() }
    }
}

/// A bound floor server (not serving until [`FloorServer::serve_forever`] or
/// [`FloorServer::spawn`]).
#[derive(Debug)]
pub struct FloorServer {
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

/// State every connection thread of one server shares.
#[derive(Debug)]
struct Shared {
    config: FloorConfig,
    connections: AtomicUsize,
    /// Numbers the per-request work directories.
    next_dir: AtomicU64,
    stop: AtomicBool,
}

/// A floor server running on a background thread; stops accepting when dropped.
#[derive(Debug)]
pub struct RunningFloor {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl RunningFloor {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for RunningFloor {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

impl FloorServer {
    /// Binds `addr`, which must resolve to loopback only (the server runs anything it is sent).
    pub fn bind(addr: impl ToSocketAddrs, config: FloorConfig) -> io::Result<Self> {
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        if addrs.is_empty() || addrs.iter().any(|a| !a.ip().is_loopback()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a floor server binds loopback only, not {addrs:?}"),
            ));
        }
        let listener = TcpListener::bind(&addrs[..])?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            connections: AtomicUsize::new(0),
            next_dir: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        Ok(Self { listener, addr, shared })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Accepts connections on this thread until the process ends.
    pub fn serve_forever(self) {
        accept_loop(&self.listener, &self.shared);
    }

    /// Accepts connections on a background thread.
    pub fn spawn(self) -> RunningFloor {
        let (addr, shared) = (self.addr, self.shared.clone());
        let accept = std::thread::spawn(move || accept_loop(&self.listener, &self.shared));
        RunningFloor { addr, shared, accept: Some(accept) }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        if shared.connections.fetch_add(1, Ordering::SeqCst) >= FLOOR_CONNECTIONS_MAX {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
            continue; // dropped: closes the connection
        }
        let shared = shared.clone();
        std::thread::spawn(move || {
            if let Err(e) = serve_connection(stream, &shared) {
                eprintln!("judge_floor: connection ended: {e}");
            }
            shared.connections.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Serves keep-alive requests on one connection until it closes or errs.
fn serve_connection(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_millis(FLOOR_IDLE_MS_MAX)))?;
    let mut buf = vec![0u8; FLOOR_HEAD_BYTES_MAX + FLOOR_BODY_BYTES_MAX];
    let mut filled = 0usize;
    loop {
        // Read until a complete head.
        let (head_len, method_post, path_run, body_len, keep_alive, expect_continue) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut request = httparse::Request::new(&mut headers);
            let pending = buf.get(..filled).unwrap_or_default();
            match request.parse(pending) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let mut body_len = 0u64;
                    let mut keep_alive = request.version == Some(1);
                    let mut expect_continue = false;
                    for h in request.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            body_len = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse().ok())
                                .ok_or_else(|| io::Error::other("bad Content-Length"))?;
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            write_response(&mut stream, "501 Not Implemented", "text/plain", b"")?;
                            return Ok(());
                        } else if h.name.eq_ignore_ascii_case("connection") {
                            let v = String::from_utf8_lossy(h.value).to_ascii_lowercase();
                            keep_alive =
                                !v.contains("close") && (keep_alive || v.contains("keep-alive"));
                        } else if h.name.eq_ignore_ascii_case("expect") {
                            expect_continue = h.value.eq_ignore_ascii_case(b"100-continue");
                        }
                    }
                    break (
                        head_len,
                        request.method == Some("POST"),
                        request.path == Some("/run"),
                        body_len,
                        keep_alive,
                        expect_continue,
                    );
                }
                Ok(httparse::Status::Partial) if filled < FLOOR_HEAD_BYTES_MAX => {}
                Ok(httparse::Status::Partial) | Err(_) => {
                    write_response(&mut stream, "400 Bad Request", "text/plain", b"")?;
                    return Ok(());
                }
            }
            let Some(space) = buf.get_mut(filled..FLOOR_HEAD_BYTES_MAX) else { return Ok(()) };
            let n = read_retrying(&mut stream, space)?;
            if n == 0 {
                return Ok(());
            }
            filled += n;
        };
        if body_len > FLOOR_BODY_BYTES_MAX as u64 {
            write_response(&mut stream, "413 Payload Too Large", "text/plain", b"")?;
            return Ok(());
        }
        let end = head_len + body_len as usize;
        if expect_continue && filled < end {
            stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        while filled < end {
            let Some(space) = buf.get_mut(filled..) else { return Ok(()) };
            let n = read_retrying(&mut stream, space)?;
            if n == 0 {
                return Ok(());
            }
            filled += n;
        }
        let body = buf.get(head_len..end).unwrap_or_default();
        let (status, content_type, reply) = if method_post && path_run {
            match run_request(body, shared) {
                Ok(json) => ("200 OK", "application/json; charset=utf-8", json),
                Err(message) => {
                    let json = sonic_rs::to_vec(&message).unwrap_or_default();
                    ("400 Bad Request", "application/json; charset=utf-8", json)
                }
            }
        } else {
            ("404 Not Found", "text/plain", b"404 page not found".to_vec())
        };
        write_response(&mut stream, status, content_type, &reply)?;
        buf.copy_within(end..filled, 0);
        filled -= end;
        if !keep_alive {
            return Ok(());
        }
    }
}

/// One `read`, retried when a signal interrupts it (children exiting make that common here).
fn read_retrying(stream: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

fn write_response(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    stream.write_all(&out)
}
