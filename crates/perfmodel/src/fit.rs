//! Fitting of step models to samples by (non-linear) least squares on relative residuals, the choice of
//! StepConf Eq. 1's case per memory segment, the choice between Eq. 1 and our Amdahl form, and error
//! reports on held-out samples (k-fold / leave-one-out).
//!
//! Design (StepConf Sec. III-B, Eq. 1):
//! - Samples with `m < m_s` are fitted by case 2 (the paper: "single-thread ... or the memory size is
//!   lower than m_s"); samples with `m >= m_s` by case 1 and case 2, and the case with the lower AICc
//!   (fit quality with a penalty for case 1's extra parameter) is kept.
//! - The step duration is StepConf's `max_j [t_map(j) + t_ij]`, evaluated over the (at most two)
//!   [`crate::model::InstanceGroup`]s of an uneven split, times our fan-out tail
//!   ([`FanOutTail`], optional: [`FitOptions::tail`]).
//! - The mapping delay `t_map(p) = per_instance_s (p-1) + growth_s max(0, p-1-knee)^2` is either known
//!   ([`FitOptions::mapping`], e.g. from [`crate::profile::probe_mapping_delay`]) or fitted jointly
//!   with the segment that has more samples (its parameters enter linearly; the knee is chosen from the
//!   sampled fan-outs by AICc, with at least two sampled fan-outs beyond it), then held fixed, with the
//!   tail, while the other segment is fitted.
//! - Non-linear parameters (`beta_2` of case 2, `alpha_2` of case 1) are first scanned on a fixed grid
//!   with the linear parameters solved exactly (non-negative least squares), then the best start is
//!   polished by Levenberg–Marquardt over all parameters (module `lm`, hand-written). Every parameter is kept
//!   `>= 0` (durations, delays and decay rates are not negative), which keeps the denominator of case
//!   2 positive for every `k`.
//! - Fewer samples than a case needs fall back to a simpler fit, each with a warning in
//!   [`FunctionFit::warnings`] (never a panic, never an error while one sample is left):
//!   - a segment with 1 or 2 samples takes the other segment's fit (its samples are not fitted);
//!   - when neither segment has 3 samples, one case-2 curve is fitted to all samples and serves both
//!     segments (with 1 or 2 samples the fit is underdetermined: the tiny ridge of [`crate::lm`] picks
//!     the smallest parameters that reproduce the samples);
//!   - case 1 (4 parameters) is tried only on a segment with at least 4 samples; below, case 2 only.
//! - [`ModelChoice::Auto`] also fits our Amdahl form ([`DurationModel::Amdahl`], linear in its
//!   parameters apart from the tail) and keeps whichever form has the lower 5-fold cross-validated
//!   squared relative error on the training samples (Eq. 1 with fewer than 10 samples).
//! - Saturation (ours, [`FitOptions::saturation`]): some functions stop getting faster above a memory
//!   size well below one vCPU (I/O waits, a lock; SLApp App3's function `1` is flat from about 950
//!   MB). A saturation memory `s` ([`StepModel::saturation_mb`]) makes every prediction use
//!   `min(m, w * s)` (`w` busy workers), so the fit sees the samples above `s` at `s`. It is placed
//!   per form by the training error, first over the sampled sizes with at least 3 sampled sizes at or
//!   below and 2 above, then over the quarter points of the intervals beside the best one; a placed
//!   saturation that does not cut the training error below 0.8 times the unsaturated one (and by at
//!   least (0.1%)^2 per sample) is dropped. The survivor competes with the unsaturated forms in the
//!   same 5-fold cross-validation and is kept only when its error is as clearly below the best
//!   unsaturated one's: the simpler model wins unless saturation clearly predicts better. `cross_validate` repeats the whole choice inside every fold,
//!   so its error includes the choice.
//!
//! Everything is deterministic: fixed grids, fixed iteration order, no randomness.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::lm::{levenberg_marquardt, linear_lsq};
use crate::model::{
    ConfigFeatures, DurationModel, Eq1, FanOutTail, Features, MappingDelay, PlatformFacts,
    StepModel, instance_groups, saturated_memory_mb,
};
use crate::{Error, Sample};

/// Which duration model to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ModelChoice {
    /// Eq. 1 or Amdahl, whichever has the lower k-fold cross-validated error on the training samples.
    #[default]
    Auto,
    /// StepConf Eq. 1 only (the paper's model).
    Eq1,
    /// Our Amdahl form only.
    Amdahl,
}

/// Fitting options.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// Which duration model to fit.
    pub choice: ModelChoice,
    /// Features of Eq. 1 (the paper's or with rounds of workers).
    pub features: Features,
    /// Fit our fan-out tail ([`FanOutTail`]); `false` is the paper's `t_map(p) + t_hat`.
    pub tail: bool,
    /// A known mapping delay (measured by a probe, [`crate::profile::probe_mapping_delay`]); `None`
    /// fits it jointly with each function's samples.
    pub mapping: Option<MappingDelay>,
    /// Try a saturation memory ([`StepModel::saturation_mb`]) chosen by cross-validation (see the
    /// module docs); `false` is the paper's model, which keeps getting faster with memory.
    #[serde(default = "saturation_default")]
    pub saturation: bool,
}

fn saturation_default() -> bool {
    true
}

impl FitOptions {
    /// StepConf as published: Eq. 1 with the paper's features, `t_map(p) + t_hat`, no tail.
    pub fn paper() -> Self {
        FitOptions {
            choice: ModelChoice::Eq1,
            features: Features::Paper,
            tail: false,
            mapping: None,
            saturation: false,
        }
    }
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            choice: ModelChoice::Auto,
            features: Features::Rounds,
            tail: true,
            mapping: None,
            saturation: true,
        }
    }
}

/// A fitted model of one function and the simplifications the fit had to make.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionFit {
    /// The fitted model.
    pub model: StepModel,
    /// One sentence per fallback taken because of too few samples (see the module docs), naming the
    /// function; empty for a full fit.
    pub warnings: Vec<String>,
}

