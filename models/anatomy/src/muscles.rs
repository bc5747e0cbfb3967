//! Per-muscle measures from a CT and a label map: volume, mean HU, fat fraction, and left/right
//! asymmetry — the muscle atrophy and fatty degeneration the research related to hip function.

use std::collections::BTreeMap;

use serde::Serialize;

use coxa_core::{HuValue, LabelMap, Side, Volume};

/// HU range counted as fat (adipose tissue, -190 to -30 HU; e.g. Aubrey et al. 2014).
pub const FAT_HU: (f32, f32) = (-190.0, -30.0);
/// HU range counted as lean muscle (-29 to 150 HU).
pub const MUSCLE_HU: (f32, f32) = (-29.0, 150.0);

/// The hip muscles coxa measures, by their TotalSegmentator base name (with `_left`/`_right`).
pub const HIP_MUSCLES: [&str; 4] = ["gluteus_maximus", "gluteus_medius", "gluteus_minimus", "iliopsoas"];

/// Measures of one labelled muscle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MuscleMeasure {
    /// Class name, e.g. `gluteus_medius_left`.
    pub name: String,
    /// Label id.
    pub label: u16,
    /// Side, from the name's suffix.
    pub side: Option<Side>,
    /// Voxels in the label.
    pub n_voxels: usize,
    /// Volume, cm³.
    pub volume_cm3: f64,
    /// Mean HU over the label.
    pub mean_hu: f64,
    /// Standard deviation of HU over the label.
    pub sd_hu: f64,
    /// Share of the label's voxels in the fat range [`FAT_HU`], 0..1.
    pub fat_fraction: f64,
    /// Share in the lean muscle range [`MUSCLE_HU`], 0..1.
    pub lean_fraction: f64,
    /// The label reaches the edge of the scan (a voxel on the grid's first or last plane along
    /// any axis): the muscle is likely cut by the scan, so its volume is a lower bound.
    pub cut_by_scan: bool,
}

/// Left/right comparison of one muscle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MuscleAsymmetry {
    /// Base name, e.g. `gluteus_medius`.
    pub muscle: String,
    /// (left - right) / mean(left, right) of the volume, %.
    pub volume_asymmetry_percent: f64,
    /// Fat fraction left minus right, percentage points.
    pub fat_fraction_difference_pp: f64,
}

/// What can go wrong measuring muscles.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum MuscleError {
    /// The label map does not lie on the CT's grid.
    #[error("the label map is not on the CT's grid ({0}); resample it onto the CT first")]
    GridMismatch(coxa_core::Error),
}

/// Measures every labelled muscle whose class name starts with one of [`HIP_MUSCLES`] (any other
/// class with a `muscle` in its name too), and the left/right asymmetry of each pair.
pub fn muscle_measures(ct: &Volume, labels: &LabelMap) -> Result<(Vec<MuscleMeasure>, Vec<MuscleAsymmetry>), MuscleError> {
    ct.grid().check_same(labels.grid(), 1e-3).map_err(MuscleError::GridMismatch)?;
    let wanted: BTreeMap<u16, &str> = labels.classes().iter().filter(|(_, n)| HIP_MUSCLES.iter().any(|m| n.starts_with(m)) || n.contains("muscle")).collect();
    #[derive(Default, Clone, Copy)]
    struct Acc {
        n: usize,
        sum: f64,
        sum2: f64,
        fat: usize,
        lean: usize,
        edge: bool,
    }
    let mut acc: BTreeMap<u16, Acc> = wanted.keys().map(|k| (*k, Acc::default())).collect();
    let shape = labels.labels().dim();
    let on_edge = |(k, j, i): (usize, usize, usize)| k == 0 || j == 0 || i == 0 || k + 1 == shape.0 || j + 1 == shape.1 || i + 1 == shape.2;
    coxa_core::with_hu!(ct, |hu_array| for ((idx, &l), &hu) in labels.labels().indexed_iter().zip(hu_array.iter()) {
        let hu: f32 = hu.hu_f32();
        if let Some(a) = acc.get_mut(&l) {
            a.edge |= on_edge(idx);
            let v = f64::from(hu);
            a.n += 1;
            a.sum += v;
            a.sum2 += v * v;
            a.fat += usize::from((FAT_HU.0..=FAT_HU.1).contains(&hu));
            a.lean += usize::from((MUSCLE_HU.0..=MUSCLE_HU.1).contains(&hu));
        }
    });
    let voxel_mm3: f64 = ct.grid().spacing_mm().iter().product();
    let measures: Vec<MuscleMeasure> = acc
        .into_iter()
        .filter(|(_, a)| a.n > 0)
        .map(|(label, a)| {
            let name = wanted[&label].to_string();
            let n = a.n as f64;
            let mean = a.sum / n;
            MuscleMeasure {
                side: side_of(&name),
                name,
                label,
                n_voxels: a.n,
                volume_cm3: n * voxel_mm3 / 1000.0,
                mean_hu: mean,
                sd_hu: (a.sum2 / n - mean * mean).max(0.0).sqrt(),
                fat_fraction: a.fat as f64 / n,
                lean_fraction: a.lean as f64 / n,
                cut_by_scan: a.edge,
            }
        })
        .collect();
    let mut asym = Vec::new();
    for m in &measures {
        let Some(base) = m.name.strip_suffix("_left") else { continue };
        if let Some(r) = measures.iter().find(|r| r.name == format!("{base}_right")) {
            let mean_v = 0.5 * (m.volume_cm3 + r.volume_cm3);
            asym.push(MuscleAsymmetry {
                muscle: base.to_string(),
                volume_asymmetry_percent: 100.0 * (m.volume_cm3 - r.volume_cm3) / mean_v,
                fat_fraction_difference_pp: 100.0 * (m.fat_fraction - r.fat_fraction),
            });
        }
    }
    Ok((measures, asym))
}

