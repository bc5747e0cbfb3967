//! Correspondence: a template mesh registered onto a surface of the same bone that is not in
//! correspondence with it (another subject, another mesh resolution), so that template vertex `i`
//! lands on the same anatomical point of the target. Training shapes for a model, or a new bone in
//! a model's correspondence, come from here.
//!
//! **Method: rigid ICP, then elastic ICP with a smooth displacement field** (in the spirit of
//! Amberg et al. 2007, "optimal step non-rigid ICP", and the smoothness prior of coherent point
//! drift, Myronenko & Song 2010, computed here on the template's mesh graph):
//! 1. rigid: the template is posed by [`ShapeModel::fit_surface`] with no modes (robust ICP);
//! 2. non-rigid rounds, stiff to supple: every template vertex is pulled to its nearest target
//!    point (when its normal agrees with the target face's, within [`RegisterOptions::max_distance_mm`]),
//!    and every target point pulls the template point nearest to it (shared among that triangle's
//!    corners by barycentric weights: this covers target regions no template vertex is near,
//!    the usual failure of one-way ICP); the two pulls are averaged per vertex, the field is
//!    smoothed by `s` rounds of umbrella (neighbour-average) smoothing over the template mesh,
//!    and the template moves by it. `s` falls over [`RegisterOptions::stiffness`], so the bone
//!    first moves as a whole and its details come last.
//!
//! The result depends on the target's surface only through nearest points, so a target of any
//! resolution (4x finer or 3x coarser than the template: tests/tests/shape_femur.rs) registers
//! the same way.

use nalgebra::{Point3, Vector3};
use rayon::prelude::*;

use crate::error::{Result, input};
use crate::fit::Pose;
use crate::model::{ModelInfo, ShapeModel, to_flat};
use crate::surface::{Nearest, Surface};
use crate::{SurfaceFitOptions, model::Provenance};

/// How to register.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterOptions {
    /// Smoothing rounds of the displacement field per stage, stiff to supple (default
    /// `[200, 100, 50, 20, 10, 5]`).
    pub stiffness: Vec<usize>,
    /// Rounds per stage (default 8).
    pub rounds_per_stage: usize,
    /// Pulls longer than this are ignored, mm (default 15).
    pub max_distance_mm: f64,
    /// At most this many target points pull back (evenly subsampled; default 20,000).
    pub max_target_points: usize,
}

impl Default for RegisterOptions {
    fn default() -> Self {
        Self { stiffness: vec![200, 100, 50, 20, 10, 5], rounds_per_stage: 8, max_distance_mm: 15.0, max_target_points: 20_000 }
    }
}

/// A registered template.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The template's vertices on the target, in the target frame (same order and faces as the
    /// template).
    pub vertices: Vec<Point3<f64>>,
    /// The rigid pose found first (template frame -> target frame).
    pub rigid: Pose,
    /// Mean distance of the registered vertices to the target surface, mm.
    pub mean_distance_mm: f64,
}

fn vertex_normals(v: &[Point3<f64>], faces: &[[u32; 3]]) -> Vec<Vector3<f64>> {
    let mut n = vec![Vector3::zeros(); v.len()];
    for f in faces {
        let [a, b, c] = f.map(|i| v[i as usize]);
        let fn_ = (b - a).cross(&(c - a));
        for &i in f {
            n[i as usize] += fn_;
        }
    }
    n.into_iter().map(|x| x.try_normalize(1e-12).unwrap_or_else(Vector3::z)).collect()
}

/// The neighbours of each vertex over the mesh's edges (sorted, once each), flattened: vertex
/// `i`'s are `list[at[i]..at[i + 1]]`.
fn neighbours(n: usize, faces: &[[u32; 3]]) -> (Vec<usize>, Vec<u32>) {
    let mut nb: Vec<Vec<u32>> = vec![Vec::new(); n];
    for f in faces {
        for k in 0..3 {
            let (a, b) = (f[k], f[(k + 1) % 3]);
            nb[a as usize].push(b);
            nb[b as usize].push(a);
        }
    }
    let mut at = Vec::with_capacity(n + 1);
    let mut list = Vec::new();
    at.push(0);
    for mut v in nb {
        v.sort_unstable();
        v.dedup();
        list.extend(v);
        at.push(list.len());
    }
    (at, list)
}

