//! Go `encoding/json` decoding rules over a sonic-rs document.
//!
//! go-judge decodes `POST /run` bodies with Go's `encoding/json`, and clients rely on its
//! leniencies, so [`Decoder`] reproduces them over a [`sonic_rs::Value`] parsed with raw numbers
//! and lossy UTF-8:
//!
//! - object keys match field names exactly first, then case-insensitively with Go's folding
//!   (ASCII letters, plus the Kelvin sign, long s and the dotted/dotless i that fold to ASCII);
//! - unknown keys are ignored; a repeated key decodes again into the same field (last wins;
//!   structs and arrays are decoded *into* the earlier value, as Go does);
//! - `null` leaves numbers, strings, booleans and structs untouched and empties slices, maps and
//!   pointers;
//! - integers must be written as integers: a sign on an unsigned field, a fraction, an exponent
//!   or an out-of-range value is a type error (`ParseUint`/`ParseInt` semantics);
//! - invalid UTF-8 and lone surrogates in strings become U+FFFD.
//!
//! The first type error in document order is returned, with Go's message shape
//! (`json: cannot unmarshal string into Go struct field Cmd.cmd.cpuLimit of type uint64`).
//! Trailing data after the top-level value is ignored, as Go's `json.Decoder` (used by gin)
//! ignores it. Before parsing, [`check_depth`] rejects bodies nested deeper than
//! [`JSON_DEPTH_MAX`] (sonic-rs parses recursively). This module knows nothing of the request
//! schema; `wire` uses it.

use sonic_rs::{Deserializer, JsonContainerTrait, JsonType, JsonValueTrait, Value};

use crate::limits::JSON_DEPTH_MAX;

/// Why a body is not a decodable request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// The body is empty or only whitespace (Go's decoder reports `EOF`).
    #[error("EOF")]
    Empty,
    /// The body is not JSON.
    #[error("invalid JSON at line {line} column {column}: {reason}")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser expected.
        reason: String,
    },
    /// A value has the wrong JSON type for its field, or a number does not fit it.
    #[error("json: cannot unmarshal {value} into Go struct field {owner}.{field} of type {ty}")]
    Type {
        /// The JSON kind found (`string`, `number -1`, `object`, ...).
        value: String,
        /// The Go struct holding the field (`Cmd`, `CmdFile`, ...).
        owner: &'static str,
        /// The JSON path of the field, dot separated (`cmd.files.max`).
        field: String,
        /// The Go type of the field (`uint64`, `[]string`, ...).
        ty: &'static str,
    },
    /// Arrays and objects are nested deeper than [`JSON_DEPTH_MAX`].
    #[error("JSON nesting is deeper than the limit of {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// The top-level value is not an object.
    #[error("json: cannot unmarshal {value} into Go value of type {ty}")]
    TopLevel {
        /// The JSON kind found.
        value: String,
        /// The Go type expected.
        ty: &'static str,
    },
}

