//! OpenSim's one-argument functions (`Constant`, `LinearFunction`, `SimmSpline`, ...), evaluated
//! exactly as OpenSim 4.6 evaluates them.

/// A function of one coordinate, as an .osim file writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Function {
    /// `<Constant>`: the same value everywhere.
    Constant(f64),
    /// `<LinearFunction>`: `slope * x + intercept`.
    Linear {
        /// The slope.
        slope: f64,
        /// The intercept.
        intercept: f64,
    },
    /// `<PolynomialFunction>`: coefficients from the highest order down (OpenSim's order).
    Polynomial(Vec<f64>),
    /// `<SimmSpline>`: SIMM's cubic spline (third derivatives at the ends from divided
    /// differences), linear extrapolation with the end slopes.
    SimmSpline(Spline),
    /// `<NaturalCubicSpline>`: natural cubic spline (zero second derivative at both ends),
    /// linear extrapolation with the end slopes.
    NaturalCubicSpline(Spline),
    /// `<PiecewiseLinearFunction>`: linear between the knots, end segments extended.
    PiecewiseLinear {
        /// Knots, increasing.
        x: Vec<f64>,
        /// Values at the knots.
        y: Vec<f64>,
    },
    /// `<MultiplierFunction>`: `scale * inner(x)`.
    Multiplier {
        /// The function multiplied.
        inner: Box<Function>,
        /// The factor.
        scale: f64,
    },
}

/// A cubic spline through knots, with its coefficients `y + b dx + c dx^2 + d dx^3` per knot.
#[derive(Debug, Clone, PartialEq)]
pub struct Spline {
    /// Knots, increasing (OpenSim does not sort them either).
    pub x: Vec<f64>,
    /// Values at the knots.
    pub y: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    d: Vec<f64>,
}

const TINY_NUMBER: f64 = 0.0000001;
// SIMM's ROUNDOFF_ERROR, used by EQUAL_WITHIN_ERROR.
const ROUNDOFF_ERROR: f64 = 0.0000000000002;

/// The coefficients of a spline with fewer than three knots (a constant or a straight line),
/// shared by both spline kinds; `None` for three knots or more.
fn few_knots(x: &[f64], y: &[f64]) -> Option<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let n = x.len();
    let (mut b, c, d) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    match n {
        0 | 1 => Some((b, c, d)),
        2 => {
            let t = (x[1] - x[0]).max(TINY_NUMBER);
            b[0] = (y[1] - y[0]) / t;
            b[1] = b[0];
            Some((b, c, d))
        }
        _ => None,
    }
}

