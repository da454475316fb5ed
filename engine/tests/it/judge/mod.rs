//! The judge endpoints against the real `shardbox` binary: `/run` round trips and every error
//! of go-judge-api §1.3 (and shardbox's own), `/file` round trips and the quota, auth, a full
//! worker queue, cancellation when the client leaves, and parallel runs. Needs root (the
//! binary starts containers); without it every test prints why and returns.

mod auth;
mod bad_input;
pub mod file;
mod host_details;
mod kinds;
mod leaks;
mod limits;
mod run;
mod startup;
mod statuses;
mod store;

use std::time::Duration;

use crate::harness::{Binary, Client, Reply};

/// Why the judge tests cannot run here, if they cannot (printed by each test).
pub fn skip() -> Option<&'static str> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or_default();
    if uid.split_whitespace().nth(2) != Some("0") {
        return Some("not root: the judge needs root for its containers");
    }
    match std::fs::read_to_string("/proc/sys/user/max_user_namespaces") {
        Ok(n) if n.trim() != "0" => None,
        _ => Some("user namespaces are disabled"),
    }
}

/// Returns early from a test, saying why, when the judge cannot run here.
macro_rules! require_judge {
    () => {
        if let Some(why) = crate::judge::skip() {
            eprintln!("SKIPPED: {why}");
            return;
        }
    };
}
pub(crate) use require_judge;

/// The binary with small pools so several tests can run at once (`-pre-fork 1` and a test
/// cgroup prefix unless `extra` sets them).
pub fn start(extra: &[&str]) -> Server {
    let mut args = Vec::new();
    for (flag, value) in [("-pre-fork", "1"), ("-cgroup-prefix", "shardbox-engine-test")] {
        if !extra.contains(&flag) {
            args.extend([flag, value]);
        }
    }
    args.extend_from_slice(extra);
    Server { binary: Binary::start(&args) }
}

/// A running binary stopped gracefully (SIGTERM) when dropped, so its containers, cgroups and
/// root directory are cleaned up.
pub struct Server {
    pub binary: Binary,
}

impl Server {
    pub fn client(&self) -> Client {
        Client::connect(self.binary.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failing test shows what the server logged (a panicking judge job, a pool error).
        if std::thread::panicking() {
            let log = self.binary.log.lock().map(|l| l.join("\n")).unwrap_or_default();
            eprintln!("server log:\n{log}");
        }
        if let Ok(Some(_)) = self.binary.child.try_wait() {
            return; // a test stopped it already
        }
        self.binary.signal(nix::sys::signal::Signal::SIGTERM);
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.binary.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Sends one request with a body and reads the reply.
pub fn request(
    c: &mut Client,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n", body.len());
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    c.send(&bytes);
    c.read_reply().expect("a reply")
}

/// `POST /run` with a JSON body.
pub fn post_run(c: &mut Client, body: &str) -> Reply {
    request(c, "POST", "/run", &[("Content-Type", "application/json")], body.as_bytes())
}

/// A command echoing `text` with stdout/stderr collectors.
pub fn echo_cmd(text: &str) -> String {
    format!(
        r#"{{"args":["/bin/echo","{text}"],"env":["PATH=/bin:/usr/bin"],
            "files":[{{"content":""}},{{"name":"stdout","max":10240}},{{"name":"stderr","max":10240}}],
            "cpuLimit":2000000000,"memoryLimit":134217728,"procLimit":50}}"#
    )
}

/// A command running `sh -c script`.
pub fn sh_cmd(script: &str, extra: &str) -> String {
    format!(
        r#"{{"args":["/bin/sh","-c","{script}"],"env":["PATH=/bin:/usr/bin"],
            "files":[{{"content":""}},{{"name":"stdout","max":10240}},{{"name":"stderr","max":10240}}],
            "cpuLimit":10000000000,"memoryLimit":134217728,"procLimit":50{extra}}}"#
    )
}

/// The parsed JSON body of a reply.
pub fn json(r: &Reply) -> sonic_rs::Value {
    sonic_rs::from_slice(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.text()))
}

/// Field `key` of result `i` of a `/run` reply, as a string (strings unquoted).
pub fn field(v: &sonic_rs::Value, i: usize, key: &str) -> String {
    use sonic_rs::{JsonContainerTrait, JsonValueTrait};
    let item = v.as_array().and_then(|a| a.get(i)).and_then(|r| r.get(key));
    match item {
        Some(x) if x.is_str() => x.as_str().unwrap_or_default().to_owned(),
        Some(x) => x.to_string(),
        None => String::new(),
    }
}

/// `files[name]` of result `i`.
pub fn output(v: &sonic_rs::Value, i: usize, name: &str) -> String {
    use sonic_rs::{JsonContainerTrait, JsonValueTrait};
    v.as_array()
        .and_then(|a| a.get(i))
        .and_then(|r| r.get("files"))
        .and_then(|f| f.get(name))
        .and_then(|s| s.as_str())
        .unwrap_or_default()
        .to_owned()
}
