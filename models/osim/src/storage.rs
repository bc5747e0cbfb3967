//! OpenSim Storage files: `.mot` (motions: coordinate values over time) and `.sto` (results
//! such as muscle forces), the tab-separated text OpenSim 4 reads with `TimeSeriesTable` /
//! `Storage` and opens in its GUI (`File > Load Motion`, `Tools > Plot`).
//!
//! Layout (OpenSim 4's STO file adapter): the table's name, `version=1`, `nRows=`,
//! `nColumns=` (time included), `inDegrees=yes|no`, `endheader`, then a row of column labels
//! (`time` first) and one row per time. A few lines of text: written here, no crate needed.
//!
//! [`Storage::read`] / [`Storage::parse`] read the same layout as OpenSim 4 writes it and as
//! lab files have it: the header up to the line `endheader` (the first line is the table's
//! name; `inDegrees=yes|no`, `nRows=`, `nColumns=` and the older `datarows`/`datacolumns` are
//! understood, any other line is kept as a comment, blank lines skipped), then the labels and
//! the rows, separated by tabs or by spaces (lab files pad values with spaces inside tabs and
//! end lines with stray tabs). Bad input is one [`OsimError::BadValue`] naming the file and the
//! line: no `endheader`, a row with more or fewer values than labels, a value that is not a
//! finite number, times that do not increase, and row or column counts in the header that do
//! not match the body (checked against the lines present before anything is allocated, so a
//! header claiming 10^12 rows costs nothing).

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

/// The fields of a data line: tab-separated when the line holds a tab (each field trimmed;
/// trailing empty fields, which some lab files leave, dropped), else whitespace-separated.
fn fields(line: &str) -> Vec<&str> {
    let line = line.trim();
    if line.contains('\t') { line.split('\t').map(str::trim).collect() } else { line.split_whitespace().collect() }
}

impl Storage {
    /// Reads an OpenSim `.mot` / `.sto` file (see the module docs for the layout it accepts).
    ///
    /// # Errors
    /// [`OsimError::Io`] when the file cannot be read, and those of [`Storage::parse`].
    pub fn read(path: &Path) -> Result<Self> {
        let text = coxa_io::read_text_bounded(path, coxa_io::Bound::TEXT).map_err(|source| OsimError::Io { file: path.to_path_buf(), source })?;
        Self::parse(&text, path)
    }

