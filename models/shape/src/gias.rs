//! GIAS3's published lower-limb models as coxa [`ShapeModel`]s: the LLP26 adult model of the
//! `musculoskeletal-models` package (MPL-2.0; the five files coxa reads ship inside coxa, with
//! their licence, and an installed copy is found first: [`crate::locate`]) and the articulated
//! paediatric model of the `articulated-ssm` package, read where `pip` installed it (no licence:
//! never copied into coxa).
//!
//! **LLP26** (`shape_models/LLP26_rigid.pc`, left side; `LLP26_right_mirrored_from_left_rigid.pc`
//! the right): 26 adult subjects, 3225 nodes of piecewise Lagrange surface meshes (GIAS3
//! "geometric fields"), rigidly aligned, in mm. Node order: pelvis (1946 nodes, cubic elements),
//! femur (634, quartic), patella (74), tibia-fibula (571) — checked against the packaged mean
//! meshes (`atlas_meshes/*_mean_rigid_LLP26.geof`) node for node. The nodes alone are a coarse
//! cloud (femoral shaft nodes 60 mm apart), so a part is *evaluated*: every element of its
//! ensemble mesh (`atlas_meshes/*_flat.mesh`: 4x4 / 4x3 quads and order-4 / order-3 triangles)
//! is sampled on a regular grid of `divisions` steps per side, each sample a fixed linear
//! combination of the element's nodes (Lagrange basis on equispaced nodes), and the samples are
//! triangulated. Because each sample is linear in the nodes, the dense model is exact: its mean is
//! the evaluated mean and its covariance the evaluated covariance, re-diagonalised
//! ([`ShapeModel::linear_image`]). Global node numbers follow GIAS3's ensemble-mesh rule: elements
//! in order, each element point takes the number of an already numbered point it is connected to,
//! else the next number (this reproduces the 634 femur nodes, and the evaluated femur is watertight).
//!
//! **Frame of LLP26.** The mean sits in a CT scanner frame of its reference subject, z superior
//! (femur z 793-1227 mm); +x is the patient's left (the left femur lies at larger x than the
//! pelvis centre). coxa reads it as LPS and checks it: coxa's own landmarks on the mean femur find
//! the head medial-superior, the lesser trochanter posterior-medial and a positive (anterior)
//! anteversion (tests/tests/shape_femur.rs).
//!
//! **The articulated SSM** (`articulated_ssm_both_sides/.../shape_model_{left,right}_side.pc.npz`):
//! 327 subjects aged 4-18 (PAEDIATRIC), pelvis + femur + tibia + fibula, 21,206 points
//! interleaved, 10 modes, mm, ISB pelvis frame (x anterior, y superior, z right); the triangles
//! are those of the packaged mean `.ply`. [`isb_to_lps`] turns it into LPS: L = −z, P = −x,
//! S = y (a proper rotation). It has no licence file: a reference, never coxa's default prior.

use std::collections::HashMap;
use std::path::Path;

use nalgebra::{DMatrix, Matrix3, SymmetricEigen, Vector3};
use serde_json::Value as Json;

use crate::error::{Result, ShapeError, input};
use crate::model::{Landmark, ModelInfo, Part, Provenance, ShapeModel};
use crate::pca_file::{Layout, PcaFile};

/// A point as weights over mesh nodes: `(node, weight)`.
pub type NodeWeights = Vec<(usize, f64)>;

/// One surface element of a GIAS3 ensemble mesh.
#[derive(Debug, Clone, PartialEq)]
enum Element {
    /// Lagrange quad of orders (p1, p2): (p1+1)(p2+1) nodes, xi1 fastest.
    Quad { p1: usize, p2: usize, nodes: Vec<usize> },
    /// Lagrange triangle of order p: (p+1)(p+2)/2 nodes, row after row along xi1.
    Tri { p: usize, nodes: Vec<usize> },
}

/// A GIAS3 ensemble mesh (`.mesh`, JSON): elements over globally numbered nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleMesh {
    elements: Vec<Element>,
    n_nodes: usize,
}

fn bad(path: &Path, why: impl Into<String>) -> ShapeError {
    ShapeError::BadFile { path: path.to_path_buf(), why: why.into() }
}

