//! Sanity of bone surfaces read from files: stray vertices and length units (issue 16).
//!
//! A bone surface from another tool can be in metres, centimetres or inches, or carry a vertex
//! far from the bone (a corrupt export: one STL vertex 1e8 mm away kept the planner busy for
//! minutes, 1e4 mm silently changed the plan). Both are checked before any landmark search:
//!
//! 1. **Stray vertices.** The bone's extent is taken robustly from the 2 % and 98 %
//!    quantiles of its vertex coordinates on each axis (fewer than 2 % strays cannot move it). A vertex
//!    more than half the largest extent outside that box is far from any bone surface: it is
//!    dropped with the triangles that use it, and the note says how many and how far. More than
//!    1 % of the vertices (at least 10) out there is not a stray vertex but a broken or mixed file,
//!    and is refused.
//! 2. **Units.** The largest extent (after 1.) must be a plausible bone size in millimetres:
//!    femur 30-700 mm (a CT may hold only the proximal femur), hip bone 80-350 mm, sacrum
//!    40-250 mm. A femur must also be at least 15 mm thick across its thinnest principal axis
//!    (a femoral shaft is about 25-30 mm, a head 40-55 mm): a whole femur in centimetres is
//!    45 "mm" long, a plausible cropped femur by length alone, but only 3-6 "mm" thick, so a lone
//!    femur in cm is caught too. The bones of one case share their units, so the units that make every bone
//!    plausible are looked for among mm, cm, m and inches: mm is taken as it is; another single
//!    candidate is refused with the fix (`--mesh-units cm`, or re-export in mm); no candidate is
//!    refused as not a bone of that name. Given units explicitly, the meshes are scaled to mm and
//!    an implausible size is only noted (the user decided).
//!
//! Written here rather than taken from a crate: it is a few quantiles and bone-size tables that
//! only make sense with coxa's bone names.

use coxa_core::Mesh;
use nalgebra::Point3;

/// A length unit of a mesh file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthUnit {
    /// Millimetres (coxa's unit).
    Mm,
    /// Centimetres.
    Cm,
    /// Metres (OpenSim, many CAD exports).
    M,
    /// Inches.
    Inch,
}

impl LengthUnit {
    /// Every unit, mm first.
    pub const ALL: [LengthUnit; 4] = [LengthUnit::Mm, LengthUnit::Cm, LengthUnit::M, LengthUnit::Inch];

    /// Millimetres per unit.
    pub fn mm_per_unit(self) -> f64 {
        match self {
            LengthUnit::Mm => 1.0,
            LengthUnit::Cm => 10.0,
            LengthUnit::M => 1000.0,
            LengthUnit::Inch => 25.4,
        }
    }

    /// `mm`, `cm`, `m`, `in`.
    pub fn name(self) -> &'static str {
        match self {
            LengthUnit::Mm => "mm",
            LengthUnit::Cm => "cm",
            LengthUnit::M => "m",
            LengthUnit::Inch => "in",
        }
    }

    /// Parses `mm`, `cm`, `m`, `in` (also `inch`, `inches`, `metres`, ...).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "mm" | "millimetre" | "millimetres" | "millimeter" | "millimeters" => Some(LengthUnit::Mm),
            "cm" | "centimetre" | "centimetres" | "centimeter" | "centimeters" => Some(LengthUnit::Cm),
            "m" | "metre" | "metres" | "meter" | "meters" => Some(LengthUnit::M),
            "in" | "inch" | "inches" => Some(LengthUnit::Inch),
            _ => None,
        }
    }
}

