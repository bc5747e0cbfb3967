//! coxa's label convention and the import of other tools' label maps.
//!
//! coxa uses TotalSegmentator's class ids and names wherever a structure exists in both, so label
//! maps move freely between the two tools. A label map from any other tool is brought into that
//! convention by class name.

use std::collections::BTreeMap;

use coxa_core::{ClassTable, Grid, LabelMap};

// coxa's class table lives in coxa-core (the plain data types), so that the crates that only need
// its names (coxa-infer, coxa-pacs) do not depend on the segmentation; re-exported here, where
// label maps are imported into it.
pub use coxa_core::labels::{COXA_CLASSES, FEMUR_LEFT, FEMUR_RIGHT, HIP_LEFT, HIP_RIGHT, SACRUM, bone_classes, coxa_classes};

/// Tolerance for a label map to count as lying on a CT's grid, mm.
pub const GRID_TOLERANCE_MM: f64 = 1e-3;

/// What can go wrong reading a class table or importing a label map.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// The class table text is not JSON at all (serde_json's error, with line and column, kept as the source).
    #[error("class table: not JSON ({source}); expected a JSON object {{\"75\": \"femur_left\", ...}} (TotalSegmentator's form) or a list [{{\"id\": 75, \"name\": \"femur_left\"}}, ...]")]
    NotJson {
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// The class table text is not the JSON coxa reads.
    #[error("class table: {why}; expected a JSON object {{\"75\": \"femur_left\", ...}} (TotalSegmentator's form) or a list [{{\"id\": 75, \"name\": \"femur_left\"}}, ...]")]
    BadClassTable {
        /// What is wrong.
        why: String,
    },
    /// The label map holds ids its class table does not name.
    #[error("the label map holds ids {ids:?} that its class table does not name; give the full table")]
    UnnamedIds {
        /// The ids without a name.
        ids: Vec<u16>,
    },
    /// A class the source keeps would land on an id coxa uses for another structure.
    #[error("class {name:?} (id {id}) would keep id {id}, which coxa uses for {coxa_name:?}; rename or drop that class")]
    IdCollision {
        /// The source class.
        name: String,
        /// Its id.
        id: u16,
        /// coxa's class at that id.
        coxa_name: String,
    },
    /// The label map is not on the CT's grid.
    #[error("the label map is not on the CT's grid: {source}")]
    GridMismatch {
        /// What differs.
        #[source]
        source: coxa_core::Error,
    },
}