impl EnsembleMesh {
    /// Reads a GIAS3 `.mesh` file (JSON with `elements` `{"0": "0 quad55", ...}` and
    /// `connectivity` `{"e_n": "e2_n2 ...", ...}`), numbering its nodes as GIAS3 does.
    ///
    /// # Errors
    /// [`ShapeError::Io`]; [`ShapeError::BadFile`] for unknown element types or a node count
    /// that differs from the file's `number_of_points`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| ShapeError::Io { path: path.to_path_buf(), action: "reading", source })?;
        let json: Json = serde_json::from_str(&text).map_err(|source| ShapeError::Header { path: path.to_path_buf(), source })?;
        let elements = json.get("elements").and_then(Json::as_object).ok_or_else(|| bad(path, "no \"elements\"; not a GIAS3 mesh"))?;
        let mut kinds: Vec<(usize, (usize, usize, bool))> = Vec::new();
        for (k, v) in elements {
            let id: usize = k.parse().map_err(|_| bad(path, format!("element id {k:?}")))?;
            let ty = v.as_str().and_then(|s| s.split_whitespace().nth(1)).ok_or_else(|| bad(path, format!("element {k}: {v}")))?;
            let kind = match ty {
                "quad44" => (3, 3, false),
                "quad54" => (4, 3, false),
                "quad55" => (4, 4, false),
                "quad45" => (3, 4, false),
                "tri10" => (3, 3, true),
                "tri15" => (4, 4, true),
                t => {
                    return Err(bad(path, format!("element {k}: type {t:?} is not read (quad44/45/54/55, tri10/15 are)")));
                }
            };
            kinds.push((id, kind));
        }
        kinds.sort_unstable_by_key(|(id, _)| *id);
        let conn = json.get("connectivity").and_then(Json::as_object).ok_or_else(|| bad(path, "no \"connectivity\""))?;
        let mut links: HashMap<(usize, usize), Vec<(usize, usize)>> = HashMap::new();
        for (k, v) in conn {
            let parse = |s: &str| -> Option<(usize, usize)> {
                let (e, n) = s.split_once('_')?;
                Some((e.parse().ok()?, n.parse().ok()?))
            };
            let key = parse(k).ok_or_else(|| bad(path, format!("connectivity key {k:?}")))?;
            let to = v.as_str().unwrap_or_default().split_whitespace().map(|s| parse(s).ok_or_else(|| bad(path, format!("connectivity {s:?}")))).collect::<Result<Vec<_>>>()?;
            links.insert(key, to);
        }
        let mut number: HashMap<(usize, usize), usize> = HashMap::new();
        let mut next = 0;
        let mut out = Vec::new();
        for (id, (p1, p2, tri)) in kinds {
            let n = if tri { (p1 + 1) * (p1 + 2) / 2 } else { (p1 + 1) * (p2 + 1) };
            let mut nodes = Vec::with_capacity(n);
            for local in 0..n {
                let known = links.get(&(id, local)).and_then(|l| l.iter().find_map(|k| number.get(k).copied()));
                let g = known.unwrap_or_else(|| {
                    next += 1;
                    next - 1
                });
                number.insert((id, local), g);
                nodes.push(g);
            }
            out.push(if tri { Element::Tri { p: p1, nodes } } else { Element::Quad { p1, p2, nodes } });
        }
        if let Some(want) = json.get("number_of_points").and_then(Json::as_u64)
            && want as usize != next
        {
            return Err(bad(path, format!("{next} nodes numbered, the file says {want}")));
        }
        Ok(Self { elements: out, n_nodes: next })
    }

    /// Number of (global) nodes.
    pub fn n_nodes(&self) -> usize {
        self.n_nodes
    }

    /// Samples every element on a grid of `divisions` steps per side: each sample as weights
    /// over the nodes (welded across element edges), and the triangles over the samples,
    /// consistently oriented.
    pub fn evaluate(&self, divisions: usize) -> (Vec<NodeWeights>, Vec<[u32; 3]>) {
        let d = divisions.max(1);
        let mut points: Vec<Vec<(usize, f64)>> = Vec::new();
        let mut index: HashMap<Vec<(usize, i64)>, u32> = HashMap::new();
        let mut faces = Vec::new();
        let mut add = |w: Vec<(usize, f64)>| -> u32 {
            let mut w: Vec<(usize, f64)> = w.into_iter().filter(|(_, x)| x.abs() > 1e-12).collect();
            w.sort_unstable_by_key(|(n, _)| *n);
            let key: Vec<(usize, i64)> = w.iter().map(|&(n, x)| (n, (x * 1e7).round() as i64)).collect();
            *index.entry(key).or_insert_with(|| {
                points.push(w);
                (points.len() - 1) as u32
            })
        };
        for e in &self.elements {
            match e {
                Element::Quad { p1, p2, nodes } => {
                    let mut ids = vec![0u32; (d + 1) * (d + 1)];
                    for j in 0..=d {
                        for i in 0..=d {
                            let (a, b) = (i as f64 / d as f64, j as f64 / d as f64);
                            let w: Vec<(usize, f64)> =
                                (0..=*p2).flat_map(|m2| (0..=*p1).map(move |m1| (m1, m2))).map(|(m1, m2)| (nodes[m2 * (p1 + 1) + m1], lagrange_1d(*p1, m1, a) * lagrange_1d(*p2, m2, b))).collect();
                            ids[j * (d + 1) + i] = add(w);
                        }
                    }
                    for j in 0..d {
                        for i in 0..d {
                            let q = |i: usize, j: usize| ids[j * (d + 1) + i];
                            faces.push([q(i, j), q(i + 1, j), q(i + 1, j + 1)]);
                            faces.push([q(i, j), q(i + 1, j + 1), q(i, j + 1)]);
                        }
                    }
                }
                Element::Tri { p, nodes } => {
                    let row_start = |j: usize, n: usize| (0..j).map(|r| n + 1 - r).sum::<usize>();
                    let mut ids = vec![0u32; (d + 1) * (d + 2) / 2];
                    for j in 0..=d {
                        for i in 0..=d - j {
                            let (a, b) = (i as f64 / d as f64, j as f64 / d as f64);
                            let mut w = Vec::new();
                            for nj in 0..=*p {
                                for ni in 0..=*p - nj {
                                    let v = simplex_1d(*p, ni, a) * simplex_1d(*p, nj, b) * simplex_1d(*p, p - ni - nj, 1.0 - a - b);
                                    w.push((nodes[row_start(nj, *p) + ni], v));
                                }
                            }
                            ids[row_start(j, d) + i] = add(w);
                        }
                    }
                    for j in 0..d {
                        for i in 0..d - j {
                            let q = |i: usize, j: usize| ids[row_start(j, d) + i];
                            faces.push([q(i, j), q(i + 1, j), q(i, j + 1)]);
                            if i + 1 < d - j {
                                faces.push([q(i + 1, j), q(i + 1, j + 1), q(i, j + 1)]);
                            }
                        }
                    }
                }
            }
        }
        orient_consistently(&mut faces);
        (points, faces)
    }
}

