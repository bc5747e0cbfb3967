//! Dysplasia and osteoarthritis measures (issue 62) on real bone surfaces: z013's hips within a
//! normal adult's ranges and alike left and right, the same hip made shallow graded dysplastic,
//! and the 30 atlas pelvises.

mod common;

use coxa_anatomy::landmarks::{self, Bones, HipSurfaces, dysplasia};
use coxa_core::dysplasia::{Coverage, DysplasiaRecord, LCE_DYSPLASTIC_BELOW_DEG, LCE_OVERCOVERAGE_ABOVE_DEG};
use coxa_core::{Mesh, Side};

/// The ranges a normal adult hip's measures fall in here: the classes' limits (Wiberg 1939 and
/// Tannast et al. 2015 for the centre-edge angle, Tönnis 1987 for his angle, Sharp 1961) widened
/// by 5 deg on each side, so that a hip between borderline and over-covered passes and a
/// dysplastic or protrusio hip does not.
const LCE_RANGE: (f64, f64) = (LCE_DYSPLASTIC_BELOW_DEG - 5.0, LCE_OVERCOVERAGE_ABOVE_DEG + 5.0);
const SHARP_RANGE: (f64, f64) = (28.0, 50.0);
const TONNIS_RANGE: (f64, f64) = (-5.0, 15.0);
/// Left and right of one pelvis agree within this, deg: bilateral differences of normal adults
/// are a few degrees, and the surfaces' own error (the socket's fit, a coarse mesh) adds to it.
const SIDES_AGREE_DEG: f64 = 8.0;

fn z013() -> Option<Vec<(String, Mesh)>> {
    let dir = common::data("vsd_bones")?;
    let read = |f: &str| coxa_io::mesh::read_stl(&dir.join(f)).unwrap();
    Some(vec![
        ("hip_left".into(), read("z013_Hip_L.stl")),
        ("hip_right".into(), read("z013_Hip_R.stl")),
        ("femur_left".into(), read("z013_Femur_L.stl")),
        ("femur_right".into(), read("z013_Femur_R.stl")),
    ])
}

/// Both hips' measures of `meshes` (coxa's class names).
fn measures(meshes: &[(String, Mesh)]) -> Vec<DysplasiaRecord> {
    let bones = Bones::named(meshes);
    let (found, _) = landmarks::find(&bones);
    let frame = found.pelvis.as_ref().expect("a pelvic frame").frame;
    [Side::Left, Side::Right]
        .into_iter()
        .filter_map(|side| {
            let acetabulum = found.acetabulum(side)?;
            let hip = bones.hip(side)?;
            let femur = bones.femur(side);
            let head = found.femur(side).map(|f| f.head());
            let t = std::time::Instant::now();
            let d = dysplasia(&HipSurfaces { side, hip, femur, acetabulum, head, voxel_mm: None }, &frame);
            eprintln!("{} hip measured in {:.1} ms", side.as_str(), 1000.0 * t.elapsed().as_secs_f64());
            Some(d)
        })
        .collect()
}

/// The anatomic anteversion of `side`'s socket from its rim plane (the landmarks'), deg.
fn native_anatomic_anteversion(meshes: &[(String, Mesh)], side: Side) -> f64 {
    let (found, _) = landmarks::find(&Bones::named(meshes));
    let pelvis = found.pelvis.unwrap();
    let (_, angles) = pelvis.acetabular_angles.iter().find(|(s, _)| *s == side).unwrap();
    angles.iter().find(|a| a.definition == coxa_core::CupAngleDefinition::Anatomic).unwrap().anteversion.deg()
}

fn within(v: Option<f64>, (lo, hi): (f64, f64)) -> bool {
    v.is_some_and(|v| (lo..=hi).contains(&v))
}

#[test]
fn z013_hips_are_normal_and_alike_left_and_right() {
    let Some(meshes) = z013() else { return };
    let m = measures(&meshes);
    assert_eq!(m.len(), 2);
    for d in &m {
        eprintln!(
            "z013 {}: LCE {:?}, Sharp {:?}, Tönnis {:?}, extrusion {:?} %, version {:?} / {:?} / {:?}, Crowe {:?} ({:?} %), joint space {:?} mm ({:?}), notes {:?}",
            d.side.as_str(),
            d.lce_deg,
            d.sharp_deg,
            d.tonnis_deg,
            d.extrusion_index_percent,
            d.version_cranial_deg,
            d.version_central_deg,
            d.version_caudal_deg,
            d.crowe,
            d.crowe_subluxation_percent,
            d.min_joint_space_mm,
            d.oa_grade,
            d.notes
        );
        assert!(within(d.lce_deg, LCE_RANGE), "{d:?}");
        assert!(within(d.sharp_deg, SHARP_RANGE), "{d:?}");
        assert!(within(d.tonnis_deg, TONNIS_RANGE), "{d:?}");
        assert_eq!(d.crowe, Some(1), "a hip in its socket is Crowe 1");
        // The axial version at the centre against the socket's rim plane's anatomic anteversion
        // (another method on the same surface: the landmarks' opening axis).
        let anatomic = native_anatomic_anteversion(&meshes, d.side);
        let central = d.version_central_deg.unwrap();
        eprintln!("z013 {}: central version {central:.1} deg, rim plane's anatomic anteversion {anatomic:.1} deg", d.side.as_str());
        assert!((central - anatomic).abs() <= 8.0 && (5.0..=35.0).contains(&central), "{d:?}");
        assert!(d.version_cranial_deg.is_some() && d.version_caudal_deg.is_some(), "{d:?}");
        assert!(d.min_joint_space_mm.is_some_and(|j| (0.0..10.0).contains(&j)), "{d:?}");
    }
    let diff = |f: fn(&DysplasiaRecord) -> Option<f64>| (f(&m[0]).unwrap() - f(&m[1]).unwrap()).abs();
    for (name, d) in [("LCE", diff(|d| d.lce_deg)), ("Sharp", diff(|d| d.sharp_deg)), ("Tönnis", diff(|d| d.tonnis_deg))] {
        eprintln!("z013: {name} left - right {d:.1} deg");
        assert!(d <= SIDES_AGREE_DEG, "{name}: left and right differ by {d:.1} deg");
    }
}

