//! Reading `.nii` / `.nii.gz`: the header, then the voxels in bulk, chunk by chunk.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use coxa_core::Grid;
use flate2::read::MultiGzDecoder;

use super::NiftiError;
use super::geometry;
use super::header::{DATA_OFFSET, Datatype, HEADER_LEN, NIFTI2_HEADER_LEN, NiftiHeader, datatype_name};
use crate::{Error, Limits, Result};

/// Bytes decoded per step (a multiple of every voxel size).
const CHUNK: usize = 1 << 20;
/// Chunks queued between the inflating and the converting thread: enough that the inflating
/// thread rarely waits for the other to be scheduled on a busy machine.
const QUEUED: usize = 6;
/// Read buffer under the gzip decoder.
const GZ_BUFFER: usize = 1 << 20;
/// How far past the voxel data a gzip stream is followed to check its CRC and length.
pub(crate) const GZ_TAIL_LIMIT: u64 = 1 << 20;

/// An open NIfTI file positioned after its header.
pub(crate) struct Source {
    reader: Box<dyn Read + Send>,
    gzip: bool,
    /// Whether the voxels are big endian (set from the header).
    big_endian: bool,
    /// Bytes consumed from the (decompressed) stream so far.
    pos: u64,
    /// Length of the uncompressed file, if known.
    file_len: Option<u64>,
    /// Length of the file on disk (compressed for gzip).
    disk_len: u64,
}

/// Opens `path`, detects gzip by its magic bytes, and reads the header.
pub(crate) fn open(path: &Path) -> Result<(NiftiHeader, Source)> {
    let file = File::open(path).map_err(|e| open_error(path, e))?;
    let file_len = file.metadata().map_err(|e| unreadable(path, e))?.len();
    let mut file = BufReader::with_capacity(GZ_BUFFER, file);
    let mut magic = [0u8; 2];
    let n = read_full(&mut file, &mut magic).map_err(|e| unreadable(path, e))?;
    let gzip = n == 2 && magic == [0x1f, 0x8b];
    let prefix = io::Cursor::new(magic[..n].to_vec());
    let reader: Box<dyn Read + Send> = if gzip { Box::new(MultiGzDecoder::new(BufReader::with_capacity(GZ_BUFFER, prefix.chain(file)))) } else { Box::new(prefix.chain(file)) };
    let mut src = Source { reader, gzip, big_endian: false, pos: 0, file_len: (!gzip).then_some(file_len), disk_len: file_len };
    let mut hdr = [0u8; HEADER_LEN];
    let got = src.read_full(&mut hdr, path)?;
    if got < HEADER_LEN {
        return Err(NiftiError::TruncatedHeader { path: path.to_path_buf(), len: got }.into());
    }
    let header = if NiftiHeader::nifti2_order(&hdr).is_some() {
        let mut hdr2 = [0u8; NIFTI2_HEADER_LEN];
        hdr2[..HEADER_LEN].copy_from_slice(&hdr);
        let got = src.read_full(&mut hdr2[HEADER_LEN..], path)?;
        if got < NIFTI2_HEADER_LEN - HEADER_LEN {
            return Err(NiftiError::TruncatedHeader { path: path.to_path_buf(), len: HEADER_LEN + got }.into());
        }
        NiftiHeader::parse_nifti2(&hdr2, path)?
    } else {
        NiftiHeader::parse(&hdr, path)?
    };
    src.big_endian = header.big_endian;
    Ok((header, src))
}

impl Source {
    /// Reads until `buf` is full or the stream ends; returns the bytes read.
    pub(crate) fn read_full(&mut self, buf: &mut [u8], path: &Path) -> Result<usize> {
        let n = read_full(&mut self.reader, buf).map_err(|e| self.stream_error(path, e))?;
        self.pos += n as u64;
        Ok(n)
    }

