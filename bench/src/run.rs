//! One measured run: validate the plan, probe the target, drive the workers, sample CPU.
//!
//! [`RunConfig`] is everything a run is asked to do; [`RunConfig::validate`] refuses values
//! outside `limits.rs` before anything is opened. [`run`] then
//!
//! 1. renders the request once and repeats it `depth` times into the batch every connection
//!    writes;
//! 2. sends one probe request on its own connection (see `probe`): it proves the target answers (with the
//!    required body content, when a needle is given), and when no body length was given and no
//!    needle either, the probe's becomes the length every response must have;
//! 3. starts `threads` [`Worker`]s, lets them connect, then starts the clock for all of them at
//!    once: warm-up first (not measured), then the measured window, ended by time or by count;
//! 4. samples server CPU (a [`ProcessSet`]), its own CPU and the machine's steal at the start
//!    and end of the measured window, and merges the workers' histograms and error counts into
//!    a [`RunReport`].
//!
//! It prints nothing: `report` formats, the binary decides what to print and the exit code.

use std::sync::{Barrier, OnceLock};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::cpu::{CpuError, CpuTime, MachineCpu, ProcessSet, read_proc_stat};
use crate::limits::{
    BATCH_BYTES_MAX, CONNECTIONS_MAX, DEADLINE_MS_MAX, DURATION_MS_MAX, DURATION_MS_MIN,
    PIPELINE_DEPTH_MAX, REQUESTS_MAX, THREADS_MAX, WARMUP_MS_MAX,
};
use crate::load::{Errors, Expect, Plan, Until, Worker, new_histogram};
pub use crate::probe::{Probe, probe};
use crate::request::{RequestError, RequestSpec, Target};
use crate::response::{Needle, NeedleError, ResponseError};

/// How a run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Measure for this long after the warm-up.
    Duration(Duration),
    /// Measure exactly this many requests, giving up (and reporting the shortfall as errors)
    /// after `deadline`.
    Requests {
        /// Requests to measure.
        count: u64,
        /// Longest time the measured part may take.
        deadline: Duration,
    },
}

/// Everything a run is asked to do.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Where to send requests.
    pub target: Target,
    /// What to send.
    pub request: RequestSpec,
    /// Concurrent connections.
    pub connections: u32,
    /// Requests in flight per connection (1: no pipelining).
    pub depth: u32,
    /// Event-loop threads sharing the connections.
    pub threads: u32,
    /// Unmeasured time before the measured window.
    pub warmup: Duration,
    /// How the measured window ends.
    pub stop: Stop,
    /// Status every response must have.
    pub expect_status: u16,
    /// Body length every response must have; `None`: the probe's, or no length check when
    /// `expect_body_contains` is set (bodies carrying measurements vary in length).
    pub expect_body_bytes: Option<u64>,
    /// A byte string every response body must contain (e.g. `"status":"Accepted"`).
    pub expect_body_contains: Option<Vec<u8>>,
    /// The server's processes, for CPU per request; `None`: not measured.
    pub server: Option<ProcessSet>,
}

