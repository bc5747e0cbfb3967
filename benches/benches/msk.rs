//! Musculoskeletal simulation on OpenSim's gait2392 (../shared/data/opensim):
//!
//! - `hip_moment_arms_grid`: lengths and moment arms about the three hip coordinates of all 27
//!   right hip-crossing muscles over the grid of issue 6 (flexion -30..90 x adduction -30..20 x
//!   rotation -30..30 deg, 5 x 4 x 3 poses); OpenSim 4.6 does the same in
//!   `tests/peers/opensim_moment_arms.py` (its JSON reports `elapsed_s`).
//! - `hip_moment_arms_grid_rajagopal`: the same on Rajagopal 2016 (cylinder wrapping).
//! - `hcf_one_leg_stance`, `hcf_walking`: posture, static optimisation and hip contact force
//!   (one-leg stance searches the least-effort posture, a 5 x 5 x 5 grid and then a compass
//!   search: a few hundred static optimisations, about 80-110 ms on the shared machine).
//! - `so_one_leg_stance_fixed_posture`: one static optimisation in one fixed posture (one-leg
//!   stance, pelvis level, upper body's centre of mass above the hip), body weight = the model's
//!   mass times g: building the posture, the muscle paths and moment arms, the equations and
//!   the solve. Its posture, loads and muscle forces are written to
//!   `target/bench-data/msk_so_one_leg_stance.json`, which `benches/compare_opensim.py` gives
//!   to OpenSim 4.6's `StaticOptimization` for the side-by-side timing and agreement check.
//! - `read_osim`: reading gait2392.
//! - `personalise_one_leg_stance_walking` (issue 20): for one patient, the built-in gait2392
//!   scaled at the pelvis, its hip muscles' strength from CT volumes (the real example CT's
//!   TotalSegmentator measures, both sides), then one-leg stance and walking (goal < 1 s).
//!
//! Without the reference data the benchmarks are skipped with a note.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use coxa_benches::{bench, bench_data, shared_data};
use coxa_msk::hcf::{Activity, HcfOptions, HcfResult, hip_contact_force, hip_contact_force_with};
use coxa_msk::muscle::capacity;
use coxa_msk::osim::{Model, read_osim};
use coxa_msk::{Kinematics, apply_couplers, clamp_coordinates, crosses_hip, moment_arms};

fn data(name: &str) -> PathBuf {
    shared_data(&format!("opensim/{name}"))
}

fn grid_sweep(model: &Model, kin: &Kinematics) -> f64 {
    let coords: Vec<usize> = ["hip_flexion_r", "hip_adduction_r", "hip_rotation_r"].iter().filter_map(|c| model.coordinate_index(c)).collect();
    let muscles: Vec<_> = model.muscles.iter().filter(|m| crosses_hip(model, m, "r")).collect();
    let mut acc = 0.0;
    for f in [-30.0f64, 0.0, 30.0, 60.0, 90.0] {
        for a in [-30.0f64, -13.0, 3.0, 20.0] {
            for r in [-30.0f64, 0.0, 30.0] {
                let mut q = model.default_coordinates();
                q[coords[0]] = f.to_radians();
                q[coords[1]] = a.to_radians();
                q[coords[2]] = r.to_radians();
                clamp_coordinates(model, &mut q);
                apply_couplers(model, &mut q);
                for m in &muscles {
                    let (p, ma) = moment_arms(model, kin, m, &q, &coords).expect("moment arms");
                    acc += p.length_m + ma[0] + ma[1] + ma[2];
                }
            }
        }
    }
    acc
}

/// Gravity OpenSim uses (gait2392's `gravity`), m/s^2.
const G: f64 = 9.80665;

/// Writes the fixed-posture one-leg stance (posture, loads, muscle forces split into active and
/// passive) for `benches/compare_opensim.py`.
fn write_so_case(model: &Model, kin: &Kinematics, body_weight_n: f64, r: &HcfResult) {
    let coordinates: serde_json::Map<String, serde_json::Value> = model.coordinates.iter().zip(&r.coordinates).map(|(c, v)| (c.name.clone(), (*v).into())).collect();
    let muscles: Vec<serde_json::Value> = r
        .muscle_forces_n
        .iter()
        .map(|(name, f)| {
            let m = model.muscles.iter().find(|m| &m.name == name).expect("muscle");
            let (path, _) = moment_arms(model, kin, m, &r.coordinates, &[]).expect("path");
            let cap = capacity(m, path.length_m, 0.0);
            serde_json::json!({"name": name, "force_n": f, "active_capacity_n": cap.active_n, "passive_n": cap.passive_n,
                "activation": ((f - cap.passive_n) / cap.active_n.max(1e-9)).clamp(0.0, 1.0), "length_m": path.length_m})
        })
        .collect();
    let out = serde_json::json!({
        "model": "gait2392_thelen2003muscle.osim",
        "body_weight_n": body_weight_n,
        "coordinates": coordinates,
        "ground_reaction_n": r.ground_reaction_n.as_slice(),
        "centre_of_pressure_m": r.centre_of_pressure_m.as_slice(),
        "hip_force_femur_n": r.force_femur_n.as_slice(),
        "hip_reserve_n_m": r.reserve_n_m.as_slice(),
        "distal_reserve_n_m": r.distal_reserve_n_m,
        "passive_knee_n_m": r.passive_knee_n_m,
        "effort": r.effort,
        "muscles": muscles,
    });
    let dir = bench_data();
    std::fs::write(dir.join("msk_so_one_leg_stance.json"), serde_json::to_string_pretty(&out).expect("json")).expect("write");
}

