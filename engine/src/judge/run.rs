//! `POST /run`: the handler on the shard and the job on a worker.
//!
//! The handler copies the body off the connection, hands [`Core::run`] to the workers and
//! returns `Reply::Later` with a future awaiting the answer (a full queue answers 503 "worker
//! queue is full" at once). The job parses the body (`model::Request::parse`), runs it
//! (`run::Runner::run_then`, which answers before the containers are reset) and encodes the
//! bare JSON array with its trailing newline. A request whose reply could be over 256 KiB
//! ([`reply_bytes_bound`]) is answered 503 with `Retry-After` instead of being run while its
//! shard's reply budget is spent (`crate::conn::RepliesGauge`): its results would be replaced
//! by a 503 anyway once it ran. [`request_error`] and [`run_error`] give every
//! error its status (table in `docs/api/run.md`).

use std::rc::Rc;
use std::sync::Arc;

use shardbox_sandbox::Canceller;
use shardbox_sandbox::model::{CmdFile, Request, RequestError};
use shardbox_sandbox::result::{RunResult, write_results};
use shardbox_sandbox::run::files::ResolveError;
use shardbox_sandbox::run::{RunError, Runner};
use shardbox_sandbox::status::Status;

use super::{Core, JSON, Judge, error_response};
use crate::conn::RepliesGauge;
use crate::executor::channel::channel;
use crate::limits::{CONN_OUTPUT_BYTES_MAX, REPLY_HEAD_ROOM_BYTES};
use crate::router::{Exchange, Handler, Reply, Response};

/// The 503 reason of a run refused before it ran because its shard's reply budget is spent.
pub const REPLIES_SPENT: &str = "server busy: replies not yet read by their clients fill this \
    shard's budget; the request was not run, retry later";

/// JSON bytes a result may take besides its files (status, times, an error message).
const RESULT_JSON_BYTES: u64 = 1024;
/// JSON bytes a file entry may take besides its name and content (quotes, a `fileIds` id, a
/// `fileError` entry and its message).
const FILE_JSON_BYTES: u64 = 512;

/// A bound on the JSON of `req`'s reply, from what its outputs may keep: a kept byte is at most
/// six bytes of JSON (`\u0000`), and so is a byte of a name. Collectors and captures may keep
/// their `max`, each inline `copyOut` file its `copyOutMax`, all of them together the request's
/// `-copy-out-limit`; a `copyOutCached` file is an id.
pub fn reply_bytes_bound(req: &Request) -> u64 {
    let (mut kept, mut names, mut files) = (0u64, 0u64, 0u64);
    let mut add = |max: u64, name: &str| {
        kept = kept.saturating_add(max);
        names = names.saturating_add(name.len() as u64);
        files = files.saturating_add(1);
    };
    for cmd in &req.cmds {
        for file in cmd.files.iter().flatten() {
            if let CmdFile::Collector(c) = file {
                add(c.max_bytes, &c.name);
            }
        }
        for out in &cmd.copy_out {
            add(cmd.copy_out_max_bytes, &out.name);
        }
        for out in &cmd.copy_out_cached {
            add(0, &out.name);
        }
    }
    for capture in req.pipes.iter().filter_map(|p| p.capture.as_ref()) {
        add(capture.max_bytes, &capture.name);
    }
    let kept = kept.min(req.copy_out_total_bytes_max);
    kept.saturating_add(names)
        .saturating_mul(6)
        .saturating_add(files.saturating_mul(FILE_JSON_BYTES))
        .saturating_add((req.cmds.len() as u64).saturating_mul(RESULT_JSON_BYTES))
}

