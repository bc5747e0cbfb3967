//! Save: the surgeon's plan written into the case as a new revision.
//!
//! - `plan.json` becomes the revision: the automatic plan's record with the surgeon's choices
//!   (implant sizes, cup angles in every definition, cup centre, head, stem version), the
//!   simulator's ROM table of that placement, leg length and offset, and a `revision` block:
//!   its number, the time (UTC, RFC 3339), what changed and the effect on ROM, leg length and
//!   offset, all relative to `plans/automatic.json`.
//! - Every earlier plan stays in `plans/`: the automatic one as `plans/automatic.json` (byte for
//!   byte the plan.json it was), revision N as `plans/revision-N.json`.
//! - `implants/*.stl` become the revision's; the rest that follows from the plan (report,
//!   pictures, manifest) is rewritten by a [`SaveHook`] the host program supplies (the viewer
//!   has no report writer of its own).
//! - A case folder changed on disk since the viewer opened it (or since its last save) is never
//!   written: [`CaseStamp`] holds the SHA-256 of every file the case's `manifest.json` lists (the
//!   bones, `inputs.json`, ... that the report is drawn from) and of the files a save replaces,
//!   compared first (issue 61: only five files were watched).
//! - The revision's values are checked against the plan's ranges (`coxa_core::plan_ranges`, as
//!   `coxa rom` and the scenarios check theirs) and `plan.json` against the plan record before
//!   anything is written.
//! - The case is replaced whole or not at all ([`crate::case_swap`]): the new case is built in a
//!   temporary folder beside it (plan.json, the kept plan, the implants, then the [`SaveHook`]'s
//!   files), then the two are swapped in one step. A save that fails (the hook, a full disk, an
//!   I/O error) leaves the case byte for byte as it was; one killed leaves the old case or the
//!   new one, whole.
//!
//! Coverage and the medial wall are measured again for the surgeon's cup on the planner's own
//! bone columns (the live model's [`Evaluation::bone`]); a new stem size writes its label and
//! offset. The objective, the Pareto front and the sizing tables (cup and stem sizes around the
//! automatic choice) stay the automatic plan's: the revision's notes say so when the surgeon
//! changed the cup or the stem size.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use coxa_core::{CupAngleDefinition, CupAngles};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::ViewError;
use crate::live::{Controls, Evaluation};
use crate::script::Control;

/// Files a save replaces or depends on, besides those the case's manifest lists: a change to
/// any of them since the case was opened stops the save.
const WATCHED: [&str; 5] = ["plan.json", "manifest.json", "report.json", "model.json", "plans/automatic.json"];

/// What the host program rewrites after plan.json and the implants: `(folder, the new
/// plan.json)` -> the files it rewrote (relative), or why not (one line). The folder is the new
/// case being built ([`crate::case_swap`]), not the live one: the hook reads the case there and
/// writes there, replacing a file only by renaming a new one over it (the folder's files are
/// hard links to the live case's).
/// The third argument is the desk's evaluation of the surgeon's choices (its placement names the
/// catalog's implants, its controls the cup angles and shift): a host that can plan the case
/// again (a case `coxa plan` wrote, with its `request.json`) plans it with these choices fixed and
/// writes that plan, `plan.json` included (the second argument's `revision` block added).
pub type SaveFn = dyn Fn(&Path, &Value, &Evaluation) -> Result<Vec<String>, String> + Send + Sync;

pub use crate::case::AUTOMATIC_MODEL;

/// The host program's part of a save (see [`SaveFn`]).
#[derive(Clone)]
pub struct SaveHook(pub Arc<SaveFn>);

impl std::fmt::Debug for SaveHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SaveHook")
    }
}

/// The SHA-256 of the case's watched files (absent: `None`): [`WATCHED`] and every file its
/// `manifest.json` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseStamp(Vec<(String, Option<[u8; 32]>)>);

/// The files `dir/manifest.json` lists (relative, inside the case; none when it has no readable
/// manifest: the manifest itself is watched).
fn manifest_files(dir: &Path) -> Vec<String> {
    let Ok(text) = coxa_io::read_text_bounded(&dir.join("manifest.json"), coxa_io::Bound::TEXT) else { return Vec::new() };
    let v: Value = serde_json::from_str(&text).unwrap_or_default();
    let files = v["files"].as_array().cloned().unwrap_or_default();
    files.iter().filter_map(|f| f["path"].as_str()).filter(|p| !p.is_empty() && !p.starts_with('/') && p.split('/').all(|c| !c.is_empty() && c != ".." && c != ".")).map(str::to_string).collect()
}

