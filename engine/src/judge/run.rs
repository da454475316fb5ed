//! `POST /run`: the handler on the shard and the job on a worker.
//!
//! The handler copies the body off the connection, hands [`Core::run`] to the workers and
//! returns `Reply::Later` with a future awaiting the answer (a full queue answers 503 "worker
//! queue is full" at once). The job parses the body (`model::Request::parse`), runs it
//! (`run::Runner::run_then`, which answers before the containers are reset) and encodes the
//! bare JSON array with its trailing newline. [`request_error`] and [`run_error`] give every
//! error its status (table in `docs/api/run.md`).

use std::rc::Rc;
use std::sync::Arc;

use shardbox_sandbox::Canceller;
use shardbox_sandbox::model::{Request, RequestError};
use shardbox_sandbox::result::{RunResult, write_results};
use shardbox_sandbox::run::files::ResolveError;
use shardbox_sandbox::run::{RunError, Runner};
use shardbox_sandbox::status::Status;

use super::{Core, JSON, Judge, error_response};
use crate::executor::channel::channel;
use crate::limits::REPLY_HEAD_ROOM_BYTES;
use crate::router::{Exchange, Handler, Reply, Response};

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
    /// (before the containers are reset).
    pub fn run(&self, body: &[u8], cancel: Option<&Canceller>, deliver: impl FnOnce(Response)) {
        let req = match Request::parse(body, &self.parse) {
            Ok(r) => r,
            Err(e) => return deliver(error_response(request_error(&e), &e.to_string())),
        };
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
                Err(e) => error_response(run_error(&e), &e.to_string()),
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
        let job = Box::new(move || {
            core.run(&body, job_cancel.as_ref(), |response| {
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