/// Relative prediction errors `|predicted - actual| / actual` over a set of held-out samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct ErrorReport {
    /// Number of held-out samples.
    pub n: usize,
    /// Largest relative error.
    pub max_rel_error: f64,
    /// Mean relative error.
    pub mean_rel_error: f64,
}

impl ErrorReport {
    /// The report of `(predicted, actual)` pairs (actual > 0).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (f64, f64)>) -> Self {
        let mut r = ErrorReport::default();
        let mut sum = 0.0;
        for (pred, actual) in pairs {
            let e = (pred - actual).abs() / actual;
            r.n += 1;
            sum += e;
            r.max_rel_error = r.max_rel_error.max(e);
        }
        if r.n > 0 {
            r.mean_rel_error = sum / r.n as f64;
        }
        r
    }
}

/// One training point.
#[derive(Debug, Clone, Copy)]
struct Pt {
    memory_mb: u32,
    fan_out: u32,
    workers: u32,
    jobs: u32,
    y: f64,
    /// The saturation memory the point is fitted under ([`StepModel::saturation_mb`]).
    sat: Option<u32>,
}

/// One instance group of a point, with the features of its instances.
#[derive(Debug, Clone, Copy)]
struct Grp {
    feats: ConfigFeatures,
    /// `t_map` argument (the group's last instance).
    map_fan: u32,
    /// Instances in the group (tail).
    n_inst: u32,
}

impl Grp {
    fn pm1(&self) -> f64 {
        f64::from(self.map_fan - 1)
    }
    fn growth(&self, knee: u32) -> f64 {
        (self.pm1() - f64::from(knee)).max(0.0).powi(2)
    }
    fn amdahl(&self) -> [f64; 4] {
        let f = &self.feats;
        let g = f.gamma_bar;
        [
            g / f.vcpus.min(f.busy_workers),
            g / f.vcpus,
            g / f.busy_workers,
            1.0,
        ]
    }
}

impl Pt {
    fn of(s: &Sample) -> Pt {
        Pt {
            memory_mb: s.memory_mb,
            fan_out: s.fan_out,
            workers: s.workers,
            jobs: s.jobs,
            y: s.duration_s,
            sat: None,
        }
    }
    /// The memory the model sees for an instance with `jobs_on_instance` jobs (saturation applied).
    fn memory_seen(&self, features: Features, jobs_on_instance: f64) -> u32 {
        saturated_memory_mb(
            self.memory_mb,
            features.busy_workers(self.workers, jobs_on_instance),
            self.sat,
        )
    }
    /// The memory that puts the point in a segment of Eq. 1: the one its busiest instance sees.
    fn segment_memory(&self, features: Features) -> u32 {
        let busiest = instance_groups(features, self.jobs, self.fan_out)[0]
            .map_or(1.0, |g| g.jobs_on_instance);
        self.memory_seen(features, busiest)
    }
    /// The point's instance groups (the busiest first), as the model predicts them.
    fn groups(&self, facts: &PlatformFacts, features: Features) -> [Option<Grp>; 2] {
        instance_groups(features, self.jobs, self.fan_out).map(|g| {
            g.map(|g| Grp {
                feats: features.compute(
                    facts,
                    self.memory_seen(features, g.jobs_on_instance),
                    self.workers,
                    g.jobs_on_instance,
                ),
                map_fan: g.map_fan,
                n_inst: g.n_instances,
            })
        })
    }
}

/// AICc of a weighted fit with `k` parameters on `n` points (infinite when `n <= k + 1`).
pub(crate) fn aicc(sse: f64, n: usize, k: usize) -> f64 {
    if n <= k + 1 {
        return f64::INFINITY;
    }
    let n_f = n as f64;
    n_f * (sse / n_f + 1e-30).ln()
        + 2.0 * k as f64
        + 2.0 * (k * (k + 1)) as f64 / (n_f - k as f64 - 1.0)
}

/// The score that ranks candidate fits of the same points: AICc, or the plain SSE when there are too
/// few points for AICc to be finite for every candidate.
fn score_of(sse: f64, n: usize, k: usize) -> f64 {
    if n > 8 { aicc(sse, n, k) } else { sse }
}

/// Knee candidates of the mapping delay: every sampled `p - 1` that leaves at least two larger sampled
/// fan-outs beyond it (a quadratic needs points to bend through; extrapolating one from a single
/// fan-out is how a fit invents delays), plus the largest sampled `p - 1` (no growth).
fn knee_candidates(pts: &[Pt]) -> Vec<u32> {
    let mut ps: Vec<u32> = pts.iter().map(|p| p.fan_out - 1).collect();
    ps.sort_unstable();
    ps.dedup();
    let n = ps.len();
    let mut ks: Vec<u32> = ps
        .iter()
        .enumerate()
        .filter(|(i, _)| i + 2 < n)
        .map(|(_, k)| *k)
        .collect();
    ks.push(ps.last().copied().unwrap_or(0));
    ks
}

#[derive(Debug, Clone, Copy)]
struct SegmentFit {
    eq: Eq1,
    mapping: MappingDelay,
    tail: FanOutTail,
    sse: f64,
    n_params: usize,
}

const BETA2_GRID: [f64; 14] = [
    0.0, 0.01, 0.03, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
];
const ALPHA2_GRID: [f64; 12] = [0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0];

/// How the mapping delay enters a fit: fitted jointly (knee chosen from the sampled fan-outs) or
/// known (from a probe, or from the other segment).
#[derive(Debug, Clone, Copy)]
enum MapMode {
    Free,
    Fixed(MappingDelay),
}

/// How the fan-out tail enters a fit.
#[derive(Debug, Clone, Copy)]
enum TailMode {
    Off,
    Free,
    Fixed(FanOutTail),
}

/// The terms shared by every case: mapping delay and tail.
#[derive(Debug, Clone, Copy)]
struct Shared {
    map: MapMode,
    tail: TailMode,
}

