//! `/file`: go-judge's file store endpoints.
//!
//! - `GET /file` (inline): `{"ID":"name",...}`, keys sorted (`{}` when empty).
//! - `POST /file` (worker): a `multipart/form-data` body whose field `file` is stored under the
//!   part's file name (its basename); answers the id as a JSON string. Not multipart or no
//!   `file` field: 400 with an empty body, as go-judge. A full store: 507 with the reason.
//! - `GET /file/{id}` (worker): the bytes, `Content-Disposition: attachment; filename="name"`
//!   (`filename*=UTF-8''…` for other names, as gin writes it) and a `Content-Type` from the
//!   name's extension, else `text/plain; charset=utf-8` for UTF-8 text and
//!   `application/octet-stream` otherwise ([`StoredFile::is_text`]: checked once per stored file,
//!   the answer kept with the entry, so repeated downloads and HEADs read nothing for it).
//!   Unknown or invalid id:
//!   404, empty body. The body is a [`FileBody`] on a `dup` of the store's descriptor: the
//!   shard sends it a chunk at a time, never copying the file whole into memory.
//! - `DELETE /file/{id}` (inline): 200 empty; unknown: 404 empty.
//!
//! [`store_error`] gives each store error its status. Range requests are not supported (the
//! whole file is sent).

use std::os::fd::AsFd;
use std::rc::Rc;
use std::sync::Arc;

use shardbox_http::{Limits, Multipart, boundary, percent_decode};
use shardbox_sandbox::filestore::StoreError;
#[cfg(doc)]
use shardbox_sandbox::filestore::StoredFile;
use shardbox_sandbox::result::{error_body, write_string_map};

use super::{JSON, Judge, empty_response, error_response};
use crate::executor::channel::channel;
use crate::router::{Exchange, FileBody, Handler, Reply, Response};

/// The status of a file store error.
pub fn store_error(e: &StoreError) -> u16 {
    match e {
        StoreError::NotFound(_) => 404,
        StoreError::QuotaExceeded { .. } | StoreError::TooManyFiles { .. } => 507,
        StoreError::NameTooLong { .. } => 400,
        StoreError::Blob(_) | StoreError::Io { .. } | StoreError::Random(_) => 500,
    }
}

/// The error response of a store failure: its status, and a body without the `-dir` path
/// (logged with the full error when it is a server failure).
fn store_error_response(e: &StoreError) -> Response {
    let status = store_error(e);
    let caller = e.caller_text();
    if caller != e.to_string() {
        tracing::warn!(error = %e, reported = %caller, "a file store operation failed");
    }
    error_response(status, &caller)
}

