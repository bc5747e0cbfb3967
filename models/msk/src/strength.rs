//! Muscle strength from the CT: each model muscle line's maximum isometric force from the
//! patient's muscle volume, `F_max = sigma * V_lean / l_opt` (physiological cross-sectional area
//! = lean volume / optimal fibre length, times the specific tension `sigma`).
//!
//! # Specific tension
//! [`SPECIFIC_TENSION_N_PER_CM2`] = 61 N/cm², the value Arnold et al. (2010, "A model of the
//! lower limb for analysis of human movement", Ann Biomed Eng 38(2):269-279) used to turn the
//! cadaver PCSAs of Ward et al. (2009) into their lower-limb model's maximum forces (the model
//! Rajagopal et al. 2016 builds on, which uses 60 N/cm²).
//!
//! # Lean volume
//! The muscle's volume times its lean fraction: the share of its voxels in the lean-muscle HU
//! range (`coxa_anatomy::muscles::MUSCLE_HU`, -29..150 HU). Fatty degeneration (voxels in the
//! fat range) and partial-volume voxels therefore add no strength.
//!
//! # From CT classes to model lines
//! A CT class (coxa's and TotalSegmentator's names, one per side) covers several model lines.
//! [`CT_TO_MODEL`] is the mapping (gait2392 and Rajagopal/Lai-Arnold prefixes):
//!
//! | CT class | gait2392 lines | Rajagopal lines |
//! |---|---|---|
//! | `gluteus_maximus` | `glut_max1..3` | `glmax1..3` |
//! | `gluteus_medius` | `glut_med1..3` | `glmed1..3` |
//! | `gluteus_minimus` | `glut_min1..3` | `glmin1..3` |
//! | `iliopsoas` | `iliacus`, `psoas` | `iliacus`, `psoas` |
//!
//! The class's lean volume is shared among its lines in proportion to each line's generic volume
//! (`F_max * l_opt` of the generic model), so the lines keep the generic model's shares of the
//! class's cross-sectional area (PCSA) and only the class's total changes. With a volume equal to
//! the generic model's (`sum F_max * l_opt / sigma`, lean fraction 1), the forces are the
//! generic ones exactly.
//!
//! Lines with no CT counterpart keep their generic force: every other muscle crossing the hip
//! (tensor fasciae latae, the adductors, gracilis, pectineus, the hamstrings, rectus femoris,
//! sartorius, the deep external rotators: piriformis, gemelli, quadratus femoris, obturators)
//! and the muscles of the knee and ankle: TotalSegmentator's CT model does not label them.
//!
//! # Muscles cut by the scan
//! A hip CT often ends inside gluteus maximus or iliopsoas; then the measured volume is a lower
//! bound, not the muscle. Such a class ([`CtMuscle::cut_by_scan`]) is not turned into a force
//! from its volume: when the other side was measured too, its generic force is scaled by the
//! two sides' ratio (`2 V / (V + V_other)`, both cut at the same level of the same scan), which
//! carries the asymmetry; otherwise it keeps the generic force. The report says which.

use coxa_osim::Model;

use super::{MskError, Result};

/// Specific tension of skeletal muscle, N/cm² (Arnold et al. 2010; see the module docs).
pub const SPECIFIC_TENSION_N_PER_CM2: f64 = 61.0;

/// The CT classes (base names, without `_left`/`_right`) and the prefixes of the model muscle
/// lines each covers (gait2392, Rajagopal/Lai-Arnold).
pub const CT_TO_MODEL: [(&str, &[&str]); 4] =
    [("gluteus_maximus", &["glut_max", "glmax"]), ("gluteus_medius", &["glut_med", "glmed"]), ("gluteus_minimus", &["glut_min", "glmin"]), ("iliopsoas", &["iliacus", "psoas"])];

/// One CT muscle class of one side, as measured (`coxa_anatomy::muscles::MuscleMeasure`).
#[derive(Debug, Clone, PartialEq)]
pub struct CtMuscle {
    /// Base class name, e.g. `gluteus_medius`.
    pub class: String,
    /// Labelled volume, cm³.
    pub volume_cm3: f64,
    /// Share of its voxels in the lean-muscle HU range, 0..1.
    pub lean_fraction: f64,
    /// The label reaches the edge of the scan: the volume is a lower bound.
    pub cut_by_scan: bool,
    /// The same class's lean volume on the other side, cm³, if measured (used when cut).
    pub other_side_lean_volume_cm3: Option<f64>,
}

impl CtMuscle {
    /// Volume times lean fraction, cm³.
    pub fn lean_volume_cm3(&self) -> f64 {
        self.volume_cm3 * self.lean_fraction
    }
}

