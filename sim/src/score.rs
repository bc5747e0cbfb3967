//! The simulator as the planner's range-of-motion scorer: [`SimScorer`] implements
//! [`coxa_core::RomScorer`] on top of [`HipModel`] and [`crate::rom`].
//!
//! For each candidate it assembles the construct from the catalog, places the femur so that the
//! candidate's prosthetic head centre lies at the cup centre (the femur mesh is translated by
//! the head's shift on the femur; the femoral frame is the native femur's), and sweeps the
//! requested motions. Bone geometry (the reamed pelvis distance field and the resected femur)
//! costs about 0.5 s to prepare (release build, z013, 2 busy cores: two exact distance transforms
//! of 200³ voxels; a whole ROM report on it 3-10 ms), so it is prepared once per shell size and
//! cup centre, and shared between candidates (and threads); the resected femur (milliseconds)
//! once per head centre on the femur and neck cut, apart, so that a stem or head change
//! reuses the pelvis.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use coxa_core::FemurLandmarks;
use coxa_core::{FemoralFrame, FirstContact, ImplantPlacement, Mesh, MotionInfo, MotionScore, PelvicFrame, PlanPosture, RomQuery, RomScore, RomScorer, ScoreError};
use coxa_implants::{Catalog, Construct};
use nalgebra::{Matrix4, Point3};

use crate::model::{BoneGeometry, BoneOptions, ContactKind, FemurBone, HipModel, PelvisBone};
use crate::rom::{self, Motion, PelvicTilts, Posture, SweepOptions};
use crate::user_parts::{UserCup, UserStem};

/// The bones a [`SimScorer`] collides: the operated side's hip bone and femur (LPS mm), the
/// femur's landmarks and the pelvic frame.
#[derive(Debug, Clone)]
pub struct ScorerBones {
    /// Hip bone of the operated side.
    pub pelvis: Mesh,
    /// Femur of the operated side, as imaged.
    pub femur: Mesh,
    /// Landmarks of that femur (its native head centre, neck axis and femoral frame).
    pub femur_landmarks: FemurLandmarks,
    /// Bone preparation options (distance-field voxel, reach).
    pub options: BoneOptions,
}

/// Cache keys: the bits of the shell diameter and cup centre (pelvis); of the head centre on
/// the femur and the neck cut (femur).
type BoneKey = [u64; 4];
type Slot<T> = Arc<OnceLock<Result<Arc<T>, ScoreError>>>;

/// The prepared bone parts, the least recently used dropped beyond [`BoneCache::PELVIS_CAP`] and
/// [`BoneCache::FEMUR_CAP`] (a pelvis field is 32 MB at the default voxel and reach: a desk
/// session that moves the cup a hundred times must not keep a hundred). A dropped part is
/// prepared again, to the same bits, when it is asked for again.
#[derive(Debug, Default)]
struct BoneCache {
    pelvis: BTreeMap<BoneKey, (u64, Slot<PelvisBone>)>,
    femur: BTreeMap<BoneKey, (u64, Slot<FemurBone>)>,
    clock: u64,
}

impl BoneCache {
    /// Pelvis fields kept (the planner's shell sizes at its cup centres fit).
    const PELVIS_CAP: usize = 16;
    /// Femurs kept.
    const FEMUR_CAP: usize = 64;

    /// The slots of the pelvis and femur keys, made now if absent, marked used now.
    fn slots(&mut self, pelvis: BoneKey, femur: BoneKey) -> (Slot<PelvisBone>, Slot<FemurBone>) {
        self.clock += 1;
        let now = self.clock;
        (Self::slot(&mut self.pelvis, pelvis, now, Self::PELVIS_CAP), Self::slot(&mut self.femur, femur, now, Self::FEMUR_CAP))
    }
    fn slot<T>(map: &mut BTreeMap<BoneKey, (u64, Slot<T>)>, key: BoneKey, now: u64, cap: usize) -> Slot<T> {
        if !map.contains_key(&key) && map.len() >= cap {
            let oldest = map.iter().min_by_key(|(_, (used, _))| *used).map(|(k, _)| *k);
            if let Some(k) = oldest {
                map.remove(&k);
            }
        }
        let entry = map.entry(key).or_default();
        entry.0 = now;
        entry.1.clone()
    }
}

