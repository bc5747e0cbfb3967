//! OpenSim Storage files: `.mot` (motions: coordinate values over time) and `.sto` (results
//! such as muscle forces), the tab-separated text OpenSim 4 reads with `TimeSeriesTable` /
//! `Storage` and opens in its GUI (`File > Load Motion`, `Tools > Plot`).
//!
//! Layout (OpenSim 4's STO file adapter): the table's name, `version=1`, `nRows=`,
//! `nColumns=` (time included), `inDegrees=yes|no`, `endheader`, then a row of column labels
//! (`time` first) and one row per time. A few lines of text: written here, no crate needed.

use std::io::Write;
use std::path::Path;

use crate::{OsimError, Result};

/// A table of values over time, as OpenSim stores motions and results.
#[derive(Debug, Clone, PartialEq)]
pub struct Storage {
    /// The table's name (first header line), e.g. `flexion` or `StaticOptimization_force`.
    pub name: String,
    /// Whether angles are in degrees (`inDegrees=yes`; OpenSim converts rotational coordinates
    /// to radians on load) or radians/SI.
    pub in_degrees: bool,
    /// Column labels after `time` (coordinate or muscle names).
    pub columns: Vec<String>,
    /// `(time_s, values)` per row; `values` has one entry per column.
    pub rows: Vec<(f64, Vec<f64>)>,
    /// Extra header lines (`key=value` or free text without tabs), written before `endheader`.
    pub comments: Vec<String>,
}

impl Storage {
    /// An empty table named `name` with `columns`.
    pub fn new(name: impl Into<String>, in_degrees: bool, columns: Vec<String>) -> Self {
        Self { name: name.into(), in_degrees, columns, rows: Vec::new(), comments: Vec::new() }
    }

    /// The file's text.
    ///
    /// # Errors
    /// [`OsimError::BadValue`] when a row's length differs from the columns', a value is not
    /// finite, times do not increase, or a label holds a tab or line break.
    pub fn to_text(&self, file: &Path) -> Result<String> {
        let bad = |why: String| OsimError::BadValue { file: file.to_path_buf(), element: format!("table {}", self.name), why };
        if let Some(c) = self.columns.iter().chain(std::iter::once(&self.name)).chain(&self.comments).find(|c| c.contains(['\t', '\n', '\r'])) {
            return Err(bad(format!("{c:?} holds a tab or line break")));
        }
        let mut last = f64::NEG_INFINITY;
        for (k, (t, v)) in self.rows.iter().enumerate() {
            if v.len() != self.columns.len() {
                return Err(bad(format!("row {k} has {} values for {} columns", v.len(), self.columns.len())));
            }
            if !t.is_finite() || *t <= last || v.iter().any(|x| !x.is_finite()) {
                return Err(bad(format!("row {k}: time {t} must be finite and increase, and every value finite")));
            }
            last = *t;
        }
        let mut s = String::new();
        s.push_str(&self.name);
        s.push_str("\nversion=1\n");
        s.push_str(&format!("nRows={}\nnColumns={}\ninDegrees={}\n", self.rows.len(), self.columns.len() + 1, if self.in_degrees { "yes" } else { "no" }));
        for c in &self.comments {
            s.push_str(c);
            s.push('\n');
        }
        s.push_str("endheader\ntime");
        for c in &self.columns {
            s.push('\t');
            s.push_str(c);
        }
        s.push('\n');
        for (t, v) in &self.rows {
            s.push_str(&format!("{t:.8}"));
            for x in v {
                s.push_str(&format!("\t{x:.10}"));
            }
            s.push('\n');
        }
        Ok(s)
    }

    /// Writes the table to the new file `path` (`.mot` or `.sto`); never over an existing file.
    ///
    /// # Errors
    /// [`OsimError::Exists`], [`OsimError::Io`], and those of [`Storage::to_text`].
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = self.to_text(path)?;
        let mut f =
            std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists { OsimError::Exists { file: path.to_path_buf() } } else { OsimError::Io { file: path.to_path_buf(), source } }
            })?;
        f.write_all(text.as_bytes()).map_err(|source| {
            let _ = std::fs::remove_file(path);
            OsimError::Io { file: path.to_path_buf(), source }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_rows_and_refusals() {
        let mut t = Storage::new("flexion", true, vec!["hip_flexion_r".into(), "pelvis_tilt".into()]);
        t.rows.push((0.0, vec![0.0, -10.0]));
        t.rows.push((0.1, vec![1.5, -10.0]));
        let text = t.to_text(Path::new("x.mot")).unwrap();
        assert!(text.starts_with("flexion\nversion=1\nnRows=2\nnColumns=3\ninDegrees=yes\nendheader\ntime\thip_flexion_r\tpelvis_tilt\n"), "{text}");
        assert_eq!(text.lines().count(), 9);
        let tmp = std::env::temp_dir().join(format!("coxa-storage-{}.mot", std::process::id()));
        t.write(&tmp).unwrap();
        assert!(matches!(t.write(&tmp), Err(OsimError::Exists { .. })));
        let _ = std::fs::remove_file(&tmp);
        t.rows.push((0.1, vec![2.0, 0.0]));
        assert!(t.to_text(Path::new("x.mot")).is_err(), "time must increase");
        t.rows.pop();
        t.rows.push((0.2, vec![f64::NAN, 0.0]));
        assert!(t.to_text(Path::new("x.mot")).is_err());
    }
}
