//! Range of motion: pose collision queries and the full ROM report on the real bones of
//! ../shared/data/vsd_bones (z013, right hip) with a 32 mm head, cup radiographic 40/20, stem 15.
//!
//! - `pose_query_free`: contact queries at seeded random poses that are free of contact (the
//!   worst case: every cluster is visited), one thread; throughput = queries per second per core.
//! - `pose_query_random`: seeded random poses, contact or not.
//! - `pose_query_implants_only`: the analytic neck-rim test alone.
//! - `pose_query_user_meshes_only`, `full_report_user_meshes_only`,
//!   `oscillation_angle_user_meshes_only`: the same implants through the user-geometry path
//!   (the catalog liner's mesh as a user cup against the neck hull: `coxa_sim::fast_contact`,
//!   parry3d for the final contact points). The cup-neck pair is prepared when the model is
//!   built, outside the timed loop; the time it takes is printed.
//! - `prepare_user_pair/liner_segments/N`: preparing a user cup (the catalog liner's mesh with
//!   N azimuth steps, as a user STL would give it) against the catalog neck hull: the work a
//!   design sweep repeats for every new cup-neck pair (the caches keep it across cases).
//! - `parry_exact_bone_bone`: parry's triangle-mesh intersection test at the same free poses,
//!   for comparison.
//! - `full_report`: all 14 motions to 0.1 deg (rayon), with bones and implants alone.
//! - `prepare_bones`: the distance field and femur points (once per cup size and centre), and
//!   the landmarks (femur, both acetabula, the anterior pelvic plane).
//!
//! Without the reference data the bone benchmarks are skipped with a note.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;

use coxa_anatomy::landmarks::hip_anatomy;
use coxa_benches::{bench, z013};
use coxa_core::{Angle, CupAngleDefinition, CupAngles, Side};
use coxa_implants::{Catalog, Construct};
use coxa_implants::{UserGeometry, UserPartKind};
use coxa_sim::rom::{self, PelvicTilts, SweepOptions};
use coxa_sim::user_parts::UserCup;
use coxa_sim::{BoneGeometry, BoneOptions, HipModel, JointAngles};

fn construct() -> Construct {
    let c = Catalog::builtin().expect("built-in catalog");
    let spec = c.liner_spec("hemispherical").expect("liner");
    let shell = c.smallest_shell_for(spec, 32.0).expect("shell");
    let liner = c.liner(spec, 32.0, &shell).expect("liner fits");
    Construct::new(shell, liner, c.head(32.0, 0.0).expect("head"), c.stem(None, "3").expect("stem")).expect("construct")
}

fn builder(c: &Construct) -> coxa_sim::HipModelBuilder {
    let cup = CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(40.0), anteversion: Angle::from_deg(20.0) };
    HipModel::builder(Side::Right, c.clone()).cup(cup).stem_anteversion(Angle::from_deg(15.0))
}

/// Seeded poses: flexion -30..130, abduction -40..60, internal rotation -60..60 deg.
fn poses(n: usize) -> Vec<nalgebra::Rotation3<f64>> {
    let mut rng = StdRng::seed_from_u64(123);
    (0..n).map(|_| JointAngles::from_deg(rng.random_range(-30.0..130.0), rng.random_range(-40.0..60.0), rng.random_range(-60.0..60.0)).rotation(Side::Right)).collect()
}

