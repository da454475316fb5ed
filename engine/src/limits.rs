//! Every named limit of the engine, with its unit last, and the relations between them.
//!
//! The `*_DEFAULT` values are what `shardbox` uses when no flag or environment variable says
//! otherwise; `*_MAX`/`*_MIN` bound what a flag may ask for. `config::ServerConfig::validate`
//! checks a configuration against these before any shard starts. HTTP framing limits (head
//! bytes, header count, body bytes) are `shardbox_http::Limits`; the engine only chooses their
//! values.

use std::time::Duration;

/// Most shards (threads, rings) one server runs.
pub const SHARDS_MAX: usize = 1024;

/// Default connections one shard keeps open; beyond it new connections get 503 and a close.
pub const SHARD_CONNS_DEFAULT: u32 = 8192;
/// Most connections a shard may be configured to hold. Each needs up to
/// [`OPS_PER_CONN_MAX`] ring slots, and a CQ holds at most [`CQ_ENTRIES_MAX`].
pub const SHARD_CONNS_MAX: u32 = 20_000;
/// Fewest connections per shard (so a shard can serve at all).
pub const SHARD_CONNS_MIN: u32 = 1;

/// Ring ops one connection can have in flight at once: its multishot recv, one send, and one
/// cancel or shutdown (a close is only pushed once the others are done).
pub const OPS_PER_CONN_MAX: u32 = 3;
/// Ring ops the shard itself keeps in flight besides connections: accept, the timer, the
/// timer update, the wake-up read, the signal read, and the cancels of shutdown.
pub const SHARD_OPS_RESERVED: u32 = 16;
/// Connections being refused with a 503 at once (each holds one send op).
pub const SHED_IN_FLIGHT_MAX: u32 = 256;
/// Ring ops the executor's tasks may have in flight at once, per shard (each may also have
/// a cancel in flight).
pub const EXECUTOR_OPS_MAX: u32 = 2048;
/// Tasks alive at once on one shard's executor.
pub const EXECUTOR_TASKS_MAX: u32 = 16_384;

/// Largest completion queue the kernel accepts (`IORING_MAX_CQ_ENTRIES`).
pub const CQ_ENTRIES_MAX: u32 = 65_536;
/// Submission queue entries per ring (submissions of one loop iteration; a full SQ is flushed).
pub const SQ_ENTRIES: u32 = 4096;
/// Completions moved out of the CQ per drain call.
pub const DRAIN_BATCH_MAX: usize = 1024;

/// Default provided receive buffers per shard.
pub const RECV_BUFFERS_DEFAULT: u32 = 2048;
/// Most provided receive buffers per shard (the kernel's limit for one buffer ring).
pub const RECV_BUFFERS_MAX: u32 = 32_768;
/// Default bytes per provided receive buffer.
pub const RECV_BUFFER_BYTES_DEFAULT: u32 = 4096;
/// Smallest receive buffer: a request line and a Host header fit.
pub const RECV_BUFFER_BYTES_MIN: u32 = 512;
/// Largest receive buffer.
pub const RECV_BUFFER_BYTES_MAX: u32 = 1 << 20;

