//! Label maps: integer classes on a voxel grid, with a table of class names.

use std::collections::BTreeMap;

use ndarray::Array3;
use serde::{Deserialize, Serialize};

use crate::{Grid, Result, volume::check_shape};

/// Class id -> class name. Id 0 is background and is never listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClassTable(BTreeMap<u16, String>);

impl ClassTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds or renames class `id` (0, the background, is ignored).
    pub fn insert(&mut self, id: u16, name: impl Into<String>) {
        if id != 0 {
            let _ = self.0.insert(id, name.into());
        }
    }
    /// Name of class `id`.
    pub fn name(&self, id: u16) -> Option<&str> {
        self.0.get(&id).map(String::as_str)
    }
    /// Id of the class called `name`.
    pub fn id(&self, name: &str) -> Option<u16> {
        self.0.iter().find(|(_, n)| n.as_str() == name).map(|(id, _)| *id)
    }
    /// `(id, name)` pairs in increasing id order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &str)> {
        self.0.iter().map(|(id, n)| (*id, n.as_str()))
    }
    /// Number of named classes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether no class is named.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<S: Into<String>> FromIterator<(u16, S)> for ClassTable {
    fn from_iter<T: IntoIterator<Item = (u16, S)>>(iter: T) -> Self {
        let mut t = Self::new();
        for (id, name) in iter {
            t.insert(id, name);
        }
        t
    }
}

/// A label map: one class id per voxel (0 = background) on a [`Grid`], indexed `[k, j, i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelMap {
    grid: Grid,
    labels: Array3<u16>,
    classes: ClassTable,
}

impl LabelMap {
    /// A label map from a grid, an array of shape `grid.shape_kji()` and a class table.
    pub fn new(grid: Grid, labels: Array3<u16>, classes: ClassTable) -> Result<Self> {
        check_shape(&grid, labels.shape())?;
        Ok(Self { grid, labels, classes })
    }
    /// The grid.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }
    /// The label array, indexed `[k, j, i]`.
    pub fn labels(&self) -> &Array3<u16> {
        &self.labels
    }
    /// The class table.
    pub fn classes(&self) -> &ClassTable {
        &self.classes
    }
    /// Replaces the class table.
    pub fn set_classes(&mut self, classes: ClassTable) {
        self.classes = classes;
    }
    /// Voxel count of every label present (background included), in increasing id order.
    pub fn counts(&self) -> BTreeMap<u16, usize> {
        // One counter per possible id (a map lookup per voxel took seconds on a 512 x 512 x 1000
        // map), summed into the map at the end.
        let mut dense = vec![0usize; usize::from(u16::MAX) + 1];
        for &l in self.labels.iter() {
            dense[usize::from(l)] += 1;
        }
        (0..=u16::MAX).zip(dense).filter(|&(_, n)| n > 0).collect()
    }
    /// Splits into its parts.
    pub fn into_parts(self) -> (Grid, Array3<u16>, ClassTable) {
        (self.grid, self.labels, self.classes)
    }
}

/// coxa's classes: the bones and hip muscles, with TotalSegmentator's ids and names.
pub const COXA_CLASSES: [(u16, &str); 13] = [
    (25, "sacrum"),
    (75, "femur_left"),
    (76, "femur_right"),
    (77, "hip_left"),
    (78, "hip_right"),
    (80, "gluteus_maximus_left"),
    (81, "gluteus_maximus_right"),
    (82, "gluteus_medius_left"),
    (83, "gluteus_medius_right"),
    (84, "gluteus_minimus_left"),
    (85, "gluteus_minimus_right"),
    (88, "iliopsoas_left"),
    (89, "iliopsoas_right"),
];

/// coxa's class table ([`COXA_CLASSES`]).
pub fn coxa_classes() -> ClassTable {
    COXA_CLASSES.into_iter().collect()
}

/// Sacrum (TotalSegmentator `sacrum`; its first segment is TotalSegmentator's `vertebrae_S1`).
pub const SACRUM: u16 = 25;
/// Left femur.
pub const FEMUR_LEFT: u16 = 75;
/// Right femur.
pub const FEMUR_RIGHT: u16 = 76;
/// Left hip bone (ilium, ischium and pubis).
pub const HIP_LEFT: u16 = 77;
/// Right hip bone.
pub const HIP_RIGHT: u16 = 78;

/// The five bones coxa segments itself (`coxa_anatomy::segment`), a part of [`COXA_CLASSES`].
pub fn bone_classes() -> ClassTable {
    [SACRUM, FEMUR_LEFT, FEMUR_RIGHT, HIP_LEFT, HIP_RIGHT].into_iter().filter_map(|id| COXA_CLASSES.iter().find(|(i, _)| *i == id).copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Vector3;

    #[test]
    fn class_table_ignores_background_and_looks_up_both_ways() {
        let t: ClassTable = [(0u16, "background"), (75, "femur_left"), (76, "femur_right")].into_iter().collect();
        assert_eq!(t.len(), 2);
        assert_eq!(t.name(75), Some("femur_left"));
        assert_eq!(t.id("femur_right"), Some(76));
        assert_eq!(t.name(0), None);
    }

    #[test]
    fn counts_every_label() {
        let g = Grid::axis_aligned([3, 1, 1], Vector3::repeat(1.0), Vector3::zeros()).unwrap();
        let m = LabelMap::new(g, Array3::from_shape_vec((1, 1, 3), vec![0, 75, 75]).unwrap(), ClassTable::new()).unwrap();
        assert_eq!(m.counts().into_iter().collect::<Vec<_>>(), vec![(0, 1), (75, 2)]);
    }
}
