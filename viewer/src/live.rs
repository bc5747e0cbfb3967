//! Live planning and motion playback: the case's hip model rebuilt from `model.json` and the
//! bone surfaces, re-evaluated by the simulator (`coxa_sim`) for new cup angles, stem version,
//! head size and neck length.
//!
//! Plain computation, no drawing: the window runs [`LiveModel::evaluate`] off the render
//! thread and swaps the result in when it is done.
//!
//! # What a control changes
//! - Cup inclination / anteversion: **radiographic** (Murray 1993) in the pelvic frame (the
//!   anterior pelvic plane when both hip bones are imaged), the cup centre unchanged.
//! - Stem version: the stem turns about the femoral shaft axis, carrying the head centre around
//!   it: the planner's own rule (`coxa_planner::stem::moved_head`), not a copy.
//! - Neck length: the head's neck-length offset (catalog values); the head centre moves along
//!   the neck axis by the difference.
//! - Head diameter: a catalog head in the same shell with the same liner; the shell is kept
//!   (it is sized to the acetabulum), so a head the liner cannot take in this shell is an error
//!   shown to the user, not a silent change of shell.
//! - Cup size: a catalog shell size (the surgeon steps to its neighbours), same liner and centre.
//! - Cup centre shift: medial, superior and anterior in the pelvic frame, from the case's cup
//!   centre.
//! - Stem size: another size of the case's stem series; the head centre moves away from the
//!   shaft axis by the difference of the sizes' offsets (the planner's own rule,
//!   `coxa_planner::stem::resized_head`), seat and version kept. Its control value is the size's
//!   label read as a number (the built-in series are numbered), or its position 1..N in a series
//!   whose labels are not numbers.
//!
//! Coverage and the medial wall are measured for every evaluation on the planner's own bone
//! columns (`coxa_planner::cup_bone`), so a moved or resized cup shows (and saves) the numbers
//! the planner would have given for it; for the automatic plan's cup they are the plan's own.
//!
//! The joint then sits with the new head centre in the cup centre: the femur moves with it
//! (leg length and offset change), as in the planner.

use std::sync::Arc;

use coxa_core::{Angle, CaseModel, CombinedAnteversion, ContactAnatomy, ContactStructures, CupAngleDefinition, CupAngles, HipAnatomy, ImplantPlacement, Mesh, PelvicFrame};
use coxa_implants::Catalog;
use coxa_planner::SizingRules;
use coxa_planner::cup_bone::{CupBone, CupBoneMeasure};
use coxa_planner::stem::{moved_head, resized_head};
use coxa_sim::rom::{self, Motion, MotionLimit, PelvicTilts, SweepOptions};
use coxa_sim::score::{ScorerBones, SimScorer};
use coxa_sim::{BoneOptions, HipModel};
use nalgebra::{Matrix3, Point3, Vector3};

use crate::ViewError;
use crate::case::CaseData;

/// The planning controls (what a surgeon changes on screen).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Controls {
    /// Cup inclination, radiographic, pelvic frame, deg.
    pub cup_inclination_deg: f64,
    /// Cup anteversion, radiographic, pelvic frame, deg.
    pub cup_anteversion_deg: f64,
    /// Stem anteversion, deg.
    pub stem_anteversion_deg: f64,
    /// Head diameter, mm.
    pub head_diameter_mm: f64,
    /// Head neck-length offset, mm.
    pub head_offset_mm: f64,
    /// Shell outer diameter, mm (a catalog size).
    pub cup_outer_diameter_mm: f64,
    /// Cup centre shift from the case's cup centre, pelvic frame, mm: medial, superior, anterior.
    pub cup_shift_mm: [f64; 3],
    /// Stem size of the case's series: its label as a number, or its position 1..N (see the
    /// module docs).
    pub stem_size: f64,
}

