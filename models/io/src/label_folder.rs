//! A folder of one binary mask per class, as TotalSegmentator writes its output by default
//! (`TotalSegmentator -i ct.nii.gz -o seg/` gives `seg/femur_left.nii.gz`, `seg/hip_right.nii.gz`,
//! ... one NIfTI per class, 1 inside, 0 outside): read as one label map whose classes are the
//! files' names.
//!
//! Written here rather than taken from a crate: no Rust crate reads this layout, and it is a
//! folder listing over [`crate::nifti::read_label_map_with`].
//!
//! A class coxa knows (`coxa_core::labels::COXA_CLASSES`, TotalSegmentator's names and ids) takes
//! its id; every other class an id from [`FIRST_OTHER_ID`] up, in the order of the names, so that
//! no other class can take one of coxa's. Every mask must lie on the first one's grid, and no
//! voxel may be in two masks (TotalSegmentator's are disjoint: one class per voxel).

use std::path::{Path, PathBuf};

use coxa_core::{ClassTable, Grid, LabelMap};
use ndarray::Array3;

use crate::{Error, Limits, Result};

/// The first id given to a class that is not one of coxa's.
pub const FIRST_OTHER_ID: u16 = 1000;

/// Whether `path` is a folder (read by [`read_mask_folder`] where a label map is expected).
pub fn is_mask_folder(path: &Path) -> bool {
    path.is_dir()
}

/// The class name of a mask file: its name without `.nii.gz` or `.nii` (any case); `None` for
/// any other file.
fn class_of(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".nii.gz").or_else(|| lower.strip_suffix(".nii"))?.len();
    (stem > 0 && !name.starts_with('.')).then(|| name[..stem].to_string())
}

fn bad(dir: &Path, why: String) -> Error {
    Error::LabelFolder { path: dir.to_path_buf(), why }
}

/// Reads the folder `dir` of one NIfTI mask per class as a label map: a mask's non-zero voxels
/// are its class, named by its file name; other files are skipped. Each mask is read within
/// `limits`.
///
/// # Errors
/// [`Error::LabelFolder`]: no mask in the folder, two files of one class, a mask on another grid
/// than the first, a voxel in two masks; the NIfTI reader's errors for a mask.
pub fn read_mask_folder(dir: &Path, limits: &Limits) -> Result<LabelMap> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Unreadable { path: dir.to_path_buf(), source })?;
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries {
        let path = entry.map_err(|source| Error::Unreadable { path: dir.to_path_buf(), source })?.path();
        if let Some(class) = class_of(&path).filter(|_| path.is_file()) {
            files.push((class, path));
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(bad(dir, "it holds no NIfTI mask (.nii.gz or .nii)".into()));
    }
    if let Some(w) = files.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(bad(dir, format!("two masks of the class {:?} ({} and {}): keep one", w[0].0, w[0].1.display(), w[1].1.display())));
    }
    let mut merged: Option<(Grid, Masks)> = None;
    for (class, path) in &files {
        let mask = crate::nifti::read_label_map_with(path, limits)?;
        let (grid, masks) = match &mut merged {
            Some(o) => o,
            None => merged.insert((mask.grid().clone(), Masks::new(mask.grid().shape_kji()))),
        };
        if let Err(e) = grid.check_same(mask.grid(), 1e-3) {
            return Err(bad(dir, format!("{} is not on the grid of {} ({e}): every mask must be on the CT's grid", path.display(), files[0].1.display())));
        }
        let id = masks.class(class).map_err(|why| bad(dir, why))?;
        for (index, &m) in mask.labels().indexed_iter() {
            if m != 0 {
                masks.set(index, id).map_err(|why| bad(dir, why))?;
            }
        }
    }
    let (grid, masks) = merged.ok_or_else(|| bad(dir, "it holds no NIfTI mask".into()))?;
    let (labels, classes) = masks.into_parts();
    LabelMap::new(grid, labels, classes).map_err(|source| Error::Geometry { path: dir.to_path_buf(), source })
}

/// Binary masks of named classes merged into one label map (a folder of masks, the segments of
/// a DICOM SEG): a class coxa knows takes its id, every other one the next id from
/// [`FIRST_OTHER_ID`]; no voxel may be in two masks.
pub(crate) struct Masks {
    coxa: ClassTable,
    next_other: u16,
    classes: ClassTable,
    labels: Array3<u16>,
}

impl Masks {
    /// No class yet, every voxel 0, `shape` (k, j, i).
    pub(crate) fn new(shape: [usize; 3]) -> Self {
        Self { coxa: coxa_core::labels::coxa_classes(), next_other: FIRST_OTHER_ID, classes: ClassTable::new(), labels: Array3::zeros(shape) }
    }

