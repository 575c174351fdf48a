//! ARIMA(p, d, q) one-step forecasts for the hybrid histogram policy's out-of-range idle times (Shahrad
//! et al., ATC'20, Sec. 4.2: "for applications with idle times beyond the histogram's range we use ARIMA to
//! predict the next idle time").
//!
//! The model of the `d`-times differenced series `w`:
//! `w_t = c + phi_1 w_{t-1} + ... + phi_p w_{t-p} + e_t + theta_1 e_{t-1} + ... + theta_q e_{t-q}`,
//! fitted by conditional sum of squares (residuals before the first full lag window are zero), minimised
//! by Nelder-Mead from the least-squares AR fit, with `sum |phi| < 1` and `sum |theta| < 1` (sufficient
//! for stationarity and invertibility) enforced by a penalty. [`auto`] picks the order with the smallest
//! AIC, as auto-ARIMA tools do. Deterministic: no randomness, fixed iteration budgets.

/// A fitted ARIMA model.
#[derive(Debug, Clone, PartialEq)]
pub struct Arima {
    /// AR order.
    pub p: usize,
    /// Differencing order.
    pub d: usize,
    /// MA order.
    pub q: usize,
    /// Intercept of the differenced series.
    pub c: f64,
    /// AR coefficients.
    pub phi: Vec<f64>,
    /// MA coefficients.
    pub theta: Vec<f64>,
    /// Mean squared residual.
    pub sigma2: f64,
    /// Akaike information criterion (`n ln(SSE / n) + 2 k`).
    pub aic: f64,
}

/// The series differenced `d` times.
fn difference(y: &[f64], d: usize) -> Vec<f64> {
    let mut w = y.to_vec();
    for _ in 0..d {
        w = w.windows(2).map(|x| x[1] - x[0]).collect();
    }
    w
}

/// Residuals of `params` (`c`, `phi`, `theta`) on `w`, from index `p` on; `None` when a residual is not
/// finite.
fn residuals(w: &[f64], p: usize, q: usize, params: &[f64]) -> Option<Vec<f64>> {
    let (c, phi, theta) = (params[0], &params[1..1 + p], &params[1 + p..1 + p + q]);
    let mut e = vec![0.0; w.len()];
    for t in p..w.len() {
        let mut pred = c;
        for i in 0..p {
            pred += phi[i] * w[t - 1 - i];
        }
        for j in 0..q {
            if t > j {
                pred += theta[j] * e[t - 1 - j];
            }
        }
        e[t] = w[t] - pred;
        if !e[t].is_finite() {
            return None;
        }
    }
    Some(e)
}

fn sse(w: &[f64], p: usize, q: usize, params: &[f64]) -> f64 {
    let phi: f64 = params[1..1 + p].iter().map(|x| x.abs()).sum();
    let theta: f64 = params[1 + p..1 + p + q].iter().map(|x| x.abs()).sum();
    if phi >= 1.0 || theta >= 1.0 {
        return f64::INFINITY;
    }
    match residuals(w, p, q, params) {
        Some(e) => e[p..].iter().map(|x| x * x).sum(),
        None => f64::INFINITY,
    }
}

