//! FCFS, SJF, Packer, Tetris* and random, following DeepRM's `other_agents.py`: a job is a candidate only
//! if it fits now (DeepRM mode: for its whole length in the machine image); the best candidate by the
//! heuristic's score is placed; ties go to the first candidate in observation order; with no candidate the
//! policy waits. In serverless mode the heuristics also choose a machine: FCFS and SJF take a machine with an
//! idle warm instance of the function if one fits, else the first that fits; Packer and Tetris* score every
//! (invocation, machine) pair and break ties by warm instance, then order.

use cluster::{Action, Observation, Policy};
use des::SimRng;
use rand::Rng;

use crate::Error;

/// The default Tetris* knob: equal weight on the two normalised terms, which is Tetris's own combination
/// (Grandl et al., SIGCOMM'14: `alignment + eps * remaining-work score` with `eps` the ratio of the terms'
/// means). DeepRM publishes no knob value: its released `slow_down_cdf.py` runs "Tetris" as the pure packer
/// (`get_packer_action`), and `get_packer_sjf_action(machine, job_slot, knob)` is left unused.
pub const TETRIS_KNOB_DEFAULT: f64 = 0.5;

/// Names accepted by [`policy_by_name`].
pub const POLICY_NAMES: [&str; 5] = ["fcfs", "sjf", "packer", "tetris", "random"];

/// The policy called `name` (`fcfs`, `sjf`, `packer`, `tetris` with DeepRM's knob, `random`).
pub fn policy_by_name(name: &str) -> Result<Box<dyn Policy>, Error> {
    Ok(match name {
        "fcfs" => Box::new(Fcfs),
        "sjf" => Box::new(Sjf),
        "packer" => Box::new(Packer),
        "tetris" => Box::new(Tetris::default()),
        "random" => Box::new(RandomPolicy),
        _ => {
            return Err(Error::UnknownPolicy {
                kind: "allocation",
                name: name.into(),
                expected: POLICY_NAMES.join(", "),
            });
        }
    })
}

/// A machine for pending invocation `p`: one with an idle warm instance of its function that fits, else the
/// first with enough free memory, else the first where it fits by evicting idle instances (an eviction
/// costs another function a cold start, so a machine with free memory comes first; dslab-faas never
/// evicts, it queues the invocation on a host instead: docs/evaluation/dslab-faas.md).
fn warm_first_machine(obs: &Observation, p: usize) -> Option<usize> {
    let f = obs.pending[p].function_idx;
    let fits = |m: &usize| obs.fits_now(p, *m);
    (0..obs.machines.len())
        .filter(fits)
        .find(|&m| obs.warm_idle(m, f) > 0)
        .or_else(|| (0..obs.machines.len()).find(|&m| obs.fits_without_eviction(p, m)))
        .or_else(|| (0..obs.machines.len()).find(fits))
}

/// Duration estimate in seconds (DeepRM: the job length in steps).
fn duration_units(obs: &Observation, p: usize) -> f64 {
    obs.pending[p].duration_estimate.as_secs_f64().max(1e-6)
}

/// The best `(pending, machine)` pair by `score`, over pairs that fit now; ties go to a warm instance, then to
/// a pair that evicts nothing, then to the first pair in (pending, machine) order.
fn best_pair(obs: &Observation, score: impl Fn(usize, usize) -> f64) -> Action {
    let mut best: Option<(f64, (bool, bool), usize, usize)> = None;
    for p in 0..obs.pending.len() {
        let f = obs.pending[p].function_idx;
        for m in 0..obs.machines.len() {
            if !obs.fits_now(p, m) {
                continue;
            }
            let s = score(p, m);
            let rank = (obs.warm_idle(m, f) > 0, obs.fits_without_eviction(p, m));
            let better = match best {
                None => true,
                Some((bs, br, _, _)) => s > bs || (s == bs && rank > br),
            };
            if better {
                best = Some((s, rank, p, m));
            }
        }
    }
    match best {
        Some((_, _, p, m)) => Action::Place {
            pending_idx: p,
            machine_idx: m,
        },
        None => Action::Wait,
    }
}

/// First come, first served, strictly: the oldest pending invocation (by ready time, then id) is placed if it
/// fits anywhere; otherwise the policy waits (no backfilling).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fcfs;

impl Policy for Fcfs {
    fn name(&self) -> String {
        "fcfs".into()
    }

    fn decide(&mut self, obs: &Observation, _rng: &mut SimRng) -> Action {
        let Some(p) = (0..obs.pending.len())
            .min_by_key(|&p| (obs.pending[p].ready, obs.pending[p].invocation_id))
        else {
            return Action::Wait;
        };
        match warm_first_machine(obs, p) {
            Some(m) => Action::Place {
                pending_idx: p,
                machine_idx: m,
            },
            None => Action::Wait,
        }
    }
}

