//! The Azure Functions 2019 trace reader (Shahrad et al., ATC'20 public dataset, in the layout the vHive
//! `invitro` samples use): `invocations.csv` (HashOwner, HashApp, HashFunction, Trigger, then one column per
//! minute of the day with the invocation count), `durations.csv` (warm duration percentiles in ms) and
//! `memory.csv` (allocated-memory percentiles in MB, joined by HashFunction). The per-minute counts become a
//! seeded invocation stream: arrivals uniform within the minute, durations and memory drawn from the
//! percentiles.

use std::path::{Path, PathBuf};

use des::{RngStreams, SimRng, SimTime};
use rand::Rng;

use crate::csvline::{CsvFile, parse_nonneg_f64};
use crate::invocation::{
    MAX_DURATION_MS, MAX_INVOCATIONS_PER_MINUTE, MAX_LOAD_SCALE, MAX_MEMORY_MB, MIN_DURATION_MS,
};
use crate::{Error, FunctionProfile, Invocation, Percentiles};

/// A parsed Azure 2019 trace directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Azure2019Trace {
    /// The directory it was read from.
    pub dir: PathBuf,
    /// One profile per function, in `invocations.csv` row order.
    pub functions: Vec<FunctionProfile>,
    /// `counts[f][minute]`: invocations of function `f` in that minute.
    pub counts: Vec<Vec<u32>>,
}

const DURATION_COLS: [(&str, f64); 7] = [
    ("percentile_Average_0", 0.0),
    ("percentile_Average_1", 0.01),
    ("percentile_Average_25", 0.25),
    ("percentile_Average_50", 0.50),
    ("percentile_Average_75", 0.75),
    ("percentile_Average_99", 0.99),
    ("percentile_Average_100", 1.0),
];

const MEMORY_COLS: [(&str, f64); 8] = [
    ("AverageAllocatedMb_pct1", 0.01),
    ("AverageAllocatedMb_pct5", 0.05),
    ("AverageAllocatedMb_pct25", 0.25),
    ("AverageAllocatedMb_pct50", 0.50),
    ("AverageAllocatedMb_pct75", 0.75),
    ("AverageAllocatedMb_pct95", 0.95),
    ("AverageAllocatedMb_pct99", 0.99),
    ("AverageAllocatedMb_pct100", 1.0),
];

fn percentiles_row(
    path: &Path,
    file: &CsvFile,
    line: usize,
    fields: &[String],
    cols: &[(&str, f64)],
    max: f64,
) -> Result<Percentiles, Error> {
    let mut points = Vec::new();
    for &(name, q) in cols {
        let idx = file.column(path, name)?;
        points.push((q, parse_nonneg_f64(path, line, name, &fields[idx], max)?));
    }
    Percentiles::new(points).ok_or_else(|| Error::Parse {
        path: path.to_path_buf(),
        line,
        message: "percentiles must be non-decreasing".into(),
    })
}

impl Azure2019Trace {
    /// Reads `dir/invocations.csv`, `dir/durations.csv` and `dir/memory.csv`.
    ///
    /// Fails with the file and line on a malformed row (wrong field count, a count that is not an
    /// integer in `0..=`[`MAX_INVOCATIONS_PER_MINUTE`], a duration above [`crate::MAX_DURATION_MS`] or a
    /// memory above [`crate::MAX_MEMORY_MB`], decreasing percentiles), and when a function of
    /// `invocations.csv` has no durations or memory row.
    pub fn read(dir: &Path) -> Result<Azure2019Trace, Error> {
        let inv_path = dir.join("invocations.csv");
        let dur_path = dir.join("durations.csv");
        let mem_path = dir.join("memory.csv");
        let inv = CsvFile::read(&inv_path)?;
        let dur = CsvFile::read(&dur_path)?;
        let mem = CsvFile::read(&mem_path)?;
        for (p, f) in [(&inv_path, &inv), (&dur_path, &dur), (&mem_path, &mem)] {
            f.check_widths(p)?;
        }

        // Minute columns are "1", "2", ... after the four identifying columns.
        let app_col = inv.column(&inv_path, "HashApp")?;
        let fn_col = inv.column(&inv_path, "HashFunction")?;
        let trig_col = inv.column(&inv_path, "Trigger")?;
        let mut minute_cols = Vec::new();
        for (idx, h) in inv.header.iter().enumerate() {
            if let Ok(m) = h.parse::<usize>() {
                if m != minute_cols.len() + 1 {
                    return Err(Error::Parse {
                        path: inv_path.clone(),
                        line: 1,
                        message: format!(
                            "minute column {h:?} out of order (expected {})",
                            minute_cols.len() + 1
                        ),
                    });
                }
                minute_cols.push(idx);
            }
        }
        if minute_cols.is_empty() {
            return Err(Error::Parse {
                path: inv_path.clone(),
                line: 1,
                message: "no minute columns 1, 2, ...".into(),
            });
        }

        let dur_fn = dur.column(&dur_path, "HashFunction")?;
        let mem_fn = mem.column(&mem_path, "HashFunction")?;
        let mut functions = Vec::new();
        let mut counts = Vec::new();
        for (line, fields) in &inv.rows {
            let name = fields[fn_col].clone();
            let mut row_counts = Vec::new();
            for (m, &idx) in minute_cols.iter().enumerate() {
                let text = fields[idx].trim();
                let c = text
                    .parse::<u32>()
                    .ok()
                    .filter(|&c| c <= MAX_INVOCATIONS_PER_MINUTE)
                    .ok_or_else(|| Error::Parse {
                        path: inv_path.clone(),
                        line: *line,
                        message: format!(
                            "minute {}: {text:?} is not an integer count in 0..={MAX_INVOCATIONS_PER_MINUTE}",
                            m + 1
                        ),
                    })?;
                row_counts.push(c);
            }
            let (dline, drow) = dur
                .rows
                .iter()
                .find(|(_, r)| r[dur_fn] == name)
                .ok_or_else(|| Error::MissingFunction {
                    path: dur_path.clone(),
                    function: name.clone(),
                    needed_by: inv_path.clone(),
                })?;
            let (mline, mrow) = mem
                .rows
                .iter()
                .find(|(_, r)| r[mem_fn] == name)
                .ok_or_else(|| Error::MissingFunction {
                    path: mem_path.clone(),
                    function: name.clone(),
                    needed_by: inv_path.clone(),
                })?;
            let duration_ms = percentiles_row(
                &dur_path,
                &dur,
                *dline,
                drow,
                &DURATION_COLS,
                MAX_DURATION_MS,
            )?;
            let memory_mb_dist =
                percentiles_row(&mem_path, &mem, *mline, mrow, &MEMORY_COLS, MAX_MEMORY_MB)?;
            let memory_mb = memory_mb_dist.quantile(0.99).ceil().max(1.0) as u32;
            functions.push(FunctionProfile {
                name,
                app: fields[app_col].clone(),
                trigger: fields[trig_col].clone(),
                memory_mb,
                duration_ms,
                memory_mb_dist,
            });
            counts.push(row_counts);
        }
        Ok(Azure2019Trace {
            dir: dir.to_path_buf(),
            functions,
            counts,
        })
    }

