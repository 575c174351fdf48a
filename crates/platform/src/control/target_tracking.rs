//! AWS Application Auto Scaling target tracking on Lambda's `ProvisionedConcurrencyUtilization`: one
//! scalable target (the function's alias) per function, the provisioned concurrency at the memory its
//! invocations use.
//!
//! The rules, and where they come from:
//! - **Metric and datapoints.** CloudWatch `ProvisionedConcurrencyUtilization` with the Average statistic
//!   over one-minute periods ("Both of these alarms use the *average* statistic by default", AWS Lambda
//!   Developer Guide, *Managing provisioned concurrency with Application Auto Scaling*,
//!   `awsdocs/aws-lambda-developer-guide`, `doc_source/provisioned-concurrency.md`). The controller
//!   aggregates the control windows into one-minute datapoints: utilisation = sum of
//!   `in_use_mean * overlap` / sum of `level_mean * overlap` over the windows overlapping minute
//!   `[60k, 60(k+1))`. A control interval that does not divide 60 s is allowed: a window that straddles a
//!   minute boundary contributes to each minute in proportion to its overlap (its averages are taken as
//!   uniform within it). A minute's datapoint is evaluated at the first control call whose window ends at
//!   or after the minute's end.
//! - **Alarms.** Application Auto Scaling creates two CloudWatch alarms. The high alarm fires when the
//!   utilisation "consistently exceeds" the target: 3 consecutive datapoints above the target. The low
//!   alarm fires when utilisation is "consistently less than 63 percent (90 percent of the 70 percent
//!   target)" (same page): 15 consecutive datapoints below 0.9 x target. The datapoint counts (3 of one
//!   minute, 15 of one minute) are those of the alarms Application Auto Scaling creates for Lambda, as
//!   shown in the CloudWatch console and described by G. Mao, *Lambda Provisioned Concurrency AutoScaling
//!   is Awesome* (2020); AWS's page itself says a burst shorter than 3 minutes does not trigger scaling.
//!   An alarm with Application Auto Scaling actions invokes its policy every period it stays in ALARM, so
//!   the policy is evaluated at every datapoint while the last 3 (15) datapoints breach.
//! - **Adjustment.** Proportional, as target tracking computes it: desired = ceil(current * utilisation /
//!   target), where `current * utilisation` is the datapoint's mean number of busy provisioned
//!   environments (the capacity the metric was measured on times the metric), so desired =
//!   ceil(busy / target) (with a 1e-9 tolerance, so float rounding of an exact multiple adds nothing). A
//!   scale-out only ever raises the requested level (pending environments count as added, AWS's rule that
//!   capacity added by a scale-out counts towards the next one); a scale-in only ever lowers it, never
//!   below what keeps utilisation at or under the target ("the policy won't scale in if removing capacity
//!   would push the metric above the target", Application Auto Scaling User Guide, *How target tracking
//!   scaling works*). AWS writes that Lambda "decreases provisioned concurrency in smaller periodic steps"
//!   without publishing the step; here the steps come from the low alarm: one proportional scale-in per
//!   low datapoint while the alarm stays in ALARM, subject to the scale-in cooldown.
//! - **Bounds.** The scalable target's `MinCapacity`/`MaxCapacity` (defaults 1 and 1000, the default
//!   account concurrency limit; AWS's own example registers 1..100), further capped by the function's
//!   reserved concurrency and the account limit (Lambda refuses more provisioned concurrency than
//!   reserved). Registering a scalable target brings its capacity within the bounds at once: the first
//!   time a function is invoked (or found already provisioned), its level is set to `initial_level`
//!   (default: the level it has) clamped to the bounds. Minimum 1 matters: a minute without provisioned
//!   concurrency has no utilisation datapoint (CloudWatch's missing data, alarm in INSUFFICIENT_DATA, no
//!   action), so a function at 0 would never scale out.
//! - **Cooldowns.** Application Auto Scaling's defaults for Lambda provisioned concurrency are 0 s for
//!   both (API reference, `TargetTrackingScalingPolicyConfiguration.ScaleInCooldown`/`ScaleOutCooldown`).
//!   During the scale-in cooldown no scale-in happens; a scale-out during it happens at once and ends it.
//!   During the scale-out cooldown a scale-out happens only if it asks for more than the last scale-out.
//! - **Missing data.** A minute in which nothing was provisioned at the function's memory is a missing
//!   datapoint: no action, and both runs of consecutive datapoints restart (a simplification of
//!   CloudWatch's treatment of missing data).
//! - **Memory.** The alias's memory is the memory with most invocations in the minute (ties: the smaller);
//!   with no invocation, the one already tracked, else the one already provisioned. When it changes, the
//!   provisioned concurrency moves with the alias (Lambda deallocates it from the old version and
//!   allocates it to the new one): the old memory is set to 0 and the new one to the old level.
//!
//! Deterministic: state in `BTreeMap`s, no clock; every float compared with stated tolerances.

