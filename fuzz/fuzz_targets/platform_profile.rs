//! Fuzzes the platform profile reader (`platform::Platform::load`, YAML or JSON) and simulates a small
//! workflow on every profile it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = faastune_fuzz::write_scratch("platform.yaml", data);
    if let Ok(p) = platform::Platform::load(&path) {
        faastune_fuzz::simulate_briefly(&faastune_fuzz::small_workflow(), &p);
    }
});
