//! Every file kind through the binary: `content`, `src` under `-src-prefix` (and refused outside
//! it, also through a symlink), a `fileId` uploaded with `POST /file`, `pipe: true` collectors,
//! `null` slots filled by pipes, `copyIn` with a symlink; `copyOut` with `?`, `copyOutCached`
//! (served by `GET /file/{id}`), `copyOutMax` and `copyOutTruncate`; and pipe mappings with a
//! proxy that captures under `name` up to `max`. The wire shape of each is checked as a client
//! sees it.

use sonic_rs::{JsonContainerTrait, JsonValueTrait};

use super::file::{id_of, upload};
use super::{field, json, output, post_run, require_judge, start};

/// A temporary host directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("shardbox-it-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        TempDir(d)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sh(script: &str, files: &str, extra: &str) -> String {
    format!(
        r#"{{"args":["/bin/sh","-c","{script}"],"env":["PATH=/usr/bin:/bin"],"files":{files},
            "cpuLimit":5000000000,"clockLimit":10000000000,"memoryLimit":134217728,
            "procLimit":50{extra}}}"#
    )
}

const OUT: &str = r#"{"name":"stdout","max":10240},{"name":"stderr","max":10240}"#;

#[test]
fn inputs_from_content_src_and_file_id() {
    require_judge!();
    let dir = TempDir::new("src-prefix");
    std::fs::write(dir.path("in.txt"), b"from src\n").expect("write");
    std::os::unix::fs::symlink("/etc/hostname", dir.path("escape")).expect("symlink");
    let server = start(&["-src-prefix", &dir.0.display().to_string()]);
    let mut c = server.client();
    let id = id_of(&upload(&mut c, "up.txt", b"from the store\n"));
    let cat = |stdin: &str| {
        format!(
            r#"{{"cmd":[{}]}}"#,
            sh("cat; cat copied", &format!("[{stdin},{OUT}]"), &{
                format!(r#","copyIn":{{"copied":{stdin}}}"#)
            })
        )
    };
    for (stdin, want) in [
        (r#"{"content":"inline\n"}"#.to_string(), "inline\n"),
        (format!(r#"{{"src":"{}"}}"#, dir.path("in.txt")), "from src\n"),
        (format!(r#"{{"fileId":"{id}"}}"#), "from the store\n"),
    ] {
        let r = post_run(&mut c, &cat(&stdin));
        assert_eq!(r.status, 200, "{stdin}: {}", r.text());
        assert_eq!(output(&json(&r), 0, "stdout"), want.repeat(2), "{stdin}");
    }
    // Outside the prefix, directly or through a symlink inside it: 400 before anything runs.
    for (src, message) in [
        ("/etc/hostname".to_string(), "file (/etc/hostname) does not under (["),
        (dir.path("escape"), "does not under (["),
        (dir.path("missing"), "missing): no such file or directory"),
    ] {
        for place in ["stdin", "copyIn"] {
            let body = if place == "stdin" {
                format!(
                    r#"{{"cmd":[{}]}}"#,
                    sh("cat", &format!(r#"[{{"src":"{src}"}},{OUT}]"#), "")
                )
            } else {
                format!(
                    r#"{{"cmd":[{}]}}"#,
                    sh(
                        "cat x",
                        &format!("[{{\"content\":\"\"}},{OUT}]"),
                        &format!(r#","copyIn":{{"x":{{"src":"{src}"}}}}"#)
                    )
                )
            };
            let r = post_run(&mut c, &body);
            assert_eq!(r.status, 400, "{place} {src}: {}", r.text());
            let text: String = sonic_rs::from_slice(&r.body).expect("a JSON string");
            assert!(text.contains(message), "{place} {src}: {text}");
        }
    }
    // An unknown fileId in copyIn is go-judge's 500 with its message.
    let body = format!(
        r#"{{"cmd":[{}]}}"#,
        sh(
            "true",
            &format!("[{{\"content\":\"\"}},{OUT}]"),
            r#","copyIn":{"x":{"fileId":"ZZZZZZZZ"}}"#
        )
    );
    let r = post_run(&mut c, &body);
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(r.text(), r#""file does not exists with id: \"ZZZZZZZZ\"""#);
    // Still serving.
    let r = post_run(&mut c, &cat(r#"{"content":"ok\n"}"#));
    assert_eq!(output(&json(&r), 0, "stdout"), "ok\nok\n");
}

#[test]
fn collectors_symlinks_and_copy_out() {
    require_judge!();
    let server = start(&[]);
    let mut c = server.client();
    // pipe: true collectors, one name shared by fds 1 and 2; a copyIn symlink.
    let body = format!(
        r#"{{"cmd":[{}]}}"#,
        sh(
            "cat link; echo err >&2",
            r#"[{"content":""},{"name":"both","max":100,"pipe":true},{"name":"both","max":100,"pipe":true}]"#,
            r#","copyIn":{"real.txt":{"content":"via link\n"},"link":{"symlink":"real.txt"}}"#
        )
    );
    let v = json(&post_run(&mut c, &body));
    assert_eq!(field(&v, 0, "status"), "Accepted");
    assert_eq!(output(&v, 0, "both"), "via link\nerr\n");
    // copyOut with `?`, copyOutCached, copyOutMax with copyOutTruncate.
    let setup = "printf 1234567890 > ten; echo -n ok > c.out; echo log";
    let body = format!(
        r#"{{"cmd":[{}]}}"#,
        sh(
            setup,
            &format!("[{{\"content\":\"\"}},{OUT}]"),
            r#","copyOut":["ten","absent?"],"copyOutCached":["c.out"],"copyOutMax":5,"copyOutTruncate":true"#
        )
    );
    let r = post_run(&mut c, &body);
    let v = json(&r);
    let item = v.as_array().and_then(|a| a.first()).expect("result");
    assert_eq!(field(&v, 0, "status"), "File Error", "{}", r.text());
    assert_eq!(field(&v, 0, "error"), r#"copyout: "ten" size (10) exceeds limit (5)"#);
    assert_eq!(output(&v, 0, "ten"), "12345", "truncated to copyOutMax");
    assert_eq!(output(&v, 0, "stdout"), "log\n", "collectors are not copy-out files");
    let files = item.get("files").and_then(|f| f.as_object()).expect("files");
    assert!(files.get(&"absent").is_none(), "optional and missing: {}", r.text());
    let fe = item.get("fileError").and_then(|f| f.as_array()).expect("fileError");
    assert_eq!(fe.len(), 1, "{}", r.text());
    assert_eq!(
        fe.first().and_then(|e| e.get("type")).and_then(|t| t.as_str()),
        Some("CopyOutSizeExceeded")
    );
    let id = item
        .get("fileIds")
        .and_then(|f| f.get("c.out"))
        .and_then(|i| i.as_str())
        .expect("a fileId for c.out")
        .to_owned();
    let got = c.get(&format!("/file/{id}"));
    assert_eq!((got.status, got.body.as_slice()), (200, &b"ok"[..]));
    // Not truncated: the file is omitted and only the fileError says why.
    let body = body.replace(r#","copyOutTruncate":true"#, "");
    let v = json(&post_run(&mut c, &body));
    let item = v.as_array().and_then(|a| a.first()).expect("result");
    assert!(item.get("files").and_then(|f| f.get("ten")).is_none());
    // A missing non-optional copyOut is a File Error.
    let body = format!(
        r#"{{"cmd":[{}]}}"#,
        sh("true", &format!("[{{\"content\":\"\"}},{OUT}]"), r#","copyOut":["absent"]"#)
    );
    assert_eq!(field(&json(&post_run(&mut c, &body)), 0, "status"), "File Error");
}

#[test]
fn pipes_with_null_slots_and_a_capturing_proxy() {
    require_judge!();
    let server = start(&[]);
    let mut c = server.client();
    let producer = sh(
        "printf abcdefghij; echo done >&2",
        r#"[{"content":""},null,{"name":"stderr","max":100}]"#,
        "",
    );
    let consumer = sh("cat", r#"[null,{"name":"stdout","max":100}]"#, "");
    for proxy in [
        r#""proxy":false"#,
        r#""proxy":true,"name":"seen","max":4"#,
        r#""proxy":true,"name":"seen","max":4,"disableZeroCopy":true"#,
    ] {
        let body = format!(
            r#"{{"cmd":[{producer},{consumer}],"pipeMapping":[{{"in":{{"index":0,"fd":1}},"out":{{"index":1,"fd":0}},{proxy}}}]}}"#
        );
        let r = post_run(&mut c, &body);
        assert_eq!(r.status, 200, "{proxy}: {}", r.text());
        let v = json(&r);
        assert_eq!(field(&v, 0, "status"), "Accepted", "{proxy}: {}", r.text());
        assert_eq!(field(&v, 1, "status"), "Accepted", "{proxy}: {}", r.text());
        assert_eq!(output(&v, 1, "stdout"), "abcdefghij", "{proxy}");
        assert_eq!(output(&v, 0, "stderr"), "done\n");
        if proxy.contains("seen") {
            // Captured in the writer's result, cut at max without an Output Limit Exceeded.
            assert_eq!(output(&v, 0, "seen"), "abcd", "{proxy}: {}", r.text());
        } else {
            assert!(!r.text().contains("seen"));
        }
    }
    // A pipe onto a slot that is not null, and a null slot no pipe fills.
    let bad = [
        (r#"{"in":{"index":0,"fd":0},"out":{"index":1,"fd":0}}"#, "pipe: fd already occupied 0 0"),
        (r#"{"in":{"index":0,"fd":1},"out":{"index":1,"fd":5}}"#, "null file for index/fd: 1/0"),
        (r#"{"in":{"index":-1,"fd":1},"out":{"index":1,"fd":0}}"#, "pipe: index out of range -1"),
        (r#"{"in":{"index":0,"fd":-1},"out":{"index":1,"fd":0}}"#, "pipe: fd out of range -1"),
    ];
    for (map, message) in bad {
        let body = format!(r#"{{"cmd":[{producer},{consumer}],"pipeMapping":[{map}]}}"#);
        let r = post_run(&mut c, &body);
        assert_eq!(r.status, 500, "{map}: {}", r.text());
        let text: String = sonic_rs::from_slice(&r.body).expect("a JSON string");
        assert_eq!(text, message, "{map}");
    }
    // With one command, pipeMapping is ignored (go-judge's single-command path).
    let body = format!(
        r#"{{"cmd":[{}],"pipeMapping":[{{"in":{{"index":7,"fd":1}},"out":{{"index":9,"fd":0}}}}]}}"#,
        sh("echo single", &format!("[{{\"content\":\"\"}},{OUT}]"), "")
    );
    let r = post_run(&mut c, &body);
    assert_eq!(output(&json(&r), 0, "stdout"), "single\n", "{}", r.text());
}
