use super::*;
use crate::tests::{construct, radiographic};
use coxa_core::Side;

/// The simple case: neck along the cup axis at neutral, adduction swings it in the frontal
/// plane through the cup axis.
fn simple(head_mm: f64) -> HipModel {
    let c = construct(head_mm, "neutral");
    let inc = 180.0 - c.stem.ccd.deg();
    HipModel::builder(Side::Right, c).cup(radiographic(inc, 0.0)).stem_anteversion(Angle::from_deg(0.0)).build().unwrap()
}

fn motion(name: &str) -> Motion {
    crate::rom::all_motions().into_iter().find(|m| m.name == name).unwrap()
}

fn run(m: &HipModel, name: &str) -> Dislocation {
    simulate(m, &motion(name), &PelvicTilts::default(), &DislocationOptions::default()).unwrap()
}

/// The sample nearest `past` deg of drive beyond the ROM limit.
fn at(d: &Dislocation, past: f64) -> DislocationSample {
    *d.samples.iter().min_by(|a, b| (a.drive_deg - d.rom_limit_deg - past).abs().total_cmp(&(b.drive_deg - d.rom_limit_deg - past).abs())).unwrap()
}

/// The simple case of the module docs against its closed forms, for 28 and 36 mm heads:
/// impingement at the exact ROM limit, the lever's lift and moment (virtual work), and a
/// jump distance of one head radius; larger heads lever out later, against more moment.
/// Also determinism: the same input gives the same numbers.
#[test]
fn simple_case_matches_the_closed_forms() {
    let mut results = Vec::new();
    for head in [28.0, 36.0] {
        let m = simple(head);
        let (rr, rn) = (head / 2.0, 12.25 / 2.0);
        let d = run(&m, "adduction");
        assert_eq!(d, run(&m, "adduction"), "{head}: not deterministic");
        // The neck meets the rim where the parry3d sweep says (the seated head sinks 0.2 mm
        // into its seat, and contacts are predictive: up to 1 deg early).
        let imp = d.impingement_deg.unwrap();
        assert!((d.rom_limit_deg - imp) > -0.2 && (d.rom_limit_deg - imp) < 1.0, "{head}: {imp} vs {}", d.rom_limit_deg);
        let axis = liner_from_hip(&m).row(2).transpose();
        let seat = Vector3::from(d.samples[0].head_centre_hip_mm).dot(&axis);
        for past in [10.0, 20.0] {
            let s = at(&d, past);
            let rise = Vector3::from(s.head_centre_hip_mm).dot(&axis) - seat;
            let psi = Angle::from_deg(s.drive_deg - d.rom_limit_deg);
            let expect = lever_lift_mm(rr, rn, psi);
            assert!((rise - expect).abs() < 0.35, "{head} mm, {past} deg past: lift {rise} vs {expect}");
            // The moment, averaged over 4 deg of drive (it jitters step to step).
            let win: Vec<&DislocationSample> = d.samples.iter().filter(|x| (x.drive_deg - s.drive_deg).abs() <= 2.0).collect();
            let mean = win.iter().map(|x| x.resisting_moment_nm).sum::<f64>() / win.len() as f64;
            let moment = win.iter().map(|x| lever_moment_nm(300.0, rr, rn, Angle::from_deg(x.drive_deg - d.rom_limit_deg))).sum::<f64>() / win.len() as f64;
            assert!((mean - moment).abs() < 0.1 * moment, "{head} mm, {past} deg past: moment {mean} vs {moment}");
        }
        let jump = d.jump_distance_mm.unwrap();
        assert!((jump - rr).abs() < 0.3, "{head}: jump {jump} vs {rr}");
        assert!((d.geometric_jump_distance_mm - rr).abs() < 1e-9);
        results.push(d);
    }
    let (small, big) = (&results[0], &results[1]);
    assert!(big.jump_distance_mm > small.jump_distance_mm);
    assert!(big.dislocation_deg.unwrap() > small.dislocation_deg.unwrap() + 3.0);
    assert!(big.moment_at_impingement_nm.unwrap() > small.moment_at_impingement_nm.unwrap());
}

/// An elevated rim (4 mm, posterosuperior) against the neutral liner in the posterior
/// dislocation position (32 mm head, cup 40/20, stem 15): a longer jump and more resisting
/// moment; the neutral liner dislocates within the drive, the elevated one does not.
#[test]
fn elevated_rim_resists_posterior_dislocation_more() {
    let model = |liner: &str| HipModel::builder(Side::Right, construct(32.0, liner)).cup(radiographic(40.0, 20.0)).stem_anteversion(Angle::from_deg(15.0)).build().unwrap();
    let neutral = run(&model("neutral"), "posterior_dislocation");
    let elevated = run(&model("elevated rim 4 mm posterosuperior"), "posterior_dislocation");
    assert!(elevated.geometric_jump_distance_mm > neutral.geometric_jump_distance_mm + 3.9);
    assert!(neutral.dislocation_deg.is_some(), "{neutral:?}");
    // The known limit (module docs): the head leaves over the impinging rim.
    let q = neutral.impingement_point_hip_mm.expect("impingement point");
    assert!(q[1] < 0.0, "the neck meets the anterior rim (LPS -y) in the posterior position: {q:?}");
    assert!(neutral.exit_side_cosine.unwrap() > 0.3, "{:?}", neutral.exit_side_cosine);
    assert!(elevated.dislocation_deg.is_none());
    assert!(elevated.peak_moment_nm.unwrap() > 1.3 * neutral.peak_moment_nm.unwrap());
}