/// Default keep-alive idle timeout: a connection with no request in progress is closed after it.
pub const IDLE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(60);
/// Default time from the first byte of a request to the end of its head (slowloris guard).
pub const HEADER_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);
/// Default longest gap between two reads of a request body.
pub const BODY_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);
/// Default slowest average rate a request body may arrive at, in bytes per second, after a
/// grace of the body timeout (`-body-rate-min`; Apache's `mod_reqtimeout` uses 500 too): the
/// body timeout alone is per pause, so one byte per pause held a connection for good.
pub const BODY_BYTES_PER_SEC_MIN_DEFAULT: u64 = 500;
/// Default longest a send may go without progress (client that never reads).
pub const WRITE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);
/// Default time graceful shutdown waits for in-flight requests before closing everything.
pub const SHUTDOWN_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);
/// How long a connection closed after an error response keeps reading (and discarding) so the
/// client sees the response rather than a reset.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(2);
/// Shortest configurable timeout.
pub const TIMEOUT_MIN: Duration = Duration::from_millis(1);
/// Longest configurable timeout (a day).
pub const TIMEOUT_MAX: Duration = Duration::from_secs(86_400);
/// Re-arming the timer earlier than already armed is skipped unless it gains at least this
/// much; timeouts fire at most this late.
pub const TIMER_SLACK: Duration = Duration::from_millis(5);
/// Longest a shard's wait may sleep when it does not count the completions of sends it
/// expects to finish inline (`Ring::expect_inline`): the bound on how late a send that did
/// not finish inline is noticed when nothing else happens. Longer than a scheduler tick
/// (1–10 ms) so its timer costs no clock-event reprogramming on a busy CPU.
pub const INLINE_WAIT_BOUND: Duration = Duration::from_millis(10);
/// Default completions a busy shard waits for at once (`-wait-batch`,
/// `Ring::batch_next_wait`): it sleeps until this many requests have arrived (or
/// [`WAIT_BATCH_BOUND_DEFAULT`] has passed) instead of waking per request. Measured against
/// the same build unbatched: 1.03–1.08× req/s, 0.88–0.92× server CPU per request
/// (docs/architecture.md, "Measured, and what was tried").
pub const WAIT_BATCH_COMPLETIONS_DEFAULT: u32 = 8;
/// Fewest completions `-wait-batch` may ask for: 1 turns batching off (every wait returns at
/// the first completion, so no request is ever held for others).
pub const WAIT_BATCH_COMPLETIONS_MIN: u32 = 1;
/// Most completions `-wait-batch` may ask for: no more than the busy turn that opened the
/// gate ([`WAIT_BATCH_AFTER_COMPLETIONS`]) handled, or nearly every batch would come back short.
pub const WAIT_BATCH_COMPLETIONS_MAX: u32 = 16;
/// Default longest a batched wait may hold the completions it has (`-wait-batch-bound`): the
/// same bound as the inline-send wait, longer than a scheduler tick (see
/// [`INLINE_WAIT_BOUND`] for why shorter costs CPU on the benchmark VM).
pub const WAIT_BATCH_BOUND_DEFAULT: Duration = INLINE_WAIT_BOUND;
/// Shortest `-wait-batch-bound`: below it a batch of requests, each costing several µs of
/// kernel TCP work, can hardly fill; use `-wait-batch 1` instead.
pub const WAIT_BATCH_BOUND_MIN: Duration = Duration::from_micros(100);
/// Longest `-wait-batch-bound`: the wait also serves as the inline-send wait, which
/// [`INLINE_WAIT_BOUND`] bounds.
pub const WAIT_BATCH_BOUND_MAX: Duration = INLINE_WAIT_BOUND;
/// A shard batches its next wait only after a loop turn that handled at least this many
/// completions (about one recv and one send per request): a load where that many requests
/// come back per turn, not a light one where waiting for several would only add latency.
pub const WAIT_BATCH_AFTER_COMPLETIONS: usize = 16;
/// Loop turns a shard waits unbatched after a batched wait came back short (it hit the
/// bound: the load dropped), so a drop costs one bounded stall, not one per turn.
pub const WAIT_BATCH_BACKOFF_TURNS: u32 = 1024;
/// Largest send a shard expects to finish inline (`Ring::expect_inline`): far below a
/// socket's send buffer, so it goes out at once unless the peer stopped reading.
pub const INLINE_SEND_BYTES_MAX: usize = 64 * 1024;

/// Shortest scheduler slice a shard may ask for (`-shard-slice`; the kernel clamps
/// `sched_runtime` to 0.1..100 ms). A short slice lets a shard that wakes on a CPU busy with
/// another task run within about that long instead of after that task's whole slice (the
/// kernel's default, 0.7 ms × (1 + log2 CPUs)). Off by default (zero): not yet shown to win
/// here, see docs/architecture.md "Measured, and what was tried".
pub const SHARD_SLICE_MIN: Duration = Duration::from_micros(100);
/// Longest slice the kernel accepts.
pub const SHARD_SLICE_MAX: Duration = Duration::from_millis(100);

