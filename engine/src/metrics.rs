//! Per-shard counters, merged and rendered in the Prometheus text format at scrape time.
//!
//! Cross-shard design (no locks, no messages on the hot path): each shard owns one
//! [`ShardMetrics`], aligned to its own cache lines. **Only the owning shard writes it**, with
//! a relaxed load and a relaxed store ([`Counter::add`]: no locked read-modify-write, because
//! there is a single writer); any thread may read it with relaxed loads. A `/metrics` request,
//! on whichever shard it lands, reads every shard's struct through the shared
//! [`MetricsRegistry`], sums, and renders. A scrape may see one shard a few increments ahead of
//! another; each counter on its own is monotonic, which is all Prometheus needs.
//!
//! The latency histogram has fixed buckets (seconds, Prometheus style). One observation is made
//! per send that completes, for all the responses it carried: the time from the loop iteration
//! that received the request bytes to the one that saw the send complete.
//!
//! What this module does not do: time anything itself or allocate on the hot path.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing counter with a single writer (its shard).
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Must only be called by the owning shard's thread (single writer).
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.store(self.0.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }

    /// Adds 1.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Sets the value to `n`, a total kept elsewhere by the same writer (it must never go
    /// down). Must only be called by the owning shard's thread.
    #[inline]
    pub fn set(&self, n: u64) {
        self.0.store(n, Ordering::Relaxed);
    }

    /// The current value (any thread).
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Status codes counted individually; everything else lands in "other".
pub const STATUS_CODES: [u16; 17] =
    [100, 200, 400, 401, 404, 405, 408, 411, 413, 414, 417, 431, 500, 501, 503, 504, 505];
const STATUS_SLOTS: usize = STATUS_CODES.len() + 1;

/// Upper bounds of the latency buckets, in nanoseconds (the last bucket, +Inf, is implicit).
pub const LATENCY_BOUNDS_NS: [u64; 16] = [
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// Timeout classes counted in `shardbox_timeouts_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// Keep-alive idle timeout.
    Idle = 0,
    /// Header read timeout.
    Header = 1,
    /// Body read timeout.
    Body = 2,
    /// Write timeout.
    Write = 3,
}
const TIMEOUT_NAMES: [&str; 4] = ["idle", "header", "body", "write"];

/// One shard's counters. Written only by that shard.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct ShardMetrics {
    /// Responses written, by status slot (see [`STATUS_CODES`]).
    responses: [Counter; STATUS_SLOTS],
    latency_buckets: [Counter; LATENCY_BOUNDS_NS.len() + 1],
    latency_sum_ns: Counter,
    latency_count: Counter,
    /// Connections accepted.
    pub conns_accepted: Counter,
    /// Connections closed (after being accepted).
    pub conns_closed: Counter,
    /// Connections refused with 503 at the connection cap.
    pub conns_shed: Counter,
    /// Bytes received from clients.
    pub bytes_received: Counter,
    /// Bytes sent to clients.
    pub bytes_sent: Counter,
    timeouts: [Counter; 4],
    /// Pushes refused because the ring was full.
    pub ring_full: Counter,
    /// Multishot recvs re-armed after they ended (e.g. `-ENOBUFS`).
    pub recv_rearms: Counter,
    /// Tasks spawned on the executor.
    pub tasks_spawned: Counter,
    /// Failures writing to a client (reset, broken pipe).
    pub send_errors: Counter,
    /// Turns of the shard's loop.
    pub loop_turns: Counter,
    /// `io_uring_enter` calls.
    pub ring_enters: Counter,
    /// Enters that waited with nothing ready: the shard (most likely) slept.
    pub ring_sleeps: Counter,
    /// Completions handled.
    pub ring_completions: Counter,
    /// Loop turns that handled enough completions to batch the next wait
    /// (`limits::WAIT_BATCH_AFTER_COMPLETIONS`), whether or not batching is on.
    pub busy_turns: Counter,
    /// Waits that asked for a batch of completions (`-wait-batch`).
    pub ring_batched_waits: Counter,
    /// Batched waits that came back short: they hit `-wait-batch-bound`, holding the
    /// requests they had that long.
    pub ring_batches_short: Counter,
    /// Waits not counting an inline send that ended at their bound (`Ring::expect_inline`).
    pub ring_inline_waits_bounded: Counter,
    /// Kernel thread id of the shard's thread (0 until it starts), so a scrape can read what
    /// the scheduler did with it.
    thread_id: AtomicU64,
}

