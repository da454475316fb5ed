//! Writing responses into a connection's output buffer, on top of `shardbox_http`'s writer.
//!
//! - [`StaticResponse`]: a response whose bytes never change except for the `Date` line
//!   (`/hello`, `/version`, `/config`). The whole keep-alive HTTP/1.1 rendering is cached and
//!   rebuilt once per second when the date changes, so answering is one `memcpy`.
//! - [`write_response`]: writes an owned [`Response`] (from a task) with the writer; for a
//!   file body only the head (the shard streams the file after it).
//! - [`frame_in_place`]: writes a large body's head into the room left in front of it
//!   ([`Response::head_room`]), so the shard sends the body from the buffer it was built in
//!   instead of copying it behind a head (a `/run` reply may be 1.6 GB of JSON).
//! - [`write_json_error`]: every `{"error":"<reason>"}` answer the engine writes itself (404,
//!   405 with its `Allow`, 401, 413, ...), framed for its request. The JSON body and its
//!   escaping are `shardbox_http`'s ([`ResponseWriter::finish_json_error`]), the one
//!   implementation; this only adds the engine's extra header and HEAD.
//!
//! This module decides nothing about statuses or keep-alive; the shard does.

use shardbox_http::{DateCache, ResponseWriter, Version};

use crate::router::Response;

/// A response with fixed status, headers and body, cached with its `Date` line.
#[derive(Debug)]
pub struct StaticResponse {
    status: u16,
    headers: Vec<(&'static [u8], Vec<u8>)>,
    body: Vec<u8>,
    /// The keep-alive HTTP/1.1 rendering for `cached_secs`.
    cached: Vec<u8>,
    cached_secs: Option<u64>,
}

impl StaticResponse {
    /// A static response.
    pub fn new(
        status: u16,
        headers: Vec<(&'static [u8], Vec<u8>)>,
        body: Vec<u8>,
    ) -> StaticResponse {
        StaticResponse { status, headers, body, cached: Vec::new(), cached_secs: None }
    }

    /// Its status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Its body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    fn render(
        &self,
        out: &mut Vec<u8>,
        date: &DateCache,
        version: Version,
        keep_alive: bool,
        head_only: bool,
    ) {
        let mut writer = ResponseWriter::new(out, self.status, version, date);
        for (name, value) in &self.headers {
            if let Err(error) = writer.header(name, value) {
                tracing::error!(%error, "static response has a bad header");
            }
        }
        if head_only {
            writer.finish_head(keep_alive, Some(self.body.len() as u64));
        } else {
            writer.finish(keep_alive, &self.body);
        }
    }

