//! Bone metastasis candidates on a CT ([`coxa_diagnostics::lesions`], the classical path: no
//! weights; a learned model: [`learned`]) for `coxa lesions` and a case's lesions stage: the
//! search, `lesions.json` (one record per lesion) and `lesions.nii.gz` (a label map of the lesions
//! on the CT's grid: 0 none, else the lesion's id). The bones come from a label map
//! (TotalSegmentator ids, names from a class file or TotalSegmentator's v2 table) or, without,
//! from a threshold mask. When the CT is a DICOM series and a lesion is found, `lesions_seg.dcm`
//! too: the lesions as a DICOM SEG in the CT's study ([`coxa_pacs::lesion_seg`], for `coxa pacs
//! push` or any viewer).

use std::collections::BTreeMap;
use std::path::Path;

use crate::bail;
use crate::error::Context;
use coxa_core::{ClassTable, LabelMap, Volume};
use coxa_diagnostics::lesions::{self, Detection, LesionSettings};
use ndarray::Array3;

pub mod learned;

/// The file names in the output folder (and a case's `lesions/`).
pub const JSON: &str = "lesions.json";

/// See [`JSON`].
pub const MAP: &str = "lesions.nii.gz";

/// The SEG's file name in the output folder.
pub const SEG: &str = "lesions_seg.dcm";

/// Writes the lesions of `dir` (as [`write`] wrote them) as a DICOM SEG derived from the DICOM CT
/// `ct` (a folder, or a file whose folder holds the series) into `dir`; `None` without a lesion.
pub fn write_seg(ct: &Path, dir: &Path) -> crate::Result<Option<&'static str>> {
    let folder = if ct.is_dir() { ct.to_path_buf() } else { ct.parent().map(Path::to_path_buf).unwrap_or_default() };
    let src = coxa_pacs::results::Source::read(&folder).with_context(|| format!("--ct {}: reading the CT series for the lesions' DICOM SEG", ct.display()))?;
    let Some(seg) = coxa_pacs::lesion_seg::build_lesion_seg(&src, dir).context("the lesions' DICOM SEG")? else { return Ok(None) };
    crate::atomic::write_new(&dir.join(SEG), &seg.bytes)?;
    Ok(Some(SEG))
}

/// A path's file name only (folder names may carry a patient's name).
pub fn file_name(p: &Path) -> String {
    p.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned())
}

/// Reads a label map that must lie on `ct`'s grid, with its class names (`names`, a class file;
/// default TotalSegmentator's v2 ids): [`read_label_file`], then [`bones_for_search`].
pub fn read_labels(path: &Path, names: Option<&Path>, ct: &Volume) -> crate::Result<(Array3<u16>, BTreeMap<u16, String>)> {
    let map = read_label_file(path)?;
    let table_what = names.map(|p| format!("--label-names {}", p.display())).unwrap_or_default();
    let table = names.map(|p| read_class_table(p, &table_what)).transpose()?;
    bones_for_search(map, table.as_ref().map(|t| (t, table_what.as_str())), ct, &format!("--labels {}", path.display()))
}

/// A class file (`--label-names`: JSON `{"25": "sacrum", ...}`, or a `.ctbl`); `what` names it in errors.
pub fn read_class_table(path: &Path, what: &str) -> crate::Result<ClassTable> {
    let text = coxa_io::read_text_bounded(path, coxa_io::Bound::TEXT).with_context(|| what.to_string())?;
    coxa_anatomy::labels::parse_class_table(&text).with_context(|| what.to_string())
}

/// A label map file (NIfTI or NRRD) as `--labels` reads it.
pub fn read_label_file(path: &Path) -> crate::Result<LabelMap> {
    if coxa_io::nrrd::is_nrrd_path(path) { coxa_io::nrrd::read_label_map(path) } else { coxa_io::nifti::read_label_map(path) }.with_context(|| format!("--labels {}", path.display()))
}

/// The bones of `map` to search, with their names: `map` must lie on `ct`'s grid; its ids are named
/// by `table` (a class table and what it is called in errors) or, without one, by
/// TotalSegmentator's v2 ids (the map's own class names are not used, as the program does not
/// use a file's); the map is checked for sides as `coxa anatomy` checks it (a map mirrored
/// left/right gave false candidates, issue 61). `what` names the map in errors.
pub fn bones_for_search(mut map: LabelMap, table: Option<(&ClassTable, &str)>, ct: &Volume, what: &str) -> crate::Result<(Array3<u16>, BTreeMap<u16, String>)> {
    ct.grid().check_same(map.grid(), coxa_anatomy::labels::GRID_TOLERANCE_MM).with_context(|| format!("{what}: not on the CT's grid; resample it onto the CT first"))?;
    let names: BTreeMap<u16, String> = match table {
        Some((table, table_what)) => {
            // The table checked against the map as `coxa anatomy` checks it (one code): an id it
            // does not name (another task's table: TotalSegmentator's MR table for a CT map
            // named only "humerus" and "scapula", issue 61) is refused, and its names take coxa's ids.
            map = coxa_anatomy::labels::import_label_map(map, table).with_context(|| format!("{what} with {table_what}"))?;
            map.classes().iter().map(|(id, n)| (id, n.to_string())).collect()
        }
        None => {
            let names = lesions::totalseg_bone_names();
            map.set_classes(names.iter().map(|(id, n)| (*id, n.clone())).collect());
            names
        }
    };
    coxa_anatomy::bone_check::check_label_sides(&map).with_context(|| what.to_string())?;
    Ok(lesions::bones_of(&map, &names))
}