/// A stem size's own geometry (a catalog size with a `frame`): the planner scores that size on
/// this mesh instead of the catalog's cylinder neck ([`SimScorer::with_user_stems`]).
#[derive(Debug, Clone)]
pub struct UserStemSize {
    /// The stem series' name.
    pub family: String,
    /// The size's label.
    pub size: String,
    /// The STL, stem frame of the file (mm).
    pub mesh: Arc<Mesh>,
    /// Its frame file, validated.
    pub frame: coxa_implants::UserGeometry,
}

/// The stem sizes of `catalog` that carry their own geometry (`frame`), each frame checked
/// against its size and its STL read with `read_mesh` (the caller's mesh reader).
///
/// # Errors
/// A frame or mesh that cannot be read or does not fit its size, naming the series and size.
pub fn user_stem_sizes(catalog: &Catalog, read_mesh: impl Fn(&std::path::Path) -> Result<Mesh, String>) -> Result<Vec<UserStemSize>, ScoreError> {
    let mut out = Vec::new();
    for fam in &catalog.stems {
        for z in &fam.sizes {
            let Some(path) = &z.frame else { continue };
            let what = |why: String| ScoreError::new(format!("stem {:?} size {:?}: {why}", fam.name, z.size));
            let frame = coxa_implants::user::check_stem_frame(path, fam.ccd_deg, z.neck_diameter_mm).map_err(what)?;
            let mesh = read_mesh(&frame.mesh_path).map_err(what)?;
            out.push(UserStemSize { family: fam.name.clone(), size: z.size.clone(), mesh: Arc::new(mesh), frame });
        }
    }
    Ok(out)
}

/// A shell size's own cup (a catalog series with `frames`): the planner scores that size on this
/// mesh instead of the catalog's liner ([`SimScorer::with_user_cups`]).
#[derive(Debug, Clone)]
pub struct UserCupSize {
    /// The shell size, mm.
    pub outer_diameter_mm: f64,
    /// The STL, in the frame file's coordinates (mm).
    pub mesh: Arc<Mesh>,
    /// Its frame file, validated.
    pub frame: coxa_implants::UserGeometry,
}

/// The shell sizes of `catalog` that carry their own cup (`frames`), each frame checked and its
/// STL read with `read_mesh` (the caller's mesh reader).
///
/// # Errors
/// A frame or mesh that cannot be read, naming the series and size.
pub fn user_cup_sizes(catalog: &Catalog, read_mesh: impl Fn(&std::path::Path) -> Result<Mesh, String>) -> Result<Vec<UserCupSize>, ScoreError> {
    let mut out = Vec::new();
    for fam in &catalog.shells {
        for z in &fam.frames {
            let what = |why: String| ScoreError::new(format!("shell {:?} size {} mm: {why}", fam.name, z.outer_diameter_mm));
            let frame = coxa_implants::user::check_cup_frame(&z.frame, z.outer_diameter_mm - 2.0 * fam.wall_thickness_mm).map_err(what)?;
            let mesh = read_mesh(&frame.mesh_path).map_err(what)?;
            out.push(UserCupSize { outer_diameter_mm: z.outer_diameter_mm, mesh: Arc::new(mesh), frame });
        }
    }
    Ok(out)
}

/// The simulator as a [`RomScorer`]: implants alone, or implants with bones.
#[derive(Debug)]
pub struct SimScorer {
    catalog: Catalog,
    frame: PelvicFrame,
    femoral: Option<FemoralFrame>,
    bones: Option<ScorerBones>,
    cache: Mutex<BoneCache>,
    user_stems: Vec<UserStemSize>,
    /// The prepared user stems by index in `user_stems` and head radius bits.
    prepared_stems: Mutex<BTreeMap<(usize, u64), Arc<UserStem>>>,
    user_cups: Vec<UserCupSize>,
    /// The prepared user cups by index in `user_cups`.
    prepared_cups: Mutex<BTreeMap<usize, Arc<UserCup>>>,
}