/// Least-squares AR(p) fit of `w` (intercept first), by the normal equations; zeros when singular.
fn ar_start(w: &[f64], p: usize) -> Vec<f64> {
    let k = p + 1;
    let mut a = vec![vec![0.0; k]; k];
    let mut b = vec![0.0; k];
    for t in p..w.len() {
        let mut x = vec![1.0];
        x.extend((0..p).map(|i| w[t - 1 - i]));
        for i in 0..k {
            b[i] += x[i] * w[t];
            for j in 0..k {
                a[i][j] += x[i] * x[j];
            }
        }
    }
    // Gaussian elimination with partial pivoting.
    for col in 0..k {
        let piv = (col..k)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        if a[piv][col].abs() < 1e-12 {
            let mean = w.iter().sum::<f64>() / w.len().max(1) as f64;
            let mut out = vec![0.0; k];
            out[0] = mean;
            return out;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        let pivot_row = a[col].clone();
        for r in 0..k {
            if r != col {
                let f = a[r][col] / pivot_row[col];
                for (x, p) in a[r][col..].iter_mut().zip(&pivot_row[col..]) {
                    *x -= f * p;
                }
                b[r] -= f * b[col];
            }
        }
    }
    let mut x: Vec<f64> = (0..k).map(|i| b[i] / a[i][i]).collect();
    // Pull a non-stationary start inside the admissible region.
    let s: f64 = x[1..].iter().map(|v| v.abs()).sum();
    if s >= 0.95 {
        for v in &mut x[1..] {
            *v *= 0.9 / s;
        }
    }
    x
}

/// Nelder-Mead minimisation of `f` from `x0` (deterministic, `iters` iterations at most).
fn nelder_mead(f: impl Fn(&[f64]) -> f64, x0: &[f64], iters: usize) -> (Vec<f64>, f64) {
    let n = x0.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    simplex.push((x0.to_vec(), f(x0)));
    for i in 0..n {
        let mut x = x0.to_vec();
        x[i] += if x[i].abs() > 1e-3 { 0.1 * x[i] } else { 0.1 };
        let v = f(&x);
        simplex.push((x, v));
    }
    for _ in 0..iters {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (simplex[0].1, simplex[n].1);
        if (worst - best).abs() <= 1e-12 * (1.0 + best.abs()) {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|s| s.0[j]).sum::<f64>() / n as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            (0..n)
                .map(|j| centroid[j] + t * (simplex[n].0[j] - centroid[j]))
                .collect()
        };
        let xr = along(-1.0);
        let fr = f(&xr);
        if fr < simplex[0].1 {
            let xe = along(-2.0);
            let fe = f(&xe);
            simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (xr, fr);
        } else {
            let xc = along(if fr < simplex[n].1 { -0.5 } else { 0.5 });
            let fc = f(&xc);
            if fc < simplex[n].1.min(fr) {
                simplex[n] = (xc, fc);
            } else {
                let x0 = simplex[0].0.clone();
                for s in simplex.iter_mut().skip(1) {
                    for (v, b) in s.0.iter_mut().zip(&x0) {
                        *v = b + 0.5 * (*v - b);
                    }
                    s.1 = f(&s.0);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, v) = simplex.swap_remove(0);
    (x, v)
}

/// Fits ARIMA(`p`, `d`, `q`) to `y`; `None` when the series is too short for the order (fewer than
/// `p + q + 3` points after differencing) or no finite fit exists.
pub fn fit(y: &[f64], p: usize, d: usize, q: usize) -> Option<Arima> {
    if y.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let w = difference(y, d);
    let n_eff = w.len().checked_sub(p)?;
    if n_eff < p + q + 3 {
        return None;
    }
    let mut x0 = ar_start(&w, p);
    x0.extend(std::iter::repeat_n(0.0, q));
    let (params, best) = if p + q == 0 {
        let v = sse(&w, 0, 0, &x0);
        (x0, v)
    } else {
        nelder_mead(|x| sse(&w, p, q, x), &x0, 400 * (p + q + 1))
    };
    if !best.is_finite() {
        return None;
    }
    let k = (1 + p + q) as f64;
    let sigma2 = best / n_eff as f64;
    let aic = n_eff as f64 * sigma2.max(1e-300).ln() + 2.0 * k;
    Some(Arima {
        p,
        d,
        q,
        c: params[0],
        phi: params[1..1 + p].to_vec(),
        theta: params[1 + p..].to_vec(),
        sigma2,
        aic,
    })
}

/// The order with the smallest AIC among `p <= max_p`, `d <= max_d`, `q <= max_q` (orders compared on the
/// same differencing only: AICs of different `d` are on different series, so the smallest `d` that
/// fits is preferred unless its best model is worse than the differenced one's by more than 2).
pub fn auto(y: &[f64], max_p: usize, max_d: usize, max_q: usize) -> Option<Arima> {
    let mut chosen: Option<Arima> = None;
    for d in 0..=max_d {
        let mut best: Option<Arima> = None;
        for p in 0..=max_p {
            for q in 0..=max_q {
                if let Some(m) = fit(y, p, d, q)
                    && best.as_ref().is_none_or(|b| m.aic < b.aic - 1e-9)
                {
                    best = Some(m);
                }
            }
        }
        if let Some(b) = best {
            // Compare residual variance in the undifferenced units: one more difference must explain
            // clearly more.
            if chosen.as_ref().is_none_or(|c| b.sigma2 < 0.8 * c.sigma2) {
                chosen = Some(b);
            }
        }
    }
    chosen
}

impl Arima {
    /// The forecast of the value after the last of `y` (the series it was fitted to, or that series
    /// extended).
    pub fn forecast(&self, y: &[f64]) -> f64 {
        let w = difference(y, self.d);
        let mut params = vec![self.c];
        params.extend(&self.phi);
        params.extend(&self.theta);
        let e = residuals(&w, self.p, self.q, &params).unwrap_or_else(|| vec![0.0; w.len()]);
        let t = w.len();
        let mut next = self.c;
        for i in 0..self.p {
            if t > i {
                next += self.phi[i] * w[t - 1 - i];
            }
        }
        for j in 0..self.q {
            if t > j {
                next += self.theta[j] * e[t - 1 - j];
            }
        }
        // Undo the differencing: add back the last value of each level.
        let mut level = next;
        let mut series = y.to_vec();
        for _ in 0..self.d {
            let last = *series.last().unwrap_or(&0.0);
            level += last;
            series = series.windows(2).map(|x| x[1] - x[0]).collect();
        }
        level
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random sequence in [-0.5, 0.5) (a linear congruential generator).
    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    #[test]
    fn recovers_an_ar1_coefficient() {
        let e = noise(400, 7);
        let mut y = vec![0.0];
        for t in 1..400 {
            y.push(2.0 + 0.6 * y[t - 1] + e[t]);
        }
        let m = fit(&y, 1, 0, 0).unwrap();
        assert!((m.phi[0] - 0.6).abs() < 0.05, "{m:?}");
        assert!((m.c - 2.0).abs() < 0.3, "{m:?}");
        let f = m.forecast(&y);
        let want = 2.0 + 0.6 * y[399];
        assert!((f - want).abs() < 0.1, "{f} vs {want}");
    }

    #[test]
    fn recovers_an_ma1_coefficient() {
        let e = noise(600, 3);
        let y: Vec<f64> = (0..600)
            .map(|t| 5.0 + e[t] + if t > 0 { 0.5 * e[t - 1] } else { 0.0 })
            .collect();
        let m = fit(&y, 0, 0, 1).unwrap();
        assert!((m.theta[0] - 0.5).abs() < 0.1, "{m:?}");
    }

    #[test]
    fn an_alternating_series_is_forecast_by_its_pattern_not_its_mean() {
        // Idle times alternating 5 h and 9 h: the mean says 7, AR(1) with a negative coefficient says
        // the next one.
        let y: Vec<f64> = (0..16)
            .map(|i| if i % 2 == 0 { 5.0 } else { 9.0 })
            .collect();
        let m = auto(&y, 2, 1, 2).unwrap();
        let f = m.forecast(&y);
        assert!((f - 5.0).abs() < 0.5, "{m:?} forecast {f}");
    }

    #[test]
    fn a_trend_is_followed_and_constants_stay_constant() {
        let y: Vec<f64> = (0..12).map(|i| 10.0 + 2.0 * i as f64).collect();
        let m = auto(&y, 2, 1, 2).unwrap();
        assert!((m.forecast(&y) - 34.0).abs() < 0.5, "{m:?}");
        let c = vec![4.0; 10];
        let m = auto(&c, 2, 1, 2).unwrap();
        assert!((m.forecast(&c) - 4.0).abs() < 1e-6, "{m:?}");
    }

    #[test]
    fn short_or_bad_series_give_none() {
        assert!(fit(&[1.0, 2.0], 1, 0, 0).is_none());
        assert!(fit(&[1.0, f64::NAN, 2.0, 3.0, 4.0, 5.0], 0, 0, 0).is_none());
        assert!(auto(&[], 2, 1, 2).is_none());
    }
}
