//! NRRD (`.nrrd`, and `.nhdr` with a detached data file) read as ITK/SimpleITK reads it: 3D
//! scalar images, raw or gzip encoded, any integer or float type, either endianness; the grid
//! from `space directions` and `space origin` (or `spacings`), converted to LPS when the space is
//! right-anterior-superior. pyradiomics' test images and 3D Slicer's volumes are NRRD. 3D
//! Slicer segmentations (`.seg.nrrd`, one layer) read as label maps with their segment names;
//! volumes and label maps (and segmentations) are written gzip-encoded in LPS.
//!
//! The header is checked before anything is allocated: the volume's memory against [`Limits`],
//! the raw data against the file's length and gzip data against what deflate can hold (`limits::MAX_DEFLATE_RATIO`, 1040:1 with the headers),
//! as the NIfTI reader does. Written by hand: the format is a short text header over the same
//! byte layouts the NIfTI reader decodes, and no maintained crate reads it.

pub(crate) mod error;

use std::io::Read;
use std::path::{Path, PathBuf};

use coxa_core::{ClassTable, Grid, LabelMap, Volume};
use nalgebra::{Matrix3, Vector3};
use ndarray::Array3;

pub use error::NrrdError;

use crate::{Error, Limits, Result};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl Kind {
    fn size(self) -> usize {
        match self {
            Kind::I8 | Kind::U8 => 1,
            Kind::I16 | Kind::U16 => 2,
            Kind::I32 | Kind::U32 | Kind::F32 => 4,
            Kind::I64 | Kind::U64 | Kind::F64 => 8,
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "signed char" | "int8" | "int8_t" => Kind::I8,
            "uchar" | "unsigned char" | "uint8" | "uint8_t" => Kind::U8,
            "short" | "short int" | "signed short" | "signed short int" | "int16" | "int16_t" => Kind::I16,
            "ushort" | "unsigned short" | "unsigned short int" | "uint16" | "uint16_t" => Kind::U16,
            "int" | "signed int" | "int32" | "int32_t" => Kind::I32,
            "uint" | "unsigned int" | "uint32" | "uint32_t" => Kind::U32,
            "longlong" | "long long" | "long long int" | "signed long long" | "signed long long int" | "int64" | "int64_t" => Kind::I64,
            "ulonglong" | "unsigned long long" | "unsigned long long int" | "uint64" | "uint64_t" => Kind::U64,
            "float" => Kind::F32,
            "double" => Kind::F64,
            _ => return None,
        })
    }
    fn value(self, b: &[u8], big: bool) -> f64 {
        macro_rules! rd {
            ($t:ty, $n:expr) => {{
                let mut a = [0u8; $n];
                a.copy_from_slice(&b[..$n]);
                (if big { <$t>::from_be_bytes(a) } else { <$t>::from_le_bytes(a) }) as f64
            }};
        }
        match self {
            Kind::I8 => f64::from(b[0] as i8),
            Kind::U8 => f64::from(b[0]),
            Kind::I16 => rd!(i16, 2),
            Kind::U16 => rd!(u16, 2),
            Kind::I32 => rd!(i32, 4),
            Kind::U32 => rd!(u32, 4),
            Kind::I64 => rd!(i64, 8),
            Kind::U64 => rd!(u64, 8),
            Kind::F32 => rd!(f32, 4),
            Kind::F64 => rd!(f64, 8),
        }
    }
}

/// The parsed header.
struct Header {
    kind: Kind,
    big_endian: bool,
    gzip: bool,
    grid: Grid,
    /// Where the data start: the file (attached or detached) and the byte offset.
    data_path: PathBuf,
    data_offset: u64,
    /// `key:=value` pairs (3D Slicer's segment metadata in `.seg.nrrd`).
    key_values: Vec<(String, String)>,
}

fn header_err(path: &Path, field: &str, what: impl Into<String>) -> Error {
    NrrdError::Header { path: path.to_path_buf(), field: field.into(), what: what.into() }.into()
}

fn vector(path: &Path, field: &str, s: &str) -> Result<Vector3<f64>> {
    let t = s.trim();
    let inner = t.strip_prefix('(').and_then(|x| x.strip_suffix(')')).ok_or_else(|| header_err(path, field, format!("`{t}` is not a vector (x,y,z)")))?;
    let v: Vec<f64> = inner.split(',').map(|x| x.trim().parse::<f64>()).collect::<std::result::Result<_, _>>().map_err(|_| header_err(path, field, format!("`{t}` is not numeric")))?;
    if v.len() != 3 || v.iter().any(|x| !x.is_finite()) {
        return Err(header_err(path, field, format!("`{t}`: three finite numbers expected")));
    }
    Ok(Vector3::new(v[0], v[1], v[2]))
}

