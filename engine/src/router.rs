//! Routing: a tiny static table from path to per-method handlers, and what a handler sees.
//!
//! Main types:
//! - [`Router`]: built once per shard (on the shard's thread, by the configured
//!   `RoutesFactory`) from [`Route`]s. Lookup is an exact path match over a handful of entries
//!   (then prefix routes such as `/file/` for `/file/{id}`), then the method. HEAD is served by
//!   a route's GET handler with the body left out.
//! - [`Handler`]: `Rc<dyn Fn(&mut Exchange) -> Reply>`. A handler either answers **inline** —
//!   writes its response through the [`Exchange`] and returns [`Reply::Done`]: the hot path, no
//!   allocation, no task — or returns [`Reply::Later`] with a future that the shard runs on its
//!   executor; the future's [`Response`] is written when ready, and pipelined requests behind it
//!   wait, so responses stay in request order.
//! - [`Access`]: public, or behind the `-auth-token` bearer token (checked by the shard before
//!   the handler runs).
//!
//! Adding the judge (`/run`, `/file`, `/file/{id}`, `/ws`, `/stream`) or edge handlers means
//! adding routes in `crate::endpoints::builtin_routes` (or a module it calls); nothing else in
//! the engine changes. This module does not parse, authenticate or write sockets.

use std::future::Future;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::rc::Rc;

use shardbox_http::{DateCache, Method, Request, ResponseWriter};

use crate::executor::Handle;
use crate::metrics::MetricsRegistry;

/// What a shard tells its route factory and handlers about itself.
#[derive(Debug, Clone)]
pub struct ShardInfo {
    /// This shard's number (0-based).
    pub index: usize,
    /// Number of shards in the server.
    pub shards: usize,
    /// Every shard's metrics (for `/metrics`).
    pub metrics: MetricsRegistry,
    /// This shard's executor, for handlers that answer later.
    pub handle: Handle,
    /// What this shard's unsent deferred replies hold of `-shard-replies-bytes-max`.
    pub replies: crate::conn::RepliesGauge,
}

/// Whether a route needs the bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone may call it (like go-judge's `/version` and `/config`).
    Public,
    /// Needs `Authorization: Bearer <token>` when the server has `-auth-token`.
    Token,
}

/// A response body that is a file: the shard reads it [`crate::limits::FILE_CHUNK_BYTES`] at a
/// time, as the socket takes the bytes, so a download holds one chunk, never the whole file.
/// The descriptor is the response's own (a `dup` of the file store's), so the bytes stay
/// readable while they are sent even if the file is deleted meanwhile; it is closed when the
/// body is sent or the connection goes away.
#[derive(Debug)]
pub struct FileBody {
    /// Read with explicit offsets `0..len` (its file position is never used).
    pub fd: OwnedFd,
    /// Bytes sent: the `Content-Length`.
    pub len: u64,
}

/// A response produced later by a task.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `Content-Type` value.
    pub content_type: &'static str,
    /// Extra headers (name, value).
    pub headers: Vec<(&'static str, String)>,
    /// Body bytes (empty when `file` is set), after `head_room` bytes that are not part of it.
    pub body: Vec<u8>,
    /// Bytes at the start of `body` left free for the response head: the shard writes a large
    /// body's head there and sends the buffer from that offset, so the body is never copied
    /// (`crate::response::frame_in_place`). `0` for most responses.
    pub head_room: usize,
    /// A body sent from a file instead of `body`.
    pub file: Option<FileBody>,
}

impl Response {
    /// A response with a body and no extra headers.
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
        let body = body.into();
        Response { status, content_type, headers: Vec::new(), body, head_room: 0, file: None }
    }

    /// A response whose body is `buf[head_room..]`: the first `head_room` bytes are room for
    /// the head (see [`Response::head_room`]). `head_room` past the end counts as the whole
    /// buffer (an empty body).
    pub fn with_head_room(
        status: u16,
        content_type: &'static str,
        buf: Vec<u8>,
        head_room: usize,
    ) -> Response {
        let head_room = head_room.min(buf.len());
        Response { status, content_type, headers: Vec::new(), body: buf, head_room, file: None }
    }

    /// The body's bytes (after the head room; empty when `file` is set).
    pub fn body_bytes(&self) -> &[u8] {
        self.body.get(self.head_room..).unwrap_or_default()
    }

    /// A response whose body is sent from a file (see [`FileBody`]).
    pub fn with_file(status: u16, content_type: &'static str, file: FileBody) -> Response {
        let (headers, body) = (Vec::new(), Vec::new());
        Response { status, content_type, headers, body, head_room: 0, file: Some(file) }
    }

    /// The body's length in bytes: the file's, else `body`'s.
    pub fn body_len(&self) -> u64 {
        match &self.file {
            Some(file) => file.len,
            None => u64::try_from(self.body_bytes().len()).unwrap_or(u64::MAX),
        }
    }

    /// A JSON error response `{"error":"<reason>"}` (the body from `shardbox_http`).
    pub fn json_error(status: u16, reason: &str) -> Response {
        let mut body = Vec::new();
        shardbox_http::push_json_error_body(&mut body, reason);
        Response::new(status, "application/json", body)
    }
}

