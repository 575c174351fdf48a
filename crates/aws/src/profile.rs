//! `faastune aws profile`: each function at each configuration (memory, workers), invoked through a
//! faastune alias (so what runs today is not changed) with `LogType=Tail`; the `REPORT` line gives the
//! duration, and whether the run was cold (`Init Duration`). A configuration whose run times out or
//! runs out of memory is skipped (the sizes above it are still tried), as is one whose function fails;
//! the result is the samples CSV `faastune fit` reads (mean warm duration per configuration) and every
//! run in a second CSV.
//!
//! The first invocation of a fresh version is cold; `reps` warm runs are wanted, so each configuration
//! is invoked until it has `reps` warm runs or `reps + 2` runs in all (Lambda may start new
//! environments at any time). Configurations are profiled one at a time, in order, so concurrent
//! invocations do not share cold starts.

use std::io::Write;

use crate::Error;
use crate::deploy::{UndoLog, ensure_alias};
use crate::naming;
use crate::plan::{FunctionNow, Target};
use crate::report::{Outcome, Report, find_report};
use crate::session::Session;

/// Lambda's price per GB-second on x86_64 (us-east-1, first tier, 2026), USD.
pub const PRICE_GB_S_X86: f64 = 0.000_016_666_7;
/// Lambda's price per GB-second on arm64 (us-east-1, first tier, 2026), USD.
pub const PRICE_GB_S_ARM: f64 = 0.000_013_333_4;
/// Lambda's price per request, USD.
pub const PRICE_REQUEST: f64 = 0.000_000_2;

/// The price per GB-second of a function's architecture.
fn price_gb_s(f: &FunctionNow) -> f64 {
    if f.architecture == "arm64" {
        PRICE_GB_S_ARM
    } else {
        PRICE_GB_S_X86
    }
}

/// What to profile.
#[derive(Debug, Clone)]
pub struct ProfileSpec {
    /// Functions, with their current configuration (for the timeout and architecture).
    pub functions: Vec<FunctionNow>,
    /// Memory sizes, MB.
    pub memory: Vec<u32>,
    /// Worker counts.
    pub workers: Vec<u32>,
    /// Warm runs wanted per configuration.
    pub reps: u32,
    /// The payload of every invocation (JSON).
    pub payload: Vec<u8>,
    /// Jobs one invocation processes (the length of the payload's `items`, else 1): the `jobs` column.
    pub jobs: u32,
    /// Keep the aliases and versions made for profiling (default: removed at the end).
    pub keep_aliases: bool,
}

impl ProfileSpec {
    /// Checks the settings; errors name the flag.
    pub fn check(&self) -> Result<(), Error> {
        if self.functions.is_empty() {
            return Err(Error::Invalid("no function to profile".into()));
        }
        if self.memory.is_empty() {
            return Err(Error::Invalid("--memory: give at least one size".into()));
        }
        for m in &self.memory {
            naming::check_memory(*m).map_err(|e| Error::Invalid(format!("--memory: {e}")))?;
        }
        if self.workers.is_empty() {
            return Err(Error::Invalid("--workers: give at least one count".into()));
        }
        for w in &self.workers {
            naming::check_workers(*w).map_err(|e| Error::Invalid(format!("--workers: {e}")))?;
        }
        if !(1..=1000).contains(&self.reps) {
            return Err(Error::Invalid(format!(
                "--reps {} is outside 1..=1000",
                self.reps
            )));
        }
        if self.payload.len() > 6 * 1024 * 1024 {
            return Err(Error::Invalid(
                "--payload: larger than Lambda's 6 MB synchronous payload limit".into(),
            ));
        }
        Ok(())
    }

    /// Configurations in the order they are profiled.
    pub fn configurations(&self) -> Vec<Target> {
        let mut out = Vec::new();
        for f in &self.functions {
            for &m in &self.memory {
                for &w in &self.workers {
                    out.push(Target {
                        function: f.name.clone(),
                        memory_mb: m,
                        workers: w,
                        alias: naming::alias_name(m, w),
                    });
                }
            }
        }
        out
    }

    /// The function named `name` (configurations only name listed functions).
    fn function(&self, name: &str) -> &FunctionNow {
        self.functions
            .iter()
            .find(|f| f.name == name)
            .expect("configurations come from the listed functions")
    }

    /// The most invocations profiling makes.
    pub fn max_invocations(&self) -> u64 {
        self.configurations().len() as u64 * u64::from(self.reps + 2)
    }

