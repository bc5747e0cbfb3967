//! `coxa hcf`: the hip contact force of one-leg stance or walking for a patient, from 3D Slicer
//! landmark files, in the OrthoLoad femoral frame (Bergmann 2016).
//!
//! ```text
//! coxa hcf --pelvis-landmarks P.fcsv --femur-landmarks F.fcsv --side L|R --body-weight-n 760
//!          --activity one-leg-stance|walking [--model gait2392.osim] [--json]
//!          [--offset-change-mm -5] [--leg-length-change-mm 4] [--cor-shift-mm 0,2,-3]
//!          [--export-osim planned.osim]
//! ```
//! With a plan (offset, leg length, centre-of-rotation shift) the force is that of the planned
//! hip, and the abductors' mean moment arm and maximum abduction moment are reported before and
//! after the plan; `--export-osim` writes the personalised model (scaled, plan applied on the
//! patient's side) for OpenSim.
//! The force is the one the acetabulum exerts on the femoral head, in % body weight, in the
//! femoral frame of the issue: origin at the head centre; `+z` from P2 (intercondylar notch) to
//! P1 (the neck-axis point nearest the shaft axis); `+y` anterior along `z x (MPC -> LPC)`;
//! `+x = y x z` (lateral for a right femur); a left femur is mirrored to a right one first.
//! The musculoskeletal model (an OpenSim .osim with gait2392's names, e.g.
//! `gait2392_thelen2003muscle.osim`) is `--model`, else `$COXA_OSIM_MODEL`, else the built-in
//! gait2392 (CC BY 3.0, `coxa_osim::embedded`); the output names the model that ran. It is scaled to the
//! patient first: the pelvis by the distance of the hip centres (HJC_L, HJC_R of the pelvis
//! landmarks), the femurs by the femur's length (HJC to the epicondyles' midpoint). The method
//! and the postures are in `coxa_sim::msk::hcf`.
//!
//! JSON: `{"hcf_percent_bw": [x, y, z], "magnitude_percent_bw": m, ...}`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use coxa_core::Side;
use coxa_sim::msk::hcf::{self, Activity};
use coxa_sim::msk::personalise;
use coxa_sim::msk::{FemurLandmarks, fcsv, length_mm_to_m, mm_to_m};

/// The activity of `coxa hcf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActivityArg {
    /// Static one-leg stance on the operated leg.
    OneLegStance,
    /// Level walking, the first peak of the hip force (quasi-static).
    Walking,
}

/// Arguments of `coxa hcf`.
#[derive(Debug, Clone, Args)]
pub struct HcfArgs {
    /// Pelvis landmarks, a 3D Slicer markups file (.fcsv, mm) with HJC_L and HJC_R.
    #[arg(long)]
    pub pelvis_landmarks: PathBuf,
    /// Femur landmarks (.fcsv, mm) with HJC, P1, P2, MPC, LPC, MEC, LEC (suffix _L/_R allowed).
    #[arg(long)]
    pub femur_landmarks: PathBuf,
    /// The femur's side: L or R.
    #[arg(long)]
    pub side: String,
    /// Body weight, N.
    #[arg(long)]
    pub body_weight_n: f64,
    /// The activity.
    #[arg(long, value_enum)]
    pub activity: ActivityArg,
    /// The OpenSim model (.osim, gait2392 names); default `$COXA_OSIM_MODEL`, else the built-in
    /// gait2392 (Delp et al. 1990, CC BY 3.0).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Planned change of femoral offset, mm (+: the femur moves laterally from the head centre).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub offset_change_mm: f64,
    /// Planned change of leg length, mm (+: longer leg).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub leg_length_change_mm: f64,
    /// Planned shift of the centre of rotation (cup centre) as ANTERIOR,SUPERIOR,LATERAL mm,
    /// e.g. 0,2,-3 for 2 mm up and 3 mm medial.
    #[arg(long, value_name = "A,S,L", allow_hyphen_values = true)]
    pub cor_shift_mm: Option<String>,
    /// Also write the personalised (scaled and planned) model as an OpenSim .osim file, with the
    /// plan on the patient's side; the file must not exist.
    #[arg(long)]
    pub export_osim: Option<PathBuf>,
    /// Also write every muscle's force as an OpenSim storage file (.sto: one row at time 0, N);
    /// the file must not exist.
    #[arg(long)]
    pub forces_sto: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn read_fcsv(path: &Path) -> Result<Vec<(String, nalgebra::Vector3<f64>)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read landmark file {}", path.display()))?;
    fcsv::parse_fcsv(&text).with_context(|| format!("{}", path.display()))
}

