//! The point-distribution model and its file format.
//!
//! # File format (`.ssm`, version 1)
//!
//! One file, a small self-describing JSON header followed by the numbers as raw little-endian
//! binary, so that a model of 20,000 points and 30 modes (15 MB of doubles) loads in
//! milliseconds, round-trips bit for bit (JSON text numbers do not, with every parser), and the
//! header stays readable with `head -c 4000`:
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | magic `COXASSM\n` |
//! | 8..16 | `H`, the header length in bytes, u64 little endian |
//! | 16..16+H | the header, UTF-8 JSON (below) |
//! | then | `mean`: 3N f64 (x0 y0 z0 x1 ...), mm |
//! | then | `modes`: K x 3N f64, mode after mode (each of length 3N, orthonormal) |
//! | then | `variances`: K f64, mm² (the variance of each mode's weight) |
//! | then | `faces`: F x 3 u32, vertex indices, counter-clockwise from outside |
//!
//! All numbers little endian. The header is
//! `{"format_version": 1, "n_vertices": N, "n_modes": K, "n_faces": F, "info": {...},
//! "parts": [...], "landmarks": [...]}` with [`ModelInfo`], [`Part`] and [`Landmark`] as serde
//! writes them. A reader checks the magic, the version, that the file is exactly as long as the
//! header says (no more, no less), and then the model itself ([`ShapeModel::new`]: orthonormal
//! modes, finite values, indices in range) before returning it.

use std::io::Write;
use std::path::Path;

use nalgebra::Point3;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

use crate::error::{Result, ShapeError};

/// The file format version written and read.
pub const FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"COXASSM\n";

/// A named run of vertices (and faces) of the model, e.g. `hip_left`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// The part's name (`hip_left`, `hip_right`, `sacrum`, `femur_right`, ...).
    pub name: String,
    /// Its first vertex.
    pub first_vertex: usize,
    /// How many vertices it has (consecutive).
    pub n_vertices: usize,
    /// Its first face.
    pub first_face: usize,
    /// How many faces it has (consecutive).
    pub n_faces: usize,
}

/// Where a named landmark lies on the model surface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Landmark {
    /// At a vertex.
    Vertex {
        /// The landmark's name (e.g. `asis_left`).
        name: String,
        /// The vertex.
        vertex: usize,
    },
    /// Inside a face, at barycentric weights of its three corners (summing to 1).
    Barycentric {
        /// The landmark's name.
        name: String,
        /// The face.
        face: usize,
        /// The weights of the face's corners.
        weights: [f64; 3],
    },
}

impl Landmark {
    /// The landmark's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Vertex { name, .. } | Self::Barycentric { name, .. } => name,
        }
    }
}

/// Where a model comes from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Provenance {
    /// The training data (name, version, URL).
    pub source: String,
    /// How many subjects the model was built from.
    pub n_subjects: usize,
    /// The training data's licence (e.g. `CC BY 4.0`), which the model inherits.
    pub licence: String,
}

/// What a model is: units, frame, alignment, provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Length unit of mean, modes and variances: always `"mm"` for coxa's models.
    pub units: String,
    /// The frame of the mean and modes, in words (e.g. "DICOM LPS axes of training subject 0,
    /// origin at the mean's centroid").
    pub frame: String,
    /// Whether Procrustes removed scale (`true`) or only rotation and translation (`false`).
    pub procrustes_scale: bool,
    /// The summed variance of all principal components of the training set, kept or not, mm²
    /// (the denominator of compactness).
    pub total_variance_mm2: f64,
    /// Where it comes from.
    pub provenance: Provenance,
}

/// A point-distribution model: `shape(b) = mean + Σ_k b_k mode_k` over N vertices in
/// correspondence, with weights `b_k ~ N(0, variance_k)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeModel {
    mean: Vec<f64>,
    modes: Vec<f64>,
    variances: Vec<f64>,
    faces: Vec<[u32; 3]>,
    parts: Vec<Part>,
    landmarks: Vec<Landmark>,
    info: ModelInfo,
}

#[derive(Serialize, Deserialize)]
struct Header {
    format_version: u32,
    n_vertices: usize,
    n_modes: usize,
    n_faces: usize,
    info: ModelInfo,
    parts: Vec<Part>,
    landmarks: Vec<Landmark>,
}

fn invalid(why: impl Into<String>) -> ShapeError {
    ShapeError::InvalidModel { why: why.into() }
}

