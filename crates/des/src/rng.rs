//! Named, seeded random sub-streams. Each component of a simulation draws from its own stream, derived
//! from the run's root seed and a stable name, so adding draws in one component never shifts another's.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator of long-lived streams: ChaCha8, portable and reproducible across platforms.
pub type SimRng = ChaCha8Rng;

/// The generator of short, numerous streams (one per request step in the simulator's inner loop):
/// PCG 64-bit MCG, portable and reproducible, with near-free seeding.
pub type FastRng = rand_pcg::Pcg64Mcg;

/// Derives a stream's 64-bit seed from the root seed, a name and an index, with FNV-1a over the name
/// followed by SplitMix64 finalisation. Stable across releases of this crate (a change is a breaking change
/// of every recorded result).
pub fn stream_seed(root_seed: u64, name: &str, index: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    splitmix64(splitmix64(root_seed ^ h) ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The root seed of a run, from which named sub-streams are derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RngStreams {
    root_seed: u64,
}

impl RngStreams {
    /// Streams for the run with this root seed.
    pub fn new(root_seed: u64) -> Self {
        RngStreams { root_seed }
    }

    /// The run's root seed.
    pub fn root_seed(&self) -> u64 {
        self.root_seed
    }

    /// The stream called `name` (e.g. `"arrivals"`, `"storage"`).
    pub fn stream(&self, name: &str) -> SimRng {
        self.indexed(name, 0)
    }

    /// The `index`-th stream called `name` (e.g. one per request or per worker).
    pub fn indexed(&self, name: &str, index: u64) -> SimRng {
        SimRng::seed_from_u64(stream_seed(self.root_seed, name, index))
    }

    /// The `index`-th short stream called `name`, on the cheaper [`FastRng`].
    pub fn fast(&self, name: &str, index: u64) -> FastRng {
        FastRng::seed_from_u64(stream_seed(self.root_seed, name, index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let s = RngStreams::new(42);
        let a: u64 = s.stream("arrivals").random();
        let a2: u64 = s.stream("arrivals").random();
        let b: u64 = s.stream("storage").random();
        let c: u64 = s.indexed("arrivals", 1).random();
        let d: u64 = RngStreams::new(43).stream("arrivals").random();
        assert_eq!(a, a2);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn stream_seed_is_stable() {
        // Pinned: changing the derivation changes every recorded result.
        assert_eq!(
            stream_seed(0, "", 0),
            splitmix64(splitmix64(0xcbf2_9ce4_8422_2325))
        );
        assert_ne!(stream_seed(1, "x", 0), stream_seed(1, "x", 1));
    }
}