impl SimScorer {
    /// Implants alone in `frame` (the pelvic frame); the stem sits in `femoral` (default: parallel
    /// to LPS with the shaft along +z).
    pub fn implants_only(catalog: Catalog, frame: PelvicFrame, femoral: Option<FemoralFrame>) -> Self {
        Self {
            catalog,
            frame,
            femoral,
            bones: None,
            cache: Mutex::new(BoneCache::default()),
            user_stems: Vec::new(),
            prepared_stems: Mutex::default(),
            user_cups: Vec::new(),
            prepared_cups: Mutex::default(),
        }
    }
    /// Implants with bones in `frame` (the pelvic frame of the pelvis the bones belong to).
    pub fn with_bones(catalog: Catalog, frame: PelvicFrame, bones: ScorerBones) -> Self {
        Self {
            catalog,
            frame,
            femoral: None,
            bones: Some(bones),
            cache: Mutex::new(BoneCache::default()),
            user_stems: Vec::new(),
            prepared_stems: Mutex::default(),
            user_cups: Vec::new(),
            prepared_cups: Mutex::default(),
        }
    }
    /// Stem sizes with their own geometry: a candidate with one of them collides its mesh
    /// (through [`UserStem`], prepared once per head size), not the catalog's neck.
    #[must_use]
    pub fn with_user_stems(mut self, stems: Vec<UserStemSize>) -> Self {
        self.user_stems = stems;
        self
    }
    /// Shell sizes with their own cup: a candidate with one of them collides its mesh (through
    /// [`UserCup`], prepared once per size), not the catalog's liner.
    #[must_use]
    pub fn with_user_cups(mut self, cups: Vec<UserCupSize>) -> Self {
        self.user_cups = cups;
        self
    }
    /// The user geometry of a placement's cup, if its shell size has one.
    pub fn user_cup(&self, p: &ImplantPlacement) -> Result<Option<Arc<UserCup>>, ScoreError> {
        let Some(i) = self.user_cups.iter().position(|u| (u.outer_diameter_mm - p.shell_outer_diameter_mm).abs() < 1e-9) else { return Ok(None) };
        let u = &self.user_cups[i];
        if (u.frame.diameter_mm - p.head_diameter_mm).abs() > 1e-6 {
            return Err(ScoreError::new(format!(
                "the {} mm shell's own cup bears a {} mm head, not {} mm: a head of its bearing diameter only",
                u.outer_diameter_mm, u.frame.diameter_mm, p.head_diameter_mm
            )));
        }
        let poisoned = || ScoreError::new("the user cup cache was poisoned by a panic in another thread");
        if let Some(c) = self.prepared_cups.lock().map_err(|_| poisoned())?.get(&i) {
            return Ok(Some(c.clone()));
        }
        let cup = UserCup::shared(&u.mesh, &u.frame).map_err(ScoreError::caused_by)?;
        self.prepared_cups.lock().map_err(|_| poisoned())?.insert(i, cup.clone());
        Ok(Some(cup))
    }
    /// The user geometry of a placement's stem, if its size has one.
    pub fn user_stem(&self, p: &ImplantPlacement) -> Result<Option<Arc<UserStem>>, ScoreError> {
        let Some(i) = self.user_stems.iter().position(|u| u.family == p.stem_family && u.size == p.stem_size) else { return Ok(None) };
        let head_r = p.head_diameter_mm / 2.0;
        let key = (i, head_r.to_bits());
        if let Some(s) = self.prepared_stems.lock().map_err(|_| ScoreError::new("the user stem cache was poisoned by a panic in another thread"))?.get(&key) {
            return Ok(Some(s.clone()));
        }
        let u = &self.user_stems[i];
        let stem = UserStem::shared(&u.mesh, &u.frame, head_r).map_err(ScoreError::caused_by)?;
        self.prepared_stems.lock().map_err(|_| ScoreError::new("the user stem cache was poisoned by a panic in another thread"))?.insert(key, stem.clone());
        Ok(Some(stem))
    }
    /// Pelvis distance fields held (one per shell size and cup centre; the costly part), at
    /// most the 16 most recently used.
    pub fn prepared_bones(&self) -> usize {
        self.cache.lock().map_or(0, |c| c.pelvis.len())
    }
    /// The construct of a placement, from the catalog.
    pub fn construct(&self, p: &ImplantPlacement) -> Result<Construct, ScoreError> {
        let err = |e: coxa_implants::ImplantError| ScoreError::caused_by(e);
        let spec = self.catalog.liner_spec(&p.liner).map_err(err)?;
        let shell = self.catalog.shell(p.shell_outer_diameter_mm).map_err(err)?;
        let liner = self.catalog.liner(spec, p.head_diameter_mm, &shell).map_err(err)?;
        let head = self.catalog.head(p.head_diameter_mm, p.head_offset_mm).map_err(err)?;
        let stem = self.catalog.stem(Some(&p.stem_family), &p.stem_size).map_err(err)?;
        Construct::new(shell, liner, head, stem).map_err(err)
    }
    /// The hip model of a placement (bones prepared or taken from the cache).
    pub fn model(&self, p: &ImplantPlacement) -> Result<HipModel, ScoreError> {
        let construct = self.construct(p)?;
        let mut builder = HipModel::builder(p.side, construct.clone()).cup(p.cup).stem_anteversion(p.stem_anteversion).pelvic_frame(self.frame).hip_centre_lps_mm(p.cup_centre_lps_mm);
        if let Some(f) = self.femoral {
            builder = builder.femoral_frame(f);
        }
        if let Some(stem) = self.user_stem(p)? {
            builder = builder.user_stem(stem);
        }
        if let Some(cup) = self.user_cup(p)? {
            builder = builder.user_cup(cup);
        }
        if let Some(b) = &self.bones {
            builder = builder.bones(self.bone_geometry(b, p, &construct)?);
        }
        builder.build().map_err(ScoreError::caused_by)
    }
    fn bone_geometry(&self, b: &ScorerBones, p: &ImplantPlacement, construct: &Construct) -> Result<Arc<BoneGeometry>, ScoreError> {
        let (c, h) = (p.cup_centre_lps_mm, p.head_centre_on_femur_lps_mm);
        let (pelvis_slot, femur_slot) = {
            let mut cache = self.cache.lock().map_err(|_| ScoreError::new("the bone cache was poisoned by a panic in another thread"))?;
            cache.slots([p.shell_outer_diameter_mm, c.x, c.y, c.z].map(f64::to_bits), [h.x, h.y, h.z, construct.neck().end_mm].map(f64::to_bits))
        };
        // Before a part is prepared, what BoneGeometry::new checks first (the options, the centre,
        // the femur's frame), so that errors come in its order; a candidate whose parts are both
        // cached (the planner's hot path) skips it.
        if pelvis_slot.get().is_none() || femur_slot.get().is_none() {
            BoneGeometry::check(&b.femur_landmarks, c, &b.options).map_err(ScoreError::caused_by)?;
        }
        let pelvis =
            pelvis_slot.get_or_init(|| PelvisBone::new(&b.pelvis, &self.frame, c, construct.shell.outer_diameter_mm / 2.0, &b.options).map(Arc::new).map_err(ScoreError::caused_by)).clone()?;
        let femur = femur_slot
            .get_or_init(|| {
                // Translate the femur so that the prosthetic head centre takes the native head's place.
                let shift = h - b.femur_landmarks.head_centre.lps_mm;
                let femur = b.femur.transformed(&Matrix4::new_translation(&-shift));
                FemurBone::new(&femur, &b.femur_landmarks, b.options.neck_cut_mm.unwrap_or(construct.neck().end_mm), &b.options).map(Arc::new).map_err(ScoreError::caused_by)
            })
            .clone()?;
        Ok(Arc::new(BoneGeometry::from_parts(pelvis, femur)))
    }
}

