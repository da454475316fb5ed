//! Differential tests of the request parser against `httparse`.
//!
//! Whenever httparse parses a head completely, ours agrees on method, target, version, header
//! names and values and head length, or rejects it for one of the documented stricter reasons
//! below; whenever httparse rejects a head, so do we. The oracle logic is
//! `shardbox_http::props::check_parse` (shared with the `http_parse` fuzz target); this file
//! feeds it the committed corpus and generated heads.
//!
//! # Stricter than httparse (the one list; `docs/architecture.md` repeats it)
//!
//! | our error | status | httparse accepts |
//! |---|---|---|
//! | `InvalidLineEnding` | 400 | bare LF as a line end, and empty bare-LF lines before the request line |
//! | `InvalidTarget` | 400 | bytes ≥ 0x80 (UTF-8) in the request target |
//! | `HeadTooLarge` | 431 | heads of any size |
//! | `TargetTooLong` | 414 | targets of any length |
//! | `MissingHost`, `DuplicateHost`, `InvalidHost` | 400 | any Host (it does not interpret headers) |
//! | `InvalidContentLength`, `ConflictingContentLength` | 400 | any Content-Length |
//! | `ContentLengthWithTransferEncoding`, `TransferEncodingInHttp10` | 400 | both / TE in 1.0 |
//! | `InvalidTransferEncoding`, `ChunkedNotLast` | 400 | any Transfer-Encoding |
//! | `UnsupportedTransferCoding` | 501 | codings other than chunked |
//! | `ExpectationFailed` | 417 | any Expect |
//! | `BodyTooLarge` | 413 | any Content-Length |

use proptest::prelude::*;
use shardbox_http::props::check_parse;
use shardbox_http::{BodyKind, ParseError, Parsed};

use crate::corpus::corpus;
use crate::support::parse_with;

/// What we answer for each committed seed: the corpus doubles as a table of named cases.
fn expected(name: &str) -> Result<Option<BodyKind>, ParseError> {
    use ParseError as E;
    Ok(Some(match name {
        "post-cl" => BodyKind::Length(2),
        "cl-same-twice" => BodyKind::Length(3),
        "expect-continue" => BodyKind::Length(10),
        "post-chunked" | "te-tab" => BodyKind::Chunked,
        "get-hello" | "get-browser" | "pipelined" | "leading-crlf" | "websocket"
        | "http10-keepalive" | "absolute-form" | "connect" | "options-star"
        | "lowercase-method" | "obs-text-value" | "empty-value" | "tab-ows" => BodyKind::None,
        "partial-head" => return Ok(None),
        "bad-bare-lf" | "bad-bare-lf-header" | "bad-bare-cr" | "smuggle-lf-in-leading" => {
            return Err(E::InvalidLineEnding);
        }
        "bad-obs-fold" => return Err(E::ObsFold),
        "bad-space-before-colon" => return Err(E::SpaceBeforeColon),
        "smuggle-cl-te" | "smuggle-te-cl" => return Err(E::ContentLengthWithTransferEncoding),
        "smuggle-te-xchunked" | "smuggle-te-chunked-identity" | "smuggle-te-twice" => {
            return Err(E::ChunkedNotLast);
        }
        "smuggle-te-vt" | "smuggle-nul-value" | "smuggle-del-value" => {
            return Err(E::InvalidHeaderValue);
        }
        "smuggle-te-empty-member" | "smuggle-te-quoted" => return Err(E::InvalidTransferEncoding),
        "smuggle-cl-differ" => return Err(E::ConflictingContentLength),
        "smuggle-cl-list"
        | "smuggle-cl-plus"
        | "smuggle-cl-negative"
        | "smuggle-cl-hex"
        | "smuggle-cl-overflow" => return Err(E::InvalidContentLength),
        "smuggle-te-http10" => return Err(E::TransferEncodingInHttp10),
        "bad-missing-host" => return Err(E::MissingHost),
        "bad-double-host" => return Err(E::DuplicateHost),
        "bad-host-space" => return Err(E::InvalidHost),
        "bad-http2" => return Err(E::VersionNotSupported),
        // Found by the fuzzer: we used to wait for the line end, httparse failed at once.
        "bad-http09" | "bad-version-case" | "bad-double-space" | "regress-version-garbage" => {
            return Err(E::InvalidRequestLine);
        }
        "bad-utf8-target" => return Err(E::InvalidTarget),
        "bad-expect" => return Err(E::ExpectationFailed),
        "bad-gzip" => return Err(E::UnsupportedTransferCoding),
        "bad-body-too-large" => {
            return Err(E::BodyTooLarge {
                len: 99_999_999_999,
                max: shardbox_http::limits::BODY_BYTES_MAX,
            });
        }
        "bad-tls-hello" => return Err(E::InvalidMethod),
        "bad-header-no-colon" => return Err(E::InvalidHeaderName),
        "bad-target-too-long" => {
            return Err(E::TargetTooLong { max: shardbox_http::limits::TARGET_BYTES_MAX });
        }
        "bad-too-many-headers" => {
            return Err(E::TooManyHeaders { max: shardbox_http::limits::HEADERS_COUNT_MAX });
        }
        "bad-head-too-large" => {
            return Err(E::HeadTooLarge { max: shardbox_http::limits::HEADER_BYTES_MAX });
        }
        other => panic!("seed {other} has no expected outcome: add it to this table"),
    }))
}

