//! Property functions shared by the fuzz targets (`fuzz/`) and the tests that replay their corpus.
//!
//! Each `check_*` takes arbitrary bytes and panics (via `assert!`) when a property of the parsers
//! does not hold; it never panics on a property that holds, whatever the input. Built only with
//! the `props` feature, which links `httparse` as the oracle; not part of the stable API.
//!
//! - [`check_parse`]: `Complete(n)` ⇒ `n ≤ len`; agreement with httparse wherever httparse
//!   completes, except for the reasons in [`stricter_reason_holds`] (each checked against the
//!   input, not just named); never more lenient than httparse; every prefix gives `Partial` or
//!   the whole buffer's result; tighter limits never accept what default limits reject.
//! - [`check_chunked`]: any split of the input decodes to the same body, end and error as one
//!   call; ranges stay inside the input; the result agrees with a naive whole-buffer decoder.
//! - [`check_multipart`]: parts lie inside the body, in order; no part's data holds a real
//!   delimiter; re-encoding the parsed parts parses back to the same parts; the part count
//!   limit cuts exactly at the limit.
#![cfg_attr(
    not(test),
    expect(
        clippy::indexing_slicing,
        reason = "test oracle: indices come from the parsers' results"
    )
)]
#![cfg_attr(
    not(test),
    expect(clippy::panic, reason = "test oracle: panicking is how a property reports failure")
)]

use crate::{
    BodyKind, ChunkedDecoder, Header, Limits, Multipart, MultipartError, ParseError, Parsed, Part,
    Request, Version,
};

/// Header storage used by the property checks (the default `headers_count_max`).
const STORAGE: usize = crate::limits::HEADERS_COUNT_MAX;
/// Inputs longer than this have their prefixes sampled rather than all checked (fast fuzzing).
const PREFIX_SAMPLING_FROM_LEN: usize = 512;

/// Our result in a comparable form: (head_len, method, target, version, headers, body,
/// keep_alive, expect_continue, websocket) or the error.
type Outcome = Result<Option<Summary>, ParseError>;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Summary {
    head_len: usize,
    method: Vec<u8>,
    target: Vec<u8>,
    version: Version,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: BodyKind,
    keep_alive: bool,
    expect_continue: bool,
    websocket_upgrade: bool,
}

fn summarize(r: &Request<'_, '_>, head_len: usize) -> Summary {
    Summary {
        head_len,
        method: r.method.as_bytes().to_vec(),
        target: r.target.to_vec(),
        version: r.version,
        headers: r.headers.iter().map(|h| (h.name.to_vec(), h.value.to_vec())).collect(),
        body: r.body,
        keep_alive: r.keep_alive,
        expect_continue: r.expect_continue,
        websocket_upgrade: r.websocket_upgrade,
    }
}

fn ours(data: &[u8], limits: &Limits) -> Outcome {
    let mut storage = [Header::EMPTY; STORAGE];
    match crate::parse_request(data, &mut storage, limits)? {
        Parsed::Complete { request, head_len } => {
            assert!(head_len <= data.len(), "Complete({head_len}) beyond {} bytes", data.len());
            assert!(head_len <= limits.header_bytes_max, "head {head_len} over the limit");
            assert!(request.target.len() <= limits.target_bytes_max);
            assert!(request.headers.len() <= limits.headers_count_max);
            if let BodyKind::Length(n) = request.body {
                assert!(n <= limits.body_bytes_max);
            }
            Ok(Some(summarize(&request, head_len)))
        }
        Parsed::Partial => {
            assert!(data.len() < limits.header_bytes_max, "Partial on a buffer over the limit");
            Ok(None)
        }
    }
}

/// All properties of [`crate::parse_request`] on `data`.
pub fn check_parse(data: &[u8]) {
    let limits = Limits::DEFAULT;
    let whole = ours(data, &limits);
    check_against_httparse(data, &whole);
    check_prefixes(data, &whole, &limits);
    check_tighter_limits(data, &whole);
}

