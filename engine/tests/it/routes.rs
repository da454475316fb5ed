//! The built-in endpoints, error shapes, HEAD, auth.

use std::rc::Rc;

use shardbox_engine::router::{Access, Exchange, Reply, Router};
use shardbox_http::Method;

use crate::harness::{TestServer, test_config};

#[test]
fn hello_version_config_healthz() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();
    let hello = client.get("/hello");
    assert_eq!(hello.status, 200);
    assert_eq!(hello.body, b"Hello, World!");
    assert_eq!(hello.header("content-type"), Some("text/plain; charset=utf-8"));
    assert!(hello.header("date").is_some_and(|d| d.ends_with(" GMT")));
    assert!(!hello.closes());

    let version = client.get("/version");
    assert_eq!(version.status, 200);
    assert_eq!(version.header("content-type"), Some("application/json"));
    let text = version.text();
    assert!(text.starts_with(r#"{"addressSpaceLimit":false,"buildVersion":"shardbox-"#), "{text}");
    assert!(text.contains(r#""os":"linux""#));
    assert!(!text.contains("true"), "no feature is claimed before it works: {text}");

    let config = client.get("/config");
    assert_eq!(config.status, 200);
    assert!(config.text().contains(r#""fileStorePath":"#));

    let health = client.get("/healthz");
    assert_eq!((health.status, health.text().as_str()), (200, r#"{"status":"ok"}"#));
    server.stop().expect("clean stop");
}

#[test]
fn metrics_count_what_happened() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();
    for _ in 0..3 {
        assert_eq!(client.get("/hello").status, 200);
    }
    assert_eq!(client.get("/missing").status, 404);
    let metrics = client.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert_eq!(metrics.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let text = metrics.text();
    assert!(text.contains("shardbox_http_responses_total{code=\"200\"} 3\n"), "{text}");
    assert!(text.contains("shardbox_http_responses_total{code=\"404\"} 1\n"));
    assert!(text.contains("shardbox_connections_open 1\n"));
    assert!(text.contains("shardbox_http_request_duration_seconds_count "));
    assert!(text.contains("# TYPE shardbox_http_request_duration_seconds histogram"));
    // The shard answering counts its own responses (3 + 1 so far), and, where the kernel keeps
    // per-thread schedstat, what the scheduler did with its thread.
    assert!(text.contains("shardbox_shard_responses_total{shard=\"0\"} 4\n"), "{text}");
    if std::path::Path::new("/proc/thread-self/schedstat").exists() {
        assert!(text.contains("shardbox_shard_cpu_seconds_total{shard=\"0\"} "), "{text}");
        assert!(text.contains("shardbox_shard_runqueue_wait_seconds_total{shard=\"0\"} "));
    } else {
        println!("SKIP scheduler series: no /proc/thread-self/schedstat (CONFIG_SCHED_INFO)");
    }
    server.stop().expect("clean stop");
}

#[test]
fn unknown_paths_and_wrong_methods() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();
    let missing = client.get("/nope");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("content-type"), Some("application/json"));
    assert_eq!(missing.text(), r#"{"error":"not found"}"#);
    assert!(!missing.closes(), "a 404 keeps the connection");

    client.send(b"POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    let wrong = client.read_reply().expect("reply");
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD"));
    assert_eq!(wrong.text(), r#"{"error":"method not allowed"}"#);

    // The body of the refused POST was consumed: the connection still works.
    assert_eq!(client.get("/hello").status, 200);

    client.send(b"HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = client.read_reply_for(true).expect("reply");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("13"));
    assert_eq!(client.get("/hello").body, b"Hello, World!", "no stray body after HEAD");

    // An error answering a HEAD is a head too (with the body's length): the next response on
    // the connection is not mistaken for the rest of it.
    client.send(b"HEAD /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = client.read_reply_for(true).expect("reply");
    assert_eq!(head.status, 404);
    assert_eq!(head.header("content-length"), Some("21"));
    assert_eq!(client.get("/hello").body, b"Hello, World!", "no stray body after a HEAD 404");
    server.stop().expect("clean stop");
}

#[test]
fn query_strings_route_by_path() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();
    assert_eq!(client.get("/hello?x=1&y=2").status, 200);
    assert_eq!(client.get("/hello/").status, 404);
    server.stop().expect("clean stop");
}

#[test]
fn http10_closes_unless_asked_to_keep_alive() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();
    client.send(b"GET /hello HTTP/1.0\r\n\r\n");
    let reply = client.read_reply().expect("reply");
    assert_eq!(reply.status, 200);
    assert!(reply.closes());
    assert!(client.closed());

    let mut client = server.connect();
    client.send(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let reply = client.read_reply().expect("reply");
    assert_eq!(reply.header("connection"), Some("keep-alive"));
    assert_eq!(client.get("/hello").status, 200);
    server.stop().expect("clean stop");
}

#[test]
fn auth_token_protects_token_routes_only() {
    let mut config = test_config();
    config.auth_token = Some("s3cret".into());
    config.routes = std::sync::Arc::new(|shard| {
        shardbox_engine::endpoints::builtin_routes(shard).get(
            "/private",
            Access::Token,
            Rc::new(|ex: &mut Exchange<'_, '_>| {
                ex.respond(200, b"text/plain", b"inside");
                Reply::Done
            }),
        )
    });
    let server = TestServer::start(config);
    let mut client = server.connect();
    let denied = client.get("/private");
    assert_eq!(denied.status, 401);
    assert_eq!(denied.text(), r#"{"error":"unauthorized"}"#);
    client.send(b"GET /private HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer wrong\r\n\r\n");
    assert_eq!(client.read_reply().expect("reply").status, 401);
    client.send(b"GET /private HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer s3cret\r\n\r\n");
    let allowed = client.read_reply().expect("reply");
    assert_eq!((allowed.status, allowed.text().as_str()), (200, "inside"));
    // Public routes need no token, as in go-judge.
    for path in ["/version", "/config", "/hello", "/healthz"] {
        assert_eq!(client.get(path).status, 200, "{path}");
    }
    server.stop().expect("clean stop");
}

#[test]
fn metrics_need_the_token_when_one_is_set() {
    let mut config = test_config();
    config.auth_token = Some("s3cret".into());
    let server = TestServer::start(config);
    let mut client = server.connect();
    let denied = client.get("/metrics");
    assert_eq!(denied.status, 401);
    assert_eq!(denied.text(), r#"{"error":"unauthorized"}"#);
    assert!(!denied.text().contains("shardbox_"), "no counters leak in the refusal");
    client.send(b"GET /metrics HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer wrong\r\n\r\n");
    assert_eq!(client.read_reply().expect("reply").status, 401);
    client.send(b"GET /metrics HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer s3cret\r\n\r\n");
    let allowed = client.read_reply().expect("reply");
    assert_eq!(allowed.status, 200);
    assert!(allowed.text().contains("shardbox_http_responses_total{code=\"401\"} 2\n"));
    server.stop().expect("clean stop");

    // Without a token it stays open: there is nothing to present.
    let server = TestServer::start(test_config());
    assert_eq!(server.connect().get("/metrics").status, 200);
    server.stop().expect("clean stop");
}

#[test]
fn prefix_routes_see_the_rest_of_the_path() {
    let mut config = test_config();
    config.routes = std::sync::Arc::new(|_| {
        Router::new().add(
            shardbox_engine::router::PathPattern::Prefix("/file/"),
            Access::Public,
            Method::Delete,
            Rc::new(|ex: &mut Exchange<'_, '_>| {
                let id = ex.path_rest.to_vec();
                ex.respond(200, b"text/plain", &id);
                Reply::Done
            }),
        )
    });
    let server = TestServer::start(config);
    let mut client = server.connect();
    client.send(b"DELETE /file/ABCD HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(client.read_reply().expect("reply").text(), "ABCD");
    assert_eq!(client.get("/file/ABCD").header("allow"), Some("DELETE"));
    server.stop().expect("clean stop");
}

#[test]
fn connection_close_is_honoured_and_later_requests_dropped() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();
    client.send(
        b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n\
          GET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert!(!client.read_reply().expect("first").closes());
    let second = client.read_reply().expect("second");
    assert_eq!(second.status, 200);
    assert!(second.closes());
    assert!(client.closed(), "nothing after the request that asked to close");
    server.stop().expect("clean stop");
}
