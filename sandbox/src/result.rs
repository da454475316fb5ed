//! `POST /run` results and their exact go-judge JSON encoding.
//!
//! [`RunResult`] is one command's result; [`write_results`] encodes a slice of them as the bare
//! JSON array go-judge returns: keys in go-judge's order (`status`, `exitStatus`, `error`,
//! `time`, `memory`, `runTime`, `procPeak`, `files`, `fileIds`, `fileError`), empty `error`,
//! zero `procPeak` and empty maps or lists omitted, map keys sorted, and strings escaped as Go's
//! `encoding/json` does (`<`, `>`, `&`, U+2028 and U+2029 as `\u` escapes, invalid UTF-8 as
//! `\ufffd`), followed by `\n`. [`write_json_string`] is the string encoder, also used for
//! error bodies ([`error_body`]: a JSON string, no newline) and the file store's listing.
//!
//! Nothing here decides statuses (`status`) or collects files (`run`).

use std::collections::BTreeMap;

use crate::status::Status;

/// The `Content-Type` of every JSON response.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// go-judge's `fileError[].type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileErrorKind {
    /// A copy-in source could not be opened.
    CopyInOpenFile,
    /// A copy-in parent directory could not be created.
    CopyInCreateDir,
    /// A copy-in destination could not be created.
    CopyInCreateFile,
    /// Copying copy-in data failed (e.g. the tmpfs is full).
    CopyInCopyContent,
    /// A copy-out file could not be opened (missing, or not a regular file).
    CopyOutOpen,
    /// A copy-out path is not a regular file.
    CopyOutNotRegularFile,
    /// A copy-out file is larger than `copyOutMax`.
    CopyOutSizeExceeded,
    /// A copy-out destination could not be created.
    CopyOutCreateFile,
    /// Reading a copy-out file failed.
    CopyOutCopyContent,
    /// A collector received more than its `max`.
    CollectSizeExceeded,
    /// A copy-in symlink could not be created.
    Symlink,
}

impl FileErrorKind {
    /// The exact JSON string.
    pub fn as_str(self) -> &'static str {
        match self {
            FileErrorKind::CopyInOpenFile => "CopyInOpenFile",
            FileErrorKind::CopyInCreateDir => "CopyInCreateDir",
            FileErrorKind::CopyInCreateFile => "CopyInCreateFile",
            FileErrorKind::CopyInCopyContent => "CopyInCopyContent",
            FileErrorKind::CopyOutOpen => "CopyOutOpen",
            FileErrorKind::CopyOutNotRegularFile => "CopyOutNotRegularFile",
            FileErrorKind::CopyOutSizeExceeded => "CopyOutSizeExceeded",
            FileErrorKind::CopyOutCreateFile => "CopyOutCreateFile",
            FileErrorKind::CopyOutCopyContent => "CopyOutCopyContent",
            FileErrorKind::CollectSizeExceeded => "CollectSizeExceeded",
            FileErrorKind::Symlink => "Symlink",
        }
    }
}

/// One `fileError` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The file's name (copy-in path, copy-out name or collector name).
    pub name: String,
    /// What failed.
    pub kind: FileErrorKind,
    /// Human-readable detail (omitted from JSON when empty).
    pub message: String,
}

/// One command's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// `status`.
    pub status: Status,
    /// `exitStatus`: exit code or signal number.
    pub exit_status: i32,
    /// `error`, omitted when empty.
    pub error: String,
    /// `time`: CPU time, ns.
    pub time_ns: u64,
    /// `memory`: peak memory, bytes.
    pub memory_bytes: u64,
    /// `runTime`: wall time, ns.
    pub run_time_ns: u64,
    /// `procPeak`: peak task count, omitted when 0.
    pub proc_peak: u64,
    /// `files`: collectors and copy-out contents by name.
    pub files: BTreeMap<String, Vec<u8>>,
    /// `fileIds`: copy-out-cached ids by name.
    pub file_ids: BTreeMap<String, String>,
    /// `fileError`.
    pub file_errors: Vec<FileError>,
}