/// A hip model evaluated for a set of controls: implants, ROM, and the femur's motion.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The controls evaluated.
    pub controls: Controls,
    /// The placement they give.
    pub placement: ImplantPlacement,
    /// The hip model.
    pub model: HipModel,
    /// The placed implants (LPS mm, the femur as imaged, the head at the cup centre).
    pub implants: Vec<(String, Mesh)>,
    /// Each motion's limit and first contact.
    pub limits: Vec<MotionLimit>,
    /// The motions, in the order of `limits`.
    pub motions: Vec<Motion>,
    /// The oscillation angle of the implant pair, deg.
    pub oscillation_angle_deg: f64,
    /// Leg-length change from the femur as imaged, mm (the femur's shift, pelvic frame: down lengthens).
    pub leg_length_change_mm: f64,
    /// Offset change from the femur as imaged, mm (the femur's shift, pelvic frame: lateral adds).
    pub offset_change_mm: f64,
    /// Coverage and medial wall of the cup (`None`: a case without bones).
    pub bone: Option<CupBoneMeasure>,
    /// The stem size's offset (catalog), mm.
    pub stem_offset_mm: Option<f64>,
    /// Each first contact named by anatomy, in the order of `limits` (`coxa_core::name_contact`;
    /// `None`: no contact, or bone without landmarks).
    pub structures: Vec<Option<ContactStructures>>,
    pub(crate) tilts: PelvicTilts,
}

impl Evaluation {
    /// Combined anteversion of this plan, both definitions ([`CombinedAnteversion::of`], the one
    /// function the plan and the report use).
    pub fn combined_anteversion(&self) -> CombinedAnteversion {
        CombinedAnteversion::of(&self.placement.cup, self.placement.side, self.placement.stem_anteversion)
    }

    /// The values of this plan outside a documented range, one sentence each naming the value,
    /// the range and where it comes from (issue 60: the desk let a cup at 80 deg or a 1 mm medial
    /// wall pass in silence). Shown on the panel, printed by scripted runs and kept with a saved
    /// revision.
    pub fn warnings(&self) -> Vec<String> {
        let p = &self.placement;
        let zone = coxa_planner::SafeZone::default();
        let rules = coxa_planner::SizingRules::default();
        let radio = p.cup.to_definition(CupAngleDefinition::Radiographic, p.side);
        let mut out = Vec::new();
        let (inc, av) = (radio.inclination.deg(), radio.anteversion.deg());
        let outside = |v: f64, (lo, hi): (Angle, Angle)| v < lo.deg() - 1e-9 || v > hi.deg() + 1e-9;
        if outside(inc, zone.inclination) {
            out.push(format!("cup inclination {inc:.1}° (radiographic) is outside {:.0}-{:.0}° (Lewinnek et al. 1978)", zone.inclination.0.deg(), zone.inclination.1.deg()));
        }
        if outside(av, zone.anteversion) {
            out.push(format!("cup anteversion {av:.1}° (radiographic) is outside {:.0}-{:.0}° (Lewinnek et al. 1978)", zone.anteversion.0.deg(), zone.anteversion.1.deg()));
        }
        let sum = self.combined_anteversion().plain_sum_deg;
        let (lo, hi) = CombinedAnteversion::PLAIN_SUM_SAFE_DEG;
        if !(lo..=hi).contains(&sum) {
            out.push(format!("combined anteversion {sum:.1}° (operative cup + stem) is outside {lo:.0}-{hi:.0}° (Dorr et al. 2009)"));
        }
        if let Some(b) = &self.bone {
            if b.medial_wall_mm < rules.min_medial_wall_mm {
                out.push(format!("medial wall {:.1} mm is thinner than the {:.0} mm of bone coxa's cup sizing keeps medial to the shell", b.medial_wall_mm, rules.min_medial_wall_mm));
            }
            if b.coverage < rules.coverage_target {
                out.push(format!("host-bone coverage of the shell {:.0} % is below the {:.0} % coxa's planner places the cup for", 100.0 * b.coverage, 100.0 * rules.coverage_target));
            }
        }
        out
    }
}

/// A rigid motion of LPS: `p -> centre + m (p - pivot)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RigidMotion {
    /// Linear part.
    pub m: Matrix3<f64>,
    /// Where `pivot` goes.
    pub centre: Point3<f64>,
    /// The point that goes to `centre`.
    pub pivot: Point3<f64>,
}

impl RigidMotion {
    /// The translation that takes `from` to `to`.
    pub fn translation(from: Point3<f64>, to: Point3<f64>) -> Self {
        Self { m: Matrix3::identity(), centre: to, pivot: from }
    }
    /// Applies the motion to a point.
    pub fn apply(&self, p: &Point3<f64>) -> Point3<f64> {
        self.centre + self.m * (p - self.pivot)
    }
}

/// Femoral parts of the implants (they move with the femur); the rest stay with the pelvis.
pub fn moves_with_femur(part: &str) -> bool {
    matches!(part, "head" | "neck" | "stem")
}