/// A response being computed by a task.
pub type LaterResponse = Pin<Box<dyn Future<Output = Response>>>;

/// What a handler returns.
pub enum Reply {
    /// The response was written through the [`Exchange`].
    Done,
    /// The response comes from this future, run as a task on the shard's executor.
    Later(LaterResponse),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Done => f.write_str("Done"),
            Reply::Later(_) => f.write_str("Later(..)"),
        }
    }
}

/// A request handler.
pub type Handler = Rc<dyn Fn(&mut Exchange<'_, '_>) -> Reply>;

/// The request a handler answers, and where its inline response goes.
pub struct Exchange<'a, 'b> {
    /// The parsed request head.
    pub request: &'a Request<'b, 'a>,
    /// The request body (decoded if it was chunked).
    pub body: &'a [u8],
    /// For a prefix route, the path after the prefix (e.g. the id of `/file/{id}`).
    pub path_rest: &'a [u8],
    /// The shard serving the request.
    pub shard: &'a ShardInfo,
    pub(crate) out: &'a mut Vec<u8>,
    pub(crate) date: &'a DateCache,
    pub(crate) keep_alive: bool,
    pub(crate) head_only: bool,
    pub(crate) status: Option<u16>,
}

impl Exchange<'_, '_> {
    /// Writes a complete response with `Content-Type` and `body`.
    pub fn respond(&mut self, status: u16, content_type: &[u8], body: &[u8]) {
        self.respond_with(status, &[(b"Content-Type", content_type)], body);
    }

    /// Writes a complete response with the given headers and `body`. A header that could split
    /// the response (CR, LF, bad name) is a bug in the handler: it is dropped and logged.
    pub fn respond_with(&mut self, status: u16, headers: &[(&[u8], &[u8])], body: &[u8]) {
        assert!(self.status.is_none(), "a handler answered twice");
        self.status = Some(status);
        let mut writer = ResponseWriter::new(self.out, status, self.request.version, self.date);
        for (name, value) in headers {
            if let Err(error) = writer.header(name, value) {
                tracing::error!(%error, name = %String::from_utf8_lossy(name), "handler wrote a bad header");
            }
        }
        if self.head_only {
            let len = u64::try_from(body.len()).unwrap_or(u64::MAX);
            writer.finish_head(self.keep_alive, Some(len));
        } else {
            writer.finish(self.keep_alive, body);
        }
    }

    /// Writes a JSON error `{"error":"<reason>"}` (`crate::response::write_json_error`).
    pub fn respond_json_error(&mut self, status: u16, reason: &str) {
        assert!(self.status.is_none(), "a handler answered twice");
        self.status = Some(status);
        crate::response::write_json_error(
            self.out,
            self.date,
            self.request.version,
            self.keep_alive,
            self.head_only,
            status,
            reason,
            None,
        );
    }

    /// Writes a prebuilt static response (see `crate::response::StaticResponse`).
    pub fn respond_static(&mut self, response: &mut crate::response::StaticResponse) {
        assert!(self.status.is_none(), "a handler answered twice");
        self.status = Some(response.status());
        response.write(self.out, self.date, self.request.version, self.keep_alive, self.head_only);
    }

    /// Closes the connection after this response.
    pub fn close_after(&mut self) {
        assert!(self.status.is_none(), "close_after must come before the response");
        self.keep_alive = false;
    }

    /// Whether the connection stays open after this response.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// The shard's executor, for [`Reply::Later`] futures.
    pub fn handle(&self) -> Handle {
        self.shard.handle.clone()
    }
}