    fn stream_error(&self, path: &Path, e: io::Error) -> Error {
        let decoder_error = matches!(e.kind(), io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof);
        if self.gzip && decoder_error { NiftiError::Gzip { path: path.to_path_buf(), source: e }.into() } else { unreadable(path, e) }
    }
}

/// What a voxel reader needs from the header, checked.
pub(crate) struct Layout {
    pub(crate) grid: Grid,
    pub(crate) datatype: Datatype,
    pub(crate) n_voxels: usize,
    /// `Some((slope, intercept))` when the values must be scaled (ITK's `MustRescale`).
    pub(crate) scaling: Option<(f64, f64)>,
    data_offset: u64,
}

/// A `.nii.gz` of `n` bytes holds less than this many times `n` uncompressed bytes (deflate's
/// bound, [`crate::limits::MAX_DEFLATE_RATIO`]; gzip's own headers only lower it).
pub(crate) const MAX_GZIP_RATIO: u64 = crate::limits::MAX_DEFLATE_RATIO;

/// Largest ratio of declared to compressed bytes accepted for a large `.nii.gz`
/// ([`GZIP_RATIO_FROM_BYTES`] and more) under a default memory limit: CTs compress 2-5:1 and
/// label maps (mostly background) up to a few hundred to one; a zip bomb of zeros compresses
/// about 1030:1 (issue 45: an 8.4 GB bomb was inflated without a word).
pub(crate) const MAX_PLAUSIBLE_GZIP_RATIO: u64 = 500;
/// Declared sizes from which [`MAX_PLAUSIBLE_GZIP_RATIO`] applies: 1 GiB (a smaller image
/// inflates quickly whatever its ratio).
pub(crate) const GZIP_RATIO_FROM_BYTES: u64 = 1 << 30;

/// Bytes of working buffers [`stream_voxels`] keeps alive (the queued chunks, one being filled,
/// one being converted, the gzip buffers).
const WORKING_BYTES: u64 = (QUEUED as u64 + 2) * CHUNK as u64 + 2 * GZ_BUFFER as u64;

/// Checks, before anything is allocated, that the file can hold the voxel data its header
/// declares (its length, or for gzip its length times [`MAX_GZIP_RATIO`]) and that the result
/// (`out_bytes_per_voxel` each) and working buffers fit `limits`.
pub(crate) fn check_size(src: &Source, layout: &Layout, out_bytes_per_voxel: u64, limits: &Limits, path: &Path) -> Result<()> {
    let expected = layout.n_voxels as u64 * layout.datatype.size() as u64;
    let end = layout.data_offset.saturating_add(expected);
    if let Some(len) = src.file_len
        && len < end
    {
        return Err(short(path, expected, len.saturating_sub(layout.data_offset), layout.data_offset));
    }
    if src.gzip && src.disk_len.saturating_mul(MAX_GZIP_RATIO) < end {
        return Err(NiftiError::GzipCannotHold { path: path.to_path_buf(), disk_bytes: src.disk_len, expected_bytes: end }.into());
    }
    if src.gzip && end >= GZIP_RATIO_FROM_BYTES && end / src.disk_len.max(1) > MAX_PLAUSIBLE_GZIP_RATIO && limits.source != crate::limits::LimitSource::Caller {
        return Err(NiftiError::GzipRatio { path: path.to_path_buf(), disk_bytes: src.disk_len, expected_bytes: end, max_ratio: MAX_PLAUSIBLE_GZIP_RATIO }.into());
    }
    let size = layout.grid.size();
    // An uncompressed file is read by every worker at once ([`read_plain`]), a chunk each.
    let workers = if src.gzip { 0 } else { crate::limits::product(&[rayon::current_num_threads() as u64, CHUNK as u64]) };
    let working = WORKING_BYTES.saturating_add(workers);
    limits.check(path, || format!("a {}x{}x{} volume", size[0], size[1], size[2]), crate::limits::product(&[layout.n_voxels as u64, out_bytes_per_voxel]).saturating_add(working))
}

