//! The planner on the real bones of ../shared/data/vsd_bones (z013, right hip planned, left hip
//! as the leg-length and offset reference), with the simulator as its ROM scorer:
//!
//! - `full_plan_default`: sizing plus the default search (2.5 deg grid refined to 0.25 deg),
//!   bone geometry prepared from scratch each time (a fresh scorer).
//! - `full_plan_10k`: the same with a 0.5 deg grid over two liners: at least 10,000 candidate
//!   placements (the count is printed), the benchmark (< 10 s on 2 cores).
//! - `score_one_candidate`: one candidate's daily-life sweep (bones already prepared).
//!
//! Without the reference data the benchmarks are skipped with a note.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

use coxa_anatomy::landmarks::hip_anatomy;
use coxa_anatomy::landmarks::{acetabulum_landmarks, femur_landmarks};
use coxa_benches::{bench, z013};
use coxa_core::{Angle, Mesh, RomScorer, Side};
use coxa_implants::Catalog;
use coxa_planner::{HipLandmarks, PlanAnatomy, PlanOptions, plan};
use coxa_sim::BoneOptions;
use coxa_sim::score::{ScorerBones, SimScorer};

fn anatomy() -> Option<PlanAnatomy> {
    let paths = ["Hip_L", "Hip_R", "Femur_L", "Femur_R"].map(z013);
    if paths.iter().any(|p| !p.exists()) {
        eprintln!("note: skipping the plan benchmarks, {} is not here", paths[0].display());
        return None;
    }
    let [hl, hr, fl, fr]: [Mesh; 4] = paths.map(|p| coxa_io::mesh::read_stl(&p).expect("readable STL"));
    let hip = hip_anatomy(Side::Right, &hr, Some(&hl), &fr).expect("landmarks");
    let other = femur_landmarks(&fl, Side::Left).expect("left femur landmarks");
    let other_acetabulum = acetabulum_landmarks(&hl, Side::Left, Some((other.head_centre.lps_mm, other.head_radius_mm))).expect("left acetabulum");
    let frame_of = |f: &coxa_anatomy::landmarks::FemurLandmarks| f.femoral_frame().expect("femoral frame").femur_from_lps;
    let (own_frame, other_frame) = (frame_of(&hip.femur), frame_of(&other));
    Some(PlanAnatomy {
        side: Side::Right,
        frame: hip.frame,
        pelvis: hr,
        femur: fr,
        operated: HipLandmarks { acetabulum: hip.acetabulum.clone(), femur_from_lps: own_frame, femur: hip.femur },
        contralateral: Some(HipLandmarks { acetabulum: other_acetabulum, femur_from_lps: other_frame, femur: other }),
        canal: None,
    })
}

fn scorer(a: &PlanAnatomy, catalog: &Catalog) -> SimScorer {
    SimScorer::with_bones(catalog.clone(), a.frame, ScorerBones { pelvis: a.pelvis.clone(), femur: a.femur.clone(), femur_landmarks: a.operated.femur.clone(), options: BoneOptions::default() })
}

fn plan_benches(c: &mut Criterion) {
    let Some(a) = anatomy() else { return };
    let catalog = Catalog::builtin().expect("catalog");
    let default = PlanOptions::new();
    let dense = PlanOptions::new().with_grid_step(Angle::from_deg(0.5)).with_liners(vec!["neutral".into(), "elevated rim 4 mm posterosuperior".into()]);
    for (name, o) in [("default", &default), ("10k", &dense)] {
        let p = plan(&a, &catalog, &scorer(&a, &catalog), o).expect("plan");
        eprintln!("{name}: {} candidates scored, {} refused", p.evaluated, p.failed);
    }
    let mut g = c.benchmark_group(bench!("full_plan"));
    g.sample_size(10).measurement_time(Duration::from_secs(30)).warm_up_time(Duration::from_secs(1));
    g.bench_function("default", |b| b.iter(|| plan(black_box(&a), &catalog, &scorer(&a, &catalog), &default).expect("plan")));
    g.bench_function("10k", |b| b.iter(|| plan(black_box(&a), &catalog, &scorer(&a, &catalog), &dense).expect("plan")));
    g.finish();

    let s = scorer(&a, &catalog);
    let p = plan(&a, &catalog, &s, &default).expect("plan");
    let daily: Vec<String> = s.motions().into_iter().filter(|m| m.daily_life).map(|m| m.name).collect();
    let q = coxa_core::RomQuery { motions: daily, tilts: default.tilts, resolution_deg: default.resolution_deg, margin_cap_deg: Some(default.margin_cap_deg) };
    c.bench_function(bench!("score_one_candidate"), |b| b.iter(|| s.score(black_box(&p.placement), &q).expect("score")));
}

criterion_group!(benches, plan_benches);
criterion_main!(benches);