#[test]
fn corpus_outcomes_are_the_documented_ones() {
    for (name, data) in corpus("http_parse") {
        let data: &'static [u8] = data.leak();
        let got = parse_with(data, &shardbox_http::Limits::DEFAULT).map(|p| match p {
            Parsed::Complete { request, .. } => Some(request.body),
            Parsed::Partial => None,
        });
        assert_eq!(got, expected(&name), "seed {name}");
        check_parse(data);
    }
}

#[test]
fn status_codes_of_the_classics() {
    let status = |name: &str| expected(name).unwrap_err().status();
    assert_eq!(status("smuggle-cl-te"), 400);
    assert_eq!(status("bad-gzip"), 501);
    assert_eq!(status("bad-http2"), 505);
    assert_eq!(status("bad-expect"), 417);
    assert_eq!(status("bad-body-too-large"), 413);
    assert_eq!(status("bad-target-too-long"), 414);
    assert_eq!(status("bad-head-too-large"), 431);
    assert_eq!(status("bad-too-many-headers"), 431);
}

/// Building blocks of generated heads: mostly valid, with the separators, line ends and values
/// where parsers disagree in practice.
fn method() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "get"])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => "[A-Za-z!#$%&'*+.^_`|~-]{1,8}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..4),
    ]
}

fn target() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => "/[a-zA-Z0-9/?=&%._~#-]{0,24}".prop_map(String::into_bytes),
        1 => prop::sample::select(vec!["*", "http://a/b?c", "a.example:443", "/caf\u{e9}"])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..6),
    ]
}

fn version() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        8 => Just("HTTP/1.1"),
        3 => Just("HTTP/1.0"),
        1 => prop::sample::select(vec!["HTTP/2.0", "HTTP/1.2", "http/1.1", "HTTP/1.", "HTTP/11", "HTTP/1.1 "]),
    ]
}

fn eol() -> impl Strategy<Value = &'static str> {
    prop_oneof![20 => Just("\r\n"), 1 => Just("\n"), 1 => Just("\r"), 1 => Just("\r\r\n")]
}

fn header() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        prop::sample::select(vec![
            "Host",
            "host",
            "Content-Length",
            "Transfer-Encoding",
            "Connection",
            "Expect",
            "Upgrade",
            "X-A",
            "Cookie",
            "",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,10}".prop_map(String::into_bytes),
    ];
    let colon = prop_oneof![8 => Just(":"), 4 => Just(": "), 1 => Just(" :"), 1 => Just(":\t"), 1 => Just("")];
    let value = prop_oneof![
        prop::sample::select(vec![
            "a",
            "example.com:80",
            "[::1]",
            "a b",
            "0",
            "5",
            "05",
            "5, 5",
            "-1",
            "18446744073709551616",
            "chunked",
            "Chunked",
            "gzip, chunked",
            "chunked, gzip",
            ", chunked",
            "chunked , ",
            "close",
            "keep-alive",
            "Upgrade",
            "keep-alive, upgrade",
            "websocket",
            "100-continue",
            "100-Continue ",
            "nope",
            "",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        "[ -~\t]{0,16}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..6),
    ];
    (name, colon, value, eol()).prop_map(|(mut n, c, v, e)| {
        n.extend_from_slice(c.as_bytes());
        n.extend_from_slice(&v);
        n.extend_from_slice(e.as_bytes());
        n
    })
}

prop_compose! {
    fn head()(
        lead in prop_oneof![10 => Just(""), 1 => Just("\r\n"), 1 => Just("\n")],
        m in method(),
        sp1 in prop_oneof![10 => Just(" "), 1 => Just("  "), 1 => Just("\t")],
        t in target(),
        sp2 in prop_oneof![10 => Just(" "), 1 => Just("")],
        v in version(),
        e in eol(),
        hs in prop::collection::vec(header(), 0..8),
        end in prop_oneof![10 => Just("\r\n"), 1 => Just("\n"), 1 => Just("")],
        body in prop::collection::vec(any::<u8>(), 0..8),
    ) -> Vec<u8> {
        let mut b = lead.as_bytes().to_vec();
        b.extend_from_slice(&m);
        b.extend_from_slice(sp1.as_bytes());
        b.extend_from_slice(&t);
        b.extend_from_slice(sp2.as_bytes());
        b.extend_from_slice(v.as_bytes());
        b.extend_from_slice(e.as_bytes());
        for h in hs {
            b.extend_from_slice(&h);
        }
        b.extend_from_slice(end.as_bytes());
        b.extend_from_slice(&body);
        b
    }
}

/// A generated head with one random byte changed, inserted or removed.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (head(), any::<prop::sample::Index>(), any::<u8>(), 0..3u8).prop_map(|(mut b, at, byte, op)| {
        if b.is_empty() {
            return b;
        }
        let i = at.index(b.len());
        match op {
            0 => b[i] = byte,
            1 => b.insert(i, byte),
            _ => {
                b.remove(i);
            }
        }
        b
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn generated_heads_agree_with_httparse(data in head()) {
        check_parse(&data);
    }

    #[test]
    fn mutated_heads_agree_with_httparse(data in mutated()) {
        check_parse(&data);
    }

    #[test]
    fn arbitrary_bytes_agree_with_httparse(data in prop::collection::vec(any::<u8>(), 0..64)) {
        check_parse(&data);
    }
}
