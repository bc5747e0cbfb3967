//! The `[lesions]` stage: the classical bone-lesion search ([`coxa_diagnostics::lesions`], as
//! `coxa lesions` runs it) on the case's CT and the anatomy stage's bones (its label map: sacrum,
//! hips, femurs), written into the case folder's `lesions/` (`lesions.json`, `lesions.nii.gz`).
//! A lesion in the operated side's hip bone (around the socket) or femur is a warning of the case,
//! so that it reaches the report and the summary's warnings: it changes the implant and its
//! fixation. The report gets a section of its own ([`coxa_core::report::LesionsSummary`]) and the
//! summary row the count. A case without a CT gets a note instead.

use std::path::Path;

use anyhow::{Context, Result};
use coxa_core::report::{LesionLine, LesionsSummary};
use coxa_core::{LabelMap, Side, Volume};
use coxa_diagnostics::lesions::{Detection, Kind, Lesion};

/// The stage's folder in a case folder.
pub const DIR: &str = "lesions";

/// Runs the search on `ct` and the anatomy stage's `labels`, writes `dir/lesions/`, and adds the
/// case's warnings: one line counting the candidates, one per lesion of the operated side's hip
/// or femur. Returns the report's summary of them.
pub fn run(ct: &Volume, labels: &LabelMap, ct_name: &str, side: Side, dir: &Path, warnings: &mut Vec<String>) -> Result<LesionsSummary> {
    let names = coxa_anatomy::labels::coxa_classes().iter().map(|(id, n)| (id, n.to_string())).collect();
    let (bones, names) = coxa_diagnostics::lesions::bones_of(labels, &names);
    let (d, _) = crate::cli::lesions::search(ct, Some((&bones, &names)), None).context("lesions stage")?;
    let out = dir.join(DIR);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    crate::cli::lesions::write(&out, ct, &d, ct_name, "the anatomy stage's label map (anatomy/labels.nii.gz)")?;
    warnings.extend(operated_side_warnings(&d.lesions, side));
    if !d.lesions.is_empty() {
        warnings.push(format!("lesions: {} bone lesion candidate(s) (classical search, not a diagnosis): see lesions/lesions.json", d.lesions.len()));
    }
    Ok(summary(&d, side))
}

/// What the report and the summary say of a search's lesions.
pub fn summary(d: &Detection, side: Side) -> LesionsSummary {
    let record = crate::cli::lesions::record(d, "", "");
    let operated = |l: &Lesion| l.bone == format!("hip_{}", side.as_str()) || l.bone == format!("femur_{}", side.as_str());
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
    let (hip, femur) = (format!("hip_{}", side.as_str()), format!("femur_{}", side.as_str()));
    lesions
        .iter()
        .filter(|l| l.bone == hip || l.bone == femur)
        .map(|l| {
            let c = l.centre_lps_mm;
            let kind = kind_name(l.kind);
            format!(
                "{} {} ({kind}, {:.1} ml at LPS {:.0}, {:.0}, {:.0} mm): check it before choosing the implant and its fixation",
                coxa_core::lesions_record::OPERATED_SIDE_WARNING,
                l.bone,
                l.volume_ml,
                c[0],
                c[1],
                c[2]
            )
        })
        .collect()
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
