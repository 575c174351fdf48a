//! Deterministic CSR sparse kernels on plain slices: weighted aggregation `Y = A X` (SpMM), its
//! transpose, per-edge gradients, per-edge attention scores and the per-destination edge softmax.
//!
//! Convention: row `i` of the CSR holds the *incoming* edges of node `i` (destination-major), so
//! `Y[i] = sum over edges e = (j -> i) of w[e] * X[j]`. Edge weights may have `n_heads` columns; with
//! `n_heads = H` and `d` feature columns (`d % H == 0`), head `h` weights feature block
//! `h*d/H .. (h+1)*d/H`.
//!
//! Determinism: every output element is a sum computed by one task in a fixed order (CSR order, or the
//! transpose's order, which is by source then edge index). Rayon only splits independent rows, so
//! results are bit-identical for any thread count. Cost is O(E * d), never O(n^2).
//!
//! Panics: the kernels `assert!` their slice lengths against the structure (a caller bug, never user
//! input); [`crate::diff`] and the encoders validate shapes before calling them.

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Rows handled per rayon task at least: keeps scheduling overhead low on small rows.
const MIN_ROWS_PER_TASK: usize = 64;

/// The structure of a sparse adjacency (no values): CSR by destination plus its transpose by source.
///
/// Invariant: `row_ptr` is non-decreasing with `row_ptr[0] = 0`, `row_ptr[n] = E`; `col_idx[e] < n`;
/// `edge_row[e]` is the row holding edge `e`; `t_edge` lists every edge once, grouped by source
/// (`t_ptr`), ascending edge index within a source.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseStructure {
    n_nodes: usize,
    row_ptr: Vec<usize>,
    col_idx: Vec<u32>,
    edge_row: Vec<u32>,
    t_ptr: Vec<usize>,
    t_edge: Vec<u32>,
}

impl SparseStructure {
    /// A validated structure from destination-major CSR arrays: `row_ptr` (length `n_nodes + 1`,
    /// non-decreasing from 0 to `col_idx.len()`) and `col_idx` (the source of each edge, `< n_nodes`).
    ///
    /// # Errors
    /// [`Error::InvalidGraph`] naming the first bad row pointer or edge.
    pub fn new(n_nodes: usize, row_ptr: Vec<usize>, col_idx: Vec<u32>) -> Result<Self> {
        let bad = |p: String| Err(Error::InvalidGraph { problems: vec![p] });
        if row_ptr.len() != n_nodes + 1
            || row_ptr.first() != Some(&0)
            || row_ptr.last() != Some(&col_idx.len())
        {
            return bad(format!(
                "row_ptr must have n_nodes + 1 = {} entries from 0 to n_edges {} (got {} entries)",
                n_nodes + 1,
                col_idx.len(),
                row_ptr.len()
            ));
        }
        if let Some(i) = row_ptr.windows(2).position(|w| w[0] > w[1]) {
            return bad(format!("row_ptr decreases at row {i}"));
        }
        if let Some(e) = col_idx.iter().position(|&c| c as usize >= n_nodes) {
            return bad(format!(
                "edge {e}: src {} out of range (n_nodes {n_nodes})",
                col_idx[e]
            ));
        }
        Ok(Self::from_csr(n_nodes, row_ptr, col_idx))
    }

    /// Builds the structure from destination-major CSR arrays (already validated by the caller).
    pub(crate) fn from_csr(n_nodes: usize, row_ptr: Vec<usize>, col_idx: Vec<u32>) -> Self {
        assert_eq!(row_ptr.len(), n_nodes + 1, "row_ptr length");
        assert_eq!(row_ptr[n_nodes], col_idx.len(), "row_ptr end");
        let n_edges = col_idx.len();
        let mut edge_row = vec![0u32; n_edges];
        for i in 0..n_nodes {
            for slot in &mut edge_row[row_ptr[i]..row_ptr[i + 1]] {
                *slot = i as u32;
            }
        }
        // Counting sort by source: stable, so edges of one source stay in ascending edge order.
        let mut t_ptr = vec![0usize; n_nodes + 1];
        for &c in &col_idx {
            t_ptr[c as usize + 1] += 1;
        }
        for j in 0..n_nodes {
            t_ptr[j + 1] += t_ptr[j];
        }
        let mut fill = t_ptr.clone();
        let mut t_edge = vec![0u32; n_edges];
        for (e, &c) in col_idx.iter().enumerate() {
            t_edge[fill[c as usize]] = e as u32;
            fill[c as usize] += 1;
        }
        SparseStructure {
            n_nodes,
            row_ptr,
            col_idx,
            edge_row,
            t_ptr,
            t_edge,
        }
    }