/// Rejects a body whose arrays and objects nest deeper than [`JSON_DEPTH_MAX`], without
/// parsing it: brackets are counted outside strings (strings are skipped with `memchr`, so the
/// scan costs little on bodies made of large `content` strings). Malformed bodies pass through
/// to the parser, which reports them.
pub fn check_depth(body: &[u8]) -> Result<(), JsonError> {
    let mut depth = 0usize;
    let mut i = 0usize;
    while let Some(&b) = body.get(i) {
        match b {
            b'"' => {
                // Skip to the closing quote, stepping over escapes.
                let mut j = i.saturating_add(1);
                loop {
                    let rest = body.get(j..).unwrap_or_default();
                    match memchr::memchr2(b'"', b'\\', rest) {
                        None => return Ok(()),
                        Some(k) => {
                            let at = j.saturating_add(k);
                            if body.get(at) == Some(&b'\\') {
                                j = at.saturating_add(2);
                            } else {
                                i = at;
                                break;
                            }
                        }
                    }
                }
            }
            b'[' | b'{' => {
                depth = depth.saturating_add(1);
                if depth > JSON_DEPTH_MAX {
                    return Err(JsonError::TooDeep { max: JSON_DEPTH_MAX });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i = i.saturating_add(1);
    }
    Ok(())
}

/// Parses `body` into a document with Go's leniencies (lossy UTF-8, trailing data ignored).
pub fn parse(body: &[u8]) -> Result<Value, JsonError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(JsonError::Empty);
    }
    check_depth(body)?;
    let mut de = Deserializer::from_slice(body).use_rawnumber().utf8_lossy();
    de.deserialize::<Value>().map_err(|e| {
        let text = e.to_string();
        // sonic-rs appends a multi-line excerpt of the input; keep the first line only, without
        // its own position suffix, so the message is short and stable.
        let first = text.lines().next().unwrap_or("");
        let reason = first.split(" at line ").next().unwrap_or(first).to_owned();
        JsonError::Syntax { line: e.line(), column: e.column(), reason }
    })
}

/// Folds one character as Go's `foldName` does, if it folds to ASCII; field names are ASCII, so
/// a character folding elsewhere never matches.
fn fold_ascii(c: char) -> Option<u8> {
    match c {
        // KELVIN SIGN lowers to 'k'; LATIN SMALL LETTER LONG S uppers to 'S'; capital I with dot
        // lowers to 'i'; dotless i uppers to 'I' (Go: unicode.ToUpper(unicode.ToLower(r))).
        '\u{212A}' => Some(b'K'),
        '\u{017F}' => Some(b'S'),
        '\u{0130}' | '\u{0131}' => Some(b'I'),
        c if c.is_ascii() => u8::try_from(c).ok().map(|b| b.to_ascii_uppercase()),
        _ => None,
    }
}

/// True when `key` folds to the same name as the ASCII field name `name`.
fn fold_eq(key: &str, name: &str) -> bool {
    let mut want = name.bytes();
    for c in key.chars() {
        match (fold_ascii(c), want.next()) {
            (Some(k), Some(n)) if k == n.to_ascii_uppercase() => {}
            _ => return false,
        }
    }
    want.next().is_none()
}

/// The field of `names` that `key` selects: an exact match first, then a folded one.
pub fn match_field(key: &str, names: &[&str]) -> Option<usize> {
    names.iter().position(|n| *n == key).or_else(|| names.iter().position(|n| fold_eq(key, n)))
}

/// How Go names a JSON value's kind in a type error.
fn kind(v: &Value) -> &'static str {
    match v.get_type() {
        JsonType::Null => "null",
        JsonType::Boolean => "bool",
        JsonType::Number => "number",
        JsonType::String => "string",
        JsonType::Object => "object",
        JsonType::Array => "array",
    }
}

/// Walks a document with Go's rules, tracking the field path for error messages.
pub struct Decoder {
    /// JSON names of the fields being decoded, outermost first.
    path: Vec<&'static str>,
    /// Go struct type whose field is being decoded.
    owner: &'static str,
}

impl Decoder {
    /// A decoder at the top level of a document.
    pub fn new() -> Self {
        Self { path: Vec::new(), owner: "" }
    }

    fn type_error(&self, value: String, ty: &'static str) -> JsonError {
        if self.path.is_empty() {
            JsonError::TopLevel { value, ty }
        } else {
            JsonError::Type { value, owner: self.owner, field: self.path.join("."), ty }
        }
    }

    /// Decodes an object into a struct named `owner` (Go type `ty`) whose JSON fields are
    /// `names`, calling `field(decoder, index, value)` for every key that selects a field, in
    /// document order. `null` leaves the struct as it is.
    pub fn object<'v>(
        &mut self,
        v: &'v Value,
        owner: &'static str,
        ty: &'static str,
        names: &[&'static str],
        mut field: impl FnMut(&mut Self, usize, &'v Value) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        if v.is_null() {
            return Ok(());
        }
        let Some(obj) = v.as_object() else {
            return Err(self.type_error(kind(v).to_owned(), ty));
        };
        let outer = std::mem::replace(&mut self.owner, owner);
        for (key, value) in obj.iter() {
            let Some(i) = match_field(key, names) else { continue };
            let Some(name) = names.get(i) else { continue };
            self.path.push(name);
            let r = field(self, i, value);
            self.path.pop();
            r?;
        }
        self.owner = outer;
        Ok(())
    }

