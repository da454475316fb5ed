//! Writing responses into a connection's output buffer, on top of `shardbox_http`'s writer.
//!
//! - [`StaticResponse`]: a response whose bytes never change except for the `Date` line
//!   (`/hello`, `/version`, `/config`). The whole keep-alive HTTP/1.1 rendering is cached and
//!   rebuilt once per second when the date changes, so answering is one `memcpy`.
//! - [`write_response`]: writes an owned [`Response`] (from a task) with the writer.
//! - [`json_error_body`] / [`push_json_error_body`]: the `{"error":"<reason>"}` body, escaped.
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
    if head_only {
        writer.finish_head(keep_alive, Some(response.body.len() as u64));
    } else {
        writer.finish(keep_alive, &response.body);
    }
}

fn escape(byte: u8) -> Option<&'static [u8]> {
    Some(match byte {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        b'\n' => b"\\n",
        b'\r' => b"\\r",
        b'\t' => b"\\t",
        _ => return None,
    })
}

/// Appends `{"error":"<reason>"}` with `reason` escaped as a JSON string.
pub fn push_json_error_body(out: &mut Vec<u8>, reason: &str) {
    out.extend_from_slice(br#"{"error":""#);
    for byte in reason.bytes() {
        match escape(byte) {
            Some(escaped) => out.extend_from_slice(escaped),
            None if byte < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0xf)]);
            }
            None => out.push(byte),
        }
    }
    out.extend_from_slice(br#""}"#);
}

/// Writes the error body into `buf` without allocating; `None` if it does not fit.
pub fn json_error_body(buf: &mut [u8], reason: &str) -> Option<usize> {
    // Reasons are short constants; control characters never occur in them, but stay correct.
    let mut at = 0;
    let mut put = |bytes: &[u8]| -> Option<()> {
        let end = at + bytes.len();
        buf.get_mut(at..end)?.copy_from_slice(bytes);
        at = end;
        Some(())
    };
    put(br#"{"error":""#)?;
    for byte in reason.bytes() {
        match escape(byte) {
            Some(escaped) => put(escaped)?,
            None if byte < 0x20 => return None,
            None => put(&[byte])?,
        }
    }
    put(br#""}"#)?;
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_error_bodies_agree_and_escape() {
        for reason in ["not found", "quote \" and \\ slash", "tab\there", "ctl\u{1}x"] {
            let mut owned = Vec::new();
            push_json_error_body(&mut owned, reason);
            let mut buf = [0u8; 256];
            if let Some(len) = json_error_body(&mut buf, reason) {
                assert_eq!(&buf[..len], &owned[..]);
            } else {
                assert!(reason.bytes().any(|b| b < 0x20 && escape(b).is_none()));
            }
        }
        let mut owned = Vec::new();
        push_json_error_body(&mut owned, "a\"b\u{1}");
        assert_eq!(owned, br#"{"error":"a\"b\u0001"}"#);
        assert_eq!(json_error_body(&mut [0u8; 8], "too long for eight"), None);
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