    /// Number of nodes (rows and columns).
    pub fn n_nodes(&self) -> usize {
        self.n_nodes
    }

    /// Number of stored edges.
    pub fn n_edges(&self) -> usize {
        self.col_idx.len()
    }

    /// Row pointers (length `n_nodes + 1`).
    pub fn row_ptr(&self) -> &[usize] {
        &self.row_ptr
    }

    /// Source node of each edge, in CSR order.
    pub fn col_idx(&self) -> &[u32] {
        &self.col_idx
    }

    /// Destination node of each edge, in CSR order.
    pub fn edge_row(&self) -> &[u32] {
        &self.edge_row
    }
}

/// Splits `buf` (rows of `width` values per edge, CSR order) into one mutable slice per node row.
fn edge_rows_mut<'a>(
    mut buf: &'a mut [f32],
    row_ptr: &[usize],
    width: usize,
) -> Vec<&'a mut [f32]> {
    let mut rows = Vec::with_capacity(row_ptr.len().saturating_sub(1));
    for w in row_ptr.windows(2) {
        let (head, tail) = buf.split_at_mut((w[1] - w[0]) * width);
        rows.push(head);
        buf = tail;
    }
    rows
}

/// `out += sum over (edge, node) of w[edge, head] * x[node]` per head block, in the given order.
///
/// Edges are taken four at a time and combined as `((t0 + t1) + (t2 + t3))` before adding to `out`:
/// the four source rows are then loaded together (memory-level parallelism on random gathers), and the
/// summation order is still fixed by the edge order alone, never by the thread count.
fn accumulate_row(
    out: &mut [f32],
    mut edges: impl Iterator<Item = (usize, usize)>,
    w: &[f32],
    n_heads: usize,
    x: &[f32],
    d: usize,
    dh: usize,
) {
    loop {
        let batch = [edges.next(), edges.next(), edges.next(), edges.next()];
        match batch {
            [Some(a), Some(b), Some(c), Some(e)] => {
                for h in 0..n_heads {
                    let (lo, hi) = (h * dh, (h + 1) * dh);
                    let ws = [a, b, c, e].map(|(edge, _)| w[edge * n_heads + h]);
                    let [xa, xb, xc, xe] =
                        [a, b, c, e].map(|(_, node)| &x[node * d + lo..node * d + hi]);
                    for ((((o, p), q), r), t) in
                        out[lo..hi].iter_mut().zip(xa).zip(xb).zip(xc).zip(xe)
                    {
                        *o += (ws[0] * p + ws[1] * q) + (ws[2] * r + ws[3] * t);
                    }
                }
            }
            rest => {
                for (edge, node) in rest.into_iter().flatten() {
                    for h in 0..n_heads {
                        let (lo, hi) = (h * dh, (h + 1) * dh);
                        let we = w[edge * n_heads + h];
                        for (o, p) in out[lo..hi].iter_mut().zip(&x[node * d + lo..node * d + hi]) {
                            *o += we * p;
                        }
                    }
                }
                return;
            }
        }
    }
}

/// `Y = A X`: `w` is `E x n_heads`, `x` is `n x d`; returns `n x d`.
pub fn spmm(s: &SparseStructure, w: &[f32], n_heads: usize, x: &[f32], d: usize) -> Vec<f32> {
    assert_eq!(w.len(), s.n_edges() * n_heads, "spmm: weight length");
    assert_eq!(x.len(), s.n_nodes * d, "spmm: x length");
    assert!(
        n_heads > 0 && d.is_multiple_of(n_heads),
        "spmm: heads must divide d"
    );
    let dh = d / n_heads;
    let mut y = vec![0f32; s.n_nodes * d];
    if d == 0 {
        return y;
    }
    y.par_chunks_mut(d)
        .with_min_len(MIN_ROWS_PER_TASK)
        .enumerate()
        .for_each(|(i, yi)| {
            let edges = s.row_ptr[i]..s.row_ptr[i + 1];
            accumulate_row(
                yi,
                edges.map(|e| (e, s.col_idx[e] as usize)),
                w,
                n_heads,
                x,
                d,
                dh,
            );
        });
    y
}