impl Evaluation {
    /// The `α` at the limit of motion `k` (0 when its start is in contact).
    pub fn limit_alpha(&self, k: usize) -> f64 {
        let l = &self.limits[k];
        if l.start_in_contact { 0.0 } else { self.motions[k].alpha_of(l.limit_deg).clamp(0.0, self.motions[k].max_deg) }
    }
    /// Where motion `k` at `alpha_deg` puts the femur bone (as imaged) and the femoral implants
    /// (as in [`Evaluation::implants`]), the pelvis held as imaged.
    pub fn femur_motion(&self, k: usize, alpha_deg: f64) -> (RigidMotion, RigidMotion) {
        let r = rom::pose(&self.motions[k], alpha_deg, &self.tilts, self.placement.side);
        let m = self.model.femur_motion_lps(&r);
        let c = self.model.hip_centre_lps_mm();
        (RigidMotion { m, centre: c, pivot: self.placement.head_centre_on_femur_lps_mm }, RigidMotion { m, centre: c, pivot: c })
    }
    /// The femur bone at rest (no motion playing): as imaged, translated so that the planned
    /// head centre lies in the cup centre (the femoral implants of [`Evaluation::implants`]
    /// already sit so).
    pub fn femur_as_planned(&self) -> RigidMotion {
        RigidMotion::translation(self.placement.head_centre_on_femur_lps_mm, self.model.hip_centre_lps_mm())
    }
}

/// The case's hip model, ready to be re-evaluated.
#[derive(Debug)]
pub struct LiveModel {
    scorer: Arc<SimScorer>,
    catalog: Catalog,
    base: ImplantPlacement,
    tilts: PelvicTilts,
    motions: Vec<Motion>,
    /// The femoral shaft axis (point, unit direction), LPS, of the imaged femur.
    shaft: Option<(Point3<f64>, Vector3<f64>)>,
    /// The base model's neck direction (head -> stem), LPS.
    base_neck_lps: Vector3<f64>,
    /// The landmarks of the operated hip the case used (from `model.json`), when it has bones.
    anatomy: Option<HipAnatomy>,
    /// The pelvic frame the cup angles and shifts are in.
    frame: PelvicFrame,
    /// The hip bone prepared for coverage and the medial wall (`None`: no bones).
    cup_bone: Option<CupBone>,
    /// The case's stem series: (control value, label, offset mm) per size, in catalog order.
    stem_sizes: Vec<(f64, String, f64)>,
}