impl RunResult {
    /// A result with `status` and nothing else (zero usage, no files).
    pub fn new(status: Status) -> Self {
        Self {
            status,
            exit_status: 0,
            error: String::new(),
            time_ns: 0,
            memory_bytes: 0,
            run_time_ns: 0,
            proc_peak: 0,
            files: BTreeMap::new(),
            file_ids: BTreeMap::new(),
            file_errors: Vec::new(),
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `bytes` as a JSON string with Go's escaping: HTML-safe, `\b \f \n \r \t` short
/// forms, other control bytes as `\u00XX`, U+2028/U+2029 escaped, invalid UTF-8 as `\ufffd`.
pub fn write_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                write_valid(out, valid);
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                // `valid_up_to` is a char boundary by contract.
                write_valid(out, std::str::from_utf8(valid).unwrap_or(""));
                // Go's `utf8.DecodeRune` reports every invalid sequence as one bad byte, so
                // each byte that does not start a valid character becomes one U+FFFD.
                out.extend_from_slice(b"\\ufffd");
                rest = after.get(1..).unwrap_or(&[]);
            }
        }
    }
    out.push(b'"');
}

fn write_valid(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escape: Option<&[u8]> = match c {
            '"' => Some(b"\\\""),
            '\\' => Some(b"\\\\"),
            '\u{8}' => Some(b"\\b"),
            '\u{c}' => Some(b"\\f"),
            '\n' => Some(b"\\n"),
            '\r' => Some(b"\\r"),
            '\t' => Some(b"\\t"),
            '\u{2028}' => Some(b"\\u2028"),
            '\u{2029}' => Some(b"\\u2029"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => None,
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or(&[]));
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => {
                // ASCII by the match arm above.
                let b = u8::try_from(u32::from(c)).unwrap_or(b'?');
                out.extend_from_slice(b"\\u00");
                let hex = |n: u8| HEX.get(usize::from(n)).copied().unwrap_or(b'0');
                out.push(hex(b >> 4));
                out.push(hex(b & 0xf));
            }
        }
        start = i + c.len_utf8();
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or(&[]));
}

fn write_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(n.to_string().as_bytes());
}

fn write_key(out: &mut Vec<u8>, key: &str) {
    out.push(b',');
    write_json_string(out, key.as_bytes());
    out.push(b':');
}

/// Appends a JSON object of string values, keys sorted (a Go `map[string]string`).
pub fn write_string_map<'a, V: AsRef<[u8]> + 'a>(
    out: &mut Vec<u8>,
    entries: impl IntoIterator<Item = (&'a String, &'a V)>,
) {
    out.push(b'{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_string(out, k.as_bytes());
        out.push(b':');
        write_json_string(out, v.as_ref());
    }
    out.push(b'}');
}

/// Appends one result object.
pub fn write_result(out: &mut Vec<u8>, r: &RunResult) {
    out.extend_from_slice(b"{\"status\":");
    write_json_string(out, r.status.as_str().as_bytes());
    write_key(out, "exitStatus");
    out.extend_from_slice(r.exit_status.to_string().as_bytes());
    if !r.error.is_empty() {
        write_key(out, "error");
        write_json_string(out, r.error.as_bytes());
    }
    write_key(out, "time");
    write_u64(out, r.time_ns);
    write_key(out, "memory");
    write_u64(out, r.memory_bytes);
    write_key(out, "runTime");
    write_u64(out, r.run_time_ns);
    if r.proc_peak != 0 {
        write_key(out, "procPeak");
        write_u64(out, r.proc_peak);
    }
    if !r.files.is_empty() {
        write_key(out, "files");
        write_string_map(out, &r.files);
    }
    if !r.file_ids.is_empty() {
        write_key(out, "fileIds");
        write_string_map(out, &r.file_ids);
    }
    if !r.file_errors.is_empty() {
        write_key(out, "fileError");
        out.push(b'[');
        for (i, e) in r.file_errors.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"name\":");
            write_json_string(out, e.name.as_bytes());
            write_key(out, "type");
            write_json_string(out, e.kind.as_str().as_bytes());
            if !e.message.is_empty() {
                write_key(out, "message");
                write_json_string(out, e.message.as_bytes());
            }
            out.push(b'}');
        }
        out.push(b']');
    }
    out.push(b'}');
}

/// Appends the `POST /run` success body: a bare JSON array and `\n`.
pub fn write_results(out: &mut Vec<u8>, results: &[RunResult]) {
    out.push(b'[');
    for (i, r) in results.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_result(out, r);
    }
    out.extend_from_slice(b"]\n");
}