fn side_of(name: &str) -> Option<Side> {
    if name.ends_with("_left") {
        Some(Side::Left)
    } else if name.ends_with("_right") {
        Some(Side::Right)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coxa_core::{ClassTable, Grid};
    use nalgebra::Vector3;
    use ndarray::Array3;

    #[test]
    fn exact_measures_on_a_synthetic_pair() {
        let grid = Grid::axis_aligned([10, 4, 2], Vector3::new(1.0, 2.0, 3.0), Vector3::zeros()).unwrap();
        // Left gluteus medius (82): 20 voxels, 5 of them fat (-100 HU), 15 lean (50 HU).
        // Right (83): 10 voxels, all lean (60 HU).
        let mut labels = Array3::<u16>::zeros((2, 4, 10));
        let mut hu = Array3::<f32>::from_elem((2, 4, 10), -1000.0);
        for (n, idx) in ndarray::indices((2, 4, 10)).into_iter().enumerate() {
            if n < 20 {
                labels[idx] = 82;
                hu[idx] = if n < 5 { -100.0 } else { 50.0 };
            } else if n < 30 {
                labels[idx] = 83;
                hu[idx] = 60.0;
            }
        }
        let classes: ClassTable = [(82u16, "gluteus_medius_left"), (83, "gluteus_medius_right"), (75, "femur_left")].into_iter().collect();
        let map = LabelMap::new(grid.clone(), labels, classes).unwrap();
        let ct = Volume::new(grid, hu).unwrap();
        let (m, a) = muscle_measures(&ct, &map).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].n_voxels, m[0].volume_cm3, m[0].fat_fraction, m[0].lean_fraction), (20, 0.12, 0.25, 0.75));
        assert_eq!(m[0].mean_hu, (5.0 * -100.0 + 15.0 * 50.0) / 20.0);
        assert_eq!((m[1].volume_cm3, m[1].mean_hu, m[1].sd_hu, m[1].side), (0.06, 60.0, 0.0, Some(Side::Right)));
        assert_eq!(a.len(), 1);
        assert!((a[0].volume_asymmetry_percent - 100.0 * (0.12 - 0.06) / 0.09).abs() < 1e-9);
        assert!((a[0].fat_fraction_difference_pp - 25.0).abs() < 1e-9);
        // A grid two voxels deep: every voxel is on its edge.
        assert!(m[0].cut_by_scan && m[1].cut_by_scan);
    }

    #[test]
    fn a_muscle_inside_the_scan_is_not_cut() {
        let grid = Grid::axis_aligned([3, 3, 3], Vector3::repeat(1.0), Vector3::zeros()).unwrap();
        let mut labels = Array3::<u16>::zeros((3, 3, 3));
        labels[(1, 1, 1)] = 82;
        labels[(2, 1, 1)] = 83;
        let classes: ClassTable = [(82u16, "gluteus_medius_left"), (83, "gluteus_medius_right")].into_iter().collect();
        let map = LabelMap::new(grid.clone(), labels, classes).unwrap();
        let ct = Volume::new(grid, Array3::from_elem((3, 3, 3), 40.0)).unwrap();
        let (m, _) = muscle_measures(&ct, &map).unwrap();
        assert_eq!((m[0].cut_by_scan, m[1].cut_by_scan), (false, true));
    }

    #[test]
    fn label_map_on_another_grid_is_an_error() {
        let g1 = Grid::axis_aligned([2, 2, 2], Vector3::repeat(1.0), Vector3::zeros()).unwrap();
        let g2 = Grid::axis_aligned([2, 2, 2], Vector3::repeat(1.0), Vector3::new(5.0, 0.0, 0.0)).unwrap();
        let ct = Volume::new(g1, Array3::zeros((2, 2, 2))).unwrap();
        let map = LabelMap::new(g2, Array3::zeros((2, 2, 2)), ClassTable::new()).unwrap();
        let err = muscle_measures(&ct, &map).unwrap_err();
        assert!(err.to_string().contains("origin"), "{err}");
    }
}
