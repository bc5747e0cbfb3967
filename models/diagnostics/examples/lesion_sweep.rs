//! Lesion-search figures on the real example CT with inserted lesions, for a settings sweep:
//! `cargo run --example lesion_sweep -- CORE_MM SEED_Z GROW_Z MIN_ML LYTIC_DROP [TRIALS]`.
//! Prints sensitivity per kind and false positives per CT (the test `lesions_real` asserts the
//! defaults' figures).

use coxa_diagnostics::lesions::LesionSettings;

#[path = "../tests/support/lesion_trials.rs"]
mod lesion_trials;

fn main() {
    let a: Vec<f64> = std::env::args().skip(1).map(|s| s.parse().expect("numbers")).collect();
    let mut s = LesionSettings::default();
    if a.len() >= 5 {
        (s.core_depth_mm, s.seed_z, s.grow_z, s.min_volume_ml, s.lytic_min_drop_hu) = (a[0], a[1], a[2], a[3], a[4]);
    }
    if let Some(v) = a.get(7) {
        s.interior_depth_mm = *v;
    }
    if let Some(sm) = a.get(6) {
        s.smooth_sigma_mm = *sm;
    }
    let trials = a.get(5).map_or(6, |t| *t as u64);
    let c = lesion_trials::case();
    if std::env::var("LESION_TIME").is_ok() {
        // Wall time of the search on the clean CT (best of 5), for a release build when the
        // criterion bench (benches/benches/lesions.rs) cannot be built.
        let best = (0..5)
            .map(|_| {
                let t = std::time::Instant::now();
                let d = coxa_diagnostics::lesions::detect(&c.ct, &c.bones, &c.names, &s).unwrap();
                std::hint::black_box(d);
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        println!("classical search on the real CT: {best:.3} s (best of 5)");
        return;
    }
    let clean = coxa_diagnostics::lesions::detect(&c.ct, &c.bones, &c.names, &s).unwrap();
    for l in &clean.lesions {
        println!("clean: {} {:?} {:.2} ml z {:.1}", l.bone, l.kind, l.volume_ml, l.peak_z);
    }
    if let Ok(t) = std::env::var("LESION_TRIAL") {
        show(&c, &s, t.parse().unwrap());
        return;
    }
    let f = lesion_trials::figures(&c, &s, trials);
    println!(
        "clean {} | lytic {}/{} blastic {}/{} FP/CT {:.2} max err {:.1}",
        clean.lesions.len(),
        f.found_lytic,
        f.lytic,
        f.found_blastic,
        f.blastic,
        f.false_positives as f64 / trials as f64,
        f.max_error_mm()
    );
}

/// Prints one trial's inserted and detected lesions (`LESION_TRIAL=seed`).
fn show(c: &lesion_trials::Case, s: &LesionSettings, seed: u64) {
    let (ct, truth) = lesion_trials::trial_ct(c, seed);
    for t in &truth {
        println!("inserted {:?} {:.1} mm {:.0} HU at {:?}", t.kind, t.diameter_mm, t.hu, t.centre_lps_mm.coords.as_slice());
    }
    let d = coxa_diagnostics::lesions::detect(&ct, &c.bones, &c.names, s).unwrap();
    println!("{:?}", d.references);
    for l in &d.lesions {
        println!("found {} {:?} {:.2} ml z {:.1} hu {:.0} ref {:.0} at {:?}", l.bone, l.kind, l.volume_ml, l.peak_z, l.mean_hu, l.reference_hu, l.centre_lps_mm);
    }
}
