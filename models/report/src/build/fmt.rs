//! How the report writes numbers: a fixed number of digits, `–` for a value that is absent or
//! not finite (JSON's `null`).

use serde_json::Value;

/// `v` with `digits` decimals.
pub fn f(v: f64, digits: usize) -> String {
    format!("{v:.digits$}")
}

/// `v` with `digits` decimals, `–` when not finite.
pub fn numf(v: f64, digits: usize) -> String {
    numo(Some(v), digits)
}

/// `v` with `digits` decimals, `–` when absent or not finite.
pub fn numo(v: Option<f64>, digits: usize) -> String {
    v.filter(|x| x.is_finite()).map_or_else(|| "–".to_string(), |x| format!("{x:.digits$}"))
}

/// A JSON number with `digits` decimals, `–` when not a number.
pub fn num(v: &Value, digits: usize) -> String {
    v.as_f64().map_or_else(|| "–".to_string(), |x| format!("{x:.digits$}"))
}

/// A JSON string as it is, another value as JSON, `–` for null.
pub fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| if v.is_null() { "–".into() } else { v.to_string() }, str::to_string)
}

/// A point, 0.1 mm: `(x, y, z)`, `–` for a coordinate not finite.
pub fn pt3(v: &[f64; 3]) -> String {
    format!("({})", v.iter().map(|x| numf(*x, 1)).collect::<Vec<_>>().join(", "))
}

/// A JSON point, 0.1 mm.
pub fn pt(v: &Value) -> String {
    v.as_array().map_or_else(|| "–".into(), |a| format!("({})", a.iter().map(|x| num(x, 1)).collect::<Vec<_>>().join(", ")))
}

/// A fraction as a whole percentage, `–` when absent or not finite.
pub fn percent(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite()).map_or_else(|| "–".into(), |x| format!("{:.0} %", 100.0 * x))
}

/// A signed value with one decimal and its unit (`+1.2 mm`), `–` when not finite.
pub fn signed(v: f64, unit: &str) -> String {
    if v.is_finite() { format!("{v:+.1} {unit}") } else { "–".into() }
}

/// The name serde gives a unit variant (`measured`, `radiographic`, ...).
pub fn serde_name<T: serde::Serialize>(t: &T) -> String {
    serde_json::to_value(t).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// A name as people read it: `internal_rotation_90_flexion` -> `internal rotation 90 flexion`.
pub fn words(s: &str) -> String {
    s.replace('_', " ")
}
