//! Synthetic anatomies with known optima, scored by an analytic range-of-motion model.

use coxa_core::landmarks::{AcetabulumLandmarks, AxisLandmark, FemurLandmarks, Landmark, Quality};
use coxa_core::{Angle, CupAngleDefinition, FirstContact, ImplantPlacement, Mesh, MotionInfo, MotionScore, PelvicFrame, PlanPosture, RomQuery, RomScore, RomScorer, ScoreError, Side};
use coxa_implants::Catalog;
use nalgebra::{Point3, Rotation3, Vector3};

use crate::solid::tests::cuboid;
use crate::{HipLandmarks, PlanAnatomy, PlanError, PlanOptions, SizingRules, Weights, plan};

/// Native femoral anteversion of the synthetic femur, deg.
pub(crate) const NATIVE_VERSION: f64 = 12.0;

fn lm(p: Point3<f64>) -> Landmark {
    Landmark::good(p)
}

/// A closed solid of revolution about the vertical line through `(cx, cy)`: `profile` is
/// (z, radius) from bottom to top, 32 sides with a vertex on the +x and -x sides.
fn revolve(cx: f64, cy: f64, profile: &[(f64, f64)]) -> Mesh {
    let n = 32u32;
    let mut v = Vec::new();
    for &(z, r) in profile {
        for k in 0..n {
            let a = std::f64::consts::TAU * f64::from(k) / f64::from(n);
            v.push(Point3::new(cx + r * a.cos(), cy + r * a.sin(), z));
        }
    }
    let bottom = v.len() as u32;
    v.push(Point3::new(cx, cy, profile[0].0));
    let top = v.len() as u32;
    v.push(Point3::new(cx, cy, profile[profile.len() - 1].0));
    let mut t = Vec::new();
    let levels = profile.len() as u32;
    for l in 0..levels - 1 {
        for k in 0..n {
            let (a, b) = (l * n + k, l * n + (k + 1) % n);
            let (c, d) = (a + n, b + n);
            t.push([a, b, d]);
            t.push([a, d, c]);
        }
    }
    for k in 0..n {
        t.push([bottom, (k + 1) % n, k]);
        let base = (levels - 1) * n;
        t.push([top, base + k, base + (k + 1) % n]);
    }
    Mesh::new(v, t).unwrap()
}

/// A right hip: bone medial of the plane x = 0 (a box to x = 60), the socket centre at the
/// origin (radius 24 mm: a 50 mm shell by the rule); a femur whose head centre is at the origin,
/// its shaft axis vertical 40 mm from the head along the neck turned 12 deg anterior, and a
/// canal (outer radius 20.5 mm at the lesser trochanter, 12.5 mm 60 mm below; no CT, so the
/// canal is 0.55 x the outer width): stem size 3 of each series (a 19 mm body in a 22.55 mm
/// canal, 84 % fill; size 4's 21 mm would fill 93 %).
pub(crate) fn synthetic() -> PlanAnatomy {
    let side = Side::Right;
    let v = NATIVE_VERSION.to_radians();
    // Medial is +x on the right; the neck points from the shaft medially and 12 deg anterior (-y).
    let neck_medial = Vector3::new(v.cos(), -v.sin(), 0.0);
    let axis = Point3::origin() - neck_medial * 40.0;
    let femur = revolve(axis.x, axis.y, &[(-250.0, 12.5), (-120.0, 12.5), (-60.0, 20.5), (-20.0, 22.0)]);
    let femur_lm = FemurLandmarks {
        side,
        head_centre: lm(Point3::origin()),
        // 2 mm inside the 24 mm socket: the cartilage allowance, so the socket is sized as measured.
        head_radius_mm: 22.0,
        head_fit_rms_mm: 0.1,
        neck_axis: AxisLandmark { point_lps_mm: Point3::origin(), direction_lps: -neck_medial, quality: Quality::Good, source: Default::default(), note: None },
        shaft_axis: AxisLandmark { point_lps_mm: Point3::new(axis.x, axis.y, -100.0), direction_lps: Vector3::z(), quality: Quality::Good, source: Default::default(), note: None },
        greater_trochanter: lm(Point3::new(axis.x - 15.0, axis.y, 5.0)),
        lesser_trochanter: lm(Point3::new(axis.x + 15.0, axis.y + 5.0, -60.0)),
        neck_shaft_angle_deg: Some(130.0),
        posterior_condyles: None,
        anteversion_deg: Some(NATIVE_VERSION),
    };
    let acetabulum = AcetabulumLandmarks {
        side,
        centre: lm(Point3::origin()),
        radius_mm: 24.0,
        fit_rms_mm: 0.1,
        opening_axis_lps: Vector3::new(-0.6, -0.3, -0.74).normalize(),
        rim_plane_point_lps_mm: Point3::new(-10.0, -5.0, -12.0),
        n_rim_points: 48,
        rim_points_lps_mm: Vec::new(),
        rim_diameter_mm: 46.0,
        n_lunate_vertices: 500,
        n_fossa_vertices: 50,
        joint_space_mm: Some(2.0),
    };
    PlanAnatomy {
        side,
        frame: PelvicFrame::aligned_with_lps(Point3::new(90.0, 0.0, 0.0)),
        pelvis: cuboid([0.0, -80.0, -80.0], [60.0, 80.0, 80.0]),
        femur,
        operated: HipLandmarks { acetabulum, femur: femur_lm, femur_from_lps: Rotation3::identity() },
        contralateral: None,
        canal: None,
    }
}

