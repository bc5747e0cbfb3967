//! The viewer as the planning desk (issue 41, item 2), on the real CT
//! (`../shared/data/totalseg/example_ct.nii.gz`, through `coxa demo --ct` once in setup):
//!
//! - `control_change_to_rom`: a control changed (cup inclination one degree up) to the updated
//!   ROM numbers: the live model's evaluation, every motion swept (goal < 100 ms on 2 cores);
//! - `cup_centre_change_to_rom`: the same for a change that moves the cup centre, whose bones
//!   the simulator prepares again;
//! - `stem_version_change_to_rom`: the same for a change that moves the head centre on the
//!   femur (the femur prepared again, the pelvis's distance field reused);
//! - `cup_size_change_to_rom`: the same for a change of the shell size (two sizes up), the cup's
//!   bones prepared again;
//! - `save_revision_with_report`: Save of that plan as a revision, report, pictures, simulated
//!   radiograph and manifest rebuilt (goal < 2 s on 2 cores), each iteration on a fresh copy of
//!   the case;
//! - `save_replanned_real_ct`: Save on a case `coxa plan --ct` wrote (issue 60): the case planned
//!   again by `coxa plan`'s code with every choice fixed (cup 45/15, stem 15 deg), everything
//!   re-evaluated (plan, ROM, safe-zone map, pictures, radiograph, report, manifest), its anatomy
//!   the one the desk found when it opened the case (goal < 3 s on 2 cores).
//!
//! Skipped without ../shared/data.
#![allow(missing_docs, reason = "criterion_group! generates undocumented functions")]

use std::path::{Path, PathBuf};
use std::process::Command;

use coxa_viewer::revision::CaseStamp;
use coxa_viewer::{Controls, LoadOptions, load_case};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn shared_ct() -> Option<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().skip(1).map(|a| a.join("shared/data/totalseg/example_ct.nii.gz")).find(|p| p.exists())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("copy");
    for e in std::fs::read_dir(from).expect("case folder").flatten() {
        let t = to.join(e.file_name());
        if e.path().is_dir() { copy_dir(&e.path(), &t) } else { _ = std::fs::copy(e.path(), &t).expect("copy") }
    }
}

/// A copy of `case` at `dir` and its stamp, for one save.
fn fresh_copy(case: &Path, dir: &Path) -> (PathBuf, CaseStamp) {
    copy_dir(case, dir);
    let stamp = CaseStamp::take(dir).expect("stamp");
    (dir.to_path_buf(), stamp)
}

fn desk(c: &mut Criterion) {
    let Some(ct) = shared_ct() else {
        eprintln!("note: ../shared/data/totalseg/example_ct.nii.gz missing, desk bench skipped");
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("demo");
    let run = Command::new(env!("CARGO_BIN_EXE_coxa")).args(["demo", "--ct", ct.to_str().expect("path"), "--out", out.to_str().expect("path"), "--quiet"]).output().expect("coxa demo runs");
    assert!(run.status.success(), "coxa demo --ct: {}", String::from_utf8_lossy(&run.stderr));
    let case = out.join("cases/ct");
    let (_, _, live) = load_case(&case, LoadOptions { ct: false, muscles: false, live: true }).expect("the case");
    let (live, automatic) = live.expect("the live model of the real-CT case");
    let c0 = live.base_controls();
    let changed = Controls { cup_inclination_deg: c0.cup_inclination_deg + 1.0, ..c0 };
    let mut g = c.benchmark_group("desk");
    let _ = g.sample_size(10);
    let _ = g.bench_function("control_change_to_rom_real_ct", |b| b.iter(|| live.evaluate(&changed).expect("evaluates").limits.len()));
    // A change that moves the cup centre: the bones are prepared again (the simulator caches
    // them per cup centre, head centre and sizes), a new centre every iteration.
    let mut n = 0u32;
    let _ = g.bench_function("cup_centre_change_to_rom_real_ct", |b| {
        b.iter(|| {
            n += 1;
            let moved = Controls { cup_shift_mm: [1e-3 * f64::from(n), 0.0, 0.0], ..c0 };
            live.evaluate(&moved).expect("evaluates").limits.len()
        });
    });
    // A change that moves the head centre (stem version, a new angle every iteration): the
    // femur is prepared again, the pelvis's distance field is the cached one.
    let mut m = 0u32;
    let _ = g.bench_function("stem_version_change_to_rom_real_ct", |b| {
        b.iter(|| {
            m += 1;
            let turned = Controls { stem_anteversion_deg: c0.stem_anteversion_deg + 1e-3 * f64::from(m), ..c0 };
            live.evaluate(&turned).expect("evaluates").limits.len()
        });
    });
    let sized = Controls { cup_outer_diameter_mm: c0.cup_outer_diameter_mm + 4.0, ..c0 };
    let _ = g.bench_function("cup_size_change_to_rom_real_ct", |b| b.iter(|| live.evaluate(&sized).expect("evaluates").limits.len()));
    let e = live.evaluate(&changed).expect("evaluates");
    let hook = coxa_scenarios::revision::save_hook();
    let mut k = 0;
    let _ = g.bench_function("save_revision_with_report_real_ct", |b| {
        b.iter_batched(
            || {
                k += 1;
                fresh_copy(&case, &tmp.path().join(format!("copy{k}")))
            },
            |(dir, stamp)| coxa_viewer::revision::save(&dir, &stamp, &automatic, &e, Some(&hook)).expect("saved").files.len(),
            BatchSize::PerIteration,
        );
    });
    // A case `coxa plan` wrote: Save plans it again with the surgeon's choices fixed.
    let planned = tmp.path().join("planned");
    let run =
        Command::new(env!("CARGO_BIN_EXE_coxa")).args(["plan", "--ct", ct.to_str().expect("path"), "--side", "right", "--out", planned.to_str().expect("path")]).output().expect("coxa plan runs");
    assert!(run.status.success(), "coxa plan --ct: {}", String::from_utf8_lossy(&run.stderr));
    let (_, _, live) = load_case(&planned, LoadOptions { ct: false, muscles: false, live: true }).expect("the planned case");
    let (live, automatic) = live.expect("the live model of the planned case");
    let c0 = live.base_controls();
    let e = live.evaluate(&Controls { cup_inclination_deg: 45.0, cup_anteversion_deg: 15.0, stem_anteversion_deg: 15.0, ..c0 }).expect("evaluates");
    // As the desk does when it opens the case: the anatomy found once, ahead of the saves.
    let hook = coxa_scenarios::revision::desk_save_hook(&planned);
    let mut k = 0;
    let _ = g.bench_function("save_replanned_real_ct", |b| {
        b.iter_batched(
            || {
                k += 1;
                fresh_copy(&planned, &tmp.path().join(format!("planned{k}")))
            },
            |(dir, stamp)| coxa_viewer::revision::save(&dir, &stamp, &automatic, &e, Some(&hook)).expect("saved").files.len(),
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(benches, desk);
criterion_main!(benches);