impl LiveModel {
    /// Rebuilds the hip model of `case` from its `model.json` and bone surfaces.
    ///
    /// # Errors
    /// [`ViewError::Live`] naming what is missing (no `model.json`, a user implant, bones not
    /// in the case, an unreadable catalog) or what the simulator refused.
    pub fn new(case: &CaseData) -> Result<Self, ViewError> {
        let err = |why: String| ViewError::Live { why };
        let rec: &CaseModel = case.model.as_ref().ok_or_else(|| err("the case has no model.json (written by coxa since the live viewer); run the case again".into()))?;
        if rec.user_cup.is_some() || rec.user_stem.is_some() {
            return Err(err("the case uses an engineer's own cup or stem: live planning works on catalog implants only (use coxa rom --user-cup/--user-stem for these)".into()));
        }
        let catalog = match &rec.catalog_dir {
            Some(d) => Catalog::load_dir(d).map_err(|source| ViewError::Catalog { what: format!("catalog {}", d.display()), source })?,
            None => Catalog::builtin().map_err(|source| ViewError::Catalog { what: "built-in catalog".into(), source })?,
        };
        let read = |p: &std::path::Path| coxa_io::mesh::read_mesh(p).map_err(|e| format!("{e:#}"));
        let user_stems = coxa_sim::score::user_stem_sizes(&catalog, read).map_err(|e| err(e.to_string()))?;
        let user_cups = coxa_sim::score::user_cup_sizes(&catalog, read).map_err(|e| err(e.to_string()))?;
        let side = rec.placement.side;
        let mesh = |name: String| case.bones.iter().find(|(n, _)| *n == name).map(|(_, m)| m.clone());
        let stem_sizes = stem_size_values(&catalog, &rec.placement.stem_family);
        // Cups reach the largest shell's radius, the planner's medialisation and the desk's
        // 15 mm of shift from the native centre.
        let reach_mm = catalog.shells.iter().map(|f| f.outer_diameter_max_mm).fold(0.0, f64::max) / 2.0 + SizingRules::default().max_medialisation_mm + 15.0;
        let (scorer, shaft, anatomy, frame, cup_bone) = if rec.bones {
            let own = side.as_str();
            let hip = mesh(format!("hip_{own}")).ok_or_else(|| err(format!("the case has no anatomy/meshes/hip_{own}.stl")))?;
            let femur = mesh(format!("femur_{own}")).ok_or_else(|| err(format!("the case has no anatomy/meshes/femur_{own}.stl")))?;
            // The landmarks the case was planned with (never found again: the viewer shows the plan's).
            let anatomy = rec.anatomy.as_ref().ok_or_else(|| err("model.json has no landmarks of the operated hip (written by an older coxa); run the case again".into()))?;
            let shaft = (anatomy.femur.shaft_axis.point_lps_mm, anatomy.femur.shaft_axis.direction_lps.normalize());
            let cup_bone = CupBone::new(&hip, &anatomy.frame, side, anatomy.acetabulum.centre.lps_mm, reach_mm);
            let bones = ScorerBones { pelvis: hip, femur, femur_landmarks: anatomy.femur.clone(), options: BoneOptions::default() };
            (SimScorer::with_bones(catalog.clone(), anatomy.frame, bones).with_user_stems(user_stems).with_user_cups(user_cups), Some(shaft), Some(anatomy.clone()), anatomy.frame, Some(cup_bone))
        } else {
            // As the pipeline's implants-alone model: the LPS-aligned frame at the cup centre.
            let frame = PelvicFrame::aligned_with_lps(rec.placement.cup_centre_lps_mm);
            (SimScorer::implants_only(catalog.clone(), frame, None).with_user_stems(user_stems).with_user_cups(user_cups), None, None, frame, None)
        };
        let all = rom::all_motions();
        let motions: Vec<Motion> = rec.motions.iter().filter_map(|n| all.iter().find(|m| m.name == n).cloned()).collect();
        if motions.is_empty() {
            return Err(err("model.json names no motion the simulator knows".into()));
        }
        let tilts = PelvicTilts { standing: rec.tilts.standing, sitting: rec.tilts.sitting };
        let base_model = scorer.model(&rec.placement).map_err(|source| ViewError::Placement { source })?;
        if !stem_sizes.iter().any(|(_, label, _)| *label == rec.placement.stem_size) {
            return Err(err(format!("the case's stem size {:?} is not in the catalog's {:?} series", rec.placement.stem_size, rec.placement.stem_family)));
        }
        Ok(Self { base_neck_lps: base_model.neck_axis_lps(), scorer: Arc::new(scorer), catalog, base: rec.placement.clone(), tilts, motions, shaft, anatomy, frame, cup_bone, stem_sizes })
    }

    /// The landmarks and pelvic frame of the operated hip this model is built on: the case's
    /// own (the anatomy stage's, through `model.json`), never found again. `None` without bones.
    pub fn anatomy(&self) -> Option<&HipAnatomy> {
        self.anatomy.as_ref()
    }

    /// The controls of the case's own placement.
    pub fn base_controls(&self) -> Controls {
        let radio = self.base.cup.to_definition(CupAngleDefinition::Radiographic, self.base.side);
        Controls {
            cup_inclination_deg: radio.inclination.deg(),
            cup_anteversion_deg: radio.anteversion.deg(),
            stem_anteversion_deg: self.base.stem_anteversion.deg(),
            head_diameter_mm: self.base.head_diameter_mm,
            head_offset_mm: self.base.head_offset_mm,
            cup_outer_diameter_mm: self.base.shell_outer_diameter_mm,
            cup_shift_mm: [0.0; 3],
            stem_size: self.stem_size_entry_of(&self.base.stem_size).map_or(f64::NAN, |e| e.0),
        }
    }

    /// The case's stem series' sizes: (control value, label, offset mm), in catalog order.
    pub fn stem_sizes(&self) -> &[(f64, String, f64)] {
        &self.stem_sizes
    }

    fn stem_size_entry_of(&self, label: &str) -> Option<&(f64, String, f64)> {
        self.stem_sizes.iter().find(|e| e.1 == label)
    }

    fn stem_size_entry(&self, value: f64) -> Option<&(f64, String, f64)> {
        self.stem_sizes.iter().find(|e| (e.0 - value).abs() < 1e-6)
    }

