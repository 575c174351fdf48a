//! The monitoring stream's files: CSV and Parquet read back to the values written, one row per
//! (window, scope, name), empty cells where a value is missing, identical bytes for identical windows,
//! errors that name the path, and the docs table kept equal to the column list.

use std::path::{Path, PathBuf};

use platform::metrics_io::{
    COLUMNS, MetricsFormat, metrics_csv, n_rows, schema_markdown, write_metrics,
};
use platform::monitor::Percentiles;
use platform::{FunctionWindow, MonitorWindow, ProvisionedWindow, WorkflowWindow};

/// Two windows by hand: the first with two functions (`a` provisioned at two memory sizes, one of them
/// idle; `b` named with a comma and a quote), the second shorter, with nothing completed.
fn windows() -> Vec<MonitorWindow> {
    let first = MonitorWindow {
        start_s: 0.0,
        end_s: 60.0,
        workflow: WorkflowWindow {
            started: 10,
            succeeded: 7,
            failed: 2,
            failed_throttled: 1,
            running: 1,
            latency_s: Percentiles {
                p50: Some(1.5),
                p95: Some(2.25),
                p99: Some(3.0),
            },
            completed_per_s: 9.0 / 60.0,
            slo_attainment: Some(0.75),
            cost_usd: 0.1 + 0.2,
            concurrent_executions_mean: 2.5,
            concurrent_executions_max: 4,
        },
        functions: vec![
            FunctionWindow {
                function: "a".into(),
                invocations: 12,
                throttles: 3,
                retries: 2,
                failures: 1,
                concurrent_executions_mean: 1.25,
                concurrent_executions_max: 3,
                cold_starts: 4,
                duration_s: Percentiles {
                    p50: Some(0.5),
                    p95: Some(0.75),
                    p99: Some(1.0),
                },
                cost_usd: 0.125,
                provisioned: vec![
                    ProvisionedWindow {
                        memory_mb: 512,
                        invocations: 8,
                        level: 2,
                        level_requested: 3,
                        level_mean: 2.0,
                        in_use_mean: 1.5,
                        utilization: Some(0.75),
                        spillover_invocations: 1,
                    },
                    ProvisionedWindow {
                        memory_mb: 1024,
                        invocations: 0,
                        level: 1,
                        level_requested: 1,
                        level_mean: 0.5,
                        in_use_mean: 0.0,
                        utilization: Some(0.0),
                        spillover_invocations: 0,
                    },
                ],
            },
            FunctionWindow {
                function: "b,\"x\"".into(),
                invocations: 5,
                duration_s: Percentiles {
                    p50: Some(0.001),
                    p95: Some(0.002),
                    p99: Some(0.004),
                },
                cost_usd: 1e-7,
                ..Default::default()
            },
        ],
    };
    let second = MonitorWindow {
        start_s: 60.0,
        end_s: 75.5,
        workflow: WorkflowWindow {
            started: 1,
            running: 2,
            ..Default::default()
        },
        functions: vec![
            FunctionWindow {
                function: "a".into(),
                ..Default::default()
            },
            FunctionWindow {
                function: "b,\"x\"".into(),
                ..Default::default()
            },
        ],
    };
    vec![first, second]
}

fn csv_bytes(windows: &[MonitorWindow]) -> Vec<u8> {
    let mut out = Vec::new();
    metrics_csv(&mut out, "wf", windows).unwrap();
    out
}

/// The CSV read back: header and records.
fn read_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let records = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, records)
}

