//! The built-in endpoints: `/version`, `/config`, `/healthz`, `/metrics`, `/hello`.
//!
//! [`builtin_routes`] is the default `RoutesFactory`: it builds one shard's [`Router`]. Every
//! handler here answers inline. `/version` and `/config` follow go-judge's JSON shape
//! (go-judge-api §1.8) with keys sorted; a feature flag is true only where the server
//! implements the feature: [`FEATURES`] (none) for a server without the judge, while the
//! `shardbox` binary serves `crate::judge::routes` ([`base_routes`] plus the judge's `/run`,
//! `/file`, and `/version` + `/config` with its flags and `runnerConfig`). `/hello` is the
//! fixed small body that benchmarks compare against nginx.
//!
//! Access: `/metrics` needs the `-auth-token` bearer token when one is set, like every go-judge
//! route behind its auth middleware (go-judge serves its metrics on a separate monitor listener;
//! shardbox has one listener, so its counters are not left open to whoever can reach the API).
//! `/version` and `/config` stay public as in go-judge; `/hello` and `/healthz` too, so load
//! balancers and benchmarks need no token.

use std::cell::RefCell;
use std::rc::Rc;

use crate::response::StaticResponse;
use crate::router::{Access, Exchange, Handler, Reply, Router, ShardInfo};

/// The body of `GET /hello`.
pub const HELLO_BODY: &[u8] = b"Hello, World!";

/// go-judge's feature flags as shardbox reports them in `/version` and `/config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// `addressSpaceLimit`: `addressSpaceLimit` in cmd limits is enforced.
    pub address_space_limit: bool,
    /// `copyOutOptional`: `copyOut` names ending in `?` are optional.
    pub copy_out_optional: bool,
    /// `copyOutTruncate`: `copyOutMax` truncates instead of failing.
    pub copy_out_truncate: bool,
    /// `fixSymlinkEscape`: copy-out never follows symlinks out of the sandbox.
    pub fix_symlink_escape: bool,
    /// `pipeProxy`: pipe proxies between commands.
    pub pipe_proxy: bool,
    /// `pipeProxyZeroCopy`: pipe proxies without copying.
    pub pipe_proxy_zero_copy: bool,
    /// `procPeak`: `procPeak` in results.
    pub proc_peak: bool,
    /// `stream`: the `/stream` endpoint.
    pub stream: bool,
    /// `symlink`: `symlinks` in requests.
    pub symlink: bool,
}

/// What a server without the judge supports (an embedded engine, the tests): nothing. The
/// `shardbox` binary serves `crate::judge::FEATURES` instead.
pub const FEATURES: Features = Features {
    address_space_limit: false,
    copy_out_optional: false,
    copy_out_truncate: false,
    fix_symlink_escape: false,
    pipe_proxy: false,
    pipe_proxy_zero_copy: false,
    proc_peak: false,
    stream: false,
    symlink: false,
};

/// GOARCH spelling of the target architecture, as go-judge's `platform`.
pub fn platform() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

fn flag(out: &mut String, key: &str, value: bool) {
    out.push_str(&format!("\"{key}\":{value},"));
}

fn string(out: &mut String, key: &str, value: &str) {
    // Values here are constants without characters that need escaping.
    debug_assert!(!value.contains(['"', '\\']));
    out.push_str(&format!("\"{key}\":\"{value}\","));
}

fn close_object(mut out: String) -> Vec<u8> {
    if out.ends_with(',') {
        out.pop();
    }
    out.push('}');
    out.into_bytes()
}

/// The `/version` body (keys sorted, as Go's encoding/json writes a map).
pub fn version_body(features: &Features) -> Vec<u8> {
    let mut out = String::from("{");
    flag(&mut out, "addressSpaceLimit", features.address_space_limit);
    string(&mut out, "buildVersion", concat!("shardbox-", env!("CARGO_PKG_VERSION")));
    flag(&mut out, "copyOutOptional", features.copy_out_optional);
    flag(&mut out, "copyOutTruncate", features.copy_out_truncate);
    flag(&mut out, "fixSymlinkEscape", features.fix_symlink_escape);
    string(&mut out, "goVersion", "");
    string(&mut out, "os", std::env::consts::OS);
    flag(&mut out, "pipeProxy", features.pipe_proxy);
    flag(&mut out, "pipeProxyZeroCopy", features.pipe_proxy_zero_copy);
    string(&mut out, "platform", platform());
    flag(&mut out, "procPeak", features.proc_peak);
    flag(&mut out, "stream", features.stream);
    flag(&mut out, "symlink", features.symlink);
    close_object(out)
}