impl Shared {
    fn fixed_map(&self) -> Option<MappingDelay> {
        match self.map {
            MapMode::Fixed(m) => Some(m),
            MapMode::Free => None,
        }
    }
    fn fixed_factor(&self, n_inst: u32) -> f64 {
        match self.tail {
            TailMode::Fixed(t) => t.factor(n_inst),
            _ => 1.0,
        }
    }
}

/// Columns of the linear part of the mapping delay for group `g` (zero when the delay is known).
fn map_cols(shared: Shared, g: &Grp, knee: u32) -> [f64; 2] {
    match shared.map {
        MapMode::Free => [g.pm1(), g.growth(knee)],
        MapMode::Fixed(..) => [0.0, 0.0],
    }
}

/// Evaluates `map + core * (1 + t1 (n-1) + t2 ln n)` and its gradient for the shared parameters
/// `t[n_core..n_core + 4] = [per_instance, growth, t1, t2]` given the core value and core gradient
/// (already in `g[..n_core]`, scaled here by the tail factor). Known terms have zero gradient.
fn with_shared(
    shared: Shared,
    grp: &Grp,
    knee: u32,
    t: &[f64],
    n_core: usize,
    core: f64,
    g: &mut [f64],
) -> f64 {
    let map = match shared.map {
        MapMode::Fixed(m) => {
            g[n_core] = 0.0;
            g[n_core + 1] = 0.0;
            m.delay_s(grp.map_fan)
        }
        MapMode::Free => {
            let [m1, m2] = map_cols(shared, grp, knee);
            g[n_core] = m1;
            g[n_core + 1] = m2;
            t[n_core] * m1 + t[n_core + 1] * m2
        }
    };
    let factor = match shared.tail {
        TailMode::Off | TailMode::Fixed(_) => {
            g[n_core + 2] = 0.0;
            g[n_core + 3] = 0.0;
            shared.fixed_factor(grp.n_inst)
        }
        TailMode::Free => {
            let (x1, x2) = (f64::from(grp.n_inst - 1), f64::from(grp.n_inst).ln());
            g[n_core + 2] = core * x1;
            g[n_core + 3] = core * x2;
            1.0 + t[n_core + 2] * x1 + t[n_core + 3] * x2
        }
    };
    g[..n_core].iter_mut().for_each(|v| *v *= factor);
    map + core * factor
}

/// The fitted shared terms and how many free parameters they used.
fn shared_out(
    shared: Shared,
    t: &[f64],
    n_core: usize,
    knee: u32,
) -> (MappingDelay, FanOutTail, usize) {
    let mut k = 0;
    let mapping = match shared.map {
        MapMode::Fixed(m) => m,
        MapMode::Free => {
            k += t[n_core..n_core + 2].iter().filter(|v| **v > 0.0).count();
            MappingDelay {
                per_instance_s: t[n_core],
                knee,
                growth_s: t[n_core + 1],
            }
        }
    };
    let tail = match shared.tail {
        TailMode::Off => FanOutTail::default(),
        TailMode::Fixed(tl) => tl,
        TailMode::Free => {
            k += t[n_core + 2..n_core + 4]
                .iter()
                .filter(|v| **v > 0.0)
                .count();
            FanOutTail {
                linear: t[n_core + 2],
                log: t[n_core + 3],
            }
        }
    };
    (mapping, tail, k)
}

/// Targets and weights for the linear scan: a known mapping delay is subtracted and a known tail
/// divided out, with weights that keep the residual relative to the observed duration.
fn scan_targets(pts: &[Pt], groups: &[Grp], shared: Shared) -> (Vec<f64>, Vec<f64>) {
    pts.iter()
        .zip(groups)
        .map(|(p, g)| {
            let f = shared.fixed_factor(g.n_inst);
            let m = shared.fixed_map().map_or(0.0, |m| m.delay_s(g.map_fan));
            ((p.y - m) / f, f / p.y)
        })
        .unzip()
}

/// Fits one case of Eq. 1 to `pts` (see the module docs): scan of the non-linear parameter and the
/// knee with the linear parameters solved exactly, then Levenberg–Marquardt over everything.
fn fit_case(
    pts: &[Pt],
    facts: &PlatformFacts,
    features: Features,
    case: u8,
    shared: Shared,
) -> Option<SegmentFit> {
    if pts.is_empty() {
        // Nothing to fit (callers fall back before this; kept so no caller can index an empty fit).
        return None;
    }
    let groups: Vec<[Option<Grp>; 2]> = pts.iter().map(|p| p.groups(facts, features)).collect();
    // The scan uses each point's busiest group only; Levenberg–Marquardt then uses the maximum over
    // groups, exactly as predictions do.
    let busiest: Vec<Grp> = groups
        .iter()
        .map(|g| g[0].expect("a step has at least one group"))
        .collect();
    let (ys, ws) = scan_targets(pts, &busiest, shared);
    let knees = if shared.fixed_map().is_some() {
        vec![0]
    } else {
        knee_candidates(pts)
    };
    let mut best: Option<(f64, f64, u32, Vec<f64>)> = None; // (score, nonlinear, knee, linear theta)
    let grid: &[f64] = if case == 1 { &ALPHA2_GRID } else { &BETA2_GRID };
    for &knee in &knees {
        for &nl in grid {
            let rows: Vec<Vec<f64>> = busiest
                .iter()
                .map(|g| {
                    let f = &g.feats;
                    let [m1, m2] = map_cols(shared, g, knee);
                    if case == 1 {
                        let e = (-nl * f.k).exp();
                        vec![f.gamma_bar * e, e, 1.0, m1, m2]
                    } else {
                        vec![f.gamma_bar / (f.k + nl), 1.0, m1, m2]
                    }
                })
                .collect();
            let nonneg = vec![true; rows[0].len()];
            let Some((theta, sse)) = linear_lsq(&rows, &ys, &ws, &nonneg) else {
                continue;
            };
            let k = if case == 1 { 4 } else { 3 }
                + theta[theta.len() - 2..]
                    .iter()
                    .filter(|v| **v > 0.0)
                    .count();
            let score = score_of(sse, pts.len(), k);
            if best.as_ref().is_none_or(|b| score < b.0) {
                best = Some((score, nl, knee, theta));
            }
        }
    }
    let (_, nl, knee, lin) = best?;
    // Polish all parameters with Levenberg–Marquardt from the best grid point (tail starts at 0).
    let (theta0, n_core): (Vec<f64>, usize) = if case == 1 {
        (
            vec![lin[0], lin[1], nl, lin[2], lin[3], lin[4], 0.0, 0.0],
            4,
        )
    } else {
        (vec![lin[0], nl, lin[1], lin[2], lin[3], 0.0, 0.0], 3)
    };
    let core = |t: &[f64], f: &ConfigFeatures, g: &mut [f64]| -> f64 {
        if case == 1 {
            let e = (-t[2] * f.k).exp();
            let a = t[0] * f.gamma_bar + t[1];
            g[0] = f.gamma_bar * e;
            g[1] = e;
            g[2] = -f.k * a * e;
            g[3] = 1.0;
            a * e + t[3]
        } else {
            let d = f.k + t[1];
            g[0] = f.gamma_bar / d;
            g[1] = -t[0] * f.gamma_bar / (d * d);
            g[2] = 1.0;
            t[0] * f.gamma_bar / d + t[2]
        }
    };
    let res = lm_over_groups(&theta0, pts, &groups, n_core, knee, shared, |t, grp, g| {
        core(t, &grp.feats, g)
    });
    let t = res.theta;
    let eq = if case == 1 {
        Eq1::Case1 {
            alpha1_s: t[0],
            beta1_s: t[1],
            alpha2: t[2],
            phi1_s: t[3],
        }
    } else {
        Eq1::Case2 {
            alpha2_s: t[0],
            beta2: t[1],
            phi2_s: t[2],
        }
    };
    let (mapping, tail, k_shared) = shared_out(shared, &t, n_core, knee);
    Some(SegmentFit {
        eq,
        mapping,
        tail,
        sse: res.sse,
        n_params: n_core + k_shared,
    })
}

