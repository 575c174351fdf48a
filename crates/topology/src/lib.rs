//! AutoFlow's topology half (`../shared/seeds/000_a9e189cebfbf23b5.txt` sections 3.1, 4.2, 5.1):
//! propose alternative topologies of a workflow and rank them, with the simulator as ground truth.
//!
//! - [`transform`]: meaning-preserving transforms `Workflow -> Workflow` with a record of what changed
//!   (`fuse`/`unfuse`, `parallelize`, `batch`, `shard`), and every applicable one of a workflow.
//! - [`canon`]: a canonical form of a workflow graph, to deduplicate candidates.
//! - [`objective`]: ground truth: a candidate configured by the optimizer at the SLO (jointly: a
//!   reshaped graph is never compared with a badly configured one) and simulated at a load.
//! - [`generate`]: random realistic workflows for training and held-out evaluation.
//! - [`features`]: the graph a scorer reads (node and edge features), from a fast plan ([`quick`]).
//! - [`search`]: scorers (`sim`, `analytic`, `gnn:FILE`) and beam search over transform sequences.
//! - [`dataset`]: "historical executions" for the learned scorer: generated workflows, their
//!   candidates, each measured.
//! - `gnn` (feature `gnn`): the learned scorer S(G) = sigmoid(phi(G)) and its training.
#![warn(missing_docs)]

pub mod canon;
pub mod dataset;
mod error;
pub mod evaluation;
pub mod features;
pub mod generate;
#[cfg(feature = "gnn")]
pub mod gnn;
pub mod objective;
pub mod quick;
pub mod search;
pub mod transform;

pub use error::{Error, Result};