/// The 1D Lagrange polynomial of node `m` of `p + 1` equispaced nodes on [0, 1], at `x`.
fn lagrange_1d(p: usize, m: usize, x: f64) -> f64 {
    let pf = p as f64;
    (0..=p).filter(|&q| q != m).map(|q| (x - q as f64 / pf) / ((m as f64 - q as f64) / pf)).product()
}

/// The simplex Lagrange factor `Π_{k<m} (pL − k)/(k + 1)` of barycentric index `m` at `L`.
fn simplex_1d(p: usize, m: usize, l: f64) -> f64 {
    (0..m).map(|k| (p as f64 * l - k as f64) / (k as f64 + 1.0)).product()
}

/// Flips triangles so that neighbours agree (each shared edge run in opposite directions),
/// component by component (breadth first).
fn orient_consistently(faces: &mut [[u32; 3]]) {
    let mut by_edge: HashMap<(u32, u32), Vec<usize>> = HashMap::new();
    for (t, f) in faces.iter().enumerate() {
        for k in 0..3 {
            let (a, b) = (f[k], f[(k + 1) % 3]);
            by_edge.entry((a.min(b), a.max(b))).or_default().push(t);
        }
    }
    let mut seen = vec![false; faces.len()];
    for start in 0..faces.len() {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(t) = queue.pop_front() {
            let f = faces[t];
            for k in 0..3 {
                let (a, b) = (f[k], f[(k + 1) % 3]);
                for &u in &by_edge[&(a.min(b), a.max(b))] {
                    if u == t || seen[u] {
                        continue;
                    }
                    // u must run the edge b -> a.
                    let g = faces[u];
                    let same_direction = (0..3).any(|m| g[m] == a && g[(m + 1) % 3] == b);
                    if same_direction {
                        faces[u].swap(1, 2);
                    }
                    seen[u] = true;
                    queue.push_back(u);
                }
            }
        }
    }
}

/// The signed volume of a closed surface (positive when its triangles face outwards), mm³.
pub fn signed_volume_mm3(points: &[[f64; 3]], faces: &[[u32; 3]]) -> f64 {
    faces
        .iter()
        .map(|f| {
            let [a, b, c] = f.map(|i| Vector3::from(points[i as usize]));
            a.dot(&b.cross(&c)) / 6.0
        })
        .sum()
}