    /// An estimate of what profiling costs, USD: (at most, every run to its timeout; expected, every run
    /// `expected_s(function, memory)` seconds).
    pub fn estimate_usd(&self, expected_s: &dyn Fn(&str, u32) -> f64) -> (f64, f64) {
        let runs = f64::from(self.reps + 2);
        let (mut max, mut exp) = (0.0, 0.0);
        for t in self.configurations() {
            let f = self.function(&t.function);
            let price = price_gb_s(f);
            let gb = f64::from(t.memory_mb) / 1024.0;
            max += runs * (gb * f64::from(f.timeout_s) * price + PRICE_REQUEST);
            exp += runs
                * (gb * expected_s(&t.function, t.memory_mb).min(f64::from(f.timeout_s)) * price
                    + PRICE_REQUEST);
        }
        (max, exp)
    }
}

/// One invocation.
#[derive(Debug, Clone)]
pub struct Run {
    /// The configuration.
    pub target: Target,
    /// 1-based run number within the configuration.
    pub rep: u32,
    /// The REPORT line.
    pub report: Report,
    /// How it ended.
    pub outcome: Outcome,
}

/// One configuration's result.
#[derive(Debug, Clone)]
pub struct ConfigResult {
    /// The configuration.
    pub target: Target,
    /// Mean warm duration, seconds, or why the configuration was skipped.
    pub result: Result<f64, String>,
    /// Warm runs.
    pub warm: u32,
    /// Cold runs.
    pub cold: u32,
}

/// A profile.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// Per configuration.
    pub configs: Vec<ConfigResult>,
    /// Every run.
    pub runs: Vec<Run>,
    /// Billed cost of the runs, USD (billed duration x memory x price + requests).
    pub billed_usd: f64,
    /// Profiling aliases that could not be removed at the end.
    pub cleanup_failures: Vec<String>,
}

/// Profiles every configuration; `progress(done, total, what)` after each invocation.
pub fn profile(
    s: &Session,
    spec: &ProfileSpec,
    progress: &mut dyn FnMut(u64, u64, &str),
) -> Result<Profile, Error> {
    spec.check()?;
    let total = spec.max_invocations();
    let mut done = 0u64;
    let mut out = Profile::default();
    let mut log = UndoLog::default();
    let result = (|| {
        for t in spec.configurations() {
            let f = spec.function(&t.function);
            let price = price_gb_s(f);
            ensure_alias(s, &t, &mut log)?;
            let (mut warm, mut cold, mut sum) = (0u32, 0u32, 0.0f64);
            let mut skipped = None;
            let mut rep = 0;
            while warm < spec.reps && rep < spec.reps + 2 {
                rep += 1;
                let inv = s.invoke(&t.function, &t.alias, &spec.payload)?;
                done += 1;
                progress(done, total, &format!("{} {}", t.function, t.alias));
                let tail = inv.log_tail.as_deref().ok_or_else(|| Error::Api {
                    action: "lambda:InvokeFunction".into(),
                    target: format!("function {}:{}", t.function, t.alias),
                    message:
                        "the response has no LogResult (LogType=Tail): cannot read the REPORT line"
                            .into(),
                })?;
                let report = find_report(tail).map_err(|e| Error::Api {
                    action: "lambda:InvokeFunction".into(),
                    target: format!("function {}:{}", t.function, t.alias),
                    message: e.to_string(),
                })?;
                let outcome = report.outcome(inv.function_error.as_deref());
                out.billed_usd +=
                    f64::from(report.memory_size_mb) / 1024.0 * report.billed_duration_ms / 1000.0
                        * price
                        + PRICE_REQUEST;
                if report.memory_size_mb != t.memory_mb {
                    return Err(Error::Api {
                        action: "lambda:InvokeFunction".into(),
                        target: format!("function {}:{}", t.function, t.alias),
                        message: format!(
                            "ran with {} MB, not the alias's {} MB",
                            report.memory_size_mb, t.memory_mb
                        ),
                    });
                }
                out.runs.push(Run {
                    target: t.clone(),
                    rep,
                    report: report.clone(),
                    outcome,
                });
                match outcome {
                    Outcome::Ok if report.cold() => cold += 1,
                    Outcome::Ok => {
                        warm += 1;
                        sum += report.duration_ms / 1000.0;
                    }
                    Outcome::Timeout => {
                        skipped = Some(format!("timed out (timeout {} s)", f.timeout_s));
                    }
                    Outcome::OutOfMemory => {
                        skipped = Some(format!(
                            "out of memory (max used {} of {} MB)",
                            report.max_memory_used_mb, report.memory_size_mb
                        ));
                    }
                    Outcome::Error => {
                        let p = String::from_utf8_lossy(&inv.payload);
                        skipped = Some(format!(
                            "function error {}: {}",
                            inv.function_error.as_deref().unwrap_or("?"),
                            p.chars().take(200).collect::<String>()
                        ));
                    }
                }
                if skipped.is_some() {
                    break;
                }
            }
            // Count the runs not made as done, for the progress bar.
            done += u64::from(spec.reps + 2 - rep);
            let result = match skipped {
                Some(why) => Err(why),
                None if warm == 0 => Err(format!("no warm run in {rep} invocations")),
                None => Ok(sum / f64::from(warm)),
            };
            out.configs.push(ConfigResult {
                target: t,
                result,
                warm,
                cold,
            });
        }
        Ok(())
    })();
    if !spec.keep_aliases || result.is_err() {
        out.cleanup_failures = log.rollback(s);
    }
    result.map(|()| out)
}

