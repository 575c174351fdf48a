//! The Azure Functions 2021 trace reader (Zhang et al., SOSP'21 dataset): one row per invocation with
//! `app, func, end_timestamp, duration` (seconds). Arrival is `end_timestamp - duration`.

use std::path::{Path, PathBuf};

use des::SimTime;

use crate::csvline::{CsvFile, parse_nonneg_f64};
use crate::invocation::{MAX_DURATION_MS, MAX_TIMESTAMP_S, MIN_DURATION_MS};
use crate::{Error, FunctionProfile, Invocation, Percentiles};

/// A parsed Azure 2021 trace file.
#[derive(Debug, Clone, PartialEq)]
pub struct Azure2021Trace {
    /// The file it was read from.
    pub path: PathBuf,
    /// One profile per (app, func), in order of first appearance; the duration percentiles are the
    /// empirical ones of the file, memory is `default_memory_mb` (the 2021 trace records none).
    pub functions: Vec<FunctionProfile>,
    /// The invocations, sorted by arrival (ties by line), ids in that order.
    pub invocations: Vec<Invocation>,
}

impl Azure2021Trace {
    /// Reads `path`. Every function gets `default_memory_mb` of memory. Fails with the file and line on
    /// a row with the wrong number of fields, a timestamp that is not a number in
    /// `[0, `[`crate::MAX_TIMESTAMP_S`]`]` or a duration (seconds) above [`crate::MAX_DURATION_MS`]` / 1000`.
    pub fn read(path: &Path, default_memory_mb: u32) -> Result<Azure2021Trace, Error> {
        let file = CsvFile::read(path)?;
        file.check_widths(path)?;
        let app_col = file.column(path, "app")?;
        let func_col = file.column(path, "func")?;
        let end_col = file.column(path, "end_timestamp")?;
        let dur_col = file.column(path, "duration")?;
        // (app, func) -> function index; a Vec keeps first-appearance order (few functions per file).
        let mut keys: Vec<(String, String)> = Vec::new();
        let mut durations_ms: Vec<Vec<f64>> = Vec::new();
        let mut rows = Vec::new();
        for (line, fields) in &file.rows {
            let end_s = parse_nonneg_f64(
                path,
                *line,
                "end_timestamp",
                &fields[end_col],
                MAX_TIMESTAMP_S,
            )?;
            let dur_s = parse_nonneg_f64(
                path,
                *line,
                "duration",
                &fields[dur_col],
                MAX_DURATION_MS / 1e3,
            )?;
            let key = (fields[app_col].clone(), fields[func_col].clone());
            let f = match keys.iter().position(|k| *k == key) {
                Some(f) => f,
                None => {
                    keys.push(key);
                    durations_ms.push(Vec::new());
                    keys.len() - 1
                }
            };
            let dur_ms = (dur_s * 1e3).max(MIN_DURATION_MS);
            durations_ms[f].push(dur_ms);
            let arrival = SimTime::from_secs_f64((end_s - dur_s).max(0.0));
            rows.push((arrival, *line, f, dur_ms));
        }
        rows.sort_by_key(|&(a, line, _, _)| (a, line));
        let invocations = rows
            .iter()
            .enumerate()
            .map(|(id, &(arrival, _, f, dur_ms))| Invocation {
                id: id as u64,
                function_idx: f as u32,
                arrival,
                duration: SimTime::from_secs_f64(dur_ms / 1e3),
                memory_mb: default_memory_mb,
            })
            .collect();
        let functions = keys
            .into_iter()
            .zip(durations_ms)
            .map(|((app, func), mut d)| {
                des::stats::sort(&mut d);
                // Invariant: `d` is not empty (a function exists because a row named it).
                let q = |p: f64| des::stats::quantile_sorted(&d, p).unwrap_or(MIN_DURATION_MS);
                let points = [0.0, 0.01, 0.25, 0.5, 0.75, 0.99, 1.0]
                    .iter()
                    .map(|&p| (p, q(p)))
                    .collect::<Vec<_>>();
                // Empirical quantiles of a sorted sample are non-decreasing with strictly increasing levels.
                let duration_ms =
                    Percentiles::new(points).unwrap_or_else(|| Percentiles::constant(d[0]));
                FunctionProfile {
                    name: func,
                    app,
                    trigger: String::new(),
                    memory_mb: default_memory_mb,
                    duration_ms,
                    memory_mb_dist: Percentiles::constant(default_memory_mb as f64),
                }
            })
            .collect();
        Ok(Azure2021Trace {
            path: path.to_path_buf(),
            functions,
            invocations,
        })
    }

    /// The invocations with arrival rate scaled by `load_scale`: below one, each invocation is kept with
    /// that probability; above one, each is repeated `floor(scale)` times plus once more with the fractional
    /// probability (copies arrive at the same time). Ids are renumbered; the draws use sub-stream
    /// `azure2021.scale`.
    pub fn scaled(&self, seed: u64, load_scale: f64) -> Result<Vec<Invocation>, Error> {
        crate::synth::scale_invocations(&self.invocations, seed, "azure2021.scale", load_scale)
    }
}