    /// The case's own placement (the one `model.json` records).
    pub fn base_placement(&self) -> &ImplantPlacement {
        &self.base
    }

    /// Catalog shell outer diameters (every series), ascending.
    pub fn cup_diameters_mm(&self) -> Vec<f64> {
        let mut v = Vec::new();
        for f in &self.catalog.shells {
            let n = ((f.outer_diameter_max_mm - f.outer_diameter_min_mm) / f.outer_diameter_step_mm.max(1e-6)).round() as usize;
            v.extend((0..=n.min(1000)).map(|k| f.outer_diameter_min_mm + k as f64 * f.outer_diameter_step_mm));
        }
        v.sort_by(f64::total_cmp);
        v.dedup_by(|a, b| (*a - *b).abs() < 1e-6);
        v
    }

    /// Catalog head diameters, ascending.
    pub fn head_diameters_mm(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.catalog.heads.iter().flat_map(|h| h.diameters_mm.iter().copied()).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    }

    /// Catalog neck-length offsets of heads of `diameter_mm`, ascending.
    pub fn head_offsets_mm(&self, diameter_mm: f64) -> Vec<f64> {
        let mut v: Vec<f64> = self.catalog.heads.iter().filter(|h| h.diameters_mm.iter().any(|d| (d - diameter_mm).abs() < 1e-6)).flat_map(|h| h.neck_length_offsets_mm.iter().copied()).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    }

