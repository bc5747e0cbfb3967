//! Static optimisation: the muscle activations that balance given joint moments with the least
//! summed squared activation.
//!
//! Problem (SI): minimise `sum a_i^2 + sum r_j^2` subject to `A a + R r = b`, `0 <= a_i <= 1`,
//! where column `i` of `A` is what muscle `i` contributes at full activation (e.g. its moment
//! about the hip, N m), `b` the moments to balance and `r` reserve actuators of strength `R`
//! (N m per unit) that keep every problem feasible; a non-zero reserve means the muscles are
//! too weak, and is reported. OpenSim's static optimisation adds reserves the same way.
//!
//! Solver: the problem is strictly convex; its dual in the few multipliers `l` is smooth and
//! concave with `a_i(l) = clamp(A_i . l, 0, 1)` and `r = R l`. A semismooth Newton method with
//! a backtracking line search on the dual finds `l`; this is exact (not penalised) and takes a
//! handful of iterations for 3-6 equations and 20-100 muscles.

use nalgebra::{DMatrix, DVector};

use super::{MskError, Result};

/// The answer of [`solve`].
#[derive(Debug, Clone)]
pub struct StaticSolution {
    /// Activations, one per column of `A`, in `[0, 1]`.
    pub activations: Vec<f64>,
    /// Reserve actuator values times their strength (N m per equation).
    pub reserve: Vec<f64>,
    /// Newton iterations used.
    pub iterations: usize,
    /// Largest equation residual at the end.
    pub residual: f64,
}

/// Solves `min |a|^2 + |r|^2` s.t. `A a + reserve_strength * r = b`, `0 <= a <= 1`.
pub fn solve(a: &DMatrix<f64>, b: &DVector<f64>, reserve_strength: f64) -> Result<StaticSolution> {
    dual_newton(a, b, reserve_strength, 2.0, None)
}

/// [`solve`] with the activations' cost `sum a_i^p` for an exponent `p` in `[2, 4]` (2 is
/// [`solve`]'s squared cost; 3 is Crowninshield and Brand's endurance criterion); the reserves
/// keep their squared cost. Same dual Newton method: `a_i(l) = clamp((A_i . l)^(1/(p-1)), 0,
/// 1)` with the multipliers scaled so that the cost is `sum a^p / p`.
pub fn solve_with_exponent(a: &DMatrix<f64>, b: &DVector<f64>, reserve_strength: f64, exponent: f64) -> Result<StaticSolution> {
    if !(2.0..=4.0).contains(&exponent) {
        return Err(MskError::InvalidInput { what: "activation cost exponent".into(), value: exponent, why: "must be between 2 and 4".into() });
    }
    dual_newton(a, b, reserve_strength, exponent, None)
}

/// [`solve_with_exponent`] with a weight per activation: the cost `sum w_i a_i^p` (e.g. each
/// muscle's volume, the muscle-volume-weighted criterion); weights positive and finite.
pub fn solve_weighted(a: &DMatrix<f64>, b: &DVector<f64>, reserve_strength: f64, exponent: f64, weights: &[f64]) -> Result<StaticSolution> {
    if !(2.0..=4.0).contains(&exponent) {
        return Err(MskError::InvalidInput { what: "activation cost exponent".into(), value: exponent, why: "must be between 2 and 4".into() });
    }
    if weights.len() != a.ncols() {
        return Err(MskError::InvalidInput { what: "number of weights".into(), value: weights.len() as f64, why: format!("must equal the {} columns of A", a.ncols()) });
    }
    if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w > 0.0)) {
        return Err(MskError::InvalidInput { what: "activation weight".into(), value: *w, why: "must be positive and finite".into() });
    }
    dual_newton(a, b, reserve_strength, exponent, Some(weights))
}

/// Squared cost with weights and free columns: minimises `sum w_i x_i^2` subject to
/// `A x + reserve_strength * r = b` (plus the squared reserves), with `0 <= x_i <= 1` for the
/// bounded columns and `x_i` unbounded where `free[i]` (e.g. the components of a joint force
/// that the cost penalises, a joint-load-aware criterion). Same dual Newton method.
pub fn solve_weighted_free(a: &DMatrix<f64>, b: &DVector<f64>, reserve_strength: f64, weights: &[f64], free: &[bool]) -> Result<StaticSolution> {
    if weights.len() != a.ncols() || free.len() != a.ncols() {
        return Err(MskError::InvalidInput { what: "number of weights or free flags".into(), value: weights.len().min(free.len()) as f64, why: format!("must equal the {} columns of A", a.ncols()) });
    }
    if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w > 0.0)) {
        return Err(MskError::InvalidInput { what: "activation weight".into(), value: *w, why: "must be positive and finite".into() });
    }
    dual_newton_free(a, b, reserve_strength, 2.0, Some(weights), Some(free), MAX_ITERATIONS_SQUARED)
}

