//! Measured or simulated samples (`Sample`: one configuration of one function and its mean duration)
//! and the samples CSV format.
//!
//! CSV (RFC 4180 as the `csv` crate reads it, one record per line: comma-separated, double-quoted
//! fields may hold commas and quotes) with a header naming the columns, in any order:
//! `function,memory_mb,fan_out,workers,jobs,duration_s`.
//! `function`, `memory_mb` and `duration_s` are required; a missing `fan_out` or `workers` column
//! means one instance and one worker, a missing `jobs` column means one job per instance
//! (`jobs = fan_out`). Blank lines and lines whose first field starts with `#` are skipped; fields are trimmed. Values
//! are bounded (`MAX_*` constants, [`check_sample`]). Every error names the file and the 1-based line.

use serde::{Deserialize, Serialize};

use crate::Error;

/// One observation: function `function` ran its `jobs` jobs on `fan_out` instances of `memory_mb` MB
/// with `workers` worker processes each, and the step took `duration_s` seconds (a mean over
/// repetitions, from the start of the step to the end of its last instance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Function (or step) name; samples are fitted per function.
    pub function: String,
    /// Memory of each instance, MB.
    pub memory_mb: u32,
    /// Number of instances `p` (>= 1).
    pub fan_out: u32,
    /// Worker processes per instance `q` (>= 1).
    pub workers: u32,
    /// Total jobs of the step `gamma` (>= fan_out).
    pub jobs: u32,
    /// Mean step duration, seconds (finite, > 0).
    pub duration_s: f64,
}

impl Sample {
    /// The configuration this sample ran.
    pub fn config(&self) -> platform::StepConfig {
        platform::StepConfig::new(self.memory_mb, self.fan_out, self.workers)
    }
}

/// Largest accepted `memory_mb` (1 TiB): far above any FaaS platform, and small enough that every
/// product the fit and the cost model form stays exact in `f64`.
pub const MAX_MEMORY_MB: u32 = 1 << 20;
/// Largest accepted `fan_out` (instances of one step).
pub const MAX_FAN_OUT: u32 = 1_000_000;
/// Largest accepted `workers` (processes per instance).
pub const MAX_WORKERS: u32 = 65_536;
/// Largest accepted `jobs` (jobs of one step).
pub const MAX_JOBS: u32 = 1_000_000_000;
/// Largest accepted `duration_s` (about 116 days): a step longer than that is a unit mistake, and
/// larger values would overflow the fit's sums of squares.
pub const MAX_DURATION_S: f64 = 1e7;

/// Checks one sample against the format's rules and bounds: memory, fan-out and workers `>= 1`,
/// `jobs >= fan_out`, a finite `duration_s > 0`, and every value at most its `MAX_*` bound. The error
/// says what is wrong (the caller adds the place).
pub fn check_sample(s: &Sample) -> Result<(), String> {
    let mut why = Vec::new();
    for (name, v, max) in [
        ("memory_mb", s.memory_mb, MAX_MEMORY_MB),
        ("fan_out", s.fan_out, MAX_FAN_OUT),
        ("workers", s.workers, MAX_WORKERS),
        ("jobs", s.jobs, MAX_JOBS),
    ] {
        if v == 0 || v > max {
            why.push(format!("{name} must be in 1..={max}"));
        }
    }
    if s.jobs < s.fan_out {
        why.push("jobs must be >= fan_out (every instance needs a job)".into());
    }
    if !(s.duration_s > 0.0 && s.duration_s <= MAX_DURATION_S) {
        why.push(format!(
            "duration_s must be finite, > 0 and <= {MAX_DURATION_S:e}"
        ));
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(why.join("; "))
    }
}

