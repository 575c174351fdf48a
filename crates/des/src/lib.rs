//! Deterministic discrete-event engine: integer [`SimTime`], an event queue ordered by `(time, seq)`,
//! and named seeded random sub-streams ([`RngStreams`]).
//!
//! Architecture invariant: this crate knows nothing of serverless platforms, never reads the wall clock
//! and never iterates a hash map. The same seed and the same sequence of calls give the same results.
#![warn(missing_docs)]

mod queue;
mod rng;
pub mod stats;
pub mod text;
mod time;

pub use queue::{EventQueue, Scheduled};
pub use rng::{FastRng, RngStreams, SimRng, stream_seed};
pub use time::SimTime;