use std::collections::BTreeMap;

use super::{Change, ControlState, Controller, FunctionSettings};
use crate::Error;
use crate::monitor::{FunctionWindow, MonitorWindow};

/// Length of a CloudWatch datapoint, seconds.
const MINUTE_S: f64 = 60.0;
/// Tolerance on window ends and overlaps, seconds (window ends are sums of float intervals).
const TIME_EPS_S: f64 = 1e-6;
/// A window spanning more minutes than this contributes only to its last this-many minutes.
const MAX_MINUTES_PER_WINDOW: u64 = 10_000;

/// Target tracking settings: the scaling policy (`TargetTrackingScalingPolicyConfiguration`) and the
/// scalable target (`RegisterScalableTarget`). [`Default`] gives AWS's defaults for Lambda.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetTrackingSettings {
    /// Target `ProvisionedConcurrencyUtilization`, in (0, 1] (default 0.7, AWS's example).
    pub target: f64,
    /// `MinCapacity` of the scalable target (default 1).
    pub min_capacity: u32,
    /// `MaxCapacity` of the scalable target (default 1000).
    pub max_capacity: u32,
    /// Consecutive one-minute datapoints above the target that put the high alarm in ALARM (default 3).
    pub scale_out_datapoints: u32,
    /// Consecutive one-minute datapoints below the low threshold that put the low alarm in ALARM
    /// (default 15).
    pub scale_in_datapoints: u32,
    /// Low-alarm threshold as a fraction of the target, in (0, 1] (default 0.9: 63% for a 70% target).
    pub scale_in_threshold_fraction: f64,
    /// `ScaleOutCooldown`, seconds (default 0 for Lambda).
    pub scale_out_cooldown_s: f64,
    /// `ScaleInCooldown`, seconds (default 0 for Lambda).
    pub scale_in_cooldown_s: f64,
    /// `DisableScaleIn` (default false).
    pub disable_scale_in: bool,
    /// Level set when a function is registered (`None`: the level it has), clamped to the bounds.
    pub initial_level: Option<u32>,
}

impl Default for TargetTrackingSettings {
    fn default() -> Self {
        TargetTrackingSettings {
            target: 0.7,
            min_capacity: 1,
            max_capacity: 1000,
            scale_out_datapoints: 3,
            scale_in_datapoints: 15,
            scale_in_threshold_fraction: 0.9,
            scale_out_cooldown_s: 0.0,
            scale_in_cooldown_s: 0.0,
            disable_scale_in: false,
            initial_level: None,
        }
    }
}

impl TargetTrackingSettings {
    /// Every out-of-range setting, one line each naming the field.
    fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !in_unit_interval(self.target) {
            p.push(format!("target = {}: must be in (0, 1]", self.target));
        }
        if self.min_capacity > self.max_capacity {
            p.push(format!(
                "min_capacity = {} > max_capacity = {}",
                self.min_capacity, self.max_capacity
            ));
        }
        if self.scale_out_datapoints == 0 {
            p.push("scale_out_datapoints = 0: must be at least 1".into());
        }
        if self.scale_in_datapoints == 0 {
            p.push("scale_in_datapoints = 0: must be at least 1".into());
        }
        if !in_unit_interval(self.scale_in_threshold_fraction) {
            p.push(format!(
                "scale_in_threshold_fraction = {}: must be in (0, 1]",
                self.scale_in_threshold_fraction
            ));
        }
        for (name, v) in [
            ("scale_out_cooldown_s", self.scale_out_cooldown_s),
            ("scale_in_cooldown_s", self.scale_in_cooldown_s),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                p.push(format!("{name} = {v}: must be a finite number >= 0"));
            }
        }
        p
    }
}

