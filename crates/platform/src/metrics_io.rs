//! Writing the monitoring stream ([`crate::monitor`]) as one flat, tidy table, CSV or Parquet, for
//! pandas and polars; the same schema is meant to be filled from CloudWatch (docs/monitoring.md).
//!
//! One row per (window, scope, name): per window, a `workflow` row (name = the workflow), then per
//! function (in the window's order) a `function` row (name = the function) followed by one
//! `provisioned` row per [`ProvisionedWindow`] (name = the function, `memory_mb` set). The columns are
//! [`COLUMNS`], defined once here: the CSV header, the Parquet schema and the docs table all come from
//! it. A metric that does not apply to a row's scope, or is `None`, is an empty cell (CSV) or a null
//! (Parquet).
//!
//! Determinism: the same windows give the same bytes, in both formats. CSV floats are printed with
//! Rust's shortest round-trip formatting, `{:?}` (`60.0`, `0.30000000000000004`, `1e-7`): reading a
//! cell back as `f64` gives the value written, and a float always shows a `.` or an exponent, so CSV
//! readers type float columns as floats even when every value is whole; integers print as integers.
//! Durations and latencies are in milliseconds, as CloudWatch reports them (`value_s * 1000`).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::Error;
use crate::monitor::{FunctionWindow, MonitorWindow, ProvisionedWindow, WorkflowWindow};

/// Which rows a column is filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The workflow (Step Functions state machine); `name` is the workflow's name.
    Workflow,
    /// One function (Lambda function); `name` is the function's name.
    Function,
    /// One (function, memory) pair's provisioned concurrency (a Lambda alias); `name` is the function.
    Provisioned,
}

impl Scope {
    /// Every scope, in row order.
    pub const ALL: [Scope; 3] = [Scope::Workflow, Scope::Function, Scope::Provisioned];

    /// The value of the `scope` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Workflow => "workflow",
            Scope::Function => "function",
            Scope::Provisioned => "provisioned",
        }
    }
}

/// The type of a column's values (every column is nullable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// 64-bit float (Parquet `DOUBLE`).
    F64,
    /// Unsigned 64-bit integer (Parquet `INT64` with logical type `Integer(64, unsigned)`).
    U64,
    /// Text (Parquet `BYTE_ARRAY` with logical type `String`).
    Utf8,
}

impl ColumnType {
    fn as_str(self) -> &'static str {
        match self {
            ColumnType::F64 => "f64",
            ColumnType::U64 => "u64",
            ColumnType::Utf8 => "utf8",
        }
    }
}

/// One row of the table: what its cells are read from.
#[derive(Debug, Clone, Copy)]
enum Row<'a> {
    Workflow {
        window: &'a MonitorWindow,
        name: &'a str,
    },
    Function {
        window: &'a MonitorWindow,
        function: &'a FunctionWindow,
    },
    Provisioned {
        window: &'a MonitorWindow,
        function: &'a FunctionWindow,
        provisioned: &'a ProvisionedWindow,
    },
}

impl<'a> Row<'a> {
    fn window(self) -> &'a MonitorWindow {
        match self {
            Row::Workflow { window, .. }
            | Row::Function { window, .. }
            | Row::Provisioned { window, .. } => window,
        }
    }

    fn scope(self) -> Scope {
        match self {
            Row::Workflow { .. } => Scope::Workflow,
            Row::Function { .. } => Scope::Function,
            Row::Provisioned { .. } => Scope::Provisioned,
        }
    }

    fn name(self) -> &'a str {
        match self {
            Row::Workflow { name, .. } => name,
            Row::Function { function, .. } | Row::Provisioned { function, .. } => {
                &function.function
            }
        }
    }

    fn workflow(self) -> Option<&'a WorkflowWindow> {
        match self {
            Row::Workflow { window, .. } => Some(&window.workflow),
            _ => None,
        }
    }

    fn function(self) -> Option<&'a FunctionWindow> {
        match self {
            Row::Function { function, .. } => Some(function),
            _ => None,
        }
    }

    fn provisioned(self) -> Option<&'a ProvisionedWindow> {
        match self {
            Row::Provisioned { provisioned, .. } => Some(provisioned),
            _ => None,
        }
    }
}