/// Levenberg–Marquardt on relative residuals of `max over groups [map + core * tail]`, all parameters
/// `>= 0`. `core(theta, group, grad)` returns the instance duration and writes its gradient into
/// `grad[..n_core]`.
fn lm_over_groups(
    theta0: &[f64],
    pts: &[Pt],
    groups: &[[Option<Grp>; 2]],
    n_core: usize,
    knee: u32,
    shared: Shared,
    core: impl Fn(&[f64], &Grp, &mut [f64]) -> f64,
) -> crate::lm::LmResult {
    let y: Vec<f64> = pts.iter().map(|p| p.y).collect();
    let w: Vec<f64> = pts.iter().map(|p| 1.0 / p.y).collect();
    let lower = vec![0.0; theta0.len()];
    let n = theta0.len();
    levenberg_marquardt(theta0, &y, &w, &lower, 300, |t, i, g| {
        let mut best = f64::NEG_INFINITY;
        let mut tmp = [0.0f64; 12];
        for grp in groups[i].iter().flatten() {
            let tmp = &mut tmp[..n];
            let c = core(t, grp, tmp);
            let v = with_shared(shared, grp, knee, t, n_core, c, tmp);
            if v > best {
                best = v;
                g.copy_from_slice(tmp);
            }
        }
        best
    })
}

/// Fits a segment: case 2 only (`m < m_s`), or the better of both cases by AICc.
fn fit_segment(
    pts: &[Pt],
    facts: &PlatformFacts,
    features: Features,
    low: bool,
    shared: Shared,
) -> Option<SegmentFit> {
    let c2 = fit_case(pts, facts, features, 2, shared);
    if low || pts.len() < CASE1_MIN_POINTS {
        return c2;
    }
    let c1 = fit_case(pts, facts, features, 1, shared);
    match (c1, c2) {
        (Some(a), Some(b)) => {
            let (sa, sb) = (
                aicc(a.sse, pts.len(), a.n_params),
                aicc(b.sse, pts.len(), b.n_params),
            );
            // With too few points for AICc, case 1 must lower the SSE clearly.
            let a_wins = if sa.is_finite() && sb.is_finite() {
                sa < sb
            } else {
                a.sse < b.sse * 0.999
            };
            Some(if a_wins { a } else { b })
        }
        (a, b) => a.or(b),
    }
}

/// Samples a segment needs to be fitted on its own (case 2 has 3 parameters).
const MIN_SEGMENT_POINTS: usize = 3;
/// Samples a segment needs before case 1 (4 parameters) is tried.
const CASE1_MIN_POINTS: usize = 4;

/// A fitted duration model with its shared terms.
type Fitted = (DurationModel, MappingDelay, FanOutTail);

/// Where fallbacks are reported: the function's name and the list they go to.
struct Warn<'a> {
    function: &'a str,
    out: &'a mut Vec<String>,
}

impl Warn<'_> {
    fn push(&mut self, message: String) {
        if !self.out.contains(&message) {
            self.out.push(message);
        }
    }
}

