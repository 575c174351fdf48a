//! Allocation heuristics and keep-alive policies for the `cluster` environments.
//!
//! Allocation ([`cluster::Policy`]): [`Fcfs`], [`Sjf`], [`Packer`], [`Tetris`] (Tetris*:
//! alignment plus an SJF term with a knob) and [`RandomPolicy`], as in DeepRM's `other_agents.py`.
//! Keep-alive ([`cluster::KeepAlivePolicy`]): [`FixedTtl`] (10 minutes, as AWS and Azure) and
//! [`HybridHistogram`] (Shahrad et al., ATC'20, with [`arima`] forecasts of long idle times).
//!
//! Determinism: no hash maps, no wall clock; the random policy draws only from the rng it is given.
#![warn(missing_docs)]

pub mod arima;
mod error;
mod heuristics;
mod keepalive;

pub use error::Error;
pub use heuristics::{
    Fcfs, POLICY_NAMES, Packer, RandomPolicy, Sjf, TETRIS_KNOB_DEFAULT, Tetris, policy_by_name,
};
pub use keepalive::{
    FixedTtl, HistogramSettings, HybridHistogram, KEEP_ALIVE_NAMES, MAX_HISTOGRAM_BINS,
    MAX_HISTOGRAM_CELLS, OobForecast, keep_alive_by_name,
};