/// How a line's personalised force was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrengthSource {
    /// From the lean volume: `sigma * V / l_opt`.
    Volume,
    /// The class is cut by the scan: the generic force times the left/right lean-volume ratio.
    GenericTimesSideRatio,
    /// The class is cut by the scan and the other side is unknown: the generic force.
    GenericCut,
}

/// One model line's strength, generic and personalised.
#[derive(Debug, Clone, PartialEq)]
pub struct LineStrength {
    /// The model muscle.
    pub muscle: String,
    /// The CT class it was given from.
    pub ct_class: String,
    /// The generic model's maximum isometric force, N.
    pub generic_n: f64,
    /// The personalised one, N.
    pub personalised_n: f64,
    /// How.
    pub source: StrengthSource,
}

/// What [`strength_from_ct`] did for one side.
#[derive(Debug, Clone, PartialEq)]
pub struct StrengthReport {
    /// The model side (`"r"` / `"l"`).
    pub side: String,
    /// Specific tension used, N/cm².
    pub specific_tension_n_per_cm2: f64,
    /// Every personalised line.
    pub lines: Vec<LineStrength>,
    /// Mapped CT classes that were not measured (their lines keep the generic force).
    pub classes_not_measured: Vec<String>,
    /// Muscles of this side crossing the hip with no CT counterpart (generic force kept).
    pub no_ct_counterpart: Vec<String>,
}

fn is_line_of(name: &str, prefixes: &[&str], side: &str) -> bool {
    let n = name.to_ascii_lowercase();
    prefixes.iter().any(|p| n.starts_with(p)) && n.ends_with(&format!("_{side}"))
}

/// Personalises the maximum isometric forces of one side of `model` (`side` = `"r"` or `"l"`,
/// the model's side the patient's muscles go to) from the CT classes `ct` of that side of the
/// patient, with specific tension `sigma_n_per_cm2`. Returns the changed model and what was done.
pub fn strength_from_ct(model: &Model, side: &str, ct: &[CtMuscle], sigma_n_per_cm2: f64) -> Result<(Model, StrengthReport)> {
    if side != "r" && side != "l" {
        return Err(MskError::UnknownName { kind: "side (use r or l)", name: side.into() });
    }
    if !(sigma_n_per_cm2.is_finite() && (10.0..=200.0).contains(&sigma_n_per_cm2)) {
        return Err(MskError::InvalidInput { what: "specific tension (N/cm²)".into(), value: sigma_n_per_cm2, why: "must be within 10..200 N/cm² (published values are 25-100)".into() });
    }
    for m in ct {
        if !(m.volume_cm3.is_finite() && m.volume_cm3 > 0.0 && m.volume_cm3 < 5000.0) {
            return Err(MskError::InvalidInput { what: format!("volume of {} (cm³)", m.class), value: m.volume_cm3, why: "must be within 0..5000 cm³".into() });
        }
        if !(m.lean_fraction.is_finite() && m.lean_fraction > 0.0 && m.lean_fraction <= 1.0) {
            return Err(MskError::InvalidInput { what: format!("lean fraction of {}", m.class), value: m.lean_fraction, why: "must be within 0..1 (no lean voxel: no strength to model)".into() });
        }
    }
    let mut out = model.clone();
    let mut lines = Vec::new();
    let mut not_measured = Vec::new();
    for (class, prefixes) in CT_TO_MODEL {
        let idx: Vec<usize> = model.muscles.iter().enumerate().filter(|(_, m)| is_line_of(&m.name, prefixes, side)).map(|(i, _)| i).collect();
        if idx.is_empty() {
            continue;
        }
        let Some(c) = ct.iter().find(|c| c.class == class) else {
            not_measured.push(class.to_string());
            continue;
        };
        let generic_volume: f64 = idx.iter().map(|&i| model.muscles[i].max_isometric_force_n * model.muscles[i].optimal_fiber_length_m).sum();
        for &i in &idx {
            let m = &model.muscles[i];
            let (f, source) = if c.cut_by_scan {
                match c.other_side_lean_volume_cm3 {
                    Some(o) if o > 0.0 => (m.max_isometric_force_n * 2.0 * c.lean_volume_cm3() / (c.lean_volume_cm3() + o), StrengthSource::GenericTimesSideRatio),
                    _ => (m.max_isometric_force_n, StrengthSource::GenericCut),
                }
            } else {
                let share = m.max_isometric_force_n * m.optimal_fiber_length_m / generic_volume;
                let l_opt_cm = 100.0 * m.optimal_fiber_length_m;
                (sigma_n_per_cm2 * c.lean_volume_cm3() * share / l_opt_cm, StrengthSource::Volume)
            };
            lines.push(LineStrength { muscle: m.name.clone(), ct_class: class.to_string(), generic_n: m.max_isometric_force_n, personalised_n: f, source });
            out.muscles[i].max_isometric_force_n = f;
        }
    }
    let no_ct_counterpart = model.muscles.iter().filter(|m| super::crosses_hip(model, m, side) && !lines.iter().any(|l| l.muscle == m.name)).map(|m| m.name.clone()).collect();
    Ok((out, StrengthReport { side: side.into(), specific_tension_n_per_cm2: sigma_n_per_cm2, lines, classes_not_measured: not_measured, no_ct_counterpart }))
}