/// Computes the hip contact force; the JSON report.
pub fn run(args: &HcfArgs) -> Result<Value> {
    let side = match args.side.to_ascii_uppercase().as_str() {
        "L" | "LEFT" => Side::Left,
        "R" | "RIGHT" => Side::Right,
        s => bail!("--side {s}: use L or R"),
    };
    if !(args.body_weight_n.is_finite() && (100.0..5000.0).contains(&args.body_weight_n)) {
        bail!("--body-weight-n {}: give the body weight in newtons (100..5000), e.g. 760 for 77.5 kg", args.body_weight_n);
    }
    let model_path = match (&args.model, std::env::var_os("COXA_OSIM_MODEL")) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(p)) => Some(PathBuf::from(p)),
        (None, None) => None,
    };
    let pelvis = read_fcsv(&args.pelvis_landmarks)?;
    let find = |name: &str| pelvis.iter().find(|(l, _)| l.eq_ignore_ascii_case(name)).map(|(_, p)| *p);
    let (Some(hl), Some(hr)) = (find("HJC_L"), find("HJC_R")) else {
        bail!("{}: the pelvis landmarks need HJC_L and HJC_R (both hip centres)", args.pelvis_landmarks.display());
    };
    let femur_points = read_fcsv(&args.femur_landmarks)?;
    crate::landmark_check::check(&pelvis, &femur_points, side).with_context(|| format!("{} with {}", args.pelvis_landmarks.display(), args.femur_landmarks.display()))?;
    // The landmarks are checked before the (larger) model is read.
    let loaded = crate::msk_stage::LoadedModel::load(model_path.as_deref())?;
    let model = &loaded.model;
    let femur = FemurLandmarks::from_labels(&femur_points, side).with_context(|| format!("{}", args.femur_landmarks.display()))?;
    let activity = match args.activity {
        ActivityArg::OneLegStance => Activity::OneLegStance,
        ActivityArg::Walking => Activity::Walking,
    };
    // The model scaled to the patient: pelvis by the hip centres' distance, femurs by length.
    let factors = personalise::landmark_scale_factors(model, (hl - hr).norm(), &femur)?;
    let refs: Vec<(&str, nalgebra::Vector3<f64>)> = factors.iter().map(|(b, f)| (b.as_str(), *f)).collect();
    let scaled = personalise::scale_bodies(model, &refs)?;
    // The plan: on the model's right leg (where the force is computed; a left femur is
    // mirrored) and, for the export, on the patient's side.
    for (what, v) in [("--offset-change-mm", args.offset_change_mm), ("--leg-length-change-mm", args.leg_length_change_mm)] {
        if !(v.is_finite() && v.abs() <= 40.0) {
            bail!("{what} {v}: give a change within -40..40 mm");
        }
    }
    let cor = match &args.cor_shift_mm {
        None => [0.0; 3],
        Some(t) => {
            let v: Vec<f64> =
                t.split(',').map(|x| x.trim().parse::<f64>()).collect::<Result<_, _>>().with_context(|| format!("--cor-shift-mm {t}: write ANTERIOR,SUPERIOR,LATERAL in mm, e.g. 0,2,-3"))?;
            if v.len() != 3 || v.iter().any(|x| !(x.is_finite() && x.abs() <= 40.0)) {
                bail!("--cor-shift-mm {t}: three numbers within -40..40 mm, e.g. 0,2,-3");
            }
            [v[0], v[1], v[2]]
        }
    };
    let change_for = |lateral_sign: f64| personalise::ImplantChange {
        cor_shift_pelvis_m: mm_to_m(nalgebra::Vector3::new(cor[0], cor[1], lateral_sign * cor[2])),
        offset_change_m: length_mm_to_m(args.offset_change_mm),
        leg_length_change_m: length_mm_to_m(args.leg_length_change_mm),
    };
    let planned = personalise::apply_implant_change(&scaled, "r", &change_for(1.0))?;
    let before = personalise::abductor_report(&scaled, "r")?;
    let after = personalise::abductor_report(&planned, "r")?;
    if let Some(out) = &args.export_osim {
        let (side_code, sign) = if side == Side::Left { ("l", -1.0) } else { ("r", 1.0) };
        let export = personalise::apply_implant_change(&scaled, side_code, &change_for(sign))?;
        loaded.export(&export, out)?;
    }
    let r = hcf::hip_contact_force(&planned, activity, args.body_weight_n, Some(&femur))?;
    let f = r.force_orthoload_percent_bw.context("the OrthoLoad frame needs femur landmarks")?;
    if let Some(path) = &args.forces_sto {
        let (names, values): (Vec<String>, Vec<f64>) = r.muscle_forces_n.iter().cloned().unzip();
        let mut t = coxa_sim::msk::osim::Storage::new("muscle_forces", false, names);
        t.comments = vec![
            format!(
                "coxa_activity={}",
                match activity {
                    Activity::OneLegStance => "one-leg-stance",
                    Activity::Walking => "walking",
                }
            ),
            "coxa_units=N".into(),
        ];
        t.rows.push((0.0, values));
        t.write(path)?;
    }
    // The solved forces hold the posture: a rapier3d multibody of the stance leg and upper body,
    // loaded by them, stays at rest up to this residual.
    let check = coxa_sim::msk::posture::check_posture_rapier(&planned, &r, args.body_weight_n, None)?;
    let mut report = json!({
        "hcf_percent_bw": [f.x, f.y, f.z],
        "magnitude_percent_bw": f.norm(),
        "frame": "OrthoLoad femoral frame (Bergmann 2016): origin head centre, +z P2->P1, +y anterior, +x lateral (right femur; left mirrored)",
        "side": if side == Side::Left { "L" } else { "R" },
        "activity": match activity { Activity::OneLegStance => "one-leg-stance", Activity::Walking => "walking" },
        "body_weight_n": args.body_weight_n,
        "model": loaded.label,
        "stance_hip_angles_deg": r.hip_angles_deg,
        "reserve_moment_n_m": r.reserve_n_m.norm(),
        "posture_check": {
            "method": "rapier3d multibody (stance leg + upper body) at the posture, loaded by the solved forces, one step from rest: residual generalised forces",
            "dofs": check.dofs,
            "residual_n_m": check.residual_n_m,
            "max_percent_bw_height": check.max_percent_bw_height,
        },
        "patient_hip_centre_distance_mm": (hl - hr).norm(),
        "model_scale_factors": factors.iter().map(|(b, f)| json!({"body": b, "factor": f.x})).collect::<Vec<_>>(),
        "plan": {"offset_change_mm": args.offset_change_mm, "leg_length_change_mm": args.leg_length_change_mm, "cor_shift_anterior_superior_lateral_mm": cor},
        "abductors": {
            "mean_moment_arm_mm": {"before": 1000.0 * before.mean_moment_arm_m, "after": 1000.0 * after.mean_moment_arm_m},
            "max_abduction_moment_n_m": {"before": before.max_moment_n_m, "after": after.max_moment_n_m},
        },
        "exported_osim": args.export_osim.as_ref().map(|p| p.display().to_string()),
        "muscle_forces_n": r.muscle_forces_n.iter().filter(|(_, f)| *f > 0.5).map(|(n, f)| json!({"muscle": n, "force_n": f})).collect::<Vec<_>>(),
    });
    // What the solve could not do within its budget (issue 16); absent normally.
    if !r.notes.is_empty() {
        report["notes"] = json!(r.notes);
    }
    Ok(report)
}

