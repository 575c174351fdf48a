//! A small fixed-capacity vector of resource amounts (CPU, memory, ...), copied by value.

use std::fmt;

/// The most resources an environment may have.
pub const MAX_RESOURCES: usize = 4;

/// Amounts of up to [`MAX_RESOURCES`] resources. DeepRM mode counts slots, serverless mode CPU millicores
/// and memory MB; amounts are whole numbers stored as `f64`, so sums and comparisons are exact.
#[derive(Clone, Copy, PartialEq, Default)]
pub struct Resources {
    n: u8,
    v: [f64; MAX_RESOURCES],
}

impl Resources {
    /// From a slice of at most [`MAX_RESOURCES`] amounts (longer slices are truncated; environments
    /// validate the count first).
    pub fn new(amounts: &[f64]) -> Resources {
        let n = amounts.len().min(MAX_RESOURCES);
        let mut v = [0.0; MAX_RESOURCES];
        v[..n].copy_from_slice(&amounts[..n]);
        Resources { n: n as u8, v }
    }

    /// `n` zeros.
    pub fn zeros(n: usize) -> Resources {
        Resources {
            n: n.min(MAX_RESOURCES) as u8,
            v: [0.0; MAX_RESOURCES],
        }
    }

    /// Number of resources.
    pub fn len(&self) -> usize {
        self.n as usize
    }

    /// True when there are no resources.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The amounts.
    pub fn as_slice(&self) -> &[f64] {
        &self.v[..self.n as usize]
    }

    /// Amount of resource `i` (zero beyond the length).
    pub fn get(&self, i: usize) -> f64 {
        if i < self.len() { self.v[i] } else { 0.0 }
    }

    /// True when every amount of `self` is at most the same amount of `other`.
    pub fn fits_in(&self, other: &Resources) -> bool {
        self.as_slice()
            .iter()
            .zip(other.as_slice())
            .all(|(a, b)| a <= b)
    }

    /// Elementwise sum.
    pub fn add(&self, other: &Resources) -> Resources {
        let mut r = *self;
        for i in 0..self.len() {
            r.v[i] += other.get(i);
        }
        r
    }

    /// Elementwise difference.
    pub fn sub(&self, other: &Resources) -> Resources {
        let mut r = *self;
        for i in 0..self.len() {
            r.v[i] -= other.get(i);
        }
        r
    }

    /// Dot product after dividing both sides by `scale` elementwise (DeepRM's alignment score when
    /// `scale` is all ones).
    pub fn dot_scaled(&self, other: &Resources, scale: &Resources) -> f64 {
        (0..self.len())
            .map(|i| (self.v[i] / scale.get(i)) * (other.get(i) / scale.get(i)))
            .sum()
    }
}

impl fmt::Debug for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
