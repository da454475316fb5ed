//! The `POST /run` body exactly as go-judge's `model.Request` declares it, before validation.
//!
//! [`WireRequest`] mirrors the Go structs field for field (pointers become `Option`), and
//! [`decode`] fills it with the rules of [`super::json`]. Nothing here checks meaning or limits:
//! [`super::Request::parse`] turns a `WireRequest` into a validated [`super::Request`].

use sonic_rs::{JsonValueTrait, Value};

use super::json::{Decoder, JsonError};

/// go-judge `model.Request`.
#[derive(Debug, Default)]
pub struct WireRequest {
    /// `requestId`.
    pub request_id: String,
    /// `cmd`.
    pub cmd: Vec<WireCmd>,
    /// `pipeMapping`.
    pub pipe_mapping: Vec<WirePipeMap>,
}

/// go-judge `model.Cmd`.
#[derive(Debug, Default)]
pub struct WireCmd {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub files: Vec<Option<WireFile>>,
    pub tty: bool,
    pub cpu_limit: u64,
    pub real_cpu_limit: u64,
    pub clock_limit: u64,
    pub memory_limit: u64,
    pub stack_limit: u64,
    pub proc_limit: u64,
    pub cpu_rate_limit: u64,
    pub cpu_set_limit: String,
    pub copy_in: Vec<(String, WireFile)>,
    pub copy_out: Vec<String>,
    pub copy_out_cached: Vec<String>,
    pub copy_out_max: u64,
    pub copy_out_truncate: bool,
    pub copy_out_dir: String,
    pub strict_memory_limit: bool,
    pub data_segment_limit: bool,
    pub address_space_limit: bool,
}

/// go-judge `model.CmdFile`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WireFile {
    pub src: Option<String>,
    pub content: Option<String>,
    pub file_id: Option<String>,
    pub name: Option<String>,
    pub max: Option<i64>,
    pub symlink: Option<String>,
    pub stream_in: bool,
    pub stream_out: bool,
    pub pipe: bool,
}

/// go-judge `model.PipeIndex`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WirePipeIndex {
    pub index: i64,
    pub fd: i64,
}

/// go-judge `model.PipeMap`.
#[derive(Debug, Default)]
pub struct WirePipeMap {
    pub r#in: WirePipeIndex,
    pub out: WirePipeIndex,
    pub name: String,
    pub max: i64,
    pub proxy: bool,
    pub disable_zero_copy: bool,
}

const REQUEST_FIELDS: &[&str] = &["requestId", "cmd", "pipeMapping"];
const CMD_FIELDS: &[&str] = &[
    "args",
    "env",
    "files",
    "tty",
    "cpuLimit",
    "realCpuLimit",
    "clockLimit",
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
    "copyOutDir",
    "strictMemoryLimit",
    "dataSegmentLimit",
    "addressSpaceLimit",
];
const FILE_FIELDS: &[&str] =
    &["src", "content", "fileId", "name", "max", "symlink", "streamIn", "streamOut", "pipe"];
const PIPE_FIELDS: &[&str] = &["in", "out", "name", "max", "proxy", "disableZeroCopy"];
const INDEX_FIELDS: &[&str] = &["index", "fd"];

/// Decodes a parsed body into a [`WireRequest`] with Go's rules.
pub fn decode(v: &Value) -> Result<WireRequest, JsonError> {
    let mut req = WireRequest::default();
    let mut d = Decoder::new();
    d.object(v, "Request", "model.Request", REQUEST_FIELDS, |d, i, v| match i {
        0 => d.string(v, &mut req.request_id),
        1 => d.array(v, &mut req.cmd, "[]model.Cmd", cmd),
        _ => d.array(v, &mut req.pipe_mapping, "[]model.PipeMap", pipe_map),
    })?;
    Ok(req)
}

fn cmd(d: &mut Decoder, v: &Value, c: &mut WireCmd) -> Result<(), JsonError> {
    d.object(v, "Cmd", "model.Cmd", CMD_FIELDS, |d, i, v| match i {
        0 => d.strings(v, &mut c.args),
        1 => d.strings(v, &mut c.env),
        2 => d.array(v, &mut c.files, "[]*model.CmdFile", opt_file),
        3 => d.bool(v, &mut c.tty),
        4 => d.u64(v, &mut c.cpu_limit),
        5 => d.u64(v, &mut c.real_cpu_limit),
        6 => d.u64(v, &mut c.clock_limit),
        7 => d.u64(v, &mut c.memory_limit),
        8 => d.u64(v, &mut c.stack_limit),
        9 => d.u64(v, &mut c.proc_limit),
        10 => d.u64(v, &mut c.cpu_rate_limit),
        11 => d.string(v, &mut c.cpu_set_limit),
        12 => d.map(v, &mut c.copy_in, "map[string]model.CmdFile", file),
        13 => d.strings(v, &mut c.copy_out),
        14 => d.strings(v, &mut c.copy_out_cached),
        15 => d.u64(v, &mut c.copy_out_max),
        16 => d.bool(v, &mut c.copy_out_truncate),
        17 => d.string(v, &mut c.copy_out_dir),
        18 => d.bool(v, &mut c.strict_memory_limit),
        19 => d.bool(v, &mut c.data_segment_limit),
        _ => d.bool(v, &mut c.address_space_limit),
    })
}

/// A `*CmdFile` slot: `null` clears it, an object decodes into the existing file if any.
fn opt_file(d: &mut Decoder, v: &Value, f: &mut Option<WireFile>) -> Result<(), JsonError> {
    if v.is_null() {
        *f = None;
        return Ok(());
    }
    let mut inner = f.take().unwrap_or_default();
    let r = file(d, v, &mut inner);
    *f = Some(inner);
    r
}

