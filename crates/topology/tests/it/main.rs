//! Integration tests of the topology crate: one module per area.

mod objective;
mod transforms;