fn sha256_file(path: &Path) -> Result<Option<[u8; 32]>, ViewError> {
    use std::io::Read;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ViewError::CaseRead { path: path.to_path_buf(), source }),
    };
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|source| ViewError::CaseRead { path: path.to_path_buf(), source })?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(Some(h.finalize().into()))
}

impl CaseStamp {
    /// Hashes the watched files of `dir`.
    ///
    /// # Errors
    /// A watched file that exists but cannot be read.
    pub fn take(dir: &Path) -> Result<Self, ViewError> {
        let mut names: Vec<String> = WATCHED.iter().map(|s| (*s).to_string()).collect();
        for f in manifest_files(dir) {
            if !names.contains(&f) {
                names.push(f);
            }
        }
        names.into_iter().map(|name| sha256_file(&dir.join(&name)).map(|h| (name, h))).collect::<Result<_, _>>().map(Self)
    }

    /// The first watched file of `dir` that differs from this stamp (or that the manifest lists
    /// now and did not then).
    ///
    /// # Errors
    /// As [`CaseStamp::take`].
    pub fn changed(&self, dir: &Path) -> Result<Option<String>, ViewError> {
        let now = Self::take(dir)?;
        for (name, h) in &now.0 {
            match self.0.iter().find(|(n, _)| n == name) {
                Some((_, was)) if was == h => {}
                _ => return Ok(Some(name.clone())),
            }
        }
        Ok(self.0.iter().find(|(n, _)| !now.0.iter().any(|(m, _)| m == n)).map(|(n, _)| n.clone()))
    }

    /// How many files it watches.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it watches nothing (never: [`WATCHED`] is always there).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a save did.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    /// The revision number written.
    pub number: u64,
    /// Files written (relative to the case folder).
    pub files: Vec<String>,
    /// The stamp of the case after the save (the next save compares against it).
    pub stamp: CaseStamp,
}