/// Checks that `h` describes one 3D volume of a readable type and works out its grid.
pub(crate) fn layout(h: &NiftiHeader, path: &Path) -> Result<Layout> {
    if h.dims[3..].iter().any(|&d| d > 1) {
        return Err(NiftiError::NotThreeD { path: path.to_path_buf(), dims: h.dims }.into());
    }
    let datatype = Datatype::from_code(h.datatype).ok_or_else(|| NiftiError::UnsupportedDatatype { path: path.to_path_buf(), code: h.datatype, name: datatype_name(h.datatype) })?;
    let size = [h.dims[0], h.dims[1], h.dims[2]];
    let n_voxels =
        size.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).filter(|n| n.checked_mul(datatype.size()).is_some()).ok_or_else(|| NiftiError::TooLarge { path: path.to_path_buf(), size })?;
    let v = h.vox_offset;
    // After the header and the 4 bytes of the extension flag.
    let first = if h.version == 2 { NIFTI2_HEADER_LEN + 4 } else { DATA_OFFSET };
    if !v.is_finite() || v < first as f32 || v > u32::MAX as f32 {
        return Err(NiftiError::BadVoxOffset { path: path.to_path_buf(), vox_offset: v }.into());
    }
    let grid = geometry::grid_from_header(h, size, path)?;
    crate::sanity::check_grid(&grid, path)?;
    Ok(Layout { grid, datatype, n_voxels, scaling: scaling(h), data_offset: v as u64 })
}

/// ITK's rule (`NiftiImageIO::MustRescale`, niftilib's `FIXED_FLOAT`): a slope that is 0 (within
/// double epsilon) or not finite means 1; a non-finite intercept means 0; values are scaled unless
/// slope is 1 and intercept 0.
fn scaling(h: &NiftiHeader) -> Option<(f64, f64)> {
    let slope = if h.scl_slope.is_finite() { f64::from(h.scl_slope) } else { 0.0 };
    let inter = if h.scl_inter.is_finite() { f64::from(h.scl_inter) } else { 0.0 };
    let slope = if slope.abs() < f64::EPSILON { 1.0 } else { slope };
    let eps = f64::EPSILON;
    ((slope - 1.0).abs() > eps || inter.abs() > eps).then_some((slope, inter))
}

/// Streams the voxel data of `layout` from `src` in chunks of whole voxels, calling
/// `sink(bytes, first_voxel)` for each with the bytes in little-endian order.
pub(crate) fn stream_voxels(src: &mut Source, layout: &Layout, path: &Path, mut sink: impl FnMut(&[u8], usize) -> Result<()>) -> Result<()> {
    let elem = layout.datatype.size();
    let expected = (layout.n_voxels as u64) * elem as u64;
    if let Some(len) = src.file_len
        && len < layout.data_offset + expected
    {
        let found = len.saturating_sub(layout.data_offset);
        return Err(short(path, expected, found, layout.data_offset));
    }
    // Skip extensions up to vox_offset.
    let skip = layout.data_offset - src.pos;
    let skipped = io::copy(&mut (&mut src.reader).take(skip), &mut io::sink()).map_err(|e| src.stream_error(path, e))?;
    src.pos += skipped;
    if skipped < skip {
        return Err(short(path, expected, 0, layout.data_offset));
    }

    // Inflating (or reading) and converting overlap: a producer thread fills chunks of whole
    // voxels into a bounded channel while this thread hands them to `sink`; buffers are recycled.
    let chunk = CHUNK.min(expected as usize).max(elem);
    let chunk = chunk - chunk % elem;
    let big_endian = src.big_endian;
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<u8>>>(QUEUED);
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let producer = &mut *src;
        let _ = scope.spawn(move || {
            let mut done = 0u64;
            while done < expected {
                let want = ((expected - done) as usize).min(chunk);
                let mut buf = back_rx.try_recv().unwrap_or_default();
                buf.resize(want, 0);
                let msg = match producer.read_full(&mut buf, path) {
                    Ok(got) if got < want => Err(short(path, expected, done + got as u64, layout.data_offset)),
                    Ok(_) => {
                        if big_endian && elem > 1 {
                            for v in buf.chunks_exact_mut(elem) {
                                v.reverse();
                            }
                        }
                        Ok(buf)
                    }
                    Err(e) => Err(e),
                };
                let failed = msg.is_err();
                if tx.send(msg).is_err() || failed {
                    return; // the consumer stopped (a sink error), or the stream ended early
                }
                done += want as u64;
            }
        });
        let mut first = 0usize;
        for msg in rx {
            let buf = msg?;
            sink(&buf, first)?;
            first += buf.len() / elem;
            let _ = back_tx.send(buf);
        }
        Ok(())
    })?;
    if src.gzip {
        // Drive the decoder to the end of the stream so that a corrupt CRC or length shows.
        let _ = io::copy(&mut (&mut src.reader).take(GZ_TAIL_LIMIT), &mut io::sink()).map_err(|e| src.stream_error(path, e))?;
    }
    Ok(())
}

