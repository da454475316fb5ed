//! Property functions of the judge's input handling, shared by the fuzz target
//! (`fuzz/fuzz_targets/judge_request.rs`), the corpus replay and the property tests
//! (`model/props.rs`). Built for tests and with the `props` feature; not part of the stable API.
//!
//! Each `check_*` takes arbitrary bytes and panics (via `assert!`) when a property does not hold;
//! it never panics when the properties hold, whatever the input.
//!
//! - [`check_request`]: `Request::parse` returns (never panics) on any body, and every request
//!   it accepts satisfies [`check_invariants`], what the run orchestration relies on; the body
//!   parsed with a `-src-prefix` is accepted only if it is accepted without one.
//! - [`check_json_string`]: `result::write_json_string` turns any bytes into a JSON string that
//!   parses back, with no raw `<`, `>` or `&`, valid UTF-8 kept exactly and invalid UTF-8
//!   replaced by U+FFFD.
#![cfg_attr(
    not(test),
    expect(clippy::panic, reason = "test oracle: panicking is how a property reports failure")
)]

use crate::limits::{CMDS_MAX, FILES_MAX, PIPE_MAPPINGS_MAX};
use crate::model::{CmdFile, ParseOptions, Request};

/// What the orchestration relies on for a request `Request::parse` accepted.
pub fn check_invariants(r: &Request) {
    assert!(!r.cmds.is_empty() && r.cmds.len() <= CMDS_MAX, "1..=CMDS_MAX commands");
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
            assert!(slot == Some(&Some(CmdFile::Pipe(k))), "pipe {k} owns its slots");
        }
    }
}

/// See the module documentation.
pub fn check_request(data: &[u8]) {
    let plain = Request::parse(data, &ParseOptions::default());
    if let Ok(r) = &plain {
        check_invariants(r);
    }
    // A prefix can only refuse more (`src` outside it), never accept more.
    let prefixed =
        ParseOptions::default().with_src_prefixes([std::path::PathBuf::from("/nonexistent")]);
    if let Ok(r) = Request::parse(data, &prefixed) {
        check_invariants(&r);
        assert!(plain.is_ok(), "a -src-prefix accepted what no prefix refused");
    }
}

/// See the module documentation.
pub fn check_json_string(data: &[u8]) {
    let mut out = Vec::new();
    crate::result::write_json_string(&mut out, data);
    assert!(!out.iter().any(|b| matches!(b, b'<' | b'>' | b'&')), "Go escapes HTML");
    let back: String = match sonic_rs::from_slice(&out) {
        Ok(s) => s,
        Err(e) => panic!("not a JSON string ({e}): {}", String::from_utf8_lossy(&out)),
    };
    match std::str::from_utf8(data) {
        Ok(text) => assert!(back == text, "valid UTF-8 is kept exactly"),
        Err(_) => assert!(back.contains(char::REPLACEMENT_CHARACTER), "invalid UTF-8 is replaced"),
    }
}