fn posture(p: Posture) -> PlanPosture {
    match p {
        Posture::Standing => PlanPosture::Standing,
        Posture::Sitting => PlanPosture::Sitting,
    }
}

fn contact_kind(k: ContactKind) -> FirstContact {
    match k {
        ContactKind::ImplantImplant => FirstContact::ImplantImplant,
        ContactKind::BoneBone => FirstContact::BoneBone,
        ContactKind::ImplantBone => FirstContact::ImplantBone,
    }
}

/// Sweep options for a resolution: bisection to `resolution_deg`, coarse steps of 8 resolutions
/// (2 deg at the simulator's default 0.05 deg tolerance, at most 4 deg).
fn sweep_options(resolution_deg: f64) -> SweepOptions {
    if resolution_deg <= 0.05 + 1e-12 {
        return SweepOptions::default();
    }
    SweepOptions { coarse_step_deg: (8.0 * resolution_deg).clamp(2.0, 4.0), tolerance_deg: resolution_deg }
}

impl RomScorer for SimScorer {
    fn motions(&self) -> Vec<MotionInfo> {
        let daily: Vec<&str> = rom::daily_life_motions().iter().map(|m| m.name).collect();
        rom::all_motions().into_iter().map(|m| MotionInfo { name: m.name.to_string(), posture: posture(m.posture), required_deg: m.required_deg, daily_life: daily.contains(&m.name) }).collect()
    }