/// `dX = A^T dY`: the gradient of [`spmm`] with respect to `x`.
pub fn spmm_transpose(
    s: &SparseStructure,
    w: &[f32],
    n_heads: usize,
    dy: &[f32],
    d: usize,
) -> Vec<f32> {
    assert_eq!(
        w.len(),
        s.n_edges() * n_heads,
        "spmm_transpose: weight length"
    );
    assert_eq!(dy.len(), s.n_nodes * d, "spmm_transpose: dy length");
    let dh = d / n_heads;
    let mut dx = vec![0f32; s.n_nodes * d];
    if d == 0 {
        return dx;
    }
    dx.par_chunks_mut(d)
        .with_min_len(MIN_ROWS_PER_TASK)
        .enumerate()
        .for_each(|(j, dxj)| {
            let edges = s.t_edge[s.t_ptr[j]..s.t_ptr[j + 1]]
                .iter()
                .map(|&e| (e as usize, s.edge_row[e as usize] as usize));
            accumulate_row(dxj, edges, w, n_heads, dy, d, dh);
        });
    dx
}

/// `dW[e, h] = <dY[dst e] , X[src e]>` over head `h`'s feature block: the gradient of [`spmm`] with
/// respect to the edge weights.
pub fn spmm_weight_grad(
    s: &SparseStructure,
    n_heads: usize,
    x: &[f32],
    dy: &[f32],
    d: usize,
) -> Vec<f32> {
    let dh = d / n_heads;
    let mut dw = vec![0f32; s.n_edges() * n_heads];
    dw.par_chunks_mut(n_heads)
        .with_min_len(256)
        .enumerate()
        .for_each(|(e, dwe)| {
            let (i, j) = (s.edge_row[e] as usize, s.col_idx[e] as usize);
            for (h, out) in dwe.iter_mut().enumerate() {
                let a = &dy[i * d + h * dh..i * d + (h + 1) * dh];
                let b = &x[j * d + h * dh..j * d + (h + 1) * dh];
                *out = a.iter().zip(b).map(|(p, q)| p * q).sum();
            }
        });
    dw
}

/// Per-edge attention logits `s[e, h] = a_dst[dst e, h] + a_src[src e, h]` (`a_*` are `n x n_heads`).
pub fn edge_scores(s: &SparseStructure, a_dst: &[f32], a_src: &[f32], n_heads: usize) -> Vec<f32> {
    assert_eq!(
        a_dst.len(),
        s.n_nodes * n_heads,
        "edge_scores: a_dst length"
    );
    assert_eq!(
        a_src.len(),
        s.n_nodes * n_heads,
        "edge_scores: a_src length"
    );
    let mut out = vec![0f32; s.n_edges() * n_heads];
    out.par_chunks_mut(n_heads)
        .with_min_len(256)
        .enumerate()
        .for_each(|(e, oe)| {
            let (i, j) = (s.edge_row[e] as usize, s.col_idx[e] as usize);
            for (h, o) in oe.iter_mut().enumerate() {
                *o = a_dst[i * n_heads + h] + a_src[j * n_heads + h];
            }
        });
    out
}

/// Gradients of [`edge_scores`]: `(d a_dst, d a_src)`, each `n x n_heads`, summed in a fixed order.
pub fn edge_scores_backward(
    s: &SparseStructure,
    g: &[f32],
    n_heads: usize,
) -> (Vec<f32>, Vec<f32>) {
    let mut d_dst = vec![0f32; s.n_nodes * n_heads];
    let mut d_src = vec![0f32; s.n_nodes * n_heads];
    d_dst
        .par_chunks_mut(n_heads)
        .with_min_len(MIN_ROWS_PER_TASK)
        .enumerate()
        .for_each(|(i, di)| {
            for e in s.row_ptr[i]..s.row_ptr[i + 1] {
                for (h, v) in di.iter_mut().enumerate() {
                    *v += g[e * n_heads + h];
                }
            }
        });
    d_src
        .par_chunks_mut(n_heads)
        .with_min_len(MIN_ROWS_PER_TASK)
        .enumerate()
        .for_each(|(j, dj)| {
            for &e in &s.t_edge[s.t_ptr[j]..s.t_ptr[j + 1]] {
                for (h, v) in dj.iter_mut().enumerate() {
                    *v += g[e as usize * n_heads + h];
                }
            }
        });
    (d_dst, d_src)
}