impl Spline {
    /// SIMM's spline (OpenSim `SimmSpline::calcCoefficients`): Forsythe, Malcolm and Moler's
    /// cubic spline with the third derivatives at both ends taken from divided differences.
    /// Needs at least two knots with `x.len() == y.len()`; checked by the reader.
    pub fn simm(x: Vec<f64>, y: Vec<f64>) -> Self {
        if let Some((b, c, d)) = few_knots(&x, &y) {
            return Self { x, y, b, c, d };
        }
        let n = x.len();
        let (mut b, mut c, mut d) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let nm1 = n - 1;
        let nm2 = n - 2;
        d[0] = (x[1] - x[0]).max(TINY_NUMBER);
        c[1] = (y[1] - y[0]) / d[0];
        for i in 1..nm1 {
            d[i] = (x[i + 1] - x[i]).max(TINY_NUMBER);
            b[i] = 2.0 * (d[i - 1] + d[i]);
            c[i + 1] = (y[i + 1] - y[i]) / d[i];
            c[i] = c[i + 1] - c[i];
        }
        b[0] = -d[0];
        b[nm1] = -d[nm2];
        c[0] = 0.0;
        c[nm1] = 0.0;
        if n > 3 {
            let d31 = (x[3] - x[1]).max(TINY_NUMBER);
            let d20 = (x[2] - x[0]).max(TINY_NUMBER);
            let d1 = (x[nm1] - x[n - 3]).max(TINY_NUMBER);
            let d2 = (x[nm2] - x[n - 4]).max(TINY_NUMBER);
            let d30 = (x[3] - x[0]).max(TINY_NUMBER);
            let d3 = (x[nm1] - x[n - 4]).max(TINY_NUMBER);
            c[0] = c[2] / d31 - c[1] / d20;
            c[nm1] = c[nm2] / d1 - c[n - 3] / d2;
            c[0] = c[0] * d[0] * d[0] / d30;
            c[nm1] = -c[nm1] * d[nm2] * d[nm2] / d3;
        }
        for i in 1..n {
            let t = d[i - 1] / b[i - 1];
            b[i] -= t * d[i - 1];
            c[i] -= t * c[i - 1];
        }
        c[nm1] /= b[nm1];
        for j in 0..nm1 {
            let i = nm2 - j;
            c[i] = (c[i] - d[i] * c[i + 1]) / b[i];
        }
        b[nm1] = (y[nm1] - y[nm2]) / d[nm2] + d[nm2] * (c[nm2] + 2.0 * c[nm1]);
        for i in 0..nm1 {
            b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i]);
            d[i] = (c[i + 1] - c[i]) / d[i];
            c[i] *= 3.0;
        }
        c[nm1] *= 3.0;
        d[nm1] = d[nm2];
        Self { x, y, b, c, d }
    }

    /// A natural cubic spline (zero second derivatives at both ends).
    pub fn natural(x: Vec<f64>, y: Vec<f64>) -> Self {
        if let Some((b, c, d)) = few_knots(&x, &y) {
            return Self { x, y, b, c, d };
        }
        let n = x.len();
        let (mut b, mut c, mut d) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        // Second derivatives m by the tridiagonal system, m[0] = m[n-1] = 0.
        let h: Vec<f64> = (0..n - 1).map(|i| (x[i + 1] - x[i]).max(TINY_NUMBER)).collect();
        let mut diag = vec![1.0; n];
        let mut rhs = vec![0.0; n];
        let mut sub = vec![0.0; n];
        let mut sup = vec![0.0; n];
        for i in 1..n - 1 {
            sub[i] = h[i - 1];
            diag[i] = 2.0 * (h[i - 1] + h[i]);
            sup[i] = h[i];
            rhs[i] = 6.0 * ((y[i + 1] - y[i]) / h[i] - (y[i] - y[i - 1]) / h[i - 1]);
        }
        for i in 1..n {
            let w = sub[i] / diag[i - 1];
            diag[i] -= w * sup[i - 1];
            rhs[i] -= w * rhs[i - 1];
        }
        let mut m = vec![0.0; n];
        m[n - 1] = rhs[n - 1] / diag[n - 1];
        for i in (0..n - 1).rev() {
            m[i] = (rhs[i] - sup[i] * m[i + 1]) / diag[i];
        }
        for i in 0..n - 1 {
            b[i] = (y[i + 1] - y[i]) / h[i] - h[i] * (2.0 * m[i] + m[i + 1]) / 6.0;
            c[i] = m[i] / 2.0;
            d[i] = (m[i + 1] - m[i]) / (6.0 * h[i]);
        }
        let hl = h[n - 2];
        b[n - 1] = b[n - 2] + 2.0 * c[n - 2] * hl + 3.0 * d[n - 2] * hl * hl;
        c[n - 1] = m[n - 1] / 2.0;
        Self { x, y, b, c, d }
    }

    fn interval(&self, v: f64) -> usize {
        let n = self.x.len();
        if n < 3 {
            return 0;
        }
        let (mut i, mut j) = (0usize, n);
        loop {
            let k = (i + j) / 2;
            if k + 1 >= n {
                return n - 2;
            }
            if v < self.x[k] {
                j = k;
            } else if v > self.x[k + 1] {
                i = k;
            } else {
                return k;
            }
            if j <= i {
                return i.min(n - 2);
            }
        }
    }

    /// The value at `v` (`SimmSpline::calcValue`).
    pub fn value(&self, v: f64) -> f64 {
        let n = self.x.len();
        if n == 0 {
            return f64::NAN;
        }
        if n == 1 {
            return self.y[0];
        }
        if v < self.x[0] {
            return self.y[0] + (v - self.x[0]) * self.b[0];
        }
        if v > self.x[n - 1] {
            return self.y[n - 1] + (v - self.x[n - 1]) * self.b[n - 1];
        }
        if (v - self.x[0]).abs() <= ROUNDOFF_ERROR {
            return self.y[0];
        }
        if (v - self.x[n - 1]).abs() <= ROUNDOFF_ERROR {
            return self.y[n - 1];
        }
        let k = self.interval(v);
        let dx = v - self.x[k];
        self.y[k] + dx * (self.b[k] + dx * (self.c[k] + dx * self.d[k]))
    }

    /// The first derivative at `v` (`SimmSpline::calcDerivative`, order 1).
    pub fn derivative(&self, v: f64) -> f64 {
        let n = self.x.len();
        if n < 2 {
            return 0.0;
        }
        if v < self.x[0] || (v - self.x[0]).abs() <= ROUNDOFF_ERROR {
            return self.b[0];
        }
        if v > self.x[n - 1] || (v - self.x[n - 1]).abs() <= ROUNDOFF_ERROR {
            return self.b[n - 1];
        }
        let k = self.interval(v);
        let dx = v - self.x[k];
        self.b[k] + dx * (2.0 * self.c[k] + 3.0 * dx * self.d[k])
    }

    /// The second derivative at `v`: 0 outside the knots, where [`Spline::value`] continues
    /// as a straight line.
    pub fn second_derivative(&self, v: f64) -> f64 {
        let n = self.x.len();
        if n < 2 || v < self.x[0] || v > self.x[n - 1] {
            return 0.0;
        }
        let k = self.interval(v);
        let dx = v - self.x[k];
        2.0 * self.c[k] + 6.0 * dx * self.d[k]
    }
}