fn column(name: &str) -> usize {
    COLUMNS
        .iter()
        .position(|c| c.name == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// A fresh directory for this test's files.
fn scratch(test: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("faastune-metrics-io-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn csv_has_the_header_and_one_row_per_window_scope_and_name() {
    let windows = windows();
    let (header, records) = read_csv(&csv_bytes(&windows));
    assert_eq!(header, COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>());
    let keys: Vec<(&str, &str, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r[column("start_s")].as_str(),
                r[column("scope")].as_str(),
                r[column("name")].as_str(),
                r[column("memory_mb")].as_str(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("0.0", "workflow", "wf", ""),
            ("0.0", "function", "a", ""),
            ("0.0", "provisioned", "a", "512"),
            ("0.0", "provisioned", "a", "1024"),
            ("0.0", "function", "b,\"x\"", ""),
            ("60.0", "workflow", "wf", ""),
            ("60.0", "function", "a", ""),
            ("60.0", "function", "b,\"x\"", ""),
        ]
    );
    assert_eq!(n_rows(&windows), 8);
    assert!(records.iter().all(|r| r.len() == COLUMNS.len()));
}

#[test]
fn csv_reads_back_to_the_values_written() {
    let (_, r) = read_csv(&csv_bytes(&windows()));
    let cell = |row: usize, name: &str| r[row][column(name)].as_str();
    let f64_cell = |row: usize, name: &str| -> f64 {
        cell(row, name)
            .parse()
            .unwrap_or_else(|e| panic!("row {row} {name}: {e}"))
    };
    // Workflow row of the first window: Step Functions' names, milliseconds, exact floats.
    assert_eq!(cell(0, "end_s"), "60.0");
    assert_eq!(cell(0, "ExecutionsStarted"), "10");
    assert_eq!(cell(0, "ExecutionsSucceeded"), "7");
    assert_eq!(cell(0, "ExecutionsFailed"), "2");
    assert_eq!(cell(0, "failed_throttled"), "1");
    assert_eq!(cell(0, "running"), "1");
    assert_eq!(cell(0, "ExecutionTime_p50_ms"), "1500.0");
    assert_eq!(cell(0, "ExecutionTime_p95_ms"), "2250.0");
    assert_eq!(cell(0, "ExecutionTime_p99_ms"), "3000.0");
    assert_eq!(f64_cell(0, "completed_per_s"), 9.0 / 60.0);
    assert_eq!(cell(0, "slo_attainment"), "0.75");
    assert_eq!(f64_cell(0, "cost_usd"), 0.1 + 0.2);
    assert_eq!(cell(0, "ConcurrentExecutions_mean"), "2.5");
    assert_eq!(cell(0, "ConcurrentExecutions_max"), "4");
    for lambda_only in [
        "Invocations",
        "Throttles",
        "Duration_p50_ms",
        "provisioned_level",
    ] {
        assert_eq!(cell(0, lambda_only), "", "{lambda_only} in a workflow row");
    }
    // Function row: its own metrics, provisioned ones summed over memory sizes.
    assert_eq!(cell(1, "Invocations"), "12");
    assert_eq!(cell(1, "Throttles"), "3");
    assert_eq!(cell(1, "retries"), "2");
    assert_eq!(cell(1, "failures"), "1");
    assert_eq!(cell(1, "cold_starts"), "4");
    assert_eq!(cell(1, "Duration_p50_ms"), "500.0");
    assert_eq!(cell(1, "Duration_p99_ms"), "1000.0");
    assert_eq!(cell(1, "cost_usd"), "0.125");
    assert_eq!(cell(1, "ConcurrentExecutions_max"), "3");
    assert_eq!(cell(1, "provisioned_level"), "3");
    assert_eq!(cell(1, "provisioned_level_requested"), "4");
    assert_eq!(cell(1, "provisioned_level_mean"), "2.5");
    assert_eq!(cell(1, "ProvisionedConcurrentExecutions"), "1.5");
    assert_eq!(cell(1, "ProvisionedConcurrencyUtilization"), "0.6");
    assert_eq!(cell(1, "ProvisionedConcurrencySpilloverInvocations"), "1");
    assert_eq!(cell(1, "ExecutionsStarted"), "");
    // Provisioned rows: one memory size each.
    assert_eq!(cell(2, "Invocations"), "8");
    assert_eq!(cell(2, "provisioned_level"), "2");
    assert_eq!(cell(2, "ProvisionedConcurrencyUtilization"), "0.75");
    assert_eq!(cell(3, "ProvisionedConcurrencyUtilization"), "0.0");
    assert_eq!(cell(3, "provisioned_level_mean"), "0.5");
    for function_only in ["Throttles", "cold_starts", "cost_usd", "Duration_p95_ms"] {
        assert_eq!(
            cell(2, function_only),
            "",
            "{function_only} in a provisioned row"
        );
    }
    // Tiny values round-trip exactly.
    assert_eq!(f64_cell(4, "Duration_p50_ms"), 0.001 * 1000.0);
    assert_eq!(cell(4, "cost_usd"), "1e-7");
    // Nothing provisioned: levels 0, utilisation empty. Nothing completed: empty percentiles.
    assert_eq!(cell(4, "provisioned_level"), "0");
    assert_eq!(cell(4, "provisioned_level_mean"), "0.0");
    assert_eq!(cell(4, "ProvisionedConcurrentExecutions"), "0.0");
    assert_eq!(cell(4, "ProvisionedConcurrencyUtilization"), "");
    assert_eq!(cell(5, "end_s"), "75.5");
    assert_eq!(cell(5, "ExecutionsStarted"), "1");
    assert_eq!(cell(5, "running"), "2");
    assert_eq!(cell(5, "ExecutionTime_p50_ms"), "");
    assert_eq!(cell(5, "slo_attainment"), "");
    assert_eq!(cell(6, "Duration_p99_ms"), "");
    assert_eq!(cell(6, "Invocations"), "0");
}

#[test]
fn same_windows_same_bytes() {
    let windows = windows();
    let first = csv_bytes(&windows);
    assert_eq!(first, csv_bytes(&windows.clone()));
    let dir = scratch("same-bytes");
    let path = dir.join("m.csv");
    write_metrics(&path, "wf", &windows, MetricsFormat::Csv).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), first);
    assert!(!dir.join("m.csv.tmp").exists());
    // An existing file is replaced whole.
    write_metrics(&path, "wf", &windows[1..], MetricsFormat::Csv).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), csv_bytes(&windows[1..]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_windows_is_a_header_only() {
    let (header, records) = read_csv(&csv_bytes(&[]));
    assert_eq!(header.len(), COLUMNS.len());
    assert!(records.is_empty());
}

#[test]
fn format_by_extension_and_errors_name_the_path() {
    let windows = windows();
    assert_eq!(
        MetricsFormat::from_path(Path::new("out/m.csv")).unwrap(),
        MetricsFormat::Csv
    );
    assert_eq!(
        MetricsFormat::from_path(Path::new("m.parquet")).unwrap(),
        MetricsFormat::Parquet
    );
    let e = MetricsFormat::from_path(Path::new("out/m.xlsx"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("out/m.xlsx") && e.contains(".csv") && e.contains(".parquet"),
        "{e}"
    );

    let dir = scratch("errors");
    let missing = dir.join("no-such-dir").join("m.csv");
    let e = write_metrics(&missing, "wf", &windows, MetricsFormat::Csv)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&missing.display().to_string()), "{e}");
    // A directory in the way: the rename fails, and no .tmp file is left behind.
    let in_the_way = dir.join("m.csv");
    std::fs::create_dir(&in_the_way).unwrap();
    let e = write_metrics(&in_the_way, "wf", &windows, MetricsFormat::Csv)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&in_the_way.display().to_string()), "{e}");
    assert!(!dir.join("m.csv.tmp").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn docs_list_every_column() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/monitoring.md");
    let docs = std::fs::read_to_string(&path).unwrap();
    let missing: Vec<&str> = COLUMNS
        .iter()
        .map(|c| c.name)
        .filter(|name| !docs.contains(&format!("| `{name}` |")))
        .collect();
    let table = schema_markdown();
    assert!(
        missing.is_empty() && docs.contains(&table),
        "docs/monitoring.md does not list {missing:?} or its table differs from the columns; \
         replace it with:\n{table}"
    );
}