/// Shortest job first: among invocations that fit, the one with the largest `1 / duration` (DeepRM's
/// `get_sjf_action`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sjf;

impl Policy for Sjf {
    fn name(&self) -> String {
        "sjf".into()
    }

    fn decide(&mut self, obs: &Observation, _rng: &mut SimRng) -> Action {
        let mut best: Option<(f64, usize, usize)> = None;
        for p in 0..obs.pending.len() {
            let Some(m) = warm_first_machine(obs, p) else {
                continue;
            };
            let s = 1.0 / duration_units(obs, p);
            if best.is_none_or(|(bs, _, _)| s > bs) {
                best = Some((s, p, m));
            }
        }
        match best {
            Some((_, p, m)) => Action::Place {
                pending_idx: p,
                machine_idx: m,
            },
            None => Action::Wait,
        }
    }
}

/// Packer (Tetris's packing term): among pairs that fit, the largest alignment of free resources now with
/// the demand, `free . demand` in slots (DeepRM's `get_packer_action`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Packer;

impl Policy for Packer {
    fn name(&self) -> String {
        "packer".into()
    }

    fn decide(&mut self, obs: &Observation, _rng: &mut SimRng) -> Action {
        best_pair(obs, |p, m| obs.alignment(p, m))
    }
}

/// Tetris*: Packer's alignment combined with SJF's `1 / duration`, each divided by its mean over the
/// candidates of this decision so the knob weighs comparable numbers:
/// `knob * a / mean(a) + (1 - knob) * s / mean(s)`. Knob 1 is Packer, knob 0 is SJF, 0.5 is Tetris's
/// own normalisation. (DeepRM's `get_packer_sjf_action` adds the raw terms, where an alignment of up to 200
/// slots swamps `1 / len` <= 1 for any knob above about 0.01; `--tetris-knob` sweeps are in the evaluation.)
#[derive(Debug, Clone, Copy)]
pub struct Tetris {
    /// Weight of the packing term in [0, 1].
    pub knob: f64,
}

impl Default for Tetris {
    fn default() -> Self {
        Tetris {
            knob: TETRIS_KNOB_DEFAULT,
        }
    }
}

impl Tetris {
    /// With `knob` in [0, 1].
    pub fn new(knob: f64) -> Result<Tetris, Error> {
        if !(0.0..=1.0).contains(&knob) {
            return Err(Error::InvalidParameter {
                name: "knob",
                value: knob.to_string(),
                reason: "must be in [0, 1]",
            });
        }
        Ok(Tetris { knob })
    }
}

impl Policy for Tetris {
    fn name(&self) -> String {
        "tetris".into()
    }

    fn decide(&mut self, obs: &Observation, _rng: &mut SimRng) -> Action {
        // Means of both terms over the pairs that fit now.
        let (mut n, mut sum_a, mut sum_s) = (0usize, 0.0, 0.0);
        for p in 0..obs.pending.len() {
            for m in 0..obs.machines.len() {
                if obs.fits_now(p, m) {
                    n += 1;
                    sum_a += obs.alignment(p, m);
                    sum_s += 1.0 / duration_units(obs, p);
                }
            }
        }
        if n == 0 {
            return Action::Wait;
        }
        let mean_a = if sum_a > 0.0 { sum_a / n as f64 } else { 1.0 };
        let mean_s = sum_s / n as f64;
        let k = self.knob;
        best_pair(obs, |p, m| {
            k * obs.alignment(p, m) / mean_a + (1.0 - k) / duration_units(obs, p) / mean_s
        })
    }
}

/// Random, as DeepRM's `get_random_action`: uniform over the visible slots plus "wait" (an empty slot
/// waits too); in DeepRM mode the environment places the chosen job at its earliest fit in the horizon. In
/// serverless mode the slots are the pending invocations and the machine is uniform over those where the
/// chosen one fits now.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomPolicy;

impl Policy for RandomPolicy {
    fn name(&self) -> String {
        "random".into()
    }

    fn decide(&mut self, obs: &Observation, rng: &mut SimRng) -> Action {
        let n_slots = obs
            .pending_capacity
            .unwrap_or(obs.pending.len())
            .max(obs.pending.len());
        let p = rng.random_range(0..=n_slots);
        if p >= obs.pending.len() {
            return Action::Wait;
        }
        if obs.mode == cluster::Mode::DeepRm {
            // DeepRM's environment places the job at its earliest fit within the horizon, or moves on.
            return Action::Place {
                pending_idx: p,
                machine_idx: 0,
            };
        }
        let fitting: Vec<usize> = (0..obs.machines.len())
            .filter(|&m| obs.fits_now(p, m))
            .collect();
        if fitting.is_empty() {
            return Action::Wait;
        }
        Action::Place {
            pending_idx: p,
            machine_idx: fitting[rng.random_range(0..fitting.len())],
        }
    }
}
