//! The exact solver of FWCP (StepConf Eq. 6: minimise the total predicted cost subject to the longest
//! path of predicted step durations being within the SLO, Eq. 5) on any DAG, and on a sub-DAG: the
//! steps of a running request that have not started, with the others finished (or running) at known
//! times and a deadline.
//!
//! # Design: a DAG-aware branch and bound
//!
//! First an exact **series reduction**: a free step whose only predecessor is a free step with no
//! other successor always starts when that one ends, so the chain acts as one unit whose options are
//! the Pareto front of the sums (synthetic16: 16 steps become 12 units). Units are branched on in
//! topological order; a unit's options are its Pareto front (a dominated configuration is never
//! needed), tried cheapest first among those that still fit. The incumbent starts from a greedy repair
//! (speed up the step of the overrunning path that costs least per second saved). At every node:
//!
//! - **Feasibility bound**: each unassigned step `j` gets an earliest start `est_j` (assigned steps at
//!   their planned finish, unassigned ones at their fastest option) and a tail (longest path after it
//!   at fastest options); its duration is capped by `cap_j = deadline - est_j - tail_j`. A cap below the
//!   fastest option proves the node infeasible.
//! - **Cost bound**: `sum_j cheapest option of j with duration <= cap_j`. When those capped-cheapest
//!   options happen to form a schedule that meets the deadline, that completion is optimal for the
//!   whole subtree: it becomes the incumbent and the subtree is closed without branching.
//! - **Path bound (Lagrangian/LP)**: otherwise the schedule of capped-cheapest options has a longest
//!   path that overruns; on that path the steps must share the budget left, and the linear relaxation
//!   of this multiple-choice knapsack (convex hull of each step's front, greedy by cost per second
//!   saved, which equals the Lagrangian dual bound for that path) bounds their cost from below.
//! - **Lagrangian bound over many paths**: at the root, multipliers on the paths that the relaxed
//!   solutions violate are improved by projected subgradient steps (Polyak step against the
//!   incumbent, up to 150 iterations); with them the relaxation separates per step
//!   (`min_o c_o + f_j d_o`, `f_j` the multipliers of the paths through `j`), and at every node the
//!   minimum over the options that still fit (prefix minima) gives a bound in O(steps). Its primal
//!   solutions that meet the deadline also improve the incumbent.
//!
//! The node's bound is the largest of these. Costs in FWCP are very flat (on synthetic16 the cheapest
//! and the fastest feasible plans differ by ~10%), so the root gap of 0.1-0.3% still leaves thousands
//! of nodes at tight SLOs; see `bench/optimizer.md` for measured times.
//!
//! **Why not a solver crate.** The issue measured good_lp + HiGHS (a C++ build of about 5 minutes, apt
//! packages cmake and libclang-dev, and 7.3 s on 100 steps x 10 configurations) and microlp (pure Rust,
//! 57 ms on 30 x 6 but slower beyond). A MILP of FWCP needs start-time variables and big-M precedence
//! rows, whose LP relaxations are weak; the structure here (a DAG, per-step Pareto fronts of ~5-25
//! options, a single deadline) gives much tighter combinatorial bounds and no native dependency. Measured
//! on `examples/synthetic16.yaml` with the paper's 192 configurations per step: see `bench/optimizer.md`.
//!
//! Determinism: the search order is fixed (topological order, then cheapest option first) and a new
//! incumbent must be strictly cheaper, so the same inputs give the same plan. A node limit
//! ([`SolveOptions::max_nodes`]) guards against pathological inputs: when hit, the best plan found is
//! returned with `proven_optimal: false`.

use crate::space::{Model, StepOption};

/// Tolerance on durations, seconds: a plan whose longest path is within `deadline + DURATION_EPS_S`
/// meets the deadline.
pub const DURATION_EPS_S: f64 = 1e-9;

/// Limits of one solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SolveOptions {
    /// Branch-and-bound nodes after which the search stops with the best plan found.
    pub max_nodes: u64,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions {
            max_nodes: 20_000_000,
        }
    }
}

