//! Reads a CT as `coxa_io::open` does (a DICOM folder or file, `.nii`, `.nii.gz`, NRRD) and
//! prints its grid and HU statistics as one JSON line:
//! `cargo run --release -p coxa-io --example volume_stats -- PATH`.
//!
//! The whole-process side of `benches/io_process.py`, which runs this beside a Python process
//! doing the same with SimpleITK (`benches/sitk_stats.py`) and checks that both print the same
//! numbers. `read_s` is the time of `open` alone, inside the process.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use coxa_core::HuValue;
use rayon::prelude::*;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: volume_stats PATH");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    let loaded = match coxa_io::open(&path, &coxa_io::OpenOptions::new()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let read_s = start.elapsed().as_secs_f64();
    let grid = loaded.volume.grid();
    // Min, max and sum in f64 over chunks on every core (NaN voxels counted in neither, as in
    // `Volume::stats`), on the voxels in their stored type (i16 or f32); SimpleITK's
    // StatisticsImageFilter is multi-threaded too.
    let (min, max, sum, n) = coxa_core::with_hu!(loaded.volume, |a| a
        .as_slice()
        .expect("a volume is contiguous")
        .par_chunks(1 << 16)
        .map(chunk_stats)
        .reduce(|| (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0), |a, b| (a.0.min(b.0), a.1.max(b.1), a.2 + b.2, a.3 + b.3)));
    let total_s = start.elapsed().as_secs_f64();
    let out = serde_json::json!({
        "size": grid.size(),
        "spacing_mm": grid.spacing_mm().as_slice(),
        "origin_lps_mm": grid.origin_lps_mm().as_slice(),
        "min_hu": min,
        "max_hu": max,
        "sum_hu": sum,
        "mean_hu": sum / n as f64,
        "n_files": loaded.n_files,
        "read_s": read_s,
        "read_and_stats_s": total_s,
    });
    println!("{out}");
    ExitCode::SUCCESS
}

/// Min, max, sum (f64) and count of the non-NaN values of `c`, in 8 independent lanes so that
/// the loop vectorises (`f32::min`/`max` skip NaN; a NaN adds 0 and is not counted).
fn chunk_stats<T: HuValue>(c: &[T]) -> (f64, f64, f64, usize) {
    const L: usize = 8;
    let (mut lo, mut hi, mut sum, mut n) = ([f32::INFINITY; L], [f32::NEG_INFINITY; L], [0f64; L], [0u32; L]);
    let (blocks, rest) = c.as_chunks::<L>();
    for b in blocks {
        for l in 0..L {
            let v = b[l].hu_f32();
            let ok = !v.is_nan();
            lo[l] = lo[l].min(v);
            hi[l] = hi[l].max(v);
            sum[l] += if ok { f64::from(v) } else { 0.0 };
            n[l] += u32::from(ok);
        }
    }
    for (l, &v) in rest.iter().enumerate() {
        let v = v.hu_f32();
        let ok = !v.is_nan();
        lo[l] = lo[l].min(v);
        hi[l] = hi[l].max(v);
        sum[l] += if ok { f64::from(v) } else { 0.0 };
        n[l] += u32::from(ok);
    }
    let min = lo.iter().fold(f64::INFINITY, |m, &v| m.min(f64::from(v)));
    let max = hi.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
    (min, max, sum.iter().sum(), n.iter().map(|&k| k as usize).sum())
}