    /// Parses the text of a `.mot` / `.sto` file; `file` names it in errors.
    ///
    /// # Errors
    /// [`OsimError::BadValue`] naming the line: no `endheader`, no labels, no `time` column
    /// first, a column label given twice, a ragged row, a value that is not a finite number, times that do not increase, a
    /// header row or column count that differs from the body.
    pub fn parse(text: &str, file: &Path) -> Result<Self> {
        let bad = |line: usize, why: String| OsimError::BadValue { file: file.to_path_buf(), element: format!("line {line}"), why };
        let lines: Vec<&str> = text.lines().collect();
        let end = lines
            .iter()
            .position(|l| l.trim() == "endheader")
            .ok_or_else(|| bad(lines.len(), "no line `endheader`: an OpenSim table has a header ending in `endheader`, then the column labels and the rows; add it".into()))?;
        let (mut name, mut in_degrees, mut n_rows, mut n_columns, mut comments) = (String::new(), false, None::<u64>, None::<u64>, Vec::new());
        for (k, raw) in lines[..end].iter().enumerate() {
            let l = raw.trim();
            if l.is_empty() {
                continue;
            }
            if k == 0 {
                name = l.to_string();
                continue;
            }
            let (key, value) = match l.split_once('=') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => match l.split_once(char::is_whitespace) {
                    Some((a, b)) if a == "datarows" || a == "datacolumns" => (a, b.trim()),
                    _ => ("", ""),
                },
            };
            let count = |v: &str| v.parse::<u64>().map_err(|_| bad(k + 1, format!("{key}={v} is not a count")));
            match key {
                "inDegrees" => in_degrees = matches!(value, "yes" | "Yes" | "true"),
                "nRows" | "datarows" => n_rows = Some(count(value)?),
                "nColumns" | "datacolumns" => n_columns = Some(count(value)?),
                "version" => {}
                _ => comments.push(l.to_string()),
            }
        }
        let mut body = lines.iter().enumerate().skip(end + 1).filter(|(_, l)| !l.trim().is_empty());
        let (label_line, labels) = body.next().map(|(k, l)| (k + 1, fields(l))).ok_or_else(|| bad(end + 1, "no column labels after `endheader`".into()))?;
        if !labels.first().is_some_and(|t| t.eq_ignore_ascii_case("time")) {
            return Err(bad(label_line, format!("the first column label is {:?}, not `time`", labels.first().copied().unwrap_or(""))));
        }
        if let Some(n) = n_columns
            && n != labels.len() as u64
        {
            return Err(bad(label_line, format!("the header says nColumns={n} but the line has {} labels", labels.len())));
        }
        let data: Vec<(usize, &str)> = body.map(|(k, l)| (k + 1, *l)).collect();
        if let Some(n) = n_rows
            && n != data.len() as u64
        {
            return Err(bad(end + 1, format!("the header says nRows={n} but the file has {} rows", data.len())));
        }
        let columns: Vec<String> = labels[1..].iter().map(|s| s.to_string()).collect();
        // A label given twice would be read as its first column and the second ignored (issue 61).
        if let Some((k, c)) = columns.iter().enumerate().find(|(k, c)| columns[..*k].contains(c)) {
            let first = columns.iter().position(|x| x == c).unwrap_or(0);
            return Err(bad(label_line, format!("the column {c:?} is given twice (columns {} and {} after time): each label once; remove or rename one", first + 1, k + 1)));
        }
        let mut rows = Vec::with_capacity(data.len());
        let mut last = f64::NEG_INFINITY;
        for (line, l) in data {
            let f = fields(l);
            if f.len() != labels.len() {
                return Err(bad(line, format!("{} values for {} column labels", f.len(), labels.len())));
            }
            let mut v = Vec::with_capacity(f.len());
            for (s, label) in f.iter().zip(&labels) {
                match s.parse::<f64>() {
                    Ok(x) if x.is_finite() => v.push(x),
                    _ => return Err(bad(line, format!("{label} = {s:?} is not a finite number"))),
                }
            }
            let t = v.remove(0);
            if t <= last {
                return Err(bad(line, format!("time {t} does not increase (previous row {last})")));
            }
            last = t;
            rows.push((t, v));
        }
        Ok(Self { name, in_degrees, columns, rows, comments })
    }

    /// The index of the column labelled `label` (after `time`).
    pub fn column(&self, label: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == label)
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

    #[test]
    fn reads_what_it_writes_and_lab_files() {
        let mut t = Storage::new("walk", true, vec!["hip_flexion_r".into(), "pelvis_ty".into()]);
        t.comments.push("Units are S.I. units (second, meters, Newtons, ...)".into());
        for k in 0..5 {
            let x = f64::from(k);
            t.rows.push((0.01 * x, vec![10.0 * x.sin(), 0.9 + 1e-3 * x]));
        }
        let text = t.to_text(Path::new("w.mot")).unwrap();
        let back = Storage::parse(&text, Path::new("w.mot")).unwrap();
        assert_eq!((back.name.as_str(), back.in_degrees, &back.columns, &back.comments), ("walk", true, &t.columns, &t.comments));
        for ((ta, va), (tb, vb)) in t.rows.iter().zip(&back.rows) {
            assert!((ta - tb).abs() < 1e-8 && va.iter().zip(vb).all(|(a, b)| (a - b).abs() < 1e-9));
        }
        // A lab file: trailing tabs on header lines, blank and free-text lines, values padded
        // with spaces inside tabs, a trailing tab on a row.
        let lab =
            "grf.mot\t\t\nversion=1\t\t\nnRows=2\nnColumns=3\ninDegrees=no\n\nAngles are in degrees.\nendheader\ntime\tground_force_vx\t1_ground_force_vy\t\n   0.0\t  1.5\t -2e3\t\n 0.5\t2\t3\n";
        let g = Storage::parse(lab, Path::new("grf.mot")).unwrap();
        assert_eq!(g.name, "grf.mot");
        assert!(!g.in_degrees);
        assert_eq!(g.column("1_ground_force_vy"), Some(1));
        assert_eq!(g.rows, vec![(0.0, vec![1.5, -2000.0]), (0.5, vec![2.0, 3.0])]);
        // Spaces only, older header keys.
        let spaced = "ik\ndatarows 1\ndatacolumns 2\nendheader\ntime  knee_angle_r\n0.1 -12.5\n";
        assert_eq!(Storage::parse(spaced, Path::new("s.mot")).unwrap().rows, vec![(0.1, vec![-12.5])]);
    }

    #[test]
    fn bad_tables_name_the_file_and_line() {
        let head = "t\nversion=1\nendheader\ntime\ta\n";
        let cases = [
            ("t\nversion=1\ntime\ta\n0\t1\n", "endheader", "line 4"),
            (&format!("{head}0\t1\n0.1\t2\t3\n") as &str, "3 values for 2", "line 6"),
            (&format!("{head}0\tabc\n"), "not a finite number", "line 5"),
            (&format!("{head}0\tNaN\n"), "not a finite number", "line 5"),
            (&format!("{head}0\tinf\n"), "not a finite number", "line 5"),
            (&format!("{head}0\t1\n0\t2\n"), "does not increase", "line 6"),
            (&format!("{head}0.2\t1\n0.1\t2\n"), "does not increase", "line 6"),
            ("t\nnRows=1000000000000\nendheader\ntime\ta\n0\t1\n", "nRows=1000000000000 but the file has 1 rows", "line 3"),
            ("t\nnColumns=5\nendheader\ntime\ta\n0\t1\n", "nColumns=5", "line 4"),
            ("t\nendheader\nangle\ta\n0\t1\n", "not `time`", "line 3"),
            ("t\nendheader\n", "no column labels", "line 2"),
        ];
        for (text, why, line) in cases {
            let e = Storage::parse(text, Path::new("bad.mot")).unwrap_err().to_string();
            assert!(e.contains("bad.mot") && e.contains(why) && e.contains(line), "{text:?}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        let missing = Storage::read(Path::new("/nonexistent/coxa/x.mot")).unwrap_err().to_string();
        assert!(missing.contains("x.mot"), "{missing}");
    }
}
