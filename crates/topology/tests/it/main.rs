//! Integration tests of the topology crate: one module per area.

mod transforms;
mod objective;