/// A (sub-)problem: which steps are already fixed and when they finish, when free steps may start at
/// the earliest, and the deadline. All times are seconds since the request arrived.
#[derive(Debug, Clone, Copy)]
pub struct SubProblem<'a> {
    /// Per step: `Some(finish_s)` for a step that is finished or running (its configuration is no
    /// longer a decision), `None` for a free step to configure.
    pub fixed_finish_s: &'a [Option<f64>],
    /// Per step: the earliest time a free step may start (its predecessors also bound it). Entries of
    /// fixed steps are ignored.
    pub ready_s: &'a [f64],
    /// Every step must finish by this time (the SLO for a whole request).
    pub deadline_s: f64,
    /// Optional per-step straggler factors `rho_i >= 1` (empty: none). With them, a plan must also
    /// survive any single step running `rho_i` times its planned duration while every step after it
    /// runs at its fastest option: `start_i + rho_i * d_i + fastest tail after i <= deadline` (a
    /// single-failure robust constraint; `replan` uses it so a late straggler can be made up for).
    /// Series reduction is off when factors are given.
    pub robust_factor: &'a [f64],
}

/// The solver's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// Per step: index into the step's option list (the front passed to the solver), `None` for fixed
    /// steps.
    pub choice: Vec<Option<usize>>,
    /// Per step: planned finish, seconds since arrival (fixed steps: as given).
    pub finish_s: Vec<f64>,
    /// Total predicted cost of the free steps, USD.
    pub cost_usd: f64,
    /// Latest finish over all steps, seconds since arrival.
    pub latency_s: f64,
    /// Whether the plan meets the deadline. `false`: no plan can, and this is the fastest plan (best
    /// effort: every free step at its fastest option).
    pub feasible: bool,
    /// Whether the search finished (the plan is optimal); `false` only when the node limit was hit.
    pub proven_optimal: bool,
    /// Whether the plan also meets the straggler constraints of [`SubProblem::robust_factor`] (equal
    /// to `feasible` when there are none). `false` with `feasible: true`: no robust plan was found
    /// and this is the fastest plan.
    pub robust_feasible: bool,
    /// Branch-and-bound nodes visited.
    pub n_nodes: u64,
}

/// Reusable solver state (scratch buffers), so that repeated solves do not allocate much.
#[derive(Debug, Default, Clone)]
pub struct Solver {
    options: SolveOptions,
}

/// Per-solve data over the free steps, indexed by position in topological order.
struct Search<'a> {
    fronts: Vec<&'a [StepOption]>,
    hulls: Vec<Vec<(f64, f64)>>,
    base_s: Vec<f64>,
    free_preds: Vec<Vec<usize>>,
    fast_s: Vec<f64>,
    tail_s: Vec<f64>,
    rest_min_usd: Vec<f64>,
    deadline_s: f64,
    /// Per unit: straggler factor (1 when none).
    rho: Vec<f64>,
    // Mutable search state.
    finish_s: Vec<f64>,
    choice: Vec<usize>,
    best_usd: f64,
    best_choice: Vec<usize>,
    n_nodes: u64,
    max_nodes: u64,
    // Scratch for bounds.
    est_s: Vec<f64>,
    cap_idx: Vec<usize>,
    path_f_s: Vec<f64>,
    path_prev: Vec<usize>,
    path_origin: Vec<usize>,
    segs: Vec<(f64, f64)>,
    // Lagrangian bound: per position, prefix minima over options of `cost + f * duration`, and the
    // constant `sum_P lambda_P * budget_P` (see `lagrange`).
    lag_f: Vec<f64>,
    lag_pm: Vec<Vec<f64>>,
    lag_const: f64,
    /// The paths with multipliers behind `lag_f` (positions, budget, lambda).
    lag_paths: Vec<(Vec<usize>, f64, f64)>,
}

/// Nodes this shallow re-optimise the Lagrangian multipliers for their subtree (warm-started).
const LAGRANGE_DEPTH: usize = 2;

const NONE: usize = usize::MAX;

impl Solver {
    /// A solver with these limits.
    pub fn new(options: SolveOptions) -> Self {
        Solver { options }
    }