    /// Number of minutes covered.
    pub fn n_minutes(&self) -> usize {
        self.counts.first().map_or(0, Vec::len)
    }

    /// Total invocations in the trace.
    pub fn n_invocations(&self) -> u64 {
        self.counts.iter().flatten().map(|&c| c as u64).sum()
    }

    /// The seeded invocation stream, counts scaled by `load_scale` (1.0 = as recorded; a fractional part is
    /// rounded stochastically), truncated to the first `n_minutes` minutes (`None`: all).
    ///
    /// Function `f` draws from sub-stream `azure2019.function` index `f`, so its invocations do not depend on
    /// the other functions of the file.
    pub fn stream(
        &self,
        seed: u64,
        load_scale: f64,
        n_minutes: Option<usize>,
    ) -> Result<Azure2019Stream<'_>, Error> {
        if !(0.0..=MAX_LOAD_SCALE).contains(&load_scale) {
            return Err(Error::param(
                "load_scale",
                load_scale,
                "must be in [0, 1000] (MAX_LOAD_SCALE)",
            ));
        }
        let streams = RngStreams::new(seed);
        let rngs = (0..self.functions.len())
            .map(|f| streams.indexed("azure2019.function", f as u64))
            .collect();
        let n_minutes = n_minutes.unwrap_or(self.n_minutes()).min(self.n_minutes());
        Ok(Azure2019Stream {
            trace: self,
            rngs,
            load_scale,
            minute: 0,
            n_minutes,
            buf: Vec::new(),
            pos: 0,
            next_id: 0,
        })
    }
}

/// The lazy invocation stream of an [`Azure2019Trace`], one minute buffered at a time, in arrival order
/// (ties by function index).
pub struct Azure2019Stream<'a> {
    trace: &'a Azure2019Trace,
    rngs: Vec<SimRng>,
    load_scale: f64,
    minute: usize,
    n_minutes: usize,
    buf: Vec<Invocation>,
    pos: usize,
    next_id: u64,
}

impl Azure2019Stream<'_> {
    fn fill_minute(&mut self) {
        self.buf.clear();
        self.pos = 0;
        let minute = self.minute;
        let t0_us = (minute as u64).saturating_mul(60_000_000);
        for (f, rng) in self.rngs.iter_mut().enumerate() {
            let raw = self.trace.counts[f][minute] as f64 * self.load_scale;
            let mut n = raw.floor() as u64;
            if self.load_scale != 1.0 && rng.random::<f64>() < raw - raw.floor() {
                n += 1;
            }
            let prof = &self.trace.functions[f];
            for _ in 0..n {
                let offset_us = rng.random_range(0..60_000_000u64);
                let dur_ms = prof.duration_ms.sample(rng).max(MIN_DURATION_MS);
                let mem = prof.memory_mb_dist.sample(rng).round().max(1.0) as u32;
                self.buf.push(Invocation {
                    id: 0,
                    function_idx: f as u32,
                    arrival: SimTime(t0_us.saturating_add(offset_us)),
                    duration: SimTime::from_secs_f64(dur_ms / 1e3),
                    memory_mb: mem,
                });
            }
        }
        // Stable sort: ties keep function order.
        self.buf.sort_by_key(|i| i.arrival);
        self.minute += 1;
    }
}

impl Iterator for Azure2019Stream<'_> {
    type Item = Invocation;

    fn next(&mut self) -> Option<Invocation> {
        while self.pos >= self.buf.len() {
            if self.minute >= self.n_minutes {
                return None;
            }
            self.fill_minute();
        }
        let mut inv = self.buf[self.pos];
        self.pos += 1;
        inv.id = self.next_id;
        self.next_id += 1;
        Some(inv)
    }
}