/// The dual Newton method for the cost `sum a^p / p + |r|^2 / 2` (`p` = 2: the module's
/// squared cost, up to the factor 1/2).
/// With `weights`, activation `i` costs `w_i a^p / p`: its conjugate is `w_i psi(s / w_i)`, its
/// activation `act(s / w_i)`.
fn dual_newton(a: &DMatrix<f64>, b: &DVector<f64>, reserve_strength: f64, p: f64, weights: Option<&[f64]>) -> Result<StaticSolution> {
    dual_newton_within(a, b, reserve_strength, p, weights, if p == 2.0 { MAX_ITERATIONS_SQUARED } else { MAX_ITERATIONS_POWER })
}

/// Newton iterations the squared cost may take (issue 16: a bounded cost); it takes a handful.
pub const MAX_ITERATIONS_SQUARED: usize = 200;
/// Newton iterations a cost `sum a^p` with `p` > 2 may take.
pub const MAX_ITERATIONS_POWER: usize = 500;
/// The largest equation residual accepted from a solve that used up its iterations, relative to
/// `max(|b|, 1)`; a solve that converges reaches 1e-10. Past it the solve is an error, never a
/// silent partial answer.
pub const ACCEPTED_RESIDUAL: f64 = 1e-6;

/// [`dual_newton`] within `max_iterations`.
fn dual_newton_within(a: &DMatrix<f64>, b: &DVector<f64>, reserve_strength: f64, p: f64, weights: Option<&[f64]>, max_iterations: usize) -> Result<StaticSolution> {
    dual_newton_free(a, b, reserve_strength, p, weights, None, max_iterations)
}