/// Softmax of edge logits over the incoming edges of each node, per head (GAT's attention
/// coefficients). Max-subtracted for stability. A node without incoming edges has no entries.
pub fn edge_softmax(s: &SparseStructure, scores: &[f32], n_heads: usize) -> Vec<f32> {
    assert_eq!(
        scores.len(),
        s.n_edges() * n_heads,
        "edge_softmax: scores length"
    );
    let mut out = scores.to_vec();
    let rows = edge_rows_mut(&mut out, &s.row_ptr, n_heads);
    rows.into_par_iter()
        .with_min_len(MIN_ROWS_PER_TASK)
        .for_each(|row| {
            for h in 0..n_heads {
                let mut max = f32::NEG_INFINITY;
                for v in row.iter().skip(h).step_by(n_heads) {
                    max = max.max(*v);
                }
                let mut sum = 0f32;
                for v in row.iter_mut().skip(h).step_by(n_heads) {
                    *v = (*v - max).exp();
                    sum += *v;
                }
                for v in row.iter_mut().skip(h).step_by(n_heads) {
                    *v /= sum;
                }
            }
        });
    out
}

/// Gradient of [`edge_softmax`] given its output `alpha` and the upstream gradient `g`:
/// `ds[e] = alpha[e] * (g[e] - sum over the row of alpha * g)`.
pub fn edge_softmax_backward(
    s: &SparseStructure,
    alpha: &[f32],
    g: &[f32],
    n_heads: usize,
) -> Vec<f32> {
    let mut out = vec![0f32; alpha.len()];
    let rows = edge_rows_mut(&mut out, &s.row_ptr, n_heads);
    rows.into_par_iter()
        .with_min_len(MIN_ROWS_PER_TASK)
        .enumerate()
        .for_each(|(i, row)| {
            let base = s.row_ptr[i] * n_heads;
            for h in 0..n_heads {
                let mut dot = 0f32;
                for k in (h..row.len()).step_by(n_heads) {
                    dot += alpha[base + k] * g[base + k];
                }
                for k in (h..row.len()).step_by(n_heads) {
                    row[k] = alpha[base + k] * (g[base + k] - dot);
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3 nodes: edges 1->0 (w 2), 2->0 (w 3), 0->1 (w 1), 2->2 (w 0.5).
    fn tiny() -> SparseStructure {
        SparseStructure::from_csr(3, vec![0, 2, 3, 4], vec![1, 2, 0, 2])
    }

    #[test]
    fn spmm_matches_hand_computation() {
        let s = tiny();
        let w = [2.0, 3.0, 1.0, 0.5];
        let x = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0];
        let y = spmm(&s, &w, 1, &x, 2);
        assert_eq!(
            y,
            vec![
                2.0 * 2.0 + 3.0 * 3.0,
                2.0 * 20.0 + 3.0 * 30.0,
                1.0,
                10.0,
                1.5,
                15.0
            ]
        );
        let dx = spmm_transpose(&s, &w, 1, &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0], 2);
        // Column 0 feeds row 1 (w 1); column 1 feeds row 0 (w 2); column 2 feeds rows 0 (w 3) and 2 (w 0.5).
        assert_eq!(dx, vec![0.0, 1.0, 2.0, 0.0, 3.0 + 0.5, 0.5]);
    }

    #[test]
    fn edge_softmax_rows_sum_to_one() {
        let s = tiny();
        let a = edge_softmax(&s, &[0.0, 2.0f32.ln(), 5.0, -1.0], 1);
        // Tolerance 1e-6: f32 exp and division.
        assert!(
            (a[0] - 1.0 / 3.0).abs() < 1e-6 && (a[1] - 2.0 / 3.0).abs() < 1e-6,
            "{a:?}"
        );
        assert_eq!(&a[2..], &[1.0, 1.0]);
    }

    #[test]
    fn transpose_groups_by_source_in_edge_order() {
        let s = tiny();
        assert_eq!(s.t_ptr, vec![0, 1, 2, 4]);
        assert_eq!(s.t_edge, vec![2, 0, 1, 3]);
        assert_eq!(s.edge_row, vec![0, 0, 1, 2]);
    }
}
