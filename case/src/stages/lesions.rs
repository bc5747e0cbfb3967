//! The `[lesions]` stage: the classical bone-lesion search ([`coxa_diagnostics::lesions`], as
//! `coxa lesions` runs it) on the case's CT and the anatomy stage's bones (its label map: sacrum,
//! hips, femurs), written into the case folder's `lesions/` (`lesions.json`, `lesions.nii.gz`).
//! A lesion in the operated side's hip bone (around the socket) or femur is a warning of the case,
//! so that it reaches the report and the summary's warnings: it changes the implant and its
//! fixation. The report gets a section of its own ([`coxa_core::report::LesionsSummary`]) and the
//! summary row the count. A case without a CT gets a note instead.

use std::path::Path;

use crate::error::{Context, Result};
use coxa_core::report::{LesionLine, LesionsSummary};
use coxa_core::{LabelMap, Side, Volume};
use coxa_diagnostics::lesions::learned::LearnedSettings;
use coxa_diagnostics::lesions::{Detection, Kind, Lesion};

/// The stage's folder in a case folder.
pub const DIR: &str = "lesions";

/// Where the stage's bones come from, as the record says it.
const BONES_FROM: &str = "the anatomy stage's label map (anatomy/labels.nii.gz)";

/// Runs the search on `ct` and the anatomy stage's `labels` (the classical one, or with `learned`
/// a lesion model's card and threshold, as `coxa lesions --model` runs it), writes
/// `dir/lesions/`, and adds the case's warnings: one line counting the candidates, one per lesion
/// of the operated side's hip or femur. Returns the report's summary of them.
pub fn run(ct: &Volume, labels: &LabelMap, ct_name: &str, side: Side, learned: Option<(&Path, Option<f64>)>, dir: &Path, warnings: &mut Vec<String>) -> Result<LesionsSummary> {
    let names = coxa_anatomy::labels::coxa_classes().iter().map(|(id, n)| (id, n.to_string())).collect();
    let (bones, names) = coxa_diagnostics::lesions::bones_of(labels, &names);
    let out = dir.join(DIR);
    if let Some((card, threshold)) = learned {
        let settings = LearnedSettings { threshold: threshold.unwrap_or(LearnedSettings::default().threshold), ..LearnedSettings::default() };
        let s = crate::lesions::learned::search(ct, &bones, &names, card, &crate::segment::ModelRun::default(), settings).context("lesions stage")?;
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        crate::lesions::learned::write(&out, ct, &s, ct_name, BONES_FROM)?;
        let lines: Vec<LesionLine> = s
            .found
            .iter()
            .map(|l| LesionLine {
                id: l.id,
                kind: l.kind.clone(),
                bone: l.bone.clone(),
                volume_ml: l.volume_ml,
                centre_lps_mm: l.centre_lps_mm,
                score: l.probability,
                operated_side: on_operated_side(&l.bone, side),
            })
            .collect();
        let c = s.model.card();
        let what = format!("learned model {} {}{}, not a diagnosis", c.name, c.version, if c.test_model { ", a TEST model" } else { "" });
        warnings.extend(lines.iter().filter(|l| l.operated_side).map(|l| operated_side_warning(&l.bone, &l.kind, l.volume_ml, l.centre_lps_mm)));
        if !lines.is_empty() {
            warnings.push(format!("lesions: {} bone lesion candidate(s) ({what}): see lesions/lesions.json", lines.len()));
        }
        let limits = crate::lesions::learned::limits(&s.model);
        return Ok(LesionsSummary { folder: DIR.to_string(), method: crate::lesions::learned::method(&s), lesions: lines, not_searched: Vec::new(), limits });
    }
    let (d, _) = crate::lesions::search(ct, Some((&bones, &names)), None).context("lesions stage")?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    crate::lesions::write(&out, ct, &d, ct_name, BONES_FROM)?;
    warnings.extend(operated_side_warnings(&d.lesions, side));
    if !d.lesions.is_empty() {
        warnings.push(format!("lesions: {} bone lesion candidate(s) (classical search, not a diagnosis): see lesions/lesions.json", d.lesions.len()));
    }
    Ok(summary(&d, side))
}

/// Whether `bone` is the operated side's hip bone or femur.
fn on_operated_side(bone: &str, side: Side) -> bool {
    bone == format!("hip_{}", side.as_str()) || bone == format!("femur_{}", side.as_str())
}

/// What the report and the summary say of a search's lesions.
pub fn summary(d: &Detection, side: Side) -> LesionsSummary {
    let record = crate::lesions::record(d, "", "");
    let operated = |l: &Lesion| on_operated_side(&l.bone, side);
    LesionsSummary {
        folder: DIR.to_string(),
        method: record["method"].as_str().unwrap_or_default().to_string(),
        lesions: d
            .lesions
            .iter()
            .map(|l| LesionLine {
                id: l.id,
                kind: kind_name(l.kind).to_string(),
                bone: l.bone.clone(),
                volume_ml: l.volume_ml,
                centre_lps_mm: l.centre_lps_mm,
                score: l.probability,
                operated_side: operated(l),
            })
            .collect(),
        not_searched: d.not_searched.clone(),
        limits: record["limits"].as_str().unwrap_or_default().to_string(),
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Lytic => "lytic",
        Kind::Blastic => "blastic",
        Kind::Mixed => "mixed",
    }
}

/// One warning per lesion in the operated side's hip bone or femur.
pub fn operated_side_warnings(lesions: &[Lesion], side: Side) -> Vec<String> {
    lesions.iter().filter(|l| on_operated_side(&l.bone, side)).map(|l| operated_side_warning(&l.bone, kind_name(l.kind), l.volume_ml, l.centre_lps_mm)).collect()
}

/// The case's warning of one lesion on the operated side.
fn operated_side_warning(bone: &str, kind: &str, volume_ml: f64, c: [f64; 3]) -> String {
    format!(
        "{} {bone} ({kind}, {volume_ml:.1} ml at LPS {:.0}, {:.0}, {:.0} mm): check it before choosing the implant and its fixation",
        coxa_core::lesions_record::OPERATED_SIDE_WARNING,
        c[0],
        c[1],
        c[2]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesion(bone: &str) -> Lesion {
        Lesion {
            id: 1,
            centre_lps_mm: [1.0, 2.0, 3.0],
            volume_ml: 0.5,
            kind: Kind::Lytic,
            bone: bone.into(),
            bone_label: 77,
            probability: 0.9,
            slices: [3, 5],
            peak_z: 5.0,
            mean_hu: 30.0,
            reference_hu: 120.0,
        }
    }

    #[test]
    fn only_the_operated_sides_hip_and_femur_are_warned() {
        let l = [lesion("hip_left"), lesion("femur_right"), lesion("vertebrae_L3")];
        let w = operated_side_warnings(&l, Side::Left);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("hip_left") && w[0].contains("lytic"), "{w:?}");
        assert!(w[0].starts_with("Bone lesion candidate in the operated side's hip_left"), "{w:?}");
        assert_eq!(operated_side_warnings(&l, Side::Right).len(), 1);
    }
}