    /// The id of the new class `name`; `Err` (why) for a class already given or when the ids
    /// run out.
    pub(crate) fn class(&mut self, name: &str) -> std::result::Result<u16, String> {
        if self.classes.id(name).is_some() {
            return Err(format!("two masks of the class {name:?}: keep one"));
        }
        let id = match self.coxa.id(name) {
            Some(id) => id,
            None => {
                let id = self.next_other;
                self.next_other = id.checked_add(1).ok_or_else(|| format!("more than {} classes", u16::MAX - FIRST_OTHER_ID))?;
                id
            }
        };
        self.classes.insert(id, name);
        Ok(id)
    }

    /// Puts voxel `(k, j, i)` in class `id`; `Err` (why) when it is in another class already.
    pub(crate) fn set(&mut self, (k, j, i): (usize, usize, usize), id: u16) -> std::result::Result<(), String> {
        let Some(o) = self.labels.get_mut((k, j, i)) else { return Err(format!("voxel ({i}, {j}, {k}) is outside the grid")) };
        if *o != 0 && *o != id {
            let (a, b) = (self.classes.name(*o).unwrap_or("another class"), self.classes.name(id).unwrap_or("another class"));
            return Err(format!("a voxel is in both {a} and {b}: the masks must not overlap (one class per voxel, as TotalSegmentator writes them)"));
        }
        *o = id;
        Ok(())
    }

    /// The label array and the classes.
    pub(crate) fn into_parts(self) -> (Array3<u16>, ClassTable) {
        (self.labels, self.classes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coxa_core::Volume;
    use nalgebra::Vector3;

    fn write_mask(path: &Path, grid: &Grid, inside: impl Fn(usize) -> bool) {
        let a = Array3::from_shape_fn(grid.shape_kji(), |(k, j, i)| if inside(i + 4 * (j + 3 * k)) { 1.0f32 } else { 0.0 });
        crate::nifti::write_volume(&Volume::new(grid.clone(), a).unwrap(), path).unwrap();
    }

    #[test]
    fn classes_are_the_file_names_and_coxas_ids_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let grid = Grid::axis_aligned([4, 3, 2], Vector3::new(1.0, 1.5, 2.0), Vector3::new(-3.0, 2.0, 10.0)).unwrap();
        write_mask(&dir.path().join("femur_left.nii.gz"), &grid, |v| v < 5);
        write_mask(&dir.path().join("spleen.nii.gz"), &grid, |v| (10..12).contains(&v));
        write_mask(&dir.path().join("aorta.nii"), &grid, |v| v == 20);
        write_mask(&dir.path().join("kidney_cyst_left.nii.gz"), &grid, |_| false);
        std::fs::write(dir.path().join("statistics.json"), "{}").unwrap();
        let map = read_mask_folder(dir.path(), &Limits::new()).unwrap();
        assert_eq!(map.grid(), &grid);
        let names: Vec<(u16, &str)> = map.classes().iter().collect();
        assert_eq!(names, [(75, "femur_left"), (1000, "aorta"), (1001, "kidney_cyst_left"), (1002, "spleen")]);
        let flat: Vec<u16> = map.labels().iter().copied().collect();
        let want: Vec<u16> = (0..24)
            .map(|v| {
                if v < 5 {
                    75
                } else if (10..12).contains(&v) {
                    1002
                } else if v == 20 {
                    1000
                } else {
                    0
                }
            })
            .collect();
        assert_eq!(flat, want);
    }

    #[test]
    fn bad_folders_are_one_clear_error() {
        let grid = Grid::axis_aligned([4, 3, 2], Vector3::repeat(1.0), Vector3::zeros()).unwrap();
        let empty = tempfile::tempdir().unwrap();
        let e = read_mask_folder(empty.path(), &Limits::new()).unwrap_err().to_string();
        assert!(e.contains("holds no NIfTI mask"), "{e}");
        let overlap = tempfile::tempdir().unwrap();
        write_mask(&overlap.path().join("hip_left.nii.gz"), &grid, |v| v < 5);
        write_mask(&overlap.path().join("sacrum.nii.gz"), &grid, |v| v == 4);
        let e = read_mask_folder(overlap.path(), &Limits::new()).unwrap_err().to_string();
        assert!(e.contains("a voxel is in both hip_left and sacrum"), "{e}");
        let moved = tempfile::tempdir().unwrap();
        write_mask(&moved.path().join("a.nii.gz"), &grid, |v| v < 5);
        let other = Grid::axis_aligned([4, 3, 2], Vector3::repeat(1.0), Vector3::new(0.0, 0.0, 5.0)).unwrap();
        write_mask(&moved.path().join("b.nii.gz"), &other, |v| v > 20);
        let e = read_mask_folder(moved.path(), &Limits::new()).unwrap_err().to_string();
        assert!(e.contains("b.nii.gz is not on the grid of") && e.contains("a.nii.gz"), "{e}");
        let twice = tempfile::tempdir().unwrap();
        write_mask(&twice.path().join("a.nii.gz"), &grid, |v| v < 5);
        write_mask(&twice.path().join("a.nii"), &grid, |v| v < 5);
        let e = read_mask_folder(twice.path(), &Limits::new()).unwrap_err().to_string();
        assert!(e.contains("two masks of the class \"a\""), "{e}");
    }
}
