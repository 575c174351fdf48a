//! Integration tests of `learn`: the custom sparse ops' gradients, encoder shapes, determinism across
//! thread counts, a small supervised training run, input errors, and learned allocation (graph state,
//! RL algorithms, checkpoints).

mod autoscale;
mod checkpoint_fuzz;
mod determinism;
mod errors;
mod gradients;
mod rl;
mod shapes;
mod topo;
mod training;

use std::sync::Arc;

use learn::sparse::SparseStructure;
use rand::Rng;

/// A seeded test RNG.
pub fn rng(seed: u64) -> des::SimRng {
    des::RngStreams::new(seed).stream("test")
}

/// A random destination-major structure with `n` nodes and about `n_edges` edges (every row non-empty).
pub fn random_structure(n: usize, n_edges: usize, seed: u64) -> Arc<SparseStructure> {
    let mut r = rng(seed);
    let mut rows: Vec<Vec<u32>> = (0..n).map(|i| vec![i as u32]).collect();
    for _ in 0..n_edges.saturating_sub(n) {
        let dst = r.random_range(0..n);
        rows[dst].push(r.random_range(0..n as u32));
    }
    let mut row_ptr = vec![0];
    let mut col_idx = Vec::new();
    for row in rows {
        col_idx.extend(row);
        row_ptr.push(col_idx.len());
    }
    Arc::new(SparseStructure::new(n, row_ptr, col_idx).expect("valid structure"))
}

/// `len` values uniform in [lo, hi).
pub fn values(len: usize, lo: f32, hi: f32, seed: u64) -> Vec<f32> {
    let mut r = rng(seed);
    (0..len).map(|_| r.random_range(lo..hi)).collect()
}