/// [`dual_newton_within`] where the columns flagged in `free` are unbounded (only with `p` = 2).
fn dual_newton_free(a: &DMatrix<f64>, b: &DVector<f64>, reserve_strength: f64, p: f64, weights: Option<&[f64]>, free: Option<&[bool]>, max_iterations: usize) -> Result<StaticSolution> {
    let w = |i: usize| weights.map_or(1.0, |w| w[i]);
    let is_free = |i: usize| p == 2.0 && free.is_some_and(|f| f[i]);
    let (m, n) = a.shape();
    if b.len() != m {
        return Err(MskError::InvalidInput { what: "right-hand side length".into(), value: b.len() as f64, why: format!("must equal the {m} rows of A") });
    }
    if !(reserve_strength > 0.0 && reserve_strength.is_finite()) {
        return Err(MskError::InvalidInput { what: "reserve strength".into(), value: reserve_strength, why: "must be positive and finite".into() });
    }
    if a.iter().chain(b.iter()).any(|v| !v.is_finite()) {
        return Err(MskError::InvalidInput { what: "static optimisation input".into(), value: f64::NAN, why: "A and b must be finite".into() });
    }
    let q = 1.0 / (p - 1.0);
    let r2 = reserve_strength * reserve_strength;
    // a(s) = clamp(s^q, 0, 1) maximises a s - a^p / p; psi(s) is that maximum. For p = 2:
    // a = clamp(s, 0, 1), psi = s^2 / 2 inside.
    let act = |s: f64| {
        if s <= 0.0 {
            0.0
        } else if p == 2.0 {
            s.min(1.0)
        } else {
            s.powf(q).min(1.0)
        }
    };
    let dact = |s: f64| {
        if s <= 0.0 || s >= 1.0 {
            0.0
        } else if p == 2.0 {
            1.0
        } else {
            q * s.powf(q - 1.0)
        }
    };
    let psi = |s: f64| {
        if s <= 0.0 {
            0.0
        } else if s >= 1.0 {
            s - 1.0 / p
        } else if p == 2.0 {
            0.5 * s * s
        } else {
            (1.0 - 1.0 / p) * s.powf(p * q)
        }
    };
    // Dual objective (to maximise): l.b - sum psi(A_i.l) - r2 |l|^2 / 2.
    let dual = |l: &DVector<f64>| -> f64 {
        let mut d = l.dot(b) - 0.5 * r2 * l.norm_squared();
        for i in 0..n {
            let t = a.column(i).dot(l) / w(i);
            d -= w(i) * if is_free(i) { 0.5 * t * t } else { psi(t) };
        }
        d
    };
    let acts = |l: &DVector<f64>| {
        DVector::from_iterator(
            n,
            (0..n).map(|i| {
                let t = a.column(i).dot(l) / w(i);
                if is_free(i) { t } else { act(t) }
            }),
        )
    };
    let tol = 1e-10 * b.amax().max(1.0);
    let mut l = DVector::zeros(m);
    let mut iterations = 0;
    let mut residual = f64::INFINITY;
    for it in 0..max_iterations {
        iterations = it;
        let g = a * acts(&l) + &l * r2 - b; // gradient of the negated dual
        residual = g.amax();
        if residual <= tol {
            break;
        }
        let mut j = DMatrix::<f64>::identity(m, m) * r2;
        for i in 0..n {
            let d = if is_free(i) { 1.0 } else { dact(a.column(i).dot(&l) / w(i)) } / w(i);
            if d > 0.0 {
                j += a.column(i) * a.column(i).transpose() * d.min(1e6);
            }
        }
        let Some(step) = j.clone().cholesky().map(|c| c.solve(&(-&g))) else {
            return Err(MskError::Infeasible { why: "the Newton system is singular".into() });
        };
        // Backtracking (Armijo) on the dual.
        let d0 = dual(&l);
        let slope = -g.dot(&step);
        let mut t = 1.0;
        loop {
            let trial = &l + &step * t;
            if dual(&trial) >= d0 + 1e-4 * t * slope || t < 1e-12 {
                l = trial;
                break;
            }
            t *= 0.5;
        }
    }
    let accepted = ACCEPTED_RESIDUAL * b.amax().max(1.0);
    if residual.is_nan() || residual > accepted {
        return Err(MskError::Infeasible {
            why: format!(
                "the solver used its budget of {max_iterations} Newton iterations with an equation still {residual:.3e} off (accepted: {accepted:.1e}); \
                 the loads or the muscles' moment arms are badly scaled: check the model's units and the body weight"
            ),
        });
    }
    let reserve: Vec<f64> = (&l * r2).iter().copied().collect();
    Ok(StaticSolution { activations: acts(&l).iter().copied().collect(), reserve, iterations, residual })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn one_equation_has_the_closed_form() {
        // min a1^2 + a2^2 s.t. 2 a1 + 1 a2 = 1: a = (2, 1) / 5 (reserve negligible).
        let a = DMatrix::from_row_slice(1, 2, &[2.0, 1.0]);
        let b = DVector::from_vec(vec![1.0]);
        let s = solve(&a, &b, 1e-3).unwrap();
        assert_relative_eq!(s.activations[0], 0.4, epsilon = 1e-6);
        assert_relative_eq!(s.activations[1], 0.2, epsilon = 1e-6);
    }

    #[test]
    fn bounds_saturate_and_the_reserve_takes_the_rest() {
        // b = 2.9: the unbounded minimum norm answer (2, 1) * 0.58 puts a1 at 1.16, so a1
        // saturates at 1 and a2 = 0.9. b = 4: both saturate, the reserve covers 1.
        let a = DMatrix::from_row_slice(1, 2, &[2.0, 1.0]);
        let s = solve(&a, &DVector::from_vec(vec![2.9]), 1e-3).unwrap();
        assert_relative_eq!(s.activations[0], 1.0, epsilon = 1e-9);
        assert_relative_eq!(s.activations[1], 0.9, epsilon = 1e-5);
        let s = solve(&a, &DVector::from_vec(vec![4.0]), 1.0).unwrap();
        assert_relative_eq!(s.activations[0], 1.0, epsilon = 1e-9);
        assert_relative_eq!(s.activations[1], 1.0, epsilon = 1e-9);
        assert_relative_eq!(s.reserve[0], 1.0, epsilon = 1e-6);
    }

    #[test]
    fn opposing_muscles_stay_off() {
        // A muscle pulling the wrong way is not used.
        let a = DMatrix::from_row_slice(2, 3, &[1.0, -1.0, 0.0, 0.0, 0.0, 1.0]);
        let s = solve(&a, &DVector::from_vec(vec![0.5, 0.25]), 1e-3).unwrap();
        assert_relative_eq!(s.activations[0], 0.5, epsilon = 1e-6);
        assert_relative_eq!(s.activations[1], 0.0, epsilon = 1e-12);
        assert_relative_eq!(s.activations[2], 0.25, epsilon = 1e-6);
        assert!(solve(&a, &DVector::from_vec(vec![f64::NAN, 0.0]), 1e-3).is_err());
    }

    #[test]
    fn weighted_cost_has_the_closed_form() {
        // min 4 a1^2 + a2^2 s.t. 2 a1 + 1 a2 = 1: a_i = l A_i / w_i, so a = (1/2, 1) l with
        // l = 1 / (2 * 1/2 + 1) = 1/2: a = (1/4, 1/2).
        let a = DMatrix::from_row_slice(1, 2, &[2.0, 1.0]);
        let s = solve_weighted(&a, &DVector::from_vec(vec![1.0]), 1e-3, 2.0, &[4.0, 1.0]).unwrap();
        assert_relative_eq!(s.activations[0], 0.25, epsilon = 1e-6);
        assert_relative_eq!(s.activations[1], 0.5, epsilon = 1e-6);
        // Equal weights are the unweighted problem.
        let u = solve_weighted(&a, &DVector::from_vec(vec![1.0]), 1e-3, 2.0, &[1.0, 1.0]).unwrap();
        assert_relative_eq!(u.activations[0], 0.4, epsilon = 1e-6);
        assert!(solve_weighted(&a, &DVector::from_vec(vec![1.0]), 1e-3, 2.0, &[0.0, 1.0]).is_err());
        assert!(solve_weighted(&a, &DVector::from_vec(vec![1.0]), 1e-3, 2.0, &[1.0]).is_err());
    }

    #[test]
    fn free_columns_are_unbounded() {
        // min a^2 + 4 f^2 s.t. a - f = 3 (a bounded in [0, 1], f free): a = 1, f = -2 (the
        // unbounded optimum a = 2.4 is cut at 1); the same with both bounded cannot balance.
        let a = DMatrix::from_row_slice(1, 2, &[1.0, -1.0]);
        let s = solve_weighted_free(&a, &DVector::from_vec(vec![3.0]), 1e-4, &[1.0, 4.0], &[false, true]).unwrap();
        assert_relative_eq!(s.activations[0], 1.0, epsilon = 1e-9);
        assert_relative_eq!(s.activations[1], -2.0, epsilon = 1e-5);
        // Inside the bounds: min a^2 + 4 f^2 s.t. a - f = 1: a = 4/5, f = -1/5.
        let s = solve_weighted_free(&a, &DVector::from_vec(vec![1.0]), 1e-4, &[1.0, 4.0], &[false, true]).unwrap();
        assert_relative_eq!(s.activations[0], 0.8, epsilon = 1e-6);
        assert_relative_eq!(s.activations[1], -0.2, epsilon = 1e-6);
        assert!(solve_weighted_free(&a, &DVector::from_vec(vec![1.0]), 1e-4, &[1.0, 4.0], &[false]).is_err());
    }

    #[test]
    fn cubic_cost_has_the_closed_form() {
        // min a1^3 + a2^3 s.t. 2 a1 + 1 a2 = 1: a_i proportional to sqrt(A_i), so
        // a = (sqrt 2, 1) / (2 sqrt 2 + 1) (reserve negligible).
        let a = DMatrix::from_row_slice(1, 2, &[2.0, 1.0]);
        let s = solve_with_exponent(&a, &DVector::from_vec(vec![1.0]), 1e-3, 3.0).unwrap();
        let k = 1.0 / (2.0 * 2f64.sqrt() + 1.0);
        assert_relative_eq!(s.activations[0], 2f64.sqrt() * k, epsilon = 1e-5);
        assert_relative_eq!(s.activations[1], k, epsilon = 1e-5);
        assert!(solve_with_exponent(&a, &DVector::from_vec(vec![1.0]), 1e-3, 1.0).is_err());
    }

    /// Issue 16 (deadlines): a solve that runs out of Newton iterations before its equations
    /// balance is an error naming the budget and the residual, never a silent partial answer;
    /// the same problem within the normal budget converges.
    #[test]
    fn issue_16_a_solve_out_of_iterations_is_an_error() {
        let a = DMatrix::from_row_slice(2, 3, &[0.05, 0.03, -0.02, 0.01, -0.04, 0.03]);
        let b = DVector::from_vec(vec![0.04, -0.01]);
        let ok = solve(&a, &b, 1e-3).unwrap();
        assert!(ok.iterations >= 1 && ok.iterations < MAX_ITERATIONS_SQUARED, "{}", ok.iterations);
        let e = dual_newton_within(&a, &b, 1e-3, 2.0, None, 1).unwrap_err().to_string();
        assert!(e.starts_with("static optimisation failed: the solver used its budget of 1 Newton iterations with an equation still "), "{e}");
        assert!(e.ends_with("(accepted: 1.0e-6); the loads or the muscles' moment arms are badly scaled: check the model's units and the body weight"), "{e}");
    }
}