/// Where httparse completes, we agree or reject for a documented, verified stricter reason;
/// where httparse rejects, we reject too.
fn check_against_httparse(data: &[u8], whole: &Outcome) {
    let mut their_headers = [httparse::EMPTY_HEADER; STORAGE];
    let mut theirs = httparse::Request::new(&mut their_headers);
    match theirs.parse(data) {
        Ok(httparse::Status::Complete(n)) => match whole {
            Ok(Some(s)) => {
                assert_eq!(s.head_len, n, "head length differs from httparse");
                assert_eq!(Some(&s.method[..]), theirs.method.map(str::as_bytes), "method");
                assert_eq!(Some(&s.target[..]), theirs.path.map(str::as_bytes), "target");
                let v = match s.version {
                    Version::Http10 => 0,
                    Version::Http11 => 1,
                };
                assert_eq!(Some(v), theirs.version, "version");
                let theirs_h: Vec<(Vec<u8>, Vec<u8>)> = theirs
                    .headers
                    .iter()
                    .map(|h| (h.name.as_bytes().to_vec(), h.value.to_vec()))
                    .collect();
                assert_eq!(s.headers, theirs_h, "headers differ from httparse");
            }
            Ok(None) => panic!("httparse completed at {n} but we say Partial"),
            Err(e) => assert!(
                stricter_reason_holds(*e, &theirs, &data[..n]),
                "we reject with {e:?}, httparse accepts, and no documented stricter reason holds"
            ),
        },
        Ok(httparse::Status::Partial) => {
            assert!(!matches!(whole, Ok(Some(_))), "we complete where httparse wants more");
        }
        // Never more lenient. (We may still say Partial where httparse already failed: we wait
        // for the end of `HTTP/2.0` to answer 505 where httparse stops at the `2`.)
        Err(_) => assert!(!matches!(whole, Ok(Some(_))), "httparse rejects, we accept: {whole:?}"),
    }
}

/// The rules where we reject a head httparse accepts. Each arm checks that the rule really is
/// broken by `head` (as httparse parsed it), so a wrong rejection cannot hide behind a name.
/// `docs/architecture.md` ("Stricter than httparse") lists the same rules.
#[must_use]
pub fn stricter_reason_holds(
    e: ParseError,
    theirs: &httparse::Request<'_, '_>,
    head: &[u8],
) -> bool {
    let named = |name: &'static str| {
        theirs.headers.iter().filter(move |h| h.name.eq_ignore_ascii_case(name))
    };
    let http11 = theirs.version == Some(1);
    let limits = Limits::DEFAULT;
    match e {
        // httparse takes a bare LF as a line end (RFC 9112 §2.2 allows it; we do not).
        ParseError::InvalidLineEnding => head.iter().enumerate().any(|(i, &b)| {
            b == b'\n' && (i == 0 || head[i - 1] != b'\r')
        }),
        // httparse takes UTF-8 (bytes ≥ 0x80) in the target; we take visible ASCII only.
        ParseError::InvalidTarget => theirs.path.is_some_and(|p| p.bytes().any(|b| b >= 0x80)),
        // httparse has no size limits.
        ParseError::HeadTooLarge { .. } => head.len() > limits.header_bytes_max,
        ParseError::TargetTooLong { .. } => {
            theirs.path.is_some_and(|p| p.len() > limits.target_bytes_max)
        }
        // Semantics httparse leaves to its caller (RFC 9112 §3.2, §6, RFC 9110 §10.1.1).
        ParseError::MissingHost => http11 && named("host").next().is_none(),
        ParseError::DuplicateHost => named("host").count() > 1,
        ParseError::InvalidHost => named("host").any(|h| {
            !h.value.iter().all(|&b| crate::syntax::is_host_byte(b))
        }),
        ParseError::InvalidContentLength => named("content-length").any(|h| {
            let v = h.value;
            v.is_empty()
                || !v.iter().all(u8::is_ascii_digit)
                || std::str::from_utf8(v).ok().and_then(|s| s.parse::<u64>().ok()).is_none()
        }),
        ParseError::ConflictingContentLength => {
            let mut values = named("content-length").filter_map(|h| {
                std::str::from_utf8(h.value).ok().and_then(|s| s.parse::<u64>().ok())
            });
            let first = values.next();
            values.any(|v| Some(v) != first)
        }
        ParseError::ContentLengthWithTransferEncoding => {
            named("content-length").next().is_some() && named("transfer-encoding").next().is_some()
        }
        ParseError::TransferEncodingInHttp10 => {
            !http11 && named("transfer-encoding").next().is_some()
        }
        ParseError::InvalidTransferEncoding => named("transfer-encoding").any(|h| {
            crate::syntax::list_members(h.value)
                .any(|m| m.is_empty() || !m.iter().all(|&b| crate::syntax::is_tchar(b)))
        }),
        ParseError::ChunkedNotLast | ParseError::UnsupportedTransferCoding => {
            let codings: Vec<&[u8]> =
                named("transfer-encoding").flat_map(|h| crate::syntax::list_members(h.value)).collect();
            let chunked = |c: &[u8]| c.eq_ignore_ascii_case(b"chunked");
            match e {
                ParseError::ChunkedNotLast => {
                    codings.iter().filter(|c| chunked(c)).count() != 1
                        || !codings.last().is_some_and(|c| chunked(c))
                }
                _ => codings.iter().any(|c| !chunked(c)),
            }
        }
        ParseError::ExpectationFailed => {
            named("expect").any(|h| !h.value.eq_ignore_ascii_case(b"100-continue"))
        }
        ParseError::BodyTooLarge { len, max } => {
            max == limits.body_bytes_max
                && len > max
                && named("content-length").any(|h| {
                    std::str::from_utf8(h.value).ok().and_then(|s| s.parse::<u64>().ok()) == Some(len)
                })
        }
        // httparse was given the same storage: more headers is its error too, never a Complete.
        ParseError::TooManyHeaders { .. }
        // The rest are syntax rules httparse enforces as well, so it cannot have completed.
        | ParseError::InvalidMethod
        | ParseError::InvalidRequestLine
        | ParseError::VersionNotSupported
        | ParseError::InvalidHeaderName
        | ParseError::SpaceBeforeColon
        | ParseError::InvalidHeaderValue
        | ParseError::ObsFold
        // Body errors never come from a head.
        | ParseError::InvalidChunkSize
        | ParseError::ChunkSizeOverflow
        | ParseError::InvalidChunkExtension
        | ParseError::ChunkExtensionTooLong { .. }
        | ParseError::InvalidChunkData
        | ParseError::InvalidTrailer
        | ParseError::TrailerTooLarge { .. } => false,
    }
}