fn fit_eq1(
    pts: &[Pt],
    facts: &PlatformFacts,
    features: Features,
    free: Shared,
    warn: &mut Warn<'_>,
) -> Option<Fitted> {
    let (low, high): (Vec<Pt>, Vec<Pt>) = pts
        .iter()
        .partition(|p| p.segment_memory(features) < facts.vcpu_full_mb);
    let low_ok = low.len() >= MIN_SEGMENT_POINTS;
    let high_ok = high.len() >= MIN_SEGMENT_POINTS;
    let m_s = facts.vcpu_full_mb;
    let f = warn.function;
    if !low_ok && !high_ok {
        // Neither segment can be fitted on its own: one case-2 curve over all samples.
        warn.push(format!(
            "function '{f}': {} sample(s) below m_s = {m_s} MB and {} at or above, fewer than the {MIN_SEGMENT_POINTS} each memory segment needs: one case-2 curve fitted to all {} samples serves both segments{}",
            low.len(),
            high.len(),
            pts.len(),
            if pts.len() < MIN_SEGMENT_POINTS {
                " (underdetermined: the smallest parameters that reproduce the samples)"
            } else {
                ""
            }
        ));
        let fit = fit_segment(pts, facts, features, true, free)?;
        return Some((
            DurationModel::Eq1 {
                features,
                low: fit.eq,
                high: fit.eq,
            },
            fit.mapping,
            fit.tail,
        ));
    }
    for (n, ok, side, other) in [
        (low.len(), low_ok, "below", "at or above"),
        (high.len(), high_ok, "at or above", "below"),
    ] {
        if n > 0 && !ok {
            warn.push(format!(
                "function '{f}': {n} sample(s) {side} m_s = {m_s} MB, fewer than the {MIN_SEGMENT_POINTS} a memory segment needs: that segment uses the fit of the samples {other} m_s (its samples are not fitted)"
            ));
        }
    }
    if high_ok && high.len() < CASE1_MIN_POINTS {
        warn.push(format!(
            "function '{f}': {} samples at or above m_s = {m_s} MB, fewer than the {CASE1_MIN_POINTS} case 1 needs: case 2 only",
            high.len()
        ));
    }
    // The segment with more samples fits the mapping delay (and tail).
    let primary_low = low_ok && (!high_ok || low.len() > high.len());
    let (lo, hi, mapping, tl) = if primary_low {
        let l = fit_segment(&low, facts, features, true, free)?;
        let h = if high_ok {
            fit_segment(
                &high,
                facts,
                features,
                false,
                Shared {
                    map: MapMode::Fixed(l.mapping),
                    tail: TailMode::Fixed(l.tail),
                },
            )?
            .eq
        } else {
            l.eq
        };
        (l.eq, h, l.mapping, l.tail)
    } else {
        // Invariant: here `high_ok` (neither segment ok returned above; `low_ok` alone is primary).
        let h = fit_segment(&high, facts, features, false, free)?;
        let l = if low_ok {
            fit_segment(
                &low,
                facts,
                features,
                true,
                Shared {
                    map: MapMode::Fixed(h.mapping),
                    tail: TailMode::Fixed(h.tail),
                },
            )?
            .eq
        } else {
            h.eq
        };
        (l, h.eq, h.mapping, h.tail)
    };
    Some((
        DurationModel::Eq1 {
            features,
            low: lo,
            high: hi,
        },
        mapping,
        tl,
    ))
}

fn fit_amdahl(pts: &[Pt], facts: &PlatformFacts, shared: Shared) -> Option<Fitted> {
    let groups: Vec<[Option<Grp>; 2]> = pts
        .iter()
        .map(|p| p.groups(facts, Features::Rounds))
        .collect();
    let busiest: Vec<Grp> = groups
        .iter()
        .map(|g| g[0].expect("a step has at least one group"))
        .collect();
    let (y, w) = scan_targets(pts, &busiest, shared);
    let knees = if shared.fixed_map().is_some() {
        vec![0]
    } else {
        knee_candidates(pts)
    };
    let mut best: Option<(f64, u32, Vec<f64>)> = None;
    for knee in knees {
        let rows: Vec<Vec<f64>> = busiest
            .iter()
            .map(|g| {
                let x = g.amdahl();
                let [m1, m2] = map_cols(shared, g, knee);
                vec![x[0], x[1], x[2], x[3], m1, m2]
            })
            .collect();
        let Some((theta, sse)) = linear_lsq(&rows, &y, &w, &[true; 6]) else {
            continue;
        };
        let score = score_of(sse, pts.len(), theta.iter().filter(|v| **v > 0.0).count());
        if best.as_ref().is_none_or(|b| score < b.0) {
            best = Some((score, knee, theta));
        }
    }
    let (_, knee, lin) = best?;
    // Layout: [serial, parallel, io, fixed, per_instance, growth, tail linear, tail log].
    let mut theta0 = lin;
    theta0.extend([0.0, 0.0]);
    let res = lm_over_groups(&theta0, pts, &groups, 4, knee, shared, |t, grp, g| {
        let x = grp.amdahl();
        g[..4].copy_from_slice(&x);
        t[0] * x[0] + t[1] * x[1] + t[2] * x[2] + t[3] * x[3]
    });
    let t = res.theta;
    let (mapping, tail, _) = shared_out(shared, &t, 4, knee);
    Some((
        DurationModel::Amdahl {
            serial_s: t[0],
            parallel_s: t[1],
            io_s: t[2],
            fixed_s: t[3],
        },
        mapping,
        tail,
    ))
}

fn fit_form(
    pts: &[Pt],
    facts: &PlatformFacts,
    choice: ModelChoice,
    opts: FitOptions,
    warn: &mut Warn<'_>,
) -> Option<Fitted> {
    let shared = Shared {
        map: opts.mapping.map_or(MapMode::Free, MapMode::Fixed),
        tail: if opts.tail {
            TailMode::Free
        } else {
            TailMode::Off
        },
    };
    match choice {
        ModelChoice::Amdahl => fit_amdahl(pts, facts, shared),
        _ => fit_eq1(pts, facts, opts.features, shared, warn),
    }
}

fn predict_pt(model: &StepModel, facts: &PlatformFacts, pt: &Pt) -> f64 {
    let mut m = model.clone();
    m.jobs = pt.jobs;
    m.duration_s(
        facts,
        platform::StepConfig::new(pt.memory_mb, pt.fan_out, pt.workers),
    )
}

