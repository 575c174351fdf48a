//! Checkpoint loading under corrupted files: seeded mutations of a real checkpoint (byte flips,
//! truncations, a forged header length, inserted and deleted runs) go through
//! `LearnedPolicy::load` and `checkpoint::resume`, which must answer with an error naming the file or
//! a policy, never a panic. This is the checkpoint part of the reader fuzzing that runs in the default
//! suite; the cargo-fuzz target `fuzz/fuzz_targets/checkpoint.rs` does the same coverage-guided, but
//! instrumenting the ML framework is too long a build for CI (docs/fuzzing.md).

use learn::{Algo, LearnedPolicy, Scenario, Trainer};
use rand::Rng;

use crate::rl::{small_config, tmp};

/// How many mutated files: `FAASTUNE_FUZZ_SEEDS` if set, else 400 (10,000 with `RUN_SLOW_TESTS=1`).
fn n_cases() -> u64 {
    if let Some(n) = std::env::var("FAASTUNE_FUZZ_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return n;
    }
    if std::env::var_os("RUN_SLOW_TESTS").is_some() {
        10_000
    } else {
        400
    }
}

fn mutate(bytes: &[u8], seed: u64) -> Vec<u8> {
    let mut r = crate::rng(seed);
    let mut out = bytes.to_vec();
    for _ in 0..r.random_range(1..4u32) {
        match r.random_range(0..5u32) {
            // Flip bytes, most often in the header (length + JSON metadata) where parsing happens.
            0 => {
                for _ in 0..r.random_range(1..8u32) {
                    let hi = if r.random_bool(0.7) {
                        out.len().min(2048)
                    } else {
                        out.len()
                    };
                    if hi > 0 {
                        let i = r.random_range(0..hi);
                        out[i] ^= 1 << r.random_range(0..8u32);
                    }
                }
            }
            // Truncate.
            1 => out.truncate(r.random_range(0..=out.len())),
            // Forge the 8-byte little-endian header length.
            2 if out.len() >= 8 => {
                let forged: u64 = match r.random_range(0..3u32) {
                    0 => u64::MAX,
                    1 => r.random_range(0..out.len() as u64 * 2),
                    _ => r.random(),
                };
                out[..8].copy_from_slice(&forged.to_le_bytes());
            }
            // Insert a run of random bytes.
            3 => {
                let at = r.random_range(0..=out.len());
                let run: Vec<u8> = (0..r.random_range(1..64u32)).map(|_| r.random()).collect();
                out.splice(at..at, run);
            }
            // Delete a run.
            _ => {
                if !out.is_empty() {
                    let at = r.random_range(0..out.len());
                    let end = (at + r.random_range(1..256usize)).min(out.len());
                    out.drain(at..end);
                }
            }
        }
    }
    out
}

#[test]
fn corrupted_checkpoints_are_errors_never_panics() {
    let mut c = small_config(Algo::Ppo, Scenario::deeprm(vec![1.3], "steady"), 3);
    c.iterations = 0;
    let t = Trainer::new(c).unwrap();
    let good = tmp("fuzz-good.safetensors");
    learn::checkpoint::save(&t, &good, None).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let path = tmp("fuzz-mutated.safetensors");
    let (mut n_refused, mut n_run) = (0u64, 0u64);
    for seed in 0..n_cases() {
        let mutated = mutate(&bytes, seed);
        std::fs::write(&path, &mutated).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            let load = LearnedPolicy::load(&path, "fuzz", true).map(|_| ());
            let resume = learn::checkpoint::resume(&path).map(|_| ());
            (load, resume)
        });
        let Ok((load, resume)) = outcome else {
            let keep = tmp(&format!("fuzz-panic-{seed}.safetensors"));
            std::fs::write(&keep, &mutated).unwrap();
            panic!(
                "seed {seed}: checkpoint loading panicked; input kept at {}",
                keep.display()
            );
        };
        let errors: Vec<String> = [load.err(), resume.err()]
            .into_iter()
            .flatten()
            .map(|e| e.to_string())
            .collect();
        for msg in &errors {
            assert!(
                msg.contains("fuzz-mutated.safetensors"),
                "seed {seed}: error names no file: {msg}"
            );
        }
        n_refused += u64::from(!errors.is_empty());
        n_run += 1;
    }
    // Mutations that leave a loadable file are possible (a flipped weight bit), but most must be caught.
    assert!(
        n_refused > n_run / 2,
        "only {n_refused} of {n_run} mutated files refused"
    );
}
