//! 3D Slicer markups: labelled points as a fiducial list, written in both of Slicer's formats
//! (`.fcsv`, Slicer 4.11's CSV, which `coxa hcf` and OrthoLoad's landmark files use; and
//! `.mrk.json`, Slicer 5's markups JSON, schema v1.0.3), in LPS millimetres and saying so
//! (`CoordinateSystem = LPS`, `"coordinateSystem": "LPS"`), so Slicer places them on the CT.
//!
//! Both are a few lines of text; no crate writes them, and serde_json writes the JSON. The
//! `.fcsv` is written by hand, not through the csv crate ([`crate::table`]): it is Slicer's own
//! format, comment lines first, and commas (and line breaks) in a label or description become
//! `;` rather than being quoted, because the readers of these files (OrthoLoad's tools, this
//! module's own) split each line on commas.

use std::io::Write;
use std::path::Path;

use nalgebra::Point3;
use serde_json::json;

use crate::mesh::write_new;
use crate::{Error, Result};

/// One labelled point of a markups file.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlPoint {
    /// The label Slicer shows (`HJC_L`, `ASIS_R`, ...); commas are replaced by `;` in `.fcsv`.
    pub label: String,
    /// What the point is (free text; commas are replaced by `;` in `.fcsv`).
    pub description: String,
    /// Position, LPS mm.
    pub lps_mm: Point3<f64>,
}

/// Slicer's default orientation of a control point (identity in RAS) written in LPS.
const ORIENTATION_LPS: [f64; 9] = [-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0];

fn check(points: &[ControlPoint], path: &Path) -> Result<()> {
    if let Some(p) = points.iter().find(|p| !p.lps_mm.coords.iter().all(|c| c.is_finite())) {
        return Err(Error::Write { path: path.to_path_buf(), source: std::io::Error::other(format!("landmark {} is not finite ({:?})", p.label, p.lps_mm.coords.as_slice())) });
    }
    Ok(())
}

/// Writes `points` as a Slicer fiducial list `.fcsv` (version 4.11, LPS). Never over an existing
/// file; nothing is left behind on failure.
///
/// # Errors
/// [`Error::WouldOverwrite`], [`Error::Write`] (also for a non-finite position).
pub fn write_fcsv(points: &[ControlPoint], path: &Path) -> Result<()> {
    check(points, path)?;
    let clean = |s: &str| s.replace([',', '\n', '\r'], ";");
    write_new(path, |out| {
        writeln!(out, "# Markups fiducial file version = 4.11")?;
        writeln!(out, "# CoordinateSystem = LPS")?;
        writeln!(out, "# columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,desc,associatedNodeID")?;
        for (k, p) in points.iter().enumerate() {
            let [x, y, z] = [p.lps_mm.x, p.lps_mm.y, p.lps_mm.z];
            writeln!(out, "{},{x},{y},{z},0,0,0,1,1,1,0,{},{},", k + 1, clean(&p.label), clean(&p.description))?;
        }
        Ok(())
    })
}

/// Writes `points` as a Slicer markups JSON `.mrk.json` (one fiducial node, LPS, mm). Never over
/// an existing file; nothing is left behind on failure.
///
/// # Errors
/// [`Error::WouldOverwrite`], [`Error::Write`] (also for a non-finite position).
pub fn write_mrk_json(points: &[ControlPoint], path: &Path) -> Result<()> {
    check(points, path)?;
    let control: Vec<_> = points
        .iter()
        .enumerate()
        .map(|(k, p)| {
            json!({
                "id": (k + 1).to_string(),
                "label": p.label,
                "description": p.description,
                "associatedNodeID": "",
                "position": [p.lps_mm.x, p.lps_mm.y, p.lps_mm.z],
                "orientation": ORIENTATION_LPS,
                "selected": true,
                "locked": false,
                "visibility": true,
                "positionStatus": "defined",
            })
        })
        .collect();
    let doc = json!({
        "@schema": "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/Schema/markups-schema-v1.0.3.json#",
        "markups": [{
            "type": "Fiducial",
            "coordinateSystem": "LPS",
            "coordinateUnits": "mm",
            "locked": false,
            "fixedNumberOfControlPoints": false,
            "labelFormat": "%N-%d",
            "lastUsedControlPointNumber": points.len(),
            "controlPoints": control,
            "measurements": [],
        }],
    });
    let text = serde_json::to_string_pretty(&doc).map_err(|e| Error::Write { path: path.to_path_buf(), source: std::io::Error::other(e) })?;
    write_new(path, |out| out.write_all(text.as_bytes()))
}

