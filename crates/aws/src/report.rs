//! The `REPORT` line AWS Lambda writes at the end of every invocation's log, as returned (base64, the
//! last 4 KB of the log) by `Invoke` with `LogType=Tail`:
//!
//! ```text
//! REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3 Duration: 12.34 ms Billed Duration: 13 ms Memory Size: 128 MB Max Memory Used: 18 MB Init Duration: 166.34 ms
//! ```
//!
//! (shown with spaces; AWS separates the fields by tabs, and both are accepted); `Init Duration` appears only on a cold start;
//! newer runtimes add `Status: timeout` or `Status: error` with `Error Type: Runtime.OutOfMemory` when the
//! invocation did not complete, and an `XRAY TraceId` line may follow. Every parse error says which field
//! is missing or malformed and quotes the line.

use base64::Engine;

/// One invocation's `REPORT` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The request id.
    pub request_id: String,
    /// `Duration`, milliseconds (the handler's run, without the init phase).
    pub duration_ms: f64,
    /// `Billed Duration`, milliseconds.
    pub billed_duration_ms: f64,
    /// `Memory Size`, MB: the memory the invocation ran with.
    pub memory_size_mb: u32,
    /// `Max Memory Used`, MB.
    pub max_memory_used_mb: u32,
    /// `Init Duration`, milliseconds: present only on a cold start.
    pub init_duration_ms: Option<f64>,
    /// `Status` (`timeout`, `error`), when the runtime reports one.
    pub status: Option<String>,
    /// `Error Type` (e.g. `Runtime.OutOfMemory`), when the runtime reports one.
    pub error_type: Option<String>,
}

/// How an invocation ended, as far as profiling cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The handler returned.
    Ok,
    /// The invocation hit the function's timeout.
    Timeout,
    /// The invocation ran out of memory (`Runtime.OutOfMemory`, or `Max Memory Used` reached `Memory Size`
    /// on a failed invocation).
    OutOfMemory,
    /// Another function error.
    Error,
}

impl Report {
    /// Whether this invocation was a cold start (an init phase ran).
    pub fn cold(&self) -> bool {
        self.init_duration_ms.is_some()
    }

    /// The outcome, from the `Status`/`Error Type` fields and the `X-Amz-Function-Error` response header
    /// (`function_error`).
    pub fn outcome(&self, function_error: Option<&str>) -> Outcome {
        let status = self.status.as_deref().unwrap_or("");
        let error_type = self.error_type.as_deref().unwrap_or("");
        if status.eq_ignore_ascii_case("timeout") || error_type.contains("Timeout") {
            return Outcome::Timeout;
        }
        let failed = function_error.is_some() || status.eq_ignore_ascii_case("error");
        if error_type.contains("OutOfMemory")
            || (failed && self.max_memory_used_mb >= self.memory_size_mb)
        {
            return Outcome::OutOfMemory;
        }
        if failed { Outcome::Error } else { Outcome::Ok }
    }
}

/// A `REPORT` line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// The log tail had no line starting with `REPORT`.
    #[error("no REPORT line in the log tail (was LogType=Tail honoured? the tail was: {tail:?})")]
    Missing {
        /// The tail (at most 300 characters of it).
        tail: String,
    },
    /// A field is missing or not a number.
    #[error("REPORT line: {what} (line: {line:?})")]
    Bad {
        /// What is wrong, naming the field.
        what: String,
        /// The line.
        line: String,
    },
    /// The base64 of `LogResult` did not decode.
    #[error("LogResult is not base64 text: {0}")]
    Base64(String),
}

/// Decodes the base64 `LogResult` of an `Invoke` response.
pub fn decode_log_result(b64: &str) -> Result<String, ReportError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| ReportError::Base64(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Finds and parses the last `REPORT` line of a log tail.
pub fn find_report(log_tail: &str) -> Result<Report, ReportError> {
    let line = log_tail
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with("REPORT "))
        .ok_or_else(|| ReportError::Missing {
            tail: log_tail.chars().take(300).collect(),
        })?;
    parse_report_line(line)
}

/// The fields of a REPORT line in order; each value runs to the next known key.
const KEYS: [&str; 9] = [
    "RequestId:",
    "Duration:",
    "Billed Duration:",
    "Memory Size:",
    "Max Memory Used:",
    "Init Duration:",
    "Restore Duration:",
    "Status:",
    "Error Type:",
];