/// `rounds` rounds of umbrella smoothing of the field `d` (vertex `i`'s neighbours are
/// `nb[nb_at[i]..nb_at[i + 1]]`) weighted by `has` (`weight` capped at 1): each round every
/// vertex takes the `has`-weighted mean of itself and its neighbours, and its `has` becomes the
/// mean of theirs (at least its own). Returns the smoothed field; `u` and `nu` are scratch.
///
/// The state between rounds is `[d * has, has]` per vertex, side by side (a neighbour is one
/// 32-byte read), and each round writes the next round's state directly: the same products,
/// sums and quotients, in the same order, as keeping `d` and `has` and forming the products at
/// the start of each round, without the extra pass over the vertices.
fn smooth(d: &[Vector3<f64>], weight: &[f64], nb_at: &[usize], nb: &[u32], rounds: usize, u: &mut Vec<[f64; 4]>, nu: &mut Vec<[f64; 4]>) -> Vec<Vector3<f64>> {
    if rounds == 0 {
        return d.to_vec();
    }
    u.clear();
    u.extend(d.iter().zip(weight).map(|(d, w)| {
        let h = w.min(1.0);
        [d.x * h, d.y * h, d.z * h, h]
    }));
    nu.resize(u.len(), [0.0; 4]);
    // One vertex's sums of itself and its neighbours, and its new `has`.
    let round = |u: &[[f64; 4]], i: usize| -> Option<(Vector3<f64>, f64)> {
        let own = &u[i];
        let around = &nb[nb_at[i]..nb_at[i + 1]];
        let mut sum = *own;
        for &j in around {
            let o = &u[j as usize];
            sum = [sum[0] + o[0], sum[1] + o[1], sum[2] + o[2], sum[3] + o[3]];
        }
        let h = sum[3];
        (h > 0.0).then(|| (Vector3::new(sum[0], sum[1], sum[2]) / h, (h / (around.len() + 1) as f64).max(own[3])))
    };
    // Each vertex's new value from the old ones only: in parallel, in blocks (the same values
    // on any number of threads).
    for _ in 1..rounds {
        nu.par_iter_mut().enumerate().with_min_len(512).for_each(|(i, next)| {
            *next = match round(u, i) {
                Some((d, h)) => [d.x * h, d.y * h, d.z * h, h],
                None => [0.0; 4],
            };
        });
        std::mem::swap(u, nu);
    }
    let mut out = vec![Vector3::zeros(); u.len()];
    out.par_iter_mut().enumerate().with_min_len(512).for_each(|(i, di)| *di = round(u, i).map_or_else(Vector3::zeros, |(d, _)| d));
    out
}

/// Registers the template (`vertices`, `faces`, outward triangles) onto the target surface
/// (`target_vertices`, `target_faces`, outward) from the initial pose `init` (template ->
/// target, within about 10 mm and 15 deg).
///
/// # Errors
/// [`crate::ShapeError::Input`] for empty or non-finite meshes, or a rigid start too far off.
pub fn register(vertices: &[Point3<f64>], faces: &[[u32; 3]], target_vertices: &[Point3<f64>], target_faces: &[[u32; 3]], init: &Pose, options: &RegisterOptions) -> Result<Registration> {
    register_onto(vertices, faces, target_vertices, target_faces, &Surface::new(target_vertices, target_faces), init, options)
}