/// z013's right socket with its lateral roof moved 12 mm away from the head (the roof of a
/// shallow, dysplastic socket): graded dysplastic, its head extruded.
#[test]
fn a_shallow_socket_is_dysplastic() {
    let Some(mut meshes) = z013() else { return };
    let before = measures(&meshes).into_iter().find(|d| d.side == Side::Right).unwrap();
    let bones = Bones::named(&meshes);
    let (found, _) = landmarks::find(&bones);
    let frame = found.pelvis.as_ref().unwrap().frame;
    let (centre, r) = found.femur(Side::Right).unwrap().head();
    let c = frame.point_to_pelvic(&centre);
    let s = Side::Right.lateral_sign();
    let hip = &meshes.iter().find(|(n, _)| n == "hip_right").unwrap().1;
    let (v, t) = hip.clone().into_parts();
    let v = v
        .into_iter()
        .map(|p| {
            let q = frame.point_to_pelvic(&p);
            let d = q - c;
            let lateral = s * d.x;
            if d.norm() < r + 15.0 && d.z > -5.0 && lateral > r * 5f64.to_radians().sin() { frame.point_to_lps(&(c + d * ((d.norm() + 12.0) / d.norm()))) } else { p }
        })
        .collect();
    let shallow = Mesh::new(v, t).unwrap();
    for (n, m) in &mut meshes {
        if n == "hip_right" {
            *m = shallow.clone();
        }
    }
    let after = measures(&meshes).into_iter().find(|d| d.side == Side::Right).unwrap();
    eprintln!(
        "shallow: LCE {:?} -> {:?}, extrusion {:?} -> {:?} %, Tönnis {:?} -> {:?}",
        before.lce_deg, after.lce_deg, before.extrusion_index_percent, after.extrusion_index_percent, before.tonnis_deg, after.tonnis_deg
    );
    assert_eq!(after.coverage, Some(Coverage::Dysplastic), "{after:?}");
    assert!(after.lce_deg.unwrap() < LCE_DYSPLASTIC_BELOW_DEG);
    assert!(after.extrusion_index_percent.unwrap() > before.extrusion_index_percent.unwrap() + 10.0);
}

/// The 30 atlas pelvises (no femurs: each socket's sphere stands in for the head).
#[test]
fn atlas_pelvises() {
    let Some(dir) = common::data("pelvis_atlas/surface") else { return };
    let mut n = (0, 0);
    let mut lce = Vec::new();
    for id in 1..=70 {
        let read = |name: &str| coxa_io::mesh::read_vtk(&dir.join(format!("{name}{id}_cpd.vtk"))).ok();
        let (Some(hl), Some(hr)) = (read("LeftHip"), read("RightHip")) else { continue };
        let m = measures(&[("hip_left".into(), hl), ("hip_right".into(), hr)]);
        for d in &m {
            n.0 += 1;
            if within(d.lce_deg, LCE_RANGE) {
                n.1 += 1;
            }
            lce.push(d.lce_deg.unwrap_or(f64::NAN));
        }
        eprintln!(
            "atlas {id:02}: {}",
            m.iter()
                .map(|d| format!("{} LCE {:.1} Sharp {:.1} Tönnis {:.1}", d.side.as_str(), d.lce_deg.unwrap_or(f64::NAN), d.sharp_deg.unwrap_or(f64::NAN), d.tonnis_deg.unwrap_or(f64::NAN)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    eprintln!("atlas: {} of {} hips with LCE in {LCE_RANGE:?}", n.1, n.0);
    // Every hip of the 30 pelvises measured; the atlas is not known to be of normal hips (no
    // ground truth): most of them within a normal adult's range is what is asked (83 % at the
    // first run, 2026-11-29).
    assert_eq!(n.0, 60, "{n:?}");
    assert!(lce.iter().all(|v| v.is_finite()), "every hip has a centre-edge angle");
    assert!(n.1 as f64 >= 0.8 * n.0 as f64, "{n:?}");
}
