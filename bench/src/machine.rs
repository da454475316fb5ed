//! Where and when a number was taken: CPU model, core count, kernel, UTC date, exact command.
//!
//! [`MachineInfo::collect`] reads `/proc/cpuinfo` and `/proc/sys/kernel/osrelease`, counts the
//! CPUs the process may use, formats the current UTC time without a date library, and quotes
//! the command line so it can be pasted back into a shell. Every result file carries it.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// The record of a machine and an invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineInfo {
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// CPUs available to this process.
    pub nproc: usize,
    /// Kernel release.
    pub kernel: String,
    /// UTC date and time, ISO 8601.
    pub date_utc: String,
    /// The exact command, shell-quoted.
    pub command: String,
}

impl MachineInfo {
    /// Collects the record now, for the current process's command line.
    pub fn collect() -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let nproc = std::thread::available_parallelism().map(usize::from).unwrap_or(0);
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let command = shell_quote(std::env::args());
        Self { cpu_model, nproc, kernel, date_utc: format_utc(secs), command }
    }
}

/// Quotes each argument for a POSIX shell and joins them with spaces.
pub fn shell_quote(args: impl IntoIterator<Item = String>) -> String {
    let mut out = String::new();
    for (i, arg) in args.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let plain = !arg.is_empty()
            && arg.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@%+".contains(&b));
        if plain {
            out.push_str(&arg);
        } else {
            out.push('\'');
            out.push_str(&arg.replace('\'', r"'\''"));
            out.push('\'');
        }
    }
    out
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian).
pub fn format_utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut out = String::new();
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_798_761_599), "2026-12-31T23:59:59Z");
    }

    #[test]
    fn quoting_round_trips_specials() {
        let q = shell_quote(["bench".to_string(), "a b".into(), "it's".into(), "--x=1".into()]);
        assert_eq!(q, r"bench 'a b' 'it'\''s' --x=1");
    }
}