    /// The placement for `c`: the case's placement with the controls applied (see the module docs).
    ///
    /// The plan's ranges (`coxa_core::plan_ranges`, as `coxa rom` checks them) are kept before
    /// the controls get here: a script's `set` line is refused when it is read, the panel's
    /// buttons stop at the ends, and a save checks the revision's plan record.
    ///
    /// # Errors
    /// Controls that are not the catalog's sizes.
    pub fn placement(&self, c: &Controls) -> Result<ImplantPlacement, ViewError> {
        self.check_catalog(c)?;
        let mut p = self.base.clone();
        p.cup = CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(c.cup_inclination_deg), anteversion: Angle::from_deg(c.cup_anteversion_deg) };
        p.head_diameter_mm = c.head_diameter_mm;
        p.head_offset_mm = c.head_offset_mm;
        p.stem_anteversion = Angle::from_deg(c.stem_anteversion_deg);
        p.shell_outer_diameter_mm = c.cup_outer_diameter_mm;
        let (base_offset, (_, label, offset)) =
            (self.stem_size_entry_of(&self.base.stem_size), self.stem_size_entry(c.stem_size).ok_or_else(|| ViewError::Live { why: "stem size not in the series".into() })?);
        let d_stem_offset_mm = base_offset.map_or(0.0, |b| offset - b.2);
        p.stem_size = label.clone();
        let [medial, superior, anterior] = c.cup_shift_mm;
        let shift_pelvic = Vector3::new(-self.base.side.lateral_sign() * medial, -anterior, superior);
        p.cup_centre_lps_mm = self.base.cup_centre_lps_mm + self.frame.vector_to_lps(&shift_pelvic);
        // Stem version and neck length: the planner's stem rule, as a change to the case's stem.
        let (head, neck) = (&self.base.head_centre_on_femur_lps_mm, &self.base_neck_lps);
        let d_offset_mm = c.head_offset_mm - self.base.head_offset_mm;
        (p.head_centre_on_femur_lps_mm, _) = match &self.shaft {
            Some((point, dir)) => moved_head(self.base.side, point, dir, head, neck, Angle::from_deg(c.stem_anteversion_deg - self.base.stem_anteversion.deg()), d_offset_mm),
            // No imaged shaft: no axis to turn the stem about; the neck length still moves the head.
            None => moved_head(self.base.side, head, &Vector3::z(), head, neck, Angle::from_deg(0.0), d_offset_mm),
        };
        // Another size of the series: the head away from the shaft axis by the offsets' difference.
        if let Some((point, dir)) = &self.shaft {
            p.head_centre_on_femur_lps_mm = resized_head(point, dir, &p.head_centre_on_femur_lps_mm, d_stem_offset_mm);
        }
        Ok(p)
    }

    /// Whether the sizes of `c` are the catalog's: the head diameter, its neck length, the cup size.
    ///
    /// # Errors
    /// [`ViewError::Live`] naming the size and the catalog's sizes.
    pub fn check_catalog(&self, c: &Controls) -> Result<(), ViewError> {
        let list = |v: &[f64]| v.iter().map(|x| format!("{x}")).collect::<Vec<_>>().join(", ");
        let has = |v: &[f64], x: f64| v.iter().any(|y| (y - x).abs() < 1e-6);
        let heads = self.head_diameters_mm();
        if !has(&heads, c.head_diameter_mm) {
            return Err(ViewError::Live { why: format!("head diameter {} mm is not in the catalog: choose one of {} mm", c.head_diameter_mm, list(&heads)) });
        }
        let offsets = self.head_offsets_mm(c.head_diameter_mm);
        if !has(&offsets, c.head_offset_mm) {
            return Err(ViewError::Live { why: format!("neck length {} mm is not in the catalog for a {} mm head: choose one of {} mm", c.head_offset_mm, c.head_diameter_mm, list(&offsets)) });
        }
        let cups = self.cup_diameters_mm();
        if !has(&cups, c.cup_outer_diameter_mm) {
            return Err(ViewError::Live { why: format!("cup outer diameter {} mm is not in the catalog: choose one of {} mm", c.cup_outer_diameter_mm, list(&cups)) });
        }
        let stems: Vec<f64> = self.stem_sizes.iter().map(|e| e.0).collect();
        if !has(&stems, c.stem_size) {
            return Err(ViewError::Live { why: format!("stem size {} is not in the catalog's {} series: choose one of {}", c.stem_size, self.base.stem_family, list(&stems)) });
        }
        Ok(())
    }

    /// Evaluates `c`: builds the model and sweeps every motion (rayon).
    ///
    /// # Errors
    /// [`ViewError::Model`] with the simulator's or the catalog's reason (e.g. a head the liner
    /// cannot take in this shell).
    pub fn evaluate(&self, c: &Controls) -> Result<Evaluation, ViewError> {
        let placement = self.placement(c)?;
        let model = self.scorer.model(&placement).map_err(|source| ViewError::Model { source })?;
        let report = rom::report(&model, &self.motions, &self.tilts, &SweepOptions::default());
        let implants = model.implant_meshes_lps().into_iter().map(|(n, m)| (n.to_string(), m)).collect();
        // The femur moves from as imaged so that the planned head centre sits in the cup centre.
        let d = self.frame.vector_to_pelvic(&(placement.cup_centre_lps_mm - placement.head_centre_on_femur_lps_mm));
        let bone = self.cup_bone.as_ref().map(|b| b.measure(&placement.cup_centre_lps_mm, placement.shell_outer_diameter_mm, &placement.cup.axis(placement.side)));
        let anatomy = self.anatomy.as_ref().map(ContactAnatomy::from);
        let naming = anatomy.as_ref().map(|a| (a, &placement.head_centre_on_femur_lps_mm));
        let structures = report.motions.iter().map(|l| l.contact.and_then(|c| c.structures(&model, naming))).collect();
        Ok(Evaluation {
            bone,
            structures,
            stem_offset_mm: self.stem_size_entry(c.stem_size).map(|e| e.2),
            controls: *c,
            leg_length_change_mm: -d.z,
            offset_change_mm: placement.side.lateral_sign() * d.x,
            placement,
            implants,
            oscillation_angle_deg: report.oscillation_angle_deg,
            limits: report.motions,
            motions: self.motions.clone(),
            model,
            tilts: self.tilts,
        })
    }
}

/// The sizes of the stem series `family`: (control value, label, offset mm), in catalog order.
/// The value is the label read as a number when every label of the series is one, else the
/// size's position 1..N.
fn stem_size_values(catalog: &Catalog, family: &str) -> Vec<(f64, String, f64)> {
    let Some(f) = catalog.stems.iter().find(|s| s.name == family) else { return Vec::new() };
    let numbers: Option<Vec<f64>> = f.sizes.iter().map(|z| z.size.trim().parse::<f64>().ok().filter(|v| v.is_finite())).collect();
    let numbers = numbers.filter(|v| v.iter().enumerate().all(|(i, a)| v[..i].iter().all(|b| (a - b).abs() > 1e-6)));
    f.sizes.iter().enumerate().map(|(i, z)| (numbers.as_ref().map_or((i + 1) as f64, |v| v[i]), z.size.clone(), z.offset_mm)).collect()
}