impl Function {
    /// The value at `x`.
    pub fn value(&self, x: f64) -> f64 {
        match self {
            Function::Constant(v) => *v,
            Function::Linear { slope, intercept } => slope * x + intercept,
            Function::Polynomial(c) => c.iter().fold(0.0, |acc, a| acc * x + a),
            Function::SimmSpline(s) | Function::NaturalCubicSpline(s) => s.value(x),
            Function::PiecewiseLinear { x: xs, y } => piecewise_linear(xs, y, x).0,
            Function::Multiplier { inner, scale } => scale * inner.value(x),
        }
    }

    /// The first derivative at `x`.
    pub fn derivative(&self, x: f64) -> f64 {
        match self {
            Function::Constant(_) => 0.0,
            Function::Linear { slope, .. } => *slope,
            Function::Polynomial(c) => {
                let n = c.len();
                c.iter().enumerate().take(n.saturating_sub(1)).fold(0.0, |acc, (i, a)| acc * x + a * (n - 1 - i) as f64)
            }
            Function::SimmSpline(s) | Function::NaturalCubicSpline(s) => s.derivative(x),
            Function::PiecewiseLinear { x: xs, y } => piecewise_linear(xs, y, x).1,
            Function::Multiplier { inner, scale } => scale * inner.derivative(x),
        }
    }

    /// Whether this is `f(x) = x` (a coordinate used as it is).
    pub fn is_identity(&self) -> bool {
        matches!(self, Function::Linear { slope, intercept } if *slope == 1.0 && *intercept == 0.0)
    }
}

/// Value and slope of a piecewise linear function (end segments extended).
fn piecewise_linear(xs: &[f64], ys: &[f64], x: f64) -> (f64, f64) {
    let n = xs.len().min(ys.len());
    match n {
        0 => (f64::NAN, 0.0),
        1 => (ys[0], 0.0),
        _ => {
            let k = match xs[..n].iter().position(|&k| k > x) {
                Some(0) => 0,
                Some(i) => (i - 1).min(n - 2),
                None => n - 2,
            };
            let dx = (xs[k + 1] - xs[k]).max(TINY_NUMBER);
            let slope = (ys[k + 1] - ys[k]) / dx;
            (ys[k] + slope * (x - xs[k]), slope)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn simm_spline_interpolates_knots_and_reproduces_a_cubic() {
        // A SIMM spline's end conditions match third derivatives from divided differences, so a
        // cubic polynomial is reproduced exactly.
        let f = |x: f64| 0.3 * x * x * x - x * x + 2.0 * x - 1.0;
        let xs = vec![-2.0, -1.2, -0.3, 0.5, 1.1, 2.0];
        let s = Spline::simm(xs.clone(), xs.iter().map(|&x| f(x)).collect());
        for &x in &xs {
            assert_relative_eq!(s.value(x), f(x), epsilon = 1e-12);
        }
        for x in [-1.7, -0.9, 0.0, 0.77, 1.9] {
            assert_relative_eq!(s.value(x), f(x), epsilon = 1e-10);
            let df = 0.9 * x * x - 2.0 * x + 2.0;
            assert_relative_eq!(s.derivative(x), df, epsilon = 1e-9);
        }
        // Linear extrapolation with the end slope.
        let slope = s.derivative(2.0);
        assert_relative_eq!(s.value(2.5), f(2.0) + 0.5 * slope, epsilon = 1e-10);
    }

    #[test]
    fn natural_spline_is_linear_for_linear_data() {
        let s = Spline::natural(vec![0.0, 1.0, 3.0, 4.0], vec![1.0, 3.0, 7.0, 9.0]);
        for x in [-1.0, 0.5, 2.0, 3.5, 5.0] {
            assert_relative_eq!(s.value(x), 2.0 * x + 1.0, epsilon = 1e-12);
            assert_relative_eq!(s.derivative(x), 2.0, epsilon = 1e-12);
        }
    }

    #[test]
    fn polynomial_and_piecewise_linear() {
        let p = Function::Polynomial(vec![2.0, -1.0, 3.0]); // 2x^2 - x + 3
        assert_relative_eq!(p.value(2.0), 9.0);
        assert_relative_eq!(p.derivative(2.0), 7.0);
        let l = Function::PiecewiseLinear { x: vec![0.0, 1.0, 2.0], y: vec![0.0, 2.0, 3.0] };
        assert_relative_eq!(l.value(0.5), 1.0);
        assert_relative_eq!(l.value(1.5), 2.5);
        assert_relative_eq!(l.value(3.0), 4.0);
        assert_relative_eq!(l.derivative(-1.0), 2.0);
        let m = Function::Multiplier { inner: Box::new(p), scale: 0.5 };
        assert_relative_eq!(m.value(2.0), 4.5);
    }
}
