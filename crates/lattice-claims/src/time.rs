//! Clock access and the two ways times are shown: UTC dates in errors, coarse relative strings in validations.

use std::time::{SystemTime, UNIX_EPOCH};

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// Seconds since the Unix epoch by the system clock.
///
/// A clock set before 1970 reads as 0 rather than panicking: every token then looks
/// "not yet valid" or "not expired", which is the safe direction for the checks that use it.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Adds a duration to a timestamp, saturating instead of overflowing on absurd inputs.
pub(crate) fn add_secs(now: u64, d: std::time::Duration) -> u64 {
    now.saturating_add(d.as_secs())
}

/// Formats seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub(crate) fn format_utc(secs: u64) -> String {
    let days = secs / DAY;
    let rem = secs % DAY;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / HOUR,
        (rem % HOUR) / MINUTE,
        rem % MINUTE
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day).
///
/// This is the well-known era-based algorithm (400-year eras of 146 097 days); all
/// arithmetic stays unsigned because timestamps here are never before the epoch.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of a year.
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

/// A coarse, human description of `stamp` relative to `now`: "in 3 days", "2 hours ago".
///
/// Only the largest unit is kept because these strings are for people skimming
/// `wash claims inspect` output or events, not for computation.
pub(crate) fn relative_human(stamp: u64, now: u64) -> String {
    let diff = stamp.abs_diff(now);
    if diff == 0 {
        return "now".to_string();
    }
    let (count, unit) = if diff >= DAY {
        (diff / DAY, "day")
    } else if diff >= HOUR {
        (diff / HOUR, "hour")
    } else if diff >= MINUTE {
        (diff / MINUTE, "minute")
    } else {
        (diff, "second")
    };
    let plural = if count == 1 { "" } else { "s" };
    if stamp > now {
        format!("in {count} {unit}{plural}")
    } else {
        format!("{count} {unit}{plural} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_714_506_509), "2024-04-30 19:48:29 UTC");
        assert_eq!(format_utc(4_102_444_799), "2099-12-31 23:59:59 UTC");
        // Absurd values still format rather than overflow.
        assert!(format_utc(u64::MAX).ends_with(" UTC"));
    }

    #[test]
    fn relative_strings() {
        let now = 1_000_000;
        assert_eq!(relative_human(now, now), "now");
        assert_eq!(relative_human(now + 1, now), "in 1 second");
        assert_eq!(relative_human(now + 1000, now), "in 16 minutes");
        assert_eq!(relative_human(now - 30_000, now), "8 hours ago");
        assert_eq!(relative_human(now + 3 * DAY + 5, now), "in 3 days");
        assert_eq!(relative_human(now - DAY, now), "1 day ago");
        assert_eq!(relative_human(u64::MAX, 0), format!("in {} days", u64::MAX / DAY));
    }

    #[test]
    fn add_saturates() {
        assert_eq!(add_secs(u64::MAX, std::time::Duration::from_secs(5)), u64::MAX);
    }
}
