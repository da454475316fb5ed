//! Output formats: a run as text, a round as a CSV row, a comparison as a markdown table.
//!
//! [`Sample`] is the flat record of one run (one CSV row): everything the table needs plus
//! the steal share, so raw data can be re-analysed without re-running. [`run_text`] renders
//! one run for a terminal, with a loud banner when it saw errors. [`Summary`] reduces the
//! samples of one target to medians; [`markdown_table`] prints the summaries with ratios to
//! the baseline (which reads 1.00×).
//!
//! It computes nothing that is not in the samples, and writes no files itself.

use std::fmt::Write as _;

use crate::machine::MachineInfo;
use crate::run::RunReport;

/// One run, flattened: a row of the raw CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Scenario label (e.g. `keepalive-c32`).
    pub scenario: String,
    /// Target name.
    pub target: String,
    /// Round number, from 0.
    pub round: u32,
    /// Measured responses.
    pub requests: u64,
    /// Measured window in seconds.
    pub seconds: f64,
    /// Requests per second.
    pub rps: f64,
    /// Latency percentiles and maximum, in microseconds.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Maximum.
    pub max_us: f64,
    /// Errors of every kind.
    pub errors: u64,
    /// Server user and system CPU per request, in microseconds (NaN when not measured).
    pub server_user_us: f64,
    /// Server system CPU per request.
    pub server_sys_us: f64,
    /// Load generator user CPU per request.
    pub client_user_us: f64,
    /// Load generator system CPU per request.
    pub client_sys_us: f64,
    /// Machine-wide steal in the window, percent.
    pub steal_percent: f64,
    /// Response head and body sizes from the probe, in bytes.
    pub head_bytes: u64,
    /// Body bytes.
    pub body_bytes: u64,
}

/// The CSV header matching [`Sample::csv_row`].
pub const CSV_HEADER: &str = "scenario,target,round,requests,seconds,rps,p50_us,p90_us,p99_us,\
p999_us,max_us,errors,server_user_us_per_req,server_sys_us_per_req,client_user_us_per_req,\
client_sys_us_per_req,steal_percent,head_bytes,body_bytes";

impl Sample {
    /// Flattens a run.
    pub fn from_report(scenario: &str, target: &str, round: u32, report: &RunReport) -> Self {
        let per = |ns: Option<u64>| ns.map_or(f64::NAN, |ns| report.us_per_request(ns));
        Self {
            scenario: scenario.into(),
            target: target.into(),
            round,
            requests: report.requests,
            seconds: report.elapsed.as_secs_f64(),
            rps: report.requests_per_second(),
            p50_us: report.latency_us(50.0),
            p90_us: report.latency_us(90.0),
            p99_us: report.latency_us(99.0),
            p999_us: report.latency_us(99.9),
            max_us: report.latency_ns.max() as f64 / 1000.0,
            errors: report.errors.total(),
            server_user_us: per(report.server_cpu.map(|c| c.user_ns)),
            server_sys_us: per(report.server_cpu.map(|c| c.system_ns)),
            client_user_us: per(Some(report.client_cpu.user_ns)),
            client_sys_us: per(Some(report.client_cpu.system_ns)),
            steal_percent: report.steal_percent,
            head_bytes: report.probe.head_bytes,
            body_bytes: report.probe.body_bytes,
        }
    }

