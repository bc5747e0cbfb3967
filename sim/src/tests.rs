//! Implant-only ROM: exact oscillation geometry, trends and mirror invariance.

use coxa_core::{Angle, CupAngleDefinition, CupAngles, Side};
use coxa_implants::{Catalog, Construct};

use crate::rom::{self, PelvicTilts, SweepOptions};
use crate::{HipModel, MotionLimit};

/// A catalog construct: `head_mm` head, the smallest shell for `liner`, stem series 1 size 3
/// (shared by the crate's tests).
pub(crate) fn construct(head_mm: f64, liner: &str) -> Construct {
    let c = Catalog::builtin().unwrap();
    let spec = c.liner_spec(liner).unwrap();
    let shell = c.smallest_shell_for(spec, head_mm).unwrap();
    let liner = c.liner(spec, head_mm, &shell).unwrap();
    Construct::new(shell, liner, c.head(head_mm, 0.0).unwrap(), c.stem(None, "3").unwrap()).unwrap()
}

/// Radiographic cup angles, deg.
pub(crate) fn radiographic(inc: f64, av: f64) -> CupAngles {
    CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(inc), anteversion: Angle::from_deg(av) }
}

fn limits(side: Side, head_mm: f64, inc: f64, av: f64, stem_av: f64) -> Vec<MotionLimit> {
    let m = HipModel::builder(side, construct(head_mm, "hemispherical")).cup(radiographic(inc, av)).stem_anteversion(Angle::from_deg(stem_av)).build().unwrap();
    rom::report(&m, &rom::all_motions(), &PelvicTilts::default(), &SweepOptions::default()).motions
}

fn get(l: &[MotionLimit], name: &str) -> f64 {
    l.iter().find(|m| m.name == name).unwrap().limit_deg
}

/// With the neck along the cup axis (radiographic inclination = 180 - CCD, no anteversion) the
/// abduction axis is perpendicular to both, so abduction + adduction sweep the neck from rim to
/// rim in one plane: their sum is the oscillation angle 2 acos(r/R) (to the 0.1 deg of the search).
#[test]
fn abduction_plus_adduction_is_the_exact_oscillation_angle() {
    for (head, expect) in [(22.0, 112.3), (28.0, 128.1), (32.0, 135.0), (36.0, 140.2)] {
        let c = construct(head, "hemispherical");
        let inc = 180.0 - c.stem.ccd.deg();
        let m = HipModel::builder(Side::Right, c).cup(radiographic(inc, 0.0)).stem_anteversion(Angle::from_deg(0.0)).build().unwrap();
        let tilts = PelvicTilts::default();
        let opts = SweepOptions::default();
        let all = rom::standard_motions();
        let pick = |n: &str| rom::sweep(&m, all.iter().find(|x| x.name == n).unwrap(), &tilts, &opts);
        let (ab, ad) = (pick("abduction"), pick("adduction"));
        let sum = ab.limit_deg + ad.limit_deg;
        let exact = 2.0 * (12.25f64 / head).acos().to_degrees();
        assert!((sum - exact).abs() < 0.1, "{head} mm: {sum} vs {exact}");
        assert!((exact - expect).abs() < 0.05);
        assert_eq!(ab.contact.unwrap().kind.as_str(), "implant-implant");
        // The contact point lies on the rim: at the head radius from the centre.
        let p = ad.contact.unwrap().point_lps_mm;
        assert!((p.coords.norm() - head / 2.0).abs() < 1e-6);
    }
}

#[test]
fn cup_anteversion_trades_extension_for_flexion_and_inclination_abduction_for_adduction() {
    let a = limits(Side::Right, 32.0, 40.0, 10.0, 15.0);
    let b = limits(Side::Right, 32.0, 40.0, 25.0, 15.0);
    assert!(get(&b, "flexion") > get(&a, "flexion"));
    assert!(get(&b, "extension") < get(&a, "extension"));
    assert!(get(&b, "internal_rotation_90_flexion") > get(&a, "internal_rotation_90_flexion"));
    let lo = limits(Side::Right, 32.0, 35.0, 20.0, 15.0);
    let hi = limits(Side::Right, 32.0, 50.0, 20.0, 15.0);
    assert!(get(&hi, "abduction") > get(&lo, "abduction"));
    assert!(get(&hi, "adduction") < get(&lo, "adduction"));
}

