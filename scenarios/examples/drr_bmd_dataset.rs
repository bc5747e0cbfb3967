//! The training set of the demonstration BMD-from-radiograph model (issue 22 part 4), as the
//! research built one: radiographs simulated from CT with known bone density.
//!
//! ```text
//! cargo run --release -p coxa-scenarios --no-default-features --example drr_bmd_dataset -- \
//!     CT LABELS OUT_DIR N SEED
//! ```
//!
//! The CT's landmarks (coxa's anatomy stage, once) and internal calibration (fat and muscle)
//! are found once. For each of N variants: every voxel of the bone labels (femurs, hips, sacrum;
//! metal above 2500 HU left alone) has its calibrated density scaled by a factor drawn uniformly
//! from 0.55..1.6 (HU = slope x density + intercept, so fat and muscle, and so the calibration,
//! stay as they are); coxa's CT density module (`coxa_diagnostics::density::femur_density`)
//! measures the right femur's neck aBMD and YAM % on that volume (the label); an AP radiograph
//! centred on the right femoral head (as `coxa xray --centre hip --side right` centres one) is simulated (`coxa_diagnostics::drr`) with the pose and
//! the magnification varied a little (beam direction ±4° about the patient's long axis and ±3°
//! about the left-right axis, source-to-image 1000..1200 mm, centre ±8 mm). Written: `OUT/NNN.f32`
//! (rows x cols little-endian f32 line integrals, mm of water) and `OUT/labels.json`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use coxa_core::{Side, Volume};
use coxa_diagnostics::density::{self, CalibrationSettings, FemurDensitySettings};
use coxa_diagnostics::drr::{self, DrrVolume};
use nalgebra::{Point3, Rotation3, Vector3};
use serde_json::json;

/// Detector pixel size of the simulated radiographs, mm (the demo card's spacing).
const PIXEL_MM: f64 = 0.8;
/// Rows and columns of the simulated radiographs.
const SIZE: usize = 96;

/// SplitMix64, for a reproducible set.
struct Rng(u64);
impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 5 {
        bail!("usage: drr_bmd_dataset CT LABELS OUT_DIR N SEED");
    }
    let (ct_path, labels_path, out) = (PathBuf::from(&args[0]), PathBuf::from(&args[1]), PathBuf::from(&args[2]));
    let n: usize = args[3].parse().context("N")?;
    let mut rng = Rng(args[4].parse().context("SEED")?);
    if out.exists() {
        bail!("{} exists; give a new folder", out.display());
    }
    let ct = coxa_io::open(&ct_path, &coxa_io::OpenOptions::new())?.volume;
    let map = coxa_io::nifti::read_label_map(&labels_path)?;
    let tmp = std::env::temp_dir().join(format!("coxa-drr-bmd-{}", std::process::id()));
    let source = coxa_case::anatomy::AnatomySource::Ct { ct: ct_path.clone(), labels: Some(labels_path.clone()), label_names: None, dicom: coxa_io::dicom::ReadOptions::new(), any_modality: false };
    let anatomy = coxa_case::anatomy::run_full(&source, &tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    let anatomy = anatomy?;
    let femur = anatomy.landmarks.femurs.iter().find(|f| f.side == Side::Right).context("no right femur")?.clone();
    let heads: Vec<Point3<f64>> = anatomy.landmarks.femurs.iter().map(|f| f.head_centre.lps_mm).collect();
    let grow = Vector3::repeat(120.0);
    let lo = heads.iter().fold(Vector3::repeat(f64::INFINITY), |a, p| a.inf(&p.coords));
    let hi = heads.iter().fold(Vector3::repeat(f64::NEG_INFINITY), |a, p| a.sup(&p.coords));
    let cal = density::internal_calibration(&ct, Some(&map), Some((Point3::from(lo - grow), Point3::from(hi + grow))), &CalibrationSettings::default())?;
    let bone_ids = [25u16, 75, 76, 77, 78];
    let back_y = ct.hu().indexed_iter().filter(|(_, v)| **v > -300.0).map(|((k, j, i), _)| ct.grid().voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64)).y).fold(f64::NEG_INFINITY, f64::max);
    std::fs::create_dir_all(&out)?;
    let mut labels = Vec::new();
    for v in 0..n {
        let factor = rng.range(0.55, 1.6);
        let mut hu = ct.hu().into_owned();
        for (h, l) in hu.iter_mut().zip(map.labels().iter()) {
            if bone_ids.contains(l) && *h < 2500.0 {
                let mg = cal.mg_cm3(f64::from(*h));
                *h = (cal.slope_hu_per_mg_cm3 * mg * factor + cal.intercept_hu) as f32;
            }
        }
        let scaled = Volume::new(ct.grid().clone(), hu)?;
        let d = density::femur_density(&scaled, &map, 76, &femur, &cal, &FemurDensitySettings::default())?;
        let Some(abmd) = d.abmd_g_cm2.neck else { bail!("variant {v}: no neck aBMD ({:?})", d.notes) };
        let yaw = rng.range(-4.0, 4.0).to_radians();
        let tilt = rng.range(-3.0, 3.0).to_radians();
        let rot = Rotation3::from_axis_angle(&Vector3::z_axis(), yaw) * Rotation3::from_axis_angle(&Vector3::x_axis(), tilt);
        let sid = rng.range(1000.0, 1200.0);
        let centre = femur.head_centre.lps_mm + Vector3::new(rng.range(-8.0, 8.0), 0.0, rng.range(-8.0, 8.0));
        let g = drr::ap_pelvis(centre, rot * Vector3::x(), rot * Vector3::z(), back_y, sid, SIZE, SIZE, PIXEL_MM)?;
        let img = DrrVolume::new(&scaled)?.project(&g);
        let bytes: Vec<u8> = img.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::write(out.join(format!("{v:03}.f32")), bytes)?;
        let (sid_mm, sod_mm) = g.distances_mm(&femur.head_centre.lps_mm);
        eprintln!("variant {v}: factor {factor:.3}, neck aBMD {abmd:.4} g/cm2, YAM {:.1} %, magnification {:.3}", d.yam_percent.neck.unwrap_or(f64::NAN), sid_mm / sod_mm);
        labels.push(json!({
            "file": format!("{v:03}.f32"), "density_factor": factor, "neck_abmd_g_cm2": abmd, "neck_yam_percent": d.yam_percent.neck,
            "neck_vbmd_mg_cm3": d.vbmd_mg_cm3.neck, "magnification": sid_mm / sod_mm, "yaw_deg": yaw.to_degrees(), "tilt_deg": tilt.to_degrees(), "sid_mm": sid_mm,
        }));
    }
    let record = json!({"ct": ct_path.file_name().map(|f| f.to_string_lossy().to_string()), "rows": SIZE, "cols": SIZE, "pixel_mm": PIXEL_MM, "variants": labels,
        "calibration": {"slope_hu_per_mg_cm3": cal.slope_hu_per_mg_cm3, "intercept_hu": cal.intercept_hu}});
    std::fs::write(out.join("labels.json"), serde_json::to_string_pretty(&record)?)?;
    Ok(())
}