/// Parses one `REPORT` line.
pub fn parse_report_line(line: &str) -> Result<Report, ReportError> {
    let bad = |what: String| ReportError::Bad {
        what,
        line: line.trim_end().to_owned(),
    };
    let body = line
        .trim()
        .strip_prefix("REPORT")
        .ok_or_else(|| bad("does not start with REPORT".into()))?;
    // Split into (key, value) at tab boundaries first (the documented separator); fall back to finding
    // the known keys for lines whose tabs were turned into spaces.
    let mut fields: Vec<(&str, String)> = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        let Some(key) = KEYS
            .iter()
            .filter(|k| rest.starts_with(**k))
            .max_by_key(|k| k.len())
        else {
            return Err(bad(format!(
                "unknown field at {:?}",
                rest.chars().take(30).collect::<String>()
            )));
        };
        let after = &rest[key.len()..];
        // The value ends at the next tab, or at the next known key preceded by whitespace.
        let mut end = after.find('\t').unwrap_or(after.len());
        // (A key inside a longer one, " Duration:" in " Billed Duration:", is found after the
        // longer key's start, so the earliest match is always the right one.)
        for k in KEYS {
            if let Some(pos) = after.find(&format!(" {k}")) {
                end = end.min(pos);
            }
        }
        fields.push((key, after[..end].trim().to_owned()));
        rest = after[end..].trim_start();
    }
    let get = |key: &str| fields.iter().find(|(k, _)| *k == key).map(|(_, v)| v);
    let number = |key: &str, unit: &str| -> Result<Option<f64>, ReportError> {
        let Some(v) = get(key) else { return Ok(None) };
        let num = v
            .strip_suffix(unit)
            .ok_or_else(|| bad(format!("{key} {v:?} does not end in '{unit}'")))?
            .trim();
        let x: f64 = num
            .parse()
            .map_err(|_| bad(format!("{key} {v:?} is not a number")))?;
        if !(x.is_finite() && x >= 0.0) {
            return Err(bad(format!("{key} {v:?} is not a finite number >= 0")));
        }
        Ok(Some(x))
    };
    let required = |key: &str, unit: &str| -> Result<f64, ReportError> {
        number(key, unit)?.ok_or_else(|| bad(format!("missing field '{key}'")))
    };
    let mb = |key: &str| -> Result<u32, ReportError> {
        let x = required(key, "MB")?;
        if x.fract() != 0.0 || x > f64::from(u32::MAX) {
            return Err(bad(format!("{key} {x} is not a whole number of MB")));
        }
        Ok(x as u32)
    };
    Ok(Report {
        request_id: get("RequestId:")
            .cloned()
            .ok_or_else(|| bad("missing field 'RequestId:'".into()))?,
        duration_ms: required("Duration:", "ms")?,
        billed_duration_ms: required("Billed Duration:", "ms")?,
        memory_size_mb: mb("Memory Size:")?,
        max_memory_used_mb: mb("Max Memory Used:")?,
        init_duration_ms: number("Init Duration:", "ms")?,
        status: get("Status:").cloned(),
        error_type: get("Error Type:").cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // From the AWS Lambda developer guide ("Using the Lambda monitoring console", "Invocation logs").
    const DOC_WARM: &str = "REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: 12.34 ms\tBilled Duration: 100 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB";
    const DOC_COLD: &str = "REPORT RequestId: 8f5f5ebc-2e7c-4c0c-9d6b-1d0c1e0f1a2b\tDuration: 2.45 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 49 MB\tInit Duration: 142.38 ms\t";

    #[test]
    fn documented_lines_parse() {
        let r = parse_report_line(DOC_WARM).unwrap();
        assert_eq!(r.request_id, "3604209a-e9a3-11e6-939a-754dd98c7be3");
        assert_eq!(r.duration_ms, 12.34);
        assert_eq!(r.billed_duration_ms, 100.0);
        assert_eq!((r.memory_size_mb, r.max_memory_used_mb), (128, 18));
        assert!(!r.cold());
        assert_eq!(r.outcome(None), Outcome::Ok);
        let c = parse_report_line(DOC_COLD).unwrap();
        assert_eq!(c.init_duration_ms, Some(142.38));
        assert!(c.cold());
    }

    #[test]
    fn spaces_instead_of_tabs_parse() {
        let r = parse_report_line(&DOC_COLD.replace('\t', " ")).unwrap();
        assert_eq!(r.duration_ms, 2.45);
        assert_eq!(r.billed_duration_ms, 3.0);
        assert_eq!(r.init_duration_ms, Some(142.38));
    }

    #[test]
    fn timeouts_and_out_of_memory_are_recognised() {
        let t = "REPORT RequestId: a\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\tStatus: timeout";
        assert_eq!(
            parse_report_line(t).unwrap().outcome(Some("Unhandled")),
            Outcome::Timeout
        );
        let m = "REPORT RequestId: b\tDuration: 812.10 ms\tBilled Duration: 813 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\tStatus: error\tError Type: Runtime.OutOfMemory";
        let r = parse_report_line(m).unwrap();
        assert_eq!(r.error_type.as_deref(), Some("Runtime.OutOfMemory"));
        assert_eq!(r.outcome(Some("Unhandled")), Outcome::OutOfMemory);
        // Older runtimes: no Status field, the memory is full and the function errored.
        let old = "REPORT RequestId: c\tDuration: 100.00 ms\tBilled Duration: 100 ms\tMemory Size: 256 MB\tMax Memory Used: 256 MB";
        assert_eq!(
            parse_report_line(old).unwrap().outcome(Some("Unhandled")),
            Outcome::OutOfMemory
        );
        assert_eq!(
            parse_report_line(DOC_WARM)
                .unwrap()
                .outcome(Some("Handled")),
            Outcome::Error
        );
    }

    #[test]
    fn the_last_report_of_a_tail_is_found() {
        let tail = format!(
            "START RequestId: x Version: 3\nhello\nEND RequestId: x\n{DOC_WARM}\nXRAY TraceId: 1-5e1b4151-5ac6c58f5b5dbd6a6b9f6e3c\tSegmentId: 6b1a\tSampled: true\n"
        );
        assert_eq!(find_report(&tail).unwrap().duration_ms, 12.34);
        let b64 = base64::engine::general_purpose::STANDARD.encode(tail.as_bytes());
        assert_eq!(decode_log_result(&b64).unwrap(), tail);
    }

    #[test]
    fn malformed_lines_name_the_field() {
        let e = parse_report_line("REPORT RequestId: a\tDuration: fast ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB").unwrap_err();
        assert!(
            e.to_string()
                .contains("Duration: \"fast ms\" is not a number"),
            "{e}"
        );
        let e = parse_report_line(
            "REPORT RequestId: a\tDuration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("missing field 'Billed Duration:'"),
            "{e}"
        );
        let e = parse_report_line("REPORT RequestId: a\tDuration: 1 s\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB").unwrap_err();
        assert!(e.to_string().contains("does not end in 'ms'"), "{e}");
        let e = parse_report_line("REPORT RequestId: a\tDuration: 1 ms\tBilled Duration: 1 ms\tMemory Size: 12.5 MB\tMax Memory Used: 1 MB").unwrap_err();
        assert!(e.to_string().contains("whole number"), "{e}");
        let e = parse_report_line("REPORT Bogus: 1").unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let e = find_report("START RequestId: x\nEND RequestId: x\n").unwrap_err();
        assert!(e.to_string().contains("no REPORT line"), "{e}");
        assert!(decode_log_result("not base64!").is_err());
        let e = parse_report_line("REPORT RequestId: a\tDuration: -1 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB").unwrap_err();
        assert!(e.to_string().contains(">= 0"), "{e}");
    }

    proptest::proptest! {
        /// Any text: an error or a report, never a panic (the tail comes from the function's own log).
        #[test]
        fn any_text_parses_or_errors(text in ".{0,200}") {
            let _ = find_report(&text);
            let _ = parse_report_line(&format!("REPORT {text}"));
        }

        /// Well-formed lines round-trip their numbers, with tabs or spaces.
        #[test]
        fn formatted_lines_round_trip(d in 0.0f64..1e6, m in 128u32..10_241, used in 1u32..10_241, init in proptest::option::of(0.0f64..1e4), tabs: bool) {
            let d = (d * 100.0).round() / 100.0;
            let mut line = format!("REPORT RequestId: r-1\tDuration: {d:.2} ms\tBilled Duration: {} ms\tMemory Size: {m} MB\tMax Memory Used: {used} MB", d.ceil());
            if let Some(i) = init {
                line.push_str(&format!("\tInit Duration: {i:.2} ms"));
            }
            if !tabs {
                line = line.replace('\t', " ");
            }
            let r = parse_report_line(&line).unwrap();
            proptest::prop_assert_eq!(r.duration_ms, format!("{d:.2}").parse::<f64>().unwrap());
            proptest::prop_assert_eq!((r.memory_size_mb, r.max_memory_used_mb), (m, used));
            proptest::prop_assert_eq!(r.cold(), init.is_some());
        }
    }
}