/// How a column's cell is read from a row; `None` is an empty cell.
#[derive(Clone, Copy)]
enum Get {
    F64(fn(Row<'_>) -> Option<f64>),
    U64(fn(Row<'_>) -> Option<u64>),
    Utf8(for<'a> fn(Row<'a>) -> Option<&'a str>),
}

/// One column of the table.
#[derive(Clone, Copy)]
pub struct Column {
    /// The column's name: CloudWatch's metric name where one exists (with `_mean`/`_max`/`_pNN` for
    /// the statistic and `_ms` where CloudWatch reports milliseconds), else ours in snake_case.
    pub name: &'static str,
    /// Unit of the values (`-` for text).
    pub unit: &'static str,
    /// The scopes whose rows fill this column; empty in the others.
    pub scopes: &'static [Scope],
    /// The CloudWatch metric (namespace, name, statistic) it corresponds to; empty when there is none.
    pub cloudwatch: &'static str,
    /// What the value is.
    pub description: &'static str,
    get: Get,
}

impl std::fmt::Debug for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Column")
            .field("name", &self.name)
            .field("type", &self.ty())
            .field("unit", &self.unit)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl Column {
    /// The type of the column's values.
    pub fn ty(&self) -> ColumnType {
        match self.get {
            Get::F64(_) => ColumnType::F64,
            Get::U64(_) => ColumnType::U64,
            Get::Utf8(_) => ColumnType::Utf8,
        }
    }

    /// Appends the cell of `row` as CSV text to `out` (nothing for an empty cell).
    fn format_cell(&self, row: Row<'_>, out: &mut String) {
        // Writing to a String cannot fail.
        match self.get {
            Get::F64(get) => {
                if let Some(v) = get(row) {
                    let _ = write!(out, "{v:?}");
                }
            }
            Get::U64(get) => {
                if let Some(v) = get(row) {
                    let _ = write!(out, "{v}");
                }
            }
            Get::Utf8(get) => {
                if let Some(v) = get(row) {
                    out.push_str(v);
                }
            }
        }
    }
}

const ALL: &[Scope] = &Scope::ALL;
const WORKFLOW: &[Scope] = &[Scope::Workflow];
const FUNCTION: &[Scope] = &[Scope::Function];
const PROVISIONED: &[Scope] = &[Scope::Provisioned];
const WORKFLOW_FUNCTION: &[Scope] = &[Scope::Workflow, Scope::Function];
const FUNCTION_PROVISIONED: &[Scope] = &[Scope::Function, Scope::Provisioned];

fn ms(s: Option<f64>) -> Option<f64> {
    s.map(|s| s * 1000.0)
}

/// The function row's sum over its provisioned memory sizes (in memory order), or the provisioned
/// row's own value.
fn provisioned_u64(row: Row<'_>, get: fn(&ProvisionedWindow) -> u64) -> Option<u64> {
    match row {
        Row::Function { function, .. } => Some(function.provisioned.iter().map(get).sum()),
        Row::Provisioned { provisioned, .. } => Some(get(provisioned)),
        Row::Workflow { .. } => None,
    }
}

/// As [`provisioned_u64`], for time averages.
fn provisioned_f64(row: Row<'_>, get: fn(&ProvisionedWindow) -> f64) -> Option<f64> {
    match row {
        // From +0.0: `Sum for f64` starts at -0.0, which would print `-0` for a function with nothing
        // provisioned.
        Row::Function { function, .. } => {
            Some(function.provisioned.iter().fold(0.0, |sum, p| sum + get(p)))
        }
        Row::Provisioned { provisioned, .. } => Some(get(provisioned)),
        Row::Workflow { .. } => None,
    }
}

/// Every column of the table, in order. The CSV header, the Parquet schema and the table in
/// docs/monitoring.md ([`schema_markdown`]) are made from this list.
pub const COLUMNS: &[Column] = &[
    Column {
        name: "start_s",
        unit: "s",
        scopes: ALL,
        cloudwatch: "datapoint `Timestamp` (period start), relative to the run's start",
        description: "Window start, seconds since the start of the run.",
        get: Get::F64(|r| Some(r.window().start_s)),
    },
    Column {
        name: "end_s",
        unit: "s",
        scopes: ALL,
        cloudwatch: "`Timestamp` + `Period`",
        description: "Window end, seconds; the last window of a run may be shorter than the interval.",
        get: Get::F64(|r| Some(r.window().end_s)),
    },
    Column {
        name: "scope",
        unit: "-",
        scopes: ALL,
        cloudwatch: "",
        description: "`workflow`, `function` or `provisioned`: what the row describes.",
        get: Get::Utf8(|r| Some(r.scope().as_str())),
    },
    Column {
        name: "name",
        unit: "-",
        scopes: ALL,
        cloudwatch: "dimension `StateMachineArn` (workflow) or `FunctionName`",
        description: "The workflow's name (workflow rows) or the function's (function and provisioned rows).",
        get: Get::Utf8(|r| Some(r.name())),
    },
    Column {
        name: "memory_mb",
        unit: "MB",
        scopes: PROVISIONED,
        cloudwatch: "dimension `Resource` (the alias whose memory this is)",
        description: "Memory of the provisioned environments.",
        get: Get::U64(|r| r.provisioned().map(|p| u64::from(p.memory_mb))),
    },
    Column {
        name: "ExecutionsStarted",
        unit: "count",
        scopes: WORKFLOW,
        cloudwatch: "AWS/States `ExecutionsStarted` (Sum)",
        description: "Requests that arrived in the window.",
        get: Get::U64(|r| r.workflow().map(|w| w.started)),
    },
    Column {
        name: "ExecutionsSucceeded",
        unit: "count",
        scopes: WORKFLOW,
        cloudwatch: "AWS/States `ExecutionsSucceeded` (Sum)",
        description: "Requests that completed without failing in the window.",
        get: Get::U64(|r| r.workflow().map(|w| w.succeeded)),
    },
    Column {
        name: "ExecutionsFailed",
        unit: "count",
        scopes: WORKFLOW,
        cloudwatch: "AWS/States `ExecutionsFailed` (Sum)",
        description: "Requests that failed in the window: a fail step, or a step whose throttled instance had no retry left.",
        get: Get::U64(|r| r.workflow().map(|w| w.failed)),
    },
    Column {
        name: "failed_throttled",
        unit: "count",
        scopes: WORKFLOW,
        cloudwatch: "",
        description: "Of `ExecutionsFailed`, those failed by throttling.",
        get: Get::U64(|r| r.workflow().map(|w| w.failed_throttled)),
    },
    Column {
        name: "running",
        unit: "count",
        scopes: WORKFLOW,
        cloudwatch: "",
        description: "Requests running at the end of the window.",
        get: Get::U64(|r| r.workflow().map(|w| w.running)),
    },
    Column {
        name: "ExecutionTime_p50_ms",
        unit: "ms",
        scopes: WORKFLOW,
        cloudwatch: "AWS/States `ExecutionTime` (p50)",
        description: "Median end-to-end latency of the requests completed in the window; empty when none completed.",
        get: Get::F64(|r| ms(r.workflow().and_then(|w| w.latency_s.p50))),
    },
    Column {
        name: "ExecutionTime_p95_ms",
        unit: "ms",
        scopes: WORKFLOW,
        cloudwatch: "AWS/States `ExecutionTime` (p95)",
        description: "95th percentile of the same latencies.",
        get: Get::F64(|r| ms(r.workflow().and_then(|w| w.latency_s.p95))),
    },
    Column {
        name: "ExecutionTime_p99_ms",
        unit: "ms",
        scopes: WORKFLOW,
        cloudwatch: "AWS/States `ExecutionTime` (p99)",
        description: "99th percentile of the same latencies.",
        get: Get::F64(|r| ms(r.workflow().and_then(|w| w.latency_s.p99))),
    },
    Column {
        name: "completed_per_s",
        unit: "1/s",
        scopes: WORKFLOW,
        cloudwatch: "",
        description: "Completed requests per second of the window.",
        get: Get::F64(|r| r.workflow().map(|w| w.completed_per_s)),
    },
    Column {
        name: "slo_attainment",
        unit: "fraction",
        scopes: WORKFLOW,
        cloudwatch: "",
        description: "Share of the requests finished in the window (completed or failed) that completed within the SLO; empty without an SLO or when none finished.",
        get: Get::F64(|r| r.workflow().and_then(|w| w.slo_attainment)),
    },
    Column {
        name: "Invocations",
        unit: "count",
        scopes: FUNCTION_PROVISIONED,
        cloudwatch: "AWS/Lambda `Invocations` (Sum)",
        description: "Invocations that started in the window (provisioned rows: at this memory).",
        get: Get::U64(|r| {
            r.function()
                .map(|f| f.invocations)
                .or_else(|| r.provisioned().map(|p| p.invocations))
        }),
    },
    Column {
        name: "Throttles",
        unit: "count",
        scopes: FUNCTION,
        cloudwatch: "AWS/Lambda `Throttles` (Sum)",
        description: "Invocation attempts rejected by a concurrency or scaling limit.",
        get: Get::U64(|r| r.function().map(|f| f.throttles)),
    },
    Column {
        name: "retries",
        unit: "count",
        scopes: FUNCTION,
        cloudwatch: "",
        description: "Throttled attempts that were retried (the workflow's retry policy).",
        get: Get::U64(|r| r.function().map(|f| f.retries)),
    },
    Column {
        name: "failures",
        unit: "count",
        scopes: FUNCTION,
        cloudwatch: "",
        description: "Throttled attempts after which no retry was left: the step, and its request, failed.",
        get: Get::U64(|r| r.function().map(|f| f.failures)),
    },
    Column {
        name: "cold_starts",
        unit: "count",
        scopes: FUNCTION,
        cloudwatch: "none (Lambda logs an `Init Duration` per cold start)",
        description: "Instances that started cold.",
        get: Get::U64(|r| r.function().map(|f| f.cold_starts)),
    },
    Column {
        name: "Duration_p50_ms",
        unit: "ms",
        scopes: FUNCTION,
        cloudwatch: "AWS/Lambda `Duration` (p50)",
        description: "Median duration of the invocations started in the window; empty when none started.",
        get: Get::F64(|r| ms(r.function().and_then(|f| f.duration_s.p50))),
    },
    Column {
        name: "Duration_p95_ms",
        unit: "ms",
        scopes: FUNCTION,
        cloudwatch: "AWS/Lambda `Duration` (p95)",
        description: "95th percentile of the same durations.",
        get: Get::F64(|r| ms(r.function().and_then(|f| f.duration_s.p95))),
    },
    Column {
        name: "Duration_p99_ms",
        unit: "ms",
        scopes: FUNCTION,
        cloudwatch: "AWS/Lambda `Duration` (p99)",
        description: "99th percentile of the same durations.",
        get: Get::F64(|r| ms(r.function().and_then(|f| f.duration_s.p99))),
    },
    Column {
        name: "ConcurrentExecutions_mean",
        unit: "instances",
        scopes: WORKFLOW_FUNCTION,
        cloudwatch: "AWS/Lambda `ConcurrentExecutions` (Average; workflow rows: the account's, without dimension)",
        description: "Time-average of running instances over the window (workflow rows: over all its functions).",
        get: Get::F64(|r| {
            r.workflow()
                .map(|w| w.concurrent_executions_mean)
                .or_else(|| r.function().map(|f| f.concurrent_executions_mean))
        }),
    },
    Column {
        name: "ConcurrentExecutions_max",
        unit: "instances",
        scopes: WORKFLOW_FUNCTION,
        cloudwatch: "AWS/Lambda `ConcurrentExecutions` (Maximum)",
        description: "Most instances running at once in the window (workflow rows: over all its functions).",
        get: Get::U64(|r| {
            r.workflow()
                .map(|w| u64::from(w.concurrent_executions_max))
                .or_else(|| r.function().map(|f| u64::from(f.concurrent_executions_max)))
        }),
    },
    Column {
        name: "cost_usd",
        unit: "USD",
        scopes: WORKFLOW_FUNCTION,
        cloudwatch: "none (Cost Explorer, daily)",
        description: "Function rows: the window's invocations (duration and requests) plus its provisioned concurrency. Workflow rows: every function's cost plus state transitions.",
        get: Get::F64(|r| {
            r.workflow()
                .map(|w| w.cost_usd)
                .or_else(|| r.function().map(|f| f.cost_usd))
        }),
    },
    Column {
        name: "provisioned_level",
        unit: "instances",
        scopes: FUNCTION_PROVISIONED,
        cloudwatch: "none (`GetProvisionedConcurrencyConfig`: `AvailableProvisionedConcurrentExecutions`)",
        description: "Provisioned environments ready at the end of the window (function rows: over all memory sizes).",
        get: Get::U64(|r| provisioned_u64(r, |p| u64::from(p.level))),
    },
    Column {
        name: "provisioned_level_requested",
        unit: "instances",
        scopes: FUNCTION_PROVISIONED,
        cloudwatch: "none (`GetProvisionedConcurrencyConfig`: `RequestedProvisionedConcurrentExecutions`)",
        description: "Provisioned environments requested: the level once pending changes are ready (function rows: summed).",
        get: Get::U64(|r| provisioned_u64(r, |p| u64::from(p.level_requested))),
    },
    Column {
        name: "provisioned_level_mean",
        unit: "instances",
        scopes: FUNCTION_PROVISIONED,
        cloudwatch: "",
        description: "Time-average of ready provisioned environments over the window (function rows: summed).",
        get: Get::F64(|r| provisioned_f64(r, |p| p.level_mean)),
    },
    Column {
        name: "ProvisionedConcurrentExecutions",
        unit: "instances",
        scopes: FUNCTION_PROVISIONED,
        cloudwatch: "AWS/Lambda `ProvisionedConcurrentExecutions` (Average)",
        description: "Time-average of provisioned environments busy (function rows: summed).",
        get: Get::F64(|r| provisioned_f64(r, |p| p.in_use_mean)),
    },
    Column {
        name: "ProvisionedConcurrencyUtilization",
        unit: "fraction",
        scopes: FUNCTION_PROVISIONED,
        cloudwatch: "AWS/Lambda `ProvisionedConcurrencyUtilization` (Average)",
        description: "`ProvisionedConcurrentExecutions / provisioned_level_mean`; empty when nothing was provisioned.",
        get: Get::F64(|r| {
            r.function()
                .and_then(|f| f.provisioned_utilization())
                .or_else(|| r.provisioned().and_then(|p| p.utilization))
        }),
    },
    Column {
        name: "ProvisionedConcurrencySpilloverInvocations",
        unit: "count",
        scopes: FUNCTION_PROVISIONED,
        cloudwatch: "AWS/Lambda `ProvisionedConcurrencySpilloverInvocations` (Sum)",
        description: "Invocations that found every provisioned environment busy and ran on demand (function rows: summed).",
        get: Get::U64(|r| provisioned_u64(r, |p| p.spillover_invocations)),
    },
];

/// The rows of the table, in order: per window the workflow row, then per function its row and its
/// provisioned rows.
fn rows<'a>(workflow_name: &'a str, windows: &'a [MonitorWindow]) -> impl Iterator<Item = Row<'a>> {
    windows.iter().flat_map(move |window| {
        std::iter::once(Row::Workflow {
            window,
            name: workflow_name,
        })
        .chain(window.functions.iter().flat_map(move |function| {
            std::iter::once(Row::Function { window, function }).chain(
                function
                    .provisioned
                    .iter()
                    .map(move |provisioned| Row::Provisioned {
                        window,
                        function,
                        provisioned,
                    }),
            )
        }))
    })
}

/// Number of rows the table of `windows` has: per window, one workflow row, one row per function and
/// one per provisioned memory size.
pub fn n_rows(windows: &[MonitorWindow]) -> usize {
    windows
        .iter()
        .map(|w| {
            1 + w
                .functions
                .iter()
                .map(|f| 1 + f.provisioned.len())
                .sum::<usize>()
        })
        .sum()
}

/// The schema as a markdown table (column, type, unit, scopes, CloudWatch source, description): the
/// table in docs/monitoring.md, which a test keeps equal to this.
pub fn schema_markdown() -> String {
    let mut out = String::from(
        "| column | type | unit | scopes | CloudWatch source | description |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for c in COLUMNS {
        let scopes: Vec<&str> = c.scopes.iter().map(|s| s.as_str()).collect();
        let cloudwatch = if c.cloudwatch.is_empty() {
            "none"
        } else {
            c.cloudwatch
        };
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            c.name,
            c.ty().as_str(),
            c.unit,
            scopes.join(", "),
            cloudwatch,
            c.description
        );
    }
    out
}

/// The file format of the monitoring stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsFormat {
    /// Comma-separated values with a header line; empty cells for missing values.
    Csv,
    /// Apache Parquet with typed nullable columns (needs the cargo feature `parquet` to write).
    Parquet,
}

impl MetricsFormat {
    /// The format named by the path's extension: `.csv` or `.parquet` (in any case).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the path and the accepted extensions for any other extension.
    pub fn from_path(path: &Path) -> Result<MetricsFormat, Error> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Ok(MetricsFormat::Csv),
            Some("parquet") => Ok(MetricsFormat::Parquet),
            _ => Err(Error::InvalidOption {
                field: "metrics file".into(),
                reason: format!(
                    "{}: unknown format, expected a file name ending in .csv or .parquet",
                    path.display()
                ),
            }),
        }
    }
}