/// Mean squared relative error of `choice` (with saturation memory `sat`) under `k`-fold
/// cross-validation (fold = index mod k).
fn cv_score(
    pts: &[Pt],
    facts: &PlatformFacts,
    choice: ModelChoice,
    sat: Option<u32>,
    opts: FitOptions,
    k: usize,
) -> f64 {
    let mut sum = 0.0;
    for fold in 0..k {
        let train: Vec<Pt> = pts
            .iter()
            .enumerate()
            .filter(|(i, _)| i % k != fold)
            .map(|(_, p)| Pt { sat, ..*p })
            .collect();
        // Folds' fallbacks are not reported: the fit on all samples reports its own.
        let mut ignored = Vec::new();
        let mut warn = Warn {
            function: "",
            out: &mut ignored,
        };
        let Some((duration, mapping, tail)) = fit_form(&train, facts, choice, opts, &mut warn)
        else {
            return f64::INFINITY;
        };
        let model = StepModel {
            name: String::new(),
            jobs: 1,
            duration,
            mapping,
            tail,
            saturation_mb: sat,
        };
        for pt in pts
            .iter()
            .enumerate()
            .filter(|(i, _)| i % k == fold)
            .map(|(_, p)| p)
        {
            let e = (predict_pt(&model, facts, pt) - pt.y) / pt.y;
            sum += e * e;
        }
    }
    sum / pts.len() as f64
}

/// Distinct sampled memory sizes a saturation needs below it (itself included): the falling part of
/// the curve is fitted on them.
const SATURATION_MIN_BELOW: usize = 3;
/// Distinct sampled memory sizes a saturation needs above it: the flat part it claims is seen there.
const SATURATION_MIN_ABOVE: usize = 2;
/// A saturated model is kept only when its cross-validated error is below this share of the best
/// unsaturated model's: the simpler model wins unless saturation clearly predicts better.
const SATURATION_MARGIN: f64 = 0.8;
/// ... and at least this much lower in mean squared relative error ((0.1%)^2): on samples that the
/// unsaturated model already reproduces, rounding noise must not pick a saturation.
const SATURATION_MIN_GAIN: f64 = 1e-6;

/// Whether error `e` (a mean squared relative error) is clearly below the unsaturated `plain`.
fn clearly_below(e: f64, plain: f64) -> bool {
    e < SATURATION_MARGIN * plain && plain - e > SATURATION_MIN_GAIN
}

/// The sampled memory sizes, increasing and distinct, and the indices of those that may be a
/// saturation memory: at least [`SATURATION_MIN_BELOW`] distinct sampled sizes at or below it and
/// [`SATURATION_MIN_ABOVE`] above.
fn saturation_sizes(pts: &[Pt]) -> (Vec<u32>, Vec<usize>) {
    let mut ms: Vec<u32> = pts.iter().map(|p| p.memory_mb).collect();
    ms.sort_unstable();
    ms.dedup();
    let n = ms.len();
    let eligible = (0..n)
        .filter(|i| i + 1 >= SATURATION_MIN_BELOW && n - (i + 1) >= SATURATION_MIN_ABOVE)
        .collect();
    (ms, eligible)
}

/// Candidate saturation memories per interval between two sampled sizes.
const SATURATION_SUBDIVISIONS: u32 = 4;

/// The points strictly between sampled sizes `lo < hi` that split the interval into
/// [`SATURATION_SUBDIVISIONS`] parts (a curve flattens between samples, rarely exactly at one).
fn interior_points(lo: u32, hi: u32) -> Vec<u32> {
    let mut out: Vec<u32> = (1..SATURATION_SUBDIVISIONS)
        .map(|q| {
            let step = u64::from(hi - lo) * u64::from(q) / u64::from(SATURATION_SUBDIVISIONS);
            // Invariant: step < hi - lo, so the sum stays below hi.
            lo + step as u32
        })
        .filter(|&m| m > lo && m < hi)
        .collect();
    out.dedup();
    out
}

/// Relative sum of squared errors of `choice` fitted to all of `pts` with saturation memory `sat`
/// (the training error that places the saturation memory).
fn train_sse(
    pts: &[Pt],
    facts: &PlatformFacts,
    choice: ModelChoice,
    sat: Option<u32>,
    opts: FitOptions,
) -> f64 {
    let train: Vec<Pt> = pts.iter().map(|p| Pt { sat, ..*p }).collect();
    let mut ignored = Vec::new();
    let mut warn = Warn {
        function: "",
        out: &mut ignored,
    };
    let Some((duration, mapping, tail)) = fit_form(&train, facts, choice, opts, &mut warn) else {
        return f64::INFINITY;
    };
    let model = StepModel {
        name: String::new(),
        jobs: 1,
        duration,
        mapping,
        tail,
        saturation_mb: sat,
    };
    pts.iter()
        .map(|pt| ((predict_pt(&model, facts, pt) - pt.y) / pt.y).powi(2))
        .sum()
}

/// The saturation memory of `form` with the lowest training error, if it lowers the unsaturated
/// training error `plain_sse` clearly (below [`SATURATION_MARGIN`] times and by
/// [`SATURATION_MIN_GAIN`] per sample; a screen: a saturation that does not fit the samples clearly
/// better will not predict them clearly better). Sampled sizes are tried
/// first, then the interior points of the intervals beside the best one.
fn place_saturation(
    pts: &[Pt],
    facts: &PlatformFacts,
    form: ModelChoice,
    opts: FitOptions,
    plain_sse: f64,
) -> Option<u32> {
    let (ms, eligible) = saturation_sizes(pts);
    let mut best: Option<(f64, usize)> = None;
    for &i in &eligible {
        let sse = train_sse(pts, facts, form, Some(ms[i]), opts);
        if best.is_none_or(|b| sse < b.0) {
            best = Some((sse, i));
        }
    }
    let (mut sse, i) = best?;
    // Sums over the samples: compare their means. A NaN error never passes.
    let n = pts.len() as f64;
    if !clearly_below(sse / n, plain_sse / n) {
        return None;
    }
    let mut s = ms[i];
    // The interval below the best size (when its lower end may saturate too) and the one above.
    let below = (i > 0 && eligible.contains(&(i - 1))).then(|| (ms[i - 1], ms[i]));
    let above = Some((ms[i], ms[i + 1]));
    for (lo, hi) in below.into_iter().chain(above) {
        for m in interior_points(lo, hi) {
            let e = train_sse(pts, facts, form, Some(m), opts);
            if e < sse {
                (sse, s) = (e, m);
            }
        }
    }
    Some(s)
}

