//! Integration tests of the perfmodel crate: exact recovery of Eq. 1 parameters from synthetic data,
//! readers of the real SLApp DOT graphs and of CSV samples (and their errors with line numbers),
//! held-out accuracy on the example workflows, leave-one-out accuracy on the SLApp profiles,
//! determinism of profiling and model round trips.

mod determinism;
mod few_samples;
mod heldout;
mod parsing;
mod slapp;
mod synthetic;

use std::path::PathBuf;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The SLApp `evaluations/alg` folder of the shared data.
pub fn slapp_alg() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/slapp-perfcost/evaluations/alg")
}

/// Loads an example workflow.
pub fn example(name: &str) -> workflow::Workflow {
    workflow::Workflow::load(&repo().join(format!("examples/{name}.yaml")))
        .expect("example workflow")
}
