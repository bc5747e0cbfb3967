//! The 348-byte NIfTI-1 header: parse (either byte order) and serialise (little endian).

use std::path::Path;

use super::NiftiError;

/// Size of a NIfTI-1 header, bytes (`sizeof_hdr`).
pub(crate) const HEADER_LEN: usize = 348;
/// Header plus the 4-byte extension flag: where voxel data starts in a file coxa writes.
pub(crate) const DATA_OFFSET: usize = 352;
/// Size of a NIfTI-2 header, bytes (`sizeof_hdr`).
pub(crate) const NIFTI2_HEADER_LEN: usize = 540;

/// `qform_code` / `sform_code` value: coordinates of the scanner (NIFTI_XFORM_SCANNER_ANAT).
pub(crate) const XFORM_SCANNER_ANAT: i16 = 1;
/// `xyzt_units` spatial unit: millimetres (NIFTI_UNITS_MM).
pub(crate) const UNITS_MM: u8 = 2;

/// A scalar voxel type coxa can read: its NIfTI `datatype` code, bytes per voxel and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Datatype {
    U8,
    I8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl Datatype {
    /// The readable type with NIfTI code `code`, if any.
    pub(crate) fn from_code(code: i16) -> Option<Self> {
        Some(match code {
            2 => Self::U8,
            4 => Self::I16,
            8 => Self::I32,
            16 => Self::F32,
            64 => Self::F64,
            256 => Self::I8,
            512 => Self::U16,
            768 => Self::U32,
            1024 => Self::I64,
            1280 => Self::U64,
            _ => return None,
        })
    }
    /// The NIfTI `datatype` code.
    pub(crate) fn code(self) -> i16 {
        match self {
            Self::U8 => 2,
            Self::I16 => 4,
            Self::I32 => 8,
            Self::F32 => 16,
            Self::F64 => 64,
            Self::I8 => 256,
            Self::U16 => 512,
            Self::U32 => 768,
            Self::I64 => 1024,
            Self::U64 => 1280,
        }
    }
    /// Bytes per voxel.
    pub(crate) fn size(self) -> usize {
        match self {
            Self::U8 | Self::I8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::I64 | Self::U64 | Self::F64 => 8,
        }
    }
}

/// The name (numpy style, as nibabel prints it) of NIfTI datatype `code`.
pub fn datatype_name(code: i16) -> &'static str {
    match code {
        0 => "unknown",
        1 => "binary",
        2 => "uint8",
        4 => "int16",
        8 => "int32",
        16 => "float32",
        32 => "complex64",
        64 => "float64",
        128 => "RGB24",
        256 => "int8",
        512 => "uint16",
        768 => "uint32",
        1024 => "int64",
        1280 => "uint64",
        1536 => "float128",
        1792 => "complex128",
        2048 => "complex256",
        2304 => "RGBA32",
        _ => "not a NIfTI datatype",
    }
}