/// [`register`] onto a target whose surface the caller has built already: `target` must be
/// `Surface::new(target_vertices, target_faces)` (the answers are then [`register`]'s).
///
/// # Errors
/// As [`register`].
pub fn register_onto(
    vertices: &[Point3<f64>],
    faces: &[[u32; 3]],
    target_vertices: &[Point3<f64>],
    target_faces: &[[u32; 3]],
    target: &Surface,
    init: &Pose,
    options: &RegisterOptions,
) -> Result<Registration> {
    if vertices.len() < 10 || faces.is_empty() || target_vertices.len() < 10 || target_faces.is_empty() {
        return Err(input("the template and the target each need a mesh (10+ vertices, faces)"));
    }
    if vertices.iter().chain(target_vertices).any(|p| !p.iter().all(|c| c.is_finite())) {
        return Err(input("a mesh vertex is not finite"));
    }
    // 1. Rigid: the template as a model with no modes.
    let info = ModelInfo { units: "mm".into(), frame: String::new(), procrustes_scale: false, total_variance_mm2: 0.0, provenance: Provenance::default() };
    let rigid_model = ShapeModel::new(to_flat(vertices), Vec::new(), Vec::new(), faces.to_vec(), Vec::new(), Vec::new(), info)?;
    let target_area: f64 = target_faces
        .iter()
        .map(|f| {
            let [a, b, c] = f.map(|i| target_vertices[i as usize]);
            (b - a).cross(&(c - a)).norm() / 2.0
        })
        .sum();
    let rigid = rigid_model.fit_surface(target_vertices, target_area.max(1.0), init, &SurfaceFitOptions { n_modes: Some(0), max_iterations: 60, ..SurfaceFitOptions::default() })?.pose;
    let mut x: Vec<Point3<f64>> = vertices.iter().map(|p| rigid.apply(p)).collect();

    // Neighbours on the template mesh, flattened: vertex i's are nb[nb_at[i]..nb_at[i + 1]].
    let (nb_at, nb) = neighbours(x.len(), faces);
    let step = target_vertices.len().div_ceil(options.max_target_points.max(1));
    let back_points: Vec<Point3<f64>> = target_vertices.iter().step_by(step).copied().collect();
    let mut template = Surface::new(&x, faces);
    // Each point's last matched face: points move little between rounds, so the next search
    // starts there (same answers, far fewer boxes visited).
    let mut forward_hint: Vec<Option<usize>> = vec![None; x.len()];
    let mut back_hint: Vec<Option<usize>> = vec![None; back_points.len()];
    let (mut u, mut nu) = (Vec::new(), Vec::new());
    for &s in &options.stiffness {
        for _ in 0..options.rounds_per_stage {
            let normals = vertex_normals(&x, faces);
            let mut pull = vec![Vector3::zeros(); x.len()];
            let mut weight = vec![0.0; x.len()];
            // Forward: template vertex -> nearest target point (the searches in parallel, the
            // sums in order: the same result on any number of threads).
            let forward: Vec<Option<Nearest>> = target.par_hinted(&forward_hint, |i| target.nearest_within(&x[i], forward_hint[i], options.max_distance_mm));
            for (i, (m, hint)) in forward.iter().zip(forward_hint.iter_mut()).enumerate() {
                if let Some(m) = m {
                    *hint = Some(m.face);
                    let f = target_faces[m.face];
                    let [a, b, c] = f.map(|j| target_vertices[j as usize]);
                    let tn = (b - a).cross(&(c - a)).try_normalize(1e-12).unwrap_or_else(Vector3::z);
                    if tn.dot(&normals[i]) > 0.3 {
                        pull[i] += m.point - x[i];
                        weight[i] += 1.0;
                    }
                }
            }
            // Backward: target point -> nearest template point, shared by its triangle's corners.
            let backward: Vec<Option<Nearest>> = template.par_hinted(&back_hint, |i| template.nearest_within(&back_points[i], back_hint[i], options.max_distance_mm));
            for ((q, m), hint) in back_points.iter().zip(&backward).zip(back_hint.iter_mut()) {
                if let Some(m) = m {
                    *hint = Some(m.face);
                    for (c, &v) in faces[m.face].iter().enumerate() {
                        let w = m.weights[c].clamp(0.0, 1.0);
                        pull[v as usize] += (q - m.point) * w;
                        weight[v as usize] += w;
                    }
                }
            }
            // Smooth the field (vertices without pulls take their neighbours'): each round
            // every vertex takes the `has`-weighted mean of itself and its neighbours.
            let d: Vec<Vector3<f64>> = pull.iter().zip(&weight).map(|(p, w)| if *w > 0.0 { p / *w } else { Vector3::zeros() }).collect();
            let d = smooth(&d, &weight, &nb_at, &nb, s, &mut u, &mut nu);
            for (p, di) in x.iter_mut().zip(&d) {
                *p += di;
            }
            template.refit(&x);
        }
    }
    let distances: Vec<f64> = target.par_hinted(&forward_hint, |i| target.nearest_from(&x[i], forward_hint[i]).map_or(f64::INFINITY, |m| m.distance_mm));
    let mean_distance_mm = distances.iter().sum::<f64>() / x.len() as f64;
    Ok(Registration { vertices: x, rigid, mean_distance_mm })
}