impl MetricsFormat {
    /// Checks, before a run, that `path` can be written in this format: Parquet needs the cargo
    /// feature `parquet`, and the file's directory must exist (so a long run's stream is not lost at
    /// the end).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the path.
    pub fn check_writable(self, path: &Path) -> Result<(), Error> {
        let bad = |reason: String| {
            Err(Error::InvalidOption {
                field: "metrics file".into(),
                reason,
            })
        };
        if self == MetricsFormat::Parquet && !cfg!(feature = "parquet") {
            return bad(format!(
                "{}: writing Parquet needs faastune built with `--features parquet` \
                 (or write CSV: a file name ending in .csv)",
                path.display()
            ));
        }
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.is_dir()
        {
            return bad(format!(
                "{}: directory {} does not exist",
                path.display(),
                dir.display()
            ));
        }
        Ok(())
    }
}

/// Writes the table of `windows` as CSV to `w`: the header (the names of [`COLUMNS`]) and one line per
/// row, `\n`-terminated, quoted only where needed; then flushes `w`.
///
/// # Errors
/// Any error of `w`.
pub fn metrics_csv<W: Write>(
    w: W,
    workflow_name: &str,
    windows: &[MonitorWindow],
) -> io::Result<()> {
    let mut out = csv::WriterBuilder::new().from_writer(w);
    out.write_record(COLUMNS.iter().map(|c| c.name))?;
    let mut fields = vec![String::new(); COLUMNS.len()];
    for row in rows(workflow_name, windows) {
        for (field, column) in fields.iter_mut().zip(COLUMNS) {
            field.clear();
            column.format_cell(row, field);
        }
        out.write_record(&fields)?;
    }
    out.flush()
}