    /// Solves FWCP for `sub` with the step graph of `model` and the options `fronts[i]` of each step
    /// (each sorted by duration ascending with cost strictly descending, as [`Model::pareto`] gives;
    /// a caller may pass scaled copies). Edges from a free step to a fixed one are ignored (a skipped
    /// choice branch). Panics (a caller bug, not user input) if `fronts` or `sub`'s slices do not have
    /// one entry per step or a front is empty; [`Model`] guarantees non-empty fronts.
    pub fn solve(
        &mut self,
        model: &Model,
        fronts: &[Vec<StepOption>],
        sub: &SubProblem<'_>,
    ) -> Solution {
        let n = model.n_steps();
        assert!(
            fronts.len() == n && sub.fixed_finish_s.len() == n && sub.ready_s.len() == n,
            "one front, fixed finish and ready time per step"
        );
        let mut pos = vec![NONE; n];
        let mut free = Vec::new();
        for &i in model.topo() {
            let i = i as usize;
            if sub.fixed_finish_s[i].is_none() {
                assert!(!fronts[i].is_empty(), "every step has an option");
                pos[i] = free.len();
                free.push(i);
            }
        }
        let fixed_latency_s = sub
            .fixed_finish_s
            .iter()
            .flatten()
            .copied()
            .fold(0.0, f64::max);
        let step_base = |i: usize| {
            model
                .preds(i)
                .iter()
                .filter_map(|&p| sub.fixed_finish_s[p as usize])
                .fold(sub.ready_s[i].max(0.0), f64::max)
        };
        // Series reduction (exact): a free step whose only predecessor is a free step with no other
        // successor always starts when that one finishes, so the two act as one unit whose options
        // are the Pareto front of the sums. Units keep the topological order of their first steps.
        let mut unit_of = vec![NONE; n];
        let mut members: Vec<Vec<usize>> = Vec::new();
        let mut unit_base: Vec<f64> = Vec::new();
        let mut unit_front: Vec<Vec<StepOption>> = Vec::new();
        let mut picks: Vec<Vec<Vec<usize>>> = Vec::new();
        for &i in &free {
            let preds = model.preds(i);
            let chain_pred = (preds.len() == 1).then(|| preds[0] as usize).filter(|&p| {
                sub.robust_factor.is_empty()
                    && pos[p] != NONE
                    && model.succs(p).len() == 1
                    && sub.ready_s[i] <= unit_base[unit_of[p]]
            });
            match chain_pred {
                Some(p) => {
                    let u = unit_of[p];
                    unit_of[i] = u;
                    members[u].push(i);
                    // Candidates as (option, index into the unit's front, option of step i): the
                    // pick lists are built only for the survivors (the cross product is large).
                    let mut cands: Vec<(StepOption, usize, usize)> =
                        Vec::with_capacity(unit_front[u].len() * fronts[i].len());
                    for (ai, a) in unit_front[u].iter().enumerate() {
                        for (j, b) in fronts[i].iter().enumerate() {
                            let o = StepOption {
                                duration_s: a.duration_s + b.duration_s,
                                cost_usd: a.cost_usd + b.cost_usd,
                                ..*a
                            };
                            cands.push((o, ai, j));
                        }
                    }
                    // Ties keep generation order (the indices), so the order is total and the
                    // faster unstable sort is deterministic.
                    cands.sort_unstable_by(|x, y| {
                        x.0.duration_s
                            .total_cmp(&y.0.duration_s)
                            .then(x.0.cost_usd.total_cmp(&y.0.cost_usd))
                            .then((x.1, x.2).cmp(&(y.1, y.2)))
                    });
                    let (mut f, mut pk): (Vec<StepOption>, Vec<Vec<usize>>) =
                        (Vec::new(), Vec::new());
                    for (o, ai, j) in cands {
                        if f.last()
                            .is_none_or(|l: &StepOption| o.cost_usd < l.cost_usd)
                        {
                            f.push(o);
                            let mut c = Vec::with_capacity(picks[u][ai].len() + 1);
                            c.extend_from_slice(&picks[u][ai]);
                            c.push(j);
                            pk.push(c);
                        }
                    }
                    unit_front[u] = f;
                    picks[u] = pk;
                }
                None => {
                    unit_of[i] = members.len();
                    members.push(vec![i]);
                    unit_base.push(step_base(i));
                    unit_front.push(fronts[i].clone());
                    picks.push((0..fronts[i].len()).map(|j| vec![j]).collect());
                }
            }
        }
        let m = members.len();
        let base_s = unit_base;
        let mut free_preds = vec![Vec::new(); m];
        for (u, mem) in members.iter().enumerate() {
            for &p in model.preds(mem[0]) {
                if pos[p as usize] != NONE {
                    free_preds[u].push(unit_of[p as usize]);
                }
            }
        }
        let fronts_k: Vec<&[StepOption]> = unit_front.iter().map(Vec::as_slice).collect();
        let fast_s: Vec<f64> = fronts_k.iter().map(|f| f[0].duration_s).collect();
        let mut tail_s = vec![0.0f64; m];
        for k in (0..m).rev() {
            let last = *members[k].last().expect("a unit has a step");
            let mut t = 0.0f64;
            for &s in model.succs(last) {
                if pos[s as usize] != NONE {
                    let ks = unit_of[s as usize];
                    t = t.max(fast_s[ks] + tail_s[ks]);
                }
            }
            tail_s[k] = t;
        }
        let mut rest_min_usd = vec![0.0; m + 1];
        for k in (0..m).rev() {
            rest_min_usd[k] = rest_min_usd[k + 1] + fronts_k[k].last().map_or(0.0, |o| o.cost_usd);
        }
        let mut search = Search {
            hulls: fronts_k.iter().map(|f| lower_hull(f)).collect(),
            fronts: fronts_k,
            base_s,
            free_preds,
            fast_s,
            tail_s,
            rest_min_usd,
            deadline_s: sub.deadline_s,
            rho: members
                .iter()
                .map(|mem| {
                    sub.robust_factor
                        .get(mem[0])
                        .copied()
                        .filter(|r| r.is_finite())
                        .unwrap_or(1.0)
                        .max(1.0)
                })
                .collect(),
            finish_s: vec![0.0; m],
            choice: vec![0; m],
            best_usd: f64::INFINITY,
            best_choice: vec![0; m],
            n_nodes: 0,
            max_nodes: self.options.max_nodes,
            est_s: vec![0.0; m],
            cap_idx: vec![0; m],
            path_f_s: vec![0.0; m],
            path_prev: vec![NONE; m],
            path_origin: vec![0; m],
            segs: Vec::new(),
            lag_f: vec![0.0; m],
            lag_pm: Vec::new(),
            lag_const: 0.0,
            lag_paths: Vec::new(),
        };
        let feasible_at_all =
            fixed_latency_s <= sub.deadline_s + DURATION_EPS_S && search.root_feasible();
        let mut proven_optimal = true;
        if feasible_at_all {
            if m > 0 {
                match search.bound(0, 0.0, 0.0) {
                    Bound::Closed(c) => {
                        search.best_usd = c;
                        search.best_choice.copy_from_slice(&search.cap_idx);
                    }
                    Bound::Open(_) => {
                        search.greedy_incumbent();
                        search.lagrange(0, 150);
                        search.branch(0, 0.0, 0.0);
                    }
                    Bound::Infeasible => unreachable!("root checked feasible"),
                }
            } else {
                search.best_usd = 0.0;
            }
            proven_optimal = search.n_nodes < search.max_nodes;
            if !search.best_usd.is_finite() {
                // Only possible when the node limit stopped the search before any plan was found.
                search.best_choice.iter_mut().for_each(|c| *c = 0);
            }
        } else {
            search.best_choice.iter_mut().for_each(|c| *c = 0);
        }
        // Rebuild the plan's schedule and totals from the chosen options.
        let mut choice = vec![None; n];
        let mut finish: Vec<f64> = sub
            .fixed_finish_s
            .iter()
            .map(|f| f.unwrap_or(0.0))
            .collect();
        let mut cost_usd = 0.0;
        for (u, mem) in members.iter().enumerate() {
            for (&i, &j) in mem.iter().zip(&picks[u][search.best_choice[u]]) {
                choice[i] = Some(j);
            }
        }
        for &i in &free {
            let o = &fronts[i][choice[i].expect("free steps are chosen")];
            let start = model
                .preds(i)
                .iter()
                .map(|&p| finish[p as usize])
                .fold(sub.ready_s[i].max(0.0), f64::max);
            finish[i] = start + o.duration_s;
            cost_usd += o.cost_usd;
        }
        let latency_s = finish.iter().copied().fold(0.0, f64::max);
        Solution {
            choice,
            finish_s: finish,
            cost_usd,
            latency_s,
            feasible: latency_s <= sub.deadline_s + DURATION_EPS_S,
            proven_optimal: proven_optimal && feasible_at_all,
            robust_feasible: feasible_at_all
                && search.best_usd.is_finite()
                && latency_s <= sub.deadline_s + DURATION_EPS_S,
            n_nodes: search.n_nodes,
        }
    }
}