/// A bone surface that cannot be used as it is.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum BoneCheckError {
    /// Many vertices far from the bone: a broken or mixed file, not a stray vertex.
    #[error("{bone}: {n_far} of {n_vertices} vertices lie far outside the bone (up to {max_distance_mm:.3e} from it); this is not a stray vertex but a broken or mixed file: re-export the bone alone")]
    Scattered {
        /// The bone's name.
        bone: String,
        /// Vertices far out.
        n_far: usize,
        /// All vertices.
        n_vertices: usize,
        /// The farthest one's distance from the bone's box, file units.
        max_distance_mm: f64,
    },
    /// The sizes fit one other unit, not millimetres.
    #[error(
        "bone surfaces look like they are in {unit_name}, not millimetres ({sizes}); coxa takes meshes in mm: pass --mesh-units {unit} (mesh_units = \"{unit}\" in a scenario case) to scale them, or re-export them in millimetres"
    )]
    WrongUnits {
        /// The unit that fits, as written on the command line.
        unit: &'static str,
        /// Its name.
        unit_name: &'static str,
        /// `femur_right 0.42, hip_right 0.20` (largest extents in file units).
        sizes: String,
    },
    /// No unit makes the sizes plausible.
    #[error(
        "bone surfaces of implausible size ({sizes}; expected in mm: {expected}) in no unit coxa knows (mm, cm, m, in): check that each file is the bone it is named as, or pass --mesh-units to say what the units are"
    )]
    Implausible {
        /// Largest extents, file units.
        sizes: String,
        /// The plausible ranges in mm.
        expected: String,
    },
    /// A label map whose left and right classes lie on the wrong sides of the patient.
    #[error(
        "the label map is mirrored left/right against the CT: {pairs}, in the CT's patient frame (LPS: +x is the patient's left); it was probably saved with a flipped axis: re-export it on the CT's grid in the CT's orientation"
    )]
    MirroredLabels {
        /// `femur_left lies 81 mm to the patient's right of femur_right`, ...
        pairs: String,
    },
    /// The cleaned or rescaled surface is not a valid mesh (coxa-core's error kept as the source).
    #[error("{bone}: {source}; re-export the surface")]
    InvalidMesh {
        /// The bone's name.
        bone: String,
        /// Why the mesh was refused.
        #[source]
        source: coxa_core::Error,
    },
    /// A mesh without vertices, or with non-finite ones.
    #[error("{bone}: {why}; re-export the surface")]
    Degenerate {
        /// The bone's name.
        bone: String,
        /// What is wrong.
        why: String,
    },
}

/// Plausible largest extent of a bone, mm (`None` for a name coxa does not size).
pub fn plausible_extent_mm(bone: &str) -> Option<(f64, f64)> {
    if bone.starts_with("femur") {
        Some((30.0, 700.0))
    } else if bone.starts_with("hip") {
        Some((80.0, 350.0))
    } else if bone == "sacrum" {
        Some((40.0, 250.0))
    } else {
        None
    }
}

/// Smallest plausible thickness of a bone across its thinnest principal axis, mm (`None`: not
/// checked). A femoral shaft is about 25-30 mm thick and a femoral head 40-55 mm, so any femur
/// surface, cropped or whole, is thicker than 15 mm.
pub fn plausible_thickness_mm(bone: &str) -> Option<f64> {
    bone.starts_with("femur").then_some(15.0)
}

/// Extent of a mesh along its thinnest principal axis (rotation-invariant), file units.
fn thickness(mesh: &Mesh) -> f64 {
    let (m, axes, _) = crate::landmarks::fit::principal_axes(mesh.vertices());
    let a = axes.column(2).into_owned();
    let (lo, hi) = mesh.vertices().iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        let t = (p - m).dot(&a);
        (lo.min(t), hi.max(t))
    });
    (hi - lo).max(0.0)
}

/// Quantile `q` of `v` (sorted in place).
fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i]
}

/// The robust box of `vertices`: per axis the 2 % and 98 % quantiles.
fn robust_box(vertices: &[Point3<f64>]) -> ([f64; 3], [f64; 3]) {
    let mut lo = [0.0; 3];
    let mut hi = [0.0; 3];
    for a in 0..3 {
        let mut c: Vec<f64> = vertices.iter().map(|p| p[a]).collect();
        lo[a] = quantile(&mut c, 0.02);
        hi[a] = quantile(&mut c, 0.98);
    }
    (lo, hi)
}

