//! Property tests of the request model and the result encoder over generated hostile input,
//! through the property functions of `crate::props` (the fuzz target's): `Request::parse` never
//! panics on arbitrary bytes or on schema-shaped JSON with random keys (any case), types and
//! values, and every request it accepts satisfies the invariants the run orchestration relies
//! on; `write_json_string` turns any bytes into a JSON string that parses back. Also replays the
//! committed fuzz corpus (`fuzz/corpus/judge_request/`).

use proptest::prelude::*;

use super::*;
use crate::props::{check_invariants, check_json_string, check_request};

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

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        check_request(&body);
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
        check_json_string(&bytes);
    }
}

#[test]
fn judge_request_corpus_holds_the_properties() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/judge_request");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "corpus {} has only {} files", dir.display(), files.len());
    let mut accepted = 0;
    for f in &files {
        let data = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        check_request(&data);
        check_json_string(&data);
        accepted += usize::from(Request::parse(&data, &ParseOptions::default()).is_ok());
    }
    assert!(accepted >= 5, "the seeds include valid requests: {accepted} of {}", files.len());
}
