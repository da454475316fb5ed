//! The judge layer end to end: `model::Request::parse` → `run::Runner` → results, in real
//! containers. Modules by concern: statuses (one test per status), files (every file kind,
//! copy-in and copy-out), pipes (pipe mappings, proxies, interaction), sanity (go-judge's
//! `sanity_test.go` table).

mod files;
mod pipes;
mod sanity;
mod statuses;

use std::sync::OnceLock;

use libtest_mimic::Trial;
use shardbox_sandbox::filestore::{FileStore, FileStoreConfig};
use shardbox_sandbox::model::{ParseOptions, Request};
use shardbox_sandbox::result::RunResult;
use shardbox_sandbox::run::{RunError, Runner};
use shardbox_sandbox::status::Status;

use crate::harness::{config, pool};

pub fn tests() -> Vec<Trial> {
    let mut v = statuses::tests();
    v.extend(files::tests());
    v.extend(pipes::tests());
    v.extend(sanity::tests());
    v
}

/// The file store shared by the judge tests (small quota so "full" is reachable).
pub fn store() -> &'static FileStore {
    static STORE: OnceLock<FileStore> = OnceLock::new();
    STORE.get_or_init(|| match FileStore::open(FileStoreConfig::default()) {
        Ok(s) => s,
        Err(e) => panic!("file store: {e}"),
    })
}

pub fn runner() -> Runner<'static> {
    Runner { pool: pool(), store: store(), containers_max: config().containers_max }
}

/// go-judge's integration-test base command around `args` (a JSON array) plus `extra` fields
/// (a JSON fragment starting with a comma, or empty).
pub fn cmd(args: &str, extra: &str) -> String {
    format!(
        r#"{{"args":{args},"env":["PATH=/usr/bin:/bin"],
            "files":[{{"src":"/dev/null"}},{{"name":"stdout","max":10240}},{{"name":"stderr","max":10240}}],
            "cpuLimit":10000000000,"realCpuLimit":12000000000,"memoryLimit":104857600,
            "procLimit":50{extra}}}"#
    )
}

/// `sh -c script` as a base command.
pub fn sh(script: &str, extra: &str) -> String {
    let args = format!(r#"["/bin/sh","-c",{}]"#, json_string(script));
    cmd(&args, extra)
}

pub fn json_string(s: &str) -> String {
    let mut out = Vec::new();
    shardbox_sandbox::result::write_json_string(&mut out, s.as_bytes());
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses and runs a whole request body.
pub fn run_body(body: &str) -> Result<Vec<RunResult>, String> {
    let req =
        Request::parse(body.as_bytes(), &ParseOptions::default()).map_err(|e| e.to_string())?;
    let results = runner().run(&req, None).map_err(|e: RunError| e.to_string())?;
    // Every result must encode to JSON that parses back.
    let mut out = Vec::new();
    shardbox_sandbox::result::write_results(&mut out, &results);
    sonic_check(&out)?;
    Ok(results)
}

fn sonic_check(out: &[u8]) -> Result<(), String> {
    let Some(body) = out.strip_suffix(b"\n") else {
        return Err("no trailing newline".into());
    };
    let v: sonic_rs::Value = sonic_rs::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    if !sonic_rs::JsonValueTrait::is_array(&v) {
        return Err("not a JSON array".into());
    }
    Ok(())
}

/// Runs a request of one command and returns its result.
pub fn run_one(cmd: &str) -> Result<RunResult, String> {
    let mut r = run_body(&format!(r#"{{"cmd":[{cmd}]}}"#))?;
    if r.len() != 1 {
        return Err(format!("{} results", r.len()));
    }
    Ok(r.remove(0))
}

/// The collector or copy-out file `name` of `r` as text.
pub fn file(r: &RunResult, name: &str) -> String {
    r.files.get(name).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default()
}

/// `Err` unless `r` has `status`.
pub fn expect_status(r: &RunResult, status: Status) -> Result<(), String> {
    if r.status == status { Ok(()) } else { Err(format!("expected {status}, got {r:?}")) }
}