enum Bound {
    /// No completion meets the deadline.
    Infeasible,
    /// The capped-cheapest completion (in `cap_idx`) meets the deadline; its cost of the rest is given.
    Closed(f64),
    /// A lower bound on the cost of the rest.
    Open(f64),
}

impl Search<'_> {
    fn root_feasible(&mut self) -> bool {
        !matches!(self.bound(0, 0.0, 0.0), Bound::Infeasible)
    }

    /// Schedule of options `idx` (per position): finish per position, and the longest path as
    /// `(overrun past the deadline, last position)`, with `path_prev`/`path_origin` filled.
    fn schedule(&mut self, idx: &[usize]) -> (f64, usize) {
        let mut worst = (f64::NEG_INFINITY, NONE);
        for (t, &j) in idx.iter().enumerate() {
            let mut a = self.base_s[t];
            let mut prev = NONE;
            for &p in &self.free_preds[t] {
                if self.path_f_s[p] > a {
                    a = self.path_f_s[p];
                    prev = p;
                }
            }
            self.path_f_s[t] = a + self.fronts[t][j].duration_s;
            self.path_prev[t] = prev;
            self.path_origin[t] = if prev == NONE {
                t
            } else {
                self.path_origin[prev]
            };
            let over = self.path_f_s[t] - self.deadline_s;
            if over > worst.0 {
                worst = (over, t);
            }
        }
        worst
    }

    /// After [`Self::schedule`] of `idx`: the first unit whose straggler constraint fails, if any.
    fn robust_violation(&self, idx: &[usize]) -> Option<usize> {
        (0..self.fronts.len()).find(|&t| {
            let d = self.fronts[t][idx[t]].duration_s;
            self.rho[t] > 1.0
                && self.path_f_s[t] - d + self.rho[t] * d + self.tail_s[t]
                    > self.deadline_s + DURATION_EPS_S
        })
    }

    /// A first incumbent: from every step's cheapest option that fits (others at their fastest),
    /// repeatedly speed up the step of the longest path whose next faster option costs least per
    /// second saved, until the deadline is met.
    fn greedy_incumbent(&mut self) {
        let m = self.fronts.len();
        let mut idx = self.cap_idx.clone();
        for _ in 0..self.fronts.iter().map(|f| f.len()).sum::<usize>() + 1 {
            let (over, mut last) = self.schedule(&idx);
            if over <= DURATION_EPS_S {
                match self.robust_violation(&idx) {
                    None => {
                        let cost: f64 = (0..m).map(|t| self.fronts[t][idx[t]].cost_usd).sum();
                        if improves(cost, self.best_usd) {
                            self.best_usd = cost;
                            self.best_choice.copy_from_slice(&idx);
                        }
                        return;
                    }
                    Some(t) => last = t,
                }
            }
            let mut best: Option<(f64, usize)> = None;
            let mut t = last;
            while t != NONE {
                let j = idx[t];
                if j > 0 {
                    let (a, b) = (self.fronts[t][j], self.fronts[t][j - 1]);
                    let rate = (b.cost_usd - a.cost_usd) / (a.duration_s - b.duration_s).max(1e-12);
                    if best.is_none_or(|(r, _)| rate < r) {
                        best = Some((rate, t));
                    }
                }
                t = self.path_prev[t];
            }
            match best {
                Some((_, t)) => idx[t] -= 1,
                None => return,
            }
        }
    }

    /// Lagrangian relaxation of the path constraints (each free path `P` from its origin `u`:
    /// `base_u + sum_P d <= deadline`), multipliers `lambda_P >= 0` on the paths found so far, improved
    /// by projected subgradient steps (Polyak step size against the incumbent). The relaxation
    /// separates per step: `sum_j min_o (c_o + f_j d_o) - sum_P lambda_P (deadline - base_u)` with
    /// `f_j = sum_{P ∋ j} lambda_P`, a lower bound on the cost at every node of the search when the
    /// minimum is taken over the options that still fit there (prefix minima).
    ///
    /// `k`: positions before it are fixed at `choice` (a node's prefix); the multipliers found are
    /// valid bounds anywhere, and tightest in that node's subtree. Warm-starts from the current paths.
    fn lagrange(&mut self, k: usize, iterations: usize) {
        let m = self.fronts.len();
        if !self.best_usd.is_finite() {
            return;
        }
        let mut paths = std::mem::take(&mut self.lag_paths);
        let mut f = vec![0.0f64; m];
        for p in &paths {
            for &t in &p.0 {
                f[t] += p.2;
            }
        }
        let mut best_l = f64::NEG_INFINITY;
        let mut best_f = f.clone();
        let mut best_const = 0.0;
        let mut theta = 1.0;
        let mut since_improved = 0;
        let mut idx = vec![0usize; m];
        let mut best_paths = paths.clone();
        for _iter in 0..iterations {
            // Minimise the relaxation for the current multipliers (the prefix is fixed).
            let mut l = 0.0;
            for t in 0..k {
                let o = self.fronts[t][self.choice[t]];
                idx[t] = self.choice[t];
                l += o.cost_usd + f[t] * o.duration_s;
            }
            for t in k..m {
                let (mut bj, mut bv) = (0, f64::INFINITY);
                for (j, o) in self.fronts[t].iter().enumerate() {
                    let v = o.cost_usd + f[t] * o.duration_s;
                    if v < bv {
                        bv = v;
                        bj = j;
                    }
                }
                idx[t] = bj;
                l += bv;
            }
            let konst: f64 = paths.iter().map(|p| p.2 * p.1).sum();
            l -= konst;
            if l > best_l + 1e-15 {
                best_l = l;
                best_f.copy_from_slice(&f);
                best_const = konst;
                best_paths.clone_from(&paths);
                since_improved = 0;
            } else {
                since_improved += 1;
                if since_improved >= 8 {
                    theta /= 2.0;
                    since_improved = 0;
                }
            }
            // The relaxed solution's schedule: a primal candidate and the most violated path.
            let (over, last) = self.schedule(&idx);
            if over <= DURATION_EPS_S && self.robust_violation(&idx).is_none() {
                let cost: f64 = (0..m).map(|t| self.fronts[t][idx[t]].cost_usd).sum();
                if improves(cost, self.best_usd) {
                    self.best_usd = cost;
                    self.best_choice.copy_from_slice(&idx);
                }
            } else if paths.len() < 64 {
                let mut path = Vec::new();
                let mut t = last;
                while t != NONE {
                    path.push(t);
                    t = self.path_prev[t];
                }
                path.reverse();
                let budget = self.deadline_s - self.base_s[path[0]];
                if !paths.iter().any(|p| p.0 == path) {
                    paths.push((path, budget, 0.0));
                }
            }
            let gap = self.best_usd - l;
            if gap <= 1e-12 * self.best_usd.abs() || theta < 1e-4 {
                break;
            }
            // Projected subgradient step on every known path.
            let grads: Vec<f64> = paths
                .iter()
                .map(|(p, budget, _)| {
                    p.iter()
                        .map(|&t| self.fronts[t][idx[t]].duration_s)
                        .sum::<f64>()
                        - budget
                })
                .collect();
            let norm2: f64 = paths
                .iter()
                .zip(&grads)
                .filter(|(p, g)| p.2 > 0.0 || **g > 0.0)
                .map(|(_, g)| g * g)
                .sum();
            if norm2 <= 0.0 {
                break;
            }
            let step = theta * gap / norm2;
            f.iter_mut().for_each(|x| *x = 0.0);
            for (p, g) in paths.iter_mut().zip(&grads) {
                p.2 = (p.2 + step * g).max(0.0);
                for &t in &p.0 {
                    f[t] += p.2;
                }
            }
        }
        self.lag_f = best_f;
        self.lag_const = best_const;
        self.lag_paths = best_paths;
        self.lag_pm = (0..m)
            .map(|t| {
                let mut acc = f64::INFINITY;
                self.fronts[t]
                    .iter()
                    .map(|o| {
                        acc = acc.min(o.cost_usd + self.lag_f[t] * o.duration_s);
                        acc
                    })
                    .collect()
            })
            .collect();
    }

    /// Depth-first branching on free step `k` (all steps before it assigned, costing `cost_usd`).
    fn branch(&mut self, k: usize, cost_usd: f64, lag_usd: f64) {
        self.n_nodes += 1;
        if self.n_nodes >= self.max_nodes {
            return;
        }
        let start = self.start_of(k);
        let cap = (self.deadline_s - start - self.tail_s[k]) / self.rho[k];
        let front = self.fronts[k];
        let Some(j_max) = last_fitting(front, cap) else {
            return;
        };
        let saved = (1..=LAGRANGE_DEPTH).contains(&k).then(|| {
            let saved = (
                self.lag_f.clone(),
                self.lag_pm.clone(),
                self.lag_const,
                self.lag_paths.clone(),
            );
            self.lagrange(k, 40);
            saved
        });
        self.branch_options(k, cost_usd, lag_usd, start, j_max);
        if let Some((f, pm, c, paths)) = saved {
            self.lag_f = f;
            self.lag_pm = pm;
            self.lag_const = c;
            self.lag_paths = paths;
        }
    }

    /// The options loop of [`Self::branch`].
    fn branch_options(&mut self, k: usize, cost_usd: f64, lag_usd: f64, start: f64, j_max: usize) {
        let m = self.fronts.len();
        let front = self.fronts[k];
        for j in (0..=j_max).rev() {
            let o = front[j];
            let c = cost_usd + o.cost_usd;
            let lag = lag_usd + o.cost_usd + self.lag_f[k] * o.duration_s;
            // Options get dearer as j falls: once even the cheapest rest cannot beat the incumbent, stop.
            if !improves(c + self.rest_min_usd[k + 1], self.best_usd) {
                break;
            }
            self.choice[k] = j;
            self.finish_s[k] = start + o.duration_s;
            if k + 1 == m {
                self.best_usd = c;
                self.best_choice.copy_from_slice(&self.choice);
                continue;
            }
            match self.bound(k + 1, c, lag) {
                Bound::Infeasible => {}
                Bound::Closed(rest) => {
                    if improves(c + rest, self.best_usd) {
                        self.best_usd = c + rest;
                        self.best_choice[..=k].copy_from_slice(&self.choice[..=k]);
                        let (head, tail) = (k + 1, m);
                        self.best_choice[head..tail].copy_from_slice(&self.cap_idx[head..tail]);
                    }
                }
                Bound::Open(lb) => {
                    if improves(c + lb, self.best_usd) {
                        self.branch(k + 1, c, lag);
                        if self.n_nodes >= self.max_nodes {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Start of free step `k` when all its free predecessors are assigned.
    fn start_of(&self, k: usize) -> f64 {
        self.free_preds[k]
            .iter()
            .map(|&p| self.finish_s[p])
            .fold(self.base_s[k], f64::max)
    }

    /// Bounds the completion of free steps `k..` given the assignment of `..k`. Fills `cap_idx[k..]`
    /// with each step's cheapest option within its cap.
    /// `cost_usd` is the cost of the assigned steps and `lag_usd` their Lagrangian terms.
    fn bound(&mut self, k: usize, cost_usd: f64, lag_usd: f64) -> Bound {
        let m = self.fronts.len();
        let mut sum_usd = 0.0;
        for t in k..m {
            let mut est = self.base_s[t];
            for &p in &self.free_preds[t] {
                let f = if p < k {
                    self.finish_s[p]
                } else {
                    self.est_s[p] + self.fast_s[p]
                };
                est = est.max(f);
            }
            self.est_s[t] = est;
            let cap = (self.deadline_s - est - self.tail_s[t]) / self.rho[t];
            let Some(j) = last_fitting(self.fronts[t], cap) else {
                return Bound::Infeasible;
            };
            self.cap_idx[t] = j;
            sum_usd += self.fronts[t][j].cost_usd;
        }
        // Schedule of the capped-cheapest options: the longest path and where it starts.
        let mut worst = NONE;
        let mut worst_f = f64::NEG_INFINITY;
        let mut robust_ok = true;
        for t in k..m {
            let mut a = self.base_s[t];
            let mut prev = NONE;
            let mut prev_f = f64::NEG_INFINITY;
            for &p in &self.free_preds[t] {
                if p < k {
                    a = a.max(self.finish_s[p]);
                } else if self.path_f_s[p] > prev_f {
                    prev_f = self.path_f_s[p];
                    prev = p;
                }
            }
            let d = self.fronts[t][self.cap_idx[t]].duration_s;
            if self.rho[t] > 1.0
                && a.max(prev_f) + self.rho[t] * d + self.tail_s[t]
                    > self.deadline_s + DURATION_EPS_S
            {
                robust_ok = false;
            }
            if prev != NONE && prev_f > a {
                self.path_f_s[t] = prev_f + d;
                self.path_prev[t] = prev;
                self.path_origin[t] = self.path_origin[prev];
            } else {
                self.path_f_s[t] = a + d;
                self.path_prev[t] = NONE;
                self.path_origin[t] = t;
            }
            if self.path_f_s[t] > worst_f {
                worst_f = self.path_f_s[t];
                worst = t;
            }
        }
        if worst_f <= self.deadline_s + DURATION_EPS_S {
            // The capped-cheapest schedule meets the deadline: optimal for the subtree if it is also
            // robust; otherwise its cost is still a lower bound.
            return if robust_ok {
                Bound::Closed(sum_usd)
            } else {
                Bound::Open(sum_usd)
            };
        }
        // LP (convex hull) bound on the overrunning path (StepConf Theorem 1: each path is a
        // multiple-choice knapsack).
        let origin = self.path_origin[worst];
        let mut a = self.base_s[origin];
        for &p in &self.free_preds[origin] {
            if p < k {
                a = a.max(self.finish_s[p]);
            }
        }
        let budget = self.deadline_s - a;
        self.segs.clear();
        let mut path_usd_capped = 0.0;
        let mut path_usd_lp = 0.0;
        let mut total_d = 0.0;
        let mut t = worst;
        while t != NONE {
            let o = self.fronts[t][self.cap_idx[t]];
            path_usd_capped += o.cost_usd;
            total_d += o.duration_s;
            path_usd_lp += hull_segments_from(&self.hulls[t], o.duration_s, &mut self.segs);
            t = self.path_prev[t];
        }
        let mut need = total_d - budget;
        if need > 0.0 {
            self.segs.sort_by(|x, y| x.0.total_cmp(&y.0));
            for &(slope, len) in &self.segs {
                let take = len.min(need);
                path_usd_lp += slope * take;
                need -= take;
                if need <= 0.0 {
                    break;
                }
            }
            if need > DURATION_EPS_S {
                return Bound::Infeasible;
            }
        }
        let mut rest = sum_usd + (path_usd_lp - path_usd_capped).max(0.0);
        if !self.lag_pm.is_empty() {
            // The prefix's Lagrangian terms under the multipliers in force (they change with depth).
            let _ = lag_usd;
            let prefix: f64 = (0..k)
                .map(|t| {
                    let o = self.fronts[t][self.choice[t]];
                    o.cost_usd + self.lag_f[t] * o.duration_s
                })
                .sum();
            let lag_total = prefix + (k..m).map(|t| self.lag_pm[t][self.cap_idx[t]]).sum::<f64>()
                - self.lag_const;
            rest = rest.max(lag_total - cost_usd);
        }
        Bound::Open(rest)
    }
}

/// Whether `candidate` is strictly cheaper than `best` (beyond rounding noise).
fn improves(candidate: f64, best: f64) -> bool {
    if best.is_infinite() {
        return candidate < best;
    }
    candidate < best - 1e-12 * best.abs().max(1e-9)
}

/// Index of the cheapest option with duration within `cap` (the last fitting one), if any.
fn last_fitting(front: &[StepOption], cap: f64) -> Option<usize> {
    let n = front.partition_point(|o| o.duration_s <= cap + DURATION_EPS_S);
    n.checked_sub(1)
}

/// Lower convex hull of a front's (duration, cost) points, slowest first.
fn lower_hull(front: &[StepOption]) -> Vec<(f64, f64)> {
    let mut hull: Vec<(f64, f64)> = Vec::with_capacity(front.len());
    // Slowest (cheapest) first: durations descending, costs ascending.
    for o in front.iter().rev() {
        let p = (o.duration_s, o.cost_usd);
        while hull.len() >= 2 {
            let a = hull[hull.len() - 2];
            let b = hull[hull.len() - 1];
            // Slopes in cost per second saved must increase along the hull.
            let s_ab = (b.1 - a.1) / (a.0 - b.0);
            let s_bp = (p.1 - b.1) / (b.0 - p.0);
            if s_bp <= s_ab {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(p);
    }
    hull
}

/// Pushes the hull's segments below duration `d` onto `segs` as `(cost per second saved, seconds)` and
/// returns the hull's cost at `d` (a lower bound of the cheapest option at or below `d`).
fn hull_segments_from(hull: &[(f64, f64)], d: f64, segs: &mut Vec<(f64, f64)>) -> f64 {
    let r = hull.partition_point(|v| v.0 > d);
    if r == 0 {
        for w in hull.windows(2) {
            segs.push(((w[1].1 - w[0].1) / (w[0].0 - w[1].0), w[0].0 - w[1].0));
        }
        return hull[0].1;
    }
    if r == hull.len() {
        // Below the fastest hull point: nothing can be saved; d is at least the fastest duration.
        return hull[r - 1].1;
    }
    let (a, b) = (hull[r - 1], hull[r]);
    let slope = (b.1 - a.1) / (a.0 - b.0);
    let value = a.1 + slope * (a.0 - d);
    if d > b.0 {
        segs.push((slope, d - b.0));
    }
    for w in hull[r..].windows(2) {
        segs.push(((w[1].1 - w[0].1) / (w[0].0 - w[1].0), w[0].0 - w[1].0));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::StepConfig;

    fn o(d: f64, c: f64) -> StepOption {
        StepOption {
            config: StepConfig::new(128, 1, 1),
            exec_s: d,
            duration_s: d,
            cost_usd: c,
        }
    }

    #[test]
    fn hull_drops_points_above_the_chord() {
        // Points (d, c): (1, 10), (2, 8), (3, 1): (2, 8) lies above the chord from (3,1) to (1,10).
        let h = lower_hull(&[o(1.0, 10.0), o(2.0, 8.0), o(3.0, 1.0)]);
        assert_eq!(h, vec![(3.0, 1.0), (1.0, 10.0)]);
        let mut segs = Vec::new();
        let v = hull_segments_from(&h, 2.0, &mut segs);
        assert!((v - 5.5).abs() < 1e-12, "{v}");
        assert_eq!(segs.len(), 1);
        assert!((segs[0].0 - 4.5).abs() < 1e-12 && (segs[0].1 - 1.0).abs() < 1e-12);
    }
}
