//! The optimiser's declared search space and its one evaluator.
//!
//! [`PlanSpace::new`] does everything a plan does before the search: the cup's size and centre,
//! the stem's size, the leg-length and offset targets, the discrete combinations (liner x head x
//! femoral option) and the angle ranges (cup inclination and anteversion, radiographic; stem
//! version). [`PlanSpace::evaluate`] scores one [`Choice`] of that space; the optimiser
//! ([`crate::plan`]) scores every candidate through it, and a test that enumerates the space
//! calls the same function, so the two cannot disagree.
//!
//! **The femur of each stem version.** A choice's femoral reconstruction is built at its own
//! stem version (the seat solved for the leg-length target at that version,
//! [`crate::stem::seated`]), and the femur is placed for bone collision at that version's head
//! centre. (Before issue 60 every version was collided with the femur placed at the nominal
//! version's head centre, a few millimetres off for versions away from it: on the real CT the
//! search then scored stem 15 deg far below what a plan fixed at 15 deg scores, and missed it.)
//!
//! **The femoral options are solved at each stem version.** A combination names a femoral
//! option by its rank (0: the best); at a choice's stem version the options are
//! [`crate::stem::femoral_options`] at that version (every series, size and head offset, seated
//! for the leg-length target, ranked by the leg-length and offset error), those that restore leg
//! length and offset within the space's bounds, the first [`crate::PlanOptions::femoral_options`].
//! The bounds are [`crate::SizingRules::restore_tolerance_mm`] when an option at the nominal
//! version restores within it, else the nominal version's best option's own errors (each at
//! least the tolerance): a stem version is searched only with a reconstruction as good as the
//! plan would have at the nominal version. A rank that version does not have is no choice
//! ([`PlanSpace::exists`]). So a plan fixed at a version is the slice of this space at that
//! version (when the nominal version's options restore within the tolerance), and no stem
//! version is paired with a stem and head offset that no longer restore the offset at it (before:
//! options found at one version were scored at every other, and on z013 the plan took an offset
//! 4.9 mm off its target).

use coxa_core::{Angle, CupAngleDefinition, CupAngles, ImplantPlacement, MotionInfo, RomQuery, RomScorer, ScoreError};
use coxa_implants::Catalog;
use nalgebra::Point3;

use crate::cup::{CoverageMap, CupSizing, size_cup_with};
use crate::error::{PlanError, Result};
use crate::input::{FixedChoices, PlanAnatomy, PlanOptions, STEM_VERSION_LIMITS_DEG};
use crate::objective::{ObjectiveTerms, objective};
use crate::stem::{CanalProfile, FemoralReconstruction, Targets, canal_profile, femoral_options};
use crate::stem_fill::{StemSizing, size_stems};

/// Smallest head considered unless the surgeon fixes one, mm (smaller heads dislocate easily).
const MIN_HEAD_MM: f64 = 28.0;

/// One point of the search space: a discrete combination and three angles, deg (cup radiographic,
/// pelvic frame).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Choice {
    /// Index into [`PlanSpace::combos`].
    pub combo: usize,
    /// Cup inclination, radiographic, deg.
    pub inclination_deg: f64,
    /// Cup anteversion, radiographic, deg.
    pub anteversion_deg: f64,
    /// Stem anteversion, deg.
    pub stem_anteversion_deg: f64,
}

impl Choice {
    /// A key that tells choices apart (angles to 1e-6 deg).
    pub(crate) fn key(&self) -> (usize, [i64; 3]) {
        (self.combo, [self.inclination_deg, self.anteversion_deg, self.stem_anteversion_deg].map(|v| (v * 1e6).round() as i64))
    }
}

/// A discrete combination: liner, head and the rank of the femoral option (series, size, head
/// offset and seat, solved at each stem version: [`PlanSpace::femoral`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Combo {
    /// Liner (catalog name or keyword).
    pub liner: String,
    /// Head diameter, mm.
    pub head_mm: f64,
    /// The femoral option's rank at the choice's stem version (0: the best).
    pub femoral_rank: usize,
}