/// The duration form and saturation `fit_points` fits (see the module docs): the only candidate, or
/// the one with the lowest 5-fold cross-validated error among each form without saturation and with
/// its placed saturation ([`place_saturation`]); a saturated one only when its error is clearly
/// below the best unsaturated one's ([`SATURATION_MARGIN`], [`SATURATION_MIN_GAIN`]).
fn choose_form(pts: &[Pt], facts: &PlatformFacts, opts: FitOptions) -> (ModelChoice, Option<u32>) {
    let forms: &[ModelChoice] = match opts.choice {
        ModelChoice::Auto if pts.len() >= 10 => &[ModelChoice::Eq1, ModelChoice::Amdahl],
        ModelChoice::Auto | ModelChoice::Eq1 => &[ModelChoice::Eq1],
        ModelChoice::Amdahl => &[ModelChoice::Amdahl],
    };
    let try_saturation = opts.saturation && !saturation_sizes(pts).1.is_empty();
    if forms.len() == 1 && !try_saturation {
        return (forms[0], None);
    }
    let k = pts.len().min(5);
    // Ties keep the earlier candidate: Eq. 1 before Amdahl.
    let mut plain = (f64::INFINITY, forms[0]);
    let mut saturated: (f64, ModelChoice, Option<u32>) = (f64::INFINITY, forms[0], None);
    for &form in forms {
        let e = cv_score(pts, facts, form, None, opts, k);
        if e < plain.0 {
            plain = (e, form);
        }
        if !try_saturation {
            continue;
        }
        let plain_sse = train_sse(pts, facts, form, None, opts);
        if let Some(s) = place_saturation(pts, facts, form, opts, plain_sse) {
            let e = cv_score(pts, facts, form, Some(s), opts, k);
            if e < saturated.0 {
                saturated = (e, form, Some(s));
            }
        }
    }
    if clearly_below(saturated.0, plain.0) {
        (saturated.1, saturated.2)
    } else {
        (plain.1, None)
    }
}

fn fit_points(
    name: &str,
    jobs: u32,
    pts: &[Pt],
    facts: &PlatformFacts,
    opts: FitOptions,
) -> Result<FunctionFit, Error> {
    if pts.is_empty() {
        return Err(Error::NotEnoughSamples {
            function: name.to_owned(),
            message: "no samples".into(),
        });
    }
    let (choice, sat) = choose_form(pts, facts, opts);
    let pts: Vec<Pt> = pts.iter().map(|p| Pt { sat, ..*p }).collect();
    let mut warnings = Vec::new();
    let mut warn = Warn {
        function: name,
        out: &mut warnings,
    };
    let (duration, mapping, tail) =
        fit_form(&pts, facts, choice, opts, &mut warn).ok_or_else(|| Error::NotEnoughSamples {
            function: name.to_owned(),
            message: format!("least squares failed on {} samples", pts.len()),
        })?;
    Ok(FunctionFit {
        model: StepModel {
            name: name.to_owned(),
            jobs,
            duration,
            mapping,
            tail,
            saturation_mb: sat,
        },
        warnings,
    })
}

/// Fits one model to `samples` (all of one function). The model's `jobs` is the largest `jobs` among
/// the samples (predictions by [`StepModel::duration_s`] use it; fit with samples of one job count for
/// a workflow step).
///
/// # Errors
/// [`Error::NotEnoughSamples`] without samples or when least squares finds no solution;
/// [`Error::Invalid`] naming the sample for an invalid or out-of-range sample. Too few samples for a
/// case or a segment is not an error: the fit falls back and says so in [`FunctionFit::warnings`].
pub fn fit_function(
    name: &str,
    samples: &[Sample],
    facts: &PlatformFacts,
    opts: FitOptions,
) -> Result<FunctionFit, Error> {
    check_samples(name, samples)?;
    let pts: Vec<Pt> = samples.iter().map(Pt::of).collect();
    let jobs = samples.iter().map(|s| s.jobs).max().unwrap_or(1);
    fit_points(name, jobs, &pts, facts, opts)
}

/// Samples built in code are checked like those read from files: every problem is an error, never a
/// panic later in the fit.
fn check_samples(name: &str, samples: &[Sample]) -> Result<(), Error> {
    for (i, s) in samples.iter().enumerate() {
        if let Err(why) = crate::sample::check_sample(s) {
            return Err(Error::Invalid {
                place: format!("function '{name}', sample {i}"),
                message: format!(
                    "memory_mb = {}, fan_out = {}, workers = {}, jobs = {}, duration_s = {}: {why}",
                    s.memory_mb, s.fan_out, s.workers, s.jobs, s.duration_s
                ),
            });
        }
    }
    Ok(())
}

/// Groups samples by function (in name order).
pub fn by_function(samples: &[Sample]) -> BTreeMap<String, Vec<Sample>> {
    let mut out: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    for s in samples {
        out.entry(s.function.clone()).or_default().push(s.clone());
    }
    out
}

