//! Scheduled actions: changes at given simulated times, read from a file, as Application Auto Scaling's
//! scheduled actions for Lambda provisioned concurrency set capacity at a time ("scheduled scaling to
//! increase provisioned concurrency in anticipation of peak traffic", AWS Lambda Developer Guide,
//! *Managing provisioned concurrency with Application Auto Scaling*), extended to every [`Change`].
//!
//! File format: UTF-8 text, one action per line; `#` starts a comment; blank lines are skipped. Tokens
//! are separated by spaces or tabs:
//! ```text
//! # time_s  function  key=value...
//! 0        resize    provisioned=10 memory=1024   # 10 environments of 1024 MB
//! 600      resize    reserved=50                  # reserved concurrency 50 (none: remove it)
//! 600      thumbs    memory=2048                  # alias memory 2048 MB (none: back to the policy)
//! 900      step=resize config=2048/4/2            # step configuration memory/fan-out/workers
//! 1200     step=resize config=none                # back to the per-step policy
//! ```
//! - `TIME_S`: seconds since the start of the run, a number >= 0; times must not decrease down the file.
//! - A function line names a function of the workflow and has at least one of: `provisioned=N` with
//!   `memory=MB` (the memory of the provisioned environments; [`Change::ProvisionedConcurrency`]);
//!   `reserved=N|none` ([`Change::ReservedConcurrency`]); without `provisioned`, `memory=MB|none` sets the
//!   alias memory ([`Change::FunctionMemory`]). Changes come in the order of their keys on the line.
//! - A step line is `TIME_S step=NAME config=MEMORY/FANOUT/WORKERS|none` ([`Change::StepConfig`]) for a
//!   task step of the workflow; the configuration may also be written as [`crate::StepConfig`] displays
//!   it, `2048MB/p4/q2`.
//! - Counts are whole numbers up to [`crate::limits::CONCURRENCY_MAX`], memory 1 to
//!   [`crate::limits::MEMORY_MB_MAX`] MB, fan-out and workers at least 1, times at most
//!   [`crate::limits::ARRIVAL_SPAN_S_MAX`]. Whether the platform offers a memory size or a configuration
//!   fits the step is checked when the change is applied.
//!
//! Every problem is reported at once: [`Error::Parse`] names the file and line of the first, and its
//! message lists each as `file:line: problem`. The controller returns, at each call, the actions whose
//! time is at or before the call's time and not yet returned, in file order (so an action fires at the
//! end of the control window in which its time falls: the control interval bounds the lateness).

use std::collections::BTreeSet;
use std::path::Path;

use workflow::{StepKind, Workflow};

use super::{Change, ControlState, Controller};
use crate::limits::{ARRIVAL_SPAN_S_MAX, CONCURRENCY_MAX, MEMORY_MB_MAX};
use crate::monitor::MonitorWindow;
use crate::{Error, StepConfig};

/// Scheduled actions controller: a list of `(time_s, change)` in nondecreasing time, returned as the
/// simulation passes their times. [`Default`] is the empty schedule.
#[derive(Debug, Clone, Default)]
pub struct ScheduledActions {
    actions: Vec<(f64, Change)>,
    /// Index of the first action not yet returned.
    next_idx: usize,
}

impl ScheduledActions {
    /// Reads a schedule file (through [`des::text::read_text`]) for `workflow`; see the module docs for
    /// the format. Errors name the file and line.
    pub fn from_file(path: &Path, workflow: &Workflow) -> Result<Self, Error> {
        let text = crate::error::read_file(path)?;
        Self::from_str(&text, &path.display().to_string(), workflow)
    }