    /// Decodes an array into `out`, decoding element `i` into `out[i]` when it exists (as Go
    /// does), appending defaults otherwise, and truncating to the array's length. `null` empties
    /// `out`.
    pub fn array<T: Default>(
        &mut self,
        v: &Value,
        out: &mut Vec<T>,
        ty: &'static str,
        mut elem: impl FnMut(&mut Self, &Value, &mut T) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        if v.is_null() {
            out.clear();
            return Ok(());
        }
        let Some(arr) = v.as_array() else {
            return Err(self.type_error(kind(v).to_owned(), ty));
        };
        let len = arr.len();
        out.truncate(len);
        for (i, item) in arr.iter().enumerate() {
            if out.len() <= i {
                out.push(T::default());
            }
            if let Some(slot) = out.get_mut(i) {
                elem(self, item, slot)?;
            }
        }
        Ok(())
    }

    /// Decodes an object of arbitrary keys (a Go `map[string]T`) into `out`: each key gets a
    /// fresh value (a repeated key replaces the earlier one). `null` empties `out`.
    pub fn map<T: Default>(
        &mut self,
        v: &Value,
        out: &mut Vec<(String, T)>,
        ty: &'static str,
        mut elem: impl FnMut(&mut Self, &Value, &mut T) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        if v.is_null() {
            out.clear();
            return Ok(());
        }
        let Some(obj) = v.as_object() else {
            return Err(self.type_error(kind(v).to_owned(), ty));
        };
        out.clear();
        for (key, value) in obj.iter() {
            let mut item = T::default();
            elem(self, value, &mut item)?;
            match out.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = item,
                None => out.push((key.to_owned(), item)),
            }
        }
        Ok(())
    }

    /// Decodes a string; `null` leaves `out` unchanged.
    pub fn string(&mut self, v: &Value, out: &mut String) -> Result<(), JsonError> {
        if v.is_null() {
            return Ok(());
        }
        match v.as_str() {
            Some(s) => {
                s.clone_into(out);
                Ok(())
            }
            None => Err(self.type_error(kind(v).to_owned(), "string")),
        }
    }

    /// Decodes a pointer-to-string field: `null` clears it.
    pub fn opt_string(&mut self, v: &Value, out: &mut Option<String>) -> Result<(), JsonError> {
        if v.is_null() {
            *out = None;
            return Ok(());
        }
        let mut s = out.take().unwrap_or_default();
        let r = self.string(v, &mut s);
        *out = Some(s);
        r
    }

    /// Decodes a boolean; `null` leaves `out` unchanged.
    pub fn bool(&mut self, v: &Value, out: &mut bool) -> Result<(), JsonError> {
        if v.is_null() {
            return Ok(());
        }
        match v.as_bool() {
            Some(b) => {
                *out = b;
                Ok(())
            }
            None => Err(self.type_error(kind(v).to_owned(), "bool")),
        }
    }

    /// The raw text of a number, or a type error naming `ty`.
    fn raw_number(&self, v: &Value, ty: &'static str) -> Result<String, JsonError> {
        match v.as_raw_number() {
            Some(raw) => Ok(raw.as_str().to_owned()),
            None => Err(self.type_error(kind(v).to_owned(), ty)),
        }
    }

    /// Decodes a `uint64` with `strconv.ParseUint` rules; `null` leaves `out` unchanged.
    pub fn u64(&mut self, v: &Value, out: &mut u64) -> Result<(), JsonError> {
        if v.is_null() {
            return Ok(());
        }
        let raw = self.raw_number(v, "uint64")?;
        match raw.parse::<u64>() {
            Ok(n) => {
                *out = n;
                Ok(())
            }
            Err(_) => Err(self.type_error(format!("number {raw}"), "uint64")),
        }
    }

    /// Decodes a signed integer with `strconv.ParseInt` rules into `out`; `ty` names the Go
    /// type for errors. `null` leaves `out` unchanged.
    pub fn i64(&mut self, v: &Value, out: &mut i64, ty: &'static str) -> Result<(), JsonError> {
        if v.is_null() {
            return Ok(());
        }
        let raw = self.raw_number(v, ty)?;
        match raw.parse::<i64>() {
            Ok(n) => {
                *out = n;
                Ok(())
            }
            Err(_) => Err(self.type_error(format!("number {raw}"), ty)),
        }
    }

    /// Decodes a pointer-to-int64 field: `null` clears it.
    pub fn opt_i64(&mut self, v: &Value, out: &mut Option<i64>) -> Result<(), JsonError> {
        if v.is_null() {
            *out = None;
            return Ok(());
        }
        let mut n = out.unwrap_or_default();
        self.i64(v, &mut n, "int64")?;
        *out = Some(n);
        Ok(())
    }

    /// Decodes a `[]string`.
    pub fn strings(&mut self, v: &Value, out: &mut Vec<String>) -> Result<(), JsonError> {
        self.array(v, out, "[]string", |d, item, slot| d.string(item, slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> Value {
        parse(s.as_bytes()).expect("test documents are JSON")
    }

    #[test]
    fn field_matching_prefers_exact_then_folds() {
        let names = ["cpuLimit", "CPULIMIT", "args"];
        assert_eq!(match_field("cpuLimit", &names), Some(0));
        assert_eq!(match_field("CPULIMIT", &names), Some(1), "exact match wins over fold");
        assert_eq!(match_field("CpuLimit", &names), Some(0));
        assert_eq!(match_field("ARGS", &names), Some(2));
        assert_eq!(match_field("arg", &names), None);
        assert_eq!(match_field("argss", &names), None);
        assert_eq!(match_field("", &names), None);
    }

    #[test]
    fn go_special_folds_match() {
        // Go folds the Kelvin sign to K, long s to S and both Turkish i forms to I.
        assert_eq!(match_field("\u{212A}ey", &["key"]), Some(0));
        assert_eq!(match_field("\u{017F}rc", &["src"]), Some(0));
        assert_eq!(match_field("\u{0130}ndex", &["index"]), Some(0));
        assert_eq!(match_field("\u{0131}ndex", &["index"]), Some(0));
        assert_eq!(match_field("\u{00E9}", &["e"]), None);
    }

    #[test]
    fn empty_body_is_eof() {
        assert_eq!(parse(b"").err(), Some(JsonError::Empty));
        assert_eq!(parse(b" \n\t").err(), Some(JsonError::Empty));
        assert_eq!(JsonError::Empty.to_string(), "EOF");
    }

    #[test]
    fn syntax_errors_have_a_position_and_one_line() {
        let e = parse(b"{\"a\":}").expect_err("not JSON");
        let JsonError::Syntax { line, column, .. } = &e else { panic!("{e:?}") };
        assert_eq!((*line, *column), (1, 6));
        assert!(!e.to_string().contains('\n'), "{e}");
    }

    #[test]
    fn trailing_data_is_ignored_like_go_decoder() {
        assert!(parse(b"{} trailing").is_ok());
    }

    #[test]
    fn lossy_utf8_and_lone_surrogates_become_replacement() {
        let v = parse(b"\"a\xffb\"").expect("lossy");
        assert_eq!(v.as_str(), Some("a\u{FFFD}b"));
        let v = doc(r#""\ud800x""#);
        assert_eq!(v.as_str(), Some("\u{FFFD}x"));
    }

    #[test]
    fn integers_follow_parse_uint_rules() {
        let mut d = Decoder::new();
        let mut n: u64;
        for (text, ok) in [
            ("0", Some(0)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("-1", None),
            ("-0", None),
            ("1.0", None),
            ("1e9", None),
            ("\"5\"", None),
            ("true", None),
        ] {
            n = 7;
            let r = d.u64(&doc(text), &mut n);
            match ok {
                Some(want) => assert_eq!((r, n), (Ok(()), want), "{text}"),
                None => {
                    assert!(r.is_err(), "{text} must be rejected");
                    assert_eq!(n, 7, "{text}: a failed decode leaves the field");
                }
            }
        }
        n = 9;
        assert_eq!(d.u64(&doc("null"), &mut n), Ok(()));
        assert_eq!(n, 9, "null leaves a number unchanged");
    }

    #[test]
    fn signed_integers_follow_parse_int_rules() {
        let mut d = Decoder::new();
        let mut n = 0i64;
        assert_eq!(d.i64(&doc("-5"), &mut n, "int"), Ok(()));
        assert_eq!(n, -5);
        assert_eq!(d.i64(&doc("-0"), &mut n, "int"), Ok(()));
        assert_eq!(n, 0);
        assert!(d.i64(&doc("9223372036854775808"), &mut n, "int").is_err());
        assert!(d.i64(&doc("2.5"), &mut n, "int").is_err());
        let mut o = Some(3);
        assert_eq!(d.opt_i64(&doc("null"), &mut o), Ok(()));
        assert_eq!(o, None, "null clears a pointer");
    }

    #[test]
    fn type_errors_name_owner_path_and_type() {
        let mut d = Decoder::new();
        let v = doc(r#"{"inner": {"n": "x"}}"#);
        let e = d
            .object(&v, "Outer", "model.Outer", &["inner"], |d, _, v| {
                d.object(v, "Inner", "model.Inner", &["n"], |d, _, v| {
                    let mut n = 0;
                    d.u64(v, &mut n)
                })
            })
            .expect_err("string into uint64");
        assert_eq!(
            e.to_string(),
            "json: cannot unmarshal string into Go struct field Inner.inner.n of type uint64"
        );
        let e = d.object(&doc("[1]"), "Outer", "model.Outer", &[], |_, _, _| Ok(()));
        assert_eq!(
            e.expect_err("array").to_string(),
            "json: cannot unmarshal array into Go value of type model.Outer"
        );
    }

    #[test]
    fn arrays_decode_into_existing_elements_and_null_empties() {
        let mut d = Decoder::new();
        let mut v = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(d.strings(&doc(r#"[null, "c", "d"]"#), &mut v), Ok(()));
        assert_eq!(v, ["a", "c", "d"], "null element leaves the old element, like Go");
        assert_eq!(d.strings(&doc(r#"["x"]"#), &mut v), Ok(()));
        assert_eq!(v, ["x"]);
        assert_eq!(d.strings(&doc("null"), &mut v), Ok(()));
        assert!(v.is_empty());
    }

    #[test]
    fn maps_replace_repeated_keys() {
        let mut d = Decoder::new();
        let mut m: Vec<(String, String)> = Vec::new();
        let r = d.map(&doc(r#"{"a": "1", "b": "2", "a": "3"}"#), &mut m, "map", |d, v, s| {
            d.string(v, s)
        });
        assert_eq!(r, Ok(()));
        assert_eq!(m, [("a".to_owned(), "3".to_owned()), ("b".to_owned(), "2".to_owned())]);
    }

    #[test]
    fn nesting_depth_boundaries() {
        let nested = |n: usize| {
            let mut body = String::from("{\"x\":");
            body.push_str(&"[".repeat(n - 1));
            body.push_str(&"]".repeat(n - 1));
            body.push('}');
            body
        };
        assert!(parse(nested(JSON_DEPTH_MAX - 1).as_bytes()).is_ok());
        assert!(parse(nested(JSON_DEPTH_MAX).as_bytes()).is_ok());
        assert_eq!(
            parse(nested(JSON_DEPTH_MAX + 1).as_bytes()).err(),
            Some(JsonError::TooDeep { max: JSON_DEPTH_MAX })
        );
        // Far deeper: rejected by the scan, never reaches the recursive parser.
        assert!(matches!(parse(nested(1_000_000).as_bytes()), Err(JsonError::TooDeep { .. })));
        // Brackets inside strings (escaped quotes included) do not count.
        let s = format!(r#"{{"x":"\"{}"}}"#, "[".repeat(1000));
        assert!(parse(s.as_bytes()).is_ok(), "{s}");
        // An unterminated string or stray closers are left to the parser.
        assert!(check_depth(br#"{"x":"[[["#).is_ok());
        assert!(check_depth(b"]]]]{").is_ok());
    }
}
