//! Fuzzes the samples CSV reader (`perfmodel::sample::read_csv`) and fits a model to what it accepts,
//! as `faastune fit --samples` does.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = faastune_fuzz::write_scratch("samples.csv", data);
    if let Ok(samples) = perfmodel::sample::read_csv(&path) {
        faastune_fuzz::fit_samples(&samples);
    }
});