/// Drops vertices far outside the bone (see the module docs) with their triangles. Returns the
/// mesh and a note when something was dropped.
///
/// # Errors
/// [`BoneCheckError::Scattered`] when too many vertices are far out, [`BoneCheckError::Degenerate`]
/// for an empty mesh or non-finite coordinates.
pub fn drop_stray_vertices(bone: &str, mesh: Mesh) -> Result<(Mesh, Option<String>), BoneCheckError> {
    let n = mesh.vertices().len();
    if n == 0 || mesh.triangles().is_empty() {
        return Err(BoneCheckError::Degenerate { bone: bone.into(), why: "the surface has no triangles".into() });
    }
    if mesh.vertices().iter().any(|p| !p.coords.iter().all(|c| c.is_finite())) {
        return Err(BoneCheckError::Degenerate { bone: bone.into(), why: "a vertex has a coordinate that is not a finite number".into() });
    }
    if n < 20 {
        return Ok((mesh, None));
    }
    let (lo, hi) = robust_box(mesh.vertices());
    let margin = 0.5 * (0..3).map(|a| hi[a] - lo[a]).fold(0.0, f64::max);
    let outside = |p: &Point3<f64>| (0..3).map(|a| (lo[a] - p[a]).max(p[a] - hi[a]).max(0.0)).fold(0.0, f64::max);
    let far: Vec<bool> = mesh.vertices().iter().map(|p| outside(p) > margin).collect();
    let n_far = far.iter().filter(|f| **f).count();
    if n_far == 0 {
        return Ok((mesh, None));
    }
    let max_distance_mm = mesh.vertices().iter().map(outside).fold(0.0, f64::max);
    if n_far > (n / 100).max(10) {
        return Err(BoneCheckError::Scattered { bone: bone.into(), n_far, n_vertices: n, max_distance_mm });
    }
    let (vertices, triangles) = mesh.into_parts();
    let mut new_index = vec![u32::MAX; n];
    let mut kept = Vec::with_capacity(n - n_far);
    for (i, p) in vertices.into_iter().enumerate() {
        if !far[i] {
            new_index[i] = kept.len() as u32;
            kept.push(p);
        }
    }
    let before = triangles.len();
    let tris: Vec<[u32; 3]> = triangles.into_iter().filter(|t| t.iter().all(|&v| !far[v as usize])).map(|t| t.map(|v| new_index[v as usize])).collect();
    let n_dropped = before - tris.len();
    let mesh = Mesh::new(kept, tris).map_err(|source| BoneCheckError::InvalidMesh { bone: bone.into(), source })?;
    if mesh.triangles().is_empty() {
        return Err(BoneCheckError::Degenerate { bone: bone.into(), why: "no triangle is left once the stray vertices are dropped".into() });
    }
    Ok((mesh, Some(format!("{bone}: dropped {n_far} stray vertex(es) up to {max_distance_mm:.3e} (file units) outside the bone, with {n_dropped} triangle(s); check the file's export"))))
}

/// Checks that every `NAME_left` / `NAME_right` class pair of a label map lies on the patient's
/// left and right (the centroid of `_left` at larger LPS x than `_right`'s); pairs with fewer
/// than 50 voxels on either side are not judged. Any pair on the wrong side refuses the map.
///
/// # Errors
/// [`BoneCheckError::MirroredLabels`] naming the pairs on the wrong side.
pub fn check_label_sides(map: &coxa_core::LabelMap) -> Result<(), BoneCheckError> {
    let classes = map.classes();
    let max_id = classes.iter().map(|(id, _)| id).max().unwrap_or(0) as usize;
    // Sum of voxel indices and count per label id; LPS is affine in the indices, so the mean
    // index maps to the centroid exactly.
    let mut acc = vec![([0.0f64; 3], 0usize); max_id + 1];
    for ((k, j, i), &l) in map.labels().indexed_iter() {
        if l != 0 && (l as usize) <= max_id {
            let a = &mut acc[l as usize];
            a.0[0] += i as f64;
            a.0[1] += j as f64;
            a.0[2] += k as f64;
            a.1 += 1;
        }
    }
    let grid = map.grid();
    let centroids: Vec<Option<Point3<f64>>> = acc.iter().map(|(s, n)| (*n >= 50).then(|| grid.voxel_to_lps(nalgebra::Vector3::new(s[0], s[1], s[2]) / *n as f64))).collect();
    let mut wrong = Vec::new();
    for (id, name) in classes.iter() {
        let Some(stem) = name.strip_suffix("_left") else {
            continue;
        };
        let Some(right) = classes.id(&format!("{stem}_right")) else {
            continue;
        };
        if let (Some(Some(l)), Some(Some(r))) = (centroids.get(id as usize), centroids.get(right as usize))
            && l.x < r.x
        {
            wrong.push(format!("{name} lies {:.0} mm to the patient's right of {stem}_right", r.x - l.x));
        }
    }
    if wrong.is_empty() { Ok(()) } else { Err(BoneCheckError::MirroredLabels { pairs: wrong.join(", ") }) }
}