    fn score(&self, p: &ImplantPlacement, q: &RomQuery) -> Result<RomScore, ScoreError> {
        if !(q.resolution_deg.is_finite() && q.resolution_deg > 0.0) {
            return Err(ScoreError::new(format!("resolution_deg = {} must be a finite number > 0", q.resolution_deg)));
        }
        let all = rom::all_motions();
        let motions: Vec<Motion> = q
            .motions
            .iter()
            .map(|n| {
                let mut m =
                    all.iter().find(|m| m.name == n).cloned().ok_or_else(|| ScoreError::new(format!("unknown motion {n:?}; known: {}", all.iter().map(|m| m.name).collect::<Vec<_>>().join(", "))))?;
                // Stop `margin_cap_deg` past the requirement (driven angle = base + alpha).
                if let (Some(cap), Some(req)) = (q.margin_cap_deg, m.required_deg) {
                    let alpha = req + cap - m.driven_deg(0.0);
                    m.max_deg = m.max_deg.min(alpha.max(0.0));
                }
                Ok(m)
            })
            .collect::<Result<_, ScoreError>>()?;
        let model = self.model(p)?;
        let tilts = PelvicTilts { standing: q.tilts.standing, sitting: q.tilts.sitting };
        let opts = sweep_options(q.resolution_deg);
        let motions = motions
            .iter()
            .map(|m| {
                let l = rom::sweep(&model, m, &tilts, &opts);
                MotionScore {
                    name: l.name.to_string(),
                    posture: posture(l.posture),
                    pelvic_tilt_deg: l.pelvic_tilt_deg,
                    limit_deg: l.limit_deg,
                    required_deg: l.required_deg,
                    start_in_contact: l.start_in_contact,
                    contact: l.contact.map(|c| contact_kind(c.kind)),
                    contact_parts: l.contact.map(|c| c.parts.to_string()),
                    contact_point_lps_mm: l.contact.map(|c| point(&c.point_lps_mm)),
                    contact_femur_point_lps_mm: l.contact.map(|c| point(&c.femur_point_lps_mm(&model, &p.head_centre_on_femur_lps_mm))),
                }
            })
            .collect();
        Ok(RomScore { motions })
    }
}

fn point(p: &Point3<f64>) -> [f64; 3] {
    [p.x, p.y, p.z]
}

#[cfg(test)]
mod tests {
    use super::*;
    use coxa_core::{Angle, CupAngleDefinition, CupAngles, PostureTilts, Side};