/// Sums of one function's windows at one memory over one minute.
#[derive(Debug, Clone, Copy, Default)]
struct MinuteSums {
    /// Sum of `in_use_mean * overlap_s`.
    busy_s: f64,
    /// Sum of `level_mean * overlap_s`.
    level_s: f64,
    /// Invocations (a window's counted whole in the minute in which it ends, or in the last minute the
    /// window overlaps).
    invocations: u64,
}

/// The open minute: its index, the seconds of windows it has, and per function and memory the sums.
#[derive(Debug, Clone, Default)]
struct OpenMinute {
    idx: u64,
    covered_s: f64,
    sums: BTreeMap<String, BTreeMap<u32, MinuteSums>>,
}

/// One scalable target (one function).
#[derive(Debug, Clone, Default)]
struct Target {
    /// The alias's memory.
    memory_mb: Option<u32>,
    /// Consecutive datapoints above the target.
    high_run: u32,
    /// Consecutive datapoints below the low threshold.
    low_run: u32,
    /// Time and level of the last scale-out.
    last_scale_out: Option<(f64, u32)>,
    /// Time of the last scale-in, while its cooldown may still run (a scale-out clears it).
    last_scale_in_s: Option<f64>,
}

/// AWS Application Auto Scaling target tracking of provisioned concurrency, one scalable target per
/// function (see the module docs for the rules and their sources). Emits
/// [`Change::ProvisionedConcurrency`] only.
#[derive(Debug, Clone)]
pub struct TargetTracking {
    settings: TargetTrackingSettings,
    targets: BTreeMap<String, Target>,
    open: Option<OpenMinute>,
    /// Index of the last minute evaluated.
    last_minute: Option<u64>,
}

impl TargetTracking {
    /// A controller with these settings; `Error::InvalidOption` lists every setting out of range.
    pub fn new(settings: TargetTrackingSettings) -> Result<Self, Error> {
        let problems = settings.problems();
        if !problems.is_empty() {
            return Err(Error::InvalidOption {
                field: "target tracking".into(),
                reason: problems.join("; "),
            });
        }
        Ok(TargetTracking {
            settings,
            targets: BTreeMap::new(),
            open: None,
            last_minute: None,
        })
    }

    /// The settings.
    pub fn settings(&self) -> &TargetTrackingSettings {
        &self.settings
    }

    /// Registers the functions seen for the first time, then adds the window to its minutes and evaluates
    /// every minute it completes.
    fn step(&mut self, window: &MonitorWindow, state: &ControlState<'_>) -> Vec<Change> {
        let mut levels = Levels::new(state);
        let mut out = Vec::new();
        for fw in &window.functions {
            if self.targets.contains_key(&fw.function) {
                continue;
            }
            let settings = levels.settings(&fw.function);
            let Some(memory_mb) = window_memory(fw, None, settings) else {
                continue;
            };
            let current = levels.get(&fw.function, memory_mb);
            let cap = capacity_cap(self.settings.max_capacity, settings, state.account_limit);
            let level = self
                .settings
                .initial_level
                .unwrap_or(current)
                .max(self.settings.min_capacity)
                .min(cap);
            if level != current {
                levels.set(&mut out, &fw.function, memory_mb, level);
            }
            self.targets.insert(
                fw.function.clone(),
                Target {
                    memory_mb: Some(memory_mb),
                    ..Target::default()
                },
            );
        }

        let (start_s, end_s) = (window.start_s, window.end_s);
        if !(start_s.is_finite() && end_s.is_finite() && end_s > start_s) {
            return out;
        }
        let first = minute_of_start(start_s);
        let last = minute_of_end(end_s).max(first);
        // A minute left open whose windows stopped coming is evaluated with what it has.
        if let Some(open) = self.open.take_if(|o| o.idx < first) {
            self.evaluate(open, &mut levels, state, &mut out);
        }
        for idx in first.max(last.saturating_sub(MAX_MINUTES_PER_WINDOW - 1))..=last {
            let (lo, hi) = (idx as f64 * MINUTE_S, (idx + 1) as f64 * MINUTE_S);
            let overlap_s = end_s.min(hi) - start_s.max(lo);
            let mut open = match self.open.take() {
                Some(o) if o.idx == idx => o,
                Some(o) => {
                    self.evaluate(o, &mut levels, state, &mut out);
                    OpenMinute {
                        idx,
                        ..OpenMinute::default()
                    }
                }
                None => OpenMinute {
                    idx,
                    ..OpenMinute::default()
                },
            };
            if overlap_s > TIME_EPS_S {
                open.covered_s += overlap_s;
                for fw in &window.functions {
                    let by_memory = open.sums.entry(fw.function.clone()).or_default();
                    for p in &fw.provisioned {
                        let s = by_memory.entry(p.memory_mb).or_default();
                        s.busy_s += finite_or_zero(p.in_use_mean) * overlap_s;
                        s.level_s += finite_or_zero(p.level_mean) * overlap_s;
                        if idx == last {
                            s.invocations += p.invocations;
                        }
                    }
                }
            }
            if end_s >= hi - TIME_EPS_S {
                self.evaluate(open, &mut levels, state, &mut out);
            } else {
                self.open = Some(open);
            }
        }
        out
    }