/// Parses a class table: TotalSegmentator's `{"1": "spleen", ...}` or `[{"id": 1, "name": "spleen"}, ...]`.
pub fn parse_class_table(json: &str) -> Result<ClassTable, LabelError> {
    let bad = |why: String| LabelError::BadClassTable { why };
    let v: serde_json::Value = serde_json::from_str(json).map_err(|source| LabelError::NotJson { source })?;
    let mut t = ClassTable::new();
    let id_of = |x: &serde_json::Value, key: &str| -> Result<u16, LabelError> {
        let n = match x {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        n.and_then(|n| u16::try_from(n).ok()).ok_or_else(|| bad(format!("id {key:?} is not an integer in 0..=65535")))
    };
    match &v {
        serde_json::Value::Object(map) => {
            for (k, name) in map {
                let id = id_of(&serde_json::Value::String(k.clone()), k)?;
                let name = name.as_str().ok_or_else(|| bad(format!("the name of id {k} is not a string")))?;
                t.insert(id, name);
            }
        }
        serde_json::Value::Array(list) => {
            for (i, e) in list.iter().enumerate() {
                let id = id_of(&e["id"], &format!("[{i}].id"))?;
                let name = e["name"].as_str().ok_or_else(|| bad(format!("[{i}].name is missing or not a string")))?;
                t.insert(id, name);
            }
        }
        _ => return Err(bad("neither an object nor a list".into())),
    }
    Ok(t)
}

/// Parses TotalSegmentator's class file (`labels_total_v2.json`: `{"1": "spleen", ...}`); the
/// same as [`parse_class_table`].
pub fn parse_totalseg_classes(json: &str) -> Result<ClassTable, LabelError> {
    parse_class_table(json)
}

/// [`import_label_map`] for a label map that belongs to a CT: first checks that `map` lies on
/// `ct_grid` (within [`GRID_TOLERANCE_MM`]), else [`LabelError::GridMismatch`] names what
/// differs (resample the map onto the CT first).
pub fn import_ct_label_map(map: LabelMap, source: &ClassTable, ct_grid: &Grid) -> Result<LabelMap, LabelError> {
    ct_grid.check_same(map.grid(), GRID_TOLERANCE_MM).map_err(|source| LabelError::GridMismatch { source })?;
    import_label_map(map, source)
}

/// Brings a label map whose classes are named by `source` into coxa's convention: every class
/// whose name coxa knows takes coxa's id; every other class keeps its id and name (unless that
/// id is one of coxa's, which is an error). Ids present in the map but absent from `source` are
/// an error, so nothing is silently relabelled.
pub fn import_label_map(map: LabelMap, source: &ClassTable) -> Result<LabelMap, LabelError> {
    let coxa = coxa_classes();
    let present = map.counts();
    let unnamed: Vec<u16> = present.keys().copied().filter(|id| *id != 0 && source.name(*id).is_none()).collect();
    if !unnamed.is_empty() {
        return Err(LabelError::UnnamedIds { ids: unnamed });
    }
    let mut lut: BTreeMap<u16, u16> = BTreeMap::new();
    let mut classes = ClassTable::new();
    for (id, name) in source.iter() {
        let new = match coxa.id(name) {
            Some(c) => c,
            None => {
                if let Some(coxa_name) = coxa.name(id) {
                    if present.contains_key(&id) {
                        return Err(LabelError::IdCollision { name: name.to_string(), id, coxa_name: coxa_name.to_string() });
                    }
                    continue; // named but absent from the map: nothing to move
                }
                id
            }
        };
        let _ = lut.insert(id, new);
        classes.insert(new, name);
    }
    let (grid, mut labels, _) = map.into_parts();
    if lut.iter().any(|(a, b)| a != b) {
        labels.mapv_inplace(|l| lut.get(&l).copied().unwrap_or(l));
    }
    Ok(LabelMap::new(grid, labels, classes).expect("same grid and shape"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Vector3;
    use ndarray::Array3;

    fn map(values: Vec<u16>) -> LabelMap {
        let g = Grid::axis_aligned([values.len(), 1, 1], Vector3::repeat(1.0), Vector3::zeros()).unwrap();
        LabelMap::new(g, Array3::from_shape_vec((1, 1, values.len()), values).unwrap(), ClassTable::new()).unwrap()
    }

    #[test]
    fn both_json_forms_parse() {
        let a = parse_class_table(r#"{"75": "femur_left", "3": "kidney_left"}"#).unwrap();
        let b = parse_class_table(r#"[{"id": 75, "name": "femur_left"}, {"id": "3", "name": "kidney_left"}]"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.name(75), Some("femur_left"));
        for bad in ["[1, 2]", r#"{"x": "a"}"#, r#"{"70000": "a"}"#, "nope", r#"{"1": 5}"#] {
            assert!(parse_class_table(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn another_tools_ids_are_mapped_by_name() {
        // Another tool: 1 = femur_left, 2 = hip_left, 3 = bladder (unknown to coxa).
        let src: ClassTable = [(1u16, "femur_left"), (2, "hip_left"), (3, "bladder")].into_iter().collect();
        let m = import_label_map(map(vec![0, 1, 2, 3, 1]), &src).unwrap();
        assert_eq!(m.labels().iter().copied().collect::<Vec<_>>(), vec![0, 75, 77, 3, 75]);
        assert_eq!(m.classes().name(75), Some("femur_left"));
        assert_eq!(m.classes().name(3), Some("bladder"));
    }

    #[test]
    fn totalsegmentator_maps_are_unchanged() {
        let src: ClassTable = [(75u16, "femur_left"), (76, "femur_right"), (90, "brain")].into_iter().collect();
        let m = import_label_map(map(vec![0, 75, 76, 90]), &src).unwrap();
        assert_eq!(m.labels().iter().copied().collect::<Vec<_>>(), vec![0, 75, 76, 90]);
    }

    #[test]
    fn bone_classes_are_coxa_classes() {
        let b = bone_classes();
        assert_eq!(b.len(), 5);
        for (id, name) in b.iter() {
            assert_eq!(coxa_classes().name(id), Some(name));
        }
        assert_eq!(b.name(HIP_RIGHT), Some("hip_right"));
    }

    #[test]
    fn ct_import_checks_the_grid() {
        let src: ClassTable = [(1u16, "femur_left")].into_iter().collect();
        let m = map(vec![0, 1, 1]);
        let other = Grid::axis_aligned([4, 1, 1], Vector3::repeat(1.0), Vector3::zeros()).unwrap();
        assert!(matches!(import_ct_label_map(m.clone(), &src, &other), Err(LabelError::GridMismatch { .. })));
        let same = m.grid().clone();
        assert_eq!(import_ct_label_map(m, &src, &same).unwrap().labels().iter().copied().collect::<Vec<_>>(), vec![0, 75, 75]);
    }

    #[test]
    fn error_is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<LabelError>();
    }

    #[test]
    fn unnamed_ids_and_collisions_are_errors() {
        let src: ClassTable = [(1u16, "femur_left")].into_iter().collect();
        assert!(matches!(import_label_map(map(vec![0, 1, 7]), &src), Err(LabelError::UnnamedIds { ids }) if ids == vec![7]));
        let src: ClassTable = [(75u16, "liver")].into_iter().collect();
        assert!(matches!(import_label_map(map(vec![75]), &src), Err(LabelError::IdCollision { .. })));
    }
}
