//! The OrthoLoad femoral points (`coxa_anatomy::landmarks::orthoload_femur`) on real full femurs
//! (../shared/data/vsd_bones, one cadaver) against the relations the three OrthoLoad patients'
//! hand-picked landmark files show (../shared/data/orthoload/Landmarks).

mod common;

use std::path::Path;

use coxa_anatomy::landmarks::{Bones, OrthoLoadFemur, find, orthoload_femur};
use coxa_core::Side;
use nalgebra::{Point3, Vector3};

use common::data;

/// The relations of one femur's points as shares of its length (HJC to the epicondyles'
/// midpoint), so that femurs of different sizes compare: P2 distal of the epicondyles' midpoint
/// along HJC->knee, P2 anterior of the posterior condyles, P2's distance from the condyles'
/// mid-plane (mm, not a share), epicondylar width, P1 from HJC; and the length (mm).
fn relations(f: &OrthoLoadFemur) -> [f64; 6] {
    let knee = Point3::from(0.5 * (f.mec.coords + f.lec.coords));
    let down = (knee - f.hjc).normalize();
    let lateral = {
        let v = f.lpc - f.mpc;
        (v - down * v.dot(&down)).normalize()
    };
    let anterior = lateral.cross(&down);
    let anterior = if (f.p1 - f.mpc).dot(&anterior) > 0.0 { anterior } else { -anterior };
    let mid_cond = Point3::from(0.5 * (f.mpc.coords + f.lpc.coords));
    let len = (knee - f.hjc).norm();
    [(f.p2 - knee).dot(&down) / len, (f.p2 - mid_cond).dot(&anterior) / len, (f.p2 - mid_cond).dot(&lateral).abs(), (f.lec - f.mec).norm() / len, (f.p1 - f.hjc).norm() / len, len]
}

fn read_fcsv(path: &Path) -> Vec<(String, Vector3<f64>)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[11].to_string(), Vector3::new(c[1].parse().unwrap(), c[2].parse().unwrap(), c[3].parse().unwrap()))
        })
        .collect()
}

#[test]
fn points_on_real_femurs_relate_as_in_orthoload_patients() {
    let (Some(vsd), Some(ol)) = (data("vsd_bones"), data("orthoload/Landmarks")) else { return };
    // The OrthoLoad patients' relations.
    let mut reference = Vec::new();
    for (name, s) in [("H1L", "_L"), ("H2R", "_R"), ("H3L", "_L")] {
        let pts = read_fcsv(&ol.join(format!("{name}_FemurLandmarks.fcsv")));
        let get = |n: &str| Point3::from(pts.iter().find(|(l, _)| l == &format!("{n}{s}")).unwrap().1);
        let f = OrthoLoadFemur { hjc: get("HJC"), p1: get("P1"), p2: get("P2"), mpc: get("MPC"), lpc: get("LPC"), mec: get("MEC"), lec: get("LEC") };
        reference.push(relations(&f));
    }
    let read = |f: &str| coxa_io::mesh::read_mesh(&vsd.join(f)).unwrap();
    let meshes = [("femur_left", read("z013_Femur_L.stl")), ("femur_right", read("z013_Femur_R.stl")), ("hip_left", read("z013_Hip_L.stl")), ("hip_right", read("z013_Hip_R.stl"))];
    let named: Vec<(String, coxa_core::Mesh)> = meshes.iter().map(|(n, m)| (n.to_string(), m.clone())).collect();
    let (found, _) = find(&Bones::named(&named));
    let mut ours = Vec::new();
    for (side, mesh) in [(Side::Left, &meshes[0].1), (Side::Right, &meshes[1].1)] {
        let f = orthoload_femur(found.femur(side).unwrap(), mesh).expect("full femur: all points");
        let r = relations(&f);
        eprintln!("{side:?}: P2 distal {:.3}, anterior {:.3}, off-mid {:.1} mm; epicondylar width {:.3}; P1-HJC {:.3}; length {:.1} mm", r[0], r[1], r[2], r[3], r[4], r[5]);
        ours.push(r);
    }
    for r in &reference {
        eprintln!("OrthoLoad: P2 distal {:.3}, anterior {:.3}, off-mid {:.1} mm; epicondylar width {:.3}; P1-HJC {:.3}; length {:.1} mm", r[0], r[1], r[2], r[3], r[4], r[5]);
    }
    // Each relation within the patients' range widened by a margin (2.5 % of the length, about
    // 10 mm; 5 mm off the mid-plane): the notch and the epicondyles are soft definitions that
    // observers place several mm apart, and four subjects do not span every femur's shape.
    let margins = [0.025, 0.025, 5.0, 0.025, 0.03];
    for r in &ours {
        for k in 0..5 {
            let lo = reference.iter().map(|x| x[k]).fold(f64::INFINITY, f64::min) - margins[k];
            let hi = reference.iter().map(|x| x[k]).fold(f64::NEG_INFINITY, f64::max) + margins[k];
            assert!((lo..=hi).contains(&r[k]), "relation {k}: {:.1} outside the OrthoLoad patients' {lo:.1}..{hi:.1}", r[k]);
        }
    }
    // One cadaver's two femurs: the same epicondylar width and P2 relations within a few mm.
    for (k, tol) in [(0, 0.015), (1, 0.015), (2, 3.0), (3, 0.015)] {
        assert!((ours[0][k] - ours[1][k]).abs() < tol, "relation {k}: left {:.1} vs right {:.1}", ours[0][k], ours[1][k]);
    }
}
