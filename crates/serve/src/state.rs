//! One execution's state, as the store keeps it: its request index (the key the policy's per-request
//! state has inside the policy), per step what was decided and what finished, and the policy's own
//! per-request state ([`optimizer::RequestState`]: StepConf's global cache of latest finish times, or
//! replan's started steps). Stored as one versioned blob: a format byte, then serde's postcard
//! encoding (numbers bit for bit, so a decision from stored state is the decision from live state).

use optimizer::{LearnedState, RequestState};
use platform::{StepConfig, StepOutcome};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The first byte of every stored blob; a blob of another format is reported, never misread.
pub const FORMAT: u8 = 1;

/// What was decided for a task step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Decided {
    /// The configuration.
    pub config: StepConfig,
    /// Seconds since the execution started, at the decision (the step's start).
    pub elapsed_s: f64,
    /// The step's time budget, seconds ([`optimizer::Explain::sub_slo_s`]).
    pub sub_slo_s: f64,
    /// The predicted duration of the configuration, seconds.
    pub predicted_duration_s: f64,
}

/// What was observed of a finished step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Finished {
    /// When it started, seconds since the execution started.
    pub start_s: f64,
    /// How long it took, seconds.
    pub duration_s: f64,
    /// What it cost, USD (as reported; 0 when not).
    pub cost_usd: f64,
    /// How many of its instances started cold.
    pub n_cold_starts: u32,
}

/// One step of an execution.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct StepRecord {
    /// The decision, for a task step that was decided.
    pub decided: Option<Decided>,
    /// The outcome, once it finished.
    pub finished: Option<Finished>,
}

/// One execution's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecState {
    /// Hash of the workflow's steps and edges it began under ([`crate::engine::dag_hash`]).
    pub dag_hash: u64,
    /// Its request index (0-based, per workflow, in order of first call).
    pub request_idx: u64,
    /// Per step, by step index.
    pub steps: Vec<StepRecord>,
    /// The policy's per-request state.
    pub policy: RequestState,
}

impl ExecState {
    /// The outcomes as the policies see them (`StepContext::outcomes`): a finished step's
    /// configuration is its decision's (`0/0/0` for a step that is not a task, as in the simulator).
    pub fn outcomes(&self) -> Vec<Option<StepOutcome>> {
        self.steps
            .iter()
            .map(|r| {
                r.finished.map(|f| StepOutcome {
                    config: r.decided.map_or(StepConfig::new(0, 0, 0), |d| d.config),
                    start_s: f.start_s,
                    duration_s: f.duration_s,
                    cost_usd: f.cost_usd,
                    n_cold_starts: f.n_cold_starts,
                })
            })
            .collect()
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Reads a stored execution; `what` names it in the error.
    pub fn decode(bytes: &[u8], what: &str) -> Result<Self, Error> {
        decode(bytes, what)
    }
}

/// The stored form of a policy's learned state.
pub fn encode_learned(l: &LearnedState) -> Vec<u8> {
    encode(l)
}

/// Reads a stored learned state; `what` names it in the error.
pub fn decode_learned(bytes: &[u8], what: &str) -> Result<LearnedState, Error> {
    decode(bytes, what)
}

fn encode<T: Serialize>(x: &T) -> Vec<u8> {
    let mut out = vec![FORMAT];
    // postcard writes into a Vec without failing for these types (no maps of unknown length).
    out.extend(postcard::to_allocvec(x).unwrap_or_default());
    out
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> Result<T, Error> {
    match bytes.split_first() {
        Some((&FORMAT, rest)) => postcard::from_bytes(rest)
            .map_err(|e| Error::Internal(format!("stored state of {what} cannot be read: {e}"))),
        Some((f, _)) => Err(Error::Internal(format!(
            "stored state of {what} has format {f}; this version reads format {FORMAT}"
        ))),
        None => Err(Error::Internal(format!("stored state of {what} is empty"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_bit_for_bit_and_bad_blobs_are_errors() {
        let s = ExecState {
            dag_hash: 7,
            request_idx: 3,
            steps: vec![
                StepRecord {
                    decided: Some(Decided {
                        config: StepConfig::new(1024, 4, 2),
                        elapsed_s: 0.1 + 0.2,
                        sub_slo_s: 1.0 / 3.0,
                        predicted_duration_s: f64::MIN_POSITIVE,
                    }),
                    finished: Some(Finished {
                        start_s: 0.3,
                        duration_s: 2.5,
                        cost_usd: 1e-7,
                        n_cold_starts: 1,
                    }),
                },
                StepRecord::default(),
            ],
            policy: RequestState::StepConf {
                cache: vec![
                    None,
                    Some(optimizer::CacheEntry {
                        latest_finish_s: 40.0_f64.next_down(),
                        stop: Some(1),
                    }),
                ],
            },
        };
        let b = s.encode();
        assert_eq!(ExecState::decode(&b, "x").unwrap(), s);
        assert!(b.len() < 100, "{}", b.len());
        let e = ExecState::decode(&b[..b.len() - 3], "execution e1").unwrap_err();
        assert!(e.to_string().contains("execution e1"), "{e}");
        let e = ExecState::decode(&[9, 1, 2], "x").unwrap_err().to_string();
        assert!(e.contains("format 9"), "{e}");
        assert!(ExecState::decode(&[], "x").is_err());
    }
}
