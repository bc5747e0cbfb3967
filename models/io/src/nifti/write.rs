//! Writing `.nii` / `.nii.gz`: never over an existing file, and no partial file left on failure.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use coxa_core::{Grid, HuValue};
use flate2::Compression;
use flate2::write::GzEncoder;
use ndarray::Array3;

use super::NiftiError;
use super::geometry::orientation_for;
use super::header::{DATA_OFFSET, Datatype, NiftiHeader, UNITS_MM, XFORM_SCANNER_ANAT};
use crate::{Error, Result};

/// Voxels encoded per step.
const CHUNK_VOXELS: usize = 1 << 18;
/// gzip level: 1 (fastest). CT compresses about as well at 1 as at 6 and several times faster.
const GZIP_LEVEL: u32 = 1;
/// Largest size along an axis that `dim` (int16) can hold.
const MAX_DIM: usize = i16::MAX as usize;

/// How the file is laid out on disk, from its name.
#[derive(Clone, Copy)]
enum Container {
    Raw,
    Gzip,
}

fn container(path: &Path) -> Result<Container> {
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    if name.ends_with(".nii.gz") {
        Ok(Container::Gzip)
    } else if name.ends_with(".nii") {
        Ok(Container::Raw)
    } else {
        Err(NiftiError::BadExtension { path: path.to_path_buf() }.into())
    }
}

/// The header coxa writes for `grid` and `datatype`: qform and sform both scanner-anatomical.
pub(crate) fn header_for(grid: &Grid, datatype: Datatype, path: &Path) -> Result<NiftiHeader> {
    let size = grid.size();
    if size.iter().any(|&s| s > MAX_DIM) {
        return Err(NiftiError::NotRepresentable { path: path.to_path_buf(), why: format!("size {size:?} exceeds NIfTI-1's {MAX_DIM} voxels per axis") }.into());
    }
    let o = orientation_for(grid);
    let finite = o.srows.iter().flatten().chain(&o.quatern).chain(&o.qoffset).all(|v| v.is_finite());
    if !finite || o.pixdim[1..4].iter().any(|&p| !(p.is_finite() && p > 0.0)) {
        return Err(NiftiError::NotRepresentable {
            path: path.to_path_buf(),
            why: format!("spacing {:?} mm or origin {:?} mm does not fit NIfTI-1's single precision", grid.spacing_mm().as_slice(), grid.origin_lps_mm().as_slice()),
        }
        .into());
    }
    Ok(NiftiHeader {
        version: 1,
        big_endian: false,
        ndim: 3,
        dims: [size[0], size[1], size[2], 1, 1, 1, 1],
        datatype: datatype.code(),
        bitpix: (datatype.size() * 8) as i16,
        pixdim: o.pixdim,
        vox_offset: DATA_OFFSET as f32,
        scl_slope: 1.0,
        scl_inter: 0.0,
        qform_code: XFORM_SCANNER_ANAT,
        sform_code: XFORM_SCANNER_ANAT,
        quatern_b: o.quatern[0],
        quatern_c: o.quatern[1],
        quatern_d: o.quatern[2],
        qoffset_x: o.qoffset[0],
        qoffset_y: o.qoffset[1],
        qoffset_z: o.qoffset[2],
        srow_x: o.srows[0],
        srow_y: o.srows[1],
        srow_z: o.srows[2],
        xyzt_units: UNITS_MM,
        intent_code: 0,
        descrip: format!("coxa {}", env!("CARGO_PKG_VERSION")),
    })
}

/// Whether `v` is stored exactly as int16 (`-0.0` is not: it would come back as `+0.0`).
fn fits_i16(v: f32) -> bool {
    v == f32::from(v as i16) && !(v == 0.0 && v.is_sign_negative())
}

/// Writes the volume's values in their stored type (`i16` or `f32`, no converted copy of the
/// volume): int16 when every value fits, else float32.
pub(crate) fn write_volume<T: HuValue>(grid: &Grid, hu: &Array3<T>, path: &Path) -> Result<()> {
    let data = contiguous(hu);
    let datatype = if data.iter().all(|&v| fits_i16(v.hu_f32())) { Datatype::I16 } else { Datatype::F32 };
    write_voxels(grid, &data, datatype, path, |dst, chunk| match datatype {
        Datatype::I16 => dst.as_chunks_mut::<2>().0.iter_mut().zip(chunk).for_each(|(d, &v)| *d = (v.hu_f32() as i16).to_le_bytes()),
        _ => dst.as_chunks_mut::<4>().0.iter_mut().zip(chunk).for_each(|(d, &v)| *d = v.hu_f32().to_le_bytes()),
    })
}

pub(crate) fn write_labels(grid: &Grid, labels: &Array3<u16>, path: &Path) -> Result<()> {
    let data = contiguous(labels);
    let max = data.iter().copied().max().unwrap_or(0);
    let datatype = if max < 256 { Datatype::U8 } else { Datatype::U16 };
    write_voxels(grid, &data, datatype, path, |dst, chunk| match datatype {
        Datatype::U8 => dst.iter_mut().zip(chunk).for_each(|(d, &v)| *d = v as u8), // max < 256 checked above
        _ => dst.as_chunks_mut::<2>().0.iter_mut().zip(chunk).for_each(|(d, &v)| *d = v.to_le_bytes()),
    })
}

/// The array's values in memory order ([k, j, i]), borrowed when already contiguous.
fn contiguous<T: Copy>(a: &Array3<T>) -> Cow<'_, [T]> {
    match a.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(a.iter().copied().collect()),
    }
}

/// Writes the header for `datatype` and the voxels, `encode` turning a chunk of values into
/// little-endian bytes.
fn write_voxels<T>(grid: &Grid, data: &[T], datatype: Datatype, path: &Path, encode: impl Fn(&mut [u8], &[T])) -> Result<()> {
    let header = header_for(grid, datatype, path)?;
    write_file(path, &header, |w| {
        let mut buf = vec![0u8; CHUNK_VOXELS * datatype.size()];
        for chunk in data.chunks(CHUNK_VOXELS) {
            let n = chunk.len() * datatype.size();
            encode(&mut buf[..n], chunk);
            w.write_all(&buf[..n])?;
        }
        Ok(())
    })
}

/// Creates `path` (refusing an existing one), writes the header and `body`, and removes the file
/// again if anything fails.
pub(crate) fn write_file(path: &Path, header: &NiftiHeader, body: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    let container = container(path)?;
    let file = match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(Error::WouldOverwrite { path: path.to_path_buf() });
        }
        Err(e) => return Err(Error::Write { path: path.to_path_buf(), source: e }),
    };
    let result = write_contents(file, container, header, body);
    if let Err(e) = result {
        // Best effort: the partial file is ours (create_new), so removing it loses nothing.
        let _ = std::fs::remove_file(path);
        return Err(Error::Write { path: path.to_path_buf(), source: e });
    }
    Ok(())
}

fn write_contents(file: File, container: Container, header: &NiftiHeader, body: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let out = BufWriter::with_capacity(1 << 20, file);
    match container {
        Container::Raw => {
            let mut out = out;
            out.write_all(&header.to_bytes())?;
            body(&mut out)?;
            out.into_inner().map_err(io::IntoInnerError::into_error)?.sync_data()
        }
        Container::Gzip => {
            let mut gz = GzEncoder::new(out, Compression::new(GZIP_LEVEL));
            gz.write_all(&header.to_bytes())?;
            body(&mut gz)?;
            gz.finish()?.into_inner().map_err(io::IntoInnerError::into_error)?.sync_data()
        }
    }
}
