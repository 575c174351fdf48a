//! Fuzzes the Azure Functions 2021 trace reader (`workload::Azure2021Trace::read`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = faastune_fuzz::write_scratch("Azure2021.csv", data);
    if let Ok(trace) = workload::Azure2021Trace::read(&path, 256) {
        let _ = trace.scaled(1, 0.5);
        let _ = trace.scaled(1, 2.5);
    }
});