#[cfg(not(feature = "parquet"))]
#[test]
fn parquet_without_the_feature_is_an_error_and_writes_nothing() {
    let dir = scratch("no-parquet");
    let path = dir.join("m.parquet");
    let e = write_metrics(&path, "wf", &windows(), MetricsFormat::Parquet)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--features parquet") && e.contains(&path.display().to_string()),
        "{e}"
    );
    assert!(std::fs::read_dir(&dir).unwrap().next().is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "parquet")]
mod parquet_files {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;
    use platform::metrics_io::ColumnType;

    use super::*;

    #[test]
    fn parquet_reads_back_to_the_csv_values() {
        let windows = windows();
        let dir = scratch("parquet");
        let path = dir.join("m.parquet");
        write_metrics(&path, "wf", &windows, MetricsFormat::Parquet).unwrap();
        let (_, csv_rows) = read_csv(&csv_bytes(&windows));

        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let meta = reader.metadata().file_metadata();
        assert_eq!(meta.num_rows(), 8);
        let names: Vec<&str> = meta
            .schema_descr()
            .columns()
            .iter()
            .map(|c| c.name())
            .collect();
        assert_eq!(names, COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>());

        let rows: Vec<_> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows.len(), csv_rows.len());
        for (i, (row, csv_row)) in rows.iter().zip(&csv_rows).enumerate() {
            for (j, ((name, field), c)) in row.get_column_iter().zip(COLUMNS).enumerate() {
                assert_eq!(name, c.name);
                // Typed cells: each the column's type, or null exactly where the CSV cell is empty.
                let text = match (field, c.ty()) {
                    (Field::Null, _) => String::new(),
                    (Field::Double(v), ColumnType::F64) => format!("{v:?}"),
                    (Field::ULong(v), ColumnType::U64) => v.to_string(),
                    (Field::Str(s), ColumnType::Utf8) => s.clone(),
                    (other, ty) => panic!("row {i} column {}: {other:?} for {ty:?}", c.name),
                };
                assert_eq!(text, csv_row[j], "row {i} column {}", c.name);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn parquet_same_windows_same_bytes() {
        let windows = windows();
        let dir = scratch("parquet-bytes");
        let (a, b) = (dir.join("a.parquet"), dir.join("b.parquet"));
        write_metrics(&a, "wf", &windows, MetricsFormat::Parquet).unwrap();
        write_metrics(&b, "wf", &windows, MetricsFormat::Parquet).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn parquet_unwritable_path_names_it() {
        let dir = scratch("parquet-errors");
        let missing = dir.join("no-such-dir").join("m.parquet");
        let e = write_metrics(&missing, "wf", &windows(), MetricsFormat::Parquet)
            .unwrap_err()
            .to_string();
        assert!(e.contains(&missing.display().to_string()), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
