//! Readers for published PCA shape models: GIAS3's `.pc` (a Python pickle) and `.pc.npz` (numpy).
//!
//! GIAS3 (the Auckland Bioengineering Institute's shape-modelling library) stores a principal
//! component model as a dict `{mean, modes, weights, SD, sizes, projectedWeights}`:
//! - `mean`: D values; `modes`: D x K (one mode per column, orthonormal); `weights`: K values, the
//!   variance of each mode's weight (mm²; GIAS3 calls eigenvalues "weights");
//! - `projectedWeights`: K x S, the training subjects' weights; `SD`, `sizes`: usually `None`.
//!
//! `.pc` is `pickle.dump` of that dict (protocol 2-4, numpy arrays by
//! `numpy.core.multiarray._reconstruct`), `.pc.npz` is `numpy.savez` of it (a zip of `.npy` files).
//!
//! **Why a pickle reader here, and why hand-written.** A pickle is a program for a stack machine,
//! and a general unpickler runs arbitrary Python callables; no Rust crate reads numpy arrays from
//! one (serde-pickle refuses the `_reconstruct` global). This reader implements only the opcodes
//! `pickle` emits for plain containers, numbers, strings and bytes, and only the three globals a
//! numpy array needs (`_reconstruct`, `ndarray`, `dtype`, under `numpy.core` or numpy 2's
//! `numpy._core`); any other global or opcode is an error naming it. Nothing is executed. The
//! `.npz` reader walks the zip's central directory (stored or deflated members, via flate2) and
//! parses the `.npy` header (format 1-3) itself: both are a few dozen lines and no zip or npy crate
//! is in the workspace. Array sizes are checked against the bytes present before any allocation.
//!
//! The layout of `mean` (x0 y0 z0 x1 ... or x0 x1 ... y0 ... z0 ...) is not in the file: GIAS3's
//! `.pc` models of geometric fields keep the three coordinates in blocks, the articulated SSM's
//! `.pc.npz` interleaves them. The caller says which ([`Layout`]).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Result, ShapeError};

mod unpickle;

use unpickle::*;

/// How the 3N values of a mean (and of each mode) are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// x0 y0 z0 x1 y1 z1 ...
    Interleaved,
    /// x0 x1 ... xN-1 y0 ... z0 ... (GIAS3 geometric-field parameters, shape (3, N)).
    Blocked,
}

/// A PCA model as stored: mean, modes, variances, training weights.
#[derive(Debug, Clone, PartialEq)]
pub struct PcaFile {
    /// D values.
    pub mean: Vec<f64>,
    /// K modes of D values each (mode after mode).
    pub modes: Vec<f64>,
    /// K variances (GIAS3 `weights`), in file order.
    pub variances: Vec<f64>,
    /// The training subjects' mode weights (GIAS3 `projectedWeights`, K x S), as `(values, K, S)`,
    /// row after row, when present.
    pub projected_weights: Option<(Vec<f64>, usize, usize)>,
}

impl PcaFile {
    /// Number of values D of the mean.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }
    /// Number of modes K.
    pub fn n_modes(&self) -> usize {
        self.variances.len()
    }
    /// Mode `k` (D values).
    pub fn mode(&self, k: usize) -> &[f64] {
        &self.modes[k * self.dim()..(k + 1) * self.dim()]
    }
    /// The 3D point `i` of the 3N values `x` in `layout`.
    pub fn point(x: &[f64], layout: Layout, i: usize) -> [f64; 3] {
        match layout {
            Layout::Interleaved => [x[3 * i], x[3 * i + 1], x[3 * i + 2]],
            Layout::Blocked => {
                let n = x.len() / 3;
                [x[i], x[n + i], x[2 * n + i]]
            }
        }
    }
}

fn bad(path: &Path, why: impl Into<String>) -> ShapeError {
    ShapeError::BadFile { path: path.to_path_buf(), why: why.into() }
}

fn read_all(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| ShapeError::Io { path: path.to_path_buf(), action: "reading", source })
}

/// An n-dimensional array of f64 (converted from f4/f8 of either byte order).
#[derive(Debug, Clone, PartialEq)]
struct Array {
    shape: Vec<usize>,
    /// In C order.
    data: Vec<f64>,
}