/// The status of a request the model rejected. go-judge answers 400 for decoding and file
/// errors and 500 for pipe-mapping errors (found by its worker); shardbox keeps both.
pub fn request_error(e: &RequestError) -> u16 {
    match e {
        RequestError::BodyTooLarge { .. } => 413,
        RequestError::Json(_)
        | RequestError::NoCmd
        | RequestError::LimitExceeded { .. }
        | RequestError::EmptyArgs(_)
        | RequestError::NulByte(_)
        | RequestError::EmptyName(_)
        | RequestError::BadCpuSet(_)
        | RequestError::BadName(_)
        | RequestError::InvalidFile(_)
        | RequestError::StreamFile(_)
        | RequestError::CollectorInCopyIn(_)
        | RequestError::NegativeMax(_)
        | RequestError::SrcOutsidePrefix { .. }
        | RequestError::SrcResolve { .. } => 400,
        RequestError::PipeIndexOutOfRange(_)
        | RequestError::PipeFdOutOfRange(_)
        | RequestError::FdOccupied { .. }
        | RequestError::NullFile { .. } => 500,
    }
}

/// The status of a request that could not run.
pub fn run_error(e: &RunError) -> u16 {
    match e {
        RunError::TooManyCmds { .. } => 400,
        RunError::Resolve(ResolveError::UnknownFileId(_) | ResolveError::OpenSrc { .. }) => 500,
        RunError::Busy(_) => 503,
        RunError::Collector { .. } | RunError::Io { .. } => 500,
    }
}

/// The 200 response carrying `results`, encoded after room for the response head so the shard
/// sends a large reply from this buffer instead of copying it (`Response::head_room`).
fn results_response(results: &[RunResult]) -> Response {
    let room = REPLY_HEAD_ROOM_BYTES;
    let mut body = Vec::with_capacity(room + 256 * results.len().max(1));
    body.resize(room, 0);
    write_results(&mut body, results);
    Response::with_head_room(200, JSON, body, room)
}

impl Core {
    /// Parses and runs one `/run` body; `deliver` gets the response as soon as it is known
    /// (before the containers are reset). A request whose reply could be charged to its
    /// shard's reply budget (over 256 KiB, [`reply_bytes_bound`]) is not run while that budget
    /// is spent (`replies`): 503 with `Retry-After`, so no run's results are lost to it.
    pub fn run(
        &self,
        body: &[u8],
        cancel: Option<&Canceller>,
        replies: &RepliesGauge,
        deliver: impl FnOnce(Response),
    ) {
        let req = match Request::parse(body, &self.parse) {
            Ok(r) => r,
            Err(e) => return deliver(error_response(request_error(&e), &e.to_string())),
        };
        if replies.is_spent() && reply_bytes_bound(&req) > CONN_OUTPUT_BYTES_MAX as u64 {
            let mut busy = error_response(503, REPLIES_SPENT);
            busy.headers.push(("Retry-After", "1".to_owned()));
            return deliver(busy);
        }
        let pool = match &self.pool {
            Ok(p) => p,
            Err(why) => {
                let error = format!("failed to get environment: {why}");
                let results: Vec<RunResult> = req
                    .cmds
                    .iter()
                    .map(|_| {
                        let mut r = RunResult::new(Status::InternalError);
                        r.error.clone_from(&error);
                        r
                    })
                    .collect();
                return deliver(results_response(&results));
            }
        };
        let runner = Runner { pool, store: &self.store, containers_max: self.containers_max };
        runner.run_then(&req, cancel, |outcome| {
            deliver(match outcome {
                Ok(results) => results_response(&results),
                Err(e) => {
                    let caller = e.caller_text();
                    if caller != e.to_string() {
                        tracing::warn!(error = %e, reported = %caller, "a run failed");
                    }
                    error_response(run_error(&e), &caller)
                }
            });
        });
    }
}

/// Cancels the run when dropped before [`CancelOnDrop::disarm`]: the future awaiting a run is
/// dropped when its client goes away.
struct CancelOnDrop(Option<Canceller>);

impl CancelOnDrop {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take()
            && let Err(e) = c.cancel()
        {
            tracing::warn!(error = %e, "cancelling an abandoned run failed");
        }
    }
}