/// Every prefix gives `Partial` or the whole buffer's result (the incremental contract).
fn check_prefixes(data: &[u8], whole: &Outcome, limits: &Limits) {
    let len = data.len();
    let mut check = |i: usize| {
        let part = ours(&data[..i], limits);
        match (&part, whole) {
            (Ok(None), _) => {
                if let Ok(Some(s)) = whole {
                    assert!(
                        i < s.head_len,
                        "prefix {i} Partial although the head ends at {}",
                        s.head_len
                    );
                }
            }
            (Ok(Some(p)), Ok(Some(w))) => assert_eq!(p, w, "prefix {i} parses differently"),
            (Err(p), Err(w)) => assert_eq!(p, w, "prefix {i} fails differently"),
            _ => panic!("prefix {i} gives {part:?}, whole buffer gives {whole:?}"),
        }
        if let Ok(Some(s)) = whole
            && i >= s.head_len
        {
            assert_eq!(part.as_ref().ok().and_then(Option::as_ref), Some(s));
        }
    };
    if len <= PREFIX_SAMPLING_FROM_LEN {
        (0..len).for_each(&mut check);
    } else {
        // Every byte near the start and the end, and a stride in between.
        let stride = len / 64 + 1;
        (0..64).chain((64..len).step_by(stride)).chain(len.saturating_sub(64)..len).for_each(check);
    }
}

/// Tighter limits never accept more, and agree whenever the head fits them.
fn check_tighter_limits(data: &[u8], whole: &Outcome) {
    let tight = Limits {
        header_bytes_max: data.len() / 2 + 1,
        headers_count_max: 3,
        target_bytes_max: 8,
        body_bytes_max: 100,
        ..Limits::DEFAULT
    };
    let small = ours(data, &tight);
    match (&small, whole) {
        (Ok(Some(s)), w) => {
            assert_eq!(Ok(Some(s.clone())), *w, "tight limits accept a different head")
        }
        (Ok(None), Ok(Some(w))) => {
            assert!(w.head_len > data.len() / 2, "tight limits Partial on a complete head")
        }
        (Err(e), Ok(Some(w))) => {
            let fits = w.head_len <= tight.header_bytes_max
                && w.headers.len() <= tight.headers_count_max
                && w.target.len() <= tight.target_bytes_max
                && !matches!(w.body, BodyKind::Length(n) if n > tight.body_bytes_max);
            assert!(!fits, "tight limits reject ({e:?}) a head that fits them");
            assert!(
                matches!(
                    e,
                    ParseError::HeadTooLarge { .. }
                        | ParseError::TooManyHeaders { .. }
                        | ParseError::TargetTooLong { .. }
                        | ParseError::BodyTooLarge { .. }
                ),
                "tight limits reject with a non-limit error {e:?}"
            );
        }
        _ => {}
    }
}