    /// One CSV line (no newline). Names are quoted when they contain a comma or quote.
    pub fn csv_row(&self) -> String {
        format!(
            "{},{},{},{},{:.3},{:.1},{:.1},{:.1},{:.1},{:.1},{:.1},{},{:.3},{:.3},{:.3},{:.3},{:.1},{},{}",
            csv_field(&self.scenario),
            csv_field(&self.target),
            self.round,
            self.requests,
            self.seconds,
            self.rps,
            self.p50_us,
            self.p90_us,
            self.p99_us,
            self.p999_us,
            self.max_us,
            self.errors,
            self.server_user_us,
            self.server_sys_us,
            self.client_user_us,
            self.client_sys_us,
            self.steal_percent,
            self.head_bytes,
            self.body_bytes,
        )
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A run for a terminal: counts, rate, latency, CPU, and errors by kind.
pub fn run_text(report: &RunReport) -> String {
    let mut out = String::new();
    let e = &report.errors;
    if report.failed() {
        let _ = writeln!(
            out,
            "!!!!!!!! RUN HAD {} ERRORS: the numbers below do not measure the work asked !!!!!!!!",
            e.total()
        );
    }
    let _ = writeln!(
        out,
        "requests      {} in {:.3} s = {:.0} req/s",
        report.requests,
        report.elapsed.as_secs_f64(),
        report.requests_per_second()
    );
    let _ = writeln!(
        out,
        "latency µs    p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}",
        report.latency_us(50.0),
        report.latency_us(90.0),
        report.latency_us(99.0),
        report.latency_us(99.9),
        report.latency_ns.max() as f64 / 1000.0
    );
    match report.server_cpu {
        Some(cpu) => {
            let _ = writeln!(
                out,
                "server CPU    {:.2} µs/req (user {:.2}, sys {:.2})",
                report.us_per_request(cpu.total_ns()),
                report.us_per_request(cpu.user_ns),
                report.us_per_request(cpu.system_ns)
            );
        }
        None => {
            let _ = writeln!(out, "server CPU    not measured (no --pid, no listener found)");
        }
    }
    let c = report.client_cpu;
    let _ = writeln!(
        out,
        "bench CPU     {:.2} µs/req (user {:.2}, sys {:.2})",
        report.us_per_request(c.total_ns()),
        report.us_per_request(c.user_ns),
        report.us_per_request(c.system_ns)
    );
    let _ = writeln!(
        out,
        "machine       busy {:.0} %, steal {:.1} % during the window",
        report.busy_percent, report.steal_percent
    );
    let length = match report.expect.body_bytes {
        Some(len) => format!("body {len} bytes"),
        None => "body length not checked".to_string(),
    };
    let content = match &report.expect_body_contains {
        Some(text) => format!(", body contains {text:?}"),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "checked       every response: status {}, {length}{content} (probe: head {} B, body {} B)",
        report.expect.status, report.probe.head_bytes, report.probe.body_bytes
    );
    let _ = writeln!(
        out,
        "errors        {} (status {}, body length {}, body content {}, malformed {}, closed {}, connect {}, unanswered {}); reconnects {}",
        e.total(),
        e.status,
        e.body_length,
        e.body_content,
        e.malformed,
        e.closed,
        e.connect,
        e.unanswered,
        report.reconnects
    );
    if e.body_length > 0 && report.expect_body_contains.is_none() {
        // The usual cause: answers that carry measurements (a judge's `runTime`) vary in length.
        let _ = writeln!(
            out,
            "hint          bodies differed in length from the one expected; if this server's answers \
             vary, check their content instead, e.g. --expect-body-contains '\"status\":\"Accepted\"'"
        );
    }
    out
}

/// Median of the finite values (mean of the middle two for an even count); NaN when none.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    match (v.get(mid.wrapping_sub(1)), v.get(mid)) {
        (Some(a), Some(b)) if v.len().is_multiple_of(2) => (a + b) / 2.0,
        (_, Some(b)) => *b,
        _ => f64::NAN,
    }
}

/// One target's samples reduced to medians across rounds.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Target name.
    pub target: String,
    /// Rounds summarised.
    pub rounds: usize,
    /// Median, minimum and maximum req/s across rounds.
    pub rps: f64,
    /// Lowest round.
    pub rps_min: f64,
    /// Highest round.
    pub rps_max: f64,
    /// Median p50 and p99, in µs.
    pub p50_us: f64,
    /// Median p99.
    pub p99_us: f64,
    /// Median server CPU per request (user + sys, user, sys), in µs.
    pub server_us: f64,
    /// User part.
    pub server_user_us: f64,
    /// System part.
    pub server_sys_us: f64,
    /// Median load-generator CPU per request, in µs.
    pub client_us: f64,
    /// Errors summed over rounds.
    pub errors: u64,
    /// Median steal, percent.
    pub steal_percent: f64,
    /// Response size (head + body) from the probe of the first round, bytes.
    pub response_bytes: u64,
}