/// The points that are fixed linear combinations (`rows[i]`: vertex, weight) of the 3N values `x`.
fn apply_rows(rows: &[Vec<(usize, f64)>], x: &[f64]) -> Vec<f64> {
    rows.iter()
        .flat_map(|r| {
            let mut p = [0.0; 3];
            for &(v, w) in r {
                for c in 0..3 {
                    p[c] += w * x[3 * v + c];
                }
            }
            p
        })
        .collect()
}

impl ShapeModel {
    /// The model of points that are fixed linear combinations of this model's vertices
    /// (`rows[i]` = the weights of new point `i`): a Gaussian's linear image, re-diagonalised so
    /// that its modes are orthonormal again. Used to evaluate a parametric mesh densely and to take
    /// a part of a model (its marginal: each row one vertex with weight 1). Modes of variance below
    /// 1e-10 of the largest are dropped.
    ///
    /// # Errors
    /// [`crate::ShapeError::Input`] for a vertex index out of range;
    /// [`crate::ShapeError::InvalidModel`] if the result is inconsistent.
    pub fn linear_image(&self, rows: &[Vec<(usize, f64)>], faces: Vec<[u32; 3]>, parts: Vec<Part>, landmarks: Vec<Landmark>, info: ModelInfo) -> Result<Self> {
        let n = self.n_vertices();
        if rows.iter().flatten().any(|(v, _)| *v >= n) {
            return Err(input(format!("a new point combines a vertex beyond the model's {n}")));
        }
        let apply = |x: &[f64]| apply_rows(rows, x);
        let mean = apply(self.mean());
        let k = self.n_modes();
        let a: Vec<Vec<f64>> = (0..k).map(|j| apply(self.mode(j)).into_iter().map(|v| v * self.variances()[j].sqrt()).collect()).collect();
        let mut g = DMatrix::<f64>::zeros(k, k);
        for i in 0..k {
            for j in 0..=i {
                let v = crate::model::dot(&a[i], &a[j]);
                g[(i, j)] = v;
                g[(j, i)] = v;
            }
        }
        let eig = SymmetricEigen::new(g);
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&x, &y| eig.eigenvalues[y].total_cmp(&eig.eigenvalues[x]));
        let top = order.first().map_or(0.0, |&i| eig.eigenvalues[i]);
        let d = mean.len();
        let (mut modes, mut variances) = (Vec::new(), Vec::new());
        for &c in order.iter().filter(|&&c| eig.eigenvalues[c] > 1e-10 * top) {
            let s = eig.eigenvalues[c].sqrt();
            let mut m = vec![0.0; d];
            for (j, aj) in a.iter().enumerate() {
                let w = eig.eigenvectors[(j, c)] / s;
                m.iter_mut().zip(aj).for_each(|(x, y)| *x += w * y);
            }
            modes.extend(m);
            variances.push(eig.eigenvalues[c]);
        }
        let info = ModelInfo { total_variance_mm2: variances.iter().sum(), ..info };
        Self::new(mean, modes, variances, faces, parts, landmarks, info)
    }

    /// The model with every point mapped by `p -> rotation p + translation_mm` (a proper rotation:
    /// faces keep their orientation).
    ///
    /// # Errors
    /// [`crate::ShapeError::Input`] when `rotation` is not a rotation (orthonormal, det +1, to 1e-9).
    pub fn transformed(&self, rotation: &Matrix3<f64>, translation_mm: &Vector3<f64>) -> Result<Self> {
        if (rotation.transpose() * rotation - Matrix3::identity()).abs().max() > 1e-9 || (rotation.determinant() - 1.0).abs() > 1e-9 {
            return Err(input("the transform is not a proper rotation"));
        }
        let map = |x: &[f64], t: &Vector3<f64>| -> Vec<f64> {
            x.chunks_exact(3)
                .flat_map(|p| {
                    let q = rotation * Vector3::new(p[0], p[1], p[2]) + t;
                    [q.x, q.y, q.z]
                })
                .collect()
        };
        let zero = Vector3::zeros();
        let mean = map(self.mean(), translation_mm);
        let modes: Vec<f64> = (0..self.n_modes()).flat_map(|k| map(self.mode(k), &zero)).collect();
        Self::new(mean, modes, self.variances().to_vec(), self.faces().to_vec(), self.parts().to_vec(), self.landmarks().to_vec(), self.info().clone())
    }
}