fn respond(ex: &mut Exchange<'_, '_>, r: &Response) {
    let headers: Vec<(&[u8], &[u8])> =
        std::iter::once((&b"Content-Type"[..], r.content_type.as_bytes()))
            .chain(r.headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
            .collect();
    ex.respond_with(r.status, &headers, &r.body);
}

/// Runs `job` on a worker and answers with its response (503 when the queue is full).
fn on_worker(
    ex: &mut Exchange<'_, '_>,
    judge: &Judge,
    job: impl FnOnce() -> Response + Send + 'static,
) -> Reply {
    let (tx, mut rx) = match channel::<Response>(&ex.handle()) {
        Ok(pair) => pair,
        Err(e) => {
            respond(ex, &error_response(500, &format!("cannot wait for a worker: {e}")));
            return Reply::Done;
        }
    };
    // The job holds a copy of the request body (uploads), counted against the queue's bytes.
    let held = u64::try_from(ex.body.len()).unwrap_or(u64::MAX);
    if let Err(full) = judge.workers().submit(
        held,
        Box::new(move || {
            let _ = tx.send(job());
        }),
    ) {
        respond(ex, &error_response(503, &full.to_string()));
        return Reply::Done;
    }
    Reply::Later(Box::pin(async move {
        match rx.recv().await {
            Ok(Some(r)) => r,
            Ok(None) => error_response(500, "the worker ended without an answer"),
            Err(e) => error_response(500, &format!("waiting for the worker: {e}")),
        }
    }))
}

/// `GET /file`.
pub fn list_handler(judge: &Arc<Judge>) -> Handler {
    let judge = Arc::clone(judge);
    Rc::new(move |ex: &mut Exchange<'_, '_>| {
        let list = judge.core().store.list();
        let mut body = Vec::with_capacity(32 * list.len() + 2);
        write_string_map(&mut body, list.iter().map(|(id, name)| (id, name)));
        ex.respond(200, JSON.as_bytes(), &body);
        Reply::Done
    })
}

/// The last component of a client file name (`/` or `\` separated).
fn basename(name: &[u8]) -> String {
    let last = name.rsplit(|b| *b == b'/' || *b == b'\\').next().unwrap_or(name);
    String::from_utf8_lossy(last).into_owned()
}

/// `POST /file`.
pub fn upload_handler(judge: &Arc<Judge>) -> Handler {
    let judge = Arc::clone(judge);
    Rc::new(move |ex: &mut Exchange<'_, '_>| {
        let Some(content_type) = ex.request.header("content-type").map(<[u8]>::to_vec) else {
            respond(ex, &empty_response(400));
            return Reply::Done;
        };
        let body = ex.body.to_vec();
        let core = Arc::clone(judge.core());
        on_worker(ex, &judge, move || {
            let Ok(b) = boundary(&content_type) else { return empty_response(400) };
            let mut file = None;
            for part in Multipart::new(&body, b, &Limits::DEFAULT) {
                match part {
                    Ok(p) if p.name.eq_decoded(b"file") => {
                        file = Some(p);
                        break;
                    }
                    Ok(_) => {}
                    Err(_) => return empty_response(400),
                }
            }
            let Some(part) = file else { return empty_response(400) };
            let mut name = Vec::new();
            if let Some(f) = &part.filename {
                f.decode_into(&mut name);
            }
            match core.store.add_bytes(&basename(&name), part.data) {
                Ok(id) => Response::new(200, JSON, error_body(&id)),
                Err(e) => store_error_response(&e),
            }
        })
    })
}

/// The id in `/file/{id}`, percent-decoded (`None` when it cannot be one).
fn file_id(rest: &[u8]) -> Option<String> {
    let mut buf = [0u8; 128];
    let id = percent_decode(rest, &mut buf).ok()?;
    std::str::from_utf8(id).ok().map(str::to_owned)
}

/// `Content-Disposition` as gin's `FileAttachment` writes it.
fn content_disposition(name: &str) -> String {
    if name.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        format!("attachment; filename=\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        let mut enc = String::with_capacity(name.len() * 3);
        for b in name.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                enc.push(char::from(b));
            } else {
                enc.push_str(&format!("%{b:02X}"));
            }
        }
        format!("attachment; filename*=UTF-8''{enc}")
    }
}

/// A `Content-Type` from the file name's extension, else from the bytes: `text/plain` for UTF-8
/// without NUL, `application/octet-stream` otherwise.
#[cfg(test)]
fn content_type(name: &str, data: &[u8]) -> &'static str {
    type_from_name(name).unwrap_or_else(|| {
        if !data.contains(&0) && std::str::from_utf8(data).is_ok() { TEXT } else { BINARY }
    })
}

const TEXT: &str = "text/plain; charset=utf-8";
const BINARY: &str = "application/octet-stream";

/// A `Content-Type` from the file name's extension, if it has a known one.
fn type_from_name(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    Some(match ext.as_str() {
        "txt" | "in" | "out" | "ans" | "c" | "cc" | "cpp" | "h" | "py" | "java" | "rs" | "go" => {
            "text/plain; charset=utf-8"
        }
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" => "text/xml; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "wasm" => "application/wasm",
        _ => return None,
    })
}

