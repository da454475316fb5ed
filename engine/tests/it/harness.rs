//! Test harness: an in-process server on an ephemeral loopback port, the real binary as a
//! child process, and a small blocking HTTP client that reads responses with httparse.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shardbox_engine::config::ServerConfig;
use shardbox_engine::metrics::MetricsRegistry;
use shardbox_engine::router::{self, Access, Exchange, Response};
use shardbox_engine::server::{Server, ShutdownHandle};

/// How long any single wait in a test may take before the test fails. Generous: the machine is
/// shared, and tests must not depend on timing.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A config for tests: loopback, ephemeral port, one shard, no signal handling, no pinning.
pub fn test_config() -> ServerConfig {
    ServerConfig {
        addr: "127.0.0.1:0".parse().expect("addr"),
        parallelism: 1,
        handle_signals: false,
        pin_shards: false,
        shard_conns_max: 256,
        recv_buffers: 256,
        ..ServerConfig::default()
    }
}

/// [`test_config`] plus `GET /slow?<ms>`: answered later, from a task that sleeps `ms`
/// milliseconds (`default_ms` without a query), with the body `slept <ms>`.
pub fn slow_route_config(default_ms: u64) -> ServerConfig {
    let mut config = test_config();
    config.routes = std::sync::Arc::new(move |shard| {
        shardbox_engine::endpoints::builtin_routes(shard).get(
            "/slow",
            Access::Public,
            Rc::new(move |ex: &mut Exchange<'_, '_>| {
                let handle = ex.handle();
                let delay: u64 = ex
                    .request
                    .query()
                    .and_then(|q| std::str::from_utf8(q).ok()?.parse().ok())
                    .unwrap_or(default_ms);
                router::Reply::Later(Box::pin(async move {
                    handle.sleep(Duration::from_millis(delay)).await.expect("sleep");
                    Response::new(200, "text/plain", format!("slept {delay}"))
                }))
            }),
        )
    });
    config
}

/// A server running on a background thread of this process.
pub struct TestServer {
    pub addr: SocketAddr,
    pub metrics: MetricsRegistry,
    stop: ShutdownHandle,
    thread: Option<JoinHandle<Result<(), shardbox_engine::server::ServerError>>>,
}

impl TestServer {
    pub fn start(config: ServerConfig) -> TestServer {
        TestServer::start_with(config, || {})
    }

    /// Starts the server; `on_thread` runs first on the thread that becomes shard 0.
    pub fn start_with(
        config: ServerConfig,
        on_thread: impl FnOnce() + Send + 'static,
    ) -> TestServer {
        let server = Server::bind(config).expect("bind");
        let addr = server.local_addr();
        let stop = server.shutdown_handle();
        let metrics = server.metrics();
        let thread = std::thread::spawn(move || {
            on_thread();
            server.run()
        });
        TestServer { addr, metrics, stop, thread: Some(thread) }
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Graceful shutdown; returns the server's result.
    pub fn stop(mut self) -> Result<(), shardbox_engine::server::ServerError> {
        self.stop.shutdown();
        self.thread.take().expect("running").join().expect("server thread panicked")
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.stop.clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.stop.force();
            let _ = thread.join();
        }
    }
}

/// One parsed response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn closes(&self) -> bool {
        self.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// A blocking HTTP/1.1 client over one TCP connection.
pub struct Client {
    pub stream: TcpStream,
    pub buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Client { stream, buf: Vec::new() }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    pub fn get(&mut self, path: &str) -> Reply {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        self.read_reply().expect("a response")
    }

    /// Reads one response (for `head_request`, a head without a body); `None` at EOF.
    pub fn read_reply_for(&mut self, head_request: bool) -> Option<Reply> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head_len) =
                response.parse(&self.buf).expect("valid response")
            {
                let status = response.code.expect("status");
                let headers: Vec<(String, String)> = response
                    .headers
                    .iter()
                    .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
                    .collect();
                let length = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .map(|(_, v)| v.parse::<usize>().expect("length"))
                    .unwrap_or(0);
                let length = if head_request || status == 100 { 0 } else { length };
                while self.buf.len() < head_len + length {
                    if !self.fill() {
                        panic!("EOF inside a response body");
                    }
                }
                let body = self.buf[head_len..head_len + length].to_vec();
                self.buf.drain(..head_len + length);
                return Some(Reply { status, headers, body });
            }
            if !self.fill() {
                assert!(
                    self.buf.is_empty(),
                    "EOF inside a response head: {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
                return None;
            }
        }
    }

    pub fn read_reply(&mut self) -> Option<Reply> {
        self.read_reply_for(false)
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                // A signal to the test process (e.g. a child's exit) interrupted the read.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // A reset after the response counts as the end of the stream.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return false,
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    /// Whether the server closed the connection (EOF or reset) with nothing more sent.
    pub fn closed(&mut self) -> bool {
        self.buf.is_empty() && !self.fill()
    }

    pub fn shutdown_write(&self) {
        self.stream.shutdown(Shutdown::Write).expect("shutdown");
    }
}

/// Resident memory of a process, in bytes (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    kib * 1024
}

/// Polls `condition` until it holds or [`PATIENCE`] runs out.
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < PATIENCE, "gave up waiting for: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The `shardbox` binary running as a child process.
pub struct Binary {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Binary {
    /// Starts `shardbox` on an ephemeral port with `args`, waiting for its "listening" log line.
    pub fn start(args: &[&str]) -> Binary {
        Binary::start_with_env(args, &[])
    }

    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Binary {
        Binary::spawn(Command::new(env!("CARGO_BIN_EXE_shardbox")), args, env)
    }

    /// [`Binary::start`] with `RLIMIT_NOFILE` lowered to `nofile` (soft and hard, so the
    /// server cannot raise it): `sh` sets it, then execs the binary in its place.
    pub fn start_with_nofile(nofile: u64, args: &[&str]) -> Binary {
        let mut command = Command::new("/bin/sh");
        command.args([
            "-c",
            &format!("ulimit -n {nofile} && exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_shardbox"),
        ]);
        Binary::spawn(command, args, &[])
    }

    fn spawn(mut command: Command, args: &[&str], env: &[(&str, &str)]) -> Binary {
        command.args([
            "-http-addr",
            "127.0.0.1:0",
            "-release",
            "-parallelism",
            "1",
            "-pin-shards=false",
        ]);
        command.args(args).env_remove("RUST_LOG").stdout(Stdio::null()).stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawn shardbox");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log_for_thread = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.split("addr=").nth(1) {
                    let addr = addr.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = tx.send(addr);
                }
                log_for_thread.lock().expect("log").push(line);
            }
        });
        let Ok(addr) = rx.recv_timeout(PATIENCE) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("shardbox did not log its address: {:?}", log.lock().expect("log"));
        };
        Binary { child, addr: addr.parse().expect("address"), log }
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        nix::sys::signal::kill(pid, signal).expect("kill");
    }

    /// Waits for the process to exit; returns its exit code.
    pub fn wait(&mut self) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            assert!(start.elapsed() < PATIENCE, "shardbox did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