#[test]
fn larger_heads_raise_every_implant_limited_motion_and_sides_agree() {
    let small = limits(Side::Right, 28.0, 40.0, 20.0, 15.0);
    let big = limits(Side::Right, 36.0, 40.0, 20.0, 15.0);
    let left = limits(Side::Left, 28.0, 40.0, 20.0, 15.0);
    for ((s, b), l) in small.iter().zip(&big).zip(&left) {
        if s.contact.is_some() && s.limit_deg > 0.0 {
            assert!(b.limit_deg > s.limit_deg, "{}: {} -> {}", s.name, s.limit_deg, b.limit_deg);
        }
        assert!((s.limit_deg - l.limit_deg).abs() < 1e-9, "{}: right {} left {}", s.name, s.limit_deg, l.limit_deg);
    }
}

#[test]
fn sitting_tilt_adds_to_world_flexion() {
    // Posterior tilt t turns the pelvis with the flexing femur: the world flexion limit grows by t.
    let m = HipModel::builder(Side::Right, construct(32.0, "hemispherical")).build().unwrap();
    let flex = &rom::standard_motions()[0];
    let opts = SweepOptions::default();
    let a = rom::sweep(&m, flex, &PelvicTilts::default(), &opts).limit_deg;
    let b = rom::sweep(&m, flex, &PelvicTilts::from_standing(Angle::from_deg(10.0)), &opts).limit_deg;
    assert!((b - a - 10.0).abs() < 0.1, "{a} {b}");
}

#[test]
fn nan_and_out_of_range_angles_are_errors() {
    let b = HipModel::builder(Side::Right, construct(32.0, "hemispherical"));
    assert!(b.clone().cup(radiographic(f64::NAN, 20.0)).build().is_err());
    assert!(b.clone().stem_anteversion(Angle::from_deg(f64::INFINITY)).build().is_err());
    assert!(b.cup(radiographic(40.0, 120.0)).build().is_err());
}

/// A posterior lip (elevated rim centred at 90 deg = posterior) covers the neck's path in
/// extension and external rotation: those limits fall; flexion, which meets the anterior rim,
/// does not change.
#[test]
fn a_posterior_lip_takes_range_from_extension_and_external_rotation_only() {
    let c = Catalog::builtin().unwrap();
    let flat = construct(32.0, "hemispherical");
    let lip = coxa_implants::Rim::Elevated { height_mm: 4.0, arc: Angle::from_deg(120.0), transition: Angle::from_deg(30.0), orientation: Angle::from_deg(90.0) };
    let liner = coxa_implants::Liner::new(32.0, flat.shell.inner_diameter_mm(), lip).unwrap();
    let lipped = Construct::new(flat.shell, liner, flat.head, c.stem(None, "3").unwrap()).unwrap();
    let run = |k: Construct| {
        let m = HipModel::builder(Side::Right, k).cup(radiographic(40.0, 20.0)).build().unwrap();
        rom::report(&m, &rom::standard_motions(), &PelvicTilts::default(), &SweepOptions::default()).motions
    };
    let (a, b) = (run(flat), run(lipped));
    for n in ["extension", "external_rotation_0_flexion"] {
        assert!(get(&b, n) < get(&a, n) - 3.0, "{n}: {} -> {}", get(&a, n), get(&b, n));
    }
    assert!((get(&b, "flexion") - get(&a, "flexion")).abs() < 1e-9);
}