/// A value outside the limits of `limits.rs`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// Connections outside `1..=CONNECTIONS_MAX`.
    #[error("--connections {value}: must be 1..={max}")]
    Connections {
        /// Given value.
        value: u32,
        /// The limit.
        max: u32,
    },
    /// Depth outside `1..=PIPELINE_DEPTH_MAX`.
    #[error("--depth {value}: must be 1..={max}")]
    Depth {
        /// Given value.
        value: u32,
        /// The limit.
        max: u32,
    },
    /// Threads outside `1..=min(THREADS_MAX, connections)`.
    #[error("--threads {value}: must be 1..={max} and at most --connections")]
    Threads {
        /// Given value.
        value: u32,
        /// The limit.
        max: u32,
    },
    /// Duration outside `DURATION_MS_MIN..=DURATION_MS_MAX`.
    #[error("--duration {value_ms} ms: must be {min_ms}..={max_ms} ms")]
    Duration {
        /// Given value.
        value_ms: u128,
        /// Lower limit.
        min_ms: u64,
        /// Upper limit.
        max_ms: u64,
    },
    /// Warm-up above `WARMUP_MS_MAX`.
    #[error("--warmup {value_ms} ms: must be at most {max_ms} ms")]
    Warmup {
        /// Given value.
        value_ms: u128,
        /// The limit.
        max_ms: u64,
    },
    /// Request count outside `1..=REQUESTS_MAX`.
    #[error("--requests {value}: must be 1..={max}")]
    Requests {
        /// Given value.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// Deadline outside `1..=DEADLINE_MS_MAX` ms.
    #[error("--deadline {value_ms} ms: must be 1..={max_ms} ms")]
    Deadline {
        /// Given value.
        value_ms: u128,
        /// The limit.
        max_ms: u64,
    },
    /// The body needle is empty or too long.
    #[error("--expect-body-contains: {0}")]
    Needle(#[from] NeedleError),
    /// One request times the depth is larger than `BATCH_BYTES_MAX`.
    #[error("a batch of {bytes} bytes (request × depth) exceeds {max}")]
    Batch {
        /// Request bytes × depth.
        bytes: u64,
        /// The limit.
        max: u64,
    },
}

impl RunConfig {
    /// A run of `GET url` with defaults: 32 connections, no pipelining, one thread, 1 s warm-up,
    /// 5 s measured, status 200, body length from the probe, server CPU not measured.
    pub fn new(target: Target) -> Self {
        Self {
            target,
            request: RequestSpec::get(),
            connections: 32,
            depth: 1,
            threads: 1,
            warmup: Duration::from_secs(1),
            stop: Stop::Duration(Duration::from_secs(5)),
            expect_status: 200,
            expect_body_bytes: None,
            expect_body_contains: None,
            server: None,
        }
    }

    /// Refuses values outside the limits; nothing is opened before this passes.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=CONNECTIONS_MAX).contains(&self.connections) {
            return Err(ConfigError::Connections { value: self.connections, max: CONNECTIONS_MAX });
        }
        if !(1..=PIPELINE_DEPTH_MAX).contains(&self.depth) {
            return Err(ConfigError::Depth { value: self.depth, max: PIPELINE_DEPTH_MAX });
        }
        let threads_max = THREADS_MAX.min(self.connections);
        if !(1..=threads_max).contains(&self.threads) {
            return Err(ConfigError::Threads { value: self.threads, max: threads_max });
        }
        if self.warmup.as_millis() > u128::from(WARMUP_MS_MAX) {
            return Err(ConfigError::Warmup {
                value_ms: self.warmup.as_millis(),
                max_ms: WARMUP_MS_MAX,
            });
        }
        if let Some(bytes) = &self.expect_body_contains {
            Needle::new(bytes)?;
        }
        match self.stop {
            Stop::Duration(d) => {
                let ms = d.as_millis();
                if ms < u128::from(DURATION_MS_MIN) || ms > u128::from(DURATION_MS_MAX) {
                    return Err(ConfigError::Duration {
                        value_ms: ms,
                        min_ms: DURATION_MS_MIN,
                        max_ms: DURATION_MS_MAX,
                    });
                }
            }
            Stop::Requests { count, deadline } => {
                if !(1..=REQUESTS_MAX).contains(&count) {
                    return Err(ConfigError::Requests { value: count, max: REQUESTS_MAX });
                }
                let ms = deadline.as_millis();
                if ms == 0 || ms > u128::from(DEADLINE_MS_MAX) {
                    return Err(ConfigError::Deadline { value_ms: ms, max_ms: DEADLINE_MS_MAX });
                }
            }
        }
        Ok(())
    }

    /// Longest wall time the run may take (warm-up plus measured window or deadline).
    pub fn planned(&self) -> Duration {
        self.warmup
            + match self.stop {
                Stop::Duration(d) => d,
                Stop::Requests { deadline, .. } => deadline,
            }
    }
}

