//! Property tests of the request model and the result encoder over generated hostile input:
//! `Request::parse` never panics on arbitrary bytes or on schema-shaped JSON with random keys
//! (any case), types and values, and every request it accepts satisfies the invariants the run
//! orchestration relies on; `write_json_string` turns any bytes into a JSON string that parses
//! back, never carries a raw `<`, `>` or `&`, and keeps valid UTF-8 exactly.

use proptest::prelude::*;

use super::*;
use crate::limits::{CMDS_MAX, FILES_MAX, PIPE_MAPPINGS_MAX};

/// Keys of the schema (and a few unknown ones), in random letter case.
fn key() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec![
        "cmd",
        "pipeMapping",
        "requestId",
        "args",
        "env",
        "files",
        "tty",
        "cpuLimit",
        "clockLimit",
        "realCpuLimit",
        "memoryLimit",
        "stackLimit",
        "procLimit",
        "cpuRateLimit",
        "cpuSetLimit",
        "copyIn",
        "copyOut",
        "copyOutCached",
        "copyOutMax",
        "copyOutTruncate",
        "dataSegmentLimit",
        "addressSpaceLimit",
        "src",
        "content",
        "fileId",
        "name",
        "max",
        "pipe",
        "symlink",
        "streamIn",
        "streamOut",
        "in",
        "out",
        "index",
        "fd",
        "proxy",
        "disableZeroCopy",
        "bogus",
        "",
    ]);
    (names, any::<u64>()).prop_map(|(name, case)| {
        name.chars()
            .enumerate()
            .map(|(i, c)| if case >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

/// A JSON scalar biased towards what the schema's fields hold, and what breaks them.
fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        (0u64..80).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("18446744073709551616".to_string()),
        Just("1.5".to_string()),
        Just("1e3".to_string()),
        Just("-0".to_string()),
        prop::sample::select(vec![
            "\"\"",
            "\"/bin/true\"",
            "\"true\"",
            "\"a/b\"",
            "\"..\"",
            "\"x?\"",
            "\"0-1\"",
            "\"\\u0000\"",
            "\"stdout\"",
            "\"PATH=/bin\"",
            "\"\\ud800\"",
        ])
        .prop_map(str::to_string),
    ]
}

/// A JSON value: scalars, arrays and objects with schema keys, nested a few levels.
fn value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key(), inner), 0..6).prop_map(|kv| {
                let fields: Vec<String> =
                    kv.into_iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

/// What the orchestration relies on for an accepted request.
fn check_invariants(r: &Request) {
    assert!(!r.cmds.is_empty() && r.cmds.len() <= CMDS_MAX);
    assert!(r.pipes.len() <= PIPE_MAPPINGS_MAX);
    if r.cmds.len() == 1 {
        assert!(r.pipes.is_empty(), "one command ignores pipeMapping");
    }
    for c in &r.cmds {
        assert!(!c.args.is_empty(), "argv[0] exists");
        assert!(c.files.len() <= FILES_MAX);
        assert!(c.files.iter().all(Option::is_some), "no null slot is left");
        assert!(c.copy_out_max_bytes > 0);
        for f in c.files.iter().flatten() {
            if let CmdFile::Pipe(k) = f {
                assert!(*k < r.pipes.len(), "a pipe slot names a pipe");
            }
        }
    }
    for (k, p) in r.pipes.iter().enumerate() {
        for end in [&p.writer, &p.reader] {
            let slot = r.cmds.get(end.cmd).and_then(|c| c.files.get(end.fd));
            assert_eq!(slot, Some(&Some(CmdFile::Pipe(k))), "pipe {k} owns its slots");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(r) = Request::parse(&body, &ParseOptions::default()) {
            check_invariants(&r);
        }
    }

    #[test]
    fn schema_shaped_json_never_panics_and_accepted_requests_hold(
        v in value(),
        fields in prop::collection::vec((key(), prop_oneof![scalar(), value()]), 0..6),
    ) {
        // A valid command plus random fields (a later duplicate key wins, as in Go).
        let fields: String = fields.iter().map(|(k, v)| format!(",{k:?}:{v}")).collect();
        let cmd = format!(r#"{{"args":["a"]{fields}}}"#);
        for body in [v.clone(), format!(r#"{{"cmd":{v}}}"#), format!(r#"{{"cmd":[{cmd}]}}"#)] {
            if let Ok(r) = Request::parse(body.as_bytes(), &ParseOptions::default()) {
                check_invariants(&r);
            }
        }
    }

    #[test]
    fn generated_commands_with_pipes_hold(
        cmds in prop::collection::vec(value(), 1..4),
        maps in prop::collection::vec((0i64..4, 0i64..5, 0i64..4, 0i64..5, any::<bool>()), 0..4),
    ) {
        let cmds: Vec<String> = cmds
            .iter()
            .map(|c| format!(r#"{{"args":["a"],"files":[{{"content":""}}],"x":{c}}}"#))
            .collect();
        let maps: Vec<String> = maps
            .iter()
            .map(|(i, a, j, b, proxy)| {
                format!(r#"{{"in":{{"index":{i},"fd":{a}}},"out":{{"index":{j},"fd":{b}}},"proxy":{proxy},"name":"cap","max":3}}"#)
            })
            .collect();
        let body = format!(r#"{{"cmd":[{}],"pipeMapping":[{}]}}"#, cmds.join(","), maps.join(","));
        if let Ok(r) = Request::parse(body.as_bytes(), &ParseOptions::default()) {
            check_invariants(&r);
        }
    }

    #[test]
    fn any_bytes_encode_to_a_json_string(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut out = Vec::new();
        crate::result::write_json_string(&mut out, &bytes);
        prop_assert!(!out.iter().any(|b| matches!(b, b'<' | b'>' | b'&')), "Go escapes HTML");
        let back: String = sonic_rs::from_slice(&out).map_err(|e| {
            TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&out)))
        })?;
        if let Ok(text) = std::str::from_utf8(&bytes) {
            prop_assert_eq!(back.as_str(), text);
        } else {
            prop_assert!(back.contains(char::REPLACEMENT_CHARACTER), "invalid UTF-8 is replaced");
        }
    }
}