fn file(d: &mut Decoder, v: &Value, f: &mut WireFile) -> Result<(), JsonError> {
    d.object(v, "CmdFile", "model.CmdFile", FILE_FIELDS, |d, i, v| match i {
        0 => d.opt_string(v, &mut f.src),
        1 => d.opt_string(v, &mut f.content),
        2 => d.opt_string(v, &mut f.file_id),
        3 => d.opt_string(v, &mut f.name),
        4 => d.opt_i64(v, &mut f.max),
        5 => d.opt_string(v, &mut f.symlink),
        6 => d.bool(v, &mut f.stream_in),
        7 => d.bool(v, &mut f.stream_out),
        _ => d.bool(v, &mut f.pipe),
    })
}

fn pipe_map(d: &mut Decoder, v: &Value, p: &mut WirePipeMap) -> Result<(), JsonError> {
    d.object(v, "PipeMap", "model.PipeMap", PIPE_FIELDS, |d, i, v| match i {
        0 => pipe_index(d, v, &mut p.r#in),
        1 => pipe_index(d, v, &mut p.out),
        2 => d.string(v, &mut p.name),
        3 => d.i64(v, &mut p.max, "int64"),
        4 => d.bool(v, &mut p.proxy),
        _ => d.bool(v, &mut p.disable_zero_copy),
    })
}

fn pipe_index(d: &mut Decoder, v: &Value, p: &mut WirePipeIndex) -> Result<(), JsonError> {
    d.object(v, "PipeIndex", "model.PipeIndex", INDEX_FIELDS, |d, i, v| match i {
        0 => d.i64(v, &mut p.index, "int"),
        _ => d.i64(v, &mut p.fd, "int"),
    })
}

#[cfg(test)]
mod tests {
    use super::super::json::parse;
    use super::*;

    fn wire(s: &str) -> Result<WireRequest, JsonError> {
        decode(&parse(s.as_bytes())?)
    }

    #[test]
    fn pascal_case_and_unknown_keys() {
        let r = wire(
            r#"{"Cmd":[{"Args":["a"],"CpuLimit":5,"CPULIMIT":6,"bogus":{"x":[1]}}],"REQUESTID":"r"}"#,
        )
        .expect("valid");
        assert_eq!(r.request_id, "r");
        let c = r.cmd.first().expect("one cmd");
        assert_eq!(c.args, ["a"]);
        assert_eq!(c.cpu_limit, 6, "folded duplicates: last wins");
    }

    #[test]
    fn null_number_leaves_zero_or_previous_value() {
        let r = wire(r#"{"cmd":[{"cpuLimit":null,"memoryLimit":5,"memoryLimit":null}]}"#)
            .expect("valid");
        let c = r.cmd.first().expect("one cmd");
        assert_eq!((c.cpu_limit, c.memory_limit), (0, 5));
    }

    #[test]
    fn repeated_struct_keys_merge_like_go() {
        let r = wire(
            r#"{"cmd":[{"args":["a"]},{"args":["b"]}],"pipeMapping":[{"in":{"index":1,"fd":1},"in":{"fd":2}}]}"#,
        )
        .expect("valid");
        let p = r.pipe_mapping.first().expect("one mapping");
        assert_eq!(p.r#in, WirePipeIndex { index: 1, fd: 2 });
    }

    #[test]
    fn files_slots_and_copy_in() {
        let r = wire(
            r#"{"cmd":[{"files":[{"content":"x"},null,{"name":"stdout","max":10,"pipe":true}],
                "copyIn":{"a":{"src":"/x"},"b":{"symlink":"a"},"a":{"content":"y"}}}]}"#,
        )
        .expect("valid");
        let c = r.cmd.first().expect("one cmd");
        assert_eq!(c.files.len(), 3);
        assert_eq!(c.files.get(1), Some(&None));
        let third = c.files.get(2).cloned().flatten().expect("collector");
        assert_eq!(
            (third.name.as_deref(), third.max, third.pipe),
            (Some("stdout"), Some(10), true)
        );
        assert_eq!(c.copy_in.len(), 2);
        let a = &c.copy_in.first().expect("a").1;
        assert_eq!(
            (a.src.as_deref(), a.content.as_deref()),
            (None, Some("y")),
            "map value replaced"
        );
    }

    #[test]
    fn type_errors_are_reported_with_the_go_path() {
        let e = wire(r#"{"cmd":[{"files":[{"max":"1"}]}]}"#).expect_err("string max");
        assert_eq!(
            e.to_string(),
            "json: cannot unmarshal string into Go struct field CmdFile.cmd.files.max of type int64"
        );
        let e = wire(r#"{"cmd":[{"cpuLimit":-1}]}"#).expect_err("negative");
        assert_eq!(
            e.to_string(),
            "json: cannot unmarshal number -1 into Go struct field Cmd.cmd.cpuLimit of type uint64"
        );
        let e = wire(r#"{"cmd":{"args":[]}}"#).expect_err("object for array");
        assert_eq!(
            e.to_string(),
            "json: cannot unmarshal object into Go struct field Request.cmd of type []model.Cmd"
        );
        let e = wire(r#"{"cmd":[{"tty":1}]}"#).expect_err("number for bool");
        assert!(e.to_string().contains("of type bool"), "{e}");
        assert!(wire("[]").is_err());
        assert!(wire("null").is_ok(), "null request decodes to nothing, like Go");
    }
}
