//! Integration tests of the scheduler crate: each heuristic's choice on crafted states, and the keep-alive
//! policies inside the serverless environment.

mod choices;
mod histogram_bounds;
mod keepalive;
mod placement;