    /// Parses schedule text labelled `source_name` in errors (a UTF-8 byte-order mark is dropped).
    pub fn from_str(text: &str, source_name: &str, workflow: &Workflow) -> Result<Self, Error> {
        let text = des::text::strip_bom(text);
        let functions: BTreeSet<&str> = workflow
            .steps()
            .iter()
            .map(|s| s.function.as_str())
            .collect();
        let mut actions = Vec::new();
        let mut problems: Vec<(usize, String)> = Vec::new();
        let mut last_time: Option<(f64, usize)> = None;
        for (idx, raw) in text.lines().enumerate() {
            let line_no = idx + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            match parse_line(content, workflow, &functions) {
                Ok((time_s, changes)) => {
                    if let Some((prev, prev_line)) = last_time
                        && time_s < prev
                    {
                        problems.push((
                            line_no,
                            format!(
                                "time {time_s} s is before the time {prev} s of line {prev_line}: \
                                 times must not decrease"
                            ),
                        ));
                    }
                    last_time = Some((time_s, line_no));
                    actions.extend(changes.into_iter().map(|c| (time_s, c)));
                }
                Err(line_problems) => {
                    problems.extend(line_problems.into_iter().map(|p| (line_no, p)));
                }
            }
        }
        if let Some((first_line, first)) = problems.first() {
            let mut message = first.clone();
            if problems.len() > 1 {
                message.push_str(&format!("; {} problems in all:", problems.len()));
                for (line, p) in &problems {
                    message.push_str(&format!("\n  {source_name}:{line}: {p}"));
                }
            }
            return Err(Error::Parse {
                source_name: source_name.to_owned(),
                line: Some(*first_line),
                message,
            });
        }
        Ok(ScheduledActions {
            actions,
            next_idx: 0,
        })
    }

    /// Every action, `(time_s, change)`, in file order.
    pub fn actions(&self) -> &[(f64, Change)] {
        &self.actions
    }
}