/// `GET /file/{id}`.
pub fn download_handler(judge: &Arc<Judge>) -> Handler {
    let judge = Arc::clone(judge);
    Rc::new(move |ex: &mut Exchange<'_, '_>| {
        let Some(id) = file_id(ex.path_rest) else {
            respond(ex, &empty_response(404));
            return Reply::Done;
        };
        let core = Arc::clone(judge.core());
        on_worker(ex, &judge, move || {
            let stored = match core.store.get(&id) {
                Ok(f) => f,
                Err(StoreError::NotFound(_)) => return empty_response(404),
                Err(e) => return store_error_response(&e),
            };
            // The response's own descriptor: the shard streams the body from it, and it keeps
            // the bytes readable if the file is deleted or expires meanwhile.
            let file = match stored.as_fd().try_clone_to_owned() {
                Ok(fd) => std::fs::File::from(fd),
                Err(e) => return error_response(500, &format!("duplicating the file: {e}")),
            };
            // Read at most once per stored file: the store keeps the answer with the entry.
            let content_type = match type_from_name(&stored.name) {
                Some(t) => t,
                None => match stored.is_text() {
                    Ok(true) => TEXT,
                    Ok(false) => BINARY,
                    Err(e) => return store_error_response(&e),
                },
            };
            let body = FileBody { fd: file.into(), len: stored.len };
            let mut r = Response::with_file(200, content_type, body);
            r.headers.push(("Content-Disposition", content_disposition(&stored.name)));
            r
        })
    })
}

/// `DELETE /file/{id}`.
pub fn delete_handler(judge: &Arc<Judge>) -> Handler {
    let judge = Arc::clone(judge);
    Rc::new(move |ex: &mut Exchange<'_, '_>| {
        let status = match file_id(ex.path_rest).map(|id| judge.core().store.delete(&id)) {
            Some(Ok(())) => 200,
            Some(Err(e)) => store_error(&e),
            None => 404,
        };
        respond(ex, &empty_response(status));
        Reply::Done
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_like_gin() {
        assert_eq!(content_disposition("a.txt"), r#"attachment; filename="a.txt""#);
        assert_eq!(content_disposition(r#"a"b\c"#), r#"attachment; filename="a\"b\\c""#);
        assert_eq!(content_disposition("é x"), "attachment; filename*=UTF-8''%C3%A9%20x");
        assert_eq!(
            content_disposition("a\nb"),
            "attachment; filename*=UTF-8''a%0Ab",
            "no header split"
        );
    }

    #[test]
    fn types_from_extension_then_bytes() {
        assert_eq!(content_type("a.PNG", b""), "image/png");
        assert_eq!(content_type("a.cpp", b"\0"), "text/plain; charset=utf-8");
        assert_eq!(content_type("noext", b"hello"), "text/plain; charset=utf-8");
        assert_eq!(content_type("noext", b"\x7fELF\0"), "application/octet-stream");
    }

    #[test]
    fn ids_and_names() {
        assert_eq!(file_id(b"ABC%32"), Some("ABC2".to_owned()));
        assert_eq!(file_id(b"%zz"), None);
        assert_eq!(file_id(&[b'A'; 200]), None, "longer than any id");
        assert_eq!(basename(b"C:\\dir\\a.c"), "a.c");
        assert_eq!(basename(b"../../etc/passwd"), "passwd");
        assert_eq!(basename(b""), "");
    }

    #[test]
    fn every_store_error_has_a_status() {
        assert_eq!(store_error(&StoreError::NotFound("x".into())), 404);
        let full = StoreError::QuotaExceeded { len_bytes: 1, used_bytes: 1, max_bytes: 1 };
        assert_eq!(store_error(&full), 507);
        assert_eq!(store_error(&StoreError::NameTooLong { len: 300, max: 255 }), 400);
    }
}