impl Source {
    /// Whether the file is gzip-compressed.
    pub(crate) fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Bytes of the (decompressed) file consumed so far.
    pub(crate) fn position(&self) -> u64 {
        self.pos
    }

    /// Whether the voxels are stored big endian.
    pub(crate) fn big_endian(&self) -> bool {
        self.big_endian
    }

    /// The file's length on disk (compressed, for gzip).
    pub(crate) fn disk_len(&self) -> u64 {
        self.disk_len
    }
}

impl Layout {
    /// Where the voxels start in the (uncompressed) file: `vox_offset`.
    pub(crate) fn data_offset(&self) -> u64 {
        self.data_offset
    }
}

/// Reads the voxels of an uncompressed file, converted by `decode` (e.g. [`decode_f32`]), its
/// chunks read and converted by every worker at once: each reads its part of the file at its
/// offset into a buffer of its own and converts it into its place in the result, so the file's
/// bytes are copied once and the result is written once. The caller has checked the size
/// ([`check_size`]); a file that shrank since is an error, never a short volume.
pub(crate) fn read_plain<T: Send>(src: &Source, layout: &Layout, path: &Path, zeroed: impl FnOnce(usize) -> Vec<T>, decode: impl Fn(&[u8], &mut [T]) + Sync) -> Result<Vec<T>> {
    use rayon::prelude::*;
    use std::io::{Seek, SeekFrom};
    debug_assert!(!src.gzip);
    let elem = layout.datatype.size();
    let expected = layout.n_voxels as u64 * elem as u64;
    if let Some(len) = src.file_len
        && len < layout.data_offset + expected
    {
        return Err(short(path, expected, len.saturating_sub(layout.data_offset), layout.data_offset));
    }
    let mut probe = Vec::<T>::new();
    probe.try_reserve_exact(layout.n_voxels).map_err(|_| NiftiError::TooLarge { path: path.to_path_buf(), size: layout.grid.size() })?;
    drop(probe);
    // Zeroed by the allocator (fresh pages), so nothing is written twice.
    let mut data = zeroed(layout.n_voxels);
    let per_chunk = (CHUNK / elem).max(1);
    let big_endian = src.big_endian;
    data.par_chunks_mut(per_chunk).enumerate().try_for_each_init(
        || (None::<File>, Vec::<u8>::new()),
        |(file, buf), (i, out)| -> Result<()> {
            let f = match file {
                Some(f) => f,
                None => file.insert(File::open(path).map_err(|e| unreadable(path, e))?),
            };
            let start = layout.data_offset + (i * per_chunk * elem) as u64;
            buf.resize(out.len() * elem, 0);
            let _ = f.seek(SeekFrom::Start(start)).map_err(|e| unreadable(path, e))?;
            f.read_exact(buf).map_err(|e| if e.kind() == io::ErrorKind::UnexpectedEof { short(path, expected, start - layout.data_offset, layout.data_offset) } else { unreadable(path, e) })?;
            if big_endian && elem > 1 {
                for v in buf.chunks_exact_mut(elem) {
                    v.reverse();
                }
            }
            decode(buf, out);
            Ok(())
        },
    )?;
    Ok(data)
}