/// The fields of a NIfTI-1 header that coxa uses, as stored in the file (no unit conversion, no
/// RAS to LPS flip). Fields coxa ignores (intent parameters, slice timing, `cal_min`/`cal_max`,
/// `aux_file`, ...) are not kept.
///
/// [`read_header`](super::read_header) checks `sizeof_hdr`, `magic` and `dim` while parsing; the
/// rest (datatype, `pixdim`, `vox_offset`, orientation) is checked by the volume readers.
#[derive(Debug, Clone, PartialEq)]
pub struct NiftiHeader {
    /// 1 for NIfTI-1 (348-byte header), 2 for NIfTI-2 (540 bytes: 64-bit sizes and offsets, double
    /// precision geometry, kept here in single precision).
    pub version: u8,
    /// Whether the file is big endian (detected from `sizeof_hdr`). coxa always writes little endian.
    pub big_endian: bool,
    /// Number of dimensions, `dim[0]` (1..=7).
    pub ndim: usize,
    /// Voxels along each dimension, `dim[1..=7]` (x, y, z, t, ...). Entries past `ndim` are 1.
    pub dims: [usize; 7],
    /// Voxel type code (`datatype`), e.g. 4 for int16; see [`NiftiHeader::datatype_name`].
    pub datatype: i16,
    /// Bits per voxel as stored (`bitpix`); readers go by `datatype`, as niftilib does.
    pub bitpix: i16,
    /// `pixdim[0..8]`: `pixdim[0]` is `qfac` (its sign flips the qform's third axis), `pixdim[1..=3]`
    /// the voxel spacing in `xyzt_units`, `pixdim[4]` the time step.
    pub pixdim: [f32; 8],
    /// Byte offset of the voxel data in a `.nii` file (`vox_offset`).
    pub vox_offset: f32,
    /// Data scaling slope: value = `scl_slope * stored + scl_inter`; 0 (or not finite) means no scaling.
    pub scl_slope: f32,
    /// Data scaling intercept (see `scl_slope`).
    pub scl_inter: f32,
    /// How to read the qform (0 = absent, 1 = scanner, 2 = aligned, 3 = Talairach, 4 = MNI).
    pub qform_code: i16,
    /// How to read the sform (codes as for `qform_code`).
    pub sform_code: i16,
    /// Quaternion parameter b of the qform rotation.
    pub quatern_b: f32,
    /// Quaternion parameter c of the qform rotation.
    pub quatern_c: f32,
    /// Quaternion parameter d of the qform rotation.
    pub quatern_d: f32,
    /// qform translation x (RAS, in `xyzt_units`).
    pub qoffset_x: f32,
    /// qform translation y.
    pub qoffset_y: f32,
    /// qform translation z.
    pub qoffset_z: f32,
    /// First row of the sform affine (voxel index to RAS x).
    pub srow_x: [f32; 4],
    /// Second row of the sform affine (to RAS y).
    pub srow_y: [f32; 4],
    /// Third row of the sform affine (to RAS z).
    pub srow_z: [f32; 4],
    /// Units of `pixdim` (bits 0-2: 1 m, 2 mm, 3 um) and time (bits 3-5).
    pub xyzt_units: u8,
    /// Intent code (1002 = label map, 0 = none).
    pub intent_code: i16,
    /// Free text (`descrip`, at most 79 bytes), up to its first NUL.
    pub descrip: String,
}