fn parse_header(path: &Path, bytes: &[u8]) -> Result<Header> {
    if !bytes.starts_with(b"NRRD000") {
        return Err(NrrdError::NotNrrd { path: path.to_path_buf() }.into());
    }
    // The header ends at the first empty line (or the end of a .nhdr).
    let mut end = bytes.len();
    let mut lines = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let nl = bytes[pos..].iter().position(|b| *b == b'\n').map_or(bytes.len(), |k| pos + k);
        let line = String::from_utf8_lossy(&bytes[pos..nl]).trim_end_matches('\r').to_string();
        pos = (nl + 1).min(bytes.len());
        if line.is_empty() {
            end = pos;
            break;
        }
        lines.push(line);
        if pos >= bytes.len() {
            end = bytes.len();
        }
    }
    let mut fields = std::collections::HashMap::new();
    let mut key_values = Vec::new();
    for l in lines.iter().skip(1) {
        if let Some((k, v)) = l.split_once(":=")
            && !l.starts_with('#')
        {
            key_values.push((k.trim().to_string(), v.trim().to_string()));
            continue;
        }
        if l.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = l.split_once(": ") {
            fields.insert(k.trim().to_lowercase(), v.trim().to_string());
        }
    }
    let get = |k: &str| fields.get(k).map(String::as_str);
    let kind_s = get("type").ok_or_else(|| header_err(path, "type", "missing"))?;
    let kind = Kind::parse(kind_s).ok_or_else(|| header_err(path, "type", format!("`{kind_s}` is not a scalar type coxa reads")))?;
    let dim: usize = get("dimension").and_then(|d| d.parse().ok()).ok_or_else(|| header_err(path, "dimension", "missing or not a number"))?;
    if dim != 3 {
        return Err(header_err(path, "dimension", format!("{dim}: only 3D scalar images are read")));
    }
    let sizes: Vec<usize> = get("sizes")
        .ok_or_else(|| header_err(path, "sizes", "missing"))?
        .split_whitespace()
        .map(|s| s.parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| header_err(path, "sizes", "not whole numbers"))?;
    if sizes.len() != 3 || sizes.contains(&0) {
        return Err(header_err(path, "sizes", format!("{sizes:?}: three sizes >= 1 expected")));
    }
    let big_endian = match get("endian") {
        Some("big") => true,
        Some("little") | None => false,
        Some(e) => return Err(header_err(path, "endian", format!("`{e}`"))),
    };
    let gzip = match get("encoding") {
        Some("raw") => false,
        Some("gzip" | "gz") => true,
        Some(e) => {
            return Err(header_err(path, "encoding", format!("`{e}`: raw and gzip are read")));
        }
        None => return Err(header_err(path, "encoding", "missing")),
    };
    let ras = match get("space") {
        Some("left-posterior-superior" | "LPS" | "scanner-xyz" | "3D-left-handed") | None => false,
        Some("right-anterior-superior" | "RAS" | "3D-right-handed") => true,
        Some(s) => {
            return Err(header_err(path, "space", format!("`{s}` is not a patient space coxa converts")));
        }
    };
    let (mut cols, mut spacing) = (Matrix3::identity(), Vector3::repeat(1.0));
    if let Some(dirs) = get("space directions") {
        let parts: Vec<&str> = dirs.split_whitespace().collect();
        if parts.len() != 3 {
            return Err(header_err(path, "space directions", "three vectors expected (3D scalar image)"));
        }
        for (a, p) in parts.iter().enumerate() {
            let v = vector(path, "space directions", p)?;
            let n = v.norm();
            if n == 0.0 {
                return Err(header_err(path, "space directions", "a zero vector"));
            }
            spacing[a] = n;
            cols.set_column(a, &(v / n));
        }
    } else if let Some(sp) = get("spacings") {
        let v: Vec<f64> = sp.split_whitespace().map(|s| s.parse::<f64>()).collect::<std::result::Result<_, _>>().map_err(|_| header_err(path, "spacings", "not numbers"))?;
        if v.len() != 3 {
            return Err(header_err(path, "spacings", "three values expected"));
        }
        spacing = Vector3::new(v[0], v[1], v[2]);
    }
    let mut origin = match get("space origin") {
        Some(o) => vector(path, "space origin", o)?,
        None => Vector3::zeros(),
    };
    if ras {
        for a in 0..3 {
            cols[(0, a)] = -cols[(0, a)];
            cols[(1, a)] = -cols[(1, a)];
        }
        origin.x = -origin.x;
        origin.y = -origin.y;
    }
    let grid = Grid::new([sizes[0], sizes[1], sizes[2]], spacing, origin, cols).map_err(|source| Error::Geometry { path: path.to_path_buf(), source })?;
    crate::sanity::check_grid(&grid, path)?;
    let skip: u64 = match get("byte skip") {
        None => 0,
        Some(s) => s.parse().map_err(|_| header_err(path, "byte skip", format!("`{s}`: a whole number >= 0 is read")))?,
    };
    if get("line skip").is_some_and(|s| s != "0") {
        return Err(header_err(path, "line skip", "not supported"));
    }
    let (data_path, data_offset) = match get("data file").or_else(|| get("datafile")) {
        Some(f) if f.starts_with("LIST") || f.contains('%') => {
            return Err(header_err(path, "data file", "lists of data files are not read"));
        }
        Some(f) => (path.parent().unwrap_or(Path::new(".")).join(f), skip),
        None => (path.to_path_buf(), end as u64 + skip),
    };
    Ok(Header { kind, big_endian, gzip, grid, data_path, data_offset, key_values })
}

