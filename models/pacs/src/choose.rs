//! Choosing the series to plan on: the thinnest axial CT that covers both hips.
//!
//! In order: every series is read (coxa-io's reader, so a series it cannot stack is out, with
//! the reader's reason); not CT, a localizer (ImageType LOCALIZER), a slice normal more than
//! 10 degrees from the body axis (not axial), or fewer than 10 slices are out. The rest are
//! ranked by slice spacing, then pixel spacing, then more slices; the first that passes the
//! caller's hip check (coxa's bone segmentation finding both femoral heads, in the CLI) is the
//! choice. The reason names the series, its geometry and why each better-ranked one was passed
//! over.

use std::path::{Path, PathBuf};

use coxa_core::Volume;
use dicom_dictionary_std::tags;
use serde::Serialize;

use crate::{Error, Result};

/// A series considered.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Candidate {
    /// SeriesInstanceUID (or the folder name when the files have none).
    pub series_uid: String,
    /// The series folder.
    pub dir: PathBuf,
    /// Slices.
    pub n_slices: usize,
    /// Distance between slices, mm.
    pub slice_spacing_mm: f64,
    /// Smaller in-plane pixel spacing, mm.
    pub pixel_spacing_mm: f64,
    /// Length covered along the slice normal, mm.
    pub extent_mm: f64,
}

/// The choice and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Choice {
    /// The series chosen.
    pub chosen: Candidate,
    /// One sentence: which series and why.
    pub reason: String,
    /// Each series not taken, with its reason (series UID, reason).
    pub passed_over: Vec<(String, String)>,
}

fn is_localizer(dir: &Path) -> bool {
    let Ok(rd) = std::fs::read_dir(dir) else { return false };
    for e in rd.flatten() {
        if let Ok(obj) = dicom_object::OpenFileOptions::new().read_until(tags::PIXEL_DATA).open_file(e.path()) {
            return obj.element(tags::IMAGE_TYPE).ok().and_then(|v| v.to_str().ok()).is_some_and(|s| s.to_ascii_uppercase().contains("LOCALIZER"));
        }
    }
    false
}

/// Chooses among series folders (each one series, as [`crate::pull::pull`] writes them).
/// `covers_both_hips` is asked about each ranked candidate in turn until one passes.
pub fn choose(study_uid: &str, dirs: &[PathBuf], covers_both_hips: &mut dyn FnMut(&Volume) -> std::result::Result<(), String>) -> Result<Choice> {
    let mut passed_over = Vec::new();
    let mut ranked: Vec<Candidate> = Vec::new();
    for dir in dirs {
        let name = dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
        let series = match coxa_io::dicom::read_series(std::slice::from_ref(dir), &coxa_io::dicom::ReadOptions::new()) {
            Ok(s) => s,
            Err(e) => {
                passed_over.push((name, format!("not readable as one CT volume: {e}")));
                continue;
            }
        };
        let uid = series.summary.series_uid.clone().unwrap_or(name);
        if !series.summary.modality.eq_ignore_ascii_case("CT") {
            passed_over.push((uid, format!("modality {}, not CT", series.summary.modality)));
            continue;
        }
        if is_localizer(dir) {
            passed_over.push((uid, "a localizer (scout)".into()));
            continue;
        }
        let grid = series.volume.grid();
        let normal = grid.direction().column(2).into_owned();
        let tilt_deg = normal.z.abs().clamp(0.0, 1.0).acos().to_degrees();
        if tilt_deg > 10.0 {
            passed_over.push((uid, format!("not axial (slice normal {tilt_deg:.0} deg from the body axis)")));
            continue;
        }
        let [ni, nj, nk] = grid.size();
        let _ = (ni, nj);
        if nk < 10 {
            passed_over.push((uid, format!("only {nk} slices")));
            continue;
        }
        let sp = grid.spacing_mm();
        ranked.push(Candidate { series_uid: uid, dir: dir.clone(), n_slices: nk, slice_spacing_mm: sp.z, pixel_spacing_mm: sp.x.min(sp.y), extent_mm: sp.z * (nk - 1) as f64 });
    }
    ranked.sort_by(|a, b| a.slice_spacing_mm.total_cmp(&b.slice_spacing_mm).then(a.pixel_spacing_mm.total_cmp(&b.pixel_spacing_mm)).then(b.n_slices.cmp(&a.n_slices)));
    let mut thinner = Vec::new();
    for c in ranked {
        let vol = coxa_io::dicom::read_series(std::slice::from_ref(&c.dir), &coxa_io::dicom::ReadOptions::new())?.volume;
        match covers_both_hips(&vol) {
            Ok(()) => {
                let mut reason = format!(
                    "series {} ({} axial CT slices {:.2} mm apart, {:.2} mm pixels, {:.0} mm long): the thinnest axial CT that covers both hips",
                    c.series_uid, c.n_slices, c.slice_spacing_mm, c.pixel_spacing_mm, c.extent_mm
                );
                if !thinner.is_empty() {
                    reason.push_str(&format!("; thinner but not covering both hips: {}", thinner.join("; ")));
                }
                return Ok(Choice { chosen: c, reason, passed_over });
            }
            Err(why) => {
                thinner.push(format!("{} ({:.2} mm): {why}", c.series_uid, c.slice_spacing_mm));
                passed_over.push((c.series_uid.clone(), format!("does not cover both hips: {why}")));
            }
        }
    }
    Err(Error::NoPlanningSeries { study: study_uid.to_string(), listing: passed_over.iter().map(|(s, w)| format!("{s}: {w}")).collect::<Vec<_>>().join("; ") })
}