/// Reads the control points of a Slicer markups file, `.fcsv` or `.mrk.json` (the first markups
/// node), converting RAS files to LPS.
///
/// # Errors
/// [`Error::NotFound`], [`Error::Unreadable`];
/// [`Error::Markups`] for a file that is not a markups file, naming the line or field.
pub fn read_markups(path: &Path) -> Result<Vec<ControlPoint>> {
    let text = crate::read_text_bounded(path, crate::Bound::TEXT).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound { path: path.to_path_buf() },
        std::io::ErrorKind::FileTooLarge => Error::FileTooLarge { path: path.to_path_buf(), source: e },
        _ => Error::Unreadable { path: path.to_path_buf(), source: e },
    })?;
    let bad = |why: String| Error::Markups { path: path.to_path_buf(), why };
    let ras_to_lps = |ras: bool, p: [f64; 3]| if ras { Point3::new(-p[0], -p[1], p[2]) } else { Point3::from(p) };
    if path.to_string_lossy().ends_with(".json") {
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let node = &v["markups"][0];
        let ras = match node["coordinateSystem"].as_str().unwrap_or("LPS") {
            "LPS" => false,
            "RAS" => true,
            other => return Err(bad(format!("coordinateSystem {other:?}: use LPS or RAS"))),
        };
        let list = node["controlPoints"].as_array().ok_or_else(|| bad("no markups[0].controlPoints".into()))?;
        let points = list
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let pos: Option<Vec<f64>> = c["position"].as_array().map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect());
                match pos.as_deref() {
                    Some(&[x, y, z]) if [x, y, z].iter().all(|v| v.is_finite()) => Ok(ControlPoint {
                        label: c["label"].as_str().unwrap_or_default().to_string(),
                        description: c["description"].as_str().unwrap_or_default().to_string(),
                        lps_mm: ras_to_lps(ras, [x, y, z]),
                    }),
                    _ => Err(bad(format!("controlPoints[{k}].position is not three finite numbers"))),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let places: Vec<String> = (0..points.len()).map(|k| format!("controlPoints[{k}]")).collect();
        return unique_labels(points, &places).map_err(bad);
    }
    let mut ras = false;
    let mut out = Vec::new();
    let mut places = Vec::new();
    for (k, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(cs) = line.strip_prefix("# CoordinateSystem =") {
            ras = match cs.trim() {
                "RAS" | "0" => true,
                "LPS" | "1" => false,
                other => return Err(bad(format!("line {}: CoordinateSystem {other:?}: use LPS or RAS", k + 1))),
            };
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split(',').collect();
        let num = |i: usize| cols.get(i).and_then(|c| c.trim().parse::<f64>().ok()).filter(|v| v.is_finite());
        let (Some(x), Some(y), Some(z), true) = (num(1), num(2), num(3), cols.len() >= 12) else {
            return Err(bad(format!("line {}: expected id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,... with finite x, y, z", k + 1)));
        };
        out.push(ControlPoint { label: cols[11].trim().to_string(), description: cols.get(12).map_or("", |d| d.trim()).to_string(), lps_mm: ras_to_lps(ras, [x, y, z]) });
        places.push(format!("line {}", k + 1));
    }
    unique_labels(out, &places).map_err(bad)
}