/// The declared search space of one plan, with everything sized, and its evaluator.
pub struct PlanSpace<'a> {
    pub(crate) anatomy: &'a PlanAnatomy,
    catalog: &'a Catalog,
    pub(crate) scorer: &'a dyn RomScorer,
    pub(crate) options: &'a PlanOptions,
    /// The discrete combinations, largest head first within a liner.
    pub combos: Vec<Combo>,
    /// Cup inclination range, radiographic, deg.
    pub inclination_deg: (f64, f64),
    /// Cup anteversion range, radiographic, deg.
    pub anteversion_deg: (f64, f64),
    /// Stem version range, deg (equal ends: the version is fixed).
    pub stem_anteversion_deg: (f64, f64),
    /// The stem version the femoral options are ranked at first: the native version, clamped
    /// into the range.
    pub nominal_stem_anteversion_deg: f64,
    /// The cup's size and centre.
    pub cup: CupSizing,
    pub(crate) coverage: CoverageMap,
    pub(crate) cup_centre: Point3<f64>,
    pub(crate) shell_mm: f64,
    /// The femoral canal.
    pub canal: CanalProfile,
    /// Every stem series sized by canal fill.
    pub stem_sizing: StemSizing,
    /// Leg-length and offset targets.
    pub targets: Targets,
    /// The largest leg-length and offset errors of a femoral option, mm (the restore tolerance,
    /// or the nominal version's best when none restores within it).
    pub restore_bounds_mm: [f64; 2],
    size_indices: Vec<usize>,
    /// The scorer's motions.
    pub motions: Vec<MotionInfo>,
    /// The search's query (the motions the margin is taken over).
    pub query: RomQuery,
    /// What the sizing could not satisfy.
    pub notes: Vec<String>,
}

/// The femoral options with the fixed neck-length offset only (all without one).
fn with_head_offset(all: Vec<(f64, FemoralReconstruction)>, fixed: Option<f64>) -> Vec<(f64, FemoralReconstruction)> {
    match fixed {
        Some(o) => all.into_iter().filter(|(_, f)| (f.head_offset_mm - o).abs() < 1e-6).collect(),
        None => all,
    }
}

/// The stem size searched per series (catalog order): the canal-fill rule's, or the surgeon's
/// fixed series and size (`usize::MAX`: the series is not searched).
fn fixed_stem(catalog: &Catalog, sizing: &StemSizing, fixed: &FixedChoices) -> Result<Vec<usize>> {
    let mut k = sizing.size_indices();
    if let Some(name) = &fixed.stem_series {
        if !catalog.stems.iter().any(|s| &s.name == name) {
            let names: Vec<&str> = catalog.stems.iter().map(|s| s.name.as_str()).collect();
            return Err(PlanError::InvalidOption { what: "fixed stem series".into(), value: name.clone(), why: format!("not a series of the catalog: choose one of {names:?}") });
        }
        for (i, s) in catalog.stems.iter().enumerate() {
            if &s.name != name {
                k[i] = usize::MAX;
            }
        }
    }
    if let Some(size) = &fixed.stem_size {
        let mut any = false;
        for (i, s) in catalog.stems.iter().enumerate() {
            if k[i] == usize::MAX {
                continue;
            }
            match s.sizes.iter().position(|z| &z.size == size) {
                Some(j) => {
                    k[i] = j;
                    any = true;
                }
                None => k[i] = usize::MAX,
            }
        }
        if !any {
            return Err(PlanError::InvalidOption { what: "fixed stem size".into(), value: size.clone(), why: format!("no stem series searched has this size (series {:?})", fixed.stem_series) });
        }
    }
    Ok(k)
}

/// `lo..=hi` in steps of `step`, both ends included.
pub fn grid(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let n = ((hi - lo) / step + 1e-9).floor().max(0.0) as usize;
    let mut v: Vec<f64> = (0..=n).map(|k| lo + k as f64 * step).collect();
    if hi - v[v.len() - 1] > 1e-9 {
        v.push(hi);
    }
    v
}