/// Reads a samples CSV file (see the module docs for the format) through [`des::text::read_text`]
/// (a UTF-8 byte-order mark is dropped; invalid UTF-8 names its byte offset and line).
///
/// # Errors
/// [`Error::Io`] naming the path when the file cannot be read or is not UTF-8; [`Error::Csv`] naming
/// the file and line of the first malformed record.
pub fn read_csv(path: &std::path::Path) -> Result<Vec<Sample>, Error> {
    let text = des::text::read_text(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_csv(&text, &path.display().to_string())
}

/// Parses samples CSV text labelled `source_name` in errors (a leading byte-order mark is dropped).
///
/// # Errors
/// [`Error::Csv`] with the 1-based line of the first problem: a missing or unknown column, a field
/// count that differs from the header's, a value that is not a number or is out of range (bounds:
/// [`check_sample`]).
pub fn parse_csv(text: &str, source_name: &str) -> Result<Vec<Sample>, Error> {
    let text = des::text::strip_bom(text);
    let err = |line: usize, message: String| Error::Csv {
        source_name: source_name.to_owned(),
        line: line as u64,
        message,
    };
    // Records with their 1-based line, blank and comment lines skipped. Comments are skipped here
    // rather than by the `csv` crate's `comment` option, which leaves them out of its line count.
    let all = des::text::csv_records(text, true).map_err(|(line, message)| err(line, message))?;
    let mut records = all.into_iter().filter(|(_, rec)| {
        let blank = rec.iter().all(str::is_empty);
        let comment = rec.get(0).is_some_and(|f| f.starts_with('#'));
        !blank && !comment
    });
    let Some(first) = records.next() else {
        return Err(err(1, "empty file: expected a header line".into()));
    };
    let (header_line, header) = first;
    let headers: Vec<&str> = header.iter().collect();
    let col = |name: &str| headers.iter().position(|h| *h == name);
    let known = [
        "function",
        "memory_mb",
        "fan_out",
        "workers",
        "jobs",
        "duration_s",
    ];
    for h in &headers {
        if !known.contains(h) {
            return Err(err(
                header_line,
                format!(
                    "unknown column '{h}' (expected some of {})",
                    known.join(", ")
                ),
            ));
        }
    }
    let (Some(c_fn), Some(c_mem), Some(c_dur)) =
        (col("function"), col("memory_mb"), col("duration_s"))
    else {
        return Err(err(
            header_line,
            "header must name the columns function, memory_mb and duration_s".into(),
        ));
    };
    let (c_p, c_q, c_jobs) = (col("fan_out"), col("workers"), col("jobs"));
    let mut out = Vec::new();
    for (line, rec) in records {
        if rec.len() != headers.len() {
            return Err(err(
                line,
                format!("{} fields, the header has {}", rec.len(), headers.len()),
            ));
        }
        let field = |c: usize| rec.get(c).unwrap_or("");
        let uint = |c: Option<usize>, name: &str, default: Option<u32>, max: u32| {
            let v = match c {
                None => default.ok_or_else(|| err(line, format!("missing {name}")))?,
                Some(c) => field(c).parse::<u32>().map_err(|_| {
                    err(
                        line,
                        format!("{name} = '{}': expected an integer in 1..={max}", field(c)),
                    )
                })?,
            };
            if v == 0 || v > max {
                return Err(err(line, format!("{name} = {v}: must be in 1..={max}")));
            }
            Ok(v)
        };
        let function = field(c_fn).to_owned();
        if function.is_empty() {
            return Err(err(line, "function is empty".into()));
        }
        let memory_mb = uint(Some(c_mem), "memory_mb", None, MAX_MEMORY_MB)?;
        let fan_out = uint(c_p, "fan_out", Some(1), MAX_FAN_OUT)?;
        let workers = uint(c_q, "workers", Some(1), MAX_WORKERS)?;
        let jobs = uint(c_jobs, "jobs", Some(fan_out), MAX_JOBS)?;
        if jobs < fan_out {
            return Err(err(
                line,
                format!("jobs = {jobs} < fan_out = {fan_out}: every instance needs a job"),
            ));
        }
        let duration_s: f64 = field(c_dur).parse().map_err(|_| {
            err(
                line,
                format!("duration_s = '{}': expected a number", field(c_dur)),
            )
        })?;
        if !(duration_s > 0.0 && duration_s <= MAX_DURATION_S) {
            return Err(err(
                line,
                format!(
                    "duration_s = {}: must be finite, > 0 and <= {MAX_DURATION_S:e}",
                    field(c_dur)
                ),
            ));
        }
        out.push(Sample {
            function,
            memory_mb,
            fan_out,
            workers,
            jobs,
            duration_s,
        });
    }
    Ok(out)
}

/// Writes samples as CSV text (all six columns, in file order), the format [`parse_csv`] reads; a
/// function name with a comma or a quote, or starting with `#`, is quoted.
pub fn to_csv(samples: &[Sample]) -> String {
    let mut s = String::from("function,memory_mb,fan_out,workers,jobs,duration_s\n");
    for x in samples {
        let name = if x.function.contains([',', '"']) || x.function.starts_with('#') {
            format!("\"{}\"", x.function.replace('"', "\"\""))
        } else {
            x.function.clone()
        };
        s.push_str(&format!(
            "{name},{},{},{},{},{}\n",
            x.memory_mb, x.fan_out, x.workers, x.jobs, x.duration_s
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_columns_default_to_one_instance_one_worker() {
        let s = parse_csv("function,memory_mb,duration_s\nf,1024,1.5\n", "t.csv").unwrap();
        assert_eq!(
            s,
            vec![Sample {
                function: "f".into(),
                memory_mb: 1024,
                fan_out: 1,
                workers: 1,
                jobs: 1,
                duration_s: 1.5
            }]
        );
    }

    #[test]
    fn round_trips_through_csv() {
        let s = vec![Sample {
            function: "g".into(),
            memory_mb: 2048,
            fan_out: 4,
            workers: 2,
            jobs: 16,
            duration_s: 0.123_456_789,
        }];
        assert_eq!(parse_csv(&to_csv(&s), "t").unwrap(), s);
    }

    #[test]
    fn errors_name_file_and_line() {
        let text = "function,memory_mb,duration_s\nf,1024,1.5\n# comment\nf,abc,2\n";
        let e = parse_csv(text, "s.csv").unwrap_err().to_string();
        assert!(
            e.starts_with("s.csv:4:") && e.contains("memory_mb = 'abc'"),
            "{e}"
        );
        let e = parse_csv("function,memory_mb,duration_s\nf,1024,NaN\n", "s.csv")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.csv:2:") && e.contains("finite"), "{e}");
        let e = parse_csv("function,memory_mb,duration_s\n\nf,1024,1e308\n", "s.csv")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.csv:3:") && e.contains("<= 1e7"), "{e}");
        let e = parse_csv("function,memory,duration_s\n", "s.csv")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("s.csv:1:") && e.contains("unknown column 'memory'"),
            "{e}"
        );
    }
}