    fn placement(inc: f64, av: f64) -> ImplantPlacement {
        ImplantPlacement {
            side: Side::Right,
            cup: CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(inc), anteversion: Angle::from_deg(av) },
            cup_centre_lps_mm: Point3::origin(),
            shell_outer_diameter_mm: 52.0,
            liner: "neutral".into(),
            head_diameter_mm: 32.0,
            head_offset_mm: 0.0,
            stem_family: "taper-wedge stem, standard offset".into(),
            stem_size: "3".into(),
            stem_anteversion: Angle::from_deg(15.0),
            head_centre_on_femur_lps_mm: Point3::origin(),
        }
    }

    /// The cache keeps the most recently used parts up to its caps and drops the oldest.
    #[test]
    fn bone_cache_drops_the_least_recently_used() {
        let mut cache = BoneCache::default();
        let key = |i: u64| [i, 0, 0, 0];
        let first = cache.slots(key(0), key(0)).0;
        for i in 1..BoneCache::PELVIS_CAP as u64 {
            _ = cache.slots(key(i), key(0));
        }
        // Key 0 used again, then one more: key 1, now the oldest, goes.
        assert!(Arc::ptr_eq(&first, &cache.slots(key(0), key(0)).0));
        _ = cache.slots(key(100), key(0));
        assert_eq!(cache.pelvis.len(), BoneCache::PELVIS_CAP);
        assert!(cache.pelvis.contains_key(&key(0)) && !cache.pelvis.contains_key(&key(1)) && cache.pelvis.contains_key(&key(2)));
        assert_eq!(cache.femur.len(), 1);
        for i in 0..200 {
            _ = cache.slots(key(1000 + i), key(i));
        }
        assert_eq!((cache.pelvis.len(), cache.femur.len()), (BoneCache::PELVIS_CAP, BoneCache::FEMUR_CAP));
    }

    /// The scorer gives what a direct sweep of the same hip model gives.
    #[test]
    fn scorer_matches_a_direct_sweep() {
        let s = SimScorer::implants_only(Catalog::builtin().unwrap(), PelvicFrame::aligned_with_lps(Point3::origin()), None);
        let names: Vec<String> = s.motions().iter().map(|m| m.name.clone()).collect();
        assert!(names.iter().any(|n| n == "posterior_dislocation") && names.iter().any(|n| n == "flexion"));
        let q = RomQuery { motions: names.clone(), tilts: PostureTilts::default(), resolution_deg: 0.05, margin_cap_deg: None };
        let p = placement(40.0, 20.0);
        let got = s.score(&p, &q).unwrap();
        let model = s.model(&p).unwrap();
        let direct = rom::report(&model, &rom::all_motions(), &PelvicTilts::default(), &SweepOptions::default());
        for (a, b) in got.motions.iter().zip(&direct.motions) {
            assert_eq!(a.name, b.name);
            assert_eq!(a.limit_deg, b.limit_deg, "{}", a.name);
        }
        // A capped sweep stops past the requirement without contact.
        let capped = s.score(&p, &RomQuery { margin_cap_deg: Some(5.0), ..q.clone() }).unwrap();
        for m in capped.motions.iter().filter(|m| m.required_deg.is_some()) {
            let full = got.motions.iter().find(|x| x.name == m.name).unwrap();
            assert!(m.limit_deg <= full.limit_deg + 1e-9, "{}", m.name);
        }
    }

    #[test]
    fn bad_candidates_are_errors_not_panics() {
        let s = SimScorer::implants_only(Catalog::builtin().unwrap(), PelvicFrame::aligned_with_lps(Point3::origin()), None);
        let q = RomQuery { motions: vec!["flexion".into()], tilts: PostureTilts::default(), resolution_deg: 0.5, margin_cap_deg: None };
        let mut p = placement(40.0, 20.0);
        p.head_diameter_mm = 30.0;
        assert!(s.score(&p, &q).unwrap_err().message.contains("head"));
        let mut p = placement(f64::NAN, 20.0);
        p.head_diameter_mm = 32.0;
        assert!(s.score(&p, &q).is_err());
        assert!(s.score(&placement(40.0, 20.0), &RomQuery { motions: vec!["moonwalk".into()], ..q.clone() }).unwrap_err().message.contains("moonwalk"));
        assert!(s.score(&placement(40.0, 20.0), &RomQuery { resolution_deg: f64::NAN, ..q }).is_err());
    }
}