impl<'a> PlanSpace<'a> {
    /// Sizes the implants and lays out the space the optimiser searches.
    pub fn new(anatomy: &'a PlanAnatomy, catalog: &'a Catalog, scorer: &'a dyn RomScorer, options: &'a PlanOptions) -> Result<Self> {
        options.validate()?;
        let rules = &options.sizing;
        let mut notes = Vec::new();

        // Cup size and centre.
        let fixed = &options.fixed;
        let (cup, coverage) = size_cup_with(anatomy, catalog, rules, fixed)?;
        notes.extend(cup.notes.iter().cloned());
        let cup_centre = Point3::from(cup.centre_lps_mm);
        let shell = catalog.shell(cup.outer_diameter_mm)?;

        // Stem size, targets, the stem versions.
        for (what, axis) in [("shaft", &anatomy.operated.femur.shaft_axis), ("neck", &anatomy.operated.femur.neck_axis)] {
            if axis.quality == coxa_core::Quality::Uncertain {
                notes.push(format!("the femoral {what} axis is uncertain ({}): stem size, version, leg length and offset are unreliable", axis.note.as_deref().unwrap_or("no note")));
            }
        }
        let canal = canal_profile(anatomy, rules)?;
        let stem_sizing = size_stems(anatomy, catalog, rules)?;
        notes.extend(stem_sizing.canal.notes.iter().cloned());
        notes.extend(stem_sizing.families.iter().flat_map(|f| f.notes.iter().cloned()));
        let size_indices = fixed_stem(catalog, &stem_sizing, fixed)?;
        let mut stem_sizing = stem_sizing;
        if fixed.stem_size.is_some() {
            // The sizing table marks the surgeon's size (the rule's stays in the notes).
            for (fam, &k) in stem_sizing.families.iter_mut().zip(&size_indices) {
                if let Some(z) = catalog.stems.iter().find(|s| s.name == fam.family).and_then(|s| s.sizes.get(k)) {
                    if k != fam.size_index {
                        notes.push(format!(
                            "the surgeon fixed stem size {} of {} (the canal-fill rule gives size {})",
                            z.size,
                            fam.family,
                            fam.size_options.iter().find(|o| o.chosen).map_or("?", |o| o.size.as_str())
                        ));
                    }
                    fam.size_index = k;
                    for o in &mut fam.size_options {
                        o.chosen = o.size == z.size;
                    }
                }
            }
        }
        let targets = crate::stem::targets(anatomy);
        if anatomy.contralateral.is_some() && !targets.from_contralateral {
            notes.push("the other hip is imaged but a femoral shaft is not, so leg length and offset cannot be compared between the sides: the native hip's are restored instead".into());
        }
        // The native version of the stem placement: the head stays on its native azimuth.
        let (vmin, vmax) = STEM_VERSION_LIMITS_DEG;
        let native_version = crate::stem::native_stem_version(anatomy).deg();
        if !(vmin..=vmax).contains(&native_version) {
            notes.push(format!("native stem version {native_version:.1} deg lies outside {vmin}..{vmax} deg: clamped"));
        }
        let native_version = native_version.clamp(vmin, vmax);
        if anatomy.operated.femur.anteversion_deg.is_none() {
            notes.push("condyles not imaged: stem anteversion relative to the femoral frame's fallback x axis (LPS x), not the condylar line".into());
        }
        let stem_range = match options.stem_anteversion {
            Some((lo, hi)) => (lo.deg(), hi.deg()),
            None => {
                let w = options.stem_version_window.deg();
                ((native_version - w).max(vmin), (native_version + w).min(vmax))
            }
        };
        let nominal = native_version.clamp(stem_range.0, stem_range.1);

        // The femoral options' bounds, from the nominal version.
        let w = &options.weights;
        let at_nominal = with_head_offset(
            femoral_options(anatomy, catalog, rules, &size_indices, &cup_centre, Angle::from_deg(nominal), &targets, w.leg_length_per_mm.max(1e-3), w.offset_per_mm.max(1e-3))?,
            fixed.head_offset_mm,
        );
        if let (true, Some(o)) = (at_nominal.is_empty(), fixed.head_offset_mm) {
            return Err(PlanError::NoFit { why: format!("no head of the catalog has the fixed neck-length offset {o:?} mm") });
        }
        let tol = rules.restore_tolerance_mm;
        let errors = |f: &FemoralReconstruction| [(f.leg_length_change_mm - targets.leg_length_change_mm).abs(), (f.offset_change_mm - targets.offset_change_mm).abs()];
        let restore_bounds_mm = match at_nominal.iter().find(|(_, f)| errors(f).iter().all(|e| *e <= tol)) {
            Some(_) => [tol; 2],
            None => {
                let e = at_nominal.first().map_or([tol; 2], |(_, f)| errors(f));
                let b = [e[0].max(tol), e[1].max(tol)];
                notes.push(format!(
                    "no stem and head offset restores leg length and offset within {tol} mm; the closest are searched, at stem versions where they come within {:.1} mm (leg length) and {:.1} mm (offset) as at the nominal version",
                    b[0], b[1]
                ));
                b
            }
        };

        // Discrete combinations: liner x head x femoral option. A shell size with the engineer's
        // own cup (its series' `frames`) bears one head: its frame's bearing diameter.
        let bearing = catalog.shell_frame(shell.outer_diameter_mm).map(|z| z.bearing_diameter_mm);
        if let Some(b) = bearing {
            notes.push(format!("the {} mm shell is the engineer's own cup (its mesh); it bears a {b} mm head only", shell.outer_diameter_mm));
        }
        let mut combos = Vec::new();
        for liner_name in &options.liners {
            let spec = catalog.liner_spec(liner_name)?;
            let mut heads: Vec<f64> = catalog.heads.iter().flat_map(|h| h.diameters_mm.iter().copied()).collect();
            // Largest first: between candidates of equal objective the larger head (the larger
            // jump distance) is kept.
            heads.sort_by(|a, b| b.total_cmp(a));
            heads.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
            let heads: Vec<f64> = match options.head_diameter_mm {
                Some(d) => vec![d],
                None => heads.into_iter().filter(|d| *d >= MIN_HEAD_MM).collect(),
            };
            for h in heads {
                if catalog.liner(spec, h, &shell).is_err() || bearing.is_some_and(|b| (b - h).abs() > 1e-6) {
                    continue;
                }
                for femoral_rank in 0..options.femoral_options {
                    combos.push(Combo { liner: liner_name.clone(), head_mm: h, femoral_rank });
                }
            }
        }
        if combos.is_empty() {
            let own = bearing.map_or(String::new(), |b| format!(" (its own cup bears a {b} mm head; the catalog's heads must include it)"));
            return Err(PlanError::NoFit { why: format!("no head of {:?} fits a {} mm shell with liner(s) {:?}{own}", options.head_diameter_mm, shell.outer_diameter_mm, options.liners) });
        }

        // The query.
        let infos = scorer.motions();
        let motions: Vec<String> = match &options.motions {
            Some(m) => m.clone(),
            None => infos.iter().filter(|m| m.daily_life).map(|m| m.name.clone()).collect(),
        };
        if motions.is_empty() {
            return Err(PlanError::InvalidOption { what: "motions".into(), value: "[]".into(), why: "the scorer offers no daily-life motion; name the motions to optimise".into() });
        }
        let query = RomQuery { motions, tilts: options.tilts, resolution_deg: options.resolution_deg, margin_cap_deg: Some(options.margin_cap_deg) };
        let mut space = Self {
            anatomy,
            catalog,
            scorer,
            options,
            combos,
            inclination_deg: (options.inclination.0.deg(), options.inclination.1.deg()),
            anteversion_deg: (options.anteversion.0.deg(), options.anteversion.1.deg()),
            stem_anteversion_deg: stem_range,
            nominal_stem_anteversion_deg: nominal,
            cup,
            coverage,
            cup_centre,
            shell_mm: shell.outer_diameter_mm,
            canal,
            stem_sizing,
            targets,
            restore_bounds_mm,
            size_indices,
            motions: infos,
            query,
            notes,
        };
        // Ranks no stem version of the grid has are dropped.
        let step = options.grid_step.deg();
        let ranks = space.stem_grid(step).into_iter().map(|v| space.options_at(v).len()).max().unwrap_or(0).max(1);
        space.combos.retain(|k| k.femoral_rank < ranks);
        Ok(space)
    }