/// Runs the classical search on the label map's bones (`labels`, read from `labels_path`: `None`
/// for a map handed over in memory) or on a threshold mask; returns what it found and where the
/// bones came from.
pub fn search(ct: &Volume, labels: Option<(&Array3<u16>, &BTreeMap<u16, String>)>, labels_path: Option<&Path>) -> crate::Result<(Detection, String)> {
    let settings = LesionSettings::default();
    let (owned, bones_from);
    let (bones, names) = match labels {
        Some((b, n)) => {
            bones_from = format!("label map {}", labels_path.map_or_else(|| IN_MEMORY.to_string(), file_name));
            if !b.iter().any(|l| *l != 0) {
                bail!(
                    "the label map{} holds no bone (TotalSegmentator's vertebrae, sacrum, hips, femurs, ribs...): give a label map with bones, or none for a threshold mask",
                    labels_path.map(|p| format!(" {}", p.display())).unwrap_or_default()
                );
            }
            (b, n)
        }
        None => {
            owned = lesions::threshold_bone_mask(ct, settings.metal_hu);
            bones_from = format!("threshold mask (HU >= {} closed by one voxel)", lesions::BONE_THRESHOLD_HU);
            (&owned.0, &owned.1)
        }
    };
    let d = lesions::detect(ct, bones, names, &settings).map_err(|e| crate::err!("{e}"))?;
    Ok((d, bones_from))
}

/// The JSON record of a search.
pub fn record(d: &Detection, ct_name: &str, bones_from: &str) -> serde_json::Value {
    let s = LesionSettings::default();
    serde_json::json!({
        "coxa_version": crate::stamp::version(),
        "method": "classical: departure of smoothed HU from each bone's healthy interior (half-sample mode, clipped MAD) or, for lytic lesions, from the median of a 12-18 mm shell around each voxel (soft tissue, homogeneous); no learned model",
        "ct": ct_name,
        "bones": bones_from,
        "settings": s,
        "slices": "the first and last slice (k index, 0-based, of the CT's grid) a lesion spans",
        "probability": "a monotone score of the departure, 1/(1+exp(-(peak |z| - seed z of its kind))), not a calibrated probability",
        "limits": format!("only bone deeper than {} mm from its surface is searched; lytic lesions in the hips and femurs (bones that mix fatty and dense marrow) are mostly missed (3-4 of 9 inserted ones found); lytic lesions of 8-11 mm are often missed", s.core_depth_mm),
        "searched": d.searched.iter().map(|(b, ml)| serde_json::json!({"bone": b, "volume_ml": ml})).collect::<Vec<_>>(),
        "references": d.references.iter().map(|(b, hu)| serde_json::json!({"bone": b, "reference_hu": hu})).collect::<Vec<_>>(),
        "not_searched": d.not_searched.iter().map(|(b, ml)| serde_json::json!({"bone": b, "volume_ml": ml, "why": format!("within {} mm of metal (> {} HU)", s.metal_margin_mm, s.metal_hu)})).collect::<Vec<_>>(),
        "lesions": d.lesions,
    })
}

/// What a search's record names a CT or a label map handed over in memory by (a file is named by
/// its file name).
pub const IN_MEMORY: &str = "(in memory)";

/// The lesions as a label map on `ct`'s grid (0 none, else the lesion's id, named
/// `lesion_ID_KIND`): what `lesions.nii.gz` holds.
pub fn lesion_map(ct: &Volume, d: &Detection) -> crate::Result<LabelMap> {
    let mut classes = ClassTable::new();
    for l in &d.lesions {
        classes.insert(l.id, format!("lesion_{}_{}", l.id, serde_json::to_value(l.kind)?.as_str().unwrap_or("")));
    }
    Ok(LabelMap::new(ct.grid().clone(), d.map.clone(), classes)?)
}

/// The text of `lesions.json` (the stamped [`record`]).
pub fn json_text(d: &Detection, ct_name: &str, bones_from: &str) -> crate::Result<String> {
    Ok(crate::stamp::text("lesions", &record(d, ct_name, bones_from))? + "\n")
}

/// Writes `lesions.json` and `lesions.nii.gz` into `dir` (which exists).
pub fn write(dir: &Path, ct: &Volume, d: &Detection, ct_name: &str, bones_from: &str) -> crate::Result<()> {
    coxa_io::nifti::write_label_map(&lesion_map(ct, d)?, &dir.join(MAP))?;
    let text = json_text(d, ct_name, bones_from)?;
    std::fs::write(dir.join(JSON), text).with_context(|| format!("cannot write {}", dir.join(JSON).display()))?;
    Ok(())
}

/// One line for what was searched, one per lesion and per bone left out.
pub fn summary_lines(d: &Detection) -> Vec<String> {
    let total: f64 = d.searched.iter().map(|(_, ml)| ml).sum();
    let bones: Vec<String> = d.searched.iter().map(|(b, ml)| format!("{b} {ml:.1} ml")).collect();
    let mut out = vec![format!("  searched {} bone(s), {total:.1} ml: {}", d.searched.len(), bones.join(", "))];
    out.extend(d.lesions.iter().map(|l| {
        let c = l.centre_lps_mm;
        format!("  {} {:?} in {}: {:.2} ml at LPS ({:.0}, {:.0}, {:.0}) mm, slices {}-{}, score {:.2}", l.id, l.kind, l.bone, l.volume_ml, c[0], c[1], c[2], l.slices[0], l.slices[1], l.probability)
    }));
    for (b, ml) in &d.not_searched {
        out.push(format!("  note: {ml:.1} ml of {b} near metal was not searched"));
    }
    out
}