/// The decoded body, the total bytes consumed, and the end: done or the error.
type ChunkedOutcome = (Vec<u8>, usize, Result<bool, ParseError>);

fn decode_split(
    data: &[u8],
    limits: &Limits,
    split: &mut dyn FnMut(usize) -> usize,
) -> ChunkedOutcome {
    let mut dec = ChunkedDecoder::new(limits);
    let mut body = Vec::new();
    let mut consumed = 0usize;
    let mut avail = 0usize;
    loop {
        // Offer one more piece of input (as a receive would), then decode until stuck.
        if avail < data.len() {
            avail = (avail + split(data.len() - avail).max(1)).min(data.len());
        }
        loop {
            let input = &data[consumed..avail];
            match dec.decode(input) {
                // How many framing bytes went in before the bad one depends on the split.
                Err(e) => return (body, 0, Err(e)),
                Ok(d) => {
                    assert!(d.consumed <= input.len(), "consumed beyond input");
                    assert!(
                        d.data.start <= d.data.end && d.data.end == d.consumed || d.data.is_empty()
                    );
                    body.extend_from_slice(&input[d.data.clone()]);
                    consumed += d.consumed;
                    if d.done {
                        assert!(dec.is_done());
                        assert_eq!(dec.body_len(), body.len() as u64);
                        return (body, consumed, Ok(true));
                    }
                    if d.consumed == 0 || consumed == avail {
                        break;
                    }
                }
            }
        }
        if avail == data.len() {
            assert_eq!(consumed, avail, "decoder left input unconsumed without finishing");
            return (body, consumed, Ok(false));
        }
    }
}

/// A naive chunked decoder over the whole buffer: the oracle for [`ChunkedDecoder`].
/// Returns the body and the length of the chunked message, `None` if incomplete or invalid.
fn naive_chunked(mut data: &[u8], limits: &Limits) -> Option<(Vec<u8>, usize)> {
    let start_len = data.len();
    let mut body = Vec::new();
    let mut ext_total = 0usize;
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let line = &data[..line_end];
        let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if digits == 0 || digits > 16 {
            return None;
        }
        let size = u64::from_str_radix(std::str::from_utf8(&line[..digits]).ok()?, 16).ok()?;
        let ext = &line[digits..];
        ext_total += ext.len();
        if !(ext.is_empty() || matches!(ext[0], b';' | b' ' | b'\t'))
            || ext.iter().any(|&b| !crate::syntax::is_value_byte(b))
            || ext_total > limits.chunk_ext_bytes_max
            || (body.len() as u64).saturating_add(size) > limits.body_bytes_max
        {
            return None;
        }
        data = &data[line_end + 2..];
        if size == 0 {
            break;
        }
        let size = usize::try_from(size).ok()?;
        if data.len() < size + 2 || &data[size..size + 2] != b"\r\n" {
            return None;
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
    let mut trailer_len = 0usize;
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let line = &data[..line_end];
        trailer_len += line_end + 2;
        if trailer_len > limits.trailer_bytes_max {
            return None;
        }
        data = &data[line_end + 2..];
        if line.is_empty() {
            return Some((body, start_len - data.len()));
        }
        let colon = line.iter().position(|&b| b == b':')?;
        if colon == 0
            || !line[..colon].iter().all(|&b| crate::syntax::is_tchar(b))
            || !line[colon + 1..].iter().all(|&b| crate::syntax::is_value_byte(b))
        {
            return None;
        }
    }
}

/// All properties of [`ChunkedDecoder`] on `data`.
pub fn check_chunked(data: &[u8]) {
    let limits = Limits {
        body_bytes_max: 1 << 20,
        chunk_ext_bytes_max: 64,
        trailer_bytes_max: 128,
        ..Limits::DEFAULT
    };
    let whole = decode_split(data, &limits, &mut |rest| rest);
    let bytewise = decode_split(data, &limits, &mut |_| 1);
    assert_eq!(whole, bytewise, "one byte at a time decodes differently");
    // Splits driven by the data itself, so the fuzzer explores them.
    let mut seed = data.iter().fold(0x9e37_79b9_u32, |h, &b| h.rotate_left(5) ^ u32::from(b));
    let split = decode_split(data, &limits, &mut |rest| {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (seed >> 16) as usize % rest.max(1) + 1
    });
    assert_eq!(whole, split, "random splits decode differently");

    let (body, consumed, end) = &whole;
    assert!(*consumed <= data.len());
    match naive_chunked(data, &limits) {
        Some((naive_body, len)) => {
            assert_eq!(end, &Ok(true), "naive decoder completes, ours ends with {end:?}");
            assert_eq!(body, &naive_body, "body differs from the naive decoder");
            assert_eq!(*consumed, len, "message length differs from the naive decoder");
        }
        None => assert_ne!(end, &Ok(true), "we complete where the naive decoder does not"),
    }
}