fn msk(c: &mut Criterion) {
    let gait = data("gait2392_thelen2003muscle.osim");
    if !gait.exists() {
        eprintln!("note: {} is missing, skipping the musculoskeletal benchmarks", gait.display());
        return;
    }
    let model = read_osim(&gait).expect("gait2392");
    let kin = Kinematics::new(&model).expect("kinematics");
    c.bench_function(bench!("read_osim"), |b| b.iter(|| read_osim(black_box(&gait)).expect("read")));
    c.bench_function(bench!("hip_moment_arms_grid"), |b| b.iter(|| grid_sweep(black_box(&model), &kin)));
    c.bench_function(bench!("hcf_one_leg_stance"), |b| b.iter(|| hip_contact_force(black_box(&model), Activity::OneLegStance, 760.0, None).expect("hcf")));
    c.bench_function(bench!("hcf_walking"), |b| b.iter(|| hip_contact_force(black_box(&model), Activity::Walking, 760.0, None).expect("hcf")));
    let body_weight_n = model.bodies.iter().map(|b| b.mass_kg).sum::<f64>() * G;
    let fixed = HcfOptions::new().with_optimise_posture(false);
    let so = hip_contact_force_with(&model, Activity::OneLegStance, body_weight_n, None, &fixed).expect("one-leg stance");
    write_so_case(&model, &kin, body_weight_n, &so);
    c.bench_function(bench!("so_one_leg_stance_fixed_posture"), |b| b.iter(|| hip_contact_force_with(black_box(&model), Activity::OneLegStance, body_weight_n, None, &fixed).expect("hcf")));
    c.bench_function(bench!("personalise_one_leg_stance_walking"), |b| b.iter(|| personalise_and_solve(black_box(&model))));
    let raj = data("Rajagopal/Rajagopal2016.osim");
    if raj.exists() {
        let model = read_osim(&raj).expect("Rajagopal");
        let kin = Kinematics::new(&model).expect("kinematics");
        c.bench_function(bench!("hip_moment_arms_grid_rajagopal"), |b| b.iter(|| grid_sweep(black_box(&model), &kin)));
    }
}

/// One side's measures of a CT muscle: volume cm³, lean fraction, cut by the scan.
type SideMeasure = (f64, f64, bool);

/// The example CT's measures (left, right), as `tests/tests/msk_strength.rs` prints them.
const CT_MUSCLES: [(&str, [SideMeasure; 2]); 4] = [
    ("gluteus_maximus", [(322.8, 0.927, true), (368.7, 0.920, true)]),
    ("gluteus_medius", [(239.2, 0.951, false), (240.8, 0.965, false)]),
    ("gluteus_minimus", [(68.9, 0.958, false), (71.5, 0.962, false)]),
    ("iliopsoas", [(277.7, 0.974, true), (266.8, 0.988, true)]),
];

fn personalise_and_solve(generic: &Model) -> f64 {
    use coxa_msk::personalise::scale_bodies;
    use coxa_msk::strength::{CtMuscle, SPECIFIC_TENSION_N_PER_CM2, strength_from_ct};
    let side = |k: usize| -> Vec<CtMuscle> {
        CT_MUSCLES
            .iter()
            .map(|(c, s)| CtMuscle { class: c.to_string(), volume_cm3: s[k].0, lean_fraction: s[k].1, cut_by_scan: s[k].2, other_side_lean_volume_cm3: Some(s[1 - k].0 * s[1 - k].1) })
            .collect()
    };
    let scaled = scale_bodies(generic, &[("pelvis", nalgebra::Vector3::repeat(1.05))]).expect("scale");
    let (m, _) = strength_from_ct(&scaled, "r", &side(0), SPECIFIC_TENSION_N_PER_CM2).expect("strength");
    let (m, _) = strength_from_ct(&m, "l", &side(1), SPECIFIC_TENSION_N_PER_CM2).expect("strength");
    let a = hip_contact_force(&m, Activity::OneLegStance, 760.0, None).expect("one-leg stance");
    let b = hip_contact_force(&m, Activity::Walking, 760.0, None).expect("walking");
    a.magnitude_percent_bw + b.magnitude_percent_bw
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = msk
}
criterion_main!(benches);
