//! `.nii.gz` inflated in one call by libdeflate, straight into the result's own memory.
//!
//! Why not the streaming path: a gzip stream has no independent blocks, so inflating is serial
//! whatever the reader, and its speed decides a `.nii.gz` read. libdeflate inflates a whole
//! buffer about 1.75 times faster than zlib-rs streams it (0.22 against 0.385 CPU-s for the
//! 157 MB of the 512 x 512 x 300 bench file), but it needs the whole input and an output buffer
//! of the final size. Both are had without a second copy of the voxels:
//!
//! - the compressed file is read into memory (its size is checked against the limit with the
//!   result's);
//! - the result's vector, zeroed by the allocator, receives the inflated stream (header,
//!   extensions, voxels) placed so that the stored voxels end at its end: for `s`-byte stored
//!   values and `o`-byte results they start at byte `d = max(vox_offset, (o - s) n)`;
//! - the values are then converted in place, front to back. Result `i` takes bytes
//!   `o i .. o (i + 1)`, which only ever hold stored values already converted, because
//!   `d + s j >= o (i + 1)` for every `j > i` when `d >= (o - s) n`. The front part, whose results
//!   lie wholly before the first unconverted stored value, is converted by every core at once;
//!   that part is half the volume for int16 to `f32`, then a half of the rest, and so on; the tail
//!   goes chunk by chunk through a small copy.
//!
//! Whatever this path cannot take it hands back (`Ok(None)`) to the streaming reader, which
//! gives the established errors: stored values wider than the result, a file of several gzip
//! members, a corrupt or short stream, more than [`GZ_TAIL_LIMIT`] bytes after the voxels, or a
//! limit that leaves no room for the compressed copy.

use std::path::Path;

use bytemuck::Pod;
use rayon::prelude::*;

use super::read::{GZ_TAIL_LIMIT, Layout, Source};
use crate::{Limits, Result};

/// Stored values converted per step (and per task in the parallel part).
const CHUNK_VOXELS: usize = 1 << 18;

/// Reads the voxels of a gzip file into a vector of `n_voxels` results, or `Ok(None)` when this
/// path does not apply (an uncompressed file, or see the module docs). `zeroed(len)` makes a zeroed vector of `len`
/// results (`vec![0.0; len]`, which the allocator zeroes); `decode(stored, out, first)` converts
/// little-endian stored values into `out`, `first` being the index of `out[0]` in the volume.
pub(crate) fn read_whole<T: Pod + Send + Sync>(
    src: &Source,
    layout: &Layout,
    limits: &Limits,
    path: &Path,
    zeroed: impl FnOnce(usize) -> Vec<T>,
    decode: impl Fn(&[u8], &mut [T], usize) -> Result<()> + Sync,
) -> Result<Option<Vec<T>>> {
    let s = layout.datatype.size();
    let o = size_of::<T>();
    let n = layout.n_voxels;
    let offset = layout.data_offset();
    if !src.is_gzip() || s > o || n == 0 {
        return Ok(None);
    }
    let result_bytes = crate::limits::product(&[n as u64, o as u64]);
    if limits.check(path, String::new, result_bytes.saturating_add(src.disk_len())).is_err() {
        return Ok(None);
    }
    // The stream's length modulo 2^32 (the gzip trailer's ISIZE), lifted to the smallest length
    // that holds the voxels the header declares.
    let Some(stored_len) = gzip_trailer_isize(path) else { return Ok(None) };
    let end = offset + (n * s) as u64;
    let trailing = u64::from(stored_len.wrapping_sub(end as u32));
    if trailing > GZ_TAIL_LIMIT {
        return Ok(None);
    }
    let total = end + trailing;
    let d = (offset as usize).max((o - s) * n);
    let start = d - offset as usize;
    let len = (start + total as usize).div_ceil(o).max(n);
    let mut probe = Vec::<T>::new();
    if probe.try_reserve_exact(len).is_err() {
        return Ok(None);
    }
    drop(probe);
    let mut data = zeroed(len);
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut data);
    // While one core reads the compressed file, the other has the kernel map the pages the
    // inflated stream goes to (a write to each), so that the serial inflating does not stop on
    // them; the pages before it fault in the conversion, which runs on every core.
    let (compressed, ()) = rayon::join(
        || std::fs::read(path),
        || {
            bytes[start..].par_chunks_mut(1 << 20).for_each(|c| {
                for b in c.iter_mut().step_by(4096) {
                    *b = 0;
                }
            });
        },
    );
    let Ok(compressed) = compressed else { return Ok(None) };
    let mut inflater = libdeflater::Decompressor::new();
    match inflater.gzip_decompress(&compressed, &mut bytes[start..start + total as usize]) {
        Ok(got) if got as u64 == total => {}
        // Several members (the first ended early), a corrupt stream, or a short one.
        _ => return Ok(None),
    }
    drop(compressed);
    convert_in_place(bytes, d, s, o, n, src.big_endian(), &decode)?;
    data.truncate(n);
    Ok(Some(data))
}

/// The last four bytes of a gzip file: its (last member's) uncompressed length modulo 2^32.
fn gzip_trailer_isize(path: &Path) -> Option<u32> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    if f.metadata().ok()?.len() < 18 {
        return None;
    }
    let _ = f.seek(SeekFrom::End(-4)).ok()?;
    let mut b = [0u8; 4];
    f.read_exact(&mut b).ok()?;
    Some(u32::from_le_bytes(b))
}

/// Converts the `n` stored values of `s` bytes at `bytes[d..]` into `o`-byte results at
/// `bytes[..o n]`, front to back (`d >= (o - s) n`, see the module docs).
fn convert_in_place<T: Pod + Send + Sync>(bytes: &mut [u8], d: usize, s: usize, o: usize, n: usize, big_endian: bool, decode: &(impl Fn(&[u8], &mut [T], usize) -> Result<()> + Sync)) -> Result<()> {
    let stored = |buf: &mut Vec<u8>, from: &[u8]| {
        buf.clear();
        buf.extend_from_slice(from);
        if big_endian && s > 1 {
            for v in buf.chunks_exact_mut(s) {
                v.reverse();
            }
        }
    };
    let mut i0 = 0;
    let mut tmp = Vec::new();
    while i0 < n {
        // Every byte before the first unconverted stored value is free for results.
        let free_end = d + s * i0;
        let i1 = (free_end / o).min(n);
        if i1 - i0 >= 2 * CHUNK_VOXELS {
            let (front, back) = bytes.split_at_mut(free_end);
            let out: &mut [T] = bytemuck::cast_slice_mut(&mut front[o * i0..o * i1]);
            let input = &back[..s * (i1 - i0)];
            out.par_chunks_mut(CHUNK_VOXELS).zip(input.par_chunks(s * CHUNK_VOXELS)).enumerate().try_for_each_init(Vec::new, |buf, (k, (out, input))| {
                stored(buf, input);
                decode(buf, out, i0 + k * CHUNK_VOXELS)
            })?;
            i0 = i1;
        } else {
            let i1 = (i0 + CHUNK_VOXELS).min(n);
            stored(&mut tmp, &bytes[d + s * i0..d + s * i1]);
            let out: &mut [T] = bytemuck::cast_slice_mut(&mut bytes[o * i0..o * i1]);
            decode(&tmp, out, i0)?;
            i0 = i1;
        }
    }
    Ok(())
}