/// One non-empty line: its time and changes, or every problem on it.
fn parse_line(
    content: &str,
    workflow: &Workflow,
    functions: &BTreeSet<&str>,
) -> Result<(f64, Vec<Change>), Vec<String>> {
    let mut problems = Vec::new();
    let mut tokens = content.split_whitespace();
    let time_token = tokens.next().unwrap_or("");
    let time_s = match time_token.parse::<f64>() {
        Ok(t) if t.is_finite() && (0.0..=ARRIVAL_SPAN_S_MAX).contains(&t) => Some(t),
        Ok(t) if t < 0.0 => {
            problems.push(format!("time '{time_token}' is negative"));
            None
        }
        _ => {
            problems.push(format!(
                "time '{time_token}': expected a number of seconds in [0, {ARRIVAL_SPAN_S_MAX:e}] \
                 (a line is TIME_S FUNCTION KEY=VALUE... or TIME_S step=NAME config=...)"
            ));
            None
        }
    };
    let Some(subject) = tokens.next() else {
        problems.push("expected a function name or step=NAME after the time".into());
        return Err(problems);
    };
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    let mut seen = BTreeSet::new();
    let (is_step, name) = match subject.split_once('=') {
        Some(("step", name)) => (true, name),
        Some((key, _)) => {
            problems.push(format!(
                "'{subject}': expected a function name or step=NAME, not key '{key}'"
            ));
            return Err(problems);
        }
        None => (false, subject),
    };
    for token in tokens {
        match token.split_once('=') {
            Some((key, value)) if !key.is_empty() && !value.is_empty() => {
                if !seen.insert(key) {
                    problems.push(format!("key '{key}' given twice"));
                }
                pairs.push((key, value));
            }
            _ => problems.push(format!("'{token}': expected KEY=VALUE")),
        }
    }
    let get = |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|&(_, v)| v);
    let mut changes = Vec::new();
    if is_step {
        match workflow.find(name) {
            None => problems.push(format!(
                "unknown step '{name}' (not in workflow '{}')",
                workflow.name
            )),
            Some(id) if workflow.step(id).kind != StepKind::Task => problems.push(format!(
                "step '{name}' is a {} step: only task steps have a configuration",
                workflow.step(id).kind.as_str()
            )),
            Some(_) => {}
        }
        for &(key, _) in &pairs {
            if key != "config" {
                problems.push(format!(
                    "unknown key '{key}' on a step line (expected config=)"
                ));
            }
        }
        match get("config") {
            None => problems
                .push("a step line needs config=MEMORY/FANOUT/WORKERS or config=none".into()),
            Some("none") => changes.push(Change::StepConfig {
                step: name.to_owned(),
                config: None,
            }),
            Some(v) => match parse_config(v) {
                Ok(config) => changes.push(Change::StepConfig {
                    step: name.to_owned(),
                    config: Some(config),
                }),
                Err(p) => problems.push(p),
            },
        }
    } else {
        if !functions.contains(name) {
            problems.push(format!(
                "unknown function '{name}' (not in workflow '{}'; its functions: {})",
                workflow.name,
                functions.iter().copied().collect::<Vec<_>>().join(", ")
            ));
        }
        let provisioned = get("provisioned");
        for &(key, value) in &pairs {
            match key {
                "provisioned" => {
                    let level = parse_count("provisioned", value, CONCURRENCY_MAX, &mut problems);
                    let memory = match get("memory") {
                        None => {
                            problems.push("provisioned= needs memory=MB on the same line".into());
                            None
                        }
                        Some("none") => {
                            problems.push(
                                "memory=none with provisioned=: give the memory in MB".into(),
                            );
                            None
                        }
                        Some(m) => parse_memory(m, &mut problems),
                    };
                    if let (Some(level), Some(memory_mb)) = (level, memory) {
                        changes.push(Change::ProvisionedConcurrency {
                            function: name.to_owned(),
                            memory_mb,
                            level,
                        });
                    }
                }
                "reserved" => {
                    let limit = if value == "none" {
                        Some(None)
                    } else {
                        parse_count("reserved", value, CONCURRENCY_MAX, &mut problems).map(Some)
                    };
                    if let Some(limit) = limit {
                        changes.push(Change::ReservedConcurrency {
                            function: name.to_owned(),
                            limit,
                        });
                    }
                }
                // With provisioned=, memory= is the provisioned environments' memory.
                "memory" if provisioned.is_some() => {}
                "memory" => {
                    let memory_mb = if value == "none" {
                        Some(None)
                    } else {
                        parse_memory(value, &mut problems).map(Some)
                    };
                    if let Some(memory_mb) = memory_mb {
                        changes.push(Change::FunctionMemory {
                            function: name.to_owned(),
                            memory_mb,
                        });
                    }
                }
                _ => problems.push(format!(
                    "unknown key '{key}' (expected provisioned=, memory=, reserved=)"
                )),
            }
        }
        if pairs.is_empty() {
            problems.push(format!(
                "no change for function '{name}': expected provisioned=N memory=MB, reserved=N|none \
                 or memory=MB|none"
            ));
        }
    }
    match time_s {
        Some(t) if problems.is_empty() => Ok((t, changes)),
        _ => Err(problems),
    }
}

/// A whole number in `[0, max]`, or a problem naming the key.
fn parse_count(key: &str, value: &str, max: u32, problems: &mut Vec<String>) -> Option<u32> {
    if value.starts_with('-') {
        problems.push(format!("{key}={value}: must not be negative"));
        return None;
    }
    match value.parse::<u64>() {
        Ok(n) if n <= u64::from(max) => Some(n as u32),
        Ok(_) => {
            problems.push(format!("{key}={value}: must be at most {max}"));
            None
        }
        Err(_) => {
            problems.push(format!("{key}={value}: expected a whole number"));
            None
        }
    }
}

/// Memory in MB, in `[1, MEMORY_MB_MAX]`.
fn parse_memory(value: &str, problems: &mut Vec<String>) -> Option<u32> {
    let n = parse_count("memory", value, MEMORY_MB_MAX, problems)?;
    if n == 0 {
        problems.push("memory=0: must be at least 1 MB".into());
        return None;
    }
    Some(n)
}

