//! Measured or simulated samples (`Sample`: one configuration of one function and its mean duration)
//! and the samples CSV format.
//!
//! CSV (comma-separated, double quotes allowed, one record per line) columns (header required, any order): `function,memory_mb,fan_out,workers,jobs,duration_s`.
//! `function`, `memory_mb` and `duration_s` are required; a missing `fan_out` or `workers` column
//! means one instance and one worker, a missing `jobs` column means one job per instance
//! (`jobs = fan_out`). Blank lines and lines starting with `#` are skipped. Every error names the file
//! and the 1-based line.

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

/// Reads a samples CSV file (see the module docs for the format).
pub fn read_csv(path: &std::path::Path) -> Result<Vec<Sample>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_csv(&text, &path.display().to_string())
}

/// Parses samples CSV text labelled `source_name` in errors.
pub fn parse_csv(text: &str, source_name: &str) -> Result<Vec<Sample>, Error> {
    let err = |line: u64, message: String| Error::Csv {
        source_name: source_name.to_owned(),
        line,
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l))
        .filter(|(_, l)| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        });
    let Some((header_line, header)) = lines.next() else {
        return Err(err(1, "empty file: expected a header line".into()));
    };
    let headers = split_fields(header).map_err(|m| err(header_line, m))?;
    let col = |name: &str| headers.iter().position(|h| h == name);
    let known = [
        "function",
        "memory_mb",
        "fan_out",
        "workers",
        "jobs",
        "duration_s",
    ];
    for h in &headers {
        if !known.contains(&h.as_str()) {
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
    for (line, text_line) in lines {
        let rec = split_fields(text_line).map_err(|m| err(line, m))?;
        if rec.len() != headers.len() {
            return Err(err(
                line,
                format!("{} fields, the header has {}", rec.len(), headers.len()),
            ));
        }
        let field = |c: usize| rec.get(c).map_or("", String::as_str);
        let uint = |c: Option<usize>, name: &str, default: Option<u32>| -> Result<u32, Error> {
            match c {
                None => default.ok_or_else(|| err(line, format!("missing {name}"))),
                Some(c) => {
                    let v: u32 = field(c).parse().map_err(|_| {
                        err(
                            line,
                            format!("{name} = '{}': expected a positive integer", field(c)),
                        )
                    })?;
                    if v == 0 {
                        return Err(err(line, format!("{name} = 0: must be >= 1")));
                    }
                    Ok(v)
                }
            }
        };
        let function = field(c_fn).to_owned();
        if function.is_empty() {
            return Err(err(line, "function is empty".into()));
        }
        let memory_mb = uint(Some(c_mem), "memory_mb", None)?;
        let fan_out = uint(c_p, "fan_out", Some(1))?;
        let workers = uint(c_q, "workers", Some(1))?;
        let jobs = uint(c_jobs, "jobs", Some(fan_out))?;
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
        if !duration_s.is_finite() || duration_s <= 0.0 {
            return Err(err(
                line,
                format!("duration_s = {duration_s}: must be finite and > 0"),
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

/// Splits one CSV line into trimmed fields; a field may be double-quoted (`""` is a quote inside).
fn split_fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err("unterminated quoted field".into()),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            while chars.peek().is_some_and(|c| *c != ',') {
                let c = chars.next().unwrap_or(' ');
                if !c.is_whitespace() {
                    return Err(format!("unexpected '{c}' after a quoted field"));
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                field.push(c);
                chars.next();
            }
            field = field.trim().to_owned();
        }
        out.push(field);
        if chars.next().is_none() {
            return Ok(out);
        }
    }
}

/// Writes samples as CSV text (all six columns, in file order), the format [`parse_csv`] reads.
pub fn to_csv(samples: &[Sample]) -> String {
    let mut s = String::from("function,memory_mb,fan_out,workers,jobs,duration_s\n");
    for x in samples {
        s.push_str(&format!(
            "{},{},{},{},{},{}\n",
            x.function, x.memory_mb, x.fan_out, x.workers, x.jobs, x.duration_s
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
        let e = parse_csv("function,memory,duration_s\n", "s.csv")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("s.csv:1:") && e.contains("unknown column 'memory'"),
            "{e}"
        );
    }
}