/// The lean volume (cm³) of CT class `class` that gives side `side` of `model` exactly its
/// generic forces (lean fraction 1): `sum F_max * l_opt / sigma` over the class's lines.
pub fn generic_volume_cm3(model: &Model, side: &str, class: &str, sigma_n_per_cm2: f64) -> Option<f64> {
    let (_, prefixes) = CT_TO_MODEL.iter().find(|(c, _)| *c == class)?;
    let v: f64 = model.muscles.iter().filter(|m| is_line_of(&m.name, prefixes, side)).map(|m| m.max_isometric_force_n * 100.0 * m.optimal_fiber_length_m / sigma_n_per_cm2).sum();
    (v > 0.0).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gait2392() -> Model {
        coxa_osim::embedded::gait2392().unwrap()
    }

    fn generic_ct(model: &Model, side: &str) -> Vec<CtMuscle> {
        CT_TO_MODEL
            .iter()
            .map(|(c, _)| CtMuscle {
                class: c.to_string(),
                volume_cm3: generic_volume_cm3(model, side, c, SPECIFIC_TENSION_N_PER_CM2).unwrap(),
                lean_fraction: 1.0,
                cut_by_scan: false,
                other_side_lean_volume_cm3: None,
            })
            .collect()
    }

    #[test]
    fn the_generic_volume_gives_the_generic_forces_and_half_the_lean_volume_half() {
        let model = gait2392();
        let ct = generic_ct(&model, "r");
        let (same, report) = strength_from_ct(&model, "r", &ct, SPECIFIC_TENSION_N_PER_CM2).unwrap();
        assert_eq!(report.lines.len(), 11, "{:?}", report.lines);
        for l in &report.lines {
            approx::assert_relative_eq!(l.personalised_n, l.generic_n, max_relative = 1e-12);
        }
        for (a, b) in same.muscles.iter().zip(&model.muscles) {
            approx::assert_relative_eq!(a.max_isometric_force_n, b.max_isometric_force_n, max_relative = 1e-12);
        }
        // Half the lean fraction of gluteus medius: its three lines at half force, nothing else
        // changes; the left side is untouched.
        let mut half = ct.clone();
        half[1].lean_fraction = 0.5;
        let (m2, r2) = strength_from_ct(&model, "r", &half, SPECIFIC_TENSION_N_PER_CM2).unwrap();
        for (a, b) in m2.muscles.iter().zip(&model.muscles) {
            let want = if a.name.starts_with("glut_med") && a.name.ends_with("_r") { 0.5 } else { 1.0 };
            approx::assert_relative_eq!(a.max_isometric_force_n, want * b.max_isometric_force_n, max_relative = 1e-12);
        }
        // What has no CT counterpart is named.
        for m in ["tfl_r", "add_long_r", "rect_fem_r", "semimem_r", "peri_r"] {
            assert!(r2.no_ct_counterpart.iter().any(|n| n == m), "{m} in {:?}", r2.no_ct_counterpart);
        }
        assert!(!r2.no_ct_counterpart.iter().any(|n| n.starts_with("glut") || n.starts_with("iliacus")));
    }

    #[test]
    fn a_cut_muscle_carries_the_side_ratio_not_its_volume() {
        let model = gait2392();
        let mut ct = generic_ct(&model, "l");
        ct[0].cut_by_scan = true;
        ct[0].volume_cm3 = 100.0;
        ct[0].other_side_lean_volume_cm3 = Some(300.0);
        let (m, r) = strength_from_ct(&model, "l", &ct, SPECIFIC_TENSION_N_PER_CM2).unwrap();
        let gmax = r.lines.iter().find(|l| l.muscle == "glut_max1_l").unwrap();
        assert_eq!(gmax.source, StrengthSource::GenericTimesSideRatio);
        approx::assert_relative_eq!(gmax.personalised_n, gmax.generic_n * 0.5, max_relative = 1e-12);
        approx::assert_relative_eq!(m.muscle("glut_max1_l").unwrap().max_isometric_force_n, gmax.personalised_n);
        ct[0].other_side_lean_volume_cm3 = None;
        let (_, r) = strength_from_ct(&model, "l", &ct, SPECIFIC_TENSION_N_PER_CM2).unwrap();
        assert!(r.lines.iter().filter(|l| l.ct_class == "gluteus_maximus").all(|l| l.source == StrengthSource::GenericCut && l.personalised_n == l.generic_n));
    }

    /// One-leg stance on gait2392 with the generic volumes, then with gluteus medius' volume
    /// halved: its force and share of the abductors' work drop, gluteus minimus and tensor fasciae
    /// latae take more, and the hip stays in equilibrium.
    #[test]
    fn halving_one_muscle_moves_its_load_to_the_synergists() {
        use crate::hcf::{Activity, hip_contact_force};
        let model = gait2392();
        let ct = generic_ct(&model, "r");
        let (generic, _) = strength_from_ct(&model, "r", &ct, SPECIFIC_TENSION_N_PER_CM2).unwrap();
        let mut half = ct.clone();
        half[1].volume_cm3 *= 0.5;
        let (weak, _) = strength_from_ct(&model, "r", &half, SPECIFIC_TENSION_N_PER_CM2).unwrap();
        let bw = 750.0;
        let (a, b) = (hip_contact_force(&generic, Activity::OneLegStance, bw, None).unwrap(), hip_contact_force(&weak, Activity::OneLegStance, bw, None).unwrap());
        let sum = |r: &crate::hcf::HcfResult, p: &str| r.muscle_forces_n.iter().filter(|(n, _)| n.starts_with(p) && n.ends_with("_r")).map(|(_, f)| f).sum::<f64>();
        let abductors = |r: &crate::hcf::HcfResult| sum(r, "glut_med") + sum(r, "glut_min") + sum(r, "tfl");
        let (med, min, tfl) = ((sum(&a, "glut_med"), sum(&b, "glut_med")), (sum(&a, "glut_min"), sum(&b, "glut_min")), (sum(&a, "tfl"), sum(&b, "tfl")));
        eprintln!(
            "one-leg stance, generic -> gluteus medius volume halved: glut_med {:.0} -> {:.0} N (share of abductor force {:.1} -> {:.1} %), glut_min {:.0} -> {:.0} N, tfl {:.0} -> {:.0} N, hip force {:.1} -> {:.1} %BW",
            med.0,
            med.1,
            100.0 * med.0 / abductors(&a),
            100.0 * med.1 / abductors(&b),
            min.0,
            min.1,
            tfl.0,
            tfl.1,
            a.magnitude_percent_bw,
            b.magnitude_percent_bw
        );
        assert!(med.1 < 0.9 * med.0, "gluteus medius must carry less: {med:?}");
        assert!(med.1 / abductors(&b) < med.0 / abductors(&a) - 0.05, "its share of the abductors must drop");
        assert!(min.1 > 1.05 * min.0 && tfl.1 > 1.05 * tfl.0, "the synergists must take more: glut_min {min:?}, tfl {tfl:?}");
        assert!(b.reserve_n_m.norm() < 1.0 && a.reserve_n_m.norm() < 1.0);
        // The forces of the other muscles rise as a whole: the moment is still balanced.
        let total = |r: &crate::hcf::HcfResult| r.muscle_forces_n.iter().map(|(_, f)| f).sum::<f64>();
        assert!(total(&b) - med.1 > total(&a) - med.0);
    }

    #[test]
    fn bad_inputs_are_named() {
        let model = gait2392();
        let mut ct = generic_ct(&model, "r");
        ct[2].volume_cm3 = f64::NAN;
        assert!(strength_from_ct(&model, "r", &ct, 61.0).unwrap_err().to_string().contains("gluteus_minimus"));
        ct[2].volume_cm3 = 50.0;
        ct[2].lean_fraction = 0.0;
        assert!(strength_from_ct(&model, "r", &ct, 61.0).unwrap_err().to_string().contains("lean fraction"));
        assert!(strength_from_ct(&model, "x", &[], 61.0).is_err());
        assert!(strength_from_ct(&model, "r", &[], 1.0).unwrap_err().to_string().contains("specific tension"));
        // Nothing measured: every class is named as not measured, nothing changes.
        let (m, r) = strength_from_ct(&model, "r", &[], 61.0).unwrap();
        assert_eq!(r.classes_not_measured.len(), 4);
        assert!(m.muscles.iter().zip(&model.muscles).all(|(a, b)| a.max_isometric_force_n == b.max_isometric_force_n));
    }
}