/// Held-out error of fitting `samples` (one function) with `k`-fold cross-validation: sample `i` is in
/// fold `i mod k`; each fold is predicted by a model fitted on the others. `k >= samples.len()` is
/// leave-one-out.
pub fn cross_validate(
    name: &str,
    samples: &[Sample],
    facts: &PlatformFacts,
    opts: FitOptions,
    k: usize,
) -> Result<ErrorReport, Error> {
    let k = k.clamp(2, samples.len().max(2));
    if samples.len() < 2 {
        return Err(Error::NotEnoughSamples {
            function: name.to_owned(),
            message: format!("{} sample(s): cross-validation needs 2", samples.len()),
        });
    }
    check_samples(name, samples)?;
    let pts: Vec<Pt> = samples.iter().map(Pt::of).collect();
    let mut pairs = Vec::with_capacity(pts.len());
    for fold in 0..k {
        let train: Vec<Pt> = pts
            .iter()
            .enumerate()
            .filter(|(i, _)| i % k != fold)
            .map(|(_, p)| *p)
            .collect();
        let model = fit_points(name, 1, &train, facts, opts)?.model;
        for pt in pts
            .iter()
            .enumerate()
            .filter(|(i, _)| i % k == fold)
            .map(|(_, p)| p)
        {
            pairs.push((predict_pt(&model, facts, pt), pt.y));
        }
    }
    Ok(ErrorReport::from_pairs(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::StepConfig;

    fn facts() -> PlatformFacts {
        PlatformFacts::of(&platform::Platform::lambda())
    }

    #[test]
    fn aicc_penalises_parameters() {
        assert!(aicc(1.0, 20, 3) < aicc(1.0, 20, 4));
        assert!(aicc(1.0, 4, 3).is_infinite());
    }

    #[test]
    fn error_report_is_relative() {
        let r = ErrorReport::from_pairs([(1.1, 1.0), (1.8, 2.0)]);
        assert_eq!(r.n, 2);
        assert!((r.max_rel_error - 0.1).abs() < 1e-12 && (r.mean_rel_error - 0.1).abs() < 1e-12);
    }

    #[test]
    fn case2_fits_an_inverse_curve_exactly() {
        let f = facts();
        let samples: Vec<Sample> = [256, 512, 768, 1024, 1280, 1536]
            .iter()
            .map(|&m| {
                let k = f64::from(m) / 1769.0;
                Sample {
                    function: "f".into(),
                    memory_mb: m,
                    fan_out: 1,
                    workers: 1,
                    jobs: 4,
                    duration_s: 2.0 * 4.0 / (k + 0.1) + 0.05,
                }
            })
            .collect();
        let m = fit_function(
            "f",
            &samples,
            &f,
            FitOptions {
                choice: ModelChoice::Eq1,
                ..FitOptions::default()
            },
        )
        .unwrap()
        .model;
        let DurationModel::Eq1 {
            low:
                Eq1::Case2 {
                    alpha2_s,
                    beta2,
                    phi2_s,
                },
            ..
        } = m.duration
        else {
            panic!("{m:?}")
        };
        assert!(
            (alpha2_s - 2.0).abs() < 1e-6
                && (beta2 - 0.1).abs() < 1e-6
                && (phi2_s - 0.05).abs() < 1e-6,
            "{m:?}"
        );
    }
    /// One-instance, one-worker samples at SLApp's memory sizes (128..3008 MB in 192 MB steps) of
    /// `t(m)`, with a deterministic +-3% wobble like measured means.
    fn profile(t: impl Fn(f64) -> f64) -> Vec<Sample> {
        (0..16)
            .map(|i| {
                let m = 128 + 192 * i;
                let wobble = [1.0, 1.03, 0.98, 1.01, 0.97, 1.02, 0.99, 1.0][i as usize % 8];
                Sample {
                    function: "f".into(),
                    memory_mb: m,
                    fan_out: 1,
                    workers: 1,
                    jobs: 1,
                    duration_s: t(f64::from(m)) * wobble,
                }
            })
            .collect()
    }

    #[test]
    fn saturation_is_chosen_on_a_saturating_profile() {
        let f = facts();
        // Time-sliced CPU work until 950 MB, then flat (I/O-bound): like SLApp App3's function 1.
        let samples = profile(|m| 0.65 * 1000.0 / m.min(950.0) + 0.02);
        let fit = fit_function("f", &samples, &f, FitOptions::default()).unwrap();
        let s = fit.model.saturation_mb.expect("a saturation memory");
        assert!((850..=1100).contains(&s), "saturates at {s} MB");
        // Flat beyond it, for one worker; billing still grows with the memory.
        let at = |m| fit.model.duration_s(&f, StepConfig::new(m, 1, 1));
        assert!((at(4096) - at(10_240)).abs() < 1e-12);
        let cost = |m| fit.model.cost_usd(&f, StepConfig::new(m, 1, 1));
        assert!(cost(10_240) > 2.0 * cost(4096));
        let loo = cross_validate("f", &samples, &f, FitOptions::default(), 16).unwrap();
        let plain = FitOptions {
            saturation: false,
            ..FitOptions::default()
        };
        let loo_plain = cross_validate("f", &samples, &f, plain, 16).unwrap();
        assert!(
            loo.max_rel_error < 0.08 && loo.max_rel_error < loo_plain.max_rel_error,
            "{loo:?} vs without saturation {loo_plain:?}"
        );
        // The paper's model never saturates.
        let paper = fit_function("f", &samples, &f, FitOptions::paper()).unwrap();
        assert_eq!(paper.model.saturation_mb, None);
    }

    #[test]
    fn saturation_is_not_chosen_on_a_non_saturating_profile() {
        let f = facts();
        // Multi-threaded work that keeps getting faster up to 3008 MB, plus a fixed part.
        let samples = profile(|m| 0.7 * 1769.0 / m + 0.4);
        let fit = fit_function("f", &samples, &f, FitOptions::default()).unwrap();
        assert_eq!(fit.model.saturation_mb, None, "{}", fit.model.describe());
        // Nor on single-threaded work, which Eq. 1's segments already flatten at m_s.
        let samples = profile(|m| 0.2 * 1769.0 / m.min(1769.0));
        let fit = fit_function("f", &samples, &f, FitOptions::default()).unwrap();
        assert_eq!(fit.model.saturation_mb, None, "{}", fit.model.describe());
    }

    #[test]
    fn saturation_candidates_need_samples_on_both_sides() {
        let pts: Vec<Pt> = [128, 512, 1024, 2048, 3008, 3008]
            .iter()
            .map(|&m| Pt {
                memory_mb: m,
                fan_out: 1,
                workers: 1,
                jobs: 1,
                y: 1.0,
                sat: None,
            })
            .collect();
        // Three sizes at or below, two above: only 1024 MB.
        let (ms, eligible) = saturation_sizes(&pts);
        assert_eq!(ms, [128, 512, 1024, 2048, 3008]);
        assert_eq!(eligible, [2]);
        assert_eq!(interior_points(1024, 2048), [1280, 1536, 1792]);
        assert_eq!(interior_points(1024, 1026), [1025]);
        assert!(saturation_sizes(&pts[..4]).1.is_empty());
    }
}