/// The rotation from the ISB pelvis frame (x anterior, y superior, z right) to DICOM LPS
/// (x left, y posterior, z superior): L = −z, P = −x, S = y.
pub fn isb_to_lps() -> Matrix3<f64> {
    Matrix3::new(0.0, 0.0, -1.0, -1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
}

/// A model over all points of a PCA file (3N values in `layout`), modes of variance below 1e-9 of
/// the largest dropped (GIAS3 keeps a last, null mode).
///
/// # Errors
/// [`crate::ShapeError::InvalidModel`] when the file's values are inconsistent (D not a multiple
/// of 3, modes not orthonormal, faces out of range).
pub fn model_from_pca(pca: &PcaFile, layout: Layout, faces: Vec<[u32; 3]>, parts: Vec<Part>, info: ModelInfo) -> Result<ShapeModel> {
    let d = pca.dim();
    if !d.is_multiple_of(3) {
        return Err(ShapeError::InvalidModel { why: format!("{d} values are not 3D points") });
    }
    let reorder = |x: &[f64]| -> Vec<f64> { (0..d / 3).flat_map(|i| PcaFile::point(x, layout, i)).collect() };
    let top = pca.variances.iter().copied().fold(0.0, f64::max);
    let mut order: Vec<usize> = (0..pca.n_modes()).filter(|&k| pca.variances[k] > 1e-9 * top).collect();
    order.sort_by(|&a, &b| pca.variances[b].total_cmp(&pca.variances[a]));
    let modes: Vec<f64> = order.iter().flat_map(|&k| reorder(pca.mode(k))).collect();
    let variances: Vec<f64> = order.iter().map(|&k| pca.variances[k]).collect();
    // f32 files (the .npz) are orthonormal only to ~1e-6: Gram-Schmidt in f64 first.
    ShapeModel::new_unchecked_for_import(reorder(&pca.mean), modes, variances, faces, parts, info)
}

impl ShapeModel {
    /// A model from imported values whose modes may be orthonormal only to single precision:
    /// Gram-Schmidt in f64 first, then the usual checks.
    pub(crate) fn new_unchecked_for_import(mean: Vec<f64>, mut modes: Vec<f64>, variances: Vec<f64>, faces: Vec<[u32; 3]>, parts: Vec<Part>, info: ModelInfo) -> Result<Self> {
        let d = mean.len();
        let k = variances.len();
        if modes.len() != d * k {
            return Err(ShapeError::InvalidModel { why: format!("{} mode values for {k} modes of {d}", modes.len()) });
        }
        for a in 0..k {
            for b in 0..a {
                let (lo, hi) = modes.split_at_mut(a * d);
                let mb = &lo[b * d..(b + 1) * d];
                let ma = &mut hi[..d];
                let c = crate::model::dot(ma, mb);
                ma.iter_mut().zip(mb).for_each(|(x, y)| *x -= c * y);
            }
            let ma = &mut modes[a * d..(a + 1) * d];
            let norm = crate::model::dot(ma, ma).sqrt();
            if norm > 0.0 {
                ma.iter_mut().for_each(|v| *v /= norm);
            }
        }
        let info = ModelInfo { total_variance_mm2: variances.iter().sum(), ..info };
        Self::new(mean, modes, variances, faces, parts, Vec::new(), info)
    }
}

pub use crate::locate::{LLP26_DIR, find_installed};

/// The model's own error, deg, in femoral anteversion predicted from a proximal femur with the
/// LLP26 femur (as coxa's landmarks measure anteversion): the SD to add, in quadrature, to the
/// posterior SD of the mode weights ([`crate::predict::Prediction::angle_sd_with`]). Calibrated by
/// leave-one-out over LLP26's 26 training subjects (each cut 30 mm below its lesser trochanter,
/// predicted by the model of the other 25: `tests/tests/shape_femur.rs`,
/// `llp26_leave_one_out_calibrates_the_anteversion_sd`, which fails when this value is more than
/// 10 % off) with [`crate::predict::model_error_sd`].
pub const LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG: f64 = 5.0;
/// The model's own error, deg, in the neck-shaft angle predicted from a proximal femur with the
/// LLP26 femur: as [`LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG`], calibrated by leave-one-out over
/// LLP26's 26 training subjects each imaged to 130 mm below its top (`tests/tests/shape_femur.rs`,
/// `issue_42_neck_shaft_angle_and_anteversion_from_the_proximal_130_mm`, which fails when this
/// value is more than 10 % off).
pub const LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG: f64 = 2.7;
/// The imaged femur must reach this far below the lesser trochanter (of the predicted femur),
/// mm, for the neck-shaft angle and the offset to be predicted: where their model-error terms
/// ([`LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG`], [`LLP26_FEMUR_OFFSET_MODEL_SD_MM`]) are calibrated
/// (the leave-one-out at 30 mm below the lesser trochanter; at 130 mm below the top, about
/// 60 mm below it, the same terms cover the errors). A stub that stops above it (a hip CT
/// ending at the trochanters) constrains the shaft too little.
pub const LLP26_NECK_SHAFT_MIN_BELOW_LT_MM: f64 = 30.0;
/// The model's own error, mm, in the femoral offset (head centre to shaft axis) predicted from a
/// proximal femur, calibrated as [`LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG`].
pub const LLP26_FEMUR_OFFSET_MODEL_SD_MM: f64 = 3.0;
/// The upper ends of the distance bands of [`LLP26_FEMUR_VERTEX_MODEL_SD_MM`]: a vertex's distance
/// below the imaged part of the femur (the cut), mm along the shaft axis; the first band (up to 0)
/// is the imaged part itself.
pub const LLP26_FEMUR_VERTEX_BANDS_MM: [f64; 8] = [0.0, 25.0, 50.0, 100.0, 150.0, 200.0, 300.0, f64::INFINITY];

/// The model's own error, mm, in the position of a femur vertex predicted from a proximal femur
/// with the LLP26 femur, per band of distance below the cut ([`LLP26_FEMUR_VERTEX_BANDS_MM`]): the
/// SD to add, in quadrature, to the posterior vertex SD ([`crate::SurfaceFit::sd_mm`], root of the
/// trace, so E|e|² = SD²) with [`crate::predict::Prediction::vertex_sd_with`]. Calibrated by
/// leave-one-out over LLP26's 26 training subjects, as [`LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG`]
/// (each cut 30 mm below its lesser trochanter; [`crate::predict::model_error_sd`] per band over
/// the pooled vertices): `tests/tests/shape_femur.rs`,
/// `llp26_leave_one_out_calibrates_the_vertex_sd`, which fails when a value is more than 10 % off.
/// The same test cuts at 20 mm (the example CT's stub): the bands hold there too (mean |e|²/SD²
/// of the unseen vertices 1.00, each band within −9 % to +6 %), so the term depends on the distance
/// below the cut, not on the stub's length.
pub const LLP26_FEMUR_VERTEX_MODEL_SD_MM: [f64; 8] = [1.78, 2.54, 3.87, 6.30, 9.98, 15.28, 21.29, 23.10];

/// [`LLP26_FEMUR_VERTEX_MODEL_SD_MM`] for a vertex `below_mm` below the cut (negative: imaged).
pub fn llp26_femur_vertex_model_sd_mm(below_mm: f64) -> f64 {
    LLP26_FEMUR_VERTEX_MODEL_SD_MM[vertex_band(below_mm)]
}

/// The band of [`LLP26_FEMUR_VERTEX_BANDS_MM`] that holds `below_mm`.
pub fn vertex_band(below_mm: f64) -> usize {
    LLP26_FEMUR_VERTEX_BANDS_MM.iter().position(|&hi| below_mm < hi).unwrap_or(LLP26_FEMUR_VERTEX_BANDS_MM.len() - 1)
}

/// The package-relative folder of the articulated (paediatric) model.
pub const ARTICULATED_DIR: &str = "articulated_ssm_both_sides/coupled_ssm/pel_fem_tib_fib_both_side";

/// Which LLP26 parts to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Llp26Part {
    /// The pelvis (both hip bones and the sacrum, one mesh).
    Pelvis,
    /// The femur.
    Femur,
}