/// Default responses queued on one connection before it stops parsing pipelined requests.
pub const PIPELINE_DEPTH_MAX: u32 = 128;
/// Bytes of responses queued on one connection before it stops parsing pipelined requests.
pub const CONN_OUTPUT_BYTES_MAX: usize = 256 * 1024;
/// Bytes a `/run` reply leaves free in front of its JSON for the response head, so a large
/// reply is sent from the buffer it was encoded in (`crate::response::frame_in_place`). A
/// `/run` head is about 140 bytes (status line, `Date`, `Content-Type`, `Content-Length`,
/// `Connection`).
pub const REPLY_HEAD_ROOM_BYTES: usize = 512;
/// Bytes of a file body (`GET /file/{id}`) read into memory at a time: a download holds one
/// such chunk while its send waits for the socket, never the whole file.
pub const FILE_CHUNK_BYTES: usize = 128 * 1024;
/// Capacity of a pooled connection output buffer.
pub const CONN_BUFFER_BYTES: usize = 4096;
/// Pooled output buffers a shard keeps (beyond that, returned buffers are freed).
pub const BUFFER_POOL_COUNT_MAX: usize = 4096;
/// A pooled buffer that grew beyond this is freed instead of pooled.
pub const POOLED_BUFFER_BYTES_MAX: usize = 64 * 1024;

/// Default `listen(2)` backlog per shard.
pub const LISTEN_BACKLOG: i32 = 4096;

/// Longest `-auth-token` accepted.
pub const AUTH_TOKEN_BYTES_MAX: usize = 4096;

/// Largest `-body-bytes-max` accepted (1 GiB): bodies are buffered in memory.
pub const BODY_BYTES_LIMIT: u64 = 1 << 30;
/// Default bytes one shard's request bodies still arriving may hold in all
/// (`-shard-bodies-bytes-max`); past it a new large body gets 503 and a close.
pub const SHARD_BODIES_BYTES_DEFAULT: u64 = 1 << 30;
/// Default bytes one shard's deferred replies (`/run` answers) not yet sent may hold in all
/// (`-shard-replies-bytes-max`); past it a new deferred reply is replaced by a 503.
pub const SHARD_REPLIES_BYTES_DEFAULT: u64 = 1 << 30;

/// Descriptors kept free for the judge's runs (container sockets and pidfds, each command's
/// fd table and pipes, the files a run opens) beside what the connections need, when the
/// memory file store's size is fitted to `RLIMIT_NOFILE` (it holds one memfd per file).
pub const JUDGE_RUN_FDS_RESERVE: u64 = 1024;
/// Fewest files the memory file store may hold, however low `RLIMIT_NOFILE` is.
pub const FILE_STORE_FILES_MIN: usize = 256;

/// Header storage tried first on the stack for each request (retried with
/// [`HEADERS_STORAGE`] when a request has more).
pub const HEADERS_FAST_STORAGE: usize = 24;
/// Bytes waiting in a connection's input buffer while it cannot parse (deferred request or
/// full output) before its recv is paused.
pub const CONN_INPUT_PAUSE_BYTES: usize = 64 * 1024;

/// Headers one request may carry (storage per shard; `shardbox_http` enforces the count).
pub const HEADERS_STORAGE: usize = 128;

// A shard at its connection cap still fits in the CQ with its own ops and the executor's.
const _: () = assert!(
    SHARD_CONNS_MAX * OPS_PER_CONN_MAX
        + SHARD_OPS_RESERVED
        + SHED_IN_FLIGHT_MAX
        + 2 * EXECUTOR_OPS_MAX
        <= CQ_ENTRIES_MAX
);
const _: () =
    assert!(SHARD_CONNS_MIN <= SHARD_CONNS_DEFAULT && SHARD_CONNS_DEFAULT <= SHARD_CONNS_MAX);
const _: () = assert!(SQ_ENTRIES.is_power_of_two() && SQ_ENTRIES <= CQ_ENTRIES_MAX);
const _: () =
    assert!(RECV_BUFFERS_DEFAULT.is_power_of_two() && RECV_BUFFERS_DEFAULT <= RECV_BUFFERS_MAX);
