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

mod llp26;

pub use llp26::*;

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