/// Writes the table of `windows` to the file `path` in `format`, through a [`BufWriter`].
///
/// The table goes to `path` with `.tmp` appended first, which is renamed to `path` once complete and
/// synced: a failed write leaves no file at `path` that looks valid (and removes the `.tmp` file
/// where it can); an existing file at `path` is replaced only by a complete one.
///
/// # Errors
/// [`Error::InvalidOption`] naming the path: Parquet without the cargo feature `parquet` (checked
/// before anything is created), or any error creating, writing or renaming the file.
pub fn write_metrics(
    path: &Path,
    workflow_name: &str,
    windows: &[MonitorWindow],
    format: MetricsFormat,
) -> Result<(), Error> {
    if format == MetricsFormat::Parquet && !cfg!(feature = "parquet") {
        return Err(Error::InvalidOption {
            field: "metrics file".into(),
            reason: format!(
                "{}: writing Parquet needs faastune built with `--features parquet` \
                 (or write CSV: a file name ending in .csv)",
                path.display()
            ),
        });
    }
    let write_error = |e: io::Error| Error::InvalidOption {
        field: "metrics file".into(),
        reason: format!("cannot write {}: {e}", path.display()),
    };
    let Some(file_name) = path.file_name() else {
        return Err(write_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a file name",
        )));
    };
    let mut tmp_name = file_name.to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let result =
        write_file(&tmp, workflow_name, windows, format).and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        // Best effort: the write already failed, and a leftover .tmp file does not look valid.
        let _ = std::fs::remove_file(&tmp);
        write_error(e)
    })
}

