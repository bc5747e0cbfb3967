//! Taubin λ|μ smoothing (Taubin 1995, "A signal processing approach to fair surface design").

use coxa_core::Mesh;
use nalgebra::{Point3, Vector3};
use rayon::prelude::*;

/// Vertex neighbours in compressed rows: the neighbours of `v` are `nbr[start[v]..start[v + 1]]`.
pub(crate) struct Adjacency {
    pub start: Vec<u32>,
    pub nbr: Vec<u32>,
}

impl Adjacency {
    /// The one-ring of every vertex, from the triangles (each undirected edge once per side).
    pub(crate) fn new(n_vertices: usize, triangles: &[[u32; 3]]) -> Self {
        let mut deg = vec![0u32; n_vertices + 1];
        for t in triangles {
            for e in 0..3 {
                deg[t[e] as usize] += 1;
            }
        }
        // In a closed manifold each vertex has as many neighbours as incident triangles; the
        // directed edge (a -> b) of each triangle lists b for a, and (b -> a) of the other
        // triangle lists a for b, so each neighbour appears exactly once.
        let mut start = vec![0u32; n_vertices + 1];
        for v in 0..n_vertices {
            start[v + 1] = start[v] + deg[v];
        }
        let mut fill = start.clone();
        let mut nbr = vec![0u32; start[n_vertices] as usize];
        for t in triangles {
            for e in 0..3 {
                let (a, b) = (t[e] as usize, t[(e + 1) % 3]);
                nbr[fill[a] as usize] = b;
                fill[a] += 1;
            }
        }
        Self { start, nbr }
    }
}

/// `iterations` Taubin passes (a shrinking step λ, then an inflating step μ < -λ) with the
/// uniform (umbrella) Laplacian. `pass_band` is Taubin's k_PB = 1/λ + 1/μ.
pub(crate) fn taubin(vertices: &mut [Point3<f64>], triangles: &[[u32; 3]], iterations: u32, lambda: f64, pass_band: f64) {
    if iterations == 0 || vertices.is_empty() {
        return;
    }
    let mu = 1.0 / (pass_band - 1.0 / lambda);
    let adj = Adjacency::new(vertices.len(), triangles);
    let mut next = vertices.to_vec();
    for _ in 0..iterations {
        for factor in [lambda, mu] {
            laplacian_step(vertices, &mut next, &adj, factor);
            vertices.copy_from_slice(&next);
        }
    }
}

fn laplacian_step(src: &[Point3<f64>], dst: &mut [Point3<f64>], adj: &Adjacency, factor: f64) {
    const CHUNK: usize = 4096;
    dst.par_chunks_mut(CHUNK).enumerate().for_each(|(c, out)| {
        for (o, d) in out.iter_mut().enumerate() {
            let v = c * CHUNK + o;
            let (s, e) = (adj.start[v] as usize, adj.start[v + 1] as usize);
            if s == e {
                *d = src[v];
                continue;
            }
            let sum: Vector3<f64> = adj.nbr[s..e].iter().map(|&w| src[w as usize].coords).sum();
            let mean = sum / (e - s) as f64;
            *d = src[v] + (mean - src[v].coords) * factor;
        }
    });
}

/// Moves every vertex along its unit vertex normal by one distance `d` so that the enclosed
/// volume becomes `target_mm3`: Newton steps `d = (target - V) / area` (a uniform normal offset
/// changes the volume by about `area * d`), at most 4, until within 1e-9 relative.
pub(crate) fn restore_volume(mesh: Mesh, target_mm3: f64) -> Result<Mesh, coxa_core::Error> {
    let mut mesh = mesh;
    if target_mm3.is_nan() || target_mm3 <= 0.0 || mesh.is_empty() {
        return Ok(mesh);
    }
    for _ in 0..4 {
        let (v, a) = (mesh.signed_volume_mm3(), mesh.area_mm2());
        if (v - target_mm3).abs() <= 1e-9 * target_mm3 || a.is_nan() || a <= 0.0 {
            break;
        }
        let d = (target_mm3 - v) / a;
        let normals = mesh.vertex_normals();
        let (mut vertices, triangles) = mesh.into_parts();
        for (p, n) in vertices.iter_mut().zip(&normals) {
            *p += n * d;
        }
        mesh = Mesh::new(vertices, triangles)?;
    }
    Ok(mesh)
}
