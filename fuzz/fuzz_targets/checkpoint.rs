//! Fuzzes checkpoint loading (`learn::LearnedPolicy::load`: safetensors with faastune metadata, then
//! the network the saved config describes). Built only with `--features learn` (burn is a long build).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = faastune_fuzz::write_scratch("policy.safetensors", data);
    let _ = learn::LearnedPolicy::load(&path, "fuzz", true);
});
