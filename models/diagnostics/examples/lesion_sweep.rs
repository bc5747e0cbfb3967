//! Lesion-search figures on the real example CT with inserted lesions, for a settings sweep:
//! `cargo run --release --example lesion_sweep -- [key=value ...]` with keys `core` (mm),
//! `seed_z`, `lytic_z`, `grow_z`, `min_ml`, `drop` (lytic HU), `sigma` (mm), `interior` (mm),
//! `ltex`, `lseed`, `lgrow`, `lgrow_z`, `lmin`, `llo`, `lin`, `lout` (the local lytic cue's
//! settings), `seeds=A..B` (trial seeds, default 0..6) and `jitter` (mm: held-out placements, each site moved
//! by up to this along each axis within the bone's core; default 0, the test's sites).
//! Prints sensitivity per kind, false positives per CT and the clean CT's candidates (the test
//! `lesions_real` asserts the defaults' figures on seeds 0..6 at the fixed sites). With
//! `LESION_TIME=1`, the search's wall time on the clean CT; with `LESION_TRIAL=seed`, one trial's
//! inserted and detected lesions.

use coxa_diagnostics::lesions::LesionSettings;

#[path = "../tests/support/lesion_trials.rs"]
mod lesion_trials;

fn main() {
    let mut s = LesionSettings::default();
    let (mut seeds, mut jitter) = (0..6u64, 0.0);
    for arg in std::env::args().skip(1) {
        let (k, v) = arg.split_once('=').expect("key=value");
        if k == "seeds" {
            let (a, b) = v.split_once("..").expect("seeds=A..B");
            seeds = a.parse().expect("seed")..b.parse().expect("seed");
            continue;
        }
        let x: f64 = v.parse().expect("a number");
        match k {
            "core" => s.core_depth_mm = x,
            "seed_z" => s.seed_z = x,
            "lytic_z" => s.lytic_seed_z = x,
            "grow_z" => s.grow_z = x,
            "min_ml" => s.min_volume_ml = x,
            "drop" => s.lytic_min_drop_hu = x,
            "sigma" => s.smooth_sigma_mm = x,
            "interior" => s.interior_depth_mm = x,
            "jitter" => jitter = x,
            "ltex" => s.local_max_texture_hu = x,
            "lseed" => s.local_seed_drop_hu = x,
            "lgrow" => s.local_grow_drop_hu = x,
            "lgrow_z" => s.local_grow_z = x,
            "lseed_z" => s.local_seed_z = x,
            "lmin" => s.local_min_drop_hu = x,
            "llo" => s.local_min_hu = x,
            "lin" => s.local_inner_mm = x,
            "lout" => s.local_outer_mm = x,
            "frel" => s.fit_min_relative = x,
            "fdrop" => s.fit_min_drop_hu = x,
            "frms" => s.fit_max_rms_hu = x,
            "ff" => s.fit_min_f = x,
            "fblo" => s.fit_blastic_min_hu = x,
            _ => panic!("unknown key {k}"),
        }
    }
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
    if std::env::var("LESION_REFS").is_ok() {
        println!("references: {:?}", clean.references.iter().map(|(b, r)| format!("{b} {r:.0}")).collect::<Vec<_>>());
    }
    for l in &clean.lesions {
        println!("clean: {} {:?} {:.2} ml z {:.1} at {:?}", l.bone, l.kind, l.volume_ml, l.peak_z, l.centre_lps_mm.map(|v| v.round()));
    }
    if let Ok(t) = std::env::var("LESION_TRIAL") {
        show(&c, &s, t.parse().unwrap(), jitter);
        return;
    }
    let mut f = lesion_trials::Figures::default();
    let trials = seeds.end - seeds.start;
    for seed in seeds {
        let sites = if jitter > 0.0 { lesion_trials::moved_sites(&c, seed, jitter, s.core_depth_mm) } else { c.sites.clone() };
        let (ct, truth) = lesion_trials::trial_ct_moved(&c, seed, &sites);
        let d = coxa_diagnostics::lesions::detect(&ct, &c.bones, &c.names, &s).unwrap();
        lesion_trials::score(&mut f, &d, &truth);
    }
    let mean = f.errors_mm.iter().sum::<f64>() / f.errors_mm.len().max(1) as f64;
    println!(
        "clean {} | lytic {}/{} blastic {}/{} all {:.1} % | FP/CT {:.2} | centre error mean {:.1} max {:.1} mm",
        clean.lesions.len(),
        f.found_lytic,
        f.lytic,
        f.found_blastic,
        f.blastic,
        100.0 * f.sensitivity(),
        f.false_positives as f64 / trials as f64,
        mean,
        f.max_error_mm()
    );
}

/// Prints one trial's inserted and detected lesions (`LESION_TRIAL=seed`).
fn show(c: &lesion_trials::Case, s: &LesionSettings, seed: u64, jitter: f64) {
    let sites = if jitter > 0.0 { lesion_trials::moved_sites(c, seed, jitter, s.core_depth_mm) } else { c.sites.clone() };
    let (ct, truth) = lesion_trials::trial_ct_moved(c, seed, &sites);
    for (t, (site, _)) in truth.iter().zip(&sites) {
        let v = ct.grid().lps_to_voxel(&t.centre_lps_mm);
        println!(
            "inserted {site} {:?} {:.1} mm {:.0} HU at {:?} kji [{:.1}, {:.1}, {:.1}]",
            t.kind,
            t.diameter_mm,
            t.hu,
            t.centre_lps_mm.coords.as_slice().iter().map(|v| v.round()).collect::<Vec<_>>(),
            v[2],
            v[1],
            v[0]
        );
    }
    let d = coxa_diagnostics::lesions::detect(&ct, &c.bones, &c.names, s).unwrap();
    println!("{:?}", d.references);
    for l in &d.lesions {
        println!("found {} {:?} {:.2} ml z {:.1} hu {:.0} ref {:.0} at {:?}", l.bone, l.kind, l.volume_ml, l.peak_z, l.mean_hu, l.reference_hu, l.centre_lps_mm.map(|v| v.round()));
    }
}