fn status_slot(status: u16) -> usize {
    STATUS_CODES.iter().position(|&code| code == status).unwrap_or(STATUS_CODES.len())
}

impl ShardMetrics {
    /// Counts one response with `status`.
    #[inline]
    pub fn response(&self, status: u16) {
        self.responses[status_slot(status)].inc();
    }

    /// Counts `n` responses with status 200 (the hot path's common case).
    #[inline]
    pub fn responses_ok(&self, n: u64) {
        self.responses[1].add(n);
    }

    /// Records `count` requests that each took `elapsed_ns`.
    #[inline]
    pub fn observe_latency(&self, elapsed_ns: u64, count: u64) {
        let bucket = LATENCY_BOUNDS_NS.partition_point(|&bound| bound < elapsed_ns);
        self.latency_buckets[bucket].add(count);
        self.latency_sum_ns.add(elapsed_ns.saturating_mul(count));
        self.latency_count.add(count);
    }

    /// Counts a timeout.
    pub fn timeout(&self, kind: TimeoutKind) {
        self.timeouts[kind as usize].inc();
    }

    /// Connections open right now (accepted minus closed).
    pub fn conns_open(&self) -> u64 {
        self.conns_accepted.get().saturating_sub(self.conns_closed.get())
    }

    /// Records the kernel id of the shard's thread (called once, by that thread).
    pub fn set_thread_id(&self, tid: u32) {
        self.thread_id.store(u64::from(tid), Ordering::Relaxed);
    }

    /// The shard thread's time on a CPU and time runnable but waiting for one, in ns, from
    /// the kernel (`None` before the shard starts or where the kernel does not tell).
    pub fn sched_times_ns(&self) -> Option<(u64, u64)> {
        let tid = u32::try_from(self.thread_id.load(Ordering::Relaxed)).ok()?;
        if tid == 0 {
            return None;
        }
        crate::sys::thread_sched_times(tid)
    }

    /// Responses counted, every status (the scrape: per-shard balance).
    pub fn responses_total(&self) -> u64 {
        self.responses.iter().map(Counter::get).fold(0, u64::wrapping_add)
    }

    /// Responses counted with `status` (tests and the scrape).
    pub fn responses_with(&self, status: u16) -> u64 {
        self.responses[status_slot(status)].get()
    }
}

/// Every shard's metrics, readable from any shard.
#[derive(Debug, Clone)]
pub struct MetricsRegistry {
    shards: Arc<[Arc<ShardMetrics>]>,
}

impl MetricsRegistry {
    /// A registry over `shards` (index = shard number).
    pub fn new(shards: Vec<Arc<ShardMetrics>>) -> MetricsRegistry {
        MetricsRegistry { shards: shards.into() }
    }

    /// Shard `index`'s metrics.
    pub fn shard(&self, index: usize) -> Option<&Arc<ShardMetrics>> {
        self.shards.get(index)
    }

    /// Sum of `f` over every shard.
    pub fn sum(&self, f: impl Fn(&ShardMetrics) -> u64) -> u64 {
        self.shards.iter().map(|shard| f(shard)).fold(0, u64::wrapping_add)
    }