impl NiftiHeader {
    /// The name of [`NiftiHeader::datatype`], e.g. `"int16"`.
    pub fn datatype_name(&self) -> &'static str {
        datatype_name(self.datatype)
    }

    /// Parses a header from its first 348 bytes. `path` only names the file in errors.
    pub(crate) fn parse(b: &[u8; HEADER_LEN], path: &Path) -> Result<Self, NiftiError> {
        let le = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let be = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let big_endian = if le == HEADER_LEN as i32 {
            false
        } else if be == HEADER_LEN as i32 {
            true
        } else {
            return Err(NiftiError::BadSizeofHdr { path: path.to_path_buf(), sizeof_hdr: le });
        };
        let r = Fields { b, big_endian };

        let magic = &b[344..348];
        if magic != b"n+1\0" {
            let shown = String::from_utf8_lossy(&magic[..magic.iter().position(|&c| c == 0).unwrap_or(4)]).into_owned();
            return Err(NiftiError::BadMagic { path: path.to_path_buf(), magic: shown });
        }

        let ndim_raw = r.i16(40);
        if !(1..=7).contains(&ndim_raw) {
            return Err(NiftiError::BadDimCount { path: path.to_path_buf(), ndim: ndim_raw });
        }
        let ndim = ndim_raw as usize;
        let mut dims = [1usize; 7];
        for (axis, d) in dims.iter_mut().enumerate().take(ndim) {
            let v = r.i16(42 + 2 * axis);
            if v < 1 {
                return Err(NiftiError::BadDim { path: path.to_path_buf(), axis: axis + 1, value: i64::from(v) });
            }
            *d = v as usize;
        }
        let mut pixdim = [0f32; 8];
        for (i, p) in pixdim.iter_mut().enumerate() {
            *p = r.f32(76 + 4 * i);
        }
        let row = |off: usize| [r.f32(off), r.f32(off + 4), r.f32(off + 8), r.f32(off + 12)];
        let descrip_bytes = &b[148..228];
        let descrip_len = descrip_bytes.iter().position(|&c| c == 0).unwrap_or(descrip_bytes.len());
        Ok(Self {
            version: 1,
            big_endian,
            ndim,
            dims,
            datatype: r.i16(70),
            bitpix: r.i16(72),
            pixdim,
            vox_offset: r.f32(108),
            scl_slope: r.f32(112),
            scl_inter: r.f32(116),
            qform_code: r.i16(252),
            sform_code: r.i16(254),
            quatern_b: r.f32(256),
            quatern_c: r.f32(260),
            quatern_d: r.f32(264),
            qoffset_x: r.f32(268),
            qoffset_y: r.f32(272),
            qoffset_z: r.f32(276),
            srow_x: row(280),
            srow_y: row(296),
            srow_z: row(312),
            xyzt_units: b[123],
            intent_code: r.i16(68),
            descrip: String::from_utf8_lossy(&descrip_bytes[..descrip_len]).into_owned(),
        })
    }

    /// The byte order of a header starting with `sizeof_hdr` bytes `b`: `Some(big_endian)` for a
    /// NIfTI-2 header (540), `None` for anything else.
    pub(crate) fn nifti2_order(b: &[u8]) -> Option<bool> {
        let first: [u8; 4] = b.get(..4)?.try_into().ok()?;
        let n = NIFTI2_HEADER_LEN as i32;
        if i32::from_le_bytes(first) == n {
            Some(false)
        } else if i32::from_be_bytes(first) == n {
            Some(true)
        } else {
            None
        }
    }

    /// Parses a NIfTI-2 header from its 540 bytes (single file, magic `n+2`). Its 64-bit sizes
    /// must fit the platform; its double precision fields are kept in single precision (a NIfTI-2
    /// converted from a NIfTI-1 file keeps every value exactly).
    pub(crate) fn parse_nifti2(b: &[u8; NIFTI2_HEADER_LEN], path: &Path) -> Result<Self, NiftiError> {
        let big_endian = Self::nifti2_order(b).ok_or_else(|| NiftiError::BadSizeofHdr { path: path.to_path_buf(), sizeof_hdr: i32::from_le_bytes([b[0], b[1], b[2], b[3]]) })?;
        let r = Fields { b, big_endian };
        let (i16_at, i32_at, i64_at, f32_at) = (|o| r.i16(o), |o| r.i32(o), |o| r.i64(o), |o| r.f64_as_f32(o));
        let magic = &b[4..12];
        if magic != b"n+2\0\r\n\x1a\n" {
            let shown = String::from_utf8_lossy(&magic[..magic.iter().position(|&c| c == 0).unwrap_or(3).min(3)]).into_owned();
            return Err(NiftiError::BadMagic { path: path.to_path_buf(), magic: shown });
        }
        let ndim_raw = i64_at(16);
        if !(1..=7).contains(&ndim_raw) {
            return Err(NiftiError::BadDimCount { path: path.to_path_buf(), ndim: i16::try_from(ndim_raw).unwrap_or(i16::MAX) });
        }
        let ndim = ndim_raw as usize;
        let mut dims = [1usize; 7];
        for (axis, d) in dims.iter_mut().enumerate().take(ndim) {
            let v = i64_at(24 + 8 * axis);
            *d = usize::try_from(v).ok().filter(|d| *d >= 1).ok_or_else(|| NiftiError::BadDim { path: path.to_path_buf(), axis: axis + 1, value: v })?;
        }
        let mut pixdim = [0f32; 8];
        for (i, p) in pixdim.iter_mut().enumerate() {
            *p = f32_at(104 + 8 * i);
        }
        let row = |off: usize| [f32_at(off), f32_at(off + 8), f32_at(off + 16), f32_at(off + 24)];
        let descrip_bytes = &b[240..320];
        let descrip_len = descrip_bytes.iter().position(|&c| c == 0).unwrap_or(descrip_bytes.len());
        let code = |off: usize| i16::try_from(i32_at(off)).unwrap_or(-1);
        let vox_offset = i64_at(168);
        Ok(Self {
            version: 2,
            big_endian,
            ndim,
            dims,
            datatype: i16_at(12),
            bitpix: i16_at(14),
            pixdim,
            // Exact up to 16 MiB; a larger offset is refused as implausible (`read::layout`).
            vox_offset: vox_offset as f32,
            scl_slope: f32_at(176),
            scl_inter: f32_at(184),
            qform_code: code(344),
            sform_code: code(348),
            quatern_b: f32_at(352),
            quatern_c: f32_at(360),
            quatern_d: f32_at(368),
            qoffset_x: f32_at(376),
            qoffset_y: f32_at(384),
            qoffset_z: f32_at(392),
            srow_x: row(400),
            srow_y: row(432),
            srow_z: row(464),
            xyzt_units: u8::try_from(i32_at(500)).unwrap_or(0),
            intent_code: code(504),
            descrip: String::from_utf8_lossy(&descrip_bytes[..descrip_len]).into_owned(),
        })
    }

    /// Serialises the header (little endian, magic `n+1`), followed by the 4-byte extension flag
    /// (no extensions). Fields not kept in [`NiftiHeader`] are written as zero; `dim` entries past
    /// `ndim` as 1. `descrip` is cut to 79 bytes on a character boundary.
    pub(crate) fn to_bytes(&self) -> [u8; DATA_OFFSET] {
        let mut b = [0u8; DATA_OFFSET];
        let mut w = Writer { b: &mut b };
        w.i32(0, HEADER_LEN as i32);
        w.b[38] = b'r'; // "regular", as niftilib writes it
        w.i16(40, self.ndim.clamp(1, 7) as i16);
        for (axis, &d) in self.dims.iter().enumerate() {
            let d = if axis < self.ndim { d } else { 1 };
            w.i16(42 + 2 * axis, i16::try_from(d).unwrap_or(i16::MAX));
        }
        w.i16(68, self.intent_code);
        w.i16(70, self.datatype);
        w.i16(72, self.bitpix);
        for (i, &p) in self.pixdim.iter().enumerate() {
            w.f32(76 + 4 * i, p);
        }
        w.f32(108, self.vox_offset);
        w.f32(112, self.scl_slope);
        w.f32(116, self.scl_inter);
        w.b[123] = self.xyzt_units;
        let mut n = self.descrip.len().min(79);
        while !self.descrip.is_char_boundary(n) {
            n -= 1;
        }
        w.b[148..148 + n].copy_from_slice(&self.descrip.as_bytes()[..n]);
        w.i16(252, self.qform_code);
        w.i16(254, self.sform_code);
        w.f32(256, self.quatern_b);
        w.f32(260, self.quatern_c);
        w.f32(264, self.quatern_d);
        w.f32(268, self.qoffset_x);
        w.f32(272, self.qoffset_y);
        w.f32(276, self.qoffset_z);
        for (off, row) in [(280, &self.srow_x), (296, &self.srow_y), (312, &self.srow_z)] {
            for (i, &v) in row.iter().enumerate() {
                w.f32(off + 4 * i, v);
            }
        }
        w.b[344..348].copy_from_slice(b"n+1\0");
        b
    }
}