/// Reads the header and the decoded values (file order, `i` fastest) of an NRRD image.
/// An NRRD image's grid, values (file order) and `key:=value` pairs.
type Values = (Grid, Vec<f64>, Vec<(String, String)>);

fn read_values(path: &Path, limits: &Limits, out_bytes: u64) -> Result<Values> {
    let unreadable = |p: &Path, source| Error::Unreadable { path: p.to_path_buf(), source };
    if !path.exists() {
        return Err(Error::NotFound { path: path.to_path_buf() });
    }
    // The header is text at the start; read at most 64 KiB of it.
    let mut f = std::fs::File::open(path).map_err(|e| unreadable(path, e))?;
    let mut head = Vec::new();
    (&mut f).take(1 << 16).read_to_end(&mut head).map_err(|e| unreadable(path, e))?;
    let h = parse_header(path, &head)?;
    let n: u64 = h.grid.n_voxels() as u64;
    let need = n * h.kind.size() as u64;
    limits.check(path, || format!("a {:?} NRRD volume", h.grid.size()), n * out_bytes + need)?;
    let file_len = std::fs::metadata(&h.data_path).map_err(|e| unreadable(&h.data_path, e))?.len();
    let avail = file_len.saturating_sub(h.data_offset);
    let room = if h.gzip { avail.saturating_mul(crate::limits::MAX_DEFLATE_RATIO) } else { avail };
    if room < need {
        return Err(NrrdError::Truncated { path: h.data_path.clone(), have: avail, need }.into());
    }
    let mut df = std::fs::File::open(&h.data_path).map_err(|e| unreadable(&h.data_path, e))?;
    std::io::Seek::seek(&mut df, std::io::SeekFrom::Start(h.data_offset)).map_err(|e| unreadable(&h.data_path, e))?;
    let mut raw = Vec::with_capacity(need as usize);
    let got = if h.gzip { flate2::read::MultiGzDecoder::new(df).take(need).read_to_end(&mut raw) } else { df.take(need).read_to_end(&mut raw) }.map_err(|e| unreadable(&h.data_path, e))?;
    if (got as u64) < need {
        return Err(NrrdError::Truncated { path: h.data_path, have: got as u64, need }.into());
    }
    let sz = h.kind.size();
    let values = raw.chunks_exact(sz).map(|c| h.kind.value(c, h.big_endian)).collect();
    Ok((h.grid, values, h.key_values))
}

/// Reads an NRRD image as a volume (values as `f32`, as the NIfTI reader), memory limited by
/// [`Limits::new`].
pub fn read_volume(path: &Path) -> Result<Volume> {
    read_volume_with(path, &Limits::new())
}

/// [`read_volume`] with a memory limit, checked from the header before allocating.
pub fn read_volume_with(path: &Path, limits: &Limits) -> Result<Volume> {
    let (grid, v, _) = read_values(path, limits, 4)?;
    let data: Vec<f32> = v.into_iter().map(|x| x as f32).collect();
    let array = Array3::from_shape_vec(grid.shape_kji(), data).map_err(|source| -> Error { NrrdError::Shape { path: path.to_path_buf(), source }.into() })?;
    let volume = Volume::new(grid, array).map_err(|source| Error::Geometry { path: path.to_path_buf(), source })?;
    crate::sanity::check_finite(&volume, path)?;
    Ok(volume)
}

