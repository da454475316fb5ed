//! `/file` through the binary: upload (multipart field `file`), list, download with
//! `Content-Disposition`, delete, 404s, 400 for bodies without the field, the byte quota (507),
//! and `copyOutCached` ids served by `GET /file/{id}`.

use super::{json, post_run, request, require_judge, sh_cmd, start};
use crate::harness::{Client, Reply};

pub fn upload(c: &mut Client, name: &str, data: &[u8]) -> Reply {
    let mut body = Vec::new();
    body.extend_from_slice(
        b"--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nignored\r\n",
    );
    body.extend_from_slice(
        format!("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
    body.extend_from_slice(data);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    request(c, "POST", "/file", &[("Content-Type", "multipart/form-data; boundary=XyZ")], &body)
}

pub fn id_of(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.text());
    sonic_rs::from_slice::<String>(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()))
}

#[test]
fn upload_list_download_delete() {
    require_judge!();
    let server = start(&[]);
    let mut c = server.client();
    assert_eq!(c.get("/file").text(), "{}");
    let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let id = id_of(&upload(&mut c, "dir/a.bin", &data));
    assert_eq!(id.len(), 8, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)), "{id}");
    let text_id = id_of(&upload(&mut c, "hello.txt", b"hi\n"));
    let list = c.get("/file");
    assert_eq!(list.status, 200);
    let v = json(&list);
    use sonic_rs::JsonValueTrait;
    assert_eq!(v.get(&id).and_then(|n| n.as_str()), Some("a.bin"), "the basename is kept");
    assert_eq!(v.get(&text_id).and_then(|n| n.as_str()), Some("hello.txt"));
    let got = c.get(&format!("/file/{id}"));
    assert_eq!(got.status, 200);
    assert_eq!(got.body, data);
    assert_eq!(got.header("content-disposition"), Some(r#"attachment; filename="a.bin""#));
    assert_eq!(got.header("content-type"), Some("application/octet-stream"));
    let got = c.get(&format!("/file/{text_id}"));
    assert_eq!(got.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(request(&mut c, "DELETE", &format!("/file/{id}"), &[], b"").status, 200);
    let gone = c.get(&format!("/file/{id}"));
    assert_eq!((gone.status, gone.body.len()), (404, 0));
    assert_eq!(request(&mut c, "DELETE", &format!("/file/{id}"), &[], b"").status, 404);
    for bad in ["/file/..%2F..%2Fetc%2Fpasswd", "/file/", "/file/a%zz"] {
        assert_eq!(c.get(bad).status, 404, "{bad}");
    }
}

#[test]
fn uploads_without_the_file_field_are_400() {
    require_judge!();
    let server = start(&[]);
    let mut c = server.client();
    let r = request(&mut c, "POST", "/file", &[("Content-Type", "text/plain")], b"raw bytes");
    assert_eq!((r.status, r.body.len()), (400, 0));
    let r = request(&mut c, "POST", "/file", &[], b"raw bytes");
    assert_eq!(r.status, 400);
    let body = b"--B\r\nContent-Disposition: form-data; name=\"notfile\"\r\n\r\nx\r\n--B--\r\n";
    let r = request(
        &mut c,
        "POST",
        "/file",
        &[("Content-Type", "multipart/form-data; boundary=B")],
        body,
    );
    assert_eq!(r.status, 400);
    let r = request(
        &mut c,
        "POST",
        "/file",
        &[("Content-Type", "multipart/form-data; boundary=B")],
        b"--B\r\ntruncated",
    );
    assert_eq!(r.status, 400);
}

#[test]
fn the_quota_is_enforced_with_a_clear_error() {
    require_judge!();
    let server = start(&["-file-store-bytes-max", "1000"]);
    let mut c = server.client();
    let a = id_of(&upload(&mut c, "a", &[1; 999]));
    let full = upload(&mut c, "b", &[1; 2]);
    assert_eq!(full.status, 507, "{}", full.text());
    let text: String = sonic_rs::from_slice(&full.body).expect("a JSON string");
    assert!(text.starts_with("file store is full"), "{text}");
    id_of(&upload(&mut c, "c", &[1; 1]));
    // copyOutCached into a full store: File Error with the reason (go-judge#66 made clear).
    let v = json(&post_run(
        &mut c,
        &format!(r#"{{"cmd":[{}]}}"#, sh_cmd("echo data > out", r#","copyOutCached":["out"]"#)),
    ));
    use sonic_rs::{JsonContainerTrait, JsonValueTrait};
    let r0 = v.as_array().and_then(|a| a.first()).expect("one result");
    assert_eq!(r0.get("status").and_then(|s| s.as_str()), Some("File Error"));
    assert!(
        r0.get("error")
            .and_then(|s| s.as_str())
            .is_some_and(|e| e.starts_with("file store is full"))
    );
    assert_eq!(request(&mut c, "DELETE", &format!("/file/{a}"), &[], b"").status, 200);
    let v = json(&post_run(
        &mut c,
        &format!(r#"{{"cmd":[{}]}}"#, sh_cmd("echo data > out", r#","copyOutCached":["out"]"#)),
    ));
    let r0 = v.as_array().and_then(|a| a.first()).expect("one result");
    assert_eq!(r0.get("status").and_then(|s| s.as_str()), Some("Accepted"));
    let id = r0
        .get("fileIds")
        .and_then(|f| f.get("out"))
        .and_then(|s| s.as_str())
        .expect("id")
        .to_owned();
    let got = c.get(&format!("/file/{id}"));
    assert_eq!((got.status, got.body.as_slice()), (200, &b"data\n"[..]));
    assert_eq!(got.header("content-disposition"), Some(r#"attachment; filename="out""#));
}

/// A download is streamed from the store's file after its head, which is what it always was:
/// `Date`, `Content-Type`, `Content-Disposition`, `Content-Length`, in that order. HEAD gets
/// the same head and no body; pipelined requests behind a download are answered after its
/// last byte, on the same connection.
#[test]
fn downloads_keep_their_head_and_the_connection() {
    require_judge!();
    let server = start(&[]);
    let mut c = server.client();
    // Larger than a chunk and not a multiple of it; no extension and not UTF-8 (sniffed).
    let data: Vec<u8> = (0..300_001u32).map(|i| (i % 251) as u8).collect();
    let id = id_of(&upload(&mut c, "blob", &data));
    let text_id = id_of(&upload(&mut c, "notes", "é".repeat(70_000).as_bytes()));
    let get = format!("GET /file/{id} HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = format!("HEAD /file/{id} HTTP/1.1\r\nHost: t\r\n\r\n");
    c.send(format!("{head}{get}{get}GET /file HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    let h = c.read_reply_for(true).expect("HEAD reply");
    let names: Vec<&str> = h.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Date", "Content-Type", "Content-Disposition", "Content-Length"]);
    assert_eq!(h.header("content-type"), Some("application/octet-stream"));
    assert_eq!(h.header("content-length"), Some("300001"));
    assert!(h.body.is_empty(), "HEAD: no body");
    for _ in 0..2 {
        let g = c.read_reply().expect("GET reply");
        assert_eq!(g.status, 200);
        assert_eq!(g.headers.len(), h.headers.len());
        for ((n, v), (hn, hv)) in g.headers.iter().zip(&h.headers).skip(1) {
            assert_eq!((n, v), (hn, hv), "GET and HEAD heads are the same");
        }
        assert!(g.body == data, "the body is the file");
    }
    let list = c.read_reply().expect("the list, after both bodies");
    assert!(list.status == 200 && list.text().contains(&id), "{}", list.text());
    let t = c.get(&format!("/file/{text_id}"));
    assert_eq!(t.header("content-type"), Some("text/plain; charset=utf-8"), "UTF-8 over chunks");
    assert_eq!(t.body.len(), 140_000);
    // An empty file: a 200 with no body, and the connection goes on.
    let empty = id_of(&upload(&mut c, "empty.bin", b""));
    let e = c.get(&format!("/file/{empty}"));
    assert_eq!((e.status, e.header("content-length"), e.body.len()), (200, Some("0"), 0));
    assert_eq!(c.get("/version").status, 200);
}
