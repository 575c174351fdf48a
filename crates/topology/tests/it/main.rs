//! Integration tests of the topology crate: one module per area.

mod dataset;
mod generate;
#[cfg(feature = "gnn")]
mod gnn;
mod objective;
mod search;
mod transforms;