    /// Evaluates one minute's datapoint for every registered function, at the minute's end.
    fn evaluate(
        &mut self,
        minute: OpenMinute,
        levels: &mut Levels<'_>,
        state: &ControlState<'_>,
        out: &mut Vec<Change>,
    ) {
        let now_s = (minute.idx + 1) as f64 * MINUTE_S;
        let gap = self
            .last_minute
            .is_some_and(|l| minute.idx > l.saturating_add(1));
        self.last_minute = Some(minute.idx);
        let st = &self.settings;
        for (function, target) in &mut self.targets {
            if gap {
                // Minutes without any window: missing datapoints.
                target.high_run = 0;
                target.low_run = 0;
            }
            let empty = BTreeMap::new();
            let sums = minute.sums.get(function).unwrap_or(&empty);
            let settings = levels.settings(function);
            let Some(old_memory) = target.memory_mb else {
                continue;
            };
            let memory_mb =
                most_invoked(sums.iter().map(|(&m, s)| (m, s.invocations))).unwrap_or(old_memory);
            let cap = capacity_cap(st.max_capacity, settings, state.account_limit);
            if memory_mb != old_memory {
                let level = levels
                    .get(function, old_memory)
                    .max(st.min_capacity)
                    .min(cap);
                levels.set(out, function, old_memory, 0);
                levels.set(out, function, memory_mb, level);
                target.memory_mb = Some(memory_mb);
                target.high_run = 0;
                target.low_run = 0;
                continue;
            }
            let s = sums.get(&memory_mb).copied().unwrap_or_default();
            if s.level_s <= TIME_EPS_S || minute.covered_s <= TIME_EPS_S {
                // Missing datapoint: no provisioned concurrency in the minute.
                target.high_run = 0;
                target.low_run = 0;
                continue;
            }
            let utilization = s.busy_s / s.level_s;
            let busy = s.busy_s / minute.covered_s;
            if utilization > st.target {
                target.high_run = target.high_run.saturating_add(1);
            } else {
                target.high_run = 0;
            }
            if utilization < st.scale_in_threshold_fraction * st.target {
                target.low_run = target.low_run.saturating_add(1);
            } else {
                target.low_run = 0;
            }
            let current = levels.get(function, memory_mb);
            let desired =
                ceil_tol(busy / st.target).clamp(st.min_capacity, cap.max(st.min_capacity));
            let desired = desired.min(cap);
            if target.high_run >= st.scale_out_datapoints {
                let in_cooldown = target
                    .last_scale_out
                    .filter(|&(t, _)| now_s - t < st.scale_out_cooldown_s);
                let allowed = in_cooldown.is_none_or(|(_, l)| desired > l);
                if desired > current && allowed {
                    levels.set(out, function, memory_mb, desired);
                    target.last_scale_out = Some((now_s, desired));
                    target.last_scale_in_s = None;
                }
            } else if target.low_run >= st.scale_in_datapoints && !st.disable_scale_in {
                let in_cooldown = target
                    .last_scale_in_s
                    .is_some_and(|t| now_s - t < st.scale_in_cooldown_s);
                if desired < current && !in_cooldown {
                    levels.set(out, function, memory_mb, desired);
                    target.last_scale_in_s = Some(now_s);
                }
            }
        }
    }
}

impl Controller for TargetTracking {
    fn name(&self) -> &str {
        "target-tracking"
    }

