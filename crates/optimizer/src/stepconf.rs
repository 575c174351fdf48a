//! StepConf's heuristic (StepConf Algorithm 2, "Global-cached Most Cost-effective Critical Path"), used
//! dynamically at every step start (`stepconf`, `intra-only`, `inter-only`) and offline once to make a
//! static plan (`static`, `no-no`).
//!
//! At the start of step `v` (time `now`, seconds since arrival):
//! 1. Lines 1-4: read `v`'s latest finish time `T*` and scope from the request's global cache (default:
//!    the SLO for the whole remaining graph); the time left is `S = T* - now`.
//! 2. Lines 5-8: weight every step `u` of the scope `G_v` (the steps reachable from `v`, up to where a
//!    side branch rejoins its critical path) by `t_u(theta*)`, its duration under its most cost-effective
//!    configuration (Eq. 12), and find the critical path from `v` under these weights.
//! 3. Line 9: `v`'s sub-SLO is its share of the path's weight: `s_v = t_v(theta*) / sum_path t(theta*) * S`
//!    (Eq. 13).
//! 4. Line 10 (Eq. 11): the cheapest configuration whose predicted duration is within `s_v`, else the
//!    fastest.
//! 5. Lines 11-21: every side step off the critical path gets, as latest finish, the latest start of the
//!    critical-path step where its branch rejoins (`tau_k* - s_k`), scoped up to that step; the steps on
//!    the path keep `T*`.
//!
//! Eq. 12 as printed maximises `c / t^-1 = c * t`, which would pick the least cost-effective
//! configuration; the text defines the ratio as performance to cost, so we minimise `c * t` (the most
//! cost-effective configuration), evaluated on the Pareto front (the minimiser is always on it).
//! Durations here include the orchestrator's transition delay, so sub-SLOs add up to the request's
//! latency.

use std::collections::BTreeMap;

use platform::{Policy, StepConfig, StepContext};
use workflow::Workflow;

use crate::plan::Plan;
use crate::space::{Model, StepOption};

/// An entry of the global cache: the latest finish time (seconds since arrival) of the scope that starts
/// at a step, and the step where that scope ends (exclusive; `None`: the end of the workflow). Public
/// so that a decision service can keep a request's cache outside the process
/// ([`crate::RequestState::StepConf`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheEntry {
    /// Latest finish time of the scope, seconds since the request arrived.
    pub latest_finish_s: f64,
    /// Index of the step where the scope ends (exclusive); `None`: the end of the workflow.
    pub stop: Option<u32>,
}

/// The result of one StepConf decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Index of the chosen option in the step's Pareto front.
    pub option_idx: usize,
    /// The step's sub-SLO (Eq. 13), seconds.
    pub sub_slo_s: f64,
}

/// Algorithm 2 over one workflow's option tables. Deterministic; no allocation per decision beyond
/// the request's cache.
#[derive(Debug, Clone)]
pub struct StepConf {
    model: Model,
    /// `t_u(theta*)` per step (Eq. 12).
    weight_s: Vec<f64>,
    /// Descendants of each step, itself included, as bitsets.
    desc: Vec<Vec<u64>>,
}

fn has(bits: &[u64], i: usize) -> bool {
    bits[i / 64] >> (i % 64) & 1 == 1
}

impl StepConf {
    /// Precomputes Eq. 12 weights and reachability for `model`.
    pub fn new(model: Model) -> Self {
        let n = model.n_steps();
        let words = n.div_ceil(64).max(1);
        let weight_s = (0..n)
            .map(|i| {
                let front = model.pareto(i);
                // Eq. 12: the most cost-effective configuration minimises cost x duration; ties keep the
                // faster option.
                let best = front
                    .iter()
                    .fold(None::<&StepOption>, |best, o| match best {
                        Some(b) if b.cost_usd * b.duration_s <= o.cost_usd * o.duration_s => {
                            Some(b)
                        }
                        _ => Some(o),
                    });
                best.map_or(0.0, |o| o.duration_s)
            })
            .collect();
        let mut desc = vec![vec![0u64; words]; n];
        for &i in model.topo().iter().rev() {
            let i = i as usize;
            let mut bits = vec![0u64; words];
            bits[i / 64] |= 1 << (i % 64);
            // Invariant: successors come later in topological order, so their sets are complete.
            for &s in model.succs(i) {
                for (x, y) in bits.iter_mut().zip(&desc[s as usize]) {
                    *x |= *y;
                }
            }
            desc[i] = bits;
        }
        StepConf {
            model,
            weight_s,
            desc,
        }
    }