impl Profile {
    /// The samples CSV `faastune fit --samples` reads: one row per configuration that ran, its mean
    /// warm duration (`fan_out` 1; `jobs` the payload's).
    pub fn write_samples(&self, w: &mut dyn Write, jobs: u32) -> std::io::Result<()> {
        writeln!(w, "function,memory_mb,fan_out,workers,jobs,duration_s")?;
        for c in &self.configs {
            if let Ok(d) = c.result {
                writeln!(
                    w,
                    "{},{},1,{},{},{:.6}",
                    csv_field(&c.target.function),
                    c.target.memory_mb,
                    c.target.workers,
                    jobs,
                    d
                )?;
            }
        }
        Ok(())
    }

    /// Every run: its REPORT fields, cold or warm, and how it ended.
    pub fn write_runs(&self, w: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            w,
            "function,memory_mb,workers,rep,cold,outcome,duration_ms,billed_duration_ms,max_memory_used_mb,init_duration_ms,request_id"
        )?;
        for r in &self.runs {
            writeln!(
                w,
                "{},{},{},{},{},{:?},{},{},{},{},{}",
                csv_field(&r.target.function),
                r.target.memory_mb,
                r.target.workers,
                r.rep,
                r.report.cold(),
                r.outcome,
                r.report.duration_ms,
                r.report.billed_duration_ms,
                r.report.max_memory_used_mb,
                r.report
                    .init_duration_ms
                    .map(|x| x.to_string())
                    .unwrap_or_default(),
                csv_field(&r.report.request_id)
            )?;
        }
        Ok(())
    }
}

/// Quotes a CSV field when it needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ProfileSpec {
        ProfileSpec {
            functions: vec![FunctionNow {
                name: "f".into(),
                memory_mb: 128,
                timeout_s: 10,
                architecture: "x86_64".into(),
            }],
            memory: vec![128, 1024],
            workers: vec![1, 2],
            reps: 3,
            payload: b"{}".to_vec(),
            jobs: 4,
            keep_aliases: false,
        }
    }

    #[test]
    fn configurations_and_the_cost_estimate() {
        let s = spec();
        assert_eq!(s.configurations().len(), 4);
        assert_eq!(s.max_invocations(), 20);
        let (max, exp) = s.estimate_usd(&|_, _| 1.0);
        // 5 runs x (0.125 + 0.125 + 1 + 1) GB x 10 s x price + 20 requests.
        let want_max = 5.0 * 2.25 * 10.0 * PRICE_GB_S_X86 + 20.0 * PRICE_REQUEST;
        assert!((max - want_max).abs() < 1e-12, "{max} vs {want_max}");
        assert!(exp < max);
    }

    #[test]
    fn bad_settings_name_the_flag() {
        let mut s = spec();
        s.memory = vec![64];
        assert!(
            s.check()
                .unwrap_err()
                .to_string()
                .starts_with("--memory: memory 64 MB")
        );
        let mut s = spec();
        s.workers = vec![0];
        assert!(s.check().unwrap_err().to_string().starts_with("--workers"));
        let mut s = spec();
        s.reps = 0;
        assert!(s.check().unwrap_err().to_string().starts_with("--reps 0"));
    }

    #[test]
    fn samples_csv_has_the_columns_fit_reads() {
        let p = Profile {
            configs: vec![
                ConfigResult {
                    target: Target {
                        function: "a,b".into(),
                        memory_mb: 512,
                        workers: 2,
                        alias: "x".into(),
                    },
                    result: Ok(0.25),
                    warm: 3,
                    cold: 1,
                },
                ConfigResult {
                    target: Target {
                        function: "c".into(),
                        memory_mb: 128,
                        workers: 1,
                        alias: "y".into(),
                    },
                    result: Err("out of memory".into()),
                    warm: 0,
                    cold: 1,
                },
            ],
            ..Profile::default()
        };
        let mut buf = Vec::new();
        p.write_samples(&mut buf, 4).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "function,memory_mb,fan_out,workers,jobs,duration_s\n\"a,b\",512,1,2,4,0.250000\n"
        );
    }
}
