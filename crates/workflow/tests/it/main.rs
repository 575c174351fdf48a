//! Integration tests of the workflow crate: importers (every data file they claim to read), error
//! reporting with places, round trips through the native format, and properties of random DAGs.

mod asl;
mod asl_catch;
mod asl_loops;
mod choices;
mod corpus;
mod data_flow;
mod faasflow;
mod jsonata;
mod limits;
mod names;
mod native;
mod props;
mod retry;
mod sebs;
mod text;
mod wfcommons;
mod workflowhub;

use std::path::PathBuf;

use workflow::{Workflow, WorkflowSpec};

/// A file under the shared data folder (`/work/shared/data`, read-only, see its README for provenance).
pub fn shared_data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel)
}

/// A golden input under `tests/data/`.
pub fn golden(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// The files in `dir` whose names start with `prefix` and end with `suffix`, sorted.
pub fn files_in(dir: &std::path::Path, prefix: &str, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.starts_with(prefix) && n.ends_with(suffix)
        })
        .collect();
    out.sort();
    out
}

/// Validates `spec`, writes it as YAML, reads it back and checks both validated workflows are equal
/// (and so is the JSON form). Returns the validated workflow.
pub fn round_trip(spec: &WorkflowSpec) -> Workflow {
    let wf = Workflow::from_spec(spec, "imported").unwrap_or_else(|e| panic!("{e}"));
    let yaml = spec.to_yaml();
    let again =
        Workflow::from_str_auto(&yaml, "imported.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert_eq!(again, wf, "YAML round trip changed the workflow:\n{yaml}");
    let json = spec.to_json();
    let again =
        Workflow::from_str_auto(&json, "imported.json").unwrap_or_else(|e| panic!("{e}\n{json}"));
    assert_eq!(again, wf, "JSON round trip changed the workflow");
    wf
}

/// Names of the steps of `wf`, in file order.
pub fn names(wf: &Workflow) -> Vec<&str> {
    wf.steps().iter().map(|s| s.name.as_str()).collect()
}

/// The step called `name`; panics with the list of names if absent.
pub fn step<'a>(wf: &'a Workflow, name: &str) -> &'a workflow::Step {
    let id = wf
        .find(name)
        .unwrap_or_else(|| panic!("no step '{name}' in {:?}", names(wf)));
    wf.step(id)
}

/// Names of the predecessors of `name`.
pub fn after<'a>(wf: &'a Workflow, name: &str) -> Vec<&'a str> {
    let id = wf.find(name).unwrap_or_else(|| panic!("no step '{name}'"));
    wf.preds(id)
        .iter()
        .map(|p| wf.step(*p).name.as_str())
        .collect()
}