impl ShapeModel {
    /// A model from its parts, checked: `mean` is 3N values, `modes` K x 3N (mode after mode,
    /// orthonormal to 1e-6), `variances` K positive values in decreasing order, faces and parts
    /// within the N vertices, landmarks on existing vertices/faces, all values finite.
    ///
    /// # Errors
    /// [`ShapeError::InvalidModel`] naming the first inconsistency.
    pub fn new(mean: Vec<f64>, modes: Vec<f64>, variances: Vec<f64>, faces: Vec<[u32; 3]>, parts: Vec<Part>, landmarks: Vec<Landmark>, info: ModelInfo) -> Result<Self> {
        let d = mean.len();
        if d == 0 || !d.is_multiple_of(3) {
            return Err(invalid(format!("the mean has {d} values, not a positive multiple of 3")));
        }
        let n = d / 3;
        let k = variances.len();
        if modes.len() != k * d {
            return Err(invalid(format!("{} mode values for {k} modes of {d} values", modes.len())));
        }
        if let Some(i) = mean.iter().chain(&modes).position(|v| !v.is_finite()) {
            return Err(invalid(format!("value {i} of mean/modes is not finite")));
        }
        if let Some(i) = variances.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(invalid(format!("variance {i} is {}, not a positive number", variances[i])));
        }
        if variances.windows(2).any(|w| w[1] > w[0]) {
            return Err(invalid("the variances are not in decreasing order"));
        }
        for a in 0..k {
            for b in 0..=a {
                let dot: f64 = modes[a * d..(a + 1) * d].iter().zip(&modes[b * d..(b + 1) * d]).map(|(x, y)| x * y).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                if (dot - want).abs() > 1e-6 {
                    return Err(invalid(format!("modes {a} and {b} are not orthonormal (dot product {dot})")));
                }
            }
        }
        if let Some(f) = faces.iter().find(|f| f.iter().any(|&v| v as usize >= n)) {
            return Err(invalid(format!("face {f:?} names a vertex beyond the {n} vertices")));
        }
        for p in &parts {
            if p.first_vertex + p.n_vertices > n || p.first_face + p.n_faces > faces.len() {
                return Err(invalid(format!("part {:?} runs beyond the {n} vertices or {} faces", p.name, faces.len())));
            }
        }
        for l in &landmarks {
            let ok = match l {
                Landmark::Vertex { vertex, .. } => *vertex < n,
                Landmark::Barycentric { face, weights, .. } => *face < faces.len() && weights.iter().all(|w| w.is_finite()) && (weights.iter().sum::<f64>() - 1.0).abs() < 1e-6,
            };
            if !ok {
                return Err(invalid(format!("landmark {:?} is not on the model (index out of range or weights not summing to 1)", l.name())));
            }
        }
        if info.units != "mm" {
            return Err(invalid(format!("units {:?}; coxa's shape models are in mm", info.units)));
        }
        Ok(Self { mean, modes, variances, faces, parts, landmarks, info })
    }

    /// The model with `landmarks` in place of its own (e.g. landmarks defined on its mean).
    ///
    /// # Errors
    /// [`ShapeError::InvalidModel`] for a landmark off the model (as [`Self::new`]).
    pub fn with_landmarks(&self, landmarks: Vec<Landmark>) -> Result<Self> {
        Self::new(self.mean.clone(), self.modes.clone(), self.variances.clone(), self.faces.clone(), self.parts.clone(), landmarks, self.info.clone())
    }

    /// Number of vertices N.
    pub fn n_vertices(&self) -> usize {
        self.mean.len() / 3
    }
    /// Number of modes K.
    pub fn n_modes(&self) -> usize {
        self.variances.len()
    }
    /// The mean shape, 3N values (x0 y0 z0 x1 ...), mm.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }
    /// Mode `k` (3N values, unit length).
    ///
    /// # Panics
    /// When `k >= n_modes()`.
    pub fn mode(&self, k: usize) -> &[f64] {
        let d = self.mean.len();
        &self.modes[k * d..(k + 1) * d]
    }
    /// The variance of each mode's weight, mm², decreasing.
    pub fn variances(&self) -> &[f64] {
        &self.variances
    }
    /// The faces (vertex indices).
    pub fn faces(&self) -> &[[u32; 3]] {
        &self.faces
    }
    /// The named parts.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }
    /// The named landmarks.
    pub fn landmarks(&self) -> &[Landmark] {
        &self.landmarks
    }
    /// Units, frame, alignment and provenance.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The shape for mode weights `weights` (mm; fewer weights than modes leave the rest at 0),
    /// as 3N values.
    ///
    /// # Errors
    /// [`ShapeError::Input`] for more weights than modes or a non-finite weight.
    pub fn instance_flat(&self, weights: &[f64]) -> Result<Vec<f64>> {
        if weights.len() > self.n_modes() || weights.iter().any(|w| !w.is_finite()) {
            return Err(crate::error::input(format!("{} weights for a model of {} modes (or a non-finite weight)", weights.len(), self.n_modes())));
        }
        let mut x = self.mean.clone();
        for (k, &w) in weights.iter().enumerate() {
            for (xi, mi) in x.iter_mut().zip(self.mode(k)) {
                *xi += w * mi;
            }
        }
        Ok(x)
    }

    /// The shape for mode weights `weights` as points (see [`Self::instance_flat`]).
    ///
    /// # Errors
    /// As [`Self::instance_flat`].
    pub fn instance(&self, weights: &[f64]) -> Result<Vec<Point3<f64>>> {
        Ok(to_points(&self.instance_flat(weights)?))
    }

    /// The point of landmark `name` on the shape for `weights`, or `None` if there is no such
    /// landmark.
    ///
    /// # Errors
    /// As [`Self::instance_flat`].
    pub fn landmark(&self, name: &str, weights: &[f64]) -> Result<Option<Point3<f64>>> {
        let Some(l) = self.landmarks.iter().find(|l| l.name() == name) else { return Ok(None) };
        let x = self.instance_flat(weights)?;
        let at = |v: usize| Point3::new(x[3 * v], x[3 * v + 1], x[3 * v + 2]);
        Ok(Some(match l {
            Landmark::Vertex { vertex, .. } => at(*vertex),
            Landmark::Barycentric { face, weights, .. } => {
                let f = self.faces[*face];
                Point3::from(at(f[0] as usize).coords * weights[0] + at(f[1] as usize).coords * weights[1] + at(f[2] as usize).coords * weights[2])
            }
        }))
    }

    /// `n` random shapes from the first `n_modes` modes (all when `None`): weights are standard
    /// normal deviates truncated to ±3 (redrawn outside), times the mode SD. Reproducible for a
    /// `seed`. Returns the weights and the shapes (3N values each).
    ///
    /// # Errors
    /// [`ShapeError::Input`] for more modes than the model has.
    pub fn sample(&self, n: usize, n_modes: Option<usize>, seed: u64) -> Result<Vec<(Vec<f64>, Vec<f64>)>> {
        let k = n_modes.unwrap_or(self.n_modes());
        if k > self.n_modes() {
            return Err(crate::error::input(format!("{k} modes asked of a model with {}", self.n_modes())));
        }
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let w: Vec<f64> = self.variances[..k].iter().map(|v| truncated_normal(&mut rng, 3.0) * v.sqrt()).collect();
                let x = self.instance_flat(&w)?;
                Ok((w, x))
            })
            .collect()
    }

    /// Writes the model in the format above; never over an existing file, and no partial file is
    /// left on failure.
    ///
    /// # Errors
    /// [`ShapeError::WouldOverwrite`], [`ShapeError::Io`].
    pub fn save(&self, path: &Path) -> Result<()> {
        let header = Header {
            format_version: FORMAT_VERSION,
            n_vertices: self.n_vertices(),
            n_modes: self.n_modes(),
            n_faces: self.faces.len(),
            info: self.info.clone(),
            parts: self.parts.clone(),
            landmarks: self.landmarks.clone(),
        };
        let json = serde_json::to_vec(&header).map_err(|source| ShapeError::HeaderWrite { source })?;
        let io = |source| ShapeError::Io { path: path.to_path_buf(), action: "writing", source };
        let file = match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(ShapeError::WouldOverwrite { path: path.to_path_buf() }),
            Err(e) => return Err(io(e)),
        };
        let write = || -> std::io::Result<()> {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            out.write_all(MAGIC)?;
            out.write_all(&(json.len() as u64).to_le_bytes())?;
            out.write_all(&json)?;
            for v in self.mean.iter().chain(&self.modes).chain(&self.variances) {
                out.write_all(&v.to_le_bytes())?;
            }
            for i in self.faces.iter().flatten() {
                out.write_all(&i.to_le_bytes())?;
            }
            out.flush()?;
            out.into_inner().map_err(std::io::IntoInnerError::into_error)?.sync_data()
        };
        write().map_err(|e| {
            // The partial file is ours (create_new): removing it loses nothing.
            let _ = std::fs::remove_file(path);
            io(e)
        })
    }

    /// Reads a model file (format above), checking it fully.
    ///
    /// # Errors
    /// [`ShapeError::Io`]; [`ShapeError::BadFile`] (magic, lengths), [`ShapeError::Version`],
    /// [`ShapeError::Header`], and [`ShapeError::InvalidModel`] wrapped as `BadFile` for
    /// inconsistent contents.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| ShapeError::Io { path: path.to_path_buf(), action: "reading", source })?;
        let bad = |why: String| ShapeError::BadFile { path: path.to_path_buf(), why };
        if bytes.len() < 16 || &bytes[..8] != MAGIC {
            return Err(bad("it does not start with the magic 'COXASSM\\n'".into()));
        }
        let h = u64::from_le_bytes(bytes[8..16].try_into().map_err(|_| bad("short header length".into()))?);
        let h = usize::try_from(h).ok().filter(|&h| h <= bytes.len() - 16).ok_or_else(|| bad(format!("a header of {h} bytes in a file of {}", bytes.len())))?;
        let header_bytes = &bytes[16..16 + h];
        // The version first, so that a newer file gets the version error, not a parse error.
        let version = serde_json::from_slice::<serde_json::Value>(header_bytes)
            .map_err(|source| ShapeError::Header { path: path.to_path_buf(), source })?
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| bad("the header has no format_version".into()))?;
        if version != u64::from(FORMAT_VERSION) {
            return Err(ShapeError::Version { path: path.to_path_buf(), found: u32::try_from(version).unwrap_or(u32::MAX), supported: FORMAT_VERSION });
        }
        crate::pca_file::note_shape_model(path, &bytes, Some(format!("coxa shape model format {version}")));
        let header: Header = serde_json::from_slice(header_bytes).map_err(|source| ShapeError::Header { path: path.to_path_buf(), source })?;
        let (n, k, f) = (header.n_vertices, header.n_modes, header.n_faces);
        let n_f64 = n.checked_mul(3).and_then(|d| d.checked_mul(k + 1)).and_then(|m| m.checked_add(k));
        let need = n_f64.and_then(|m| m.checked_mul(8)).and_then(|b| f.checked_mul(12).and_then(|fb| b.checked_add(fb)));
        let body = &bytes[16 + h..];
        if need != Some(body.len()) {
            return Err(bad(format!(
                "the header announces {n} vertices, {k} modes and {f} faces ({} bytes of data), the file holds {} bytes after the header",
                need.map_or("too many".to_string(), |b| b.to_string()),
                body.len()
            )));
        }
        let d = 3 * n;
        let f64s: Vec<f64> = body[..8 * (d * (k + 1) + k)].chunks_exact(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect();
        let faces: Vec<[u32; 3]> = body[8 * (d * (k + 1) + k)..]
            .chunks_exact(12)
            .map(|c| {
                let u = |o: usize| u32::from_le_bytes([c[o], c[o + 1], c[o + 2], c[o + 3]]);
                [u(0), u(4), u(8)]
            })
            .collect();
        let mean = f64s[..d].to_vec();
        let modes = f64s[d..d * (k + 1)].to_vec();
        let variances = f64s[d * (k + 1)..].to_vec();
        Self::new(mean, modes, variances, faces, header.parts, header.landmarks, header.info).map_err(|e| ShapeError::BadModel { path: path.to_path_buf(), source: Box::new(e) })
    }
}

/// 3N values as N points.
pub fn to_points(x: &[f64]) -> Vec<Point3<f64>> {
    x.chunks_exact(3).map(|c| Point3::new(c[0], c[1], c[2])).collect()
}

/// N points as 3N values.
pub fn to_flat(points: &[Point3<f64>]) -> Vec<f64> {
    points.iter().flat_map(|p| [p.x, p.y, p.z]).collect()
}

/// The dot product of two coordinate vectors (build's covariances, fit's projections).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A standard normal deviate (Box-Muller), redrawn until within ±`limit`.
pub(crate) fn truncated_normal(rng: &mut StdRng, limit: f64) -> f64 {
    loop {
        let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
        let u2: f64 = rng.random::<f64>();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        if z.abs() <= limit {
            return z;
        }
    }
}