    /// The femoral options at stem version `version_deg`, best first: those within
    /// [`Self::restore_bounds_mm`], at most [`crate::PlanOptions::femoral_options`].
    pub fn options_at(&self, version_deg: f64) -> Vec<FemoralReconstruction> {
        let (w, t) = (&self.options.weights, &self.targets);
        let [bl, bo] = self.restore_bounds_mm;
        let all = with_head_offset(
            femoral_options(
                self.anatomy,
                self.catalog,
                &self.options.sizing,
                &self.size_indices,
                &self.cup_centre,
                Angle::from_deg(version_deg),
                t,
                w.leg_length_per_mm.max(1e-3),
                w.offset_per_mm.max(1e-3),
            )
            .unwrap_or_default(),
            self.options.fixed.head_offset_mm,
        );
        all.into_iter()
            .map(|(_, f)| f)
            .filter(|f| (f.leg_length_change_mm - t.leg_length_change_mm).abs() <= bl + 1e-9 && (f.offset_change_mm - t.offset_change_mm).abs() <= bo + 1e-9)
            .take(self.options.femoral_options)
            .collect()
    }

    /// Whether `c` is a point of the space: its combination's femoral rank exists at its stem
    /// version.
    pub fn exists(&self, c: &Choice) -> bool {
        self.femoral(c).is_some()
    }