/// Why a run could not be carried out (as opposed to a run that found errors).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A value outside the limits.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The request cannot be built.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The probe request could not be sent or answered.
    #[error("probe request to {addr} failed: {source}")]
    ProbeIo {
        /// The target address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The probe's answer is not a valid response.
    #[error("probe response from {addr} is invalid: {source}")]
    ProbeResponse {
        /// The target address.
        addr: String,
        /// The parse error.
        source: ResponseError,
    },
    /// The probe's status is not the expected one.
    #[error("probe response from {addr} has status {status}, expected {expected}")]
    ProbeStatus {
        /// The target address.
        addr: String,
        /// Status received.
        status: u16,
        /// Status expected.
        expected: u16,
    },
    /// The probe's body lacks the required byte string.
    #[error("probe response from {addr} does not contain {needle:?} ({body_bytes} body bytes)")]
    ProbeBody {
        /// The target address.
        addr: String,
        /// The byte string required, as text (lossy).
        needle: String,
        /// Length of the body received.
        body_bytes: u64,
    },
    /// A worker could not set up its event loop, or failed in it.
    #[error("load-generator thread failed: {0}")]
    Worker(std::io::Error),
    /// A worker thread panicked (a bug).
    #[error("load-generator thread panicked")]
    WorkerPanicked,
    /// CPU counters could not be read.
    #[error(transparent)]
    Cpu(#[from] CpuError),
}

/// The outcome of one run.
#[derive(Debug)]
pub struct RunReport {
    /// Measured responses completed (checked; failed checks are also in `errors`).
    pub requests: u64,
    /// Length of the measured window.
    pub elapsed: Duration,
    /// Latency of measured responses, in nanoseconds.
    pub latency_ns: Histogram<u64>,
    /// Errors in every phase (warm-up included).
    pub errors: Errors,
    /// Connections reopened after a clean close by the server.
    pub reconnects: u64,
    /// Server CPU in the measured window, when a server was named.
    pub server_cpu: Option<CpuTime>,
    /// The load generator's own CPU in the measured window.
    pub client_cpu: CpuTime,
    /// Machine-wide steal in the measured window, in percent of all CPU time.
    pub steal_percent: f64,
    /// Machine-wide busy share in the measured window, in percent.
    pub busy_percent: f64,
    /// What the probe saw.
    pub probe: Probe,
    /// What every response was checked against.
    pub expect: Expect,
    /// The byte string every body had to contain, as text (lossy), if any.
    pub expect_body_contains: Option<String>,
}

impl RunReport {
    /// Measured requests per second.
    pub fn requests_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.requests as f64 / secs } else { 0.0 }
    }

    /// Latency at a percentile (0..=100), in microseconds.
    pub fn latency_us(&self, percentile: f64) -> f64 {
        self.latency_ns.value_at_percentile(percentile) as f64 / 1000.0
    }

    /// Per-request CPU of `cpu` in microseconds.
    pub fn us_per_request(&self, ns: u64) -> f64 {
        if self.requests == 0 { 0.0 } else { ns as f64 / 1000.0 / self.requests as f64 }
    }

    /// True when any error was seen.
    pub fn failed(&self) -> bool {
        self.errors.total() > 0
    }
}

/// Carries out one run. Errors in the responses are data (in the report); only a run that
/// cannot be carried out returns `Err`.
pub fn run(config: &RunConfig) -> Result<RunReport, RunError> {
    config.validate()?;
    let one = config.request.encode(&config.target)?;
    let batch_bytes = one.len() as u64 * u64::from(config.depth);
    if batch_bytes > BATCH_BYTES_MAX {
        return Err(ConfigError::Batch { bytes: batch_bytes, max: BATCH_BYTES_MAX }.into());
    }
    let batch = one.repeat(config.depth as usize);
    let head_requests = config.request.is_head();
    let needle = config
        .expect_body_contains
        .as_deref()
        .map(Needle::new)
        .transpose()
        .map_err(ConfigError::from)?;
    let probe = probe(&config.target, &one, head_requests, needle.clone())?;
    if probe.status != config.expect_status {
        return Err(RunError::ProbeStatus {
            addr: config.target.addr.to_string(),
            status: probe.status,
            expected: config.expect_status,
        });
    }
    if let (Some(needle), Some(false)) = (&needle, probe.contains) {
        return Err(RunError::ProbeBody {
            addr: config.target.addr.to_string(),
            needle: String::from_utf8_lossy(needle.bytes()).into_owned(),
            body_bytes: probe.body_bytes,
        });
    }
    let expect = Expect {
        status: config.expect_status,
        body_bytes: match (config.expect_body_bytes, &needle) {
            (Some(len), _) => Some(len),
            (None, Some(_)) => None,
            (None, None) => Some(probe.body_bytes),
        },
    };
    let plan = Plan {
        addr: config.target.addr,
        batch: &batch,
        request_bytes: one.len(),
        depth: config.depth,
        head_requests,
        expect,
        needle: needle.as_ref(),
    };
    let threads = config.threads;
    let share = |total: u64, i: u32| -> u64 {
        total / u64::from(threads) + u64::from(u64::from(i) < total % u64::from(threads))
    };
    let barrier = Barrier::new(threads as usize + 1);
    let schedule: OnceLock<(Instant, Instant)> = OnceLock::new();
    let self_pid = std::process::id();

    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(threads as usize);
        for i in 0..threads {
            let connections = u32::try_from(share(u64::from(config.connections), i)).unwrap_or(1);
            let (barrier, schedule) = (&barrier, &schedule);
            handles.push(scope.spawn(move || {
                let worker = Worker::connect(plan, connections);
                barrier.wait();
                barrier.wait();
                let worker = worker?;
                let Some(&(measure_from, end)) = schedule.get() else {
                    return Err(std::io::Error::other("schedule not set"));
                };
                let until = match config.stop {
                    Stop::Duration(_) => Until::Time(end),
                    Stop::Requests { count, .. } => {
                        Until::Count { requests: share(count, i), deadline: end }
                    }
                };
                worker.run(measure_from, until)
            }));
        }
        barrier.wait();
        let start = Instant::now();
        let measure_from = start + config.warmup;
        let end = measure_from
            + match config.stop {
                Stop::Duration(d) => d,
                Stop::Requests { deadline, .. } => deadline,
            };
        let _ = schedule.set((measure_from, end));
        barrier.wait();

        std::thread::sleep(measure_from.saturating_duration_since(Instant::now()));
        let server_before = config.server.as_ref().map(ProcessSet::sample).transpose();
        let client_before = read_proc_stat(self_pid);
        let machine_before = MachineCpu::read();
        if let Stop::Duration(_) = config.stop {
            std::thread::sleep(end.saturating_duration_since(Instant::now()));
        }
        // A timed run is sampled at the end of its window, before joining (the workers stop
        // then too); a counted run ends when its last worker does.
        let timed = matches!(config.stop, Stop::Duration(_));
        let early = timed.then(|| sample_end(config, self_pid));
        let results: Vec<WorkerResult> = handles.into_iter().map(|h| h.join()).collect();
        let (after, ended) = early.unwrap_or_else(|| sample_end(config, self_pid));
        // The window the workers measured: from `measure_from` to `end` (timed), or to when the
        // last worker finished (counted). CPU samples sit within a few ms of these instants.
        let ended = if timed { end } else { ended };
        let before = (server_before, client_before, machine_before);
        let contains = needle.as_ref().map(|n| String::from_utf8_lossy(n.bytes()).into_owned());
        finish(results, (after, ended), before, measure_from, probe, (expect, contains))
    })
}