/// Reads an NRRD image as a label map: every voxel must be an integer in `0..=65535`.
pub fn read_label_map(path: &Path) -> Result<LabelMap> {
    read_label_map_with(path, &Limits::new())
}

/// [`read_label_map`] with a memory limit.
pub fn read_label_map_with(path: &Path, limits: &Limits) -> Result<LabelMap> {
    let (grid, v, key_values) = read_values(path, limits, 2)?;
    let classes = segment_classes(path, &key_values)?;
    let size = grid.size();
    let mut data = Vec::with_capacity(v.len());
    for (k, x) in v.into_iter().enumerate() {
        if x.fract() != 0.0 || !(0.0..=65535.0).contains(&x) {
            let index = [k % size[0], (k / size[0]) % size[1], k / (size[0] * size[1])];
            return Err(NrrdError::NotALabel { path: path.to_path_buf(), index, value: x }.into());
        }
        data.push(x as u16);
    }
    let array = Array3::from_shape_vec(grid.shape_kji(), data).map_err(|source| -> Error { NrrdError::Shape { path: path.to_path_buf(), source }.into() })?;
    LabelMap::new(grid, array, classes).map_err(|source| Error::Geometry { path: path.to_path_buf(), source })
}

/// The class table of a 3D Slicer segmentation (`.seg.nrrd`): `SegmentN_LabelValue` and
/// `SegmentN_Name` of each segment (empty for a plain NRRD). Segments on several layers
/// (overlapping) are a 4D file, refused by the reader's dimension check; a layer other than 0
/// in a 3D file is refused here.
fn segment_classes(path: &Path, kv: &[(String, String)]) -> Result<ClassTable> {
    let mut classes = ClassTable::new();
    let get = |k: String| kv.iter().find(|(a, _)| *a == k).map(|(_, v)| v.as_str());
    for n in 0.. {
        let Some(name) = get(format!("Segment{n}_Name")) else { break };
        let value = get(format!("Segment{n}_LabelValue")).unwrap_or("1");
        let id: u16 = value.parse().map_err(|_| header_err(path, &format!("Segment{n}_LabelValue"), format!("`{value}` is not a label (0..=65535)")))?;
        if get(format!("Segment{n}_Layer")).is_some_and(|l| l != "0") {
            return Err(header_err(path, &format!("Segment{n}_Layer"), "segments on several layers overlap; export the segmentation as a label map in 3D Slicer"));
        }
        classes.insert(id, name);
    }
    Ok(classes)
}

/// Writes `vol` as NRRD (`.nrrd`, gzip, LPS; `short` when every value is an integer in the
/// int16 range, else `float`). Never over an existing file; nothing left behind on failure.
///
/// # Errors
/// [`Error::WouldOverwrite`], [`Error::Write`].
pub fn write_volume(vol: &Volume, path: &Path) -> Result<()> {
    let hu = vol.hu();
    let ints = hu.iter().all(|v| v.fract() == 0.0 && (-32768.0..=32767.0).contains(v));
    let (kind, bytes): (&str, Vec<u8>) = if ints { ("short", hu.iter().flat_map(|v| (*v as i16).to_le_bytes()).collect()) } else { ("float", hu.iter().flat_map(|v| v.to_le_bytes()).collect()) };
    write(vol.grid(), kind, &bytes, &[], path)
}