fn short(path: &Path, expected: u64, found: u64, offset: u64) -> Error {
    NiftiError::DataTooShort { path: path.to_path_buf(), expected_bytes: expected, found_bytes: found, offset }.into()
}

/// Reads until `buf` is full or EOF, retrying on `Interrupted`.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn open_error(path: &Path, e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::NotFound => Error::NotFound { path: path.to_path_buf() },
        _ => unreadable(path, e),
    }
}

fn unreadable(path: &Path, e: io::Error) -> Error {
    Error::Unreadable { path: path.to_path_buf(), source: e }
}

/// Converts a chunk of little-endian stored values to `f32`, scaled as ITK does: integers go to
/// `f32` first, then `value * slope + intercept` in `f64`, rounded to `f32`.
pub(crate) fn decode_f32(dt: Datatype, scaling: Option<(f64, f64)>, bytes: &[u8], out: &mut [f32]) {
    macro_rules! run {
        ($t:ty, $n:literal, $widen:expr) => {{
            let (chunks, _) = bytes.as_chunks::<$n>();
            let widen = $widen;
            match scaling {
                None => {
                    for (o, c) in out.iter_mut().zip(chunks) {
                        *o = widen(<$t>::from_le_bytes(*c)) as f32;
                    }
                }
                Some((slope, inter)) => {
                    for (o, c) in out.iter_mut().zip(chunks) {
                        *o = (widen(<$t>::from_le_bytes(*c)) * slope + inter) as f32;
                    }
                }
            }
        }};
    }
    match dt {
        Datatype::U8 => run!(u8, 1, |v: u8| f64::from(v)),
        Datatype::I8 => run!(i8, 1, |v: i8| f64::from(v)),
        Datatype::I16 => run!(i16, 2, |v: i16| f64::from(v)),
        Datatype::U16 => run!(u16, 2, |v: u16| f64::from(v)),
        Datatype::I32 => run!(i32, 4, |v: i32| f64::from(v as f32)),
        Datatype::U32 => run!(u32, 4, |v: u32| f64::from(v as f32)),
        Datatype::I64 => run!(i64, 8, |v: i64| f64::from(v as f32)),
        Datatype::U64 => run!(u64, 8, |v: u64| f64::from(v as f32)),
        Datatype::F32 => run!(f32, 4, |v: f32| f64::from(v)),
        Datatype::F64 => run!(f64, 8, |v: f64| v),
    }
}

/// The integer map `stored * a + b` that gives a volume's values exactly, for integer datatypes up
/// to 32 bits with no scaling or an integer slope and intercept (within 2^24, where `f32` holds
/// every integer, so the result equals [`decode_f32`]'s); `None` for every other case. Whether
/// the values then fit `i16` depends on the data: [`decode_i16`] says so.
pub(crate) fn i16_map(dt: Datatype, scaling: Option<(f64, f64)>) -> Option<(i64, i64)> {
    if !matches!(dt, Datatype::U8 | Datatype::I8 | Datatype::I16 | Datatype::U16 | Datatype::I32 | Datatype::U32) {
        return None;
    }
    let (a, b) = scaling.unwrap_or((1.0, 0.0));
    // (An intercept of -0.0 is left to f32: with a negative slope it gives -0.0 for 0.)
    let integral = |v: f64| v.fract() == 0.0 && v.abs() <= 16_777_216.0;
    (integral(a) && integral(b) && !(b == 0.0 && b.is_sign_negative())).then_some((a as i64, b as i64))
}