/// The LLP26 adult model of one side's femur and/or pelvis, evaluated densely (`divisions`
/// grid steps per element side: 13 gives the femur about 20,000 points), from the installed
/// `musculoskeletal/models` folder `dir`. Parts are named `femur_left`/`femur_right` and `pelvis`.
///
/// # Errors
/// [`crate::ShapeError::Io`] / [`crate::ShapeError::BadFile`] for missing or broken files;
/// [`crate::ShapeError::InvalidModel`] when the files disagree (node counts).
pub fn llp26(dir: &Path, side_right: bool, parts: &[Llp26Part], divisions: usize) -> Result<ShapeModel> {
    llp26_with_subjects(dir, side_right, parts, divisions).map(|(m, _)| m)
}

/// [`llp26`] and the weights of its 26 training subjects in the returned model's modes (from the
/// file's `projectedWeights`: each subject's node shape `mean + Σ_k w_ks mode_k`, evaluated densely
/// like the mean, then projected onto the dense model's orthonormal modes; exact up to the null
/// mode GIAS3 keeps). Empty when the file holds no `projectedWeights`.
///
/// # Errors
/// As [`llp26`]; [`crate::ShapeError::InvalidModel`] when `projectedWeights` does not have one
/// row per mode.
pub fn llp26_with_subjects(dir: &Path, side_right: bool, parts: &[Llp26Part], divisions: usize) -> Result<(ShapeModel, Vec<Vec<f64>>)> {
    let pc = if side_right { "shape_models/LLP26_right_mirrored_from_left_rigid.pc" } else { "shape_models/LLP26_rigid.pc" };
    let pca = crate::pca_file::read_pc(&dir.join(pc))?;
    let nodes = model_from_pca(
        &pca,
        Layout::Blocked,
        Vec::new(),
        Vec::new(),
        ModelInfo {
            units: "mm".into(),
            frame: "LLP26 reference subject's CT frame, read as DICOM LPS (x left, y posterior, z superior)".into(),
            procrustes_scale: false,
            total_variance_mm2: 0.0,
            provenance: Provenance {
                source: format!("GIAS3 LLP26 lower-limb model (musculoskeletal-models 0.2.4, {pc}), 26 adults, Auckland Bioengineering Institute"),
                n_subjects: 26,
                licence: "MPL-2.0".into(),
            },
        },
    )?;
    if nodes.n_vertices() != 3225 {
        return Err(ShapeError::InvalidModel { why: format!("{pc}: {} nodes, LLP26 has 3225", nodes.n_vertices()) });
    }
    let side = if side_right { "right" } else { "left" };
    let (mut rows, mut faces, mut out_parts) = (Vec::new(), Vec::new(), Vec::new());
    for part in parts {
        let (first, mesh, name) = match part {
            Llp26Part::Pelvis => (0, "atlas_meshes/pelvis_combined_cubic_flat.mesh".to_string(), "pelvis".to_string()),
            Llp26Part::Femur => (1946, format!("atlas_meshes/femur_{side}_quartic_flat.mesh"), format!("femur_{side}")),
        };
        let mesh_path = dir.join(&mesh);
        let m = EnsembleMesh::read(&mesh_path)?;
        let want = if *part == Llp26Part::Pelvis { 1946 } else { 634 };
        if m.n_nodes() != want {
            return Err(bad(&mesh_path, format!("{} nodes, LLP26's {name} has {want}", m.n_nodes())));
        }
        let (w, f) = m.evaluate(divisions);
        let base = rows.len() as u32;
        out_parts.push(Part { name, first_vertex: rows.len(), n_vertices: w.len(), first_face: faces.len(), n_faces: f.len() });
        faces.extend(f.iter().map(|t| t.map(|i| i + base)));
        rows.extend(w.into_iter().map(|r| r.into_iter().map(|(v, x)| (v + first, x)).collect::<Vec<_>>()));
    }
    let mut model = nodes.linear_image(&rows, faces, out_parts, Vec::new(), nodes.info().clone())?;
    let subjects = match &pca.projected_weights {
        None => Vec::new(),
        Some((w, k, s)) => {
            if *k != pca.n_modes() || w.len() != k * s {
                return Err(ShapeError::InvalidModel { why: format!("{pc}: projectedWeights is {k} x {s} for {} modes", pca.n_modes()) });
            }
            (0..*s)
                .map(|subject| {
                    let mut x = pca.mean.clone();
                    for mode in 0..*k {
                        let c = w[mode * s + subject];
                        x.iter_mut().zip(pca.mode(mode)).for_each(|(xi, m)| *xi += c * m);
                    }
                    let nodes_x: Vec<f64> = (0..x.len() / 3).flat_map(|i| PcaFile::point(&x, Layout::Blocked, i)).collect();
                    model.project(&apply_rows(&rows, &nodes_x))
                })
                .collect()
        }
    };
    // Outward-facing triangles (positive volume), part by part.
    let pts: Vec<[f64; 3]> = model.mean().chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    let mut faces = model.faces().to_vec();
    for p in model.parts() {
        let fs = &mut faces[p.first_face..p.first_face + p.n_faces];
        if signed_volume_mm3(&pts, fs) < 0.0 {
            fs.iter_mut().for_each(|f| f.swap(1, 2));
        }
    }
    model = ShapeModel::new(
        model.mean().to_vec(),
        (0..model.n_modes()).flat_map(|k| model.mode(k).to_vec()).collect(),
        model.variances().to_vec(),
        faces,
        model.parts().to_vec(),
        Vec::new(),
        model.info().clone(),
    )?;
    Ok((model, subjects))
}

