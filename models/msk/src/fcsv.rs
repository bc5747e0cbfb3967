//! 3D Slicer markups files (`.fcsv`): labelled points, the landmark format `coxa hcf` reads
//! (OrthoLoad's landmark files are in it). A few lines of CSV; the label sits in column 12.

use nalgebra::Vector3;

use super::{MskError, Result};

/// Parses a 3D Slicer markups file (`.fcsv`): `(label, position_mm)` per fiducial. Lines
/// starting with `#` are comments; columns are `id,x,y,z,...,label,...` (label in column 12).
pub fn parse_fcsv(text: &str) -> Result<Vec<(String, Vector3<f64>)>> {
    let mut out = Vec::new();
    for (k, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split(',').collect();
        let bad = |why: &str| MskError::Landmarks { why: format!("line {}: {why} (expected id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,...)", k + 1) };
        if cols.len() < 12 {
            return Err(bad(&format!("{} columns", cols.len())));
        }
        let num = |i: usize| cols[i].trim().parse::<f64>().ok().filter(|v| v.is_finite());
        let (Some(x), Some(y), Some(z)) = (num(1), num(2), num(3)) else { return Err(bad("x, y, z are not finite numbers")) };
        out.push((cols[11].trim().to_string(), Vector3::new(x, y, z)));
    }
    if out.is_empty() {
        return Err(MskError::Landmarks { why: "no fiducials in the file".into() });
    }
    Ok(out)
}