type Samples = (
    Result<Option<crate::cpu::CpuSample>, CpuError>,
    Result<crate::cpu::ProcStat, CpuError>,
    Result<MachineCpu, CpuError>,
);

fn sample_end(config: &RunConfig, self_pid: u32) -> (Samples, Instant) {
    let server = config.server.as_ref().map(ProcessSet::sample).transpose();
    let client = read_proc_stat(self_pid);
    let machine = MachineCpu::read();
    ((server, client, machine), Instant::now())
}

type WorkerResult = std::thread::Result<std::io::Result<crate::load::WorkerStats>>;

fn finish(
    results: Vec<WorkerResult>,
    (after, sampled_at): (Samples, Instant),
    before: Samples,
    window_start: Instant,
    probe: Probe,
    (expect, expect_body_contains): (Expect, Option<String>),
) -> Result<RunReport, RunError> {
    let mut latency_ns = new_histogram();
    let mut errors = Errors::default();
    let (mut requests, mut reconnects) = (0u64, 0u64);
    for result in results {
        let stats = result.map_err(|_| RunError::WorkerPanicked)?.map_err(RunError::Worker)?;
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = latency_ns.add(&stats.latency_ns);
        errors.add(&stats.errors);
        requests += stats.responses;
        reconnects += stats.reconnects;
    }
    let (server_before, client_before, machine_before) = before;
    let (server_after, client_after, machine_after) = after;
    let server_cpu = match (server_before?, server_after?) {
        (Some(b), Some(a)) => Some(a.since(&b)),
        _ => None,
    };
    let ticks_ns = 1_000_000_000 / rustix::param::clock_ticks_per_second().max(1);
    let (c0, c1) = (client_before?, client_after?);
    let client_cpu = CpuTime {
        user_ns: c1.utime.saturating_sub(c0.utime) * ticks_ns,
        system_ns: c1.stime.saturating_sub(c0.stime) * ticks_ns,
    };
    let (m0, m1) = (machine_before?, machine_after?);
    Ok(RunReport {
        requests,
        elapsed: sampled_at.saturating_duration_since(window_start),
        latency_ns,
        errors,
        reconnects,
        server_cpu,
        client_cpu,
        steal_percent: m1.steal_percent_since(&m0),
        busy_percent: m1.busy_percent_since(&m0),
        probe,
        expect,
        expect_body_contains,
    })
}

/// Parses `250ms`, `5s`, `2m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1u64)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1_000)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000)
    } else {
        (text, 1_000)
    };
    let value: u64 = number.trim().parse().map_err(|_| format!("invalid duration {text:?}"))?;
    let ms = value.checked_mul(unit_ms).ok_or_else(|| format!("duration {text:?} overflows"))?;
    Ok(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("99999999999999999999m").is_err());
    }
}