#[test]
fn bad_input_is_a_clear_error() {
    let m = simple(28.0);
    let mv = motion("adduction");
    let t = PelvicTilts::default();
    let e = simulate(&m, &mv, &t, &DislocationOptions::default().with_joint_load_n(f64::NAN)).unwrap_err();
    assert!(e.to_string().contains("joint_load_n"), "{e}");
    let e = simulate(&m, &mv, &t, &DislocationOptions::default().with_load(LoadDirection::Hip([0.0, 0.0, 0.0]))).unwrap_err();
    assert!(e.to_string().contains("load direction"), "{e}");
    // A load pulling the head out of the cup.
    let out = liner_from_hip(&m).row(2).transpose();
    let e = simulate(&m, &mv, &t, &DislocationOptions::default().with_load(LoadDirection::Hip(out.into()))).unwrap_err();
    assert!(e.to_string().contains("into the cup"), "{e}");
    // A 32 mm head put on a construct made for 28 mm.
    let mut c = construct(28.0, "neutral");
    c.head = coxa_implants::Head::new(32.0, 0.0).unwrap();
    let bad = HipModel::builder(Side::Right, c).build().unwrap();
    let e = simulate(&bad, &mv, &t, &DislocationOptions::default()).unwrap_err();
    assert!(matches!(e, SimError::Implant(coxa_implants::ImplantError::DoesNotFit { .. })), "{e}");
    assert!(e.to_string().contains("does not fit"), "{e}");
}

#[test]
fn closed_forms_hold_at_their_ends() {
    let (r, n) = (14.0, 6.125);
    assert!(lever_lift_mm(r, n, Angle::from_deg(0.0)).abs() < 1e-12);
    // Neck in the face plane: the head centre is one neck radius up.
    let to_flat = Angle::from_rad(std::f64::consts::FRAC_PI_2 - (n / r).acos());
    assert!((lever_lift_mm(r, n, to_flat) - n).abs() < 1e-12);
    assert!((lever_moment_nm(300.0, r, n, Angle::from_deg(0.0)) - 0.3 * r).abs() < 1e-12);
    assert!((lever_moment_nm(300.0, r, n, to_flat) - 0.3 * r).abs() < 1e-12);
}

/// The comparison table of the report (not an assertion; ~1 min in debug):
/// `cargo test -p coxa-sim dislocation_table -- --ignored --nocapture`.
#[test]
#[ignore = "prints a table"]
fn dislocation_table() {
    for head in [28.0, 32.0, 36.0] {
        for liner in ["neutral", "elevated rim 4 mm posterosuperior"] {
            for mo in ["posterior_dislocation", "anterior_dislocation"] {
                let m = HipModel::builder(Side::Right, construct(head, liner)).cup(radiographic(40.0, 20.0)).stem_anteversion(Angle::from_deg(15.0)).build().unwrap();
                let t = std::time::Instant::now();
                let d = run(&m, mo);
                let o = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.2}"));
                eprintln!(
                    "{head} | {liner} | {mo} | rom {:.1} | imp {} | M_imp {} | M_peak {} at {} | disl {} | jump {} (geom {:.1}) | lift {} | exit cos {} | {} steps {:.2?}",
                    d.rom_limit_deg,
                    o(d.impingement_deg),
                    o(d.moment_at_impingement_nm),
                    o(d.peak_moment_nm),
                    o(d.peak_moment_deg),
                    o(d.dislocation_deg),
                    o(d.jump_distance_mm),
                    d.geometric_jump_distance_mm,
                    o(d.lift_out_at_dislocation_mm),
                    o(d.exit_side_cosine),
                    d.steps,
                    t.elapsed()
                );
            }
        }
        let d = run(&simple(head), "adduction");
        let o = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.2}"));
        eprintln!(
            "{head} | simple | adduction | rom {:.2} | imp {} | M_imp {} | M_peak {} at {} | disl {} | jump {} | lift {}",
            d.rom_limit_deg,
            o(d.impingement_deg),
            o(d.moment_at_impingement_nm),
            o(d.peak_moment_nm),
            o(d.peak_moment_deg),
            o(d.dislocation_deg),
            o(d.jump_distance_mm),
            o(d.lift_out_at_dislocation_mm)
        );
    }
}