/// A bone's sizes in file units, with the plausible ones in mm.
struct BoneSize<'a> {
    name: &'a str,
    /// Largest extent of its box.
    extent: f64,
    /// Plausible largest extent, mm.
    range_mm: (f64, f64),
    /// Extent along its thinnest principal axis.
    thickness: f64,
    /// Thinnest plausible, mm (0: not checked).
    min_thickness_mm: f64,
}

/// Bone surfaces by name (`femur_right`, ...).
pub type NamedMeshes = Vec<(String, Mesh)>;

/// Largest extent of a mesh (axis-aligned box), file units.
fn extent(mesh: &Mesh) -> f64 {
    mesh.bounds().map_or(0.0, |(lo, hi)| (hi - lo).max())
}

/// Checks the bone surfaces of one case (see the module docs): stray vertices dropped, units
/// detected or applied. Returns the meshes in mm and the notes for the report.
///
/// # Errors
/// A [`BoneCheckError`] naming the bone(s), what is wrong and the fix.
pub fn check_bones(bones: Vec<(String, Mesh)>, units: Option<LengthUnit>) -> Result<(NamedMeshes, Vec<String>), BoneCheckError> {
    let mut notes = Vec::new();
    let mut cleaned = Vec::with_capacity(bones.len());
    for (name, mesh) in bones {
        let (mesh, note) = drop_stray_vertices(&name, mesh)?;
        notes.extend(note);
        cleaned.push((name, mesh));
    }
    let sized: Vec<BoneSize<'_>> = cleaned
        .iter()
        .filter_map(|(n, m)| {
            Some(BoneSize { name: n.as_str(), extent: extent(m), range_mm: plausible_extent_mm(n)?, thickness: thickness(m), min_thickness_mm: plausible_thickness_mm(n).unwrap_or(0.0) })
        })
        .collect();
    // A bone whose length fits mm but whose thickness does not says so (a lone femur in cm).
    let sizes = || {
        sized
            .iter()
            .map(|b| {
                let (n, e, t) = (b.name, b.extent, b.thickness);
                if (b.range_mm.0..=b.range_mm.1).contains(&e) && t < b.min_thickness_mm { format!("{n} {e:.3} long but {t:.3} thick") } else { format!("{n} {e:.3}") }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let fits = |u: LengthUnit| sized.iter().all(|b| (b.range_mm.0..=b.range_mm.1).contains(&(b.extent * u.mm_per_unit())) && b.thickness * u.mm_per_unit() >= b.min_thickness_mm);
    let unit = match units {
        Some(u) => {
            if !fits(u) {
                notes.push(format!("the bone sizes ({}) are unusual for {} as given by --mesh-units / mesh_units", sizes(), u.name()));
            }
            u
        }
        None if sized.is_empty() || fits(LengthUnit::Mm) => LengthUnit::Mm,
        None => {
            let candidates: Vec<LengthUnit> = LengthUnit::ALL.into_iter().filter(|u| fits(*u)).collect();
            return Err(match candidates.as_slice() {
                [u] => BoneCheckError::WrongUnits {
                    unit: u.name(),
                    unit_name: match u {
                        LengthUnit::Mm => "millimetres",
                        LengthUnit::Cm => "centimetres",
                        LengthUnit::M => "metres",
                        LengthUnit::Inch => "inches",
                    },
                    sizes: sizes(),
                },
                _ => BoneCheckError::Implausible {
                    sizes: sizes(),
                    expected: sized
                        .iter()
                        .map(|b| {
                            if b.min_thickness_mm > 0.0 {
                                format!("{} {}-{} long, >= {} thick", b.name, b.range_mm.0, b.range_mm.1, b.min_thickness_mm)
                            } else {
                                format!("{} {}-{}", b.name, b.range_mm.0, b.range_mm.1)
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                },
            });
        }
    };
    if unit != LengthUnit::Mm {
        let s = unit.mm_per_unit();
        notes.push(format!("bone surfaces scaled from {} to mm (x{s})", unit.name()));
        cleaned = cleaned
            .into_iter()
            .map(|(n, m)| {
                let (v, t) = m.into_parts();
                let v = v.into_iter().map(|p| Point3::from(p.coords * s)).collect();
                Mesh::new(v, t).map(|m| (n.clone(), m)).map_err(|source| BoneCheckError::InvalidMesh { bone: n, source })
            })
            .collect::<Result<_, _>>()?;
    }
    Ok((cleaned, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A closed box `size` mm with about `n` vertices per edge on its surface (a stand-in bone).
    fn box_mesh(size: [f64; 3], n: usize) -> Mesh {
        let mut v = Vec::new();
        let mut t = Vec::new();
        // Six faces, each an n x n grid (seams duplicated: fine for these checks).
        for face in 0..6 {
            let axis = face / 2;
            let hi = face % 2 == 1;
            let (a, b) = ((axis + 1) % 3, (axis + 2) % 3);
            let base = v.len() as u32;
            for i in 0..n {
                for j in 0..n {
                    let mut p = [0.0; 3];
                    p[axis] = if hi { size[axis] } else { 0.0 };
                    p[a] = size[a] * i as f64 / (n - 1) as f64;
                    p[b] = size[b] * j as f64 / (n - 1) as f64;
                    v.push(Point3::new(p[0], p[1], p[2]));
                }
            }
            for i in 0..n - 1 {
                for j in 0..n - 1 {
                    let q = |i: usize, j: usize| base + (i * n + j) as u32;
                    t.push([q(i, j), q(i + 1, j), q(i + 1, j + 1)]);
                    t.push([q(i, j), q(i + 1, j + 1), q(i, j + 1)]);
                }
            }
        }
        Mesh::new(v, t).unwrap()
    }

    fn with_stray(mesh: &Mesh, at: Point3<f64>) -> Mesh {
        let (mut v, mut t) = mesh.clone().into_parts();
        v.push(at);
        let k = (v.len() - 1) as u32;
        t.push([0, 1, k]);
        Mesh::new(v, t).unwrap()
    }

    /// Issue 16: one STL vertex 1e4 / 1e6 / 1e8 mm away changed the plan or hung it.
    #[test]
    fn issue_16_stray_vertex_is_dropped_and_reported() {
        let femur = box_mesh([60.0, 60.0, 420.0], 20);
        for d in [1e4, 1e6, 1e8] {
            let bad = with_stray(&femur, Point3::new(d, 0.0, 0.0));
            let (m, note) = drop_stray_vertices("femur_right", bad).unwrap();
            assert_eq!(m.vertices().len(), femur.vertices().len(), "{d}");
            assert_eq!(m.triangles().len(), femur.triangles().len(), "{d}");
            assert_eq!(m.bounds(), femur.bounds());
            let note = note.unwrap();
            assert!(note.contains("dropped 1 stray vertex") && note.contains("1 triangle"), "{note}");
        }
        // A clean bone is left alone.
        let (m, note) = drop_stray_vertices("femur_right", femur.clone()).unwrap();
        assert_eq!((m, note), (femur.clone(), None));
        // Many far vertices: a broken file, refused.
        let mut bad = femur.clone();
        for k in 0..30 {
            bad = with_stray(&bad, Point3::new(1e5 + k as f64, 0.0, 0.0));
        }
        let e = drop_stray_vertices("femur_right", bad).unwrap_err();
        assert!(matches!(e, BoneCheckError::Scattered { n_far: 30, .. }), "{e}");
    }

    /// Issue 16: a label map mirrored left/right was accepted (femur_left on the patient's right).
    #[test]
    fn issue_16_mirrored_label_map_is_refused() {
        use coxa_core::{ClassTable, Grid, LabelMap};
        let grid = Grid::axis_aligned([40, 10, 10], nalgebra::Vector3::new(2.0, 2.0, 2.0), nalgebra::Vector3::zeros()).unwrap();
        let mut classes = ClassTable::new();
        classes.insert(75, "femur_left");
        classes.insert(76, "femur_right");
        // LPS +x is the patient's left: femur_left at high i (x), femur_right at low i.
        let ids = ndarray::Array3::from_shape_fn((10, 10, 40), |(_, _, i)| {
            if i >= 30 {
                75
            } else if i < 10 {
                76
            } else {
                0
            }
        });
        let ok = LabelMap::new(grid.clone(), ids.clone(), classes.clone()).unwrap();
        check_label_sides(&ok).unwrap();
        let mut flipped = ids.clone();
        flipped.invert_axis(ndarray::Axis(2));
        let e = check_label_sides(&LabelMap::new(grid, flipped, classes).unwrap()).unwrap_err();
        assert!(e.to_string().contains("femur_left lies 60 mm to the patient's right of femur_right"), "{e}");
    }

    /// Issue 16: meshes in metres gave 0.19 mm acetabula; every unit is found from bone sizes.
    #[test]
    fn issue_16_units_found_from_bone_sizes() {
        let bones_in = |s: f64| vec![("hip_right".to_string(), box_mesh([120.0 / s, 130.0 / s, 200.0 / s], 12)), ("femur_right".to_string(), box_mesh([90.0 / s, 80.0 / s, 420.0 / s], 12))];
        let (mm, notes) = check_bones(bones_in(1.0), None).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        for (unit, s) in [("cm", 10.0), ("m", 1000.0), ("in", 25.4)] {
            let e = check_bones(bones_in(s), None).unwrap_err();
            assert!(matches!(e, BoneCheckError::WrongUnits { unit: u, .. } if u == unit), "{unit}: {e}");
            assert!(e.to_string().contains(&format!("--mesh-units {unit}")), "{e}");
            // Explicit units scale to the same mm meshes.
            let (scaled, notes) = check_bones(bones_in(s), LengthUnit::parse(unit)).unwrap();
            for ((_, a), (_, b)) in scaled.iter().zip(&mm) {
                let (alo, ahi) = a.bounds().unwrap();
                let (blo, bhi) = b.bounds().unwrap();
                assert!((alo - blo).norm() < 1e-9 && (ahi - bhi).norm() < 1e-9, "{unit}");
            }
            assert!(notes.iter().any(|n| n.contains("scaled from")), "{notes:?}");
        }
        // Nothing fits: a "hip" of 3 km.
        let e = check_bones(vec![("hip_right".into(), box_mesh([3e6, 3e6, 3e6], 8))], None).unwrap_err();
        assert!(matches!(e, BoneCheckError::Implausible { .. }), "{e}");
        assert_eq!(LengthUnit::parse("Inches"), Some(LengthUnit::Inch));
    }

    /// Issue 16: a whole femur alone in cm (45 "mm" long) read as a plausible cropped femur in
    /// mm; its thickness (4.5 "mm") gives it away, turned any way in the scanner.
    #[test]
    fn issue_16_lone_femur_in_cm_is_refused() {
        let femur_cm = box_mesh([4.5, 3.5, 45.0], 12);
        let e = check_bones(vec![("femur_left".into(), femur_cm.clone())], None).unwrap_err();
        assert!(matches!(e, BoneCheckError::WrongUnits { unit: "cm", .. }), "{e}");
        assert!(e.to_string().contains("femur_left 45.000 long but 3.500 thick") && e.to_string().contains("--mesh-units cm"), "{e}");
        // Tilted across all three axes (the thinnest principal axis, not the box, decides).
        let r = nalgebra::Rotation3::from_euler_angles(0.6, 0.5, 0.7);
        let (v, t) = femur_cm.clone().into_parts();
        let tilted = Mesh::new(v.into_iter().map(|p| r * p).collect(), t).unwrap();
        let e = check_bones(vec![("femur_left".into(), tilted)], None).unwrap_err();
        assert!(matches!(e, BoneCheckError::WrongUnits { unit: "cm", .. }), "{e}");
        // Given as cm it is a 450 mm femur; the same femur in mm, and a cropped proximal femur
        // and a shaft piece in mm, pass unchanged.
        let (scaled, _) = check_bones(vec![("femur_left".into(), femur_cm)], Some(LengthUnit::Cm)).unwrap();
        assert!((extent(&scaled[0].1) - 450.0).abs() < 1e-9);
        for size in [[45.0, 35.0, 450.0], [70.0, 55.0, 90.0], [27.0, 26.0, 60.0]] {
            let (_, notes) = check_bones(vec![("femur_left".into(), box_mesh(size, 12))], None).unwrap();
            assert!(notes.is_empty(), "{size:?}: {notes:?}");
        }
        assert_eq!(LengthUnit::parse("furlong"), None);
    }
}
