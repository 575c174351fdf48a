//! Fuzzes the `.dot` reader (`perfmodel::dot::read_dot`), the `perf_profile` attribute parser, and fits
//! a model to the samples, as `faastune fit --dot` does.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = faastune_fuzz::write_scratch("graph.dot", data);
    if let Ok(g) = perfmodel::dot::read_dot(&path) {
        if let Ok(samples) = perfmodel::dot::perf_profile_samples(&g, "graph.dot", "") {
            faastune_fuzz::fit_samples(&samples);
        }
    }
});
