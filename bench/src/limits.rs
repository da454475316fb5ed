//! Every bound the load generator enforces, in one place.
//!
//! A run is closed-loop and bounded in connections, pipelining depth, time and request count, so
//! that a typo (`--duration 5000m`, `--connections 1e6`) is refused before it can swamp a shared
//! machine. Response bounds keep a misbehaving server from making the generator buffer without
//! limit: a head larger than `RESPONSE_HEAD_BYTES_MAX` or a body larger than
//! `RESPONSE_BODY_BYTES_MAX` is an error, counted like any other. The relations between the
//! limits are asserted at compile time below.

/// Most connections one run may open (each costs one fd and one read buffer).
pub const CONNECTIONS_MAX: u32 = 4096;
/// Most requests in flight on one connection (pipelining depth).
pub const PIPELINE_DEPTH_MAX: u32 = 256;
/// Most load-generator threads (event loops).
pub const THREADS_MAX: u32 = 64;
/// Longest measured duration of one run, in milliseconds (10 minutes).
pub const DURATION_MS_MAX: u64 = 600_000;
/// Shortest measured duration of a timed run, in milliseconds.
pub const DURATION_MS_MIN: u64 = 10;
/// Longest warm-up of one run, in milliseconds (1 minute).
pub const WARMUP_MS_MAX: u64 = 60_000;
/// Most measured requests of a fixed-count run.
pub const REQUESTS_MAX: u64 = 1_000_000_000;
/// Longest time a fixed-count run may take before it stops and reports itself incomplete, in ms.
pub const DEADLINE_MS_MAX: u64 = 600_000;
/// Largest request body (read from a file), in bytes.
pub const REQUEST_BODY_BYTES_MAX: u64 = 16 << 20;
/// Largest request head (request line and headers), in bytes.
pub const REQUEST_HEAD_BYTES_MAX: usize = 64 << 10;
/// Largest batch written at once: a request times the pipelining depth, in bytes.
pub const BATCH_BYTES_MAX: u64 = 64 << 20;
/// Largest response head the parser accepts, in bytes.
pub const RESPONSE_HEAD_BYTES_MAX: usize = 16 << 10;
/// Most response headers the parser accepts.
pub const RESPONSE_HEADERS_MAX: usize = 64;
/// Largest response body the parser accepts, in bytes (bodies are counted, never stored).
pub const RESPONSE_BODY_BYTES_MAX: u64 = 1 << 30;
/// Largest request head a judge floor server reads, in bytes.
pub const FLOOR_HEAD_BYTES_MAX: usize = 16 << 10;
/// Largest `/run` body a judge floor server reads, in bytes.
pub const FLOOR_BODY_BYTES_MAX: usize = 1 << 20;
/// Most connections a judge floor server serves at once (one thread each).
pub const FLOOR_CONNECTIONS_MAX: usize = 64;
/// Longest a judge floor server waits for the next request on a connection, in ms.
pub const FLOOR_IDLE_MS_MAX: u64 = 120_000;
/// Longest a program may run under a judge floor server, in ms (its wall limit is capped here).
pub const FLOOR_WALL_MS_MAX: u64 = 60_000;
/// Largest collector (`max`) a judge floor server keeps per output, in bytes.
pub const FLOOR_COLLECT_BYTES_MAX: u64 = 16 << 20;
/// Most entries in a `/run` command's `files` (stdin, stdout, stderr).
pub const FLOOR_FILES_MAX: usize = 3;
/// Longest byte string a run may require every response body to contain.
pub const BODY_NEEDLE_BYTES_MAX: usize = 4096;
/// Longest chunk-size line (hex digits, extensions) in a chunked body, in bytes.
pub const CHUNK_LINE_BYTES_MAX: usize = 1024;
/// Largest trailer section of a chunked body, in bytes.
pub const TRAILER_BYTES_MAX: usize = 16 << 10;
/// Size of each connection's read buffer, in bytes.
pub const READ_BUFFER_BYTES: usize = 64 << 10;
/// Longest wait for a TCP connect to loopback, in milliseconds.
pub const CONNECT_TIMEOUT_MS_MAX: u64 = 5_000;
/// Most targets in one `compare` invocation.
pub const TARGETS_MAX: usize = 8;
/// Most interleaved rounds in one `compare` invocation.
pub const ROUNDS_MAX: u32 = 50;
/// Longest total time a `compare` invocation may plan for (rounds × targets × run), in ms.
pub const COMPARE_MS_MAX: u64 = 3_600_000;
/// Longest wait for a started target to accept connections, in milliseconds.
pub const START_WAIT_MS_MAX: u64 = 30_000;
/// Longest wait for a started target to exit after SIGTERM before it is killed, in ms.
pub const STOP_WAIT_MS_MAX: u64 = 5_000;
/// Most processes scanned under `/proc` when looking for a server's processes.
pub const PROC_ENTRIES_MAX: usize = 1_000_000;

const _: () = assert!(RESPONSE_HEAD_BYTES_MAX < READ_BUFFER_BYTES, "a full head fits a read");
const _: () = assert!(CHUNK_LINE_BYTES_MAX < READ_BUFFER_BYTES, "a chunk line fits a read");
const _: () = assert!(TRAILER_BYTES_MAX < READ_BUFFER_BYTES, "trailers fit a read");
const _: () = assert!(DURATION_MS_MIN < DURATION_MS_MAX);
const _: () = assert!(THREADS_MAX <= CONNECTIONS_MAX, "every thread gets a connection");
const _: () = assert!(DURATION_MS_MAX + WARMUP_MS_MAX <= COMPARE_MS_MAX, "one run fits a compare");
const _: () = assert!(
    (REQUEST_HEAD_BYTES_MAX as u64 + REQUEST_BODY_BYTES_MAX) * 2 <= BATCH_BYTES_MAX,
    "a largest request can be pipelined at least twice"
);