fn write_file(
    tmp: &Path,
    workflow_name: &str,
    windows: &[MonitorWindow],
    format: MetricsFormat,
) -> io::Result<()> {
    let mut w = BufWriter::new(File::create(tmp)?);
    match format {
        MetricsFormat::Csv => metrics_csv(&mut w, workflow_name, windows)?,
        #[cfg(feature = "parquet")]
        MetricsFormat::Parquet => {
            parquet_io::metrics_parquet(&mut w, workflow_name, windows)?;
        }
        #[cfg(not(feature = "parquet"))]
        MetricsFormat::Parquet => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "Parquet needs the cargo feature `parquet`",
            ));
        }
    }
    let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.sync_all()
}

#[cfg(feature = "parquet")]
pub use parquet_io::metrics_parquet;

#[cfg(feature = "parquet")]
mod parquet_io {
    use std::io::{self, Write};
    use std::sync::Arc;

    use parquet::basic::{LogicalType, Repetition, Type as PhysicalType};
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
    use parquet::errors::ParquetError;
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::types::{Type, TypePtr};

    use super::{COLUMNS, ColumnType, Get, Row, rows};
    use crate::monitor::MonitorWindow;

    /// Rows per row group: bounds the memory of a long run's columns.
    const ROW_GROUP_ROWS: usize = 1 << 16;

