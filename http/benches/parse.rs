//! Request head parsing, ours against httparse in the same run (STYLE §12).
//!
//! Every iteration asserts `Complete(len)` with the expected head length, so a parser that
//! stops early cannot look fast. Run: `cargo bench -p shardbox-http --bench parse`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shardbox_http::{Header, Limits, Parsed, parse_request};

/// ~100 B: what a load generator sends to `GET /hello`.
const SMALL_GET: &[u8] =
    b"GET /hello HTTP/1.1\r\nHost: localhost:5050\r\nUser-Agent: shardbox-bench/0.1\r\nAccept: */*\r\n\r\n";

/// ~500 B: a browser navigation.
const BROWSER_GET: &[u8] = b"GET /file/6f1c2a9e?download=1 HTTP/1.1\r\n\
Host: judge.example.com\r\n\
Connection: keep-alive\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: session=8c1f0e9d2b7a4c3e\r\n\r\n";

/// A judge submission head with its (small) body after it.
const POST_JSON: &[u8] = b"POST /run HTTP/1.1\r\n\
Host: localhost:5050\r\n\
User-Agent: go-judge-client\r\n\
Content-Type: application/json\r\n\
Content-Length: 27\r\n\r\n\
{\"cmd\":[{\"args\":[\"echo\"]}]}";

fn head_len(req: &[u8]) -> usize {
    req.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4
}

fn bench(c: &mut Criterion) {
    let limits = Limits::DEFAULT;
    for (name, req) in
        [("small_get", SMALL_GET), ("browser_get", BROWSER_GET), ("post_json", POST_JSON)]
    {
        let expected = head_len(req);
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(expected as u64));
        group.bench_function("shardbox", |b| {
            let mut headers = [Header::EMPTY; 32];
            b.iter(|| match parse_request(black_box(req), &mut headers, &limits) {
                Ok(Parsed::Complete { head_len, request }) => {
                    assert_eq!(head_len, expected);
                    black_box(request.keep_alive);
                }
                other => panic!("{other:?}"),
            });
        });
        group.bench_function("httparse", |b| {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            b.iter(|| {
                let mut r = httparse::Request::new(&mut headers);
                match r.parse(black_box(req)) {
                    Ok(httparse::Status::Complete(n)) => {
                        assert_eq!(n, expected);
                        black_box(r.headers.len());
                    }
                    other => panic!("{other:?}"),
                }
            });
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
