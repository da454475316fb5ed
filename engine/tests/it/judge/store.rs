//! The file store behind the binary with `-dir` (files on disk, kept across a restart, usable
//! by `/run`) and with `-file-timeout` (an entry not read for that long is gone: 404, out of the
//! listing and off the disk; a read refreshes it), and a download type checked once per file.

use std::time::Duration;

use super::file::{id_of, upload};
use super::{json, output, post_run, request, require_judge, sh_cmd, start};

/// A temporary host directory removed when dropped.
pub(super) struct TempDir(pub(super) std::path::PathBuf);

impl TempDir {
    pub(super) fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("shardbox-it-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        TempDir(d)
    }

    fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn dir_store_round_trip_and_restart() {
    require_judge!();
    let dir = TempDir::new("store-dir");
    let dir_arg = dir.0.display().to_string();
    let server = start(&["-dir", &dir_arg]);
    let mut c = server.client();
    let config = c.get("/config");
    assert!(
        config.text().contains(&format!(r#""fileStorePath":"{dir_arg}""#)),
        "{}",
        config.text()
    );
    let data: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let id = id_of(&upload(&mut c, "blob.bin", &data));
    assert!(!dir.entries().is_empty(), "the file is on disk");
    let got = c.get(&format!("/file/{id}"));
    assert_eq!((got.status, got.body.len()), (200, data.len()));
    assert_eq!(got.body, data);
    // A run reads it by fileId, and caches its output into the same directory.
    let body = format!(
        r#"{{"cmd":[{}]}}"#,
        sh_cmd(
            "wc -c < in; echo -n made > out",
            &format!(r#","copyIn":{{"in":{{"fileId":"{id}"}}}},"copyOutCached":["out"]"#)
        )
    );
    let r = post_run(&mut c, &body);
    let v = json(&r);
    assert_eq!(output(&v, 0, "stdout"), "300000\n", "{}", r.text());
    use sonic_rs::{JsonContainerTrait, JsonValueTrait};
    let out_id = v
        .as_array()
        .and_then(|a| a.first())
        .and_then(|r| r.get("fileIds"))
        .and_then(|f| f.get("out"))
        .and_then(|s| s.as_str())
        .expect("cached id")
        .to_owned();
    let on_disk = dir.entries().len();
    drop(c);
    drop(server);
    // Restart on the same directory: both files are still served.
    let server = start(&["-dir", &dir_arg]);
    let mut c = server.client();
    assert_eq!(c.get(&format!("/file/{id}")).body, data);
    assert_eq!(c.get(&format!("/file/{out_id}")).body, b"made");
    let list = json(&c.get("/file"));
    assert!(list.get(&id).is_some() && list.get(&out_id).is_some(), "listed after a restart");
    assert_eq!(request(&mut c, "DELETE", &format!("/file/{id}"), &[], b"").status, 200);
    assert_eq!(dir.entries().len(), on_disk - 1, "deleted from the disk");
    assert_eq!(c.get(&format!("/file/{id}")).status, 404);
}

#[test]
fn entries_expire_after_the_file_timeout() {
    require_judge!();
    let dir = TempDir::new("store-ttl");
    for backend in [None, Some(dir.0.display().to_string())] {
        let mut args = vec!["-file-timeout", "2s"];
        if let Some(d) = &backend {
            args.extend(["-dir", d.as_str()]);
        }
        let server = start(&args);
        let mut c = server.client();
        let stale = id_of(&upload(&mut c, "stale", b"old"));
        let kept = id_of(&upload(&mut c, "kept", b"read often"));
        // Reads refresh the timeout: `kept` is read every 500 ms for 3 s (a read may be late
        // by 1.5 s on a loaded machine before the test could flake).
        for _ in 0..6 {
            std::thread::sleep(Duration::from_millis(500));
            assert_eq!(c.get(&format!("/file/{kept}")).status, 200, "{backend:?}");
        }
        assert_eq!(c.get(&format!("/file/{stale}")).status, 404, "expired: {backend:?}");
        let list = c.get("/file").text();
        assert!(!list.contains(&stale) && list.contains(&kept), "{backend:?}: {list}");
        if backend.is_some() {
            assert!(
                dir.entries().iter().all(|e| !e.contains(&stale)),
                "removed from the disk: {:?}",
                dir.entries()
            );
        }
    }
}

/// A download's text/binary `Content-Type` (no known extension) is decided once per stored
/// file: after the first GET, bytes changed on the `-dir` disk behind the server's back (stored
/// files are immutable, so only a test does this) are served, but the type is not re-checked,
/// by GET or HEAD. A server that read the file again per request would answer binary here.
#[test]
fn a_download_type_is_checked_once_per_file() {
    require_judge!();
    let dir = TempDir::new("store-type-once");
    let dir_arg = dir.0.display().to_string();
    let server = start(&["-dir", &dir_arg]);
    let mut c = server.client();
    let text = "é".repeat(40_000); // 80 000 bytes: a character spans the 64 KiB read boundary
    let id = id_of(&upload(&mut c, "notes", text.as_bytes()));
    let first = c.get(&format!("/file/{id}"));
    assert_eq!(first.header("content-type"), Some("text/plain; charset=utf-8"));
    assert!(first.body == text.as_bytes());
    let binary = vec![0u8; text.len()];
    std::fs::write(dir.0.join(&id), &binary).expect("overwrite the stored file");
    let again = c.get(&format!("/file/{id}"));
    assert!(again.body == binary, "the new bytes are served");
    assert_eq!(again.header("content-type"), Some("text/plain; charset=utf-8"), "not re-checked");
    c.send(format!("HEAD /file/{id} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    let head = c.read_reply_for(true).expect("HEAD reply");
    assert_eq!(head.header("content-type"), Some("text/plain; charset=utf-8"), "HEAD too");
    // Another file is checked on its own, and an empty one is text.
    let bin_id = id_of(&upload(&mut c, "blob", &binary));
    let b = c.get(&format!("/file/{bin_id}"));
    assert_eq!(b.header("content-type"), Some("application/octet-stream"));
    let empty_id = id_of(&upload(&mut c, "empty", b""));
    let e = c.get(&format!("/file/{empty_id}"));
    assert_eq!(e.header("content-type"), Some("text/plain; charset=utf-8"));
}