/// The `POST /run` handler.
pub fn handler(judge: &Arc<Judge>) -> Handler {
    let judge = Arc::clone(judge);
    Rc::new(move |ex: &mut Exchange<'_, '_>| {
        let (tx, mut rx) = match channel::<Response>(&ex.handle()) {
            Ok(pair) => pair,
            Err(e) => {
                let r = error_response(500, &format!("cannot wait for a worker: {e}"));
                ex.respond(r.status, r.content_type.as_bytes(), &r.body);
                return Reply::Done;
            }
        };
        let cancel = Canceller::new().ok();
        let job_cancel = cancel.clone();
        let body = ex.body.to_vec();
        let core = Arc::clone(judge.core());
        let replies = ex.shard.replies.clone();
        let job = Box::new(move || {
            core.run(&body, job_cancel.as_ref(), &replies, |response| {
                // The client may be gone; then the response is dropped.
                let _ = tx.send(response);
            });
        });
        let held = u64::try_from(ex.body.len()).unwrap_or(u64::MAX);
        if let Err(full) = judge.workers().submit(held, job) {
            let r = error_response(503, &full.to_string());
            ex.respond(r.status, r.content_type.as_bytes(), &r.body);
            return Reply::Done;
        }
        Reply::Later(Box::pin(async move {
            let mut guard = CancelOnDrop(cancel);
            let response = match rx.recv().await {
                Ok(Some(response)) => response,
                Ok(None) => error_response(500, "the worker ended without an answer"),
                Err(e) => error_response(500, &format!("waiting for the worker: {e}")),
            };
            guard.disarm();
            response
        }))
    })
}

#[cfg(test)]
mod tests {
    use shardbox_sandbox::model::ParseOptions;

    use super::*;

    fn bound(body: &str) -> u64 {
        let opts = ParseOptions { copy_out_bytes_default: 1 << 28, ..ParseOptions::default() };
        reply_bytes_bound(&Request::parse(body.as_bytes(), &opts).expect("valid request"))
    }

    fn cmd(files: &str, extra: &str) -> String {
        format!(
            r#"{{"args":["/bin/true"],"files":[{{"content":""}},{files}],"cpuLimit":1{extra}}}"#
        )
    }

    #[test]
    fn the_reply_bound_follows_what_outputs_may_keep() {
        let limit = CONN_OUTPUT_BYTES_MAX as u64;
        let small = r#"{"name":"stdout","max":10240},{"name":"stderr","max":10240}"#;
        let b = bound(&format!(r#"{{"cmd":[{}]}}"#, cmd(small, "")));
        // Each kept byte and name byte six times, then the room per file and per result.
        assert_eq!(b, 6 * (2 * 10240 + 12) + 2 * FILE_JSON_BYTES + RESULT_JSON_BYTES);
        assert!(b <= limit, "a usual judge request is never refused: {b}");
        let large = r#"{"name":"stdout","max":67108864},{"name":"stderr","max":10240}"#;
        assert!(bound(&format!(r#"{{"cmd":[{}]}}"#, cmd(large, ""))) > limit);
        // Inline copyOut may keep copyOutMax (here the 256 MiB default); copyOutCached an id.
        let copy = cmd(small, r#","copyOut":["a"]"#);
        assert!(bound(&format!(r#"{{"cmd":[{copy}]}}"#)) > limit);
        let cached = cmd(small, r#","copyOutCached":["a"]"#);
        assert_eq!(bound(&format!(r#"{{"cmd":[{cached}]}}"#)), b + 6 + FILE_JSON_BYTES);
        // A proxy's capture keeps its max.
        let w = r#"{"args":["/bin/true"],"files":[{"content":""},null,{"name":"e","max":9}]}"#;
        let r =
            r#"{"args":["/bin/true"],"files":[null,{"name":"o","max":9},{"name":"e","max":9}]}"#;
        let mapping = r#""pipeMapping":[{"in":{"index":0,"fd":1},"out":{"index":1,"fd":0},
            "proxy":true,"name":"cap","max":67108864}]"#;
        let body = format!(r#"{{"cmd":[{w},{r}],{mapping}}}"#);
        assert!(bound(&body) > limit);
        // Many large collectors together keep at most the request's total.
        let many: Vec<String> =
            (0..8).map(|i| format!(r#"{{"name":"o{i}","max":1073741824}}"#)).collect();
        let total = bound(&format!(r#"{{"cmd":[{}]}}"#, cmd(&many.join(","), "")));
        assert!(total < 6 * (1 << 28) + (1 << 20), "{total}: bounded by -copy-out-limit");
    }
}
