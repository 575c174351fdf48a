//! Weighted least squares for small models: a linear solver (normal equations with a tiny ridge and an
//! active set for non-negativity) and a hand-written Levenberg–Marquardt for the non-linear
//! parameters of StepConf Eq. 1.
//!
//! Why hand-written: the models have 3 to 6 parameters and at most a few hundred points, so the normal
//! equations fit in a 6 x 6 matrix; a general optimisation crate would add a dependency (and often a
//! BLAS) for what is 150 lines here, and we need bit-identical results across machines (no threads,
//! fixed iteration order). Residuals are weighted by `1 / y` so the fit minimises squared *relative*
//! error, the metric the paper and our reports use.

/// Solves the `n x n` system `a x = b` (row-major `a`) by Gaussian elimination with partial pivoting.
/// Returns `None` if the matrix is singular to working precision.
pub(crate) fn solve(mut a: Vec<f64>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    debug_assert_eq!(a.len(), n * n);
    for col in 0..n {
        let piv =
            (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))?;
        if a[piv * n + col].abs() < 1e-300 || !a[piv * n + col].is_finite() {
            return None;
        }
        if piv != col {
            for k in 0..n {
                a.swap(col * n + k, piv * n + k);
            }
            b.swap(col, piv);
        }
        for row in col + 1..n {
            let f = a[row * n + col] / a[col * n + col];
            if f != 0.0 {
                for k in col..n {
                    a[row * n + k] -= f * a[col * n + k];
                }
                b[row] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let mut s = b[row];
        for k in row + 1..n {
            s -= a[row * n + k] * x[k];
        }
        x[row] = s / a[row * n + row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Weighted linear least squares `min sum_i w_i^2 (x_i . theta - y_i)^2` over the columns not fixed at
/// zero; columns listed in `nonneg` are kept `>= 0` by dropping the most negative one and solving again
/// (an active-set method, exact for the tiny systems here). `rows[i]` is the feature vector of point
/// `i`. Returns `theta` (zero for dropped columns) and the weighted sum of squares, or `None` if no
/// solution exists.
pub(crate) fn linear_lsq(
    rows: &[Vec<f64>],
    y: &[f64],
    w: &[f64],
    nonneg: &[bool],
) -> Option<(Vec<f64>, f64)> {
    let n = rows.first()?.len();
    let mut active: Vec<bool> = (0..n).map(|c| rows.iter().any(|r| r[c] != 0.0)).collect();
    loop {
        let idx: Vec<usize> = (0..n).filter(|&c| active[c]).collect();
        let k = idx.len();
        let mut ata = vec![0.0; k * k];
        let mut atb = vec![0.0; k];
        for (r, (&yi, &wi)) in rows.iter().zip(y.iter().zip(w)) {
            let w2 = wi * wi;
            for (a, &ca) in idx.iter().enumerate() {
                atb[a] += w2 * r[ca] * yi;
                for (b, &cb) in idx.iter().enumerate() {
                    ata[a * k + b] += w2 * r[ca] * r[cb];
                }
            }
        }
        // A tiny ridge keeps nearly collinear features (e.g. a constant k) solvable.
        let tr: f64 = (0..k).map(|i| ata[i * k + i]).sum::<f64>().max(1e-300);
        for i in 0..k {
            ata[i * k + i] += 1e-12 * tr / k as f64;
        }
        let sol = if k == 0 { Vec::new() } else { solve(ata, atb)? };
        let mut theta = vec![0.0; n];
        for (a, &c) in idx.iter().enumerate() {
            theta[c] = sol[a];
        }
        let worst = idx
            .iter()
            .copied()
            .filter(|&c| nonneg[c] && theta[c] < 0.0)
            .min_by(|&a, &b| theta[a].total_cmp(&theta[b]));
        match worst {
            Some(c) => active[c] = false,
            None => {
                let sse = weighted_sse(rows, y, w, &theta);
                return Some((theta, sse));
            }
        }
    }
}

fn weighted_sse(rows: &[Vec<f64>], y: &[f64], w: &[f64], theta: &[f64]) -> f64 {
    rows.iter()
        .zip(y.iter().zip(w))
        .map(|(r, (&yi, &wi))| {
            let f: f64 = r.iter().zip(theta).map(|(a, b)| a * b).sum();
            (wi * (f - yi)).powi(2)
        })
        .sum()
}

/// The result of a Levenberg–Marquardt run.
#[derive(Debug, Clone)]
pub(crate) struct LmResult {
    /// The parameters at the best point found.
    pub theta: Vec<f64>,
    /// Weighted sum of squared residuals there.
    pub sse: f64,
}

/// Levenberg–Marquardt with Marquardt's diagonal scaling on `n_points` points.
/// `model(theta, i, grad)` returns the model value at point `i` and writes its gradient with respect
/// to `theta` into `grad`; it may return a non-finite value for an invalid `theta` (the step is then
/// rejected). `lower[j]` bounds parameter `j` from below (a step is projected onto the bound).
/// Deterministic: a fixed number of at most `max_iter` iterations in a fixed order.
pub(crate) fn levenberg_marquardt(
    theta0: &[f64],
    y: &[f64],
    w: &[f64],
    lower: &[f64],
    max_iter: usize,
    model: impl Fn(&[f64], usize, &mut [f64]) -> f64,
) -> LmResult {
    let n = theta0.len();
    let m = y.len();
    let mut grad = vec![0.0; n];
    let sse_at = |theta: &[f64], grad: &mut [f64]| -> f64 {
        let mut s = 0.0;
        for i in 0..m {
            let f = model(theta, i, grad);
            if !f.is_finite() {
                return f64::INFINITY;
            }
            s += (w[i] * (f - y[i])).powi(2);
        }
        s
    };
    let mut theta = theta0.to_vec();
    let mut sse = sse_at(&theta, &mut grad);
    let mut lambda = 1e-3;
    let mut jtj = vec![0.0; n * n];
    let mut jtr = vec![0.0; n];
    for _ in 0..max_iter {
        if !sse.is_finite() {
            break;
        }
        jtj.iter_mut().for_each(|v| *v = 0.0);
        jtr.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..m {
            let f = model(&theta, i, &mut grad);
            let r = w[i] * (f - y[i]);
            for a in 0..n {
                let ja = w[i] * grad[a];
                jtr[a] += ja * r;
                for b in 0..n {
                    jtj[a * n + b] += ja * w[i] * grad[b];
                }
            }
        }
        let mut improved = false;
        for _ in 0..30 {
            let mut a = jtj.clone();
            for d in 0..n {
                a[d * n + d] += lambda * jtj[d * n + d].max(1e-12);
            }
            let Some(step) = solve(a, jtr.iter().map(|v| -v).collect()) else {
                lambda *= 10.0;
                continue;
            };
            let cand: Vec<f64> = theta
                .iter()
                .zip(&step)
                .zip(lower)
                .map(|((t, s), lo)| (t + s).max(*lo))
                .collect();
            let cand_sse = sse_at(&cand, &mut grad);
            if cand_sse < sse {
                let rel = (sse - cand_sse) / sse.max(1e-300);
                theta = cand;
                sse = cand_sse;
                lambda = (lambda / 10.0).max(1e-12);
                improved = rel > 1e-13;
                break;
            }
            lambda *= 10.0;
            if lambda > 1e12 {
                break;
            }
        }
        if !improved {
            break;
        }
    }
    LmResult { theta, sse }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_small_system() {
        let x = solve(vec![2.0, 1.0, 1.0, 3.0], vec![3.0, 5.0]).unwrap();
        assert!(
            (x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12,
            "{x:?}"
        );
        assert!(solve(vec![1.0, 2.0, 2.0, 4.0], vec![1.0, 2.0]).is_none());
    }

    #[test]
    fn nonnegative_least_squares_drops_negative_columns() {
        // y = 2 x exactly, plus a column that would fit noise with a negative weight.
        let rows: Vec<Vec<f64>> = (1..=5)
            .map(|i| vec![f64::from(i), if i == 5 { 1.0 } else { 0.0 }])
            .collect();
        let y = [2.0, 4.0, 6.0, 8.0, 9.0];
        let (theta, _) = linear_lsq(&rows, &y, &[1.0; 5], &[true, true]).unwrap();
        assert!(theta[1] == 0.0 && theta[0] > 0.0, "{theta:?}");
    }

    #[test]
    fn lm_recovers_an_exponential() {
        let xs: Vec<f64> = (0..20).map(|i| f64::from(i) * 0.3).collect();
        let y: Vec<f64> = xs.iter().map(|x| 3.0 * (-0.7 * x).exp() + 0.5).collect();
        let w: Vec<f64> = y.iter().map(|v| 1.0 / v).collect();
        let r = levenberg_marquardt(
            &[1.0, 0.1, 0.0],
            &y,
            &w,
            &[f64::NEG_INFINITY; 3],
            200,
            |t, i, g| {
                let e = (-t[1] * xs[i]).exp();
                g[0] = e;
                g[1] = -xs[i] * t[0] * e;
                g[2] = 1.0;
                t[0] * e + t[2]
            },
        );
        assert!(
            (r.theta[0] - 3.0).abs() < 1e-8
                && (r.theta[1] - 0.7).abs() < 1e-8
                && (r.theta[2] - 0.5).abs() < 1e-8,
            "{:?}",
            r.theta
        );
    }
}