/// `points` when no label is given twice (readers look points up by label, so a second `HJC_L`
/// would be silently ignored); else why not, naming both places. Unlabelled points may repeat.
fn unique_labels(points: Vec<ControlPoint>, places: &[String]) -> std::result::Result<Vec<ControlPoint>, String> {
    let mut first = std::collections::HashMap::new();
    for (k, p) in points.iter().enumerate() {
        if p.label.is_empty() {
            continue;
        }
        if let Some(&j) = first.get(p.label.as_str()) {
            return Err(format!("label {:?} is given twice ({} and {}): each landmark once, remove or rename one", p.label, places[j], places[k]));
        }
        first.insert(p.label.as_str(), k);
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_round_trip_and_never_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let pts = vec![
            ControlPoint { label: "HJC_L".into(), description: "head centre, sphere fit".into(), lps_mm: Point3::new(80.25, -3.5, 1012.125) },
            ControlPoint { label: "P2_L".into(), description: String::new(), lps_mm: Point3::new(1e-3, 7.0, -410.0) },
        ];
        for name in ["a.fcsv", "a.mrk.json"] {
            let p = tmp.path().join(name);
            if name.ends_with("fcsv") { write_fcsv(&pts, &p) } else { write_mrk_json(&pts, &p) }.unwrap();
            let back = read_markups(&p).unwrap();
            let expect: Vec<ControlPoint> =
                pts.iter().map(|c| ControlPoint { description: if name.ends_with("fcsv") { c.description.replace(',', ";") } else { c.description.clone() }, ..c.clone() }).collect();
            assert_eq!(back, expect, "{name}");
            assert!(matches!(write_fcsv(&pts, &p), Err(Error::WouldOverwrite { .. })));
        }
        // A RAS file (Slicer's older default) is turned to LPS.
        let ras = tmp.path().join("ras.fcsv");
        std::fs::write(&ras, "# Markups fiducial file version = 4.11\n# CoordinateSystem = RAS\n1,10,20,30,0,0,0,1,1,1,0,X,,\n").unwrap();
        assert_eq!(read_markups(&ras).unwrap()[0].lps_mm, Point3::new(-10.0, -20.0, 30.0));
        // Coordinates that are not numbers are refused, naming the line.
        let words = tmp.path().join("words.fcsv");
        std::fs::write(&words, "1,a,b,c,0,0,0,1,1,0,1,X,,\n").unwrap();
        assert!(matches!(read_markups(&words), Err(Error::Markups { why, .. }) if why.contains("line 1")));
        // A label given twice is refused in both formats, naming both places (issue 61).
        let twice = tmp.path().join("twice.fcsv");
        std::fs::write(&twice, "1,1,2,3,0,0,0,1,1,1,0,HJC_L,,\n2,4,5,6,0,0,0,1,1,1,0,HJC_L,,\n3,7,8,9,0,0,0,1,1,1,0,,,\n4,7,8,9,0,0,0,1,1,1,0,,,\n").unwrap();
        assert!(matches!(read_markups(&twice), Err(Error::Markups { why, .. }) if why.contains("\"HJC_L\" is given twice (line 1 and line 2)")));
        let twice_json = tmp.path().join("twice.mrk.json");
        let doubled = vec![pts[0].clone(), pts[1].clone(), pts[0].clone()];
        write_mrk_json(&doubled, &twice_json).unwrap();
        assert!(matches!(read_markups(&twice_json), Err(Error::Markups { why, .. }) if why.contains("controlPoints[0] and controlPoints[2]")));
        let bad = ControlPoint { label: "N".into(), description: String::new(), lps_mm: Point3::new(f64::NAN, 0.0, 0.0) };
        assert!(write_fcsv(&[bad], &tmp.path().join("nan.fcsv")).is_err());
        assert!(!tmp.path().join("nan.fcsv").exists());
    }
}