    /// Renders every metric in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, out: &mut Vec<u8>) {
        let mut text = String::with_capacity(4096);
        self.render_into(&mut text);
        out.extend_from_slice(text.as_bytes());
    }

    fn render_into(&self, text: &mut String) {
        let counter = |text: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        let gauge = |text: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        };

        let name = "shardbox_http_responses_total";
        let _ = writeln!(text, "# HELP {name} HTTP responses written, by status code.");
        let _ = writeln!(text, "# TYPE {name} counter");
        for (slot, code) in STATUS_CODES.iter().enumerate() {
            let _ = writeln!(
                text,
                "{name}{{code=\"{code}\"}} {}",
                self.sum(|s| s.responses[slot].get())
            );
        }
        let other = self.sum(|s| s.responses[STATUS_CODES.len()].get());
        let _ = writeln!(text, "{name}{{code=\"other\"}} {other}");

        let name = "shardbox_http_request_duration_seconds";
        let _ = writeln!(
            text,
            "# HELP {name} Time from receiving a request to the completed send of its response."
        );
        let _ = writeln!(text, "# TYPE {name} histogram");
        let mut cumulative = 0u64;
        for (bucket, bound) in LATENCY_BOUNDS_NS.iter().enumerate() {
            cumulative = cumulative.wrapping_add(self.sum(|s| s.latency_buckets[bucket].get()));
            let le = *bound as f64 / 1e9;
            let _ = writeln!(text, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        cumulative =
            cumulative.wrapping_add(self.sum(|s| s.latency_buckets[LATENCY_BOUNDS_NS.len()].get()));
        let _ = writeln!(text, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum_seconds = self.sum(|s| s.latency_sum_ns.get()) as f64 / 1e9;
        let _ = writeln!(text, "{name}_sum {sum_seconds}");
        let _ = writeln!(text, "{name}_count {}", self.sum(|s| s.latency_count.get()));

        counter(
            text,
            "shardbox_connections_accepted_total",
            "Connections accepted.",
            self.sum(|s| s.conns_accepted.get()),
        );
        counter(
            text,
            "shardbox_connections_closed_total",
            "Connections closed.",
            self.sum(|s| s.conns_closed.get()),
        );
        counter(
            text,
            "shardbox_connections_shed_total",
            "Connections refused with 503 at the per-shard connection cap.",
            self.sum(|s| s.conns_shed.get()),
        );
        gauge(
            text,
            "shardbox_connections_open",
            "Connections open.",
            self.sum(ShardMetrics::conns_open),
        );
        let name = "shardbox_shard_connections_open";
        let _ = writeln!(text, "# HELP {name} Connections open, per shard.\n# TYPE {name} gauge");
        for (index, shard) in self.shards.iter().enumerate() {
            let _ = writeln!(text, "{name}{{shard=\"{index}\"}} {}", shard.conns_open());
        }
        counter(
            text,
            "shardbox_received_bytes_total",
            "Bytes received from clients.",
            self.sum(|s| s.bytes_received.get()),
        );
        counter(
            text,
            "shardbox_sent_bytes_total",
            "Bytes sent to clients.",
            self.sum(|s| s.bytes_sent.get()),
        );
        let name = "shardbox_timeouts_total";
        let _ = writeln!(
            text,
            "# HELP {name} Connections closed by a timeout, by kind.\n# TYPE {name} counter"
        );
        for (slot, kind) in TIMEOUT_NAMES.iter().enumerate() {
            let _ = writeln!(
                text,
                "{name}{{kind=\"{kind}\"}} {}",
                self.sum(|s| s.timeouts[slot].get())
            );
        }
        counter(
            text,
            "shardbox_send_errors_total",
            "Sends that failed (reset, broken pipe).",
            self.sum(|s| s.send_errors.get()),
        );
        counter(
            text,
            "shardbox_ring_full_total",
            "Ring pushes refused because the ring was full.",
            self.sum(|s| s.ring_full.get()),
        );
        counter(
            text,
            "shardbox_recv_rearms_total",
            "Multishot receives re-armed after ending.",
            self.sum(|s| s.recv_rearms.get()),
        );
        counter(
            text,
            "shardbox_tasks_spawned_total",
            "Tasks spawned on the shards' executors.",
            self.sum(|s| s.tasks_spawned.get()),
        );
        let per_shard = [
            ("shardbox_shard_loop_turns_total", "Turns of each shard's event loop."),
            ("shardbox_shard_ring_enters_total", "io_uring_enter calls, per shard."),
            (
                "shardbox_shard_ring_sleeps_total",
                "io_uring_enter calls that waited with no completion ready, per shard.",
            ),
            ("shardbox_shard_ring_completions_total", "Completions handled, per shard."),
            (
                "shardbox_shard_responses_total",
                "Responses written, every status, per shard (balance of SO_REUSEPORT).",
            ),
            (
                "shardbox_shard_busy_turns_total",
                "Loop turns that handled enough completions to batch the next wait, per shard.",
            ),
            (
                "shardbox_shard_ring_batched_waits_total",
                "io_uring_enter calls that waited for a batch of completions, per shard.",
            ),
            (
                "shardbox_shard_ring_batches_short_total",
                "Batched waits that hit -wait-batch-bound before the batch filled, per shard.",
            ),
            (
                "shardbox_shard_ring_inline_waits_bounded_total",
                "Waits not counting an inline send that ended at their 10 ms bound, per shard.",
            ),
        ];
        for (family, (name, help)) in per_shard.into_iter().enumerate() {
            let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} counter");
            for (index, shard) in self.shards.iter().enumerate() {
                let value = match family {
                    0 => shard.loop_turns.get(),
                    1 => shard.ring_enters.get(),
                    2 => shard.ring_sleeps.get(),
                    3 => shard.ring_completions.get(),
                    4 => shard.responses_total(),
                    5 => shard.busy_turns.get(),
                    6 => shard.ring_batched_waits.get(),
                    7 => shard.ring_batches_short.get(),
                    _ => shard.ring_inline_waits_bounded.get(),
                };
                let _ = writeln!(text, "{name}{{shard=\"{index}\"}} {value}");
            }
        }
        let sched: Vec<Option<(u64, u64)>> =
            self.shards.iter().map(|shard| shard.sched_times_ns()).collect();
        let sched_families = [
            ("shardbox_shard_cpu_seconds_total", "Time the shard's thread ran on a CPU."),
            (
                "shardbox_shard_runqueue_wait_seconds_total",
                "Time the shard's thread was runnable but waiting for a CPU (other tasks on it).",
            ),
        ];
        for (family, (name, help)) in sched_families.into_iter().enumerate() {
            let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} counter");
            for (index, times) in sched.iter().enumerate() {
                let Some((on_cpu_ns, waiting_ns)) = *times else { continue };
                let ns = if family == 0 { on_cpu_ns } else { waiting_ns };
                let _ = writeln!(text, "{name}{{shard=\"{index}\"}} {}", ns as f64 / 1e9);
            }
        }
        gauge(
            text,
            "shardbox_shards",
            "Shards (threads with their own ring) serving.",
            self.shards.len() as u64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> (MetricsRegistry, Arc<ShardMetrics>, Arc<ShardMetrics>) {
        let a = Arc::new(ShardMetrics::default());
        let b = Arc::new(ShardMetrics::default());
        (MetricsRegistry::new(vec![Arc::clone(&a), Arc::clone(&b)]), a, b)
    }

    fn render(registry: &MetricsRegistry) -> String {
        let mut out = Vec::new();
        registry.render(&mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn shards_are_merged() {
        let (registry, a, b) = registry();
        a.responses_ok(3);
        b.response(200);
        b.response(404);
        b.response(299);
        a.conns_accepted.add(5);
        a.conns_closed.add(2);
        b.conns_accepted.add(1);
        let text = render(&registry);
        assert!(text.contains("shardbox_http_responses_total{code=\"200\"} 4\n"), "{text}");
        assert!(text.contains("shardbox_http_responses_total{code=\"404\"} 1\n"));
        assert!(text.contains("shardbox_http_responses_total{code=\"other\"} 1\n"));
        assert!(text.contains("shardbox_connections_open 4\n"));
        assert!(text.contains("shardbox_shard_connections_open{shard=\"0\"} 3\n"));
        assert!(text.contains("shardbox_shard_responses_total{shard=\"0\"} 3\n"), "{text}");
        assert!(text.contains("shardbox_shard_responses_total{shard=\"1\"} 3\n"), "{text}");
        assert!(text.contains("shardbox_shards 2\n"));
        b.busy_turns.set(7);
        b.ring_batched_waits.set(5);
        b.ring_batches_short.set(1);
        let text = render(&registry);
        assert!(text.contains("shardbox_shard_busy_turns_total{shard=\"1\"} 7\n"), "{text}");
        assert!(text.contains("shardbox_shard_ring_batched_waits_total{shard=\"1\"} 5\n"));
        assert!(text.contains("shardbox_shard_ring_batches_short_total{shard=\"1\"} 1\n"));
        assert!(text.contains("shardbox_shard_ring_batches_short_total{shard=\"0\"} 0\n"));
    }

    #[test]
    fn scheduler_times_come_from_the_shard_thread() {
        let (registry, a, _) = registry();
        let without = render(&registry);
        assert!(!without.contains("shardbox_shard_cpu_seconds_total{"), "{without}");
        a.set_thread_id(crate::sys::thread_id());
        // Sleeping makes the kernel account the time this thread has run so far.
        std::thread::sleep(std::time::Duration::from_millis(1));
        let Some((on_cpu_ns, _)) = a.sched_times_ns() else {
            println!("SKIP: no /proc/self/task/<tid>/schedstat on this kernel (CONFIG_SCHED_INFO)");
            return;
        };
        assert!(on_cpu_ns > 0, "this thread has run");
        let text = render(&registry);
        assert!(text.contains("shardbox_shard_cpu_seconds_total{shard=\"0\"} "), "{text}");
        assert!(text.contains("shardbox_shard_runqueue_wait_seconds_total{shard=\"0\"} "));
        assert!(!text.contains("shardbox_shard_cpu_seconds_total{shard=\"1\"}"), "not started");
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let (registry, a, b) = registry();
        a.observe_latency(40_000, 2); // first bucket (<= 50 µs)
        b.observe_latency(50_000, 1); // still the first: bounds are inclusive
        a.observe_latency(3_000_000, 1); // <= 5 ms
        b.observe_latency(60_000_000_000, 1); // +Inf
        let text = render(&registry);
        let name = "shardbox_http_request_duration_seconds";
        assert!(text.contains(&format!("{name}_bucket{{le=\"0.00005\"}} 3\n")), "{text}");
        assert!(text.contains(&format!("{name}_bucket{{le=\"0.0025\"}} 3\n")));
        assert!(text.contains(&format!("{name}_bucket{{le=\"0.005\"}} 4\n")));
        assert!(text.contains(&format!("{name}_bucket{{le=\"10\"}} 4\n")));
        assert!(text.contains(&format!("{name}_bucket{{le=\"+Inf\"}} 5\n")));
        assert!(text.contains(&format!("{name}_count 5\n")));
    }

    /// The metrics table of `docs/operations.md` has a row `| `name{labels}` | type | ... |`
    /// for every family served, with its type, and no row for a family that is not served.
    #[test]
    fn every_family_is_documented_in_operations_md() {
        let rows = crate::operations_doc::rows("`shardbox_");
        let (registry, _, _) = registry();
        let text = render(&registry);
        let mut families = Vec::new();
        for line in text.lines().filter_map(|line| line.strip_prefix("# TYPE ")) {
            let (family, kind) = line.split_once(' ').expect("# TYPE name kind");
            let row = rows
                .iter()
                .find(|cells| {
                    cells.get(1).is_some_and(|cell| {
                        cell.trim_matches('`').split('{').next() == Some(family)
                    })
                })
                .unwrap_or_else(|| panic!("docs/operations.md has no row for {family}"));
            assert_eq!(row.get(2).map(String::as_str), Some(kind), "type of {family}");
            families.push(family);
        }
        for cells in &rows {
            let name = cells.get(1).map(|cell| cell.trim_matches('`')).unwrap_or_default();
            let family = name.split('{').next().unwrap_or_default();
            assert!(families.contains(&family), "docs/operations.md documents {name}, not served");
        }
    }

    #[test]
    fn every_series_has_help_and_type() {
        let (registry, _, _) = registry();
        let text = render(&registry);
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let name = line.split(['{', ' ']).next().expect("name");
            let family = name
                .trim_end_matches("_bucket")
                .trim_end_matches("_sum")
                .trim_end_matches("_count");
            assert!(text.contains(&format!("# TYPE {family} ")), "no TYPE for {name}");
            assert!(text.contains(&format!("# HELP {family} ")), "no HELP for {name}");
        }
    }
}
