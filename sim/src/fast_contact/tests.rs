use std::path::PathBuf;
use std::sync::Arc;

use coxa_core::{Angle, Mesh, Side};
use coxa_implants::{UserGeometry, UserPartKind};
use nalgebra::{Point3, Rotation3, Vector3};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::TOLERANCE_MM;
use crate::tests::{construct, radiographic};
use crate::user_parts::{UserCup, UserStem};
use crate::{HipModel, JointAngles};

/// A stem whose neck is an elliptic cylinder (semi-axes `a_mm` x `b_mm`, +z the neck), the
/// CCD angle 132 deg: a neck that is not round, so its roll matters.
fn oval_stem(a_mm: f64, b_mm: f64, head_r: f64) -> UserStem {
    let n = 64;
    let mut v = Vec::new();
    for s in [head_r - 3.0, 34.0] {
        for k in 0..n {
            let t = std::f64::consts::TAU * k as f64 / n as f64;
            v.push(Point3::new(a_mm * t.cos(), b_mm * t.sin(), s));
        }
    }
    let mut tris = Vec::new();
    for k in 0..n as u32 {
        let k1 = (k + 1) % n as u32;
        tris.push([k, k1, n as u32 + k1]);
        tris.push([k, n as u32 + k1, n as u32 + k]);
    }
    let mesh = Mesh::new(v, tris).unwrap();
    let a = (180.0f64 - 132.0).to_radians();
    let frame = UserGeometry {
        part: UserPartKind::Stem,
        mesh_path: PathBuf::from("oval.stl"),
        centre_mm: Point3::origin(),
        axis: Vector3::z(),
        diameter_mm: 2.0 * b_mm,
        reference_axis: Some(Vector3::new(a.sin(), 0.0, a.cos())),
    };
    UserStem::new(&mesh, &frame, head_r).unwrap()
}

/// Seeded poses over the whole range of motion (flexion -40..140, abduction -60..70,
/// internal rotation -90..90 deg) and as many within 0.1 deg of the neck-liner boundary
/// (found along random rays by bisection, then moved by up to 0.1 deg).
fn poses(model: &HipModel, n: usize, seed: u64) -> Vec<Rotation3<f64>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    let angles = |rng: &mut StdRng| [rng.random_range(-40.0..140.0), rng.random_range(-60.0..70.0), rng.random_range(-90.0..90.0)];
    let rot = |a: [f64; 3]| JointAngles::from_deg(a[0], a[1], a[2]).rotation(model.side());
    while out.len() < n / 2 {
        out.push(rot(angles(&mut rng)));
    }
    while out.len() < n {
        let a = angles(&mut rng);
        let dir = Vector3::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)).normalize();
        let at = |t: f64| rot([a[0] + dir.x * t, a[1] + dir.y * t, a[2] + dir.z * t]);
        let (c0, c1) = (model.contact(&at(0.0)).is_some(), model.contact(&at(60.0)).is_some());
        if c0 == c1 {
            continue;
        }
        let (mut lo, mut hi) = (0.0, 60.0);
        for _ in 0..30 {
            let m = 0.5 * (lo + hi);
            if model.contact(&at(m)).is_some() == c0 { lo = m } else { hi = m }
        }
        out.push(at(lo + rng.random_range(-0.1..0.1)));
    }
    out
}

/// The fast path against parry3d's exact test: every disagreement lies within
/// `TOLERANCE_MM` of touching (parry's distance, or its penetration depth). Returns the
/// number of disagreements.
fn agrees_with_parry(model: &HipModel, poses: &[Rotation3<f64>], label: &str) -> usize {
    let mut differ = Vec::new();
    let mut contacts = 0;
    for p in poses {
        let fast = model.contact(p).is_some();
        let exact = model.implant_implant_exact(p).unwrap();
        contacts += usize::from(exact);
        if fast != exact {
            let d = model.implant_implant_distance_mm(p).unwrap();
            differ.push((fast, exact, d));
        }
    }
    let worst = differ.iter().map(|d| d.2.abs()).fold(0.0, f64::max);
    eprintln!("{label}: {} poses, {contacts} in contact by parry3d, {} disagree (largest |distance| {worst:.4} mm)", poses.len(), differ.len());
    for (fast, exact, d) in &differ {
        assert!(d.abs() <= TOLERANCE_MM, "{label}: fast {fast}, parry {exact}, parry distance {d} mm");
    }
    differ.len()
}

/// The check: 10,000 random poses, half of them within 0.1 deg of touching, for the
/// catalog liners as user cups with the catalog neck, and for a round and an oval user neck.
#[test]
fn fast_path_equals_parry_on_10000_random_poses() {
    let c = construct(32.0, "neutral");
    let cup = Arc::new(UserCup::from_liner(&c.liner).unwrap());
    let build = |b: crate::HipModelBuilder| b.cup(radiographic(40.0, 20.0)).stem_anteversion(Angle::from_deg(15.0)).build().unwrap();
    let m = build(HipModel::builder(Side::Right, c.clone()).user_cup(cup.clone()));
    assert!(m.implant_fast_path());
    agrees_with_parry(&m, &poses(&m, 10_000, 7), "catalog liner and neck");
    let lip = construct(32.0, "elevated rim 4 mm posterosuperior");
    let m = build(HipModel::builder(Side::Right, lip.clone()).user_cup(Arc::new(UserCup::from_liner(&lip.liner).unwrap())));
    agrees_with_parry(&m, &poses(&m, 2_000, 8), "elevated liner");
    let oval = build(HipModel::builder(Side::Right, c.clone()).user_cup(cup).user_stem(Arc::new(oval_stem(7.0, 5.0, 16.0))));
    agrees_with_parry(&oval, &poses(&oval, 2_000, 9), "oval neck 14 x 10 mm");
}
