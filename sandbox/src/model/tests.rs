//! Unit tests of the request model: go-judge's `model_test.go` cases, Go JSON rules end to end,
//! every validation error and every limit at max-1, max and max+1.

use super::*;
use crate::limits::*;

fn parse(body: &str) -> Result<Request, RequestError> {
    Request::parse(body.as_bytes(), &ParseOptions::default())
}

fn one(cmd: &str) -> Result<Cmd, RequestError> {
    let mut r = parse(&format!(r#"{{"cmd":[{cmd}]}}"#))?;
    Ok(r.cmds.remove(0))
}

const BASE: &str = r#""args":["/bin/true"]"#;

fn json_strings(n: usize, each: &str) -> String {
    let v: Vec<String> = (0..n).map(|_| format!("{each:?}")).collect();
    format!("[{}]", v.join(","))
}

#[test]
fn full_request_converts() {
    let c = one(r#"{"args":["a","b"],"env":["PATH=/bin"],"files":[{"content":"in"},
        {"name":"stdout","max":10},{"name":"stderr","max":20,"pipe":true}],
        "cpuLimit":1,"clockLimit":2,"memoryLimit":3,"stackLimit":4,"procLimit":5,
        "cpuRateLimit":6,"cpuSetLimit":"0-1","strictMemoryLimit":true,"addressSpaceLimit":true,
        "copyIn":{"b":{"fileId":"ID"},"a":{"content":"x"},"l":{"symlink":"a"}},
        "copyOut":["o","p?"],"copyOutCached":["c"],"copyOutMax":7,"copyOutTruncate":true,
        "copyOutDir":"ignored","tty":true}"#)
    .expect("valid");
    assert_eq!(c.args, ["a", "b"]);
    assert_eq!(c.env, ["PATH=/bin"]);
    assert_eq!(
        c.files,
        [
            Some(CmdFile::Input(InputFile::Memory(b"in".to_vec()))),
            Some(CmdFile::Collector(Collector {
                name: "stdout".into(),
                max_bytes: 10,
                pipe: false
            })),
            Some(CmdFile::Collector(Collector {
                name: "stderr".into(),
                max_bytes: 20,
                pipe: true
            })),
        ]
    );
    assert_eq!(
        (c.cpu_limit_ns, c.clock_limit_ns, c.memory_limit_bytes, c.stack_limit_bytes),
        (1, 2, 3, 4)
    );
    assert_eq!((c.proc_limit, c.cpu_rate_limit, c.cpu_set_limit.as_str()), (5, 6, "0-1"));
    assert!(c.data_segment_limit, "strictMemoryLimit is the old name of dataSegmentLimit");
    assert!(c.address_space_limit && c.tty && c.copy_out_truncate);
    assert_eq!(
        c.copy_in,
        [
            ("a".to_owned(), CopyIn::File(InputFile::Memory(b"x".to_vec()))),
            ("b".to_owned(), CopyIn::File(InputFile::Cached("ID".into()))),
            ("l".to_owned(), CopyIn::Symlink("a".into())),
        ]
    );
    assert_eq!(
        c.copy_out,
        [
            CopyOut { name: "o".into(), optional: false },
            CopyOut { name: "p".into(), optional: true }
        ]
    );
    assert_eq!(c.copy_out_cached, [CopyOut { name: "c".into(), optional: false }]);
    assert_eq!(c.copy_out_max_bytes, 7);
}

#[test]
fn real_cpu_limit_overrides_clock_limit() {
    let c = one(r#"{"args":["a"],"clockLimit":5,"realCpuLimit":9,"cpuLimit":3}"#).expect("ok");
    assert_eq!((c.clock_limit_ns, c.wall_limit_ns()), (9, 9));
    let c = one(r#"{"args":["a"],"clockLimit":5,"realCpuLimit":0}"#).expect("ok");
    assert_eq!(c.clock_limit_ns, 5);
    let c = one(r#"{"args":["a"],"cpuLimit":3}"#).expect("ok");
    assert_eq!((c.clock_limit_ns, c.wall_limit_ns()), (0, 3), "no clock limit: wall uses cpu");
}

#[test]
fn copy_out_max_zero_uses_server_default() {
    let c = one(&format!("{{{BASE}}}")).expect("ok");
    assert_eq!(c.copy_out_max_bytes, COPY_OUT_BYTES_DEFAULT);
    let opts = ParseOptions { copy_out_bytes_default: 5, ..ParseOptions::default() };
    let r = Request::parse(format!("{{\"cmd\":[{{{BASE}}}]}}").as_bytes(), &opts).expect("ok");
    assert_eq!(r.cmds.first().map(|c| c.copy_out_max_bytes), Some(5));
}

// go-judge model_test.go: copyOut "?" parsing.
#[test]
fn copy_out_optional_suffix() {
    let c = one(r#"{"args":["a"],"copyOut":["a","b?","c??"]}"#).expect("ok");
    let got: Vec<(&str, bool)> = c.copy_out.iter().map(|o| (o.name.as_str(), o.optional)).collect();
    assert_eq!(got, [("a", false), ("b", true), ("c?", true)]);
    assert_eq!(
        one(r#"{"args":["a"],"copyOut":["?"]}"#),
        Err(RequestError::EmptyName(Site("cmd[0].copyOut[0]".into())))
    );
}

// go-judge model_test.go: convertCmdFile for src/content/fileId/collector/invalid, with the
// src > content > fileId > name+max precedence.
#[test]
fn file_kinds_and_precedence() {
    let file = |f: &str| one(&format!(r#"{{"args":["a"],"files":[{f}]}}"#)).map(|c| c.files);
    let host = |p: &str| Some(CmdFile::Input(InputFile::Host(PathBuf::from(p))));
    assert_eq!(file(r#"{"src":"/a","content":"b","fileId":"c"}"#), Ok(vec![host("/a")]));
    assert_eq!(
        file(r#"{"content":"b","fileId":"c","name":"n","max":1}"#),
        Ok(vec![Some(CmdFile::Input(InputFile::Memory(b"b".to_vec())))])
    );
    assert_eq!(
        file(r#"{"fileId":"c","name":"n","max":1}"#),
        Ok(vec![Some(CmdFile::Input(InputFile::Cached("c".into())))])
    );
    assert_eq!(
        file(r#"{"content":null,"name":"n","max":0}"#),
        Ok(vec![Some(CmdFile::Collector(Collector {
            name: "n".into(),
            max_bytes: 0,
            pipe: false
        }))])
    );
    for bad in [r#"{}"#, r#"{"name":"n"}"#, r#"{"max":1}"#, r#"{"pipe":true}"#] {
        assert_eq!(
            file(bad),
            Err(RequestError::InvalidFile(Site("cmd[0].files[0]".into()))),
            "{bad}"
        );
    }
    assert!(
        RequestError::InvalidFile(Site("x".into()))
            .to_string()
            .starts_with("file type is not valid for x"),
        "keeps go-judge's message prefix"
    );
    assert_eq!(
        file(r#"{"streamIn":true}"#),
        Err(RequestError::StreamFile(Site("cmd[0].files[0]".into())))
    );
    assert_eq!(
        file(r#"{"name":"n","max":-1}"#),
        Err(RequestError::NegativeMax(Site("cmd[0].files[0]".into())))
    );
    for bad in ["", ".", "..", "a/b"] {
        let r = file(&format!(r#"{{"name":{bad:?},"max":1}}"#));
        assert!(
            matches!(r, Err(RequestError::BadName(_) | RequestError::EmptyName(_))),
            "{bad:?}: {r:?}"
        );
    }
}

#[test]
fn copy_in_rejects_collectors_and_bad_values() {
    let ci = |v: &str| one(&format!(r#"{{"args":["a"],"copyIn":{{"k":{v}}}}}"#));
    assert!(matches!(ci(r#"{"name":"n","max":1}"#), Err(RequestError::CollectorInCopyIn(_))));
    assert!(matches!(ci("{}"), Err(RequestError::InvalidFile(_))));
    assert!(matches!(ci("null"), Err(RequestError::InvalidFile(_))), "go-judge: 400 too");
    assert!(matches!(ci(r#"{"symlink":""}"#), Err(RequestError::EmptyName(_))));
    assert_eq!(
        ci(r#"{"symlink":"t","src":"/x"}"#).map(|c| c.copy_in),
        Ok(vec![("k".to_owned(), CopyIn::Symlink("t".into()))]),
        "symlink is checked first"
    );
    let r = one(r#"{"args":["a"],"copyIn":{"":{"content":""}}}"#);
    assert!(matches!(r, Err(RequestError::EmptyName(_))), "{r:?}");
}

// go-judge model_test.go: CheckPathPrefixes (match, boundary, symlink escape) and the prefix
// check applied to files and copyIn.
#[test]
fn src_prefix_matches_by_component_and_resolves_symlinks() {
    let root = std::env::temp_dir().join(format!("shardbox-prefix-{}", std::process::id()));
    let allowed = root.join("allowed");
    let allowed2 = root.join("allowed2");
    std::fs::create_dir_all(&allowed).expect("mkdir");
    std::fs::create_dir_all(&allowed2).expect("mkdir");
    std::fs::write(allowed.join("f"), b"x").expect("write");
    std::fs::write(allowed2.join("f"), b"x").expect("write");
    let escape = allowed.join("escape");
    let _ = std::fs::remove_file(&escape);
    std::os::unix::fs::symlink(allowed2.join("f"), &escape).expect("symlink");
    let opts = ParseOptions::default().with_src_prefixes([allowed.clone()]);
    let run = |src: &std::path::Path, copy_in: bool| {
        let body = if copy_in {
            format!(r#"{{"cmd":[{{"args":["a"],"copyIn":{{"k":{{"src":{:?}}}}}}}]}}"#, src)
        } else {
            format!(r#"{{"cmd":[{{"args":["a"],"files":[{{"src":{:?}}}]}}]}}"#, src)
        };
        Request::parse(body.as_bytes(), &opts)
    };
    for copy_in in [false, true] {
        assert!(run(&allowed.join("f"), copy_in).is_ok());
        assert!(
            matches!(run(&allowed2.join("f"), copy_in), Err(RequestError::SrcOutsidePrefix { .. })),
            "allowed2 is not under allowed"
        );
        assert!(
            matches!(run(&escape, copy_in), Err(RequestError::SrcOutsidePrefix { .. })),
            "a symlink out of the prefix is followed and rejected"
        );
        assert!(
            matches!(
                run(&allowed.join("../allowed2/f"), copy_in),
                Err(RequestError::SrcOutsidePrefix { .. })
            ),
            "dot-dot is resolved"
        );
        assert!(matches!(
            run(&allowed.join("missing"), copy_in),
            Err(RequestError::SrcResolve { .. })
        ));
    }
    let e = run(&allowed2.join("f"), false).expect_err("outside");
    assert!(e.to_string().contains("does not under ([/"), "{e}");
    // Without prefixes any src is accepted unopened.
    assert!(parse(r#"{"cmd":[{"args":["a"],"files":[{"src":"/nonexistent"}]}]}"#).is_ok());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn request_level_errors() {
    assert_eq!(parse(""), Err(RequestError::Json(JsonError::Empty)));
    assert_eq!(parse("{}"), Err(RequestError::NoCmd));
    assert_eq!(parse(r#"{"cmd":null}"#), Err(RequestError::NoCmd));
    assert_eq!(parse(r#"{"cmd":[]}"#), Err(RequestError::NoCmd));
    assert_eq!(parse("null"), Err(RequestError::NoCmd));
    assert!(matches!(parse("{"), Err(RequestError::Json(JsonError::Syntax { .. }))));
    assert!(matches!(parse("[]"), Err(RequestError::Json(JsonError::TopLevel { .. }))));
    assert_eq!(parse(r#"{"cmd":[{}]}"#), Err(RequestError::EmptyArgs(Site("cmd[0]".into()))));
    assert!(matches!(
        parse(r#"{"cmd":[{"args":["a\u0000b"]}]}"#),
        Err(RequestError::NulByte(Site(s))) if s == "cmd[0].args[0]"
    ));
    assert!(matches!(
        parse(r#"{"cmd":[{"args":["a"],"env":["X=\u0000"]}]}"#),
        Err(RequestError::NulByte(_))
    ));
    for (field, v) in [("cpuLimit", "-1"), ("memoryLimit", "1.5"), ("procLimit", "1e3")] {
        let r = parse(&format!(r#"{{"cmd":[{{"args":["a"],"{field}":{v}}}]}}"#));
        assert!(matches!(r, Err(RequestError::Json(JsonError::Type { .. }))), "{field}: {r:?}");
    }
    let big = vec![b' '; REQUEST_BYTES_MAX + 1];
    assert!(matches!(
        Request::parse(&big, &ParseOptions::default()),
        Err(RequestError::BodyTooLarge { .. })
    ));
}

#[test]
fn pascal_case_request_from_the_wild() {
    let r = parse(
        r#"{"Cmd":[{"Args":["/bin/cat"],"Env":["PATH=/bin"],"Files":[{"Content":"x"},
        {"Name":"stdout","Max":10}],"CpuLimit":1000,"MemoryLimit":2000,"ProcLimit":1}]}"#,
    )
    .expect("go accepts PascalCase keys");
    let c = r.cmds.first().expect("cmd");
    assert_eq!((c.cpu_limit_ns, c.memory_limit_bytes, c.proc_limit), (1000, 2000, 1));
    assert_eq!(c.files.len(), 2);
}

// go-judge model_test.go: PipeMap conversion, plus the worker's pipe checks.
#[test]
fn pipe_mapping_fills_slots() {
    let r = parse(
        r#"{"cmd":[{"args":["a"],"files":[{"content":""},null,{"name":"stderr","max":1}]},
                   {"args":["b"],"files":[null,{"name":"stdout","max":1}]}],
            "pipeMapping":[{"in":{"index":0,"fd":1},"out":{"index":1,"fd":0},
                            "proxy":true,"name":"p","max":5,"disableZeroCopy":true},
                           {"in":{"index":1,"fd":2},"out":{"index":0,"fd":3}}]}"#,
    )
    .expect("valid");
    assert_eq!(
        r.pipes,
        [
            PipeMap {
                writer: PipeEnd { cmd: 0, fd: 1 },
                reader: PipeEnd { cmd: 1, fd: 0 },
                proxy: true,
                capture: Some(Capture { name: "p".into(), max_bytes: 5 }),
                disable_zero_copy: true,
            },
            PipeMap {
                writer: PipeEnd { cmd: 1, fd: 2 },
                reader: PipeEnd { cmd: 0, fd: 3 },
                proxy: false,
                capture: None,
                disable_zero_copy: false,
            },
        ]
    );
    let c0 = r.cmds.first().expect("cmd0");
    assert_eq!(c0.files.get(1), Some(&Some(CmdFile::Pipe(0))));
    assert_eq!(c0.files.get(3), Some(&Some(CmdFile::Pipe(1))), "files grew to fd 3");
    let c1 = r.cmds.get(1).expect("cmd1");
    assert_eq!(c1.files.len(), 3);
    assert_eq!(c1.files.first(), Some(&Some(CmdFile::Pipe(0))));
    assert_eq!(c1.files.get(2), Some(&Some(CmdFile::Pipe(1))));
}

#[test]
fn pipe_mapping_errors() {
    let two = |files0: &str, files1: &str, maps: &str| {
        parse(&format!(
            r#"{{"cmd":[{{"args":["a"],"files":{files0}}},{{"args":["b"],"files":{files1}}}],"pipeMapping":{maps}}}"#
        ))
    };
    assert_eq!(
        two("[]", "[]", r#"[{"in":{"index":2,"fd":1},"out":{"index":1,"fd":0}}]"#),
        Err(RequestError::PipeIndexOutOfRange(2))
    );
    assert_eq!(
        two("[]", "[]", r#"[{"in":{"index":-1,"fd":1},"out":{"index":1,"fd":0}}]"#),
        Err(RequestError::PipeIndexOutOfRange(-1))
    );
    assert_eq!(
        two("[]", "[]", r#"[{"in":{"index":0,"fd":-1},"out":{"index":1,"fd":0}}]"#),
        Err(RequestError::PipeFdOutOfRange(-1))
    );
    assert_eq!(
        two(
            r#"[{"content":""},{"name":"o","max":1}]"#,
            "[]",
            r#"[{"in":{"index":0,"fd":1},"out":{"index":1,"fd":0}}]"#
        ),
        Err(RequestError::FdOccupied { cmd: 0, fd: 1 })
    );
    assert_eq!(
        two(
            "[]",
            "[]",
            r#"[{"in":{"index":0,"fd":1},"out":{"index":1,"fd":0}},{"in":{"index":0,"fd":1},"out":{"index":1,"fd":3}}]"#
        ),
        Err(RequestError::FdOccupied { cmd: 0, fd: 1 }),
        "two mappings onto one slot"
    );
    assert_eq!(
        two("[]", "[]", r#"[{"in":{"index":0,"fd":2},"out":{"index":1,"fd":0}}]"#),
        Err(RequestError::NullFile { cmd: 0, fd: 0 }),
        "the grown array leaves fds 0 and 1 of cmd 0 unfilled"
    );
    assert_eq!(two(r#"[null]"#, "[]", "[]"), Err(RequestError::NullFile { cmd: 0, fd: 0 }));
    let r = two(
        "[]",
        "[]",
        &format!(r#"[{{"in":{{"index":0,"fd":{FILES_MAX}}},"out":{{"index":1,"fd":0}}}}]"#),
    );
    assert!(matches!(r, Err(RequestError::LimitExceeded { .. })), "{r:?}");
    assert_eq!(RequestError::NullFile { cmd: 1, fd: 2 }.to_string(), "null file for index/fd: 1/2");
    assert_eq!(RequestError::PipeIndexOutOfRange(3).to_string(), "pipe: index out of range 3");
}

#[test]
fn single_cmd_ignores_pipe_mapping_but_not_nulls() {
    let r = parse(
        r#"{"cmd":[{"args":["a"]}],"pipeMapping":[{"in":{"index":7,"fd":1},"out":{"index":9,"fd":0}}]}"#,
    )
    .expect("ignored for one cmd");
    assert!(r.pipes.is_empty());
    assert_eq!(
        parse(r#"{"cmd":[{"args":["a"],"files":[null]}]}"#),
        Err(RequestError::NullFile { cmd: 0, fd: 0 })
    );
}

fn is_limit(r: &Result<Request, RequestError>) -> bool {
    matches!(r, Err(RequestError::LimitExceeded { .. }))
}

#[test]
fn limit_cmd_count() {
    let body = |n: usize| {
        let cmds: Vec<String> = (0..n).map(|_| format!("{{{BASE}}}")).collect();
        format!(r#"{{"cmd":[{}]}}"#, cmds.join(","))
    };
    assert!(parse(&body(CMDS_MAX - 1)).is_ok());
    assert!(parse(&body(CMDS_MAX)).is_ok());
    assert!(is_limit(&parse(&body(CMDS_MAX + 1))));
}

#[test]
fn limit_argv_and_env_counts() {
    for (field, max) in [("args", ARGS_MAX), ("env", ENVS_MAX)] {
        for (n, ok) in [(max - 1, true), (max, true), (max + 1, false)] {
            let body = if field == "args" {
                format!(r#"{{"cmd":[{{"args":{}}}]}}"#, json_strings(n, "a"))
            } else {
                format!(r#"{{"cmd":[{{{BASE},"env":{}}}]}}"#, json_strings(n, "A=1"))
            };
            assert_eq!(parse(&body).is_ok(), ok, "{field} x {n}");
        }
    }
}

#[test]
fn limit_argv_env_total_bytes() {
    // 16 args whose bytes plus per-entry overhead total exactly ARGV_ENV_BYTES_MAX.
    let each = ARGV_ENV_BYTES_MAX / 16 - ARGV_ENV_ENTRY_OVERHEAD_BYTES;
    assert_eq!(16 * (each + ARGV_ENV_ENTRY_OVERHEAD_BYTES), ARGV_ENV_BYTES_MAX);
    let args = json_strings(16, &"y".repeat(each));
    assert!(parse(&format!(r#"{{"cmd":[{{"args":{args}}}]}}"#)).is_ok(), "exactly max");
    let mut longer = json_strings(15, &"y".repeat(each));
    longer.pop();
    longer.push_str(&format!(",{:?}]", "y".repeat(each + 1)));
    let r = parse(&format!(r#"{{"cmd":[{{"args":{longer}}}]}}"#));
    assert!(is_limit(&r), "max + 1: {r:?}");
    let r = parse(&format!(r#"{{"cmd":[{{"args":{args},"env":[""]}}]}}"#));
    assert!(is_limit(&r), "an empty env string still costs its overhead");
    let mut shorter = json_strings(15, &"y".repeat(each));
    shorter.pop();
    shorter.push_str(&format!(",{:?}]", "y".repeat(each - 1)));
    assert!(parse(&format!(r#"{{"cmd":[{{"args":{shorter}}}]}}"#)).is_ok(), "max - 1");
}

#[test]
fn limit_files_per_cmd() {
    let body = |n: usize| {
        let v: Vec<&str> = (0..n).map(|_| r#"{"content":""}"#).collect();
        format!(r#"{{"cmd":[{{{BASE},"files":[{}]}}]}}"#, v.join(","))
    };
    assert!(parse(&body(FILES_MAX - 1)).is_ok());
    assert!(parse(&body(FILES_MAX)).is_ok());
    assert!(is_limit(&parse(&body(FILES_MAX + 1))));
}

#[test]
fn limit_copy_in_and_copy_out_entries() {
    let copy_in = |n: usize| {
        let v: Vec<String> = (0..n).map(|i| format!(r#""f{i}":{{"content":""}}"#)).collect();
        format!(r#"{{"cmd":[{{{BASE},"copyIn":{{{}}}}}]}}"#, v.join(","))
    };
    assert!(parse(&copy_in(COPY_IN_MAX - 1)).is_ok());
    assert!(parse(&copy_in(COPY_IN_MAX)).is_ok());
    assert!(is_limit(&parse(&copy_in(COPY_IN_MAX + 1))));
    let copy_out = |n: usize| {
        let half = json_strings(n / 2, "o");
        let rest = json_strings(n - n / 2, "c");
        format!(r#"{{"cmd":[{{{BASE},"copyOut":{half},"copyOutCached":{rest}}}]}}"#)
    };
    assert!(parse(&copy_out(COPY_OUT_MAX - 1)).is_ok());
    assert!(parse(&copy_out(COPY_OUT_MAX)).is_ok());
    assert!(is_limit(&parse(&copy_out(COPY_OUT_MAX + 1))));
}

#[test]
fn limit_pipe_mappings() {
    // Mapping i joins cmd 2k (writer) and 2k+1 (reader) at a fresh fd, so only the count limit
    // can fail: 5 pairs of commands × fds 3..FILES_MAX.
    let fds = FILES_MAX - 3;
    assert!(5 * fds > PIPE_MAPPINGS_MAX, "enough distinct slots for the test");
    let body = |n: usize| {
        let maps: Vec<String> = (0..n)
            .map(|i| {
                let (pair, fd) = (i / fds, i % fds + 3);
                let (a, b) = (2 * pair, 2 * pair + 1);
                format!(r#"{{"in":{{"index":{a},"fd":{fd}}},"out":{{"index":{b},"fd":{fd}}}}}"#)
            })
            .collect();
        let cmd =
            format!(r#"{{{BASE},"files":[{{"content":""}},{{"content":""}},{{"content":""}}]}}"#);
        let cmds = vec![cmd; 10].join(",");
        format!(r#"{{"cmd":[{cmds}],"pipeMapping":[{}]}}"#, maps.join(","))
    };
    let r = parse(&body(PIPE_MAPPINGS_MAX - 1));
    assert!(r.is_ok(), "{r:?}");
    let r = parse(&body(PIPE_MAPPINGS_MAX));
    assert!(r.is_ok(), "{r:?}");
    assert!(is_limit(&parse(&body(PIPE_MAPPINGS_MAX + 1))));
}

#[test]
fn limit_path_and_name_bytes() {
    for (n, ok) in [(PATH_BYTES_MAX - 1, true), (PATH_BYTES_MAX, true), (PATH_BYTES_MAX + 1, false)]
    {
        let p = "p".repeat(n);
        assert_eq!(one(&format!(r#"{{{BASE},"copyOut":["{p}"]}}"#)).is_ok(), ok, "copyOut {n}");
        assert_eq!(
            one(&format!(r#"{{{BASE},"copyIn":{{"{p}":{{"content":""}}}}}}"#)).is_ok(),
            ok,
            "copyIn {n}"
        );
    }
    for (n, ok) in [(NAME_BYTES_MAX - 1, true), (NAME_BYTES_MAX, true), (NAME_BYTES_MAX + 1, false)]
    {
        let name = "n".repeat(n);
        let r = one(&format!(r#"{{{BASE},"files":[{{"name":"{name}","max":1}}]}}"#));
        assert_eq!(r.is_ok(), ok, "collector name {n}");
    }
}

#[test]
fn limit_tags() {
    for (n, ok) in [(TAG_BYTES_MAX - 1, true), (TAG_BYTES_MAX, true), (TAG_BYTES_MAX + 1, false)] {
        let t = "t".repeat(n);
        assert_eq!(parse(&format!(r#"{{"requestId":"{t}","cmd":[{{{BASE}}}]}}"#)).is_ok(), ok);
        // A valid CPU list of exactly n bytes: "0,0,...,0" or "10,0,...,0".
        let cpus = if n % 2 == 1 { "0".to_owned() } else { "10".to_owned() };
        let cpus = cpus + &",0".repeat((n - if n % 2 == 1 { 1 } else { 2 }) / 2);
        assert_eq!(cpus.len(), n);
        let r = one(&format!(r#"{{{BASE},"cpuSetLimit":"{cpus}"}}"#));
        assert_eq!(r.is_ok(), ok, "{n}: {r:?}");
    }
}

#[test]
fn cpu_set_limit_must_be_a_cpu_list() {
    for ok in ["", "0", "0-1", "0-3,8,10-11"] {
        assert!(one(&format!(r#"{{{BASE},"cpuSetLimit":"{ok}"}}"#)).is_ok(), "{ok}");
    }
    for bad in ["x", "1-0", "0-", ",", "0 1"] {
        let r = one(&format!(r#"{{{BASE},"cpuSetLimit":"{bad}"}}"#));
        assert_eq!(r, Err(RequestError::BadCpuSet(Site("cmd[0].cpuSetLimit".into()))), "{bad}");
    }
}

#[test]
fn body_size_limit_boundaries() {
    let pad = |n: usize| {
        let mut b = format!("{{\"cmd\":[{{{BASE}}}]}}").into_bytes();
        b.resize(n, b' ');
        b
    };
    let opts = ParseOptions::default();
    assert!(Request::parse(&pad(REQUEST_BYTES_MAX - 1), &opts).is_ok());
    assert!(Request::parse(&pad(REQUEST_BYTES_MAX), &opts).is_ok());
    assert!(matches!(
        Request::parse(&pad(REQUEST_BYTES_MAX + 1), &opts),
        Err(RequestError::BodyTooLarge { .. })
    ));
}
