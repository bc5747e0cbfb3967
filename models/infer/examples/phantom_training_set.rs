//! Writes the training and validation set of coxa's phantom segmentation test model
//! (`models/infer/phantom/`): hip phantoms (`coxa_anatomy::phantom`) with varied geometry, noise
//! and voxel size, each as the CT the model sees (the phantom's HU resampled to the model's 4 mm
//! grid by coxa's own trilinear resampling, as `coxa_infer::segment` does) and its exact labels on
//! that grid (the same phantom generated at 4 mm without noise: the label of each 4 mm voxel
//! centre).
//!
//! `cargo run --release -p coxa-infer --example phantom_training_set -- OUT_DIR [N]` writes
//! `OUT_DIR/NNN.ct.f32` (HU, little-endian float32, `[k, j, i]`), `OUT_DIR/NNN.labels.u16`
//! (coxa's ids) and `OUT_DIR/index.json` (shape and spec of each case). Case 0 is the demo's
//! phantom (`PhantomSpec::default()`): the training script holds it out for validation.

use std::io::Write;
use std::path::PathBuf;

use coxa_anatomy::phantom::{PhantomSpec, hip_phantom};
use nalgebra::Vector3;
use ndarray::{Array3, s};

/// The model's grid spacing, mm.
const MODEL_MM: f64 = 4.0;

/// A small deterministic generator (xorshift64*), so the set is the same on every machine.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let u = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * u
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().ok_or("usage: phantom_training_set OUT_DIR [N]")?);
    let n: usize = args.next().map_or(Ok(40), |s| s.parse())?;
    std::fs::create_dir_all(&out)?;
    let mut rng = Rng(0x00C0_FFEE_1234_5678);
    let mut index = Vec::new();
    for case in 0..n {
        let mut spec = PhantomSpec::default();
        if case > 0 {
            spec.voxel_mm = [1.25, 1.5, 2.0][case % 3];
            spec.head_radius_mm = rng.uniform(20.0, 28.0);
            spec.joint_space_mm = rng.uniform(2.0, 4.5);
            spec.half_hip_distance_mm = rng.uniform(80.0, 100.0);
            spec.acetabulum_deg = (rng.uniform(35.0, 55.0), rng.uniform(5.0, 30.0));
            spec.neck_shaft_deg = rng.uniform(120.0, 140.0);
            spec.neck_anteversion_deg = rng.uniform(0.0, 30.0);
            spec.noise_hu = rng.uniform(5.0, 30.0);
            spec.seed = 1000 + case as u64;
        }
        let fine = hip_phantom(&spec);
        let ct = fine.ct.resampled(Vector3::repeat(MODEL_MM))?;
        let [ni, nj, nk] = ct.grid().size();
        let mut coarse_spec = spec.clone();
        coarse_spec.voxel_mm = MODEL_MM;
        coarse_spec.noise_hu = 0.0;
        let coarse = hip_phantom(&coarse_spec);
        // Both grids start at the phantom's origin with 4 mm steps; the resampled CT may be a
        // slice longer (the phantom's last voxel centre lies inside its extent): that slice is
        // above every labelled structure, so it is background.
        let mut labels = Array3::<u16>::zeros((nk, nj, ni));
        let src = coarse.labels.labels();
        let (ck, cj, ci) = (nk.min(src.shape()[0]), nj.min(src.shape()[1]), ni.min(src.shape()[2]));
        labels.slice_mut(s![..ck, ..cj, ..ci]).assign(&src.slice(s![..ck, ..cj, ..ci]));
        let mut f = std::io::BufWriter::new(std::fs::File::create(out.join(format!("{case:03}.ct.f32")))?);
        for v in ct.hu().iter() {
            f.write_all(&v.to_le_bytes())?;
        }
        f.flush()?;
        let mut f = std::io::BufWriter::new(std::fs::File::create(out.join(format!("{case:03}.labels.u16")))?);
        for v in labels.iter() {
            f.write_all(&v.to_le_bytes())?;
        }
        f.flush()?;
        index.push(format!(
            "{{\"case\": {case}, \"shape_kji\": [{nk}, {nj}, {ni}], \"voxel_mm\": {}, \"head_radius_mm\": {:.3}, \"noise_hu\": {:.3}, \"demo_phantom\": {}}}",
            spec.voxel_mm,
            spec.head_radius_mm,
            spec.noise_hu,
            case == 0
        ));
        eprintln!("case {case}: {nk} x {nj} x {ni} at {MODEL_MM} mm (from {} mm)", spec.voxel_mm);
    }
    std::fs::write(out.join("index.json"), format!("[\n{}\n]\n", index.join(",\n")))?;
    Ok(())
}