/// The `/config` body: the feature flags and the file store path (none yet). `runnerConfig`
/// is added when the sandbox layer exists.
pub fn config_body(features: &Features) -> Vec<u8> {
    let mut out = String::from("{");
    flag(&mut out, "addressSpaceLimit", features.address_space_limit);
    flag(&mut out, "copyOutOptional", features.copy_out_optional);
    flag(&mut out, "copyOutTruncate", features.copy_out_truncate);
    string(&mut out, "fileStorePath", "");
    flag(&mut out, "fixSymlinkEscape", features.fix_symlink_escape);
    flag(&mut out, "pipeProxy", features.pipe_proxy);
    flag(&mut out, "pipeProxyZeroCopy", features.pipe_proxy_zero_copy);
    flag(&mut out, "procPeak", features.proc_peak);
    flag(&mut out, "stream", features.stream);
    flag(&mut out, "symlink", features.symlink);
    close_object(out)
}

/// A handler answering with a fixed response (cached with its Date line).
pub fn static_handler(response: StaticResponse) -> Handler {
    let response = RefCell::new(response);
    Rc::new(move |ex: &mut Exchange<'_, '_>| {
        ex.respond_static(&mut response.borrow_mut());
        Reply::Done
    })
}

fn json(body: Vec<u8>) -> StaticResponse {
    StaticResponse::new(200, vec![(b"Content-Type", b"application/json".to_vec())], body)
}

/// The built-in route table for one shard: [`base_routes`] plus `/version` and `/config`
/// without the judge (the binary uses `crate::judge::routes`, which adds its own).
pub fn builtin_routes(shard: &ShardInfo) -> Router {
    base_routes(shard)
        .get("/version", Access::Public, static_handler(json(version_body(&FEATURES))))
        .get("/config", Access::Public, static_handler(json(config_body(&FEATURES))))
}

/// `/hello`, `/healthz` and `/metrics`: the routes every configuration has.
pub fn base_routes(shard: &ShardInfo) -> Router {
    let _ = shard;
    let hello = StaticResponse::new(
        200,
        vec![(b"Content-Type", b"text/plain; charset=utf-8".to_vec())],
        HELLO_BODY.to_vec(),
    );
    let metrics: Handler = Rc::new(|ex: &mut Exchange<'_, '_>| {
        let mut body = Vec::with_capacity(8192);
        ex.shard.metrics.render(&mut body);
        ex.respond(200, b"text/plain; version=0.0.4; charset=utf-8", &body);
        Reply::Done
    });
    Router::new()
        .get("/hello", Access::Public, static_handler(hello))
        .get("/healthz", Access::Public, static_handler(json(br#"{"status":"ok"}"#.to_vec())))
        .get("/metrics", Access::Token, metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(body: &[u8]) -> Vec<String> {
        let text = std::str::from_utf8(body).expect("utf-8");
        text.trim_matches(['{', '}'])
            .split(',')
            .map(|pair| pair.split(':').next().expect("key").trim_matches('"').to_owned())
            .collect()
    }

    #[test]
    fn version_has_go_judges_keys_sorted() {
        let body = version_body(&FEATURES);
        let keys = keys(&body);
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        for key in [
            "addressSpaceLimit",
            "buildVersion",
            "goVersion",
            "os",
            "platform",
            "stream",
            "symlink",
        ] {
            assert!(keys.iter().any(|k| k == key), "missing {key}");
        }
        let text = String::from_utf8(body).expect("utf-8");
        assert!(text.contains(r#""os":"linux""#));
        assert!(text.contains(r#""stream":false"#), "features are false until built: {text}");
        assert!(!text.contains("true"));
    }

    #[test]
    fn config_has_the_features_and_store_path() {
        let body = config_body(&FEATURES);
        let keys = keys(&body);
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert!(keys.iter().any(|k| k == "fileStorePath"));
        assert!(!keys.iter().any(|k| k == "buildVersion"));
        let on = Features { stream: true, ..FEATURES };
        assert!(String::from_utf8(config_body(&on)).expect("utf-8").contains(r#""stream":true"#));
    }
}
