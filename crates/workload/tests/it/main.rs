//! Integration tests of the workload crate: DeepRM job sets, the Azure readers on the shared samples and on
//! malformed files, and the synthetic generators.

mod azure;
mod bounds;
mod deeprm;
mod errors;
mod synth;

use std::path::PathBuf;

/// The shared Azure samples folder (`../shared/data/azure-functions-samples` from the repository root).
pub fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/azure-functions-samples")
}

/// A scratch file under the target's temporary directory.
pub fn scratch(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("workload-it");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}
