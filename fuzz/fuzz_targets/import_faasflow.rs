//! Fuzzes the FaaSFlow importer (`workflow::import::import_file`) and simulates what it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use workflow::import::{Format, ImportOptions, import_file};

fuzz_target!(|data: &[u8]| {
    let path = faastune_fuzz::write_scratch("video/flat_workflow.yaml", data);
    if let Ok(spec) = import_file(Format::FaaSFlow, &path, &ImportOptions::default()) {
        // Invariant (import_str): every imported spec validates.
        let wf = workflow::Workflow::from_spec(&spec, "fuzz").expect("an imported spec validates");
        faastune_fuzz::simulate_briefly(&wf, &platform::Platform::lambda());
    }
});