    /// The option tables.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Eq. 12 weight of step `i`, seconds.
    pub fn weight_s(&self, i: usize) -> f64 {
        self.weight_s[i]
    }

    /// Algorithm 2 for step `v` starting (its duration counted) from `now_s`, with the request's cache
    /// (one slot per step) and end-to-end deadline `slo_s`. Updates the cache (Lines 11-21).
    fn decide(
        &self,
        v: usize,
        now_s: f64,
        slo_s: f64,
        cache: &mut [Option<CacheEntry>],
        path: &mut Vec<usize>,
        longest: &mut [f64],
    ) -> Decision {
        let n = self.model.n_steps();
        // Lines 1-4.
        let entry = cache[v].unwrap_or(CacheEntry {
            latest_finish_s: slo_s,
            stop: None,
        });
        let time_left_s = entry.latest_finish_s - now_s;
        let in_scope = |u: usize| {
            has(&self.desc[v], u) && entry.stop.is_none_or(|k| !has(&self.desc[k as usize], u))
        };
        // Lines 5-8: longest weighted path from each scoped step to the end of the scope.
        for &u in self.model.topo().iter().rev() {
            let u = u as usize;
            if !in_scope(u) {
                continue;
            }
            let tail = self
                .model
                .succs(u)
                .iter()
                .filter(|&&s| in_scope(s as usize))
                .map(|&s| longest[s as usize])
                .fold(0.0, f64::max);
            longest[u] = self.weight_s[u] + tail;
        }
        path.clear();
        let mut cur = v;
        loop {
            path.push(cur);
            // The heaviest scoped successor; ties go to the first in successor order.
            let next = self
                .model
                .succs(cur)
                .iter()
                .map(|&s| s as usize)
                .filter(|&s| in_scope(s))
                .fold(None::<usize>, |b, s| match b {
                    Some(b) if longest[b] >= longest[s] => Some(b),
                    _ => Some(s),
                });
            match next {
                Some(s) => cur = s,
                None => break,
            }
        }
        // Line 9 (Eq. 13).
        let total_w = longest[v];
        let share = if total_w > 0.0 {
            self.weight_s[v] / total_w
        } else {
            1.0
        };
        let sub_slo_s = share * time_left_s;
        // Line 10 (Eq. 11): the cheapest option within the sub-SLO, else the fastest.
        let front = self.model.pareto(v);
        let fit =
            front.partition_point(|o| o.duration_s <= sub_slo_s + crate::solver::DURATION_EPS_S);
        let option_idx = fit.saturating_sub(1);
        // Lines 11-18: side steps get the latest start of the path step where they rejoin.
        let mut cum_w = 0.0;
        let mut latest_finish_on_path = Vec::with_capacity(path.len());
        for &u in path.iter() {
            cum_w += self.weight_s[u];
            let frac = if total_w > 0.0 { cum_w / total_w } else { 1.0 };
            latest_finish_on_path.push(now_s + frac * time_left_s);
        }
        for (u, slot) in cache.iter_mut().enumerate().take(n) {
            if !in_scope(u) || path.contains(&u) {
                continue;
            }
            let rejoin = (1..path.len()).find(|&k| has(&self.desc[u], path[k]));
            *slot = Some(match rejoin {
                Some(k) => CacheEntry {
                    latest_finish_s: latest_finish_on_path[k - 1],
                    stop: Some(path[k] as u32),
                },
                None => entry,
            });
        }
        // Lines 19-21: the rest of the critical path keeps T*.
        for &u in &path[1..] {
            cache[u] = Some(entry);
        }
        Decision {
            option_idx,
            sub_slo_s,
        }
    }