    fn control(&mut self, window: &MonitorWindow, state: &ControlState<'_>) -> Vec<Change> {
        self.step(window, state)
    }
}

/// The requested provisioned levels as they stand, with the changes of this call applied.
#[derive(Debug)]
pub(super) struct Levels<'a> {
    state: &'a ControlState<'a>,
    changed: BTreeMap<(String, u32), u32>,
}

impl<'a> Levels<'a> {
    pub(super) fn new(state: &'a ControlState<'a>) -> Self {
        Levels {
            state,
            changed: BTreeMap::new(),
        }
    }

    /// The function's settings, if the state lists it.
    pub(super) fn settings(&self, function: &str) -> Option<&'a FunctionSettings> {
        self.state.functions.iter().find(|f| f.function == function)
    }

    /// The requested level of `function` at `memory_mb`.
    pub(super) fn get(&self, function: &str, memory_mb: u32) -> u32 {
        match self.changed.get(&(function.to_owned(), memory_mb)) {
            Some(&l) => l,
            None => self
                .settings(function)
                .map_or(0, |s| s.provisioned_at(memory_mb)),
        }
    }

    /// Sets the level and records the change (nothing when it is already the level).
    pub(super) fn set(
        &mut self,
        out: &mut Vec<Change>,
        function: &str,
        memory_mb: u32,
        level: u32,
    ) {
        if self.get(function, memory_mb) == level {
            return;
        }
        self.changed.insert((function.to_owned(), memory_mb), level);
        out.push(Change::ProvisionedConcurrency {
            function: function.to_owned(),
            memory_mb,
            level,
        });
    }
}

/// The memory with most invocations (ties: the smaller), if any had one.
pub(super) fn most_invoked(counts: impl Iterator<Item = (u32, u64)>) -> Option<u32> {
    let mut best: Option<(u32, u64)> = None;
    for (m, n) in counts {
        if n == 0 {
            continue;
        }
        match best {
            Some((bm, bn)) if bn > n || (bn == n && bm < m) => {}
            _ => best = Some((m, n)),
        }
    }
    best.map(|(m, _)| m)
}

/// The memory a function's provisioned concurrency belongs at: the one with most invocations in the
/// window (ties: the smaller), else `current`, else the memory already provisioned with the highest level
/// (ties: the smaller); `None` for a function neither invoked nor provisioned.
pub(super) fn window_memory(
    fw: &FunctionWindow,
    current: Option<u32>,
    settings: Option<&FunctionSettings>,
) -> Option<u32> {
    most_invoked(fw.provisioned.iter().map(|p| (p.memory_mb, p.invocations)))
        .or(current)
        .or_else(|| {
            let mut best: Option<(u32, u32)> = None;
            for &(m, l) in settings.map_or(&[][..], |s| &s.provisioned[..]) {
                if l > 0 && best.is_none_or(|(bm, bl)| l > bl || (l == bl && m < bm)) {
                    best = Some((m, l));
                }
            }
            best.map(|(m, _)| m)
        })
}

/// Most provisioned environments a function may request: `max`, the function's reserved concurrency
/// and the account limit.
pub(super) fn capacity_cap(
    max: u32,
    settings: Option<&FunctionSettings>,
    account_limit: u32,
) -> u32 {
    let reserved = settings.and_then(|s| s.reserved).unwrap_or(u32::MAX);
    max.min(reserved).min(account_limit)
}

/// `ceil(x)` with a 1e-9 tolerance (an exact multiple off by float rounding does not add one), as a
/// count; 0 for non-positive or non-finite `x`, saturating at `u32::MAX`.
pub(super) fn ceil_tol(x: f64) -> u32 {
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    let c = (x - 1e-9 * x.max(1.0)).ceil();
    if c >= u32::MAX as f64 {
        u32::MAX
    } else {
        c.max(0.0) as u32
    }
}

/// Whether `x` is in (0, 1].
pub(super) fn in_unit_interval(x: f64) -> bool {
    x > 0.0 && x <= 1.0
}

fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// The minute containing `t_s` (a window starting at 60 belongs first to minute 1).
fn minute_of_start(t_s: f64) -> u64 {
    let m = ((t_s + TIME_EPS_S) / MINUTE_S).floor();
    if m <= 0.0 {
        0
    } else {
        m.min(u64::MAX as f64 / 2.0) as u64
    }
}

