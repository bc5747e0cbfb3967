//! Landmarks on the CT-derived bone surfaces of a real subject (../shared/data/vsd_bones),
//! checked against an independent sphere fit (RANSAC in numpy), anatomical ranges and mirror
//! invariance.

use std::path::Path;

use anyhow::Result;
use nalgebra::{Matrix4, Point3, Vector4};

use coxa_anatomy::landmarks::{self, Quality};
use coxa_core::{CupAngleDefinition, Mesh, Side};

use crate::common::{peer_python, shared_data, workspace_root};

fn read_stl(path: &Path) -> Result<Mesh> {
    Ok(coxa_io::mesh::read_stl(path)?)
}

fn bone(name: &str) -> Option<Mesh> {
    shared_data(&format!("vsd_bones/z013_{name}.stl")).map(|p| read_stl(&p).unwrap())
}

fn mirror() -> Matrix4<f64> {
    Matrix4::from_diagonal(&Vector4::new(-1.0, 1.0, 1.0, 1.0))
}

/// The independent RANSAC head fit of tests/peers/head_sphere_ransac.py.
fn ransac_head(py: &Path, stl: &Path) -> Result<(Point3<f64>, f64)> {
    let out = std::process::Command::new(py).arg(workspace_root().join("tests/peers/head_sphere_ransac.py")).arg(stl).output()?;
    anyhow::ensure!(out.status.success(), "RANSAC fit failed: {}", String::from_utf8_lossy(&out.stderr));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let c: Vec<f64> = j["centre"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    Ok((Point3::new(c[0], c[1], c[2]), j["radius"].as_f64().unwrap()))
}

/// Head centre and radius agree with an independent RANSAC sphere fit within 0.5 mm; neck-shaft
/// angle and femoral anteversion fall in the normal adult range; the figures are printed.
#[test]
fn vsd_femur_head_angles_and_independent_fit() -> Result<()> {
    let Some(py) = peer_python() else { return Ok(()) };
    for (name, side) in [("Femur_L", Side::Left), ("Femur_R", Side::Right)] {
        let Some(path) = shared_data(&format!("vsd_bones/z013_{name}.stl")) else { return Ok(()) };
        let f = landmarks::femur_landmarks(&read_stl(&path)?, side)?;
        let (c, r) = ransac_head(&py, &path)?;
        eprintln!(
            "{name}: head r {:.2} (RANSAC {r:.2}) centre off {:.2} mm, rms {:.2} | NSA {:.1} deg | anteversion {:.1} deg",
            f.head_radius_mm,
            (f.head_centre.lps_mm - c).norm(),
            f.head_fit_rms_mm,
            f.neck_shaft_angle_deg.unwrap_or(f64::NAN),
            f.anteversion_deg.unwrap_or(f64::NAN)
        );
        assert!((f.head_centre.lps_mm - c).norm() < 0.5, "{name}: centre {:?} vs RANSAC {c:?}", f.head_centre.lps_mm);
        assert!((f.head_radius_mm - r).abs() < 0.5, "{name}: radius {} vs RANSAC {r}", f.head_radius_mm);
        // Normal adult ranges: NSA 120-140 deg (mean ~129); anteversion mean ~13 deg, SD ~9.
        let nsa = f.neck_shaft_angle_deg.expect("full femur: both axes measured");
        assert!((115.0..=145.0).contains(&nsa), "{name}: NSA {nsa}");
        let av = f.anteversion_deg.expect("the vsd femurs include the condyles");
        assert!((-10.0..=40.0).contains(&av), "{name}: anteversion {av}");
        assert_eq!(f.head_centre.quality, Quality::Good);
        assert_eq!(f.shaft_axis.quality, Quality::Good);
    }
    Ok(())
}

/// A left femur mirrored through x = 0 is a right femur with mirrored landmarks.
#[test]
fn vsd_femur_mirror_invariance() -> Result<()> {
    let Some(m) = bone("Femur_L") else { return Ok(()) };
    let left = landmarks::femur_landmarks(&m, Side::Left)?;
    let right = landmarks::femur_landmarks(&m.transformed(&mirror()), Side::Right)?;
    let flip = |p: Point3<f64>| Point3::new(-p.x, p.y, p.z);
    assert!((right.head_centre.lps_mm - flip(left.head_centre.lps_mm)).norm() < 1e-6);
    assert!((right.neck_shaft_angle_deg.unwrap() - left.neck_shaft_angle_deg.unwrap()).abs() < 1e-6);
    assert!((right.anteversion_deg.unwrap() - left.anteversion_deg.unwrap()).abs() < 1e-6);
    assert!((right.lesser_trochanter.lps_mm - flip(left.lesser_trochanter.lps_mm)).norm() < 1e-6);
    Ok(())
}

/// Acetabula found without help agree with the femoral-head-seeded fit and sit on the femoral
/// heads (a native, congruent hip); the anterior pelvic plane and native angles are plausible;
/// mirroring the pelvis swaps the sides and keeps the angles.
#[test]
fn vsd_pelvis_acetabula_and_frame() -> Result<()> {
    let (Some(hl), Some(hr), Some(fl), Some(fr)) = (bone("Hip_L"), bone("Hip_R"), bone("Femur_L"), bone("Femur_R")) else { return Ok(()) };
    let heads = [landmarks::femur_landmarks(&fl, Side::Left)?, landmarks::femur_landmarks(&fr, Side::Right)?];
    let mut free = Vec::new();
    for (hip, f) in [(&hl, &heads[0]), (&hr, &heads[1])] {
        let seeded = landmarks::acetabulum_landmarks(hip, f.side, Some((f.head_centre.lps_mm, f.head_radius_mm)))?;
        let a = landmarks::acetabulum_landmarks(hip, f.side, None)?;
        let gap = (a.centre.lps_mm - f.head_centre.lps_mm).norm();
        eprintln!("acetabulum {:?}: r {:.2} (head {:.2}) centre {gap:.2} mm from the head centre, rms {:.2}, {} rim points", f.side, a.radius_mm, f.head_radius_mm, a.fit_rms_mm, a.n_rim_points);
        assert!((a.centre.lps_mm - seeded.centre.lps_mm).norm() < 0.5, "free vs seeded search");
        assert!(gap < 3.0, "{:?}: socket centre {gap:.2} mm from the head centre", f.side);
        assert!((0.0..=4.0).contains(&(a.radius_mm - f.head_radius_mm)), "socket r {} vs head r {}", a.radius_mm, f.head_radius_mm);
        free.push(a);
    }
    let p = landmarks::pelvis_landmarks(&hl, &hr, &free[0], &free[1])?;
    let asis = (p.asis_left.lps_mm - p.asis_right.lps_mm).norm();
    eprintln!("ASIS {asis:.1} mm apart");
    assert!((180.0..=280.0).contains(&asis), "ASIS distance {asis}");
    for (side, angles) in &p.acetabular_angles {
        for a in angles {
            eprintln!("native acetabulum {side:?} {:?}: inclination {:.1} deg, anteversion {:.1} deg", a.definition, a.inclination.deg(), a.anteversion.deg());
        }
        let r = angles.iter().find(|a| a.definition == CupAngleDefinition::Radiographic).unwrap();
        // Native acetabula: radiographic inclination ~40-55 deg, anteversion ~10-30 deg.
        assert!((35.0..=60.0).contains(&r.inclination.deg()) && (5.0..=35.0).contains(&r.anteversion.deg()), "{side:?}: {r:?}");
    }

    let (ml, mr) = (hr.transformed(&mirror()), hl.transformed(&mirror()));
    let al = landmarks::acetabulum_landmarks(&ml, Side::Left, None)?;
    let ar = landmarks::acetabulum_landmarks(&mr, Side::Right, None)?;
    let pm = landmarks::pelvis_landmarks(&ml, &mr, &al, &ar)?;
    for ((s1, a1), (s2, a2)) in p.acetabular_angles.iter().zip(pm.acetabular_angles.iter().rev()) {
        assert_eq!(*s1, s2.opposite());
        for (x, y) in a1.iter().zip(a2) {
            assert!((x.inclination.deg() - y.inclination.deg()).abs() < 1e-6 && (x.anteversion.deg() - y.anteversion.deg()).abs() < 1e-6, "{x:?} vs {y:?}");
        }
    }
    Ok(())
}