/// Reads fields of a header in its byte order.
/// A header's fields at their byte offsets, in its byte order (NIfTI-1's 348 bytes, NIfTI-2's 540).
struct Fields<'a> {
    b: &'a [u8],
    big_endian: bool,
}

impl Fields<'_> {
    fn bytes<const N: usize>(&self, off: usize) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&self.b[off..off + N]);
        a
    }
    fn i16(&self, off: usize) -> i16 {
        let a = self.bytes::<2>(off);
        if self.big_endian { i16::from_be_bytes(a) } else { i16::from_le_bytes(a) }
    }
    fn i32(&self, off: usize) -> i32 {
        let a = self.bytes::<4>(off);
        if self.big_endian { i32::from_be_bytes(a) } else { i32::from_le_bytes(a) }
    }
    fn i64(&self, off: usize) -> i64 {
        let a = self.bytes::<8>(off);
        if self.big_endian { i64::from_be_bytes(a) } else { i64::from_le_bytes(a) }
    }
    fn f32(&self, off: usize) -> f32 {
        let a = self.bytes::<4>(off);
        if self.big_endian { f32::from_be_bytes(a) } else { f32::from_le_bytes(a) }
    }
    /// A NIfTI-2 double, kept in single precision.
    fn f64_as_f32(&self, off: usize) -> f32 {
        let a = self.bytes::<8>(off);
        (if self.big_endian { f64::from_be_bytes(a) } else { f64::from_le_bytes(a) }) as f32
    }
}

/// Writes little-endian fields.
struct Writer<'a> {
    b: &'a mut [u8; DATA_OFFSET],
}

impl Writer<'_> {
    fn i16(&mut self, off: usize, v: i16) {
        self.b[off..off + 2].copy_from_slice(&v.to_le_bytes());
    }
    fn i32(&mut self, off: usize, v: i32) {
        self.b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn f32(&mut self, off: usize, v: f32) {
        self.b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
}