    /// The static plan StepConf's heuristic makes offline: Algorithm 2 run once per step in topological
    /// order, each step starting when its predecessors are predicted to finish.
    pub fn offline_plan(&self, policy: &str, workflow: &Workflow, slo_s: f64) -> Plan {
        let n = self.model.n_steps();
        let mut cache = vec![None; n];
        let mut path = Vec::new();
        let mut longest = vec![0.0; n];
        let mut finish = vec![0.0f64; n];
        let mut chosen = Vec::with_capacity(n);
        chosen.resize(
            n,
            self.model.pareto(0).first().copied().unwrap_or(StepOption {
                config: StepConfig::new(0, 1, 1),
                exec_s: 0.0,
                duration_s: 0.0,
                cost_usd: 0.0,
            }),
        );
        let mut sub = vec![None; n];
        for &v in self.model.topo() {
            let v = v as usize;
            let start = self
                .model
                .preds(v)
                .iter()
                .map(|&p| finish[p as usize])
                .fold(0.0, f64::max);
            let d = self.decide(v, start, slo_s, &mut cache, &mut path, &mut longest);
            let o = self.model.pareto(v)[d.option_idx];
            finish[v] = start + o.duration_s;
            chosen[v] = o;
            sub[v] = Some(d.sub_slo_s);
        }
        Plan::build(policy, workflow, slo_s, &chosen, &sub)
    }
}

/// Keeps per-request state for at most this many recent requests (older ones are long finished).
const MAX_TRACKED_REQUESTS: usize = 4096;

/// Dynamic StepConf (`stepconf`, `intra-only`, `inter-only`): Algorithm 2 at every step start with the
/// time actually left, and a global cache per request.
#[derive(Debug, Clone)]
pub struct StepConfPolicy {
    name: String,
    core: StepConf,
    slo_s: f64,
    caches: BTreeMap<u64, Vec<Option<CacheEntry>>>,
    path: Vec<usize>,
    longest: Vec<f64>,
    /// The last decision's step, chosen option and sub-SLO ([`crate::ServicePolicy::last_explain`]).
    last: Option<(usize, Decision)>,
}

impl StepConfPolicy {
    /// A dynamic StepConf policy named `name` over `model`, with `slo_s` used when the simulation
    /// gives none.
    pub fn new(name: &str, model: Model, slo_s: f64) -> Self {
        let n = model.n_steps();
        StepConfPolicy {
            name: name.to_owned(),
            core: StepConf::new(model),
            slo_s,
            caches: BTreeMap::new(),
            path: Vec::new(),
            longest: vec![0.0; n],
            last: None,
        }
    }

    /// The heuristic.
    pub fn core(&self) -> &StepConf {
        &self.core
    }

    /// The global cache of request `request_idx` (one slot per step), if the policy holds one.
    pub(crate) fn cache(&self, request_idx: u64) -> Option<&[Option<CacheEntry>]> {
        self.caches.get(&request_idx).map(Vec::as_slice)
    }

    /// Replaces request `request_idx`'s cache (the caller checked its length).
    pub(crate) fn set_cache(&mut self, request_idx: u64, cache: Vec<Option<CacheEntry>>) {
        self.caches.insert(request_idx, cache);
    }

    /// Drops request `request_idx`'s cache.
    pub(crate) fn forget(&mut self, request_idx: u64) {
        self.caches.remove(&request_idx);
    }

    /// The last decision: step, chosen option of its Pareto front, sub-SLO.
    pub(crate) fn last_decision(&self) -> Option<(usize, Decision)> {
        self.last
    }
}

impl Policy for StepConfPolicy {
    fn name(&self) -> &str {
        &self.name
    }

    fn choose(&mut self, ctx: &StepContext<'_>) -> StepConfig {
        let n = self.core.model.n_steps();
        if !self.caches.contains_key(&ctx.request_idx) && self.caches.len() >= MAX_TRACKED_REQUESTS
        {
            self.caches.pop_first();
        }
        let cache = self
            .caches
            .entry(ctx.request_idx)
            .or_insert_with(|| vec![None; n]);
        let v = ctx.step.idx();
        // The step's duration is counted from its predecessors' finish (the transition is in it).
        let now_s = ctx.elapsed_s - ctx.platform.spec().transition_delay_s;
        let slo_s = ctx.slo_s.unwrap_or(self.slo_s);
        let d = self
            .core
            .decide(v, now_s, slo_s, cache, &mut self.path, &mut self.longest);
        self.last = Some((v, d));
        self.core.model.pareto(v)[d.option_idx].config
    }
}
