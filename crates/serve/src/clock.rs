//! Wall-clock reads of the service (the one module that reads the clock) and the `started_at` forms a
//! client may give: RFC 3339 (`2026-05-01T12:00:00.250Z`, `...+02:00`) or seconds since the Unix epoch.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn unix_now_s() -> f64 {
    #[allow(clippy::disallowed_methods)]
    // wall clock: a client's `started_at` is a wall-clock time; elapsed time is now minus it.
    let now = SystemTime::now();
    now.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

/// A monotonic instant, for latency histograms and TTLs.
pub fn instant_now() -> Instant {
    #[allow(clippy::disallowed_methods)]
    // wall clock: decision latency histogram and the memory store's idle TTL.
    Instant::now()
}

/// Parses an RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)`, `T` or a space, `z`
/// accepted) into seconds since the Unix epoch. The error says what is wrong.
pub fn parse_rfc3339(s: &str) -> Result<f64, String> {
    let b = s.as_bytes();
    let bad = |what: &str| format!("'{s}' is not an RFC 3339 date-time ({what})");
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0i64, |a, d| a * 10 + i64::from(d - b'0')))
    };
    if b.len() < 20 {
        return Err(bad("too short; e.g. 2026-05-01T12:00:00Z"));
    }
    let (Some(year), Some(month), Some(day)) = (num(0, 4), num(5, 2), num(8, 2)) else {
        return Err(bad("date must be YYYY-MM-DD"));
    };
    if b[4] != b'-' || b[7] != b'-' {
        return Err(bad("date must be YYYY-MM-DD"));
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad("date and time must be separated by T"));
    }
    let (Some(hour), Some(min), Some(sec)) = (num(11, 2), num(14, 2), num(17, 2)) else {
        return Err(bad("time must be HH:MM:SS"));
    };
    if b[13] != b':' || b[16] != b':' {
        return Err(bad("time must be HH:MM:SS"));
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(bad("no such date"));
    }
    // 60: a leap second, counted as the next second's start.
    if hour > 23 || min > 59 || sec > 60 {
        return Err(bad("no such time"));
    }
    let mut i = 19;
    let mut frac = 0.0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return Err(bad("a fraction needs digits"));
        }
        frac = format!("0.{}", &s[start..i])
            .parse::<f64>()
            .map_err(|_| bad("fraction"))?;
    }
    let offset_s = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let (Some(oh), Some(om)) = (num(i + 1, 2), num(i + 4, 2)) else {
                return Err(bad("offset must be +HH:MM or -HH:MM"));
            };
            if oh > 23 || om > 59 {
                return Err(bad("offset out of range"));
            }
            let o = oh * 3600 + om * 60;
            if sign == b'-' { -o } else { o }
        }
        _ => return Err(bad("it must end in Z or an offset +HH:MM")),
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_s;
    Ok(secs as f64 + frac)
}

/// Seconds since the Unix epoch as RFC 3339 in UTC, with milliseconds (`2026-05-01T12:00:00.250Z`).
pub fn format_rfc3339(unix_s: f64) -> String {
    let ms = (unix_s * 1000.0).round() as i64;
    let (secs, ms) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// How far in the future a `started_at` may be before it is refused (clock skew between the caller
/// and this host), seconds; within it, the elapsed time is 0.
pub const MAX_CLOCK_SKEW_S: f64 = 1.0;

/// Seconds since the execution started, from exactly one of `elapsed_s` and `started_at` (an RFC 3339
/// string such as Step Functions' `$$.Execution.StartTime`, or seconds since the Unix epoch), as the
/// HTTP API and the Lambda configurator take them; `example` shows the caller a valid request.
/// `elapsed_s` itself is checked by the engine.
pub fn elapsed_since_start(
    elapsed_s: Option<f64>,
    started_at: Option<&serde_json::Value>,
    example: &str,
) -> Result<f64, crate::Error> {
    use crate::Error;
    use serde_json::Value;
    match (elapsed_s, started_at) {
        (Some(e), None) => Ok(e),
        (None, Some(at)) => {
            let t = match at {
                Value::String(s) => {
                    parse_rfc3339(s).map_err(|e| Error::BadRequest(format!("started_at: {e}")))?
                }
                Value::Number(n) => n.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                    Error::BadRequest(format!("started_at: {n} is not a usable number"))
                })?,
                other => {
                    return Err(Error::BadRequest(format!(
                        "started_at: {other} is neither an RFC 3339 string nor seconds since the Unix epoch"
                    )));
                }
            };
            let elapsed = unix_now_s() - t;
            if elapsed < -MAX_CLOCK_SKEW_S {
                return Err(Error::BadRequest(format!(
                    "started_at is {:.3} s in the future",
                    -elapsed
                )));
            }
            if elapsed > crate::engine::MAX_SECONDS {
                return Err(Error::BadRequest(format!(
                    "started_at is more than a year ago ({elapsed:.0} s)"
                )));
            }
            Ok(elapsed.max(0.0))
        }
        (Some(_), Some(_)) => Err(Error::BadRequest(
            "give elapsed_s or started_at, not both".to_owned(),
        )),
        (None, None) => Err(Error::BadRequest(format!(
            "give elapsed_s or started_at: {example}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_forms() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0.0));
        assert_eq!(parse_rfc3339("2000-03-01T00:00:00Z"), Ok(951_868_800.0));
        assert_eq!(parse_rfc3339("2026-05-01T12:00:00Z"), Ok(1_777_636_800.0));
        assert_eq!(
            parse_rfc3339("2026-05-01T14:00:00.25+02:00"),
            Ok(1_777_636_800.25)
        );
        assert_eq!(
            parse_rfc3339("2026-05-01 11:30:00-00:30"),
            Ok(1_777_636_800.0)
        );
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00z"), Ok(1_709_164_800.0));
    }

    #[test]
    fn formatted_times_parse_back() {
        for t in [
            0.0,
            951_868_800.0,
            1_777_636_800.25,
            1_709_164_799.999,
            -86_400.5,
        ] {
            let s = format_rfc3339(t);
            assert_eq!(parse_rfc3339(&s), Ok(t), "{s}");
        }
        assert_eq!(format_rfc3339(1_777_636_800.25), "2026-05-01T12:00:00.250Z");
    }

    #[test]
    fn rfc3339_errors_say_what_is_wrong() {
        for (s, what) in [
            ("2026-05-01", "too short"),
            ("2026-13-01T00:00:00Z", "no such date"),
            ("2023-02-29T00:00:00Z", "no such date"),
            ("2026-05-01T24:00:00Z", "no such time"),
            ("2026-05-01T12:00:00", "too short"),
            ("2026-05-01T12:00:00.Z", "fraction needs digits"),
            ("2026-05-01T12:00:00+0200", "end in Z"),
            ("2026-05-01X12:00:00Z", "separated by T"),
            ("２０２６-05-01T12:00:00Z", "date must be"),
            ("2026-05-01T12:00:00Zjunk", "end in Z"),
        ] {
            let e = parse_rfc3339(s).unwrap_err();
            assert!(e.contains(what), "{s}: {e}");
        }
    }
}
