//! Knative Serving's pod autoscaler (KPA) driving provisioned concurrency: each function's provisioned
//! environments are its "pods", each taking one request at a time (`containerConcurrency: 1`).
//!
//! The decider follows `knative/serving`, `pkg/autoscaler/scaling/autoscaler.go` (`autoscaler.Scale`),
//! with the defaults of `pkg/autoscaler/config/config.go` (`defaultConfig`) and the scale-to-zero rule
//! of `pkg/reconciler/autoscaling/kpa/scaler.go` (`handleScaleToZero`). At every tick (a control window,
//! 2 s by default, Knative's tick interval), per function:
//! - observed concurrency: the window's `concurrent_executions_mean` (every running instance, provisioned
//!   or on demand, as Knative counts requests in flight at every pod); the **stable** value is its average
//!   over the last `stable_window_s` (60 s), the **panic** value over the last `stable_window_s *
//!   panic_window_percentage / 100` (6 s), both weighted by each window's overlap with the span and
//!   divided by the time the history covers (Knative's `WindowAverage` divides by the buckets it has),
//!   rounded to 6 digits (Knative's `roundToNDigits(precision, ..)`);
//! - `ready = max(1, ready provisioned environments)` (Knative's `ReadyCount`, "use 1 if there are zero");
//! - `maxScaleUp = ceil(max_scale_up_rate * ready)`, `maxScaleDown = floor(ready / max_scale_down_rate)`;
//! - desired stable / panic counts `ceil(value / (target * utilisation))`, each clamped to
//!   `[maxScaleDown, maxScaleUp]` (so at most halving per decision with the default rate 2);
//! - panic: entered when `desired panic (unclamped) / ready >= panic_threshold_percentage / 100`; while
//!   the condition holds the panic time moves to now; left when the condition has not held for a full
//!   stable window (`panic time + stable window < now`). While panicking the count is the larger of the
//!   stable and panic counts and never decreases (`maxPanicPods`);
//! - scale to zero (`handleScaleToZero`): a desired count of 0 is applied only once it has been 0 for
//!   `scale_to_zero_grace_period_s` (30 s), the level standing until then; with scale to zero disabled
//!   it becomes 1;
//! - a new decider starts in panic mode when the function already has more than one ready pod (Knative:
//!   "we always start in the panic mode, if the deployment is scaled up over 1 pod");
//! - `min_scale`/`max_scale` bound the result (Knative applies them after the decider); provisioned
//!   concurrency is also capped by the function's reserved concurrency and the account limit.
//!
//! Not modelled: the activator and target burst capacity (requests queue at Lambda's on-demand
//! instances instead), the scale-down delay (0 by default), the rule that a revision must have been
//! active for a stable window before scaling to zero, and the weighted-exponential averaging option.
//! The count is applied at the memory the function's invocations use (the memory with most invocations
//! in the window, else the one already chosen, else the one already provisioned); when that memory
//! changes, the old memory's provisioned concurrency is set to 0.
//!
//! `ceil` uses a 1e-9 tolerance so float rounding of an exact multiple adds no pod. Deterministic: state
//! in `BTreeMap`s, no clock.

use std::collections::{BTreeMap, VecDeque};

use super::target_tracking::{Levels, capacity_cap, ceil_tol, in_unit_interval, window_memory};
use super::{Change, ControlState, Controller};
use crate::Error;
use crate::monitor::MonitorWindow;