/// How a route matches paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathPattern {
    /// This exact path.
    Exact(&'static str),
    /// Any path starting with this prefix (the rest is [`Exchange::path_rest`]).
    Prefix(&'static str),
}

/// One path and its handlers by method.
pub struct Route {
    pattern: PathPattern,
    access: Access,
    methods: Vec<(Method<'static>, Handler)>,
    allow: String,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("pattern", &self.pattern)
            .field("access", &self.access)
            .field("allow", &self.allow)
            .finish_non_exhaustive()
    }
}

impl Route {
    /// Whether this route needs the token.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The `Allow` header value: the methods this route answers.
    pub fn allow(&self) -> &str {
        &self.allow
    }

    /// The handler for `method`, and whether it is a GET handler serving HEAD.
    pub fn handler(&self, method: Method<'_>) -> Option<(&Handler, bool)> {
        let exact = self.methods.iter().find(|(m, _)| m.as_bytes() == method.as_bytes());
        if let Some((_, handler)) = exact {
            return Some((handler, false));
        }
        if method == Method::Head {
            let get = self.methods.iter().find(|(m, _)| *m == Method::Get);
            return get.map(|(_, handler)| (handler, true));
        }
        None
    }
}

/// A shard's route table.
#[derive(Debug, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// An empty table.
    pub fn new() -> Router {
        Router::default()
    }

    /// Adds `handler` for `method` on `pattern`. Panics if that pair is already routed, or if
    /// the same pattern is added with a different access: both are programming errors.
    pub fn add(
        mut self,
        pattern: PathPattern,
        access: Access,
        method: Method<'static>,
        handler: Handler,
    ) -> Router {
        assert!(!matches!(method, Method::Other(_) | Method::Head), "route a standard method");
        match self.routes.iter_mut().find(|route| route.pattern == pattern) {
            Some(route) => {
                assert_eq!(route.access, access, "{pattern:?} routed with two access levels");
                assert!(
                    route.methods.iter().all(|(m, _)| *m != method),
                    "{pattern:?} {method:?} routed twice"
                );
                route.methods.push((method, handler));
            }
            None => self.routes.push(Route {
                pattern,
                access,
                methods: vec![(method, handler)],
                allow: String::new(),
            }),
        }
        for route in &mut self.routes {
            let mut names: Vec<&str> = route
                .methods
                .iter()
                .map(|(m, _)| std::str::from_utf8(m.as_bytes()).unwrap_or("GET"))
                .collect();
            if route.methods.iter().any(|(m, _)| *m == Method::Get) {
                names.push("HEAD");
            }
            route.allow = names.join(", ");
        }
        self
    }

    /// Adds a GET route: shorthand for `add(Exact(path), access, Get, handler)`.
    pub fn get(self, path: &'static str, access: Access, handler: Handler) -> Router {
        self.add(PathPattern::Exact(path), access, Method::Get, handler)
    }

    /// The route for `path` and, for a prefix route, the rest of the path. Exact routes win
    /// over prefix routes; among prefixes the longest wins.
    pub fn find<'p>(&self, path: &'p [u8]) -> Option<(&Route, &'p [u8])> {
        let exact = self.routes.iter().find(|route| match route.pattern {
            PathPattern::Exact(exact) => exact.as_bytes() == path,
            PathPattern::Prefix(_) => false,
        });
        if let Some(route) = exact {
            return Some((route, &[]));
        }
        self.routes
            .iter()
            .filter_map(|route| match route.pattern {
                PathPattern::Prefix(prefix) => {
                    path.strip_prefix(prefix.as_bytes()).map(|rest| (route, rest, prefix.len()))
                }
                PathPattern::Exact(_) => None,
            })
            .max_by_key(|&(_, _, len)| len)
            .map(|(route, rest, _)| (route, rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop() -> Handler {
        Rc::new(|_| Reply::Done)
    }

    #[test]
    fn exact_then_longest_prefix() {
        let router = Router::new()
            .get("/file", Access::Token, noop())
            .add(PathPattern::Prefix("/file/"), Access::Token, Method::Get, noop())
            .add(PathPattern::Prefix("/file/x/"), Access::Token, Method::Delete, noop())
            .get("/hello", Access::Public, noop());
        assert!(router.find(b"/hello").is_some());
        assert!(router.find(b"/hello/").is_none());
        assert!(router.find(b"/hell").is_none());
        let (route, rest) = router.find(b"/file").expect("exact");
        assert_eq!(route.allow(), "GET, HEAD");
        assert_eq!(rest, b"");
        let (_, rest) = router.find(b"/file/ABC").expect("prefix");
        assert_eq!(rest, b"ABC");
        let (route, rest) = router.find(b"/file/x/1").expect("longer prefix");
        assert_eq!(rest, b"1");
        assert_eq!(route.allow(), "DELETE");
    }

    #[test]
    fn methods_and_head() {
        let router = Router::new()
            .get("/a", Access::Public, noop())
            .add(PathPattern::Exact("/a"), Access::Public, Method::Post, noop())
            .add(PathPattern::Exact("/b"), Access::Public, Method::Post, noop());
        let (a, _) = router.find(b"/a").expect("a");
        assert_eq!(a.allow(), "GET, POST, HEAD");
        assert!(matches!(a.handler(Method::Head), Some((_, true))));
        assert!(matches!(a.handler(Method::Post), Some((_, false))));
        assert!(a.handler(Method::Put).is_none());
        let (b, _) = router.find(b"/b").expect("b");
        assert_eq!(b.allow(), "POST");
        assert!(b.handler(Method::Head).is_none());
        assert!(b.handler(Method::Other(b"BREW")).is_none());
    }

    #[test]
    #[should_panic(expected = "routed twice")]
    fn a_route_is_added_once() {
        let _ = Router::new().get("/a", Access::Public, noop()).get("/a", Access::Public, noop());
    }
}
