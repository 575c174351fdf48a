//! Integration tests of the topology crate: one module per area.

mod generate;
mod objective;
mod transforms;