fn rom_benches(c: &mut Criterion) {
    let con = construct();
    let alone = builder(&con).build().expect("model");
    let all = rom::all_motions();
    let (tilts, opts) = (PelvicTilts::default(), SweepOptions::default());
    let random = poses(4096);

    // The same implants as user meshes; the cup and the cup-neck pair are prepared once here.
    let t0 = std::time::Instant::now();
    let user = builder(&con).user_cup(Arc::new(UserCup::from_liner(&con.liner).expect("liner mesh"))).build().expect("model");
    eprintln!("preparing the user cup and the cup-neck pair took {:.0} ms", t0.elapsed().as_secs_f64() * 1e3);
    c.bench_function(bench!("full_report_user_meshes_only"), |b| b.iter(|| rom::report(black_box(&user), &all, &tilts, &opts)));
    c.bench_function(bench!("oscillation_angle_user_meshes_only"), |b| b.iter(|| black_box(&user).oscillation_angle()));
    // Preparing a pair: a fresh cup each time (a clone starts with an empty pair cache).
    let mut pp = c.benchmark_group(bench!("prepare_user_pair"));
    pp.sample_size(10);
    for n in [144, 360] {
        let frame = UserGeometry {
            part: UserPartKind::Cup,
            mesh_path: PathBuf::from("liner.stl"),
            centre_mm: nalgebra::Point3::origin(),
            axis: nalgebra::Vector3::z(),
            diameter_mm: con.liner.inner_diameter_mm,
            reference_axis: Some(nalgebra::Vector3::x()),
        };
        let cup = UserCup::new(&con.liner.mesh_with_segments(n), &frame).expect("liner mesh");
        pp.bench_with_input(BenchmarkId::new("liner_segments", n), &cup, |b, cup| {
            b.iter_batched(|| cup.clone(), |cup| builder(&con).user_cup(Arc::new(cup)).build().expect("model"), criterion::BatchSize::LargeInput)
        });
    }
    pp.finish();
    let mut g = c.benchmark_group(bench!("pose_query"));
    g.throughput(Throughput::Elements(random.len() as u64));
    g.bench_function("implants_only", |b| b.iter(|| random.iter().filter(|r| alone.contact(black_box(r)).is_some()).count()));
    g.bench_function("user_meshes_only", |b| b.iter(|| random.iter().filter(|r| user.contact(black_box(r)).is_some()).count()));

    let paths = [z013("Hip_R"), z013("Hip_L"), z013("Femur_R")];
    if paths.iter().any(|p| !p.exists()) {
        eprintln!("note: skipping the bone benchmarks, {} is not here", paths[0].display());
        g.finish();
        c.bench_function(bench!("full_report_implants_only"), |b| b.iter(|| rom::report(black_box(&alone), &all, &tilts, &opts)));
        return;
    }
    let read = |p: &PathBuf| coxa_io::mesh::read_stl(p).expect("readable STL");
    let (hr, hl, fr) = (read(&paths[0]), read(&paths[1]), read(&paths[2]));
    let anatomy = hip_anatomy(Side::Right, &hr, Some(&hl), &fr).expect("landmarks");
    let prepare = || BoneGeometry::new(&hr, &fr, &anatomy.femur, &anatomy.frame, anatomy.hip_centre_lps_mm(), &con, &BoneOptions::default()).expect("bones");
    let bones = Arc::new(prepare());
    let model = builder(&con).bones(bones.clone()).build().expect("model");
    let free: Vec<_> = random.iter().filter(|r| model.contact(r).is_none()).copied().collect();
    eprintln!("{} of {} random poses are free of contact; {} femur points", free.len(), random.len(), bones.n_femur_points());

    g.throughput(Throughput::Elements(random.len() as u64));
    g.bench_function("random", |b| b.iter(|| random.iter().filter(|r| model.contact(black_box(r)).is_some()).count()));
    g.throughput(Throughput::Elements(free.len() as u64));
    g.bench_function("free", |b| b.iter(|| free.iter().filter(|r| model.contact(black_box(r)).is_some()).count()));
    g.finish();

    let mut p = c.benchmark_group(bench!("parry_exact_bone_bone"));
    p.sample_size(10);
    let few = &free[..free.len().min(64)];
    p.throughput(Throughput::Elements(few.len() as u64));
    p.bench_function("free", |b| b.iter(|| few.iter().filter(|r| model.bone_bone_exact(black_box(r)) == Some(true)).count()));
    p.finish();

    let mut r = c.benchmark_group(bench!("full_report"));
    r.bench_with_input(BenchmarkId::new("bones", all.len()), &model, |b, m| b.iter(|| rom::report(black_box(m), &all, &tilts, &opts)));
    r.bench_with_input(BenchmarkId::new("implants_only", all.len()), &alone, |b, m| b.iter(|| rom::report(black_box(m), &all, &tilts, &opts)));
    r.finish();
    let q: usize = rom::report(&model, &all, &tilts, &opts).motions.iter().map(|m| m.queries).sum();
    eprintln!("a full report makes {q} pose queries");

    let mut b = c.benchmark_group(bench!("prepare_bones"));
    b.sample_size(10);
    b.bench_function("distance_field_1mm", |bb| bb.iter(prepare));
    b.bench_function("landmarks", |bb| bb.iter(|| hip_anatomy(Side::Right, black_box(&hr), Some(&hl), &fr).expect("landmarks")));
    b.finish();
}

criterion_group!(benches, rom_benches);
criterion_main!(benches);