/// KPA settings, Knative's names and defaults ([`Default`]).
#[derive(Debug, Clone, PartialEq)]
pub struct KpaSettings {
    /// Target concurrency per instance (`container-concurrency-target-default`, capped by
    /// `containerConcurrency`, which is 1 for Lambda): default 1.
    pub target_concurrency: f64,
    /// Target utilisation (`container-concurrency-target-percentage`), in (0, 1]: default 0.7.
    pub target_utilization: f64,
    /// Stable window, seconds (`stable-window`, Knative allows 6 s to 1 h): default 60.
    pub stable_window_s: f64,
    /// Panic window as a percentage of the stable window (`panic-window-percentage`, 1 to 100):
    /// default 10 (6 s).
    pub panic_window_percentage: f64,
    /// Panic threshold, percent of the ready count (`panic-threshold-percentage`, at least 110):
    /// default 200.
    pub panic_threshold_percentage: f64,
    /// Most growth per decision, a factor of the ready count (`max-scale-up-rate`, > 1): default 1000.
    pub max_scale_up_rate: f64,
    /// Most shrinkage per decision, a divisor of the ready count (`max-scale-down-rate`, > 1): default 2.
    pub max_scale_down_rate: f64,
    /// Seconds the desired count must have been 0 before scaling to zero
    /// (`scale-to-zero-grace-period`, > 0): default 30.
    pub scale_to_zero_grace_period_s: f64,
    /// `enable-scale-to-zero`: default true.
    pub enable_scale_to_zero: bool,
    /// Lower bound (`min-scale`): default 0.
    pub min_scale: u32,
    /// Upper bound (`max-scale`; `None`: unbounded, Knative's 0): default `None`.
    pub max_scale: Option<u32>,
    /// The decision tick, seconds (the control interval the controller asks for): default 2, Knative's
    /// `tickInterval`.
    pub tick_s: f64,
}

impl Default for KpaSettings {
    fn default() -> Self {
        KpaSettings {
            target_concurrency: 1.0,
            target_utilization: 0.7,
            stable_window_s: 60.0,
            panic_window_percentage: 10.0,
            panic_threshold_percentage: 200.0,
            max_scale_up_rate: 1000.0,
            max_scale_down_rate: 2.0,
            scale_to_zero_grace_period_s: 30.0,
            enable_scale_to_zero: true,
            min_scale: 0,
            max_scale: None,
            tick_s: 2.0,
        }
    }
}

impl KpaSettings {
    /// Every out-of-range setting (Knative's `validate` bounds), one line each naming the field.
    fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let target = self.target_concurrency * self.target_utilization;
        if !(self.target_concurrency.is_finite() && target >= 0.01) {
            p.push(format!(
                "target_concurrency x target_utilization = {target}: must be at least 0.01"
            ));
        }
        if !in_unit_interval(self.target_utilization) {
            p.push(format!(
                "target_utilization = {}: must be in (0, 1]",
                self.target_utilization
            ));
        }
        if !(6.0..=3600.0).contains(&self.stable_window_s) {
            p.push(format!(
                "stable_window_s = {}: must be in [6, 3600]",
                self.stable_window_s
            ));
        }
        if !(1.0..=100.0).contains(&self.panic_window_percentage) {
            p.push(format!(
                "panic_window_percentage = {}: must be in [1, 100]",
                self.panic_window_percentage
            ));
        }
        if !(self.panic_threshold_percentage.is_finite()
            && self.panic_threshold_percentage >= 110.0)
        {
            p.push(format!(
                "panic_threshold_percentage = {}: must be at least 110",
                self.panic_threshold_percentage
            ));
        }
        for (name, v) in [
            ("max_scale_up_rate", self.max_scale_up_rate),
            ("max_scale_down_rate", self.max_scale_down_rate),
        ] {
            if !(v.is_finite() && v > 1.0) {
                p.push(format!("{name} = {v}: must be a finite number > 1"));
            }
        }
        if !(self.scale_to_zero_grace_period_s.is_finite()
            && self.scale_to_zero_grace_period_s > 0.0)
        {
            p.push(format!(
                "scale_to_zero_grace_period_s = {}: must be a finite number > 0",
                self.scale_to_zero_grace_period_s
            ));
        }
        if let Some(max) = self.max_scale
            && (max == 0 || self.min_scale > max)
        {
            p.push(format!(
                "max_scale = {max}: must be at least 1 and at least min_scale = {}",
                self.min_scale
            ));
        }
        if !(self.tick_s.is_finite() && self.tick_s > 0.0) {
            p.push(format!(
                "tick_s = {}: must be a finite number > 0",
                self.tick_s
            ));
        }
        p
    }
}