/// Converts a chunk of little-endian stored values to `i16` by `stored * a + b` ([`i16_map`]).
/// Returns `false` when a value falls outside `i16` (the chunk then holds wrapped values, to be
/// read again as `f32`).
pub(crate) fn decode_i16(dt: Datatype, (a, b): (i64, i64), bytes: &[u8], out: &mut [i16]) -> bool {
    macro_rules! run {
        ($t:ty, $n:literal) => {{
            let (chunks, _) = bytes.as_chunks::<$n>();
            let mut fits = true;
            for (o, c) in out.iter_mut().zip(chunks) {
                let v = i64::from(<$t>::from_le_bytes(*c)) * a + b;
                *o = v as i16;
                fits &= i64::from(*o) == v;
            }
            fits
        }};
    }
    match dt {
        Datatype::I16 if (a, b) == (1, 0) => {
            let (chunks, _) = bytes.as_chunks::<2>();
            for (o, c) in out.iter_mut().zip(chunks) {
                *o = i16::from_le_bytes(*c);
            }
            true
        }
        Datatype::U8 => run!(u8, 1),
        Datatype::I8 => run!(i8, 1),
        Datatype::I16 => run!(i16, 2),
        Datatype::U16 => run!(u16, 2),
        Datatype::I32 => run!(i32, 4),
        Datatype::U32 => run!(u32, 4),
        Datatype::I64 | Datatype::U64 | Datatype::F32 | Datatype::F64 => false,
    }
}

/// Converts a chunk of little-endian stored values to label ids. `Err((k, value))` names the
/// first voxel (index within the chunk) whose value, after scaling, is not an integer in
/// `0..=65535`.
pub(crate) fn decode_labels(dt: Datatype, scaling: Option<(f64, f64)>, bytes: &[u8], out: &mut [u16]) -> Result<(), (usize, f64)> {
    macro_rules! run {
        ($t:ty, $n:literal, $widen:expr) => {{
            let (chunks, _) = bytes.as_chunks::<$n>();
            let widen = $widen;
            let (slope, inter) = scaling.unwrap_or((1.0, 0.0));
            for (k, (o, c)) in out.iter_mut().zip(chunks).enumerate() {
                let v: f64 = widen(<$t>::from_le_bytes(*c));
                let v = if scaling.is_some() { v * slope + inter } else { v };
                if !(v.fract() == 0.0 && (0.0..=65535.0).contains(&v)) {
                    return Err((k, v));
                }
                *o = v as u16;
            }
            Ok(())
        }};
    }
    match (dt, scaling) {
        (Datatype::U8, None) => {
            for (o, &b) in out.iter_mut().zip(bytes) {
                *o = u16::from(b);
            }
            Ok(())
        }
        (Datatype::U16, None) => {
            let (chunks, _) = bytes.as_chunks::<2>();
            for (o, c) in out.iter_mut().zip(chunks) {
                *o = u16::from_le_bytes(*c);
            }
            Ok(())
        }
        (Datatype::U8, _) => run!(u8, 1, |v: u8| f64::from(v)),
        (Datatype::I8, _) => run!(i8, 1, |v: i8| f64::from(v)),
        (Datatype::I16, _) => run!(i16, 2, |v: i16| f64::from(v)),
        (Datatype::U16, _) => run!(u16, 2, |v: u16| f64::from(v)),
        (Datatype::I32, _) => run!(i32, 4, |v: i32| f64::from(v)),
        (Datatype::U32, _) => run!(u32, 4, |v: u32| f64::from(v)),
        // 64-bit values beyond 2^53 round, but they are far outside 0..=65535 anyway.
        (Datatype::I64, _) => run!(i64, 8, |v: i64| v as f64),
        (Datatype::U64, _) => run!(u64, 8, |v: u64| v as f64),
        (Datatype::F32, _) => run!(f32, 4, |v: f32| f64::from(v)),
        (Datatype::F64, _) => run!(f64, 8, |v: f64| v),
    }
}