/// The articulated paediatric model of one side (`.pc.npz` plus its mean `.ply`'s triangles,
/// which the caller reads: coxa-shape does not read meshes), turned from the ISB pelvis frame into
/// LPS, with parts `pelvis_left`, `pelvis_right`, `femur_<side>`, `fibula_<side>`, `tibia_<side>`
/// from the package's node table.
///
/// # Errors
/// As [`crate::pca_file::read_pc_npz`]; [`crate::ShapeError::BadFile`] for a broken node table.
pub fn articulated(dir: &Path, side_right: bool, faces: Vec<[u32; 3]>) -> Result<ShapeModel> {
    let side = if side_right { "right" } else { "left" };
    let npz = dir.join(format!("shape_model_{side}_side.pc.npz"));
    let pca = crate::pca_file::read_pc_npz(&npz)?;
    let table_path = dir.join(format!("Coupled_SSM_node_nrs_per_bone_mesh_{side}.txt"));
    let table = std::fs::read_to_string(&table_path).map_err(|source| ShapeError::Io { path: table_path.clone(), action: "reading", source })?;
    let mut parts = Vec::new();
    for line in table.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(name), Some(a), Some(b)) = (f.first(), f.get(1).and_then(|s| s.parse::<usize>().ok()), f.get(2).and_then(|s| s.parse::<usize>().ok())) else {
            return Err(bad(&table_path, format!("line {line:?}")));
        };
        let name = match name.to_ascii_lowercase().as_str() {
            "pel_l" => "pelvis_left".to_string(),
            "pel_r" => "pelvis_right".to_string(),
            n => format!("{}_{side}", &n[..n.len().saturating_sub(2)].replace("fem", "femur").replace("tib", "tibia").replace("fib", "fibula")),
        };
        parts.push(Part { name, first_vertex: a, n_vertices: b.saturating_sub(a), first_face: 0, n_faces: 0 });
    }
    // Faces of each part: those whose corners all lie in its vertex range (they are stored in order).
    let mut faces = faces;
    faces.sort_by_key(|f| f[0]);
    for p in &mut parts {
        let inside = |f: &[u32; 3]| f.iter().all(|&v| (p.first_vertex..p.first_vertex + p.n_vertices).contains(&(v as usize)));
        p.first_face = faces.iter().position(inside).unwrap_or(0);
        p.n_faces = faces[p.first_face..].iter().take_while(|f| inside(f)).count();
    }
    let model = model_from_pca(
        &pca,
        Layout::Interleaved,
        faces,
        parts,
        ModelInfo {
            units: "mm".into(),
            frame: "DICOM LPS axes (from the ISB pelvis frame: x anterior, y superior, z right), origin of the ISB pelvis frame".into(),
            procrustes_scale: false,
            total_variance_mm2: 0.0,
            provenance: Provenance {
                source: "articulated-ssm 0.2.0 coupled pelvis-femur-tibia-fibula model (Carman et al.), 327 subjects aged 4-18".into(),
                n_subjects: 327,
                licence: "none stated (reference only)".into(),
            },
        },
    )?;
    model.transformed(&isb_to_lps(), &Vector3::zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lagrange_bases_partition_unity_and_interpolate() {
        for p in 1..=4 {
            for m in 0..=p {
                for q in 0..=p {
                    let v = lagrange_1d(p, m, q as f64 / p as f64);
                    assert!((v - f64::from(u8::from(m == q))).abs() < 1e-12);
                }
            }
            let (a, b) = (0.23, 0.41);
            let sum: f64 = (0..=p).flat_map(|j| (0..=p - j).map(move |i| (i, j))).map(|(i, j)| simplex_1d(p, i, a) * simplex_1d(p, j, b) * simplex_1d(p, p - i - j, 1.0 - a - b)).sum();
            assert!((sum - 1.0).abs() < 1e-12, "order {p}: {sum}");
        }
    }

    #[test]
    fn isb_to_lps_is_a_rotation() {
        let r = isb_to_lps();
        assert!((r.determinant() - 1.0).abs() < 1e-12);
        // Anterior -> -y (LPS), superior -> +z, right -> -x.
        assert_eq!(r * Vector3::x(), -Vector3::y());
        assert_eq!(r * Vector3::y(), Vector3::z());
        assert_eq!(r * Vector3::z(), -Vector3::x());
    }
}
