//! Gradients of the custom sparse ops through burn's autodiff: against the dense formulas and against
//! central finite differences of the forward kernels.

use learn::diff;
use learn::sparse::{self, SparseStructure};

use crate::{random_structure, values};

/// Dense `n x n` matrix of head `h`: `A[i][j] += w[e, h]` for edge `e = (j -> i)`.
fn dense(s: &SparseStructure, w: &[f32], n_heads: usize, h: usize) -> Vec<Vec<f64>> {
    let n = s.n_nodes();
    let mut a = vec![vec![0f64; n]; n];
    for e in 0..s.n_edges() {
        a[s.edge_row()[e] as usize][s.col_idx()[e] as usize] += f64::from(w[e * n_heads + h]);
    }
    a
}

fn assert_close(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (f64::from(*g) - w).abs();
        assert!(
            err <= tol * (1.0 + w.abs()),
            "{what}[{k}]: got {g}, want {w} (tol {tol})"
        );
    }
}

#[test]
fn spmm_forward_and_backward_match_the_dense_formula() {
    for (n_heads, d) in [(1usize, 5usize), (2, 6)] {
        let s = random_structure(9, 30, 1);
        let (n, e) = (s.n_nodes(), s.n_edges());
        let w = values(e * n_heads, -1.0, 1.0, 2);
        let x = values(n * d, -1.0, 1.0, 3);
        let up = values(n * d, -1.0, 1.0, 4);
        let (y, dw, dx) = diff::spmm(&s, &w, n_heads, &x, d, &up).unwrap();
        let dh = d / n_heads;
        let (mut y_ref, mut dx_ref) = (vec![0f64; n * d], vec![0f64; n * d]);
        for h in 0..n_heads {
            let a = dense(&s, &w, n_heads, h);
            for i in 0..n {
                for j in 0..n {
                    for k in h * dh..(h + 1) * dh {
                        y_ref[i * d + k] += a[i][j] * f64::from(x[j * d + k]);
                        // dX = A^T dY
                        dx_ref[j * d + k] += a[i][j] * f64::from(up[i * d + k]);
                    }
                }
            }
        }
        let dw_ref: Vec<f64> = (0..e * n_heads)
            .map(|eh| {
                let (edge, h) = (eh / n_heads, eh % n_heads);
                let (i, j) = (s.edge_row()[edge] as usize, s.col_idx()[edge] as usize);
                (h * dh..(h + 1) * dh)
                    .map(|k| f64::from(up[i * d + k]) * f64::from(x[j * d + k]))
                    .sum()
            })
            .collect();
        // Tolerance 1e-5 relative: f32 sums of at most ~10 terms.
        assert_close("Y", &y, &y_ref, 1e-5);
        assert_close("dX", &dx, &dx_ref, 1e-5);
        assert_close("dW", &dw, &dw_ref, 1e-5);
    }
}

/// Central finite difference of `L(v) = sum(f(v) * up)` at every coordinate of `v`.
fn finite_diff(v: &[f32], up: &[f32], eps: f32, f: impl Fn(&[f32]) -> Vec<f32>) -> Vec<f64> {
    let loss = |v: &[f32]| -> f64 {
        f(v).iter()
            .zip(up)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum()
    };
    (0..v.len())
        .map(|k| {
            let (mut p, mut m) = (v.to_vec(), v.to_vec());
            p[k] += eps;
            m[k] -= eps;
            (loss(&p) - loss(&m)) / (2.0 * f64::from(eps))
        })
        .collect()
}

#[test]
fn spmm_gradients_match_finite_differences() {
    let (n_heads, d) = (2, 4);
    let s = random_structure(7, 20, 11);
    let w = values(s.n_edges() * n_heads, 0.1, 1.0, 12);
    let x = values(s.n_nodes() * d, -1.0, 1.0, 13);
    let up = values(s.n_nodes() * d, -1.0, 1.0, 14);
    let (_, dw, dx) = diff::spmm(&s, &w, n_heads, &x, d, &up).unwrap();
    let fd_x = finite_diff(&x, &up, 1e-2, |x| sparse::spmm(&s, &w, n_heads, x, d));
    let fd_w = finite_diff(&w, &up, 1e-2, |w| sparse::spmm(&s, w, n_heads, &x, d));
    // Tolerance 1e-3: the op is linear, so only f32 rounding (~1e-6 / eps) remains.
    assert_close("dX vs finite differences", &dx, &fd_x, 1e-3);
    assert_close("dW vs finite differences", &dw, &fd_w, 1e-3);
}

#[test]
fn attention_op_gradients_match_finite_differences() {
    let n_heads = 3;
    let s = random_structure(8, 26, 21);
    let (n, e) = (s.n_nodes(), s.n_edges());
    let a_dst = values(n * n_heads, -1.0, 1.0, 22);
    let a_src = values(n * n_heads, -1.0, 1.0, 23);
    let up_e = values(e * n_heads, -1.0, 1.0, 24);
    let (_, d_dst, d_src) = diff::edge_scores(&s, &a_dst, &a_src, n_heads, &up_e).unwrap();
    let fd_dst = finite_diff(&a_dst, &up_e, 1e-2, |v| {
        sparse::edge_scores(&s, v, &a_src, n_heads)
    });
    let fd_src = finite_diff(&a_src, &up_e, 1e-2, |v| {
        sparse::edge_scores(&s, &a_dst, v, n_heads)
    });
    // Linear op: tolerance 1e-3 covers f32 rounding over eps 1e-2.
    assert_close("d a_dst", &d_dst, &fd_dst, 1e-3);
    assert_close("d a_src", &d_src, &fd_src, 1e-3);

    let scores = values(e * n_heads, -2.0, 2.0, 25);
    let (alpha, d_scores) = diff::edge_softmax(&s, &scores, n_heads, &up_e).unwrap();
    let fd = finite_diff(&scores, &up_e, 1e-2, |v| {
        sparse::edge_softmax(&s, v, n_heads)
    });
    // Non-linear: central differences err O(eps^2) ~ 1e-4, plus f32 rounding; tolerance 2e-3.
    assert_close("d scores", &d_scores, &fd, 2e-3);
    // Each node's incoming attention sums to one per head (tolerance 1e-5).
    for i in 0..n {
        for h in 0..n_heads {
            let sum: f32 = (s.row_ptr()[i]..s.row_ptr()[i + 1])
                .map(|e| alpha[e * n_heads + h])
                .sum();
            assert!(
                (sum - 1.0).abs() < 1e-5,
                "node {i} head {h}: attention sums to {sum}"
            );
        }
    }
}

#[test]
fn op_inputs_of_the_wrong_length_are_errors() {
    let s = random_structure(4, 8, 31);
    let err = diff::spmm(&s, &[1.0; 3], 1, &[0.0; 8], 2, &[0.0; 8]).unwrap_err();
    assert!(err.to_string().contains("w (E x n_heads)"), "{err}");
}