/// One function's decider state.
#[derive(Debug, Clone, Default)]
struct Decider {
    /// Memory the pods run at.
    memory_mb: Option<u32>,
    /// Windows of the last stable window: (start, end, mean concurrency).
    history: VecDeque<(f64, f64, f64)>,
    /// Knative's `panicTime`: `Some` while panicking.
    panic_time_s: Option<f64>,
    /// Knative's `maxPanicPods`.
    max_panic_pods: u32,
    /// Since when the desired count has been 0.
    zero_since_s: Option<f64>,
}

/// Knative's KPA on provisioned concurrency (see the module docs). Emits
/// [`Change::ProvisionedConcurrency`] only.
#[derive(Debug, Clone)]
pub struct Kpa {
    settings: KpaSettings,
    deciders: BTreeMap<String, Decider>,
}

impl Kpa {
    /// A controller with these settings; `Error::InvalidOption` lists every setting out of range.
    pub fn new(settings: KpaSettings) -> Result<Self, Error> {
        let problems = settings.problems();
        if !problems.is_empty() {
            return Err(Error::InvalidOption {
                field: "kpa".into(),
                reason: problems.join("; "),
            });
        }
        Ok(Kpa {
            settings,
            deciders: BTreeMap::new(),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &KpaSettings {
        &self.settings
    }

    /// Whether the decider of `function` is in panic mode.
    pub fn is_panicking(&self, function: &str) -> bool {
        self.deciders
            .get(function)
            .is_some_and(|d| d.panic_time_s.is_some())
    }
}

/// Knative's `roundToNDigits(6, x)`.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Average of `history` over `(now - span, now]`, weighted by overlap; `None` without data.
fn window_average(history: &VecDeque<(f64, f64, f64)>, now_s: f64, span_s: f64) -> Option<f64> {
    let lo = now_s - span_s;
    let (mut sum, mut covered) = (0.0, 0.0);
    for &(s, e, c) in history {
        let overlap = e.min(now_s) - s.max(lo);
        if overlap > 0.0 {
            sum += c * overlap;
            covered += overlap;
        }
    }
    (covered > 0.0).then(|| round6(sum / covered))
}

impl Controller for Kpa {
    fn name(&self) -> &str {
        "kpa"
    }

    fn default_interval_s(&self) -> f64 {
        self.settings.tick_s
    }

    fn control(&mut self, window: &MonitorWindow, state: &ControlState<'_>) -> Vec<Change> {
        let st = &self.settings;
        let mut levels = Levels::new(state);
        let mut out = Vec::new();
        let now_s = window.end_s;
        if !(now_s.is_finite() && window.start_s.is_finite() && now_s > window.start_s) {
            return out;
        }
        let target = st.target_concurrency * st.target_utilization;
        let panic_window_s = st.stable_window_s * st.panic_window_percentage / 100.0;
        for fw in &window.functions {
            let d = self.deciders.entry(fw.function.clone()).or_default();
            let concurrency = if fw.concurrent_executions_mean.is_finite() {
                fw.concurrent_executions_mean.max(0.0)
            } else {
                0.0
            };
            d.history.push_back((window.start_s, now_s, concurrency));
            while d
                .history
                .front()
                .is_some_and(|&(_, e, _)| e <= now_s - st.stable_window_s)
            {
                d.history.pop_front();
            }
            let settings = levels.settings(&fw.function);
            let Some(memory_mb) = window_memory(fw, d.memory_mb, settings) else {
                continue;
            };
            let ready = fw
                .provisioned
                .iter()
                .find(|p| p.memory_mb == memory_mb)
                .map_or(0, |p| p.level);
            match d.memory_mb {
                Some(old) if old != memory_mb => levels.set(&mut out, &fw.function, old, 0),
                Some(_) => {}
                None if ready > 1 => {
                    // A new decider starts in panic mode over more than one ready pod.
                    d.panic_time_s = Some(now_s);
                    d.max_panic_pods = ready;
                }
                None => {}
            }
            d.memory_mb = Some(memory_mb);

            let (Some(stable), Some(panic)) = (
                window_average(&d.history, now_s, st.stable_window_s),
                window_average(&d.history, now_s, panic_window_s),
            ) else {
                continue;
            };
            let ready_f = f64::from(ready.max(1));
            let max_up = (st.max_scale_up_rate * ready_f).ceil();
            let max_down = (ready_f / st.max_scale_down_rate).floor();
            let dspc = f64::from(ceil_tol(stable / target));
            let dppc = f64::from(ceil_tol(panic / target));
            let clamp = |x: f64| x.max(max_down).min(max_up).min(f64::from(u32::MAX)) as u32;
            let desired_stable = clamp(dspc);
            let desired_panic = clamp(dppc);

            let over = dppc / ready_f >= st.panic_threshold_percentage / 100.0;
            match d.panic_time_s {
                _ if over => d.panic_time_s = Some(now_s),
                Some(t) if t + st.stable_window_s < now_s => {
                    d.panic_time_s = None;
                    d.max_panic_pods = 0;
                }
                _ => {}
            }
            let mut desired = desired_stable;
            if d.panic_time_s.is_some() {
                desired = desired.max(desired_panic);
                d.max_panic_pods = d.max_panic_pods.max(desired);
                desired = d.max_panic_pods;
            }

            let current = levels.get(&fw.function, memory_mb);
            let desired = if desired > 0 {
                d.zero_since_s = None;
                Some(desired)
            } else if !st.enable_scale_to_zero {
                Some(1)
            } else {
                let since = *d.zero_since_s.get_or_insert(now_s);
                (now_s - since >= st.scale_to_zero_grace_period_s - 1e-9).then_some(0)
            };
            let Some(desired) = desired else {
                continue;
            };
            let cap = capacity_cap(
                st.max_scale.unwrap_or(u32::MAX),
                settings,
                state.account_limit,
            );
            let level = desired.max(st.min_scale).min(cap);
            if level != current {
                levels.set(&mut out, &fw.function, memory_mb, level);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FunctionSettings;
    use crate::monitor::{FunctionWindow, ProvisionedWindow};

    const MEM: u32 = 512;

    /// Drives a KPA over 2 s windows with the given mean concurrency, the ready level following the
    /// requested one at once; returns (window end, level) after every window.
    struct Driver {
        kpa: Kpa,
        level: u32,
        t_s: f64,
    }

    impl Driver {
        fn new(settings: KpaSettings, level: u32) -> Self {
            Driver {
                kpa: Kpa::new(settings).unwrap(),
                level,
                t_s: 0.0,
            }
        }

        /// One 2 s window with mean concurrency `c`; returns the level after it.
        fn tick(&mut self, c: f64) -> u32 {
            let w = MonitorWindow {
                start_s: self.t_s,
                end_s: self.t_s + 2.0,
                functions: vec![FunctionWindow {
                    function: "f".into(),
                    invocations: 1,
                    concurrent_executions_mean: c,
                    provisioned: vec![ProvisionedWindow {
                        memory_mb: MEM,
                        invocations: 1,
                        level: self.level,
                        level_requested: self.level,
                        level_mean: f64::from(self.level),
                        ..ProvisionedWindow::default()
                    }],
                    ..FunctionWindow::default()
                }],
                ..MonitorWindow::default()
            };
            let fs = vec![FunctionSettings {
                function: "f".into(),
                provisioned: vec![(MEM, self.level)],
                ..FunctionSettings::default()
            }];
            let state = ControlState {
                now_s: w.end_s,
                interval_s: 2.0,
                account_limit: 1000,
                functions: &fs,
            };
            for c in self.kpa.control(&w, &state) {
                match c {
                    Change::ProvisionedConcurrency {
                        memory_mb, level, ..
                    } => {
                        assert_eq!(memory_mb, MEM);
                        self.level = level;
                    }
                    other => panic!("unexpected change {other:?}"),
                }
            }
            self.t_s += 2.0;
            self.level
        }

        fn ticks(&mut self, c: f64, n: usize) -> Vec<u32> {
            (0..n).map(|_| self.tick(c)).collect()
        }
    }

    #[test]
    fn stable_mode_desired_count() {
        // One pod, load 0.7: ceil(0.7 / 0.7) = 1; the panic count 1 is under 2 x 1 ready.
        let mut d = Driver::new(KpaSettings::default(), 1);
        assert_eq!(d.ticks(0.7, 5), vec![1; 5]);
        assert!(!d.kpa.is_panicking("f"));

        // A new decider over 4 ready pods starts in panic mode (no scale-down) until the first tick
        // with start + 60 < now: it started at t = 2, so it leaves at t = 64 (the 32nd tick).
        let mut d = Driver::new(KpaSettings::default(), 4);
        assert_eq!(d.ticks(2.1, 31), vec![4; 31]);
        assert!(d.kpa.is_panicking("f"));
        // Stable 2.1: ceil(2.1 / 0.7) = 3, within [floor(4 / 2), 4000].
        assert_eq!(d.tick(2.1), 3);
        assert!(!d.kpa.is_panicking("f"));
        // Load 3.5 from t = 64: after k ticks the 60 s stable average is 2.1 + 1.4 k / 30, desired
        // ceil(that / 0.7): 4 for k = 1..=15 (k = 15: 2.8 / 0.7 = 4 exactly), 5 from k = 16 (the panic
        // count 5 stays under 2 x ready).
        let levels = d.ticks(3.5, 30);
        assert_eq!(levels[..15], [4; 15], "{levels:?}");
        assert_eq!(levels[15..], [5; 15], "{levels:?}");
    }

    #[test]
    fn panic_at_twice_the_ready_count_no_scale_down_and_exit_after_a_stable_window() {
        let mut d = Driver::new(KpaSettings::default(), 2);
        // Two pods at load 1.4 (desired 2); the start-up panic ends at t = 64.
        d.ticks(1.4, 32);
        assert!(!d.kpa.is_panicking("f"));
        assert_eq!(d.level, 2);
        // A window at 5.6 (t = 64..66): the 6 s panic average is (1.4 + 1.4 + 5.6) / 3 = 2.8, panic count
        // ceil(2.8 / 0.7) = 4 = 2 x 2 ready: panic, and the level goes to max(stable 3, panic 4) = 4.
        assert_eq!(d.tick(5.6), 4);
        assert!(d.kpa.is_panicking("f"));
        // The load drops to 0.1 (stable count falling to 1): no scale-down while panicking, and panic
        // holds while panic time (66) + 60 >= now, through t = 126.
        assert_eq!(d.ticks(0.1, 30), vec![4; 30]);
        assert!(d.kpa.is_panicking("f"));
        assert_eq!(d.t_s, 126.0);
        // At t = 128 it leaves panic and scales down, at most halving: max(1, floor(4 / 2)) = 2.
        assert_eq!(d.tick(0.1), 2);
        assert!(!d.kpa.is_panicking("f"));
    }

    #[test]
    fn scale_down_rate_halves_per_decision() {
        // 16 ready pods and no load: the start-up panic holds 16 through t = 62; then each decision
        // goes to floor(ready / 2): 8, 4, 2, 1; then desired 0 from t = 72, applied 30 s later.
        let mut d = Driver::new(KpaSettings::default(), 16);
        assert_eq!(d.ticks(0.0, 31), vec![16; 31]);
        assert_eq!(d.ticks(0.0, 4), vec![8, 4, 2, 1]);
        assert_eq!(d.t_s, 70.0);
        assert_eq!(d.ticks(0.0, 15), vec![1; 15]);
        assert_eq!(d.tick(0.0), 0, "t = {}", d.t_s);
        assert_eq!(d.t_s, 102.0);

        // With a rate of 4, a quarter per decision.
        let mut d = Driver::new(
            KpaSettings {
                max_scale_down_rate: 4.0,
                ..KpaSettings::default()
            },
            16,
        );
        d.ticks(0.0, 31);
        assert_eq!(d.ticks(0.0, 3), vec![4, 1, 1]);
    }

    #[test]
    fn scale_to_zero_only_after_the_grace_period() {
        let mut d = Driver::new(KpaSettings::default(), 1);
        d.ticks(0.5, 35);
        assert_eq!(d.level, 1);
        // Load stops at t = 70; the stable average stays above 0 (desired 1) until the last loaded
        // window leaves the 60 s window: it is 0 from the tick ending at t = 130.
        assert_eq!(d.ticks(0.0, 30), vec![1; 30]);
        assert_eq!(d.t_s, 130.0);
        // The level stays until desired has been 0 for 30 s: still 1 at t = 158, 0 at t = 160.
        assert_eq!(d.ticks(0.0, 14), vec![1; 14]);
        assert_eq!(d.tick(0.0), 0);
        assert_eq!(d.t_s, 160.0);

        // Load returning within the grace period (at t = 150..152) resets it: desired 0 again from
        // t = 212, level 0 at t = 242.
        let mut d = Driver::new(KpaSettings::default(), 1);
        d.ticks(0.5, 35);
        d.ticks(0.0, 40);
        assert_eq!(d.tick(0.5), 1);
        assert_eq!(d.ticks(0.0, 44), vec![1; 44]);
        assert_eq!(d.tick(0.0), 0);
        assert_eq!(d.t_s, 242.0);

        // Scale to zero disabled: 1 stays.
        let mut d = Driver::new(
            KpaSettings {
                enable_scale_to_zero: false,
                ..KpaSettings::default()
            },
            1,
        );
        d.ticks(0.5, 35);
        assert_eq!(d.ticks(0.0, 100), vec![1; 100]);
    }

    #[test]
    fn the_level_moves_with_the_invoked_memory() {
        let mut kpa = Kpa::new(KpaSettings::default()).unwrap();
        let fs = vec![FunctionSettings {
            function: "f".into(),
            provisioned: vec![(MEM, 1)],
            ..FunctionSettings::default()
        }];
        let state = ControlState {
            now_s: 2.0,
            interval_s: 2.0,
            account_limit: 1000,
            functions: &fs,
        };
        let at = |memory_mb, invocations, level| ProvisionedWindow {
            memory_mb,
            invocations,
            level,
            level_requested: level,
            level_mean: f64::from(level),
            ..ProvisionedWindow::default()
        };
        let mut w = MonitorWindow {
            start_s: 0.0,
            end_s: 2.0,
            functions: vec![FunctionWindow {
                function: "f".into(),
                concurrent_executions_mean: 0.7,
                provisioned: vec![at(MEM, 3, 1)],
                ..FunctionWindow::default()
            }],
            ..MonitorWindow::default()
        };
        assert!(kpa.control(&w, &state).is_empty());
        // Invocations move to 1024 MB: 512 MB goes to 0, 1024 MB gets the desired count 1.
        w.start_s = 2.0;
        w.end_s = 4.0;
        w.functions[0].provisioned = vec![at(MEM, 0, 1), at(1024, 5, 0)];
        let state = ControlState {
            now_s: 4.0,
            ..state
        };
        assert_eq!(
            kpa.control(&w, &state),
            vec![
                Change::ProvisionedConcurrency {
                    function: "f".into(),
                    memory_mb: MEM,
                    level: 0
                },
                Change::ProvisionedConcurrency {
                    function: "f".into(),
                    memory_mb: 1024,
                    level: 1
                },
            ]
        );
    }

    #[test]
    fn invalid_settings_are_errors() {
        let err = Kpa::new(KpaSettings {
            max_scale_down_rate: 1.0,
            stable_window_s: 1.0,
            max_scale: Some(0),
            ..KpaSettings::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("max_scale_down_rate"), "{err}");
        assert!(err.contains("stable_window_s"), "{err}");
        assert!(err.contains("max_scale = 0"), "{err}");
        assert_eq!(
            Kpa::new(KpaSettings::default())
                .unwrap()
                .default_interval_s(),
            2.0
        );
    }
}
