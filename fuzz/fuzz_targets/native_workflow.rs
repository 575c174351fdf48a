//! Fuzzes the native workflow reader (YAML or JSON, `workflow::Workflow::load`) and simulates what it
//! accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = faastune_fuzz::write_scratch("workflow.yaml", data);
    if let Ok(wf) = workflow::Workflow::load(&path) {
        faastune_fuzz::simulate_briefly(&wf, &platform::Platform::lambda());
    }
});