const _: () = assert!(RECV_BUFFERS_MAX.is_power_of_two());
const _: () = assert!(
    RECV_BUFFER_BYTES_MIN <= RECV_BUFFER_BYTES_DEFAULT
        && RECV_BUFFER_BYTES_DEFAULT <= RECV_BUFFER_BYTES_MAX
);
const _: () = assert!(CONN_BUFFER_BYTES <= POOLED_BUFFER_BYTES_MAX);
const _: () = assert!(POOLED_BUFFER_BYTES_MAX <= CONN_OUTPUT_BYTES_MAX);
const _: () = assert!(TIMEOUT_MIN.as_nanos() < IDLE_TIMEOUT_DEFAULT.as_nanos());
const _: () = assert!(IDLE_TIMEOUT_DEFAULT.as_nanos() <= TIMEOUT_MAX.as_nanos());
const _: () = assert!(HEADERS_STORAGE >= shardbox_http::limits::HEADERS_COUNT_MAX);
const _: () = assert!(shardbox_http::limits::BODY_BYTES_MAX <= BODY_BYTES_LIMIT);
const _: () = assert!(HEADERS_FAST_STORAGE <= HEADERS_STORAGE);
const _: () = assert!(SHARD_SLICE_MIN.as_nanos() < SHARD_SLICE_MAX.as_nanos());
const _: () = assert!(INLINE_WAIT_BOUND.as_nanos() * 100 <= WRITE_TIMEOUT_DEFAULT.as_nanos());
const _: () = assert!(INLINE_SEND_BYTES_MAX <= CONN_OUTPUT_BYTES_MAX);
const _: () = assert!(FILE_CHUNK_BYTES <= CONN_OUTPUT_BYTES_MAX);
const _: () = assert!(WAIT_BATCH_COMPLETIONS_MIN == 1, "1 means off: a plain wait");
const _: () = assert!(WAIT_BATCH_COMPLETIONS_MIN <= WAIT_BATCH_COMPLETIONS_DEFAULT);
const _: () = assert!(WAIT_BATCH_COMPLETIONS_DEFAULT <= WAIT_BATCH_COMPLETIONS_MAX);
const _: () = assert!(WAIT_BATCH_COMPLETIONS_MAX as usize <= WAIT_BATCH_AFTER_COMPLETIONS);
const _: () = assert!((WAIT_BATCH_COMPLETIONS_MAX as usize) < DRAIN_BATCH_MAX);
const _: () = assert!(WAIT_BATCH_BOUND_MIN.as_nanos() < WAIT_BATCH_BOUND_DEFAULT.as_nanos());
const _: () = assert!(WAIT_BATCH_BOUND_DEFAULT.as_nanos() <= WAIT_BATCH_BOUND_MAX.as_nanos());
const _: () = assert!(WAIT_BATCH_BOUND_MAX.as_nanos() <= INLINE_WAIT_BOUND.as_nanos());

/// Default number of judge jobs (`/run`, `/file` uploads and downloads) waiting for a worker;
/// beyond it `/run` answers 503 "worker queue is full" (go-judge's queue holds 512).
pub const WORKER_QUEUE_DEFAULT: usize = 512;
/// Stack of each judge worker thread, bytes (request parsing recurses over the JSON nesting).
pub const WORKER_STACK_BYTES: usize = 8 << 20;
/// Most judge worker threads (`-judge-workers`): each holds an 8 MiB stack reservation and runs
/// one request at a time, and a request uses at least one container, so more workers than
/// `sandbox::limits::POOL_CONTAINERS_MAX` could never all be busy.
pub const JUDGE_WORKERS_MAX: usize = 4096;
/// Most judge jobs waiting for a worker (`-worker-queue-max`).
pub const WORKER_QUEUE_MAX: usize = 1 << 20;
const _: () = assert!(JUDGE_WORKERS_MAX <= shardbox_sandbox::limits::POOL_CONTAINERS_MAX);
const _: () = assert!(WORKER_QUEUE_DEFAULT <= WORKER_QUEUE_MAX);