    /// Whether the stem version is searched (its range is not a single value).
    pub fn stem_searched(&self) -> bool {
        self.stem_anteversion_deg.1 - self.stem_anteversion_deg.0 > 1e-9
    }

    /// The femoral reconstruction of a choice: the option of its combination's rank at its stem
    /// version, seated for the leg-length target (`None`: that version has no option of that
    /// rank).
    pub fn femoral(&self, c: &Choice) -> Option<FemoralReconstruction> {
        let rank = self.combos.get(c.combo)?.femoral_rank;
        self.options_at(c.stem_anteversion_deg).into_iter().nth(rank)
    }

    /// The placement of a choice (its femur at its own head centre; `None` as [`Self::femoral`]).
    pub fn placement(&self, c: &Choice) -> Option<ImplantPlacement> {
        self.femoral(c).map(|f| self.placement_of(c, &f))
    }

    fn placement_of(&self, c: &Choice, f: &FemoralReconstruction) -> ImplantPlacement {
        let k = &self.combos[c.combo];
        ImplantPlacement {
            side: self.anatomy.side,
            cup: CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(c.inclination_deg), anteversion: Angle::from_deg(c.anteversion_deg) },
            cup_centre_lps_mm: self.cup_centre,
            shell_outer_diameter_mm: self.shell_mm,
            liner: k.liner.clone(),
            head_diameter_mm: k.head_mm,
            head_offset_mm: f.head_offset_mm,
            stem_family: f.stem_family.clone(),
            stem_size: f.stem_size.clone(),
            stem_anteversion: Angle::from_deg(c.stem_anteversion_deg),
            head_centre_on_femur_lps_mm: Point3::from(f.head_centre_on_femur_lps_mm),
        }
    }

    /// The objective of one choice: the one evaluator of the search and of any enumeration.
    ///
    /// # Errors
    /// The scorer's, or a choice that is not a point of the space ([`Self::exists`]).
    pub fn evaluate(&self, c: &Choice) -> std::result::Result<ObjectiveTerms, ScoreError> {
        let f = self.femoral(c).ok_or_else(|| {
            ScoreError::new(format!(
                "stem version {:.2} deg has no femoral option of rank {} within the restore bounds",
                c.stem_anteversion_deg,
                self.combos.get(c.combo).map_or(0, |k| k.femoral_rank)
            ))
        })?;
        let p = self.placement_of(c, &f);
        let score = self.scorer.score(&p, &self.query)?;
        let coverage = self.coverage.coverage(&p.cup.axis(self.anatomy.side));
        Ok(objective(&score, &p, &f, &self.targets, coverage, self.options))
    }

    /// The choices of the exhaustive grid at `step` over every dimension (combination, stem
    /// version, inclination, anteversion; both ends of each range included), in that order.
    pub fn grid_choices(&self, step: f64) -> Vec<Choice> {
        let incs = grid(self.inclination_deg.0, self.inclination_deg.1, step);
        let avs = grid(self.anteversion_deg.0, self.anteversion_deg.1, step);
        let stems = self.stem_grid(step);
        let mut out = Vec::with_capacity(self.combos.len() * stems.len() * incs.len() * avs.len());
        for combo in 0..self.combos.len() {
            for &stem_anteversion_deg in &stems {
                for &inclination_deg in &incs {
                    for &anteversion_deg in &avs {
                        out.push(Choice { combo, inclination_deg, anteversion_deg, stem_anteversion_deg });
                    }
                }
            }
        }
        out
    }

    /// The stem versions of the grid at `step`.
    pub fn stem_grid(&self, step: f64) -> Vec<f64> {
        if self.stem_searched() { grid(self.stem_anteversion_deg.0, self.stem_anteversion_deg.1, step) } else { vec![self.stem_anteversion_deg.0] }
    }

    /// How many choices the grid at `step` holds, counted without making them.
    pub fn grid_size(&self, step: f64) -> (usize, [usize; 4]) {
        let n = [self.combos.len(), self.stem_grid(step).len(), grid(self.inclination_deg.0, self.inclination_deg.1, step).len(), grid(self.anteversion_deg.0, self.anteversion_deg.1, step).len()];
        (n.iter().fold(1usize, |a, b| a.saturating_mul(*b)), n)
    }
}
