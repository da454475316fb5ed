//! Hostile and malformed `/run` bodies beyond the table of `run.rs`: wrong JSON types, numbers
//! out of range, deep nesting, invalid UTF-8, NULs, bad collector names, stream files and null
//! copy-in values. Each gets 400 (or go-judge's 500) with a JSON-string body, on the same
//! connection, and the server then still runs programs.

use super::{echo_cmd, json, output, post_run, require_judge, start};

#[test]
fn malformed_bodies_get_400_and_the_server_keeps_serving() {
    require_judge!();
    let server = start(&[]);
    let mut c = server.client();
    let deep = format!(r#"{{"cmd":{}{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    let cases: Vec<(String, &str)> = vec![
        (r#"{"cmd":[{]}"#.into(), "invalid"),
        (r#"{"cmd":[{"args":["a"]}"#.into(), "invalid JSON"),
        ("[1,2,3]".into(), "cannot unmarshal array into Go value of type model.Request"),
        (r#"{"cmd":{"args":["a"]}}"#.into(), "cannot unmarshal object"),
        (r#"{"cmd":[{"args":"echo"}]}"#.into(), "cannot unmarshal string"),
        (r#"{"cmd":[{"args":[1]}]}"#.into(), "cannot unmarshal number"),
        (r#"{"cmd":[{"args":["a"],"cpuLimit":"1"}]}"#.into(), "cannot unmarshal string"),
        (
            r#"{"cmd":[{"args":["a"],"cpuLimit":18446744073709551616}]}"#.into(),
            "cannot unmarshal number 18446744073709551616",
        ),
        (r#"{"cmd":[{"args":["a"],"memoryLimit":-0.5}]}"#.into(), "cannot unmarshal number -0.5"),
        (r#"{"cmd":[{"args":["a"],"tty":"yes"}]}"#.into(), "cannot unmarshal string"),
        (deep, "nest"),
        ("{}".into(), "no cmd provided"),
        (r#"{"cmd":null}"#.into(), "no cmd provided"),
        (r#"{"cmd":[{"args":["a\u0000b"]}]}"#.into(), "NUL byte"),
        (r#"{"cmd":[{"args":["a"],"files":[{"name":"../x","max":1}]}]}"#.into(), "collector name"),
        (r#"{"cmd":[{"args":["a"],"files":[{"name":"x"}]}]}"#.into(), "file type is not valid"),
        (r#"{"cmd":[{"args":["a"],"files":[{"name":"x","max":-1}]}]}"#.into(), "max is negative"),
        (r#"{"cmd":[{"args":["a"],"files":[{"streamIn":true}]}]}"#.into(), "only valid on /stream"),
        (r#"{"cmd":[{"args":["a"],"copyIn":{"x":null}}]}"#.into(), "file type is not valid"),
        (
            r#"{"cmd":[{"args":["a"],"copyIn":{"x":{"name":"stdout","max":1}}}]}"#.into(),
            "copyIn takes",
        ),
        (r#"{"cmd":[{"args":["a"],"cpuSetLimit":"all"}]}"#.into(), "not a CPU list"),
        (r#"{"cmd":[{"args":["a"],"copyOut":[""]}]}"#.into(), "is empty"),
    ];
    for (body, message) in &cases {
        let r = post_run(&mut c, body);
        assert_eq!(r.status, 400, "{body:.120}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
        let text: String =
            sonic_rs::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()));
        assert!(text.contains(message), "{body:.120}: {text}");
    }
    // Invalid UTF-8 inside a JSON string is replaced (Go's decoder does the same), not refused.
    let mut body = br#"{"cmd":[{"args":["/bin/echo","a"#.to_vec();
    body.extend_from_slice(&[0xff, 0xfe]);
    body.extend_from_slice(
        br#""],"files":[{"content":""},{"name":"stdout","max":100}],"cpuLimit":1000000000,"memoryLimit":67108864,"procLimit":5}]}"#,
    );
    let r = super::request(&mut c, "POST", "/run", &[], &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(output(&json(&r), 0, "stdout"), "a\u{fffd}\u{fffd}\n");
    // The same connection still runs programs.
    let v = json(&post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, echo_cmd("survived"))));
    assert_eq!(output(&v, 0, "stdout"), "survived\n");
}