/// Reads one value from its bytes (little endian when the flag is set).
type Convert = fn(&[u8], bool) -> f64;

fn itemsize_and_convert(descr: &str) -> Option<(usize, Convert)> {
    fn f4(b: &[u8], le: bool) -> f64 {
        let a = [b[0], b[1], b[2], b[3]];
        f64::from(if le { f32::from_le_bytes(a) } else { f32::from_be_bytes(a) })
    }
    fn f8(b: &[u8], le: bool) -> f64 {
        let a = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
        if le { f64::from_le_bytes(a) } else { f64::from_be_bytes(a) }
    }
    match descr.trim_start_matches(['<', '>', '=', '|']) {
        "f4" => Some((4, f4)),
        "f8" => Some((8, f8)),
        _ => None,
    }
}

/// Decodes `bytes` as an array of `shape` with numpy type `descr`, C or Fortran order.
fn decode(path: &Path, what: &str, descr: &str, shape: Vec<usize>, fortran: bool, bytes: &[u8]) -> Result<Array> {
    let (size, conv) = itemsize_and_convert(descr).ok_or_else(|| bad(path, format!("{what}: numpy type {descr:?}; only float32/float64 arrays are read")))?;
    let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| bad(path, format!("{what}: shape {shape:?} overflows")))?;
    if n.checked_mul(size) != Some(bytes.len()) {
        return Err(bad(path, format!("{what}: shape {shape:?} of {descr} needs {n} x {size} bytes, the file holds {}", bytes.len())));
    }
    let le = !descr.starts_with('>');
    let raw: Vec<f64> = bytes.chunks_exact(size).map(|c| conv(c, le)).collect();
    let data = if fortran && shape.len() > 1 {
        // Column-major to row-major.
        let mut out = vec![0.0; n];
        let mut strides_f = vec![1usize; shape.len()];
        for d in 1..shape.len() {
            strides_f[d] = strides_f[d - 1] * shape[d - 1];
        }
        let mut idx = vec![0usize; shape.len()];
        for v in out.iter_mut() {
            *v = raw[idx.iter().zip(&strides_f).map(|(i, s)| i * s).sum::<usize>()];
            for d in (0..shape.len()).rev() {
                idx[d] += 1;
                if idx[d] < shape[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        out
    } else {
        raw
    };
    Ok(Array { shape, data })
}

/// Assembles a [`PcaFile`] from the named arrays (mean, modes, weights, projectedWeights).
fn assemble(path: &Path, mut get: impl FnMut(&str) -> Option<Array>) -> Result<PcaFile> {
    let need = |name: &str, a: Option<Array>| a.ok_or_else(|| bad(path, format!("no array {name:?}; not a GIAS3 PCA model")));
    let mean = need("mean", get("mean"))?;
    let modes = need("modes", get("modes"))?;
    let weights = need("weights", get("weights"))?;
    let d = mean.data.len();
    let k = weights.data.len();
    if modes.shape.len() != 2 || modes.shape[0] != d || modes.shape[1] < k {
        return Err(bad(path, format!("modes of shape {:?} for a mean of {d} values and {k} weights", modes.shape)));
    }
    let kk = modes.shape[1];
    let mut by_mode = vec![0.0; k * d];
    for i in 0..d {
        for j in 0..k {
            by_mode[j * d + i] = modes.data[i * kk + j];
        }
    }
    let projected_weights = get("projectedWeights").filter(|a| a.shape.len() == 2).map(|a| (a.data, a.shape[0], a.shape[1]));
    Ok(PcaFile { mean: mean.data, modes: by_mode, variances: weights.data, projected_weights })
}

/// Notes (for the records' provenance, [`coxa_core::provenance`]) that the shape model file
/// `path`, of contents `bytes`, was read.
pub(crate) fn note_shape_model(path: &Path, bytes: &[u8], version: Option<String>) {
    use sha2::{Digest, Sha256};
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let sha256 = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    coxa_core::provenance::note_use(coxa_core::provenance::ModelUse { kind: "shape_model".into(), name, version, sha256: Some(sha256) });
}

/// Reads a GIAS3 `.pc` file (a pickled dict of numpy arrays; see the module docs).
///
/// # Errors
/// [`ShapeError::Io`]; [`ShapeError::BadFile`] naming an unsupported opcode or global, a truncated
/// stream, or missing / inconsistent arrays.
pub fn read_pc(path: &Path) -> Result<PcaFile> {
    let bytes = read_all(path)?;
    note_shape_model(path, &bytes, None);
    let value = Unpickler { path, b: &bytes, pos: 0 }.run()?;
    let Value::Dict(items) = value else {
        return Err(bad(path, "the pickle does not hold a dict; not a GIAS3 PCA model"));
    };
    let mut arrays: Vec<(String, Array)> = Vec::new();
    for (k, v) in items {
        if let (Value::Str(k), Value::Array(a)) = (k, v) {
            arrays.push((k, a));
        }
    }
    assemble(path, |name| arrays.iter().position(|(k, _)| k == name).map(|i| arrays.swap_remove(i).1))
}

/// Reads a GIAS3 `.pc.npz` file (numpy `savez` of the model's arrays; object arrays such as a
/// `None` SD are skipped).
///
/// # Errors
/// [`ShapeError::Io`]; [`ShapeError::BadFile`] for a broken zip or `.npy`, an unsupported
/// compression or type, or missing / inconsistent arrays.
pub fn read_pc_npz(path: &Path) -> Result<PcaFile> {
    let bytes = read_all(path)?;
    note_shape_model(path, &bytes, None);
    let members = zip_members(path, &bytes)?;
    let mut arrays: Vec<(String, Array)> = Vec::new();
    for (name, data) in members {
        let Some(stem) = name.strip_suffix(".npy") else {
            continue;
        };
        if let Some(a) = parse_npy(path, stem, &data)? {
            arrays.push((stem.to_string(), a));
        }
    }
    assemble(path, |name| arrays.iter().position(|(k, _)| k == name).map(|i| arrays.swap_remove(i).1))
}

/// Upper bound on one inflated zip member, bytes (a shape model of 100,000 points and 100 modes
/// in f64 is 240 MB).
const MAX_MEMBER_BYTES: u64 = 1 << 30;

/// The members of a zip file (name, uncompressed bytes), from its central directory.
fn zip_members(path: &Path, b: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let u16_at = |o: usize| b.get(o..o + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let u32_at = |o: usize| b.get(o..o + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    let short = || bad(path, "the zip is truncated");
    // End of central directory: signature 0x06054b50 within the last 64 KiB + 22 bytes.
    let lo = b.len().saturating_sub(65_557);
    let eocd = (lo..b.len().saturating_sub(21)).rev().find(|&o| u32_at(o) == Some(0x0605_4b50)).ok_or_else(|| bad(path, "no zip end-of-central-directory record; not an .npz file"))?;
    let n = usize::from(u16_at(eocd + 10).ok_or_else(short)?);
    let mut at = u32_at(eocd + 16).ok_or_else(short)? as usize;
    let mut out = Vec::new();
    for _ in 0..n {
        if u32_at(at) != Some(0x0201_4b50) {
            return Err(bad(path, "a broken zip central directory entry"));
        }
        let method = u16_at(at + 10).ok_or_else(short)?;
        let csize = u64::from(u32_at(at + 20).ok_or_else(short)?);
        let usize_ = u64::from(u32_at(at + 24).ok_or_else(short)?);
        let name_len = usize::from(u16_at(at + 28).ok_or_else(short)?);
        let extra_len = usize::from(u16_at(at + 30).ok_or_else(short)?);
        let comment_len = usize::from(u16_at(at + 32).ok_or_else(short)?);
        let local = u32_at(at + 42).ok_or_else(short)? as usize;
        let name = String::from_utf8_lossy(b.get(at + 46..at + 46 + name_len).ok_or_else(short)?).into_owned();
        at += 46 + name_len + extra_len + comment_len;
        if csize == u64::from(u32::MAX) || usize_ == u64::from(u32::MAX) {
            return Err(bad(path, format!("{name}: a zip64 member (over 4 GB); not supported")));
        }
        if usize_ > MAX_MEMBER_BYTES {
            return Err(bad(path, format!("{name}: {usize_} bytes uncompressed, over the {MAX_MEMBER_BYTES}-byte limit")));
        }
        if u32_at(local) != Some(0x0403_4b50) {
            return Err(bad(path, format!("{name}: no local zip header where the directory points")));
        }
        let start = local + 30 + usize::from(u16_at(local + 26).ok_or_else(short)?) + usize::from(u16_at(local + 28).ok_or_else(short)?);
        let data = b.get(start..start + csize as usize).ok_or_else(short)?;
        let bytes = match method {
            0 => data.to_vec(),
            8 => {
                let mut v = Vec::with_capacity(usize_ as usize);
                flate2::read::DeflateDecoder::new(data).take(usize_ + 1).read_to_end(&mut v).map_err(|source| ShapeError::Deflate { path: path.to_path_buf(), member: name.to_string(), source })?;
                v
            }
            m => {
                return Err(bad(path, format!("{name}: zip compression method {m}; only stored (0) and deflate (8) are read")));
            }
        };
        if bytes.len() as u64 != usize_ {
            return Err(bad(path, format!("{name}: {} bytes inflated, the directory says {usize_}", bytes.len())));
        }
        out.push((name, bytes));
    }
    Ok(out)
}

/// One `.npy` array; `None` for an object array (a pickled `None`, e.g. GIAS3's `SD`).
fn parse_npy(path: &Path, name: &str, b: &[u8]) -> Result<Option<Array>> {
    if b.len() < 10 || &b[..6] != b"\x93NUMPY" {
        return Err(bad(path, format!("{name}.npy: no NUMPY magic")));
    }
    let (hlen, hstart) = match b[6] {
        1 => (usize::from(u16::from_le_bytes([b[8], b[9]])), 10),
        2 | 3 if b.len() >= 12 => (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12),
        v => {
            return Err(bad(path, format!("{name}.npy: format version {v}; versions 1-3 are read")));
        }
    };
    let header =
        std::str::from_utf8(b.get(hstart..hstart + hlen).ok_or_else(|| bad(path, format!("{name}.npy: truncated header")))?).map_err(|_| bad(path, format!("{name}.npy: header not UTF-8")))?;
    let field = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        Some(header[at..].trim_start().strip_prefix(':')?.trim_start())
    };
    let descr = field("descr").and_then(|s| s.strip_prefix('\'')?.split('\'').next()).ok_or_else(|| bad(path, format!("{name}.npy: no descr")))?;
    if descr.contains('O') {
        return Ok(None);
    }
    let fortran = field("fortran_order").is_some_and(|s| s.starts_with("True"));
    let shape_text = field("shape").and_then(|s| s.strip_prefix('(')?.split(')').next()).ok_or_else(|| bad(path, format!("{name}.npy: no shape")))?;
    let shape =
        shape_text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.parse::<usize>().map_err(|_| bad(path, format!("{name}.npy: shape ({shape_text})")))).collect::<Result<Vec<_>>>()?;
    decode(path, &format!("{name}.npy"), descr, shape, fortran, &b[hstart + hlen..]).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A protocol-2 pickle written by hand: `{"v": 1.5, "l": [1, 2]}` with SETITEM/APPEND, and
    /// a disallowed global.
    #[test]
    fn small_pickles() {
        let p = Path::new("x.pc");
        let good = b"\x80\x02}q\x00(X\x01\x00\x00\x00vG?\xf8\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00l]q\x01(K\x01K\x02eu.";
        let v = Unpickler { path: p, b: good, pos: 0 }.run().unwrap();
        assert_eq!(v, Value::Dict(vec![(Value::Str("v".into()), Value::Float(1.5)), (Value::Str("l".into()), Value::List(vec![Value::Int(1), Value::Int(2)]))]));
        let evil = b"\x80\x02cos\nsystem\nq\x00.";
        let e = Unpickler { path: p, b: evil, pos: 0 }.run().unwrap_err().to_string();
        assert!(e.contains("os.system is not allowed"), "{e}");
        let cut = &good[..20];
        assert!(Unpickler { path: p, b: cut, pos: 0 }.run().unwrap_err().to_string().contains("truncated"));
    }

    #[test]
    fn fortran_order_is_transposed() {
        let bytes: Vec<u8> = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = decode(Path::new("x"), "a", "<f8", vec![2, 3], true, &bytes).unwrap();
        assert_eq!(a.data, vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
        assert!(decode(Path::new("x"), "a", "<f8", vec![2, 4], false, &bytes).is_err());
    }
}