/// `MEMORY/FANOUT/WORKERS`, or `[StepConfig]`'s display form `MEMORYMB/pFANOUT/qWORKERS`.
fn parse_config(value: &str) -> Result<StepConfig, String> {
    let parts: Vec<&str> = value.split('/').collect();
    let bad = || {
        format!(
            "config={value}: expected MEMORY/FANOUT/WORKERS (e.g. 2048/4/2 or 2048MB/p4/q2), \
             whole numbers >= 1, memory at most {MEMORY_MB_MAX} MB, fan-out at most {}",
            workflow::limits::MAX_FAN_OUT
        )
    };
    let [m, p, q] = parts[..] else {
        return Err(bad());
    };
    let m = m.strip_suffix("MB").unwrap_or(m);
    let p = p.strip_prefix('p').unwrap_or(p);
    let q = q.strip_prefix('q').unwrap_or(q);
    let num = |s: &str| s.parse::<u32>().ok().filter(|&n| n >= 1);
    match (num(m), num(p), num(q)) {
        (Some(memory_mb), Some(fan_out), Some(workers))
            if memory_mb <= MEMORY_MB_MAX && fan_out <= workflow::limits::MAX_FAN_OUT =>
        {
            Ok(StepConfig::new(memory_mb, fan_out, workers))
        }
        _ => Err(bad()),
    }
}

impl Controller for ScheduledActions {
    fn name(&self) -> &str {
        "schedule"
    }