/// Analytic ROM: a posterior (sitting) and an anterior (standing) daily-life motion whose
/// margins trade combined anteversion (cup + 0.7 stem, radiographic) around `combined`, fall
/// with the distance of inclination from `inclination` and of the stem from `stem` (if set),
/// and rise by 0.5 deg per mm of head diameter above 28.
pub(crate) struct Analytic {
    pub(crate) inclination: f64,
    pub(crate) combined: f64,
    pub(crate) stem: Option<f64>,
}

impl RomScorer for Analytic {
    fn motions(&self) -> Vec<MotionInfo> {
        let m = |name: &str, posture, required_deg, daily_life| MotionInfo { name: name.into(), posture, required_deg, daily_life };
        vec![m("flexion", PlanPosture::Standing, None, false), m("posterior", PlanPosture::Sitting, Some(30.0), true), m("anterior", PlanPosture::Standing, Some(30.0), true)]
    }
    fn score(&self, p: &ImplantPlacement, q: &RomQuery) -> Result<RomScore, ScoreError> {
        let r = p.cup.to_definition(CupAngleDefinition::Radiographic, p.side);
        let comb = coxa_core::combined::widmer_deg(r.anteversion, p.stem_anteversion);
        let common = 10.0 - 0.6 * (r.inclination.deg() - self.inclination).abs() + 0.5 * (p.head_diameter_mm - 28.0) - self.stem.map_or(0.0, |s| 0.3 * (p.stem_anteversion.deg() - s).abs());
        let motions = q
            .motions
            .iter()
            .map(|n| {
                let (margin, posture, required) = match n.as_str() {
                    "posterior" => (common + (comb - self.combined), PlanPosture::Sitting, Some(30.0)),
                    "anterior" => (common - (comb - self.combined), PlanPosture::Standing, Some(30.0)),
                    "flexion" => (90.0 + comb, PlanPosture::Standing, None),
                    other => return Err(ScoreError::new(format!("unknown motion {other}"))),
                };
                let req = required.unwrap_or(0.0);
                let limit = match (q.margin_cap_deg, required) {
                    (Some(cap), Some(_)) => (req + margin).min(req + cap),
                    _ => req + margin,
                };
                Ok(MotionScore {
                    name: n.clone(),
                    posture,
                    pelvic_tilt_deg: q.tilts.of(posture).deg(),
                    limit_deg: limit,
                    required_deg: required,
                    start_in_contact: false,
                    contact: Some(FirstContact::ImplantImplant),
                    contact_parts: Some("neck-liner_rim".into()),
                    contact_point_lps_mm: None,
                    contact_femur_point_lps_mm: None,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(RomScore { motions })
    }
}

/// Coverage off, so that the objective's optimum is the analytic model's.
pub(crate) fn options() -> PlanOptions {
    PlanOptions::new().with_weights(Weights { coverage_per_pct: 0.0, ..Weights::default() })
}

#[test]
fn finds_the_known_optimum_and_sizes() {
    let a = synthetic();
    let catalog = Catalog::builtin().unwrap();
    let scorer = Analytic { inclination: 43.7, combined: 27.3, stem: None };
    let p = plan(&a, &catalog, &scorer, &options().with_native_stem_version()).unwrap();
    assert_eq!(p.stem_anteversion_range_deg[0], p.stem_anteversion_range_deg[1], "the native version only");
    let r = p.placement.cup.to_definition(CupAngleDefinition::Radiographic, Side::Right);
    // Optimum: inclination 43.7, cup anteversion 27.3 - 0.7 x 12 = 18.9, the largest head.
    assert!((r.inclination.deg() - 43.7).abs() < 1.0, "{}", r.inclination.deg());
    assert!((r.anteversion.deg() - 18.9).abs() < 1.0, "{}", r.anteversion.deg());
    assert!((p.placement.stem_anteversion.deg() - NATIVE_VERSION).abs() < 1e-9);
    assert_eq!(p.cup.outer_diameter_mm, 50.0);
    assert_eq!(p.placement.head_diameter_mm, 36.0, "the largest head a 50 mm shell holds with a 4 mm liner");
    // Every series shares the body, so every series plans size 1; the offset picks the series.
    assert_eq!(p.placement.stem_size.as_str(), "3");
    assert!(p.stem_sizing.families.iter().all(|f| f.size_index == 2), "{:?}", p.stem_sizing.size_indices());
    let s = p.stem_sizing.family(&p.placement.stem_family).unwrap();
    assert_eq!(p.stem_sizing.canal.source, crate::stem_fill::CanalSource::OuterWidthRule);
    let chosen = s.size_options.iter().find(|o| o.chosen).unwrap();
    // Size 3's body is 13.5 mm 60 mm below the lesser trochanter, where the canal is 13.75 mm.
    assert!((chosen.fill.unwrap() - 13.5 / 13.75).abs() < 0.01, "{chosen:?}");
    assert!((p.canal.proximal_canal_mm - 22.55).abs() < 0.1 && (p.canal.distal_canal_mm.unwrap() - 13.75).abs() < 0.1, "{:?}", p.canal);
    assert!(p.objective.leg_length_error_mm.abs() < 2.0 && p.objective.offset_error_mm.abs() < 2.0, "{:?}", p.objective);
    // The cup moved medially until the coverage target was reached, keeping the medial wall.
    assert!(p.cup.medialisation_mm > 0.0 && p.cup.reference_coverage >= 0.75 && p.cup.medial_wall_mm >= 2.0, "{:?}", p.cup);
    assert_eq!(p.rom.motions.len(), 3);
    assert!(!p.pareto.is_empty() && p.pareto[0].objective.total == p.objective.total);
    eprintln!("optimum found: inclination {:.2}, anteversion {:.2}, {} candidates", r.inclination.deg(), r.anteversion.deg(), p.evaluated);
}

#[test]
fn stem_anteversion_search_finds_its_optimum_too() {
    let a = synthetic();
    let scorer = Analytic { inclination: 41.2, combined: 27.3, stem: Some(17.0) };
    let o = options().with_stem_anteversion(Angle::from_deg(0.0), Angle::from_deg(30.0)).with_head_diameter_mm(32.0);
    let p = plan(&a, &Catalog::builtin().unwrap(), &scorer, &o).unwrap();
    let r = p.placement.cup.to_definition(CupAngleDefinition::Radiographic, Side::Right);
    assert!((p.placement.stem_anteversion.deg() - 17.0).abs() < 1.0, "{}", p.placement.stem_anteversion.deg());
    assert!((r.anteversion.deg() - (27.3 - 0.7 * 17.0)).abs() < 1.0, "{}", r.anteversion.deg());
    assert!((r.inclination.deg() - 41.2).abs() < 1.0);
    assert_eq!(p.placement.head_diameter_mm, 32.0, "the surgeon's head");
}

#[test]
fn constraints_bind_and_the_plan_is_deterministic() {
    let a = synthetic();
    let scorer = Analytic { inclination: 43.7, combined: 27.3, stem: None };
    let o = options().with_inclination(Angle::from_deg(45.0), Angle::from_deg(55.0));
    let c = Catalog::builtin().unwrap();
    let p = plan(&a, &c, &scorer, &o).unwrap();
    let r = p.placement.cup.to_definition(CupAngleDefinition::Radiographic, Side::Right);
    assert!((r.inclination.deg() - 45.0).abs() < 1e-9, "{}", r.inclination.deg());
    let q = plan(&a, &c, &scorer, &o).unwrap();
    assert_eq!(serde_json::to_string(&p).unwrap(), serde_json::to_string(&q).unwrap());
}

#[test]
fn bad_options_and_impossible_constraints_are_errors() {
    let a = synthetic();
    let scorer = Analytic { inclination: 43.7, combined: 27.3, stem: None };
    let c = Catalog::builtin().unwrap();
    let e = plan(&a, &c, &scorer, &options().with_inclination(Angle::from_deg(f64::NAN), Angle::from_deg(50.0))).unwrap_err();
    assert!(matches!(e, PlanError::InvalidOption { .. }), "{e}");
    let e = plan(&a, &c, &scorer, &options().with_inclination(Angle::from_deg(50.0), Angle::from_deg(40.0))).unwrap_err();
    assert!(e.to_string().contains("inclination"), "{e}");
    let e = plan(&a, &c, &scorer, &options().with_head_diameter_mm(40.0)).unwrap_err();
    assert!(matches!(e, PlanError::NoFit { .. }), "{e}");
    let e = plan(&a, &c, &scorer, &options().with_motions(vec!["moonwalk".into()])).unwrap_err();
    assert!(e.to_string().contains("moonwalk"), "{e}");
    let mut tiny = synthetic();
    tiny.operated.acetabulum.radius_mm = 40.0;
    assert!(matches!(plan(&tiny, &c, &scorer, &options()).unwrap_err(), PlanError::NoFit { .. }));
}

/// The viewer's live stem controls use [`crate::stem::moved_head`]: it must be the
/// reconstruction's own head rule, applied as a change (turning the stem and lengthening the
/// neck from a placed stem lands where reconstructing at the new version and offset lands).
#[test]
fn moved_head_is_the_reconstruction_rule_as_a_change() {
    let mut a = synthetic();
    // A femur imaged turned in the scanner: the femoral frame is not the LPS frame.
    a.operated.femur_from_lps = Rotation3::from_euler_angles(0.1, -0.2, 0.3);
    let cup = Point3::origin();
    let at = |version_deg: f64, offset_mm: f64| {
        let r = crate::stem::reconstruct(&a, &cup, "series", "3", Angle::from_deg(130.0), 40.0, offset_mm, 1.5, Angle::from_deg(version_deg));
        Point3::from(r.head_centre_on_femur_lps_mm)
    };
    let base = at(10.0, 0.0);
    // The neck, from the head toward the stem: a longer head offset moves the head away from it.
    let neck_to_stem = (base - at(10.0, 1.0)).normalize();
    let f = &a.operated.femur;
    for (dv, d_offset) in [(15.0, 0.0), (-20.0, 3.5), (0.0, -4.0), (7.5, 8.0)] {
        let (moved, _) = crate::stem::moved_head(a.side, &f.shaft_axis.point_lps_mm, &f.shaft_axis.direction_lps, &base, &neck_to_stem, Angle::from_deg(dv), d_offset);
        let want = at(10.0 + dv, d_offset);
        assert!((moved - want).norm() < 1e-9, "version {dv:+} deg, offset {d_offset:+} mm: moved {moved:?}, reconstructed {want:?}");
        if dv != 0.0 {
            assert!((moved - base).norm() > 1.0, "the turn moved the head");
        }
    }
}

/// The viewer's stem-size control uses [`crate::stem::resized_head`]: from a placed stem (turned,
/// a longer head), another size of the series lands where reconstructing that size lands.
#[test]
fn resized_head_is_the_reconstruction_rule_for_another_size() {
    let mut a = synthetic();
    a.operated.femur_from_lps = Rotation3::from_euler_angles(0.1, -0.2, 0.3);
    let cup = Point3::origin();
    let at = |stem_offset_mm: f64| {
        let r = crate::stem::reconstruct(&a, &cup, "series", "3", Angle::from_deg(130.0), stem_offset_mm, 3.5, 1.5, Angle::from_deg(12.0));
        Point3::from(r.head_centre_on_femur_lps_mm)
    };
    let f = &a.operated.femur;
    let base = at(40.0);
    for d in [-6.0, -1.5, 2.0, 7.0] {
        let moved = crate::stem::resized_head(&f.shaft_axis.point_lps_mm, &f.shaft_axis.direction_lps, &base, d);
        let want = at(40.0 + d);
        assert!((moved - want).norm() < 1e-9, "offset {d:+} mm: moved {moved:?}, reconstructed {want:?}");
        assert!(((moved - base).norm() - d.abs()).abs() < 1e-9);
    }
}

/// The desk's coverage and medial wall ([`crate::cup_bone::CupBone`]) are the sizing's own: for
/// the cup the planner placed, the same coverage (reference orientation) and medial wall as
/// the sizing, exactly; a cup pushed out of the socket laterally has less coverage.
#[test]
fn cup_bone_measures_what_the_sizing_measured() {
    let a = synthetic();
    let c = Catalog::builtin().unwrap();
    let (sizing, _) = crate::cup::size_cup(&a, &c, &SizingRules::default()).unwrap();
    let native = a.operated.acetabulum.centre.lps_mm;
    let bone = crate::cup_bone::CupBone::new(&a.pelvis, &a.frame, a.side, native, 60.0);
    let centre = Point3::from(sizing.centre_lps_mm);
    let m = bone.measure(&centre, sizing.outer_diameter_mm, &crate::cup::reference_cup().axis(a.side));
    assert_eq!(m.reference_coverage, sizing.reference_coverage, "coverage at 40/15");
    assert_eq!(m.coverage, m.reference_coverage, "the reference orientation asked");
    assert_eq!(m.medial_wall_mm, sizing.medial_wall_mm, "medial wall");
    let medial = a.frame.vector_to_lps(&Vector3::new(-a.side.lateral_sign(), 0.0, 0.0));
    let pushed = bone.measure(&(centre - medial * 5.0), sizing.outer_diameter_mm, &crate::cup::reference_cup().axis(a.side));
    assert!(pushed.coverage < m.coverage - 0.05, "5 mm lateral: coverage {} -> {}", m.coverage, pushed.coverage);
}

/// [`Analytic`] that counts its calls.
struct Counting {
    inner: Analytic,
    calls: std::sync::atomic::AtomicUsize,
}

impl RomScorer for Counting {
    fn motions(&self) -> Vec<MotionInfo> {
        self.inner.motions()
    }
    fn score(&self, p: &ImplantPlacement, q: &RomQuery) -> Result<RomScore, ScoreError> {
        let _ = self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.score(p, q)
    }
}

/// Issue 16 (deadlines): the finest grid the options allow over the widest ranges, with the stem
/// version searched too, is about 6e8 candidates (days of scoring). It is refused before a
/// single candidate is scored, naming the grid and the fix; the default search stays far
/// inside both budgets.
#[test]
fn issue_16_a_search_past_its_budget_is_refused_before_scoring() {
    let a = synthetic();
    let c = Catalog::builtin().unwrap();
    let scorer = Counting { inner: Analytic { inclination: 43.7, combined: 27.3, stem: None }, calls: Default::default() };
    let huge = options()
        .with_grid_step(Angle::from_deg(0.1))
        .with_refine_step(Angle::from_deg(0.01))
        .with_inclination(Angle::from_deg(0.0), Angle::from_deg(80.0))
        .with_anteversion(Angle::from_deg(-30.0), Angle::from_deg(60.0))
        .with_stem_anteversion(Angle::from_deg(-30.0), Angle::from_deg(60.0));
    let e = plan(&a, &c, &scorer, &huge).unwrap_err();
    assert!(matches!(e, PlanError::SearchTooLarge { limit: crate::optimise::MAX_GRID_CANDIDATES, .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("801 inclinations x 901 anteversions x 901 stem versions") && msg.contains("raise grid_step"), "{msg}");
    assert_eq!(scorer.calls.load(std::sync::atomic::Ordering::Relaxed), 0, "refused before scoring");
    // The default search: inside both budgets, no budget note.
    let p = plan(&a, &c, &scorer, &options()).unwrap();
    let calls = scorer.calls.load(std::sync::atomic::Ordering::Relaxed);
    assert!(p.evaluated < crate::optimise::MAX_GRID_CANDIDATES / 10 && calls <= p.evaluated + 1, "{} evaluated, {calls} scorer calls", p.evaluated);
    assert!(!p.notes.iter().any(|n| n.contains("budget")), "{:?}", p.notes);
}

/// A scorer that refuses every candidate, with an I/O error as the cause.
struct Refusing {
    inner: Analytic,
}

impl RomScorer for Refusing {
    fn motions(&self) -> Vec<MotionInfo> {
        self.inner.motions()
    }
    fn score(&self, _: &ImplantPlacement, _: &RomQuery) -> Result<RomScore, ScoreError> {
        Err(ScoreError::caused_by(std::io::Error::other("the bone cache is gone")))
    }
}

/// Issue 13 (errors keep their cause): when no candidate can be scored the plan error names the
/// first failure and keeps the scorer's error, and its cause, as its source chain.
#[test]
fn issue_13_no_feasible_candidate_keeps_the_scorer_error() {
    use std::error::Error as _;
    let scorer = Refusing { inner: Analytic { inclination: 43.7, combined: 27.3, stem: None } };
    let e = plan(&synthetic(), &Catalog::builtin().unwrap(), &scorer, &options()).unwrap_err();
    assert!(matches!(e, PlanError::NoFeasibleCandidate { .. }), "{e}");
    assert!(e.to_string().ends_with("first failure: range-of-motion scoring failed: the bone cache is gone"), "{e}");
    let source = e.source().expect("the scorer's error is the source");
    assert!(source.downcast_ref::<ScoreError>().is_some(), "{source}");
    assert_eq!(source.source().map(ToString::to_string).as_deref(), Some("the bone cache is gone"));
}

/// Issue 60: a plan with every choice fixed to the automatic plan's is that plan (the planner
/// evaluating one candidate); a fixed shell, cup shift, stem size and neck length are kept,
/// measured and named in the notes; sizes the catalog lacks are refused.
#[test]
fn fixed_choices_are_kept_and_all_fixed_is_the_automatic_plan() {
    let a = synthetic();
    let c = Catalog::builtin().unwrap();
    let scorer = Analytic { inclination: 43.7, combined: 27.3, stem: None };
    let auto = plan(&a, &c, &scorer, &options()).unwrap();
    let r = auto.placement.cup.to_definition(CupAngleDefinition::Radiographic, Side::Right);
    let (i, v, s) = (r.inclination, r.anteversion, auto.placement.stem_anteversion);
    let all_fixed = |f: crate::FixedChoices| options().with_inclination(i, i).with_anteversion(v, v).with_stem_anteversion(s, s).with_head_diameter_mm(auto.placement.head_diameter_mm).with_fixed(f);
    let same = crate::FixedChoices {
        shell_outer_diameter_mm: Some(auto.cup.outer_diameter_mm),
        cup_shift_mm: None,
        stem_series: Some(auto.placement.stem_family.clone()),
        stem_size: Some(auto.placement.stem_size.clone()),
        head_offset_mm: Some(auto.placement.head_offset_mm),
    };
    let p = plan(&a, &c, &scorer, &all_fixed(same.clone())).unwrap();
    assert_eq!(p.evaluated, 1, "one candidate");
    assert_eq!(serde_json::to_string(&p.placement).unwrap(), serde_json::to_string(&auto.placement).unwrap());
    assert_eq!(p.objective.total, auto.objective.total);
    assert_eq!(serde_json::to_string(&p.cup).unwrap(), serde_json::to_string(&auto.cup).unwrap(), "the rule's own shell: the sizing unchanged");

    // Another shell, the centre moved, another stem size and neck length.
    let moved = crate::FixedChoices { shell_outer_diameter_mm: Some(52.0), cup_shift_mm: Some([2.0, 1.0, -1.0]), stem_size: Some("4".into()), head_offset_mm: Some(3.5), ..same.clone() };
    let q = plan(&a, &c, &scorer, &all_fixed(moved)).unwrap();
    assert_eq!((q.cup.outer_diameter_mm, q.placement.stem_size.as_str(), q.placement.head_offset_mm), (52.0, "4", 3.5));
    let d = a.frame.vector_to_pelvic(&(q.placement.cup_centre_lps_mm - auto.placement.cup_centre_lps_mm));
    // The pelvic frame is LPS-like: medial of the right hip is +x, superior +z, anterior -y
    // (so -1 mm anterior is +1 y).
    assert!((d - Vector3::new(2.0, 1.0, 1.0)).norm() < 1e-9, "{d:?}");
    assert!((q.cup.medialisation_mm - auto.cup.medialisation_mm - 2.0).abs() < 1e-9, "{} {}", q.cup.medialisation_mm, auto.cup.medialisation_mm);
    assert!(q.cup.reference_coverage != auto.cup.reference_coverage && q.cup.size_options.iter().any(|o| o.chosen && o.outer_diameter_mm == 52.0), "{:?}", q.cup.size_options);
    assert!(q.cup.notes.iter().any(|n| n.contains("fixed the shell at 52 mm")) && q.cup.notes.iter().any(|n| n.contains("moved the cup centre +2.0 mm medial")), "{:?}", q.cup.notes);
    let fam = q.stem_sizing.family(&q.placement.stem_family).unwrap();
    assert!(fam.size_options.iter().any(|o| o.chosen && o.size == "4"), "{:?}", fam.size_options);

    // Not the catalog's: refused, naming the value.
    for (bad, says) in [
        (crate::FixedChoices { shell_outer_diameter_mm: Some(51.0), ..Default::default() }, ["fixed shell outer diameter", "51"]),
        (crate::FixedChoices { stem_size: Some("99".into()), ..Default::default() }, ["fixed stem size", "99"]),
        (crate::FixedChoices { stem_series: Some("no such stem".into()), ..Default::default() }, ["fixed stem series", "no such stem"]),
        (crate::FixedChoices { head_offset_mm: Some(2.0), ..Default::default() }, ["neck-length offset", "2.0"]),
    ] {
        let e = plan(&a, &c, &scorer, &options().with_fixed(bad.clone())).unwrap_err().to_string();
        assert!(says.iter().all(|w| e.contains(w)), "{bad:?}: {says:?} in {e}");
    }
}