/// `coxa hcf`: prints the force (or JSON with `--json`).
pub fn cli(args: &HcfArgs) -> Result<()> {
    let report = run(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let v = |i: usize| report["hcf_percent_bw"][i].as_f64().unwrap_or(f64::NAN);
    println!("hip contact force on the femoral head ({}), % body weight", report["activity"].as_str().unwrap_or("?"));
    println!("  x (lateral)  {:8.1}\n  y (anterior) {:8.1}\n  z (proximal) {:8.1}\n  magnitude    {:8.1}", v(0), v(1), v(2), report["magnitude_percent_bw"].as_f64().unwrap_or(f64::NAN));
    println!("frame: {}", report["frame"].as_str().unwrap_or(""));
    println!("model: {}", report["model"].as_str().unwrap_or("?"));
    for note in report["notes"].as_array().into_iter().flatten() {
        println!("note: {}", note.as_str().unwrap_or(""));
    }
    let ab = &report["abductors"];
    let g = |a: &str, b: &str| ab[a][b].as_f64().unwrap_or(f64::NAN);
    println!(
        "abductors (gluteus medius, minimus, tensor fasciae latae): mean moment arm {:.1} -> {:.1} mm, maximum abduction moment {:.1} -> {:.1} N m (before -> after the plan)",
        g("mean_moment_arm_mm", "before"),
        g("mean_moment_arm_mm", "after"),
        g("max_abduction_moment_n_m", "before"),
        g("max_abduction_moment_n_m", "after")
    );
    println!(
        "posture check (rapier3d multibody under the solved forces): largest residual {:.4} % body weight x height",
        report["posture_check"]["max_percent_bw_height"].as_f64().unwrap_or(f64::NAN)
    );
    if let Some(p) = report["exported_osim"].as_str() {
        println!("wrote {p}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use coxa_sim::msk::osim;

    #[test]
    fn a_shorter_offset_weakens_the_abductors_and_the_model_exports() {
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/opensim/gait2392_thelen2003muscle.osim");
        if !model.exists() {
            eprintln!("note: skipping, {} is not here", model.display());
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("planned.osim");
        let mut a = args("R", Some(model));
        a.offset_change_mm = -6.0;
        a.cor_shift_mm = Some("0,0,-3".into());
        a.export_osim = Some(out.clone());
        let v = run(&a).unwrap();
        let ab = &v["abductors"]["mean_moment_arm_mm"];
        // -6 mm offset, +3 mm from the medialised centre: about 2.5 mm shorter.
        assert!(ab["after"].as_f64().unwrap() < ab["before"].as_f64().unwrap() - 2.0, "{v}");
        // The solved forces hold the posture of the planned model (rapier3d check).
        let residual = v["posture_check"]["max_percent_bw_height"].as_f64().unwrap();
        assert!(residual < 0.05, "posture residual {residual} %BW*height");
        let exported = osim::read_osim(&out).unwrap();
        assert!(exported.muscles.len() == 92);
        let e = format!("{:#}", run(&a).unwrap_err());
        assert!(e.contains("already exists"), "{e}");
        a.cor_shift_mm = Some("1,2".into());
        a.export_osim = None;
        assert!(run(&a).unwrap_err().to_string().contains("--cor-shift-mm"));
    }

    fn args(side: &str, model: Option<PathBuf>) -> HcfArgs {
        let lm = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/orthoload/Landmarks");
        HcfArgs {
            pelvis_landmarks: lm.join("H2R_PelvisLandmarks.fcsv"),
            femur_landmarks: lm.join("H2R_FemurLandmarks.fcsv"),
            side: side.into(),
            body_weight_n: 767.0,
            activity: ActivityArg::OneLegStance,
            model,
            offset_change_mm: 0.0,
            leg_length_change_mm: 0.0,
            cor_shift_mm: None,
            export_osim: None,
            forces_sto: None,
            json: true,
        }
    }

    /// Without --model (and without $COXA_OSIM_MODEL) the built-in gait2392 runs, and the output
    /// says so; it gives the same force as the shared copy of the same model.
    #[test]
    fn runs_without_a_model_on_the_built_in_gait2392() {
        if std::env::var_os("COXA_OSIM_MODEL").is_some() {
            eprintln!("note: skipping, COXA_OSIM_MODEL is set");
            return;
        }
        let v = run(&args("R", None)).unwrap();
        let label = v["model"].as_str().unwrap();
        assert!(label.contains("gait2392") && label.contains("built into coxa") && label.contains("CC BY 3.0"), "{label}");
        let tmp = tempfile::tempdir().unwrap();
        let mut a = args("R", None);
        a.export_osim = Some(tmp.path().join("exported.osim"));
        let _ = run(&a).unwrap();
        assert_eq!(osim::read_osim(tmp.path().join("exported.osim")).unwrap().muscles.len(), 92);
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/opensim/gait2392_thelen2003muscle.osim");
        if shared.exists() {
            let w = run(&args("R", Some(shared))).unwrap();
            assert_eq!(v["hcf_percent_bw"], w["hcf_percent_bw"]);
        }
    }

    #[test]
    fn bad_arguments_are_named() {
        let e = run(&args("X", None)).unwrap_err().to_string();
        assert!(e.contains("--side X"), "{e}");
        let mut a = args("R", Some(PathBuf::from("/nonexistent/model.osim")));
        a.body_weight_n = f64::NAN;
        assert!(run(&a).unwrap_err().to_string().contains("--body-weight-n"));
        let e = format!("{:#}", run(&args("R", Some(PathBuf::from("/nonexistent/model.osim")))).unwrap_err());
        assert!(e.contains("/nonexistent/model.osim"), "{e}");
    }

    #[test]
    fn one_leg_stance_json_has_the_issue_fields() {
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/opensim/gait2392_thelen2003muscle.osim");
        if !model.exists() {
            eprintln!("note: skipping, {} is not here", model.display());
            return;
        }
        let v = run(&args("R", Some(model))).unwrap();
        let f: Vec<f64> = v["hcf_percent_bw"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        let m = v["magnitude_percent_bw"].as_f64().unwrap();
        assert_eq!(f.len(), 3);
        assert!((f.iter().map(|x| x * x).sum::<f64>().sqrt() - m).abs() < 1e-9);
        // Down the femur, lateral, in the physiological range.
        assert!(f[2] < 0.0 && f[0] > 0.0 && (150.0..450.0).contains(&m), "{v}");
        // A right femur given as left is mirrored: a different answer, still valid.
        let l = run(&args("L", v["model"].as_str().map(PathBuf::from)));
        assert!(l.is_err(), "H2R's landmarks are labelled _R: asking for the left femur must fail");
    }
}
