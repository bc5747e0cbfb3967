//! Bone density: internal calibration on a phantom CT with inserts of known density, and the
//! DXA-equivalent aBMD of a synthetic femur of known geometry against the analytic value.

use coxa_core::{AxisLandmark, FemurLandmarks, Grid, LabelMap, Landmark, Quality, Side, Source, Volume};
use coxa_diagnostics::density::{Calibration, CalibrationSettings, DensityFlag, FemurDensitySettings, femur_density, internal_calibration};
use nalgebra::{Point3, Vector3};
use ndarray::Array3;
use rand::{Rng, SeedableRng, rngs::StdRng};

/// A gaussian sample (Box-Muller).
fn gauss(rng: &mut StdRng) -> f64 {
    let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// A phantom CT, 1 mm voxels: a body of muscle (radius 75 mm) in 15 mm of subcutaneous fat, in
/// air; under it a pad of hydroxyapatite inserts (radius 8 mm) of known density. The "scanner"
/// maps density to HU with an offset and gain that differ from the nominal ones, plus 12 HU of
/// noise; fat and muscle have the default equivalent densities.
#[test]
fn phantom_inserts_are_calibrated_back_within_2_percent() {
    let (gain, offset) = (0.87, 23.0); // HU per mg/cm³, HU
    let settings = CalibrationSettings::default();
    let hu_of = |rho: f64| offset + gain * rho;
    let inserts = [0.0, 50.0, 100.0, 200.0, 400.0, 800.0];
    let (ni, nj, nk) = (220usize, 240usize, 30usize);
    let grid = Grid::axis_aligned([ni, nj, nk], Vector3::repeat(1.0), Vector3::new(-110.0, -110.0, 0.0)).unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let mut hu = Array3::<f32>::zeros((nk, nj, ni));
    let insert_centre = |m: usize| (-75.0 + 30.0 * m as f64, 112.0);
    for k in 0..nk {
        for j in 0..nj {
            for i in 0..ni {
                let (x, y) = (-110.0 + i as f64, -110.0 + j as f64);
                let r = (x * x + y * y).sqrt();
                let mut v = if r < 75.0 {
                    hu_of(settings.muscle_equivalent_mg_cm3)
                } else if r < 90.0 {
                    hu_of(settings.fat_equivalent_mg_cm3)
                } else {
                    -1000.0
                };
                for (m, rho) in inserts.iter().enumerate() {
                    let (cx, cy) = insert_centre(m);
                    if (x - cx).hypot(y - cy) < 8.0 {
                        v = hu_of(*rho);
                    }
                }
                hu[[k, j, i]] = (v + 12.0 * gauss(&mut rng)) as f32;
            }
        }
    }
    let ct = Volume::new(grid, hu).unwrap();
    // The hip region: the body, not the pad under it.
    let roi = (Point3::new(-100.0, -100.0, 0.0), Point3::new(100.0, 95.0, 29.0));
    let cal = internal_calibration(&ct, None, Some(roi), &settings).unwrap();
    eprintln!("calibration: slope {:.4} HU per mg/cm³ (true {gain}), intercept {:.2} HU (true {offset}); {:?}", cal.slope_hu_per_mg_cm3, cal.intercept_hu, cal.references);
    assert!((cal.slope_hu_per_mg_cm3 / gain - 1.0).abs() < 0.02);
    for (m, rho) in inserts.iter().enumerate() {
        let (cx, cy) = insert_centre(m);
        let mut v: Vec<f64> = Vec::new();
        for k in 0..nk {
            for j in 0..nj {
                for i in 0..ni {
                    let (x, y) = (-110.0 + i as f64, -110.0 + j as f64);
                    if (x - cx).hypot(y - cy) < 6.0 {
                        v.push(f64::from(ct.hu()[[k, j, i]]));
                    }
                }
            }
        }
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let measured = cal.mg_cm3(mean);
        eprintln!("insert {rho:>5} mg/cm³: measured {measured:.2}");
        // 2 % of the value; the 0 insert within 2 mg/cm³ (2 % of 100).
        assert!((measured - rho).abs() <= (0.02 * rho).max(2.0), "insert {rho}: {measured:.2}");
    }
    // Uncalibrated (HU taken as mg/cm³) the 800 insert would be 13 % off: the test can fail.
    assert!((hu_of(800.0) - 800.0).abs() / 800.0 > 0.1);
}

/// A synthetic proximal femur: a spherical head (radius 22 mm, 300 mg/cm³) on a hollow
/// cylindrical neck (outer radius 13 mm, cortex 4 mm at 900 mg/cm³, trabecular core at
/// 150 mg/cm³), 70 mm long, oblique to the CT grid, 0.6 mm voxels with partial volume.
/// The neck box's aBMD equals mass per length / projected width,
/// (rho_c pi (R² - r²) + rho_t pi r²) / 2R, and its vBMD the mass per volume, within 2 %.
#[test]
fn synthetic_femur_abmd_equals_the_analytic_value() {
    let (r_out, r_in, rho_c, rho_t, rho_head, r_head, len) = (13.0, 9.0, 900.0, 150.0, 300.0, 22.0, 70.0);
    let cal = Calibration::known(0.95, 12.0);
    let s = Vector3::new(0.05, 0.12, 1.0).normalize();
    // The neck runs from the head down and laterally (right femur: lateral is -x), 130 deg to the shaft.
    let lateral = Vector3::new(-1.0, 0.0, 0.0);
    let perp = (lateral - s * lateral.dot(&s)).normalize();
    // From the head towards the shaft: distal and lateral, 50 deg off the shaft's distal direction.
    let ang = 50f64.to_radians();
    let n = (-s * ang.cos() + perp * ang.sin()).normalize();
    let h = Point3::new(3.3, -2.1, 40.0);
    let a = h + n * len; // where the neck meets the shaft axis
    let density = |p: &Point3<f64>| -> Option<f64> {
        let r = p - h;
        if r.norm() <= r_head {
            return Some(rho_head);
        }
        let t = r.dot(&n);
        let dist = (r - n * t).norm();
        if (0.0..=len).contains(&t) && dist <= r_out {
            return Some(if dist <= r_in { rho_t } else { rho_c });
        }
        None
    };
    let v = 0.6;
    let lo = Point3::new(h.x - 70.0, h.y - 40.0, h.z - 100.0);
    let (ni, nj, nk) = (175usize, 135usize, 210usize);
    let grid = Grid::axis_aligned([ni, nj, nk], Vector3::repeat(v), lo.coords).unwrap();
    let mut hu = Array3::<f32>::from_elem((nk, nj, ni), cal.intercept_hu as f32);
    let mut lab = Array3::<u16>::zeros((nk, nj, ni));
    let sub = 3;
    for k in 0..nk {
        for j in 0..nj {
            for i in 0..ni {
                let c = lo + Vector3::new(i as f64, j as f64, k as f64) * v;
                if (c - h).norm() > 110.0 {
                    continue;
                }
                let (mut sum, mut inside) = (0.0, 0usize);
                for a3 in 0..sub {
                    for a2 in 0..sub {
                        for a1 in 0..sub {
                            let f = |q: usize| ((q as f64 + 0.5) / sub as f64 - 0.5) * v;
                            if let Some(rho) = density(&(c + Vector3::new(f(a1), f(a2), f(a3)))) {
                                sum += rho;
                                inside += 1;
                            }
                        }
                    }
                }
                let n3 = (sub * sub * sub) as f64;
                hu[[k, j, i]] = (cal.intercept_hu + cal.slope_hu_per_mg_cm3 * sum / n3) as f32;
                if inside as f64 / n3 >= 0.5 {
                    lab[[k, j, i]] = 76;
                }
            }
        }
    }
    let ct = Volume::new(grid.clone(), hu).unwrap();
    let labels = LabelMap::new(grid, lab, Default::default()).unwrap();
    let axis = |p: Point3<f64>, d: Vector3<f64>| AxisLandmark { point_lps_mm: p, direction_lps: d, quality: Quality::Good, source: Source::Measured, note: None };
    let femur = FemurLandmarks {
        side: Side::Right,
        head_centre: Landmark::good(h),
        head_radius_mm: r_head,
        head_fit_rms_mm: 0.1,
        neck_axis: axis(h, -n),
        shaft_axis: axis(a, s),
        greater_trochanter: Landmark::good(a + s * 10.0),
        lesser_trochanter: Landmark::good(a - s * 20.0),
        neck_shaft_angle_deg: Some(130.0),
        posterior_condyles: None,
        anteversion_deg: None,
    };
    let d = femur_density(&ct, &labels, 76, &femur, &cal, &FemurDensitySettings::default()).unwrap();
    let pi = std::f64::consts::PI;
    let mass_per_mm = 1e-3 * (rho_c * pi * (r_out * r_out - r_in * r_in) + rho_t * pi * r_in * r_in); // mg/mm
    let abmd = mass_per_mm / (2.0 * r_out) * 0.1; // g/cm²
    let vbmd = (rho_c * (r_out * r_out - r_in * r_in) + rho_t * r_in * r_in) / (r_out * r_out);
    eprintln!("{d:#?}\nanalytic: aBMD {abmd:.4} g/cm², vBMD {vbmd:.1} mg/cm³, width {}", 2.0 * r_out);
    assert!(d.flags.is_empty(), "{:?}", d.flags);
    let got = d.abmd_g_cm2.neck.unwrap();
    assert!((got / abmd - 1.0).abs() < 0.02, "neck aBMD {got:.4} vs {abmd:.4}");
    let got_v = d.vbmd_mg_cm3.neck.unwrap();
    assert!((got_v / vbmd - 1.0).abs() < 0.02, "neck vBMD {got_v:.1} vs {vbmd:.1}");
    assert!((d.neck_width_mm.unwrap() - 2.0 * r_out).abs() < 0.6);
    // The neck box lies on the neck, clear of the head.
    assert!(d.neck_box_centre_mm.unwrap() - 7.5 >= r_head);

    // A metal voxel in the neck: flagged, not measured.
    let mut hu = ct.hu().into_owned();
    let m = labels.grid().lps_to_voxel(&(h + n * 35.0));
    hu[[m.z.round() as usize, m.y.round() as usize, m.x.round() as usize]] = 3000.0;
    let metal_ct = Volume::new(ct.grid().clone(), hu).unwrap();
    let d = femur_density(&metal_ct, &labels, 76, &femur, &cal, &FemurDensitySettings::default()).unwrap();
    assert_eq!(d.flags, vec![DensityFlag::Metal]);
    assert!(d.abmd_g_cm2.neck.is_none() && d.vbmd_mg_cm3.total_hip.is_none());
}

/// The fixation rule: each criterion past its threshold suggests cemented, all within suggests
/// cementless, nothing measured suggests nothing.
#[test]
fn fixation_rule() {
    use coxa_diagnostics::fixation::{Fixation, suggest};
    assert_eq!(suggest(None, None).suggestion, None);
    let canal = |ccr: f64, cti: f64, cfi: f64| coxa_core::FemoralCanal {
        side: Side::Right,
        shaft_direction_lps: Vector3::z(),
        ml_direction_lps: Vector3::x(),
        lesser_trochanter: None,
        metaphysis: None,
        isthmus: None,
        isthmus_imaged: true,
        dorr_level: None,
        profile: Vec::new(),
        canal_flare_index: Some(cfi),
        canal_calcar_ratio: Some(ccr),
        cortical_index: Some(cti),
        dorr_type: Some(coxa_core::DorrType::from_ratio(ccr)),
        metal_levels_mm: Vec::new(),
        quality: Quality::Good,
        notes: Vec::new(),
    };
    let s = suggest(Some(&canal(0.55, 0.55, 3.8)), None);
    assert_eq!(s.suggestion, Some(Fixation::Cementless));
    assert!(s.missing.iter().any(|m| m.contains("T-score")));
    let s = suggest(Some(&canal(0.8, 0.55, 3.8)), None);
    assert_eq!(s.suggestion, Some(Fixation::Cemented));
    assert!(s.reasons[0].contains("type C"), "{:?}", s.reasons);
    assert_eq!(suggest(Some(&canal(0.6, 0.35, 3.8)), None).suggestion, Some(Fixation::Cemented));
    assert_eq!(suggest(Some(&canal(0.6, 0.5, 2.6)), None).suggestion, Some(Fixation::Cemented));
}