    fn control(&mut self, _window: &MonitorWindow, state: &ControlState<'_>) -> Vec<Change> {
        let mut out = Vec::new();
        while let Some((t, change)) = self.actions.get(self.next_idx) {
            // Invariant: the times are nondecreasing (checked when parsed), so the first action not due
            // ends the due ones.
            if *t > state.now_s + 1e-9 {
                break;
            }
            out.push(change.clone());
            self.next_idx += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workflow::{StepSpec, WorkflowSpec};

    fn wf() -> Workflow {
        let task = |name: &str, function: &str| StepSpec {
            name: name.into(),
            function: Some(function.into()),
            jobs: Some(1),
            work_s: Some(1.0),
            ..Default::default()
        };
        Workflow::from_spec(
            &WorkflowSpec {
                name: "w".into(),
                steps: vec![
                    task("resize", "resizer"),
                    StepSpec {
                        after: vec!["resize".into()],
                        ..task("thumbs", "thumbnailer")
                    },
                ],
                ..Default::default()
            },
            "test",
        )
        .unwrap()
    }

    fn at(s: &mut ScheduledActions, now_s: f64) -> Vec<Change> {
        let state = ControlState {
            now_s,
            interval_s: 60.0,
            account_limit: 1000,
            functions: &[],
        };
        s.control(&MonitorWindow::default(), &state)
    }

    const GOOD: &str = "\u{feff}# a schedule
0 resizer provisioned=10 memory=1024   # before the first request

60 resizer reserved=50 memory=2048
60\tthumbnailer\treserved=none
90 step=resize config=2048/4/2
120 step=thumbs config=512MB/p1/q1
120 thumbnailer memory=none
300 step=resize config=none
";

    #[test]
    fn actions_fire_at_their_times_in_file_order() {
        let mut s = ScheduledActions::from_str(GOOD, "good.txt", &wf()).unwrap();
        assert_eq!(s.actions().len(), 8);
        assert_eq!(
            at(&mut s, 0.0),
            vec![Change::ProvisionedConcurrency {
                function: "resizer".into(),
                memory_mb: 1024,
                level: 10
            }]
        );
        assert!(at(&mut s, 59.0).is_empty());
        assert_eq!(
            at(&mut s, 60.0),
            vec![
                Change::ReservedConcurrency {
                    function: "resizer".into(),
                    limit: Some(50)
                },
                Change::FunctionMemory {
                    function: "resizer".into(),
                    memory_mb: Some(2048)
                },
                Change::ReservedConcurrency {
                    function: "thumbnailer".into(),
                    limit: None
                },
            ]
        );
        // A call after several times returns all of them, in file order, once.
        assert_eq!(
            at(&mut s, 150.0),
            vec![
                Change::StepConfig {
                    step: "resize".into(),
                    config: Some(StepConfig::new(2048, 4, 2))
                },
                Change::StepConfig {
                    step: "thumbs".into(),
                    config: Some(StepConfig::new(512, 1, 1))
                },
                Change::FunctionMemory {
                    function: "thumbnailer".into(),
                    memory_mb: None
                },
            ]
        );
        assert!(at(&mut s, 299.0).is_empty());
        assert_eq!(
            at(&mut s, 300.0),
            vec![Change::StepConfig {
                step: "resize".into(),
                config: None
            }]
        );
        assert!(at(&mut s, 1e6).is_empty());
    }

    /// The error for one bad line placed at line 3 of a good file.
    fn error_for(bad: &str) -> (Option<usize>, String) {
        let text = format!("0 resizer reserved=5\n# comment\n{bad}\n400 resizer reserved=6\n");
        match ScheduledActions::from_str(&text, "sched.txt", &wf()) {
            Err(Error::Parse {
                source_name,
                line,
                message,
            }) => {
                assert_eq!(source_name, "sched.txt");
                (line, message)
            }
            other => panic!("{bad}: expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn each_parse_error_names_its_line() {
        for (bad, expected) in [
            (
                "10 nosuch provisioned=1 memory=128",
                "unknown function 'nosuch'",
            ),
            ("10 step=nosuch config=128/1/1", "unknown step 'nosuch'"),
            ("10 resizer", "no change for function 'resizer'"),
            ("10", "expected a function name"),
            ("ten resizer reserved=1", "time 'ten'"),
            ("-5 resizer reserved=1", "time '-5' is negative"),
            (
                "10 resizer reserved=-1",
                "reserved=-1: must not be negative",
            ),
            (
                "10 resizer reserved=many",
                "reserved=many: expected a whole number",
            ),
            ("10 resizer provisioned=3", "provisioned= needs memory=MB"),
            ("10 resizer provisioned=3 memory=0", "memory=0"),
            ("10 resizer colour=blue", "unknown key 'colour'"),
            ("10 resizer reserved", "'reserved': expected KEY=VALUE"),
            (
                "10 resizer reserved=1 reserved=2",
                "key 'reserved' given twice",
            ),
            ("10 step=resize config=1024/0/1", "config=1024/0/1"),
            ("10 step=resize config=1024/2", "config=1024/2"),
            (
                "10 step=resize memory=1024",
                "unknown key 'memory' on a step line",
            ),
            ("500 resizer reserved=1", "times must not decrease"),
        ] {
            let (line, message) = error_for(bad);
            // The decreasing time is found on the line after the bad one.
            let expected_line = if bad.starts_with("500") { 4 } else { 3 };
            assert_eq!(line, Some(expected_line), "{bad}: {message}");
            assert!(message.contains(expected), "{bad}: {message}");
        }
    }

    #[test]
    fn every_problem_is_listed() {
        let text = "10 nosuch reserved=1\n20 resizer colour=blue\n";
        let err = ScheduledActions::from_str(text, "s.txt", &wf()).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.starts_with("s.txt:1: unknown function 'nosuch'"),
            "{shown}"
        );
        assert!(shown.contains("2 problems in all"), "{shown}");
        assert!(shown.contains("s.txt:2: unknown key 'colour'"), "{shown}");
    }

    #[test]
    fn empty_schedule_changes_nothing() {
        let mut s = ScheduledActions::from_str("# nothing\n\n", "e.txt", &wf()).unwrap();
        assert!(s.actions().is_empty());
        assert!(at(&mut s, 1e9).is_empty());
        assert!(at(&mut ScheduledActions::default(), 0.0).is_empty());
    }

    #[test]
    fn reads_files_and_names_missing_ones() {
        let dir = std::env::temp_dir().join(format!("faastune-schedule-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.txt");
        std::fs::write(&path, GOOD).unwrap();
        assert_eq!(
            ScheduledActions::from_file(&path, &wf())
                .unwrap()
                .actions()
                .len(),
            8
        );
        let missing = dir.join("missing.txt");
        let err = ScheduledActions::from_file(&missing, &wf()).unwrap_err();
        assert!(err.to_string().contains("missing.txt"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
