//! Musculoskeletal simulation on OpenSim's gait2392 (../shared/data/opensim):
//!
//! - `hip_moment_arms_grid`: lengths and moment arms about the three hip coordinates of all 27
//!   right hip-crossing muscles over the grid of issue 6 (flexion -30..90 x adduction -30..20 x
//!   rotation -30..30 deg, 5 x 4 x 3 poses); OpenSim 4.6 does the same in
//!   `tests/peers/opensim_moment_arms.py` (its JSON reports `elapsed_s`).
//! - `hip_moment_arms_grid_rajagopal`: the same on Rajagopal 2016 (cylinder wrapping).
//! - `hcf_one_leg_stance`, `hcf_walking`: posture, static optimisation and hip contact force.
//! - `read_osim`: reading gait2392.
//!
//! Without the reference data the benchmarks are skipped with a note.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use coxa_sim::msk::hcf::{Activity, hip_contact_force};
use coxa_sim::msk::osim::{Model, read_osim};
use coxa_sim::msk::{Kinematics, apply_couplers, clamp_coordinates, crosses_hip, moment_arms};

macro_rules! bench {
    ($name:literal) => {
        concat!(module_path!(), "::", $name)
    };
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/opensim").join(name)
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
    let raj = data("Rajagopal/Rajagopal2016.osim");
    if raj.exists() {
        let model = read_osim(&raj).expect("Rajagopal");
        let kin = Kinematics::new(&model).expect("kinematics");
        c.bench_function(bench!("hip_moment_arms_grid_rajagopal"), |b| b.iter(|| grid_sweep(black_box(&model), &kin)));
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = msk
}
criterion_main!(benches);