/// The minute in which a window ending at `t_s` ends (a window ending at 60 ends in minute 0).
fn minute_of_end(t_s: f64) -> u64 {
    let m = ((t_s - TIME_EPS_S) / MINUTE_S).floor();
    if m <= 0.0 {
        0
    } else {
        m.min(u64::MAX as f64 / 2.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::ProvisionedWindow;

    const MEM: u32 = 1024;

    /// A window `[start, end)` with one function `f` provisioned at `level` environments of which
    /// `busy` are busy on average, and `invocations` invocations.
    fn window(start_s: f64, end_s: f64, level: f64, busy: f64, invocations: u64) -> MonitorWindow {
        MonitorWindow {
            start_s,
            end_s,
            functions: vec![FunctionWindow {
                function: "f".into(),
                invocations,
                concurrent_executions_mean: busy,
                provisioned: vec![ProvisionedWindow {
                    memory_mb: MEM,
                    invocations,
                    level: level as u32,
                    level_requested: level as u32,
                    level_mean: level,
                    in_use_mean: busy,
                    utilization: (level > 0.0).then(|| busy / level),
                    ..ProvisionedWindow::default()
                }],
                ..FunctionWindow::default()
            }],
            ..MonitorWindow::default()
        }
    }

    fn settings(level: u32) -> Vec<FunctionSettings> {
        vec![FunctionSettings {
            function: "f".into(),
            provisioned: vec![(MEM, level)],
            ..FunctionSettings::default()
        }]
    }

    /// Feeds one 60 s window per minute at the requested `level` (applying the controller's changes to
    /// it) with the given busy environments; returns (minute index, new level) of every change.
    fn run_minutes(tt: &mut TargetTracking, level: &mut u32, busy: &[f64]) -> Vec<(usize, u32)> {
        let mut changes = Vec::new();
        let start = tt.last_minute.map_or(0, |m| m + 1) as usize;
        for (i, &b) in busy.iter().enumerate() {
            let idx = start + i;
            let w = window(
                idx as f64 * 60.0,
                (idx + 1) as f64 * 60.0,
                *level as f64,
                b,
                10,
            );
            let fs = settings(*level);
            let state = ControlState {
                now_s: w.end_s,
                interval_s: 60.0,
                account_limit: 1000,
                functions: &fs,
            };
            for c in tt.control(&w, &state) {
                if let Change::ProvisionedConcurrency { level: l, .. } = c {
                    *level = l;
                    changes.push((idx, l));
                }
            }
        }
        changes
    }

    #[test]
    fn scales_out_after_exactly_three_minutes_above_target() {
        let mut tt = TargetTracking::new(TargetTrackingSettings::default()).unwrap();
        let mut level = 10;
        // 9 of 10 busy: utilisation 0.9 > 0.7; two minutes are not enough.
        assert!(run_minutes(&mut tt, &mut level, &[9.0, 9.0]).is_empty());
        // The third: ceil(9 / 0.7) = ceil(12.86) = 13.
        assert_eq!(run_minutes(&mut tt, &mut level, &[9.0]), vec![(2, 13)]);
    }

    #[test]
    fn a_minute_at_the_target_breaks_the_run() {
        let mut tt = TargetTracking::new(TargetTrackingSettings::default()).unwrap();
        let mut level = 10;
        // 7 of 10 is not above 0.7: the run restarts.
        assert!(run_minutes(&mut tt, &mut level, &[9.0, 9.0, 7.0, 9.0, 9.0]).is_empty());
        assert_eq!(run_minutes(&mut tt, &mut level, &[9.0]), vec![(5, 13)]);
    }

    #[test]
    fn two_second_windows_aggregate_into_minutes() {
        let mut tt = TargetTracking::new(TargetTrackingSettings::default()).unwrap();
        let fs = settings(10);
        let mut changes = Vec::new();
        // 30 windows of 2 s a minute, alternating 8 and 10 busy of 10: minute utilisation 0.9.
        for i in 0..90 {
            let busy = if i % 2 == 0 { 8.0 } else { 10.0 };
            let w = window(i as f64 * 2.0, (i + 1) as f64 * 2.0, 10.0, busy, 1);
            let state = ControlState {
                now_s: w.end_s,
                interval_s: 2.0,
                account_limit: 1000,
                functions: &fs,
            };
            for c in tt.control(&w, &state) {
                changes.push((w.end_s, c));
            }
        }
        let expected = Change::ProvisionedConcurrency {
            function: "f".into(),
            memory_mb: MEM,
            level: 13,
        };
        assert_eq!(changes, vec![(180.0, expected)]);
    }

    #[test]
    fn an_interval_that_does_not_divide_a_minute_splits_windows() {
        let mut tt = TargetTracking::new(TargetTrackingSettings::default()).unwrap();
        let fs = settings(10);
        let mut at = Vec::new();
        // 25 s windows: [50, 75) gives 10 s to minute 0 and 15 s to minute 1. Busy 9 of 10 throughout.
        for i in 0..8 {
            let w = window(i as f64 * 25.0, (i + 1) as f64 * 25.0, 10.0, 9.0, 1);
            let state = ControlState {
                now_s: w.end_s,
                interval_s: 25.0,
                account_limit: 1000,
                functions: &fs,
            };
            if !tt.control(&w, &state).is_empty() {
                at.push(w.end_s);
            }
        }
        // Minute 2 ends at 180, first seen complete by the window ending at 200.
        assert_eq!(at, vec![200.0]);
    }

    #[test]
    fn scales_in_only_after_fifteen_minutes_below_ninety_percent_of_target() {
        let mut tt = TargetTracking::new(TargetTrackingSettings::default()).unwrap();
        let mut level = 13;
        // 3 of 13 busy: 0.23 < 0.63. Fourteen minutes are not enough.
        assert!(run_minutes(&mut tt, &mut level, &[3.0; 14]).is_empty());
        // The fifteenth: ceil(3 / 0.7) = ceil(4.29) = 5.
        assert_eq!(run_minutes(&mut tt, &mut level, &[3.0]), vec![(14, 5)]);
    }

    #[test]
    fn utilisation_between_the_low_threshold_and_the_target_never_scales() {
        let mut tt = TargetTracking::new(TargetTrackingSettings::default()).unwrap();
        let mut level = 20;
        // 13 of 20 = 0.65: below the target, above 0.9 x 0.7 = 0.63.
        assert!(run_minutes(&mut tt, &mut level, &[13.0; 40]).is_empty());
        // 12 of 20 = 0.6 < 0.63: fifteen minutes, then ceil(12 / 0.7) = 18.
        assert_eq!(
            run_minutes(&mut tt, &mut level, &[12.0; 15]),
            vec![(54, 18)]
        );
    }

    #[test]
    fn scale_in_cooldown_blocks_scale_in_but_not_scale_out() {
        let mut tt = TargetTracking::new(TargetTrackingSettings {
            scale_in_cooldown_s: 300.0,
            ..TargetTrackingSettings::default()
        })
        .unwrap();
        let mut level = 20;
        // Busy 2: scale in at minute 14 (ends at 900 s) to ceil(2 / 0.7) = 3.
        assert_eq!(run_minutes(&mut tt, &mut level, &[2.0; 15]), vec![(14, 3)]);
        // Busy 0.5 of 3 stays in the low alarm: the next scale-in (to 1) waits for 900 + 300 = 1200 s,
        // the end of minute 19.
        assert_eq!(run_minutes(&mut tt, &mut level, &[0.5; 6]), vec![(19, 1)]);

        // Without the cooldown it happens at the next minute.
        let mut tt = TargetTracking::new(TargetTrackingSettings::default()).unwrap();
        let mut level = 20;
        assert_eq!(run_minutes(&mut tt, &mut level, &[2.0; 15]), vec![(14, 3)]);
        assert_eq!(run_minutes(&mut tt, &mut level, &[0.5]), vec![(15, 1)]);

        // A scale-out during the scale-in cooldown happens at once.
        let mut tt = TargetTracking::new(TargetTrackingSettings {
            scale_in_cooldown_s: 3600.0,
            ..TargetTrackingSettings::default()
        })
        .unwrap();
        let mut level = 20;
        assert_eq!(run_minutes(&mut tt, &mut level, &[2.0; 15]), vec![(14, 3)]);
        // 2.7 of 3 = 0.9: ceil(2.7 / 0.7) = 4 after three minutes.
        assert_eq!(run_minutes(&mut tt, &mut level, &[2.7; 3]), vec![(17, 4)]);
    }

    #[test]
    fn scale_out_cooldown_allows_only_larger_scale_outs() {
        let mut tt = TargetTracking::new(TargetTrackingSettings {
            scale_out_cooldown_s: 600.0,
            ..TargetTrackingSettings::default()
        })
        .unwrap();
        let mut level = 10;
        assert_eq!(run_minutes(&mut tt, &mut level, &[9.0; 3]), vec![(2, 13)]);
        // A scalable target lowered by someone else (a schedule) to 5 during the cooldown: desired 13
        // is not more than the last scale-out's 13, so it waits for the cooldown (180 + 600 = 780 s).
        level = 5;
        let changes = run_minutes(&mut tt, &mut level, &[4.5; 10]);
        // ceil(4.5 / 0.7) = 7, not more than 13: blocked until minute 12 (ends at 780 s).
        assert_eq!(changes, vec![(12, 7)]);
    }

    #[test]
    fn registration_sets_min_capacity_and_bounds() {
        let mut tt = TargetTracking::new(TargetTrackingSettings::default()).unwrap();
        let w = window(0.0, 60.0, 0.0, 0.0, 5);
        let fs = settings(0);
        let state = ControlState {
            now_s: 60.0,
            interval_s: 60.0,
            account_limit: 1000,
            functions: &fs,
        };
        assert_eq!(
            tt.control(&w, &state),
            vec![Change::ProvisionedConcurrency {
                function: "f".into(),
                memory_mb: MEM,
                level: 1
            }]
        );
        // Scale-out is capped by max capacity: ceil(10 / 0.7) = 15 > 12.
        let mut tt = TargetTracking::new(TargetTrackingSettings {
            max_capacity: 12,
            ..TargetTrackingSettings::default()
        })
        .unwrap();
        let mut level = 10;
        assert_eq!(run_minutes(&mut tt, &mut level, &[10.0; 3]), vec![(2, 12)]);
        assert!(run_minutes(&mut tt, &mut level, &[12.0; 3]).is_empty());
        // And by reserved concurrency.
        let mut tt = TargetTracking::new(TargetTrackingSettings::default()).unwrap();
        let fs = vec![FunctionSettings {
            reserved: Some(11),
            ..settings(10).remove(0)
        }];
        let mut out = Vec::new();
        for i in 0..3 {
            let w = window(i as f64 * 60.0, (i + 1) as f64 * 60.0, 10.0, 10.0, 1);
            let state = ControlState {
                now_s: w.end_s,
                interval_s: 60.0,
                account_limit: 1000,
                functions: &fs,
            };
            out.extend(tt.control(&w, &state));
        }
        assert_eq!(
            out,
            vec![Change::ProvisionedConcurrency {
                function: "f".into(),
                memory_mb: MEM,
                level: 11
            }]
        );
    }

    #[test]
    fn missing_datapoints_restart_the_runs() {
        let mut tt = TargetTracking::new(TargetTrackingSettings {
            min_capacity: 0,
            ..TargetTrackingSettings::default()
        })
        .unwrap();
        let mut level = 10;
        assert!(run_minutes(&mut tt, &mut level, &[9.0; 2]).is_empty());
        // A minute with nothing provisioned.
        let mut zero = 0;
        assert!(run_minutes(&mut tt, &mut zero, &[0.0]).is_empty());
        assert!(run_minutes(&mut tt, &mut level, &[9.0; 2]).is_empty());
        assert_eq!(run_minutes(&mut tt, &mut level, &[9.0]), vec![(5, 13)]);
    }

    #[test]
    fn invalid_settings_are_errors() {
        let err = TargetTracking::new(TargetTrackingSettings {
            target: 0.0,
            min_capacity: 5,
            max_capacity: 4,
            scale_in_cooldown_s: f64::NAN,
            ..TargetTrackingSettings::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("target = 0"), "{err}");
        assert!(err.contains("min_capacity = 5 > max_capacity = 4"), "{err}");
        assert!(err.contains("scale_in_cooldown_s"), "{err}");
    }

    #[test]
    fn ceil_tolerates_float_rounding() {
        assert_eq!(ceil_tol(2.1 / 0.7), 3);
        assert_eq!(ceil_tol(3.0000001), 4);
        assert_eq!(ceil_tol(0.0), 0);
        assert_eq!(ceil_tol(f64::NAN), 0);
        assert_eq!(ceil_tol(1e30), u32::MAX);
    }
}
