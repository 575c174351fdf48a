//! The custom differentiable sparse ops, run through the framework's autodiff on plain slices: for
//! gradient checks (against finite differences and dense formulas) and for callers that want the
//! ops' gradients without framework types. Each function evaluates `out = op(inputs)` and the gradients
//! of `L = sum(out * upstream)` with respect to every input.

use std::sync::Arc;

use burn::tensor::{Tensor, TensorData};

use crate::encoder::{device, to_vec};
use crate::error::{Error, Result};
use crate::ops;
use crate::sparse::SparseStructure;

fn check_len(what: &'static str, got: usize, expected: usize) -> Result<()> {
    if got != expected {
        return Err(Error::ShapeMismatch {
            what,
            expected,
            got,
        });
    }
    Ok(())
}

fn leaf(values: &[f32], shape: [usize; 2]) -> Tensor<2> {
    Tensor::<2>::from_data(TensorData::new(values.to_vec(), shape), &device(true)).require_grad()
}

fn backprop(
    out: Tensor<2>,
    upstream: &[f32],
    leaves: &[&Tensor<2>],
) -> Result<(Vec<f32>, Vec<Vec<f32>>)> {
    let up = Tensor::<2>::from_data(
        TensorData::new(upstream.to_vec(), out.dims()),
        &device(true),
    );
    let loss = (out.clone() * up).sum();
    let grads = loss.backward();
    let mut gs = Vec::new();
    for l in leaves {
        let g = l.grad(&grads).ok_or_else(|| Error::Backend {
            context: "missing gradient of a leaf".into(),
        })?;
        gs.push(to_vec(g)?);
    }
    Ok((to_vec(out.inner())?, gs))
}

/// Weighted SpMM `Y = A X` (weights `E x n_heads`, `x` is `n x d`): returns `(Y, dW, dX)`.
///
/// # Errors
/// [`Error::ShapeMismatch`] when a slice length does not fit the structure.
pub fn spmm(
    s: &Arc<SparseStructure>,
    w: &[f32],
    n_heads: usize,
    x: &[f32],
    d: usize,
    upstream: &[f32],
) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    if n_heads == 0 || !d.is_multiple_of(n_heads) {
        return Err(Error::InvalidConfig {
            field: "n_heads",
            reason: format!("{n_heads} must divide d {d}"),
        });
    }
    check_len("w (E x n_heads)", w.len(), s.n_edges() * n_heads)?;
    check_len("x (n x d)", x.len(), s.n_nodes() * d)?;
    check_len("upstream (n x d)", upstream.len(), s.n_nodes() * d)?;
    let (wt, xt) = (leaf(w, [s.n_edges(), n_heads]), leaf(x, [s.n_nodes(), d]));
    let out = ops::spmm(s, wt.clone(), xt.clone());
    let (y, mut g) = backprop(out, upstream, &[&wt, &xt])?;
    let dx = g.pop().expect("two leaves");
    let dw = g.pop().expect("two leaves");
    Ok((y, dw, dx))
}

/// Edge logits `a_dst[dst] + a_src[src]` (`n x n_heads` each): returns `(scores, d a_dst, d a_src)`.
///
/// # Errors
/// [`Error::ShapeMismatch`] when a slice length does not fit the structure.
pub fn edge_scores(
    s: &Arc<SparseStructure>,
    a_dst: &[f32],
    a_src: &[f32],
    n_heads: usize,
    upstream: &[f32],
) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    check_len("a_dst (n x n_heads)", a_dst.len(), s.n_nodes() * n_heads)?;
    check_len("a_src (n x n_heads)", a_src.len(), s.n_nodes() * n_heads)?;
    check_len(
        "upstream (E x n_heads)",
        upstream.len(),
        s.n_edges() * n_heads,
    )?;
    let (a, b) = (
        leaf(a_dst, [s.n_nodes(), n_heads]),
        leaf(a_src, [s.n_nodes(), n_heads]),
    );
    let out = ops::edge_scores(s, a.clone(), b.clone());
    let (y, mut g) = backprop(out, upstream, &[&a, &b])?;
    let db = g.pop().expect("two leaves");
    let da = g.pop().expect("two leaves");
    Ok((y, da, db))
}

/// Per-destination edge softmax of `E x n_heads` logits: returns `(alpha, d scores)`.
///
/// # Errors
/// [`Error::ShapeMismatch`] when a slice length does not fit the structure.
pub fn edge_softmax(
    s: &Arc<SparseStructure>,
    scores: &[f32],
    n_heads: usize,
    upstream: &[f32],
) -> Result<(Vec<f32>, Vec<f32>)> {
    check_len("scores (E x n_heads)", scores.len(), s.n_edges() * n_heads)?;
    check_len(
        "upstream (E x n_heads)",
        upstream.len(),
        s.n_edges() * n_heads,
    )?;
    let sc = leaf(scores, [s.n_edges(), n_heads]);
    let out = ops::edge_softmax(s, sc.clone());
    let (y, mut g) = backprop(out, upstream, &[&sc])?;
    Ok((y, g.pop().expect("one leaf")))
}