/// An error body: `message` as a JSON string, no newline (gin's `AbortWithStatusJSON`).
pub fn error_body(message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len().saturating_add(2));
    write_json_string(&mut out, message.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        write_json_string(&mut out, bytes);
        String::from_utf8(out).expect("the encoder emits ASCII or valid UTF-8")
    }

    #[test]
    fn go_string_escaping() {
        assert_eq!(s(b"plain"), r#""plain""#);
        assert_eq!(s(b"<a href=\"x\">&</a>"), r#""\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e""#);
        assert_eq!(
            s(b"\x08\x0c\n\r\t\x00\x1b\x1f\x7f"),
            "\"\\b\\f\\n\\r\\t\\u0000\\u001b\\u001f\u{7f}\""
        );
        assert_eq!(s("\u{2028}\u{2029}é😀".as_bytes()), "\"\\u2028\\u2029é😀\"");
        assert_eq!(s(b"a\\b"), r#""a\\b""#);
    }

    #[test]
    fn invalid_utf8_becomes_escaped_replacement() {
        assert_eq!(s(b"a\xffb"), r#""a\ufffdb""#);
        assert_eq!(s(b"\xff\xfe"), r#""\ufffd\ufffd""#, "one replacement per invalid byte");
        assert_eq!(
            s(b"\xe2\x82"),
            r#""\ufffd\ufffd""#,
            "a truncated sequence: one per byte, as Go"
        );
        assert_eq!(s(b"\xe2\x82x"), r#""\ufffd\ufffdx""#);
        assert_eq!(s(b"\xf0\x9f\x98\x80\xf0\x9f\x98"), r#""😀\ufffd\ufffd\ufffd""#);
        assert_eq!(s(b"\xed\xa0\x80"), r#""\ufffd\ufffd\ufffd""#, "an encoded surrogate");
    }

    #[test]
    fn result_key_order_and_omissions() {
        let mut r = RunResult::new(Status::Accepted);
        r.time_ns = 1;
        r.memory_bytes = 2;
        r.run_time_ns = 3;
        let mut out = Vec::new();
        write_results(&mut out, &[r.clone()]);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "[{\"status\":\"Accepted\",\"exitStatus\":0,\"time\":1,\"memory\":2,\"runTime\":3}]\n"
        );
        r.status = Status::FileError;
        r.exit_status = -1;
        r.error = "e<".into();
        r.proc_peak = 4;
        r.files.insert("stdout".into(), b"2\n".to_vec());
        r.files.insert("b".into(), b"\xff".to_vec());
        r.file_ids.insert("a".into(), "5LWIZAA4".into());
        r.file_errors.push(FileError {
            name: "x".into(),
            kind: FileErrorKind::CopyOutOpen,
            message: "open x: no such file or directory".into(),
        });
        r.file_errors.push(FileError {
            name: "y".into(),
            kind: FileErrorKind::CollectSizeExceeded,
            message: String::new(),
        });
        out.clear();
        write_results(&mut out, &[r, RunResult::new(Status::Signalled)]);
        assert_eq!(
            String::from_utf8_lossy(&out),
            concat!(
                "[{\"status\":\"File Error\",\"exitStatus\":-1,\"error\":\"e\\u003c\",\"time\":1,",
                "\"memory\":2,\"runTime\":3,\"procPeak\":4,\"files\":{\"b\":\"\\ufffd\",",
                "\"stdout\":\"2\\n\"},\"fileIds\":{\"a\":\"5LWIZAA4\"},\"fileError\":[{\"name\":",
                "\"x\",\"type\":\"CopyOutOpen\",\"message\":\"open x: no such file or directory\"},",
                "{\"name\":\"y\",\"type\":\"CollectSizeExceeded\"}]},",
                "{\"status\":\"Signalled\",\"exitStatus\":0,\"time\":0,\"memory\":0,\"runTime\":0}]\n"
            )
        );
        // The output is valid JSON with the values we put in.
        let v: sonic_rs::Value =
            sonic_rs::from_slice(out.strip_suffix(b"\n").unwrap_or(&out)).expect("valid JSON");
        use sonic_rs::JsonContainerTrait;
        assert_eq!(v.as_array().map(|a| a.len()), Some(2));
    }

    #[test]
    fn empty_results_and_error_bodies() {
        let mut out = Vec::new();
        write_results(&mut out, &[]);
        assert_eq!(out, b"[]\n");
        assert_eq!(error_body("no cmd provided"), b"\"no cmd provided\"");
        assert_eq!(
            error_body("file does not exists with id: \"X\""),
            br#""file does not exists with id: \"X\"""#
        );
    }
}