impl Summary {
    /// Summarises the samples of `target` (others are ignored).
    pub fn of(target: &str, samples: &[Sample]) -> Self {
        let mine: Vec<&Sample> = samples.iter().filter(|s| s.target == target).collect();
        let col = |f: fn(&Sample) -> f64| median(mine.iter().map(|s| f(s)));
        let rps: Vec<f64> = mine.iter().map(|s| s.rps).collect();
        Self {
            target: target.into(),
            rounds: mine.len(),
            rps: col(|s| s.rps),
            rps_min: rps.iter().copied().fold(f64::INFINITY, f64::min),
            rps_max: rps.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            p50_us: col(|s| s.p50_us),
            p99_us: col(|s| s.p99_us),
            server_us: col(|s| s.server_user_us + s.server_sys_us),
            server_user_us: col(|s| s.server_user_us),
            server_sys_us: col(|s| s.server_sys_us),
            client_us: col(|s| s.client_user_us + s.client_sys_us),
            errors: mine.iter().map(|s| s.errors).sum(),
            steal_percent: col(|s| s.steal_percent),
            response_bytes: mine.first().map_or(0, |s| s.head_bytes + s.body_bytes),
        }
    }
}

fn ratio(value: f64, base: f64) -> String {
    if value.is_finite() && base.is_finite() && base > 0.0 {
        format!("{:.2}×", value / base)
    } else {
        "–".into()
    }
}

fn num(value: f64, decimals: usize) -> String {
    if value.is_finite() { format!("{value:.decimals$}") } else { "–".into() }
}

/// The comparison table: one row per target, ratios against `summaries[baseline]`.
pub fn markdown_table(summaries: &[Summary], baseline: usize) -> String {
    let mut out = String::new();
    let base = summaries.get(baseline);
    let _ = writeln!(
        out,
        "| target | req/s (median) | req/s ratio | req/s range | p50 µs | p99 µs | p99 ratio | server CPU µs/req (user + sys) | CPU ratio | bench CPU µs/req | response bytes | errors |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in summaries {
        let (b_rps, b_p99, b_cpu) =
            base.map_or((f64::NAN, f64::NAN, f64::NAN), |b| (b.rps, b.p99_us, b.server_us));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {}–{} | {} | {} | {} | {} ({} + {}) | {} | {} | {} | {} |",
            s.target,
            num(s.rps, 0),
            ratio(s.rps, b_rps),
            num(s.rps_min, 0),
            num(s.rps_max, 0),
            num(s.p50_us, 0),
            num(s.p99_us, 0),
            ratio(s.p99_us, b_p99),
            num(s.server_us, 2),
            num(s.server_user_us, 2),
            num(s.server_sys_us, 2),
            ratio(s.server_us, b_cpu),
            num(s.client_us, 2),
            s.response_bytes,
            if s.errors == 0 { "0".to_string() } else { format!("**{}**", s.errors) },
        );
    }
    out
}

/// The header of a summary: where, when, how.
pub fn machine_block(machine: &MachineInfo) -> String {
    format!(
        "- date: {}\n- machine: {} × {} ({} CPUs available), kernel {}\n- command: `{}`\n",
        machine.date_utc,
        machine.nproc,
        machine.cpu_model,
        machine.nproc,
        machine.kernel,
        machine.command
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_nan() {
        assert_eq!(median([3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median([4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median([f64::NAN, 5.0]), 5.0);
        assert!(median([]).is_nan());
    }

    #[test]
    fn csv_quotes_names_with_commas() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(CSV_HEADER.split(',').count(), 19);
    }
}