/// Writes `map` as NRRD (`unsigned char` or `unsigned short`, gzip, LPS). A name ending in
/// `.seg.nrrd` makes it a 3D Slicer segmentation: one segment per class present (its label
/// value, name and `colour`), all on layer 0.
///
/// # Errors
/// [`Error::WouldOverwrite`], [`Error::Write`].
pub fn write_label_map(map: &LabelMap, path: &Path, colour: impl Fn(u16, &str) -> [u8; 3]) -> Result<()> {
    let labels = map.labels();
    let small = labels.iter().all(|&v| v < 256);
    let (kind, bytes): (&str, Vec<u8>) = if small { ("unsigned char", labels.iter().map(|&v| v as u8).collect()) } else { ("unsigned short", labels.iter().flat_map(|v| v.to_le_bytes()).collect()) };
    let mut kv = Vec::new();
    if path.to_string_lossy().to_lowercase().ends_with(".seg.nrrd") {
        let present = map.counts();
        kv.push(("Segmentation_MasterRepresentation".to_string(), "Binary labelmap".to_string()));
        kv.push(("Segmentation_ContainedRepresentationNames".to_string(), "Binary labelmap|".to_string()));
        let size = map.grid().size();
        kv.push(("Segmentation_ReferenceImageExtentOffset".to_string(), "0 0 0".to_string()));
        for (n, (id, _)) in present.iter().filter(|(id, _)| **id != 0).enumerate() {
            let name = map.classes().name(*id).map_or_else(|| format!("label_{id}"), str::to_string);
            let c = colour(*id, &name);
            let seg = |k: &str| format!("Segment{n}_{k}");
            kv.push((seg("Color"), format!("{:.4} {:.4} {:.4}", f64::from(c[0]) / 255.0, f64::from(c[1]) / 255.0, f64::from(c[2]) / 255.0)));
            kv.push((seg("ColorAutoGenerated"), "0".into()));
            kv.push((seg("Extent"), format!("0 {} 0 {} 0 {}", size[0] - 1, size[1] - 1, size[2] - 1)));
            kv.push((seg("ID"), name.clone()));
            kv.push((seg("LabelValue"), id.to_string()));
            kv.push((seg("Layer"), "0".into()));
            kv.push((seg("Name"), name));
            kv.push((seg("NameAutoGenerated"), "0".into()));
            kv.push((seg("Tags"), "Segmentation.Status:inprogress|".into()));
        }
    }
    write(map.grid(), kind, &bytes, &kv, path)
}

fn write(grid: &Grid, kind: &str, data: &[u8], key_values: &[(String, String)], path: &Path) -> Result<()> {
    use std::io::Write;
    let [nx, ny, nz] = grid.size();
    let m = grid.direction() * Matrix3::from_diagonal(&grid.spacing_mm());
    let col = |a: usize| format!("({},{},{})", m[(0, a)], m[(1, a)], m[(2, a)]);
    let o = grid.origin_lps_mm();
    let mut header = format!(
        "NRRD0004\n# Complete NRRD file format specification at:\n# http://teem.sourceforge.net/nrrd/format.html\n# written by coxa {}\ntype: {kind}\ndimension: 3\nspace: left-posterior-superior\nsizes: {nx} {ny} {nz}\nspace directions: {} {} {}\nkinds: domain domain domain\nendian: little\nencoding: gzip\nspace origin: ({},{},{})\n",
        env!("CARGO_PKG_VERSION"),
        col(0),
        col(1),
        col(2),
        o.x,
        o.y,
        o.z
    );
    for (k, v) in key_values {
        header.push_str(&format!("{}:={}\n", k.replace(['\n', ':'], "_"), v.replace('\n', " ")));
    }
    header.push('\n');
    crate::mesh::write_new(path, |out| {
        out.write_all(header.as_bytes())?;
        let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::new(6));
        gz.write_all(data)?;
        let _ = gz.finish()?;
        Ok(())
    })
}

/// Whether `path` names an NRRD file (`.nrrd` or `.nhdr`, any case).
pub fn is_nrrd_path(path: &Path) -> bool {
    path.file_name().is_some_and(|n| {
        let n = n.to_string_lossy().to_lowercase();
        n.ends_with(".nrrd") || n.ends_with(".nhdr")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, header: &str, data: &[u8]) -> PathBuf {
        let p = dir.join(name);
        let mut b = header.as_bytes().to_vec();
        b.extend_from_slice(data);
        std::fs::write(&p, b).unwrap();
        p
    }

    #[test]
    fn raw_ras_header_becomes_lps_and_truncation_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..8i16).flat_map(|v| v.to_le_bytes()).collect();
        let h =
            "NRRD0004\ntype: short\ndimension: 3\nspace: right-anterior-superior\nsizes: 2 2 2\nspace directions: (2,0,0) (0,1,0) (0,0,3)\nendian: little\nencoding: raw\nspace origin: (10,20,30)\n\n";
        let v = read_volume(&write(dir.path(), "a.nrrd", h, &data)).unwrap();
        assert_eq!(v.grid().origin_lps_mm(), Vector3::new(-10.0, -20.0, 30.0));
        assert_eq!(v.grid().spacing_mm(), Vector3::new(2.0, 1.0, 3.0));
        assert_eq!(v.grid().direction_row_major(), [-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(v.get(1, 1, 1), Some(7.0));
        let e = read_volume(&write(dir.path(), "b.nrrd", h, &data[..10])).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        let huge = h.replace("sizes: 2 2 2", "sizes: 4000 4000 3000");
        let e = read_volume_with(&write(dir.path(), "c.nrrd", &huge, &data), &Limits::new().with_max_bytes(1 << 30)).unwrap_err().to_string();
        assert!(e.contains("memory"), "{e}");
    }
}
