//! [`DateCache`]: the `Date` header value (IMF-fixdate, RFC 9110 §5.6.7), formatted at most once
//! per second.
//!
//! Pure: the caller passes the current Unix time (the engine reads its clock once per loop
//! iteration, or from a one-second timer), and the cache reformats only when the second changed.
//! It holds both the 29-byte date and the full `Date: ...\r\n` line, so the response writer
//! copies one slice. It does not read the clock and does not know time zones (always GMT).
//!
//! ```
//! use shardbox_http::DateCache;
//!
//! let mut d = DateCache::new(784_111_777);
//! assert_eq!(d.imf_fixdate(), b"Sun, 06 Nov 1994 08:49:37 GMT");
//! assert!(!d.update(784_111_777)); // same second: nothing to do
//! assert!(d.update(784_111_778));
//! assert_eq!(d.header_line(), b"Date: Sun, 06 Nov 1994 08:49:38 GMT\r\n");
//! ```

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const IMF_FIXDATE_LEN: usize = 29;
const PREFIX: &[u8; 6] = b"Date: ";
const LINE_LEN: usize = PREFIX.len() + IMF_FIXDATE_LEN + 2;
/// 9999-12-31T23:59:59Z: the last second with a four-digit year.
const SECS_LAST: u64 = 253_402_300_799;

/// The current `Date` header, reformatted only when the second changes.
#[derive(Clone, Debug)]
pub struct DateCache {
    secs: u64,
    line: [u8; LINE_LEN],
}

impl DateCache {
    /// A cache showing `unix_secs` (seconds since 1970-01-01T00:00:00Z; later than year 9999 is
    /// shown as the last second of 9999).
    #[must_use]
    pub fn new(unix_secs: u64) -> Self {
        let mut line = [0u8; LINE_LEN];
        let (prefix, rest) = line.split_at_mut(PREFIX.len());
        prefix.copy_from_slice(PREFIX);
        let (date, crlf) = rest.split_at_mut(IMF_FIXDATE_LEN);
        crlf.copy_from_slice(b"\r\n");
        format_imf_fixdate(unix_secs, date);
        Self { secs: unix_secs, line }
    }

    /// Shows `unix_secs`; returns whether the text changed (it does only when the second did).
    pub fn update(&mut self, unix_secs: u64) -> bool {
        if unix_secs == self.secs {
            return false;
        }
        self.secs = unix_secs;
        if let Some(date) = self.line.get_mut(PREFIX.len()..PREFIX.len() + IMF_FIXDATE_LEN) {
            format_imf_fixdate(unix_secs, date);
        }
        true
    }

    /// The second currently shown.
    #[must_use]
    pub fn unix_secs(&self) -> u64 {
        self.secs
    }

    /// The 29-byte IMF-fixdate.
    #[must_use]
    pub fn imf_fixdate(&self) -> &[u8] {
        self.line.get(PREFIX.len()..PREFIX.len() + IMF_FIXDATE_LEN).unwrap_or(&[])
    }

    /// The whole header line, `Date: <IMF-fixdate>\r\n`.
    #[must_use]
    pub fn header_line(&self) -> &[u8] {
        &self.line
    }
}

/// Writes the IMF-fixdate of `unix_secs` into `out` (29 bytes).
fn format_imf_fixdate(unix_secs: u64, out: &mut [u8]) {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let secs = unix_secs.min(SECS_LAST);
    let days = secs / 86_400;
    let sod = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = DAYS.get(usize::try_from(days % 7).unwrap_or(0)).copied().unwrap_or(b"Thu");
    let month_name = MONTHS.get(usize::try_from(month - 1).unwrap_or(0)).copied().unwrap_or(b"Jan");

    let mut text = [0u8; IMF_FIXDATE_LEN];
    let d2 = |n: u64| [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8];
    let y = [
        b'0' + (year / 1000 % 10) as u8,
        b'0' + (year / 100 % 10) as u8,
        b'0' + (year / 10 % 10) as u8,
        b'0' + (year % 10) as u8,
    ];
    let parts: [&[u8]; 14] = [
        weekday,
        b", ",
        &d2(day),
        b" ",
        month_name,
        b" ",
        &y,
        b" ",
        &d2(sod / 3600),
        b":",
        &d2(sod / 60 % 60),
        b":",
        &d2(sod % 60),
        b" GMT",
    ];
    let mut at = 0;
    for p in parts {
        if let Some(dst) = text.get_mut(at..at + p.len()) {
            dst.copy_from_slice(p);
        }
        at += p.len();
    }
    debug_assert_eq!(at, IMF_FIXDATE_LEN);
    if let Some(dst) = out.get_mut(..IMF_FIXDATE_LEN) {
        dst.copy_from_slice(&text);
    }
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(secs: u64) -> String {
        String::from_utf8(DateCache::new(secs).imf_fixdate().to_vec()).unwrap()
    }

    #[test]
    fn known_dates() {
        assert_eq!(fmt(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(fmt(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(fmt(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(fmt(1_709_164_800), "Thu, 29 Feb 2024 00:00:00 GMT");
        assert_eq!(fmt(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 GMT");
        assert_eq!(fmt(SECS_LAST), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(fmt(u64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    /// Every day for 600 years against a naive day-by-day calendar walk.
    #[test]
    fn matches_naive_calendar() {
        let leap =
            |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
        let (mut y, mut m, mut d) = (1970u64, 1u64, 1u64);
        for days in 0..(600 * 366) {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let month_len = match m {
                2 if leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > month_len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn update_only_on_a_new_second() {
        let mut d = DateCache::new(0);
        assert!(!d.update(0));
        assert!(d.update(1));
        assert_eq!(d.unix_secs(), 1);
        assert_eq!(d.header_line(), b"Date: Thu, 01 Jan 1970 00:00:01 GMT\r\n");
        assert_eq!(d.imf_fixdate().len(), IMF_FIXDATE_LEN);
    }
}