    fn schema() -> Result<TypePtr, ParquetError> {
        let fields = COLUMNS
            .iter()
            .map(|c| {
                let builder = match c.ty() {
                    ColumnType::F64 => Type::primitive_type_builder(c.name, PhysicalType::DOUBLE),
                    ColumnType::U64 => Type::primitive_type_builder(c.name, PhysicalType::INT64)
                        .with_logical_type(Some(LogicalType::integer(64, false))),
                    ColumnType::Utf8 => {
                        Type::primitive_type_builder(c.name, PhysicalType::BYTE_ARRAY)
                            .with_logical_type(Some(LogicalType::String))
                    }
                };
                builder
                    .with_repetition(Repetition::OPTIONAL)
                    .build()
                    .map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(
            Type::group_type_builder("faastune_metrics")
                .with_fields(fields)
                .build()?,
        ))
    }

    /// Writes the table of `windows` as Parquet to `w` (typed nullable columns: `DOUBLE`, `INT64`
    /// unsigned, `BYTE_ARRAY` strings; uncompressed; row groups of 65,536 rows) and returns `w`.
    /// The same windows give the same bytes.
    ///
    /// # Errors
    /// Any error of `w`, or of the Parquet writer, as an [`io::Error`].
    pub fn metrics_parquet<W: Write + Send>(
        w: W,
        workflow_name: &str,
        windows: &[MonitorWindow],
    ) -> io::Result<W> {
        write(w, workflow_name, windows).map_err(io::Error::from)
    }

    fn write<W: Write + Send>(
        w: W,
        workflow_name: &str,
        windows: &[MonitorWindow],
    ) -> Result<W, ParquetError> {
        let props = Arc::new(
            WriterProperties::builder()
                .set_created_by(format!("faastune {}", env!("CARGO_PKG_VERSION")))
                .build(),
        );
        let mut writer = SerializedFileWriter::new(w, schema()?, props)?;
        let mut all = rows(workflow_name, windows).peekable();
        let mut chunk = Vec::with_capacity(ROW_GROUP_ROWS);
        while all.peek().is_some() {
            chunk.clear();
            chunk.extend(all.by_ref().take(ROW_GROUP_ROWS));
            write_row_group(&mut writer, &chunk)?;
        }
        writer.into_inner()
    }

    fn write_row_group<W: Write + Send>(
        writer: &mut SerializedFileWriter<W>,
        chunk: &[Row<'_>],
    ) -> Result<(), ParquetError> {
        let mut group = writer.next_row_group()?;
        let mut def_levels = Vec::with_capacity(chunk.len());
        for column in COLUMNS {
            let Some(mut col) = group.next_column()? else {
                return Err(ParquetError::General(format!(
                    "schema has no column for {}",
                    column.name
                )));
            };
            def_levels.clear();
            match column.get {
                Get::F64(get) => {
                    let values = present(chunk, get, &mut def_levels);
                    col.typed::<DoubleType>()
                        .write_batch(&values, Some(&def_levels), None)?;
                }
                Get::U64(get) => {
                    // Stored as INT64 bits; the unsigned logical type reads them back as u64.
                    let values: Vec<i64> = present(chunk, get, &mut def_levels)
                        .into_iter()
                        .map(|v| v as i64)
                        .collect();
                    col.typed::<Int64Type>()
                        .write_batch(&values, Some(&def_levels), None)?;
                }
                Get::Utf8(get) => {
                    let values: Vec<ByteArray> = present(chunk, get, &mut def_levels)
                        .into_iter()
                        .map(ByteArray::from)
                        .collect();
                    col.typed::<ByteArrayType>()
                        .write_batch(&values, Some(&def_levels), None)?;
                }
            }
            col.close()?;
        }
        group.close()?;
        Ok(())
    }

    /// The non-null values of one column of `chunk`, with a definition level per row (1 present,
    /// 0 null) in `def_levels`.
    fn present<'a, T>(
        chunk: &[Row<'a>],
        get: impl Fn(Row<'a>) -> Option<T>,
        def_levels: &mut Vec<i16>,
    ) -> Vec<T> {
        let mut values = Vec::with_capacity(chunk.len());
        for &row in chunk {
            match get(row) {
                Some(v) => {
                    values.push(v);
                    def_levels.push(1);
                }
                None => def_levels.push(0),
            }
        }
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::Percentiles;

    /// A window in which every optional value is set.
    fn full_window() -> MonitorWindow {
        let p = Percentiles {
            p50: Some(0.1),
            p95: Some(0.2),
            p99: Some(0.3),
        };
        MonitorWindow {
            start_s: 0.0,
            end_s: 60.0,
            workflow: WorkflowWindow {
                latency_s: p,
                slo_attainment: Some(1.0),
                ..Default::default()
            },
            functions: vec![FunctionWindow {
                function: "f".into(),
                duration_s: p,
                provisioned: vec![ProvisionedWindow {
                    memory_mb: 512,
                    level_mean: 1.0,
                    utilization: Some(0.5),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn every_column_is_filled_exactly_in_its_scopes() {
        let windows = [full_window()];
        let all: Vec<Row<'_>> = rows("wf", &windows).collect();
        assert_eq!(all.len(), n_rows(&windows));
        assert_eq!(
            all.iter().map(|r| r.scope()).collect::<Vec<_>>(),
            Scope::ALL
        );
        for column in COLUMNS {
            for &row in &all {
                let mut cell = String::new();
                column.format_cell(row, &mut cell);
                assert_eq!(
                    !cell.is_empty(),
                    column.scopes.contains(&row.scope()),
                    "column {} in a {} row: {cell:?}",
                    column.name,
                    row.scope().as_str()
                );
            }
        }
    }

    #[test]
    fn column_names_are_unique_and_plain() {
        for (i, c) in COLUMNS.iter().enumerate() {
            assert!(
                c.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                "{}",
                c.name
            );
            assert!(
                COLUMNS[..i].iter().all(|d| d.name != c.name),
                "{} twice",
                c.name
            );
            assert!(
                !c.scopes.is_empty() && !c.description.is_empty(),
                "{}",
                c.name
            );
        }
    }

    #[test]
    fn format_by_extension() {
        assert_eq!(
            MetricsFormat::from_path(Path::new("a/b.CSV")).unwrap(),
            MetricsFormat::Csv
        );
        assert_eq!(
            MetricsFormat::from_path(Path::new("b.parquet")).unwrap(),
            MetricsFormat::Parquet
        );
        for bad in ["b.json", "b", "csv", "b.csv.gz"] {
            let e = MetricsFormat::from_path(Path::new(bad))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(bad) && e.contains(".csv") && e.contains(".parquet"),
                "{e}"
            );
        }
    }
}