/// A part in comparable form: (head, name, filename, content type, data).
type PartSummary = (Vec<u8>, Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>, Vec<u8>);

fn part_summary(p: &Part<'_>) -> PartSummary {
    (
        p.head.to_vec(),
        p.name.decoded().collect(),
        p.filename.map(|f| f.decoded().collect()),
        p.content_type.map(<[u8]>::to_vec),
        p.data.to_vec(),
    )
}

fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    let start = (inner.as_ptr() as usize).wrapping_sub(outer.as_ptr() as usize);
    assert!(start <= outer.len() && inner.len() <= outer.len() - start, "slice outside the body");
    start
}

/// All properties of [`Multipart`] on `data`: the first line (without its `\n`) is the
/// boundary if it is a valid one (else `b`), the rest is the body.
pub fn check_multipart(data: &[u8]) {
    let (boundary, body) = match data.iter().position(|&b| b == b'\n') {
        Some(nl)
            if (1..=70).contains(&nl)
                && data[..nl]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"'()+_,-./:=?".contains(b)) =>
        {
            (&data[..nl], &data[nl + 1..])
        }
        _ => (&b"b"[..], data),
    };
    let limits = Limits::DEFAULT;
    let results: Vec<Result<Part<'_>, MultipartError>> =
        Multipart::new(body, boundary, &limits).collect();
    let ok: Vec<&Part<'_>> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert!(results.iter().filter(|r| r.is_err()).count() <= 1, "more than one error");
    assert!(results.iter().take(ok.len()).all(Result::is_ok), "a part after the error");
    assert!(ok.len() <= limits.multipart_parts_count_max);

    let mut delimiter = b"\r\n--".to_vec();
    delimiter.extend_from_slice(boundary);
    let mut last_end = 0usize;
    for p in &ok {
        let head_at = offset_in(body, p.head);
        let data_at = offset_in(body, p.data);
        assert!(last_end <= head_at, "parts overlap or go backwards");
        assert!(head_at + p.head.len() + 2 <= data_at, "data starts inside the header block");
        assert!(p.head.len() <= limits.multipart_part_header_bytes_max);
        last_end = data_at + p.data.len();
        // A delimiter inside data is only allowed when it is not followed by `--` or OWS CRLF.
        let mut from = 0;
        while let Some(at) = memchr::memmem::find(&body[data_at + from..last_end], &delimiter) {
            let after = &body[data_at + from + at + delimiter.len()..];
            let real = after.starts_with(b"--")
                || after.iter().find(|&&b| b != b' ' && b != b'\t').is_none_or(|&b| b == b'\r');
            assert!(!real, "a real delimiter inside part data");
            from += at + 1;
        }
    }

    let clean = results.iter().all(Result::is_ok);
    if clean {
        // Re-encode and parse again.
        let mut again = Vec::new();
        for p in &ok {
            again.extend_from_slice(b"--");
            again.extend_from_slice(boundary);
            again.extend_from_slice(b"\r\n");
            again.extend_from_slice(p.head);
            again.extend_from_slice(b"\r\n");
            again.extend_from_slice(p.data);
            again.extend_from_slice(b"\r\n");
        }
        again.extend_from_slice(b"--");
        again.extend_from_slice(boundary);
        again.extend_from_slice(b"--\r\n");
        let reparsed: Vec<PartSummary> = Multipart::new(&again, boundary, &limits)
            .map(|r| part_summary(&r.expect("re-encoded parts parse")))
            .collect();
        let original: Vec<PartSummary> = ok.iter().map(|p| part_summary(p)).collect();
        assert_eq!(reparsed, original, "re-encoded parts parse differently");

        // The count limit cuts exactly there.
        if let Some(n) = ok.len().checked_sub(1) {
            let tight = Limits { multipart_parts_count_max: n, ..limits };
            let cut: Vec<_> = Multipart::new(body, boundary, &tight).collect();
            assert_eq!(cut.len(), n + 1);
            assert_eq!(cut[n], Err(MultipartError::TooManyParts { max: n }));
        }
    }
}