/// Issue 16 (deadlines): a sweep's cost is bounded whatever its options and motion say. A
/// tolerance of 0 (or below, or NaN) used to bisect forever between two adjacent floats, and a
/// motion with an infinite range that never touches never ended. Both now end within their
/// bounds: the bisection at `MIN_TOLERANCE_DEG`, the sweep at `MAX_SWEEP_DEG`.
#[test]
fn issue_16_a_sweep_ends_whatever_its_options() {
    let m = HipModel::builder(Side::Right, construct(32.0, "hemispherical")).cup(radiographic(40.0, 15.0)).stem_anteversion(Angle::from_deg(15.0)).build().unwrap();
    let tilts = PelvicTilts::default();
    let flexion = rom::standard_motions().into_iter().find(|x| x.name == "flexion").unwrap();
    let normal = rom::sweep(&m, &flexion, &tilts, &SweepOptions::default());
    assert!(normal.contact.is_some(), "flexion touches: {normal:?}");
    let finest = rom::sweep(&m, &flexion, &tilts, &SweepOptions { tolerance_deg: rom::MIN_TOLERANCE_DEG, ..SweepOptions::default() });
    for tol in [0.0, -1.0, f64::NAN] {
        let l = rom::sweep(&m, &flexion, &tilts, &SweepOptions { tolerance_deg: tol, ..SweepOptions::default() });
        assert_eq!(l.limit_deg, finest.limit_deg, "tolerance {tol}");
        assert_eq!(l.queries, finest.queries, "tolerance {tol}");
        assert!((l.limit_deg - normal.limit_deg).abs() < 0.05 + 1e-9, "{} vs {}", l.limit_deg, normal.limit_deg);
    }
    // bisections ≤ log2(2 deg / 1e-6 deg) + 1 = 22 beyond the coarse steps
    assert!(finest.queries <= normal.queries + 22, "{} vs {}", finest.queries, normal.queries);
    // A motion that does not move (never touches) with an infinite range ends at the bound.
    let still = rom::Motion { drive: [0.0, 0.0, 0.0], max_deg: f64::INFINITY, ..flexion.clone() };
    let l = rom::sweep(&m, &still, &tilts, &SweepOptions::default());
    assert!(l.contact.is_none() && !l.start_in_contact);
    assert_eq!(l.queries, 1 + (rom::MAX_SWEEP_DEG / 2.0) as usize, "one query per 2 deg step up to the bound");
    assert_eq!(
        l.notes,
        vec![format!("flexion: max_deg = inf deg is over the sweep's bound of {} deg: swept to {} deg; give max_deg <= {}", rom::MAX_SWEEP_DEG, rom::MAX_SWEEP_DEG, rom::MAX_SWEEP_DEG)]
    );
}

/// Issue 16: a sweep that raised an option to its bound says so, in the limit and in the report
/// (JSON included), naming the option, the bound and the fix; options within the bounds give
/// no note and leave the serialised report unchanged.
#[test]
fn issue_16_a_sweep_says_when_it_raised_an_option() {
    let m = HipModel::builder(Side::Right, construct(32.0, "hemispherical")).cup(radiographic(40.0, 15.0)).stem_anteversion(Angle::from_deg(15.0)).build().unwrap();
    let tilts = PelvicTilts::default();
    let flexion: Vec<_> = rom::standard_motions().into_iter().filter(|x| x.name == "flexion" || x.name == "extension").collect();
    let normal = rom::report(&m, &flexion, &tilts, &SweepOptions::default());
    assert!(normal.notes.is_empty() && normal.motions.iter().all(|l| l.notes.is_empty()));
    assert!(!serde_json::to_string(&normal).unwrap().contains("notes"), "no notes key without a note");
    let tiny = SweepOptions { coarse_step_deg: 1e-4, tolerance_deg: 0.0 };
    let rep = rom::report(&m, &flexion, &tilts, &tiny);
    let want = [
        format!(
            "coarse_step_deg = 0.0001 deg is below the sweep's bound of {} deg (its cost would be unbounded): the sweep used {} deg; give coarse_step_deg >= {}",
            rom::MIN_COARSE_STEP_DEG,
            rom::MIN_COARSE_STEP_DEG,
            rom::MIN_COARSE_STEP_DEG
        ),
        format!(
            "tolerance_deg = 0 deg is below the sweep's bound of {} deg (its cost would be unbounded): the sweep used {} deg; give tolerance_deg >= {}",
            rom::MIN_TOLERANCE_DEG,
            rom::MIN_TOLERANCE_DEG,
            rom::MIN_TOLERANCE_DEG
        ),
    ];
    assert_eq!(rep.notes, want, "one note per raised option, once in the report");
    assert!(rep.motions.iter().all(|l| l.notes == want), "and in every limit");
    let json = serde_json::to_value(&rep).unwrap();
    assert_eq!(json["notes"][1], want[1].as_str());
    // The sweep ran at the bounds: the same limits as the bounds given directly, without notes.
    let at_bounds = rom::report(&m, &flexion, &tilts, &SweepOptions { coarse_step_deg: rom::MIN_COARSE_STEP_DEG, tolerance_deg: rom::MIN_TOLERANCE_DEG });
    assert!(at_bounds.notes.is_empty());
    for (a, b) in rep.motions.iter().zip(&at_bounds.motions) {
        assert_eq!((a.limit_deg, a.queries), (b.limit_deg, b.queries), "{}", a.name);
    }
    let (_, nan_notes) = SweepOptions { coarse_step_deg: f64::NAN, tolerance_deg: 0.05 }.bounded();
    assert_eq!(nan_notes.len(), 1);
    assert!(nan_notes[0].starts_with("coarse_step_deg = NaN deg is below"), "{}", nan_notes[0]);
}
