//! The request a run sends, built once as bytes.
//!
//! [`Target`] is a parsed `http://host:port/path` URL (plain HTTP only: the load generator
//! measures HTTP/1.1 on loopback). [`RequestSpec`] adds the method, extra headers and an
//! optional body; [`RequestSpec::encode`] renders the exact bytes of one request, with `Host`
//! and (when there is a body) `Content-Length`. A connection writes those bytes `depth` times
//! per batch, so nothing is formatted per request.
//!
//! It does not resolve names other than through the standard library, and does not speak TLS.

use std::net::{SocketAddr, ToSocketAddrs};

use crate::limits::{REQUEST_BODY_BYTES_MAX, REQUEST_HEAD_BYTES_MAX};

/// Why a URL, header or body cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// Only `http://` URLs are supported.
    #[error("URL {0:?} does not start with http://")]
    Scheme(String),
    /// The authority has no usable host or port.
    #[error("URL {0:?} has no valid host:port")]
    Authority(String),
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The `host:port` that failed.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// A header is not `Name: value`, or contains CR/LF.
    #[error("header {0:?} is not `Name: value` without CR/LF")]
    Header(String),
    /// The method is empty or not a token.
    #[error("method {0:?} is not an HTTP token")]
    Method(String),
    /// The request head is larger than the limit.
    #[error("request head of {len} bytes exceeds {max}")]
    HeadTooLarge {
        /// Rendered head length.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The body file cannot be read.
    #[error("cannot read body file {path}: {source}")]
    BodyFile {
        /// The path given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The body file is larger than the limit.
    #[error("body file {path} exceeds {max} bytes")]
    BodyTooLarge {
        /// The path given.
        path: String,
        /// The limit in bytes.
        max: u64,
    },
}

/// A parsed `http://host[:port]/path?query` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The authority as written (sent as the `Host` header).
    pub authority: String,
    /// Where to connect.
    pub addr: SocketAddr,
    /// Path and query (at least `/`).
    pub path: String,
}

impl Target {
    /// Parses and resolves a URL; the port defaults to 80.
    pub fn parse(url: &str) -> Result<Self, RequestError> {
        let rest = url.strip_prefix("http://").ok_or_else(|| RequestError::Scheme(url.into()))?;
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(RequestError::Authority(url.into()));
        }
        let with_port = if authority.rsplit_once(':').is_some_and(|(_, p)| !p.contains(']')) {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|source| RequestError::Resolve { host: with_port.clone(), source })?
            .next()
            .ok_or_else(|| RequestError::Authority(url.into()))?;
        Ok(Self { authority: authority.to_string(), addr, path: path.to_string() })
    }
}

/// Everything that makes up the request a run repeats.
#[derive(Clone, Debug)]
pub struct RequestSpec {
    /// Method token, e.g. `GET` or `POST`.
    pub method: String,
    /// Extra headers, each `Name: value`.
    pub headers: Vec<String>,
    /// Body bytes (empty: no body and no `Content-Length` unless the method is not GET/HEAD).
    pub body: Vec<u8>,
}

impl RequestSpec {
    /// A `GET` without extra headers.
    pub fn get() -> Self {
        Self { method: "GET".into(), headers: Vec::new(), body: Vec::new() }
    }

    /// Reads a body from `path`, refusing files over [`REQUEST_BODY_BYTES_MAX`].
    pub fn read_body(path: &str) -> Result<Vec<u8>, RequestError> {
        use std::io::Read;
        let file = std::fs::File::open(path)
            .map_err(|source| RequestError::BodyFile { path: path.into(), source })?;
        let mut body = Vec::new();
        file.take(REQUEST_BODY_BYTES_MAX + 1)
            .read_to_end(&mut body)
            .map_err(|source| RequestError::BodyFile { path: path.into(), source })?;
        if body.len() as u64 > REQUEST_BODY_BYTES_MAX {
            return Err(RequestError::BodyTooLarge {
                path: path.into(),
                max: REQUEST_BODY_BYTES_MAX,
            });
        }
        Ok(body)
    }

    /// True when responses to this request carry no body (`HEAD`).
    pub fn is_head(&self) -> bool {
        self.method.eq_ignore_ascii_case("HEAD")
    }

    /// Renders one request for `target`.
    pub fn encode(&self, target: &Target) -> Result<Vec<u8>, RequestError> {
        let is_token = |s: &str| {
            !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        };
        if !is_token(&self.method) {
            return Err(RequestError::Method(self.method.clone()));
        }
        let mut head =
            format!("{} {} HTTP/1.1\r\nHost: {}\r\n", self.method, target.path, target.authority);
        let mut has_length = false;
        for header in &self.headers {
            let (name, value) =
                header.split_once(':').ok_or_else(|| RequestError::Header(header.clone()))?;
            if !is_token(name) || value.contains(['\r', '\n']) {
                return Err(RequestError::Header(header.clone()));
            }
            has_length |= name.eq_ignore_ascii_case("content-length");
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value.trim());
            head.push_str("\r\n");
        }
        let needs_length =
            !self.body.is_empty() || !(self.method.eq_ignore_ascii_case("GET") || self.is_head());
        if needs_length && !has_length {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str("\r\n");
        if head.len() > REQUEST_HEAD_BYTES_MAX {
            return Err(RequestError::HeadTooLarge {
                len: head.len(),
                max: REQUEST_HEAD_BYTES_MAX,
            });
        }
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_url_with_and_without_port() {
        let t = Target::parse("http://127.0.0.1:8080/hello?x=1").unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(t.path, "/hello?x=1");
        assert_eq!(t.authority, "127.0.0.1:8080");
        let t = Target::parse("http://127.0.0.1").unwrap();
        assert_eq!(t.addr.port(), 80);
        assert_eq!(t.path, "/");
        assert!(Target::parse("https://127.0.0.1/").is_err());
        assert!(Target::parse("http:///x").is_err());
    }

    #[test]
    fn encodes_post_with_length_and_get_without() {
        let t = Target::parse("http://127.0.0.1:1/run").unwrap();
        let mut spec = RequestSpec::get();
        assert_eq!(spec.encode(&t).unwrap(), b"GET /run HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n");
        spec.method = "POST".into();
        spec.headers.push("Content-Type: application/json".into());
        spec.body = b"{}".to_vec();
        let wire = String::from_utf8(spec.encode(&t).unwrap()).unwrap();
        assert!(wire.ends_with("Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"));
        spec.headers.push("Bad\r\nInjected: yes".into());
        assert!(spec.encode(&t).is_err());
    }
}