/// Writes `bytes` as `path` in the folder being built: a new file renamed over the name (the
/// name may be a hard link to the live case's file, which is never opened for writing).
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<(), ViewError> {
    let io = |source: std::io::Error| ViewError::CaseRead { path: path.to_path_buf(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let name = path.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// Whether `rel` of the case `dir` may take `bytes`: absent (it is written), or holding them
/// already; a different file there is an error (an earlier plan is never overwritten).
fn keep_needed(dir: &Path, rel: &str, bytes: &[u8]) -> Result<bool, ViewError> {
    let path = dir.join(rel);
    match std::fs::read(&path) {
        Ok(old) if old == bytes => Ok(false),
        Ok(_) => Err(ViewError::Save { why: format!("{} exists and differs from the plan.json it should keep; nothing was saved: move it away, then save again", path.display()) }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(source) => Err(ViewError::CaseRead { path, source }),
    }
}

fn r2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn r4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

fn p2(p: &nalgebra::Point3<f64>) -> [f64; 3] {
    [r2(p.x), r2(p.y), r2(p.z)]
}

/// The cup angles of `c` in the three definitions, as plan.json's `cup.angles_deg`.
fn angles_json(c: &Controls, side: coxa_core::Side) -> Value {
    let radio =
        CupAngles { definition: CupAngleDefinition::Radiographic, inclination: coxa_core::Angle::from_deg(c.cup_inclination_deg), anteversion: coxa_core::Angle::from_deg(c.cup_anteversion_deg) };
    definitions_json(&radio, side)
}

/// An orientation in the three definitions, as plan.json writes them.
fn definitions_json(radio: &CupAngles, side: coxa_core::Side) -> Value {
    let pair = |d: CupAngleDefinition| {
        let a = radio.to_definition(d, side);
        json!({"anteversion_deg": r2(a.anteversion.deg()), "inclination_deg": r2(a.inclination.deg())})
    };
    json!({"anatomic": pair(CupAngleDefinition::Anatomic), "operative": pair(CupAngleDefinition::Operative), "radiographic": pair(CupAngleDefinition::Radiographic)})
}

/// The automatic plan's record `auto` with the placement, ROM, leg length and offset of `e`.
pub fn revised_plan(auto: &Value, automatic: &Evaluation, e: &Evaluation) -> Value {
    let mut v = auto.clone();
    let p = &e.placement;
    let set = |v: &mut Value, path: &[&str], x: Value| {
        let mut cur = v;
        for k in &path[..path.len() - 1] {
            cur = &mut cur[*k];
        }
        if cur.is_object() {
            cur[path[path.len() - 1]] = x;
        }
    };
    set(&mut v, &["cup", "angles_deg"], angles_json(&e.controls, p.side));
    for (key, tilt) in [("functional_standing_deg", e.tilts.standing), ("functional_sitting_deg", e.tilts.sitting)] {
        set(&mut v, &["cup", key], definitions_json(&e.model.functional_cup_angles(tilt, CupAngleDefinition::Radiographic), p.side));
    }
    set(&mut v, &["cup", "outer_diameter_mm"], json!(p.shell_outer_diameter_mm));
    set(&mut v, &["cup", "centre_lps_mm"], json!(p2(&p.cup_centre_lps_mm)));
    let frame = e.model.pelvic_frame();
    let v4 = |a: nalgebra::Vector3<f64>| json!([r4(a.x), r4(a.y), r4(a.z)]);
    let axis_pelvic = p.cup.axis(p.side);
    set(&mut v, &["cup", "axis_pelvic"], v4(axis_pelvic));
    set(&mut v, &["cup", "axis_lps"], v4(frame.vector_to_lps(&axis_pelvic)));
    set(&mut v, &["cup", "centre_pelvic_mm"], json!(p2(&frame.point_to_pelvic(&p.cup_centre_lps_mm))));
    set(&mut v, &["head", "diameter_mm"], json!(p.head_diameter_mm));
    set(&mut v, &["head", "neck_length_offset_mm"], json!(p.head_offset_mm));
    set(&mut v, &["head", "centre_lps_mm"], json!(p2(&p.cup_centre_lps_mm)));
    set(&mut v, &["head", "centre_on_femur_lps_mm"], json!(p2(&p.head_centre_on_femur_lps_mm)));
    set(&mut v, &["stem", "anteversion_deg"], json!(r2(p.stem_anteversion.deg())));
    if p.stem_size != automatic.placement.stem_size {
        set(&mut v, &["stem", "size"], json!(p.stem_size));
        if let Some(o) = e.stem_offset_mm {
            set(&mut v, &["stem", "offset_mm"], json!(o));
        }
        if let Some(options) = v["stem"]["size_options"].as_array_mut() {
            for o in options {
                let chosen = o["size"].as_str() == Some(p.stem_size.as_str());
                o["chosen"] = json!(chosen);
            }
        }
    }
    if let Some(b) = &e.bone {
        set(&mut v, &["cup", "coverage"], json!(r4(b.coverage)));
        set(&mut v, &["cup", "reference_coverage_40_15"], json!(r4(b.reference_coverage)));
        set(&mut v, &["cup", "medial_wall_mm"], json!(r2(b.medial_wall_mm)));
    }
    // Leg length and offset: the automatic plan's values moved by the change the surgeon made
    // (the planner's own reference stays).
    let moved = |v: &Value, key: &str, d: f64| v[key].as_f64().map(|x| json!(r2(x + d)));
    for (key, d) in [("leg_length_change_mm", e.leg_length_change_mm - automatic.leg_length_change_mm), ("offset_change_mm", e.offset_change_mm - automatic.offset_change_mm)] {
        if let Some(x) = moved(&v, key, d) {
            v[key] = x;
        }
    }
    // Combined anteversion, Widmer's as `plan.json` defines it, from the revision's own cup and
    // stem through the one function (issue 60: it was the automatic value moved by 1.0 x the
    // stem change).
    let combined = e.combined_anteversion().widmer_deg;
    set(&mut v, &["combined_anteversion_deg"], json!(r2(combined)));
    set(&mut v, &["objective", "combined_anteversion_deg"], json!(r4(combined)));
    if let Some(motions) = v["motions"].as_array_mut() {
        for m in motions {
            let Some(i) = e.limits.iter().position(|l| Some(l.name) == m["name"].as_str()) else { continue };
            let l = &e.limits[i];
            m["limit_deg"] = json!((l.limit_deg * 10.0).round() / 10.0);
            m["contact"] = json!(l.contact.as_ref().map_or("none", |c| c.kind.as_str()));
            m["parts"] = l.contact.as_ref().map_or(Value::Null, |c| json!(c.parts));
            m["contact_point_lps_mm"] = l.contact.as_ref().map_or(Value::Null, |c| json!(p2(&c.point_lps_mm)));
            m["start_in_contact"] = json!(l.start_in_contact);
            // As plan.json writes it: absent when nothing is named.
            match e.structures.get(i).cloned().flatten() {
                Some(s) => m["structures"] = json!(s),
                None => {
                    if let Some(o) = m.as_object_mut() {
                        o.remove("structures");
                    }
                }
            }
            m["margin_deg"] = l.required_deg.map_or(Value::Null, |r| json!(((l.limit_deg - r) * 10.0).round() / 10.0));
        }
    }
    v
}

/// The `revision` block of revision `number`: what changed from the automatic plan and its
/// effect.
pub fn revision_block(number: u64, automatic: &Evaluation, e: &Evaluation) -> Value {
    let changed: Vec<Value> = Control::ALL
        .into_iter()
        .filter(|c| (c.get(&e.controls) - c.get(&automatic.controls)).abs() > 1e-9)
        // Unrounded: the viewer opened again restores exactly these controls.
        .map(|c| match c {
            // The labels too: the value is a number for the controls, the label what a catalog names.
            Control::StemSize => {
                json!({"field": c.name(), "from": c.get(&automatic.controls), "to": c.get(&e.controls), "from_label": automatic.placement.stem_size, "to_label": e.placement.stem_size})
            }
            _ => json!({"field": c.name(), "from": c.get(&automatic.controls), "to": c.get(&e.controls)}),
        })
        .collect();
    let rom: Vec<Value> = e
        .limits
        .iter()
        .filter_map(|l| {
            let a = automatic.limits.iter().find(|m| m.name == l.name)?;
            Some(json!({"motion": l.name, "from_deg": (a.limit_deg * 10.0).round() / 10.0, "to_deg": (l.limit_deg * 10.0).round() / 10.0, "change_deg": ((l.limit_deg - a.limit_deg) * 10.0).round() / 10.0}))
        })
        .collect();
    json!({
        "number": number,
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "relative_to": "plans/automatic.json",
        "by": "coxa view (the surgeon's choice)",
        "oscillation_angle_deg": r2(e.oscillation_angle_deg),
        "changed": changed,
        // Values outside their documented ranges, as the desk showed them (issue 60).
        "warnings": e.warnings(),
        "effect": {
            "rom": rom,
            "coverage": e.bone.zip(automatic.bone).map(|(b, a)| json!({"from": r4(a.coverage), "to": r4(b.coverage), "change": r4(b.coverage - a.coverage)})),
            "medial_wall_mm": e.bone.zip(automatic.bone).map(|(b, a)| json!({"from": r2(a.medial_wall_mm), "to": r2(b.medial_wall_mm), "change": r2(b.medial_wall_mm - a.medial_wall_mm)})),
            "leg_length_change_mm": r2(e.leg_length_change_mm - automatic.leg_length_change_mm),
            "offset_change_mm": r2(e.offset_change_mm - automatic.offset_change_mm),
        },
    })
}

/// Saves `e` into the case folder `dir` as a new plan revision (see the module docs), unless the
/// case changed on disk since `stamp`.
///
/// # Errors
/// [`ViewError::Changed`] when the case changed on disk; [`ViewError::Save`] for a control out
/// of the plan's ranges, a revision that is not a plan record, a case without plan.json, an
/// earlier plan in the way, a leftover of another save, the hook's reason; I/O errors naming the
/// file. The case is then as it was.
pub fn save(dir: &Path, stamp: &CaseStamp, automatic: &Evaluation, e: &Evaluation, hook: Option<&SaveHook>) -> Result<Saved, ViewError> {
    // The plan's ranges, as `coxa rom` and the scenarios check them.
    Control::check_all(&e.controls).map_err(|why| ViewError::Save { why: format!("{why}; nothing was saved") })?;
    crate::case_swap::clean_leftovers(dir)?;
    if let Some(file) = stamp.changed(dir)? {
        return Err(ViewError::Changed { path: dir.join(file) });
    }
    let plan_path = dir.join("plan.json");
    let bytes = match coxa_io::read_bounded(&plan_path, coxa_io::Bound::TEXT) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ViewError::Save { why: format!("{} has no plan.json: Save writes a revision of a planned case (coxa run, coxa demo or coxa plan)", dir.display()) });
        }
        Err(source) => return Err(ViewError::CaseRead { path: plan_path, source }),
    };
    let current: Value = serde_json::from_slice(&bytes).map_err(|source| ViewError::CaseJson { path: plan_path.clone(), source })?;
    // Issue 60: a save that changes nothing would add a revision equal to the plan it replaces.
    if controls_of(&current, &automatic.controls) == e.controls {
        return Err(ViewError::Save { why: "nothing changed since the case's current plan (plan.json), so there is no revision to save; nothing was saved".into() });
    }
    // The plan being replaced goes into plans/.
    let previous = current["revision"]["number"].as_u64();
    let kept = match previous {
        None => "plans/automatic.json".to_string(),
        Some(n) => format!("plans/revision-{n}.json"),
    };
    let keep = keep_needed(dir, &kept, &bytes)?;
    let auto_path = dir.join("plans").join("automatic.json");
    let auto: Value = if previous.is_none() {
        current.clone()
    } else {
        let b = coxa_io::read_bounded(&auto_path, coxa_io::Bound::TEXT).map_err(|source| ViewError::CaseRead { path: auto_path.clone(), source })?;
        serde_json::from_slice(&b).map_err(|source| ViewError::CaseJson { path: auto_path.clone(), source })?
    };
    let number = previous.map_or(1, |n| n + 1);
    let mut plan = revised_plan(&auto, automatic, e);
    plan["revision"] = revision_block(number, automatic, e);
    if let Some(notes) = plan["notes"].as_array_mut() {
        let cup = [Control::CupInclination, Control::CupAnteversion, Control::CupSize, Control::CupShiftMedial, Control::CupShiftSuperior, Control::CupShiftAnterior];
        let changed = |k: &Control| (k.get(&e.controls) - k.get(&automatic.controls)).abs() > 1e-9;
        if cup.iter().any(changed) {
            notes.push(json!(format!(
                "revision {number}: the surgeon changed the cup in coxa view; coverage and medial wall are measured for the new cup, the cup sizing table, the objective and the Pareto front are the automatic plan's"
            )));
        }
        if changed(&Control::StemSize) {
            notes.push(json!(format!(
                "revision {number}: the surgeon chose stem size {} in coxa view (the rule's size was {}); the canal fill of the sizing table is the automatic plan's measure",
                e.placement.stem_size, automatic.placement.stem_size
            )));
        }
    }
    // The revision is a plan record of this coxa, in the plan's ranges, before anything is written.
    let record: coxa_core::PlanRecord = serde_json::from_value(plan.clone())
        .map_err(|err| ViewError::Save { why: format!("the revision of {} is not a plan record of this coxa ({err}); nothing was saved: run the case again", plan_path.display()) })?;
    coxa_core::plan_ranges::check_plan(&record).map_err(|(field, err)| ViewError::Save { why: format!("the revision's {field}: {err}; nothing was saved") })?;
    let text = serde_json::to_string_pretty(&plan).map_err(|e| ViewError::Save { why: format!("plan.json cannot be written: {e}") })?;

    // Everything is written into the new case beside the live one, then swapped in.
    let staging = crate::case_swap::Staging::begin(dir)?;
    let new = staging.path().to_path_buf();
    let mut files = Vec::new();
    if keep {
        write_replacing(&new.join(&kept), &bytes)?;
        files.push(kept);
    }
    for (name, mesh) in &e.implants {
        let rel = format!("implants/{name}.stl");
        let path = new.join(&rel);
        let tmp = path.with_file_name(format!(".{name}.tmp-{}.stl", std::process::id()));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ViewError::CaseRead { path: parent.to_path_buf(), source })?;
        }
        coxa_io::mesh::write_mesh(mesh, &tmp)?;
        std::fs::rename(&tmp, &path).map_err(|source| ViewError::CaseRead { path: path.clone(), source })?;
        files.push(rel);
    }
    write_replacing(&new.join("plan.json"), text.as_bytes())?;
    files.push("plan.json".into());
    crate::case_swap::test_point("written")?;
    if let Some(hook) = hook {
        // Its reason names the case's files, not the temporary folder's.
        let named = |why: String| why.replace(&new.display().to_string(), &std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()).display().to_string());
        files.extend((hook.0)(&new, &plan, e).map_err(|why| ViewError::Save { why: format!("{}; nothing was saved", named(why)) })?);
    }
    crate::case_swap::test_point("hooked")?;
    staging.commit()?;
    Ok(Saved { number, files, stamp: CaseStamp::take(dir)? })
}

/// The controls of the case's current plan: `automatic` with the changes of plan.json's
/// `revision` block applied (unchanged when plan.json is the automatic plan).
pub fn current_controls(dir: &Path, automatic: &Controls) -> Controls {
    let plan: Option<Value> = std::fs::read(dir.join("plan.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
    plan.map_or(*automatic, |p| controls_of(&p, automatic))
}

/// The controls of the plan record `plan`: `automatic` with its `revision` block's changes applied.
fn controls_of(plan: &Value, automatic: &Controls) -> Controls {
    let mut c = *automatic;
    for ch in plan["revision"]["changed"].as_array().into_iter().flatten() {
        if let (Some(k), Some(to)) = (ch["field"].as_str().and_then(Control::parse), ch["to"].as_f64()) {
            c = k.set(&c, to);
        }
    }
    c
}

/// Where a revision is kept once replaced: `plans/revision-N.json`.
pub fn kept_revision(dir: &Path, number: u64) -> PathBuf {
    dir.join("plans").join(format!("revision-{number}.json"))
}