    /// Appends the response to `out`.
    pub fn write(
        &mut self,
        out: &mut Vec<u8>,
        date: &DateCache,
        version: Version,
        keep_alive: bool,
        head_only: bool,
    ) {
        if !keep_alive || head_only || version != Version::Http11 {
            self.render(out, date, version, keep_alive, head_only);
            return;
        }
        if self.cached_secs != Some(date.unix_secs()) {
            let mut cached = std::mem::take(&mut self.cached);
            cached.clear();
            self.render(&mut cached, date, Version::Http11, true, false);
            self.cached = cached;
            self.cached_secs = Some(date.unix_secs());
        }
        out.extend_from_slice(&self.cached);
    }
}

/// Appends `response` to `out`.
pub fn write_response(
    out: &mut Vec<u8>,
    date: &DateCache,
    version: Version,
    keep_alive: bool,
    head_only: bool,
    response: &Response,
) {
    let mut writer = ResponseWriter::new(out, response.status, version, date);
    if let Err(error) = writer.header(b"Content-Type", response.content_type.as_bytes()) {
        tracing::error!(%error, "task response has a bad content type");
    }
    for (name, value) in &response.headers {
        if let Err(error) = writer.header(name.as_bytes(), value.as_bytes()) {
            tracing::error!(%error, name, "task response has a bad header");
        }
    }
    if head_only || response.file.is_some() {
        // A file body follows the head from the file (the shard sends it), or not at all.
        writer.finish_head(keep_alive, Some(response.body_len()));
    } else {
        writer.finish(keep_alive, response.body_bytes());
    }
}

/// Writes the head of `response` (as [`write_response`] would, for a GET) into the head room in
/// front of its body and returns the buffer with the offset the response starts at: sending
/// `buf[start..]` sends the whole response, and the body is not copied. `None` (the response
/// untouched) when the head does not fit the room, or the response has a file body or a
/// status without content; the caller then writes it with [`write_response`].
pub fn frame_in_place(
    response: &mut Response,
    date: &DateCache,
    version: Version,
    keep_alive: bool,
) -> Option<(Vec<u8>, usize)> {
    if response.file.is_some() || matches!(response.status, 100..=199 | 204 | 304) {
        return None;
    }
    let mut head = Vec::with_capacity(response.head_room);
    write_response(&mut head, date, version, keep_alive, true, response);
    let start = response.head_room.checked_sub(head.len())?;
    response.body.get_mut(start..response.head_room)?.copy_from_slice(&head);
    response.head_room = 0;
    Some((std::mem::take(&mut response.body), start))
}

/// Appends a JSON error response `{"error":"<reason>"}` with `status` to `out`: `Content-Type:
/// application/json`, then `Allow` if given (a 405), then the body from `shardbox_http`. For a
/// HEAD request (`head_only`) the head carries the body's length and the body is left out.
#[expect(clippy::too_many_arguments, reason = "the framing of one response, passed as is")]
pub fn write_json_error(
    out: &mut Vec<u8>,
    date: &DateCache,
    version: Version,
    keep_alive: bool,
    head_only: bool,
    status: u16,
    reason: &str,
    allow: Option<&str>,
) {
    let mut writer = ResponseWriter::new(out, status, version, date);
    if let Err(error) = writer.header(b"Content-Type", b"application/json") {
        tracing::error!(%error, "the JSON content type is a bad header");
    }
    if let Some(allow) = allow
        && let Err(error) = writer.header(b"Allow", allow.as_bytes())
    {
        tracing::error!(%error, allow, "a route's Allow list is a bad header");
    }
    if head_only {
        let len = u64::try_from(shardbox_http::json_error_body_len(reason)).unwrap_or(u64::MAX);
        writer.finish_head(keep_alive, Some(len));
    } else {
        writer.finish_json_error(keep_alive, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_carry_allow_and_leave_the_body_out_for_head() {
        let date = DateCache::new(0);
        let mut out = Vec::new();
        write_json_error(&mut out, &date, Version::Http11, true, false, 404, "not found", None);
        let mut http = Vec::new();
        shardbox_http::write_json_error(&mut http, 404, Version::Http11, &date, true, "not found");
        assert_eq!(out, http, "the same bytes as the http crate's writer");
        out.clear();
        let reason = "method \"x\"";
        write_json_error(&mut out, &date, Version::Http11, true, false, 405, reason, Some("GET"));
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("\r\nContent-Type: application/json\r\nAllow: GET\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n{\"error\":\"method \\\"x\\\"\"}"), "{text}");
        let mut head = Vec::new();
        write_json_error(&mut head, &date, Version::Http11, true, true, 405, reason, Some("GET"));
        let head = String::from_utf8(head).expect("utf-8");
        assert!(text.starts_with(&head), "HEAD: the same head\n{head}\n{text}");
        assert!(head.ends_with("Content-Length: 24\r\n\r\n"), "and no body: {head}");
    }

    #[test]
    fn a_body_framed_in_place_is_sent_as_write_response_writes_it() {
        let date = DateCache::new(1_000_000_000);
        let room = crate::limits::REPLY_HEAD_ROOM_BYTES;
        let mut buf = vec![0u8; room];
        buf.extend_from_slice(b"[{\"status\":\"Accepted\"}]\n");
        let body_at = buf.as_ptr() as usize + room;
        for keep_alive in [true, false] {
            let mut response = Response::with_head_room(200, "application/json", buf.clone(), room);
            let mut copied = Vec::new();
            write_response(&mut copied, &date, Version::Http11, keep_alive, false, &response);
            let (framed, start) =
                frame_in_place(&mut response, &date, Version::Http11, keep_alive).expect("fits");
            assert_eq!(&framed[start..], &copied[..], "the same bytes on the wire");
            assert!(response.body.is_empty(), "the buffer moved out of the response");
        }
        let mut response = Response::with_head_room(200, "application/json", buf, room);
        let (framed, start) =
            frame_in_place(&mut response, &date, Version::Http11, true).expect("fits");
        assert_eq!(framed.as_ptr() as usize + room, body_at, "the body was not copied");
        assert!(start > 0 && start < room);
    }

    #[test]
    fn a_head_larger_than_its_room_is_left_to_write_response() {
        let date = DateCache::new(0);
        let body = b"[]\n";
        // A 200 head with Date and Content-Type is about 100 bytes: room for one byte less
        // than the head refuses, room for exactly the head starts at offset 0.
        let mut probe = Response::new(200, "application/json", body.to_vec());
        let mut head = Vec::new();
        write_response(&mut head, &date, Version::Http11, true, true, &probe);
        for (room, fits) in [(head.len() - 1, false), (head.len(), true), (head.len() + 1, true)] {
            let mut buf = vec![0u8; room];
            buf.extend_from_slice(body);
            let mut response = Response::with_head_room(200, "application/json", buf, room);
            let framed = frame_in_place(&mut response, &date, Version::Http11, true);
            assert_eq!(framed.is_some(), fits, "room {room} for a head of {}", head.len());
            if let Some((framed, start)) = framed {
                assert_eq!(start, room - head.len());
                assert_eq!(&framed[start..start + head.len()], &head[..]);
                assert_eq!(&framed[start + head.len()..], body);
            } else {
                assert_eq!(response.body_bytes(), body, "left untouched");
            }
        }
        probe.status = 204;
        assert!(frame_in_place(&mut probe, &date, Version::Http11, true).is_none(), "no content");
    }

    #[test]
    fn static_response_is_cached_per_second() {
        let mut hello = StaticResponse::new(
            200,
            vec![(b"Content-Type", b"text/plain".to_vec())],
            b"hi".to_vec(),
        );
        let date = DateCache::new(1_000_000_000);
        let mut out = Vec::new();
        hello.write(&mut out, &date, Version::Http11, true, false);
        let first = out.clone();
        assert!(first.starts_with(b"HTTP/1.1 200 OK\r\nDate: Sun, 09 Sep 2001 01:46:40 GMT\r\n"));
        assert!(first.ends_with(b"Content-Length: 2\r\n\r\nhi"));
        out.clear();
        let later = DateCache::new(1_000_000_001);
        hello.write(&mut out, &later, Version::Http11, true, false);
        assert_ne!(out, first, "the Date line moved on");
        out.clear();
        hello.write(&mut out, &later, Version::Http11, false, true);
        assert!(out.ends_with(b"Content-Length: 2\r\nConnection: close\r\n\r\n"), "HEAD: no body");
    }
}
