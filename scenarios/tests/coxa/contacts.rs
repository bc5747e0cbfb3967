//! Issue 60, contacts that are anatomy, on the real CT (../shared/data/totalseg): the plan coxa
//! makes from its own segmentation, its implants fixed, swept on coxa's bones and on the bones of
//! TotalSegmentator's labels of the same CT. Every motion whose limit involves bone (bone-bone
//! or implant-bone, on either) ends within 5 deg on both, and every contact is named by two
//! structures (`coxa_core::name_contact`).

use anyhow::Result;

use coxa_core::{FirstContact, MotionScore, RomQuery, RomScorer, name_contact};
use coxa_implants::Catalog;
use coxa_planner::{PlanAnatomy, plan};

use crate::plan_grid::{coxa_plan_options, real_ct, real_ct_totalsegmentator};

fn named(m: &MotionScore, a: &PlanAnatomy) -> Option<String> {
    let anatomy = a.contact_anatomy();
    let (parts, q, f) = (m.contact_parts.as_deref()?, m.contact_point_lps_mm?, m.contact_femur_point_lps_mm?);
    name_contact(parts, &q.into(), &f.into(), Some(&anatomy)).map(|s| s.phrase())
}

#[test]
fn real_ct_rom_on_coxas_bones_is_within_5_deg_of_totalsegmentators_and_every_contact_is_named() -> Result<()> {
    let (Some(own), Some(ts)) = (real_ct(), real_ct_totalsegmentator()) else { return Ok(()) };
    let catalog = Catalog::builtin()?;
    let own_scorer = coxa_case::stages::plan::scorer(own, &catalog)?;
    let p = plan(own, &catalog, &own_scorer, &coxa_plan_options())?;
    let ts_scorer = coxa_case::stages::plan::scorer(ts, &catalog)?;
    let query = RomQuery { motions: p.rom.motions.iter().map(|m| m.name.clone()).collect(), tilts: p.tilts, resolution_deg: 0.05, margin_cap_deg: None };
    let (a, b) = (own_scorer.score(&p.placement, &query)?, ts_scorer.score(&p.placement, &query)?);
    let bone = |m: &MotionScore| matches!(m.contact, Some(FirstContact::BoneBone | FirstContact::ImplantBone));
    let mut worst = 0.0f64;
    for (x, y) in a.motions.iter().zip(&b.motions) {
        assert_eq!(x.name, y.name);
        let (nx, ny) = (named(x, own), named(y, ts));
        eprintln!("{:<30} coxa {:6.1} deg {:<55} TotalSegmentator {:6.1} deg {}", x.name, x.limit_deg, nx.as_deref().unwrap_or("none"), y.limit_deg, ny.as_deref().unwrap_or("none"));
        for (m, n) in [(x, &nx), (y, &ny)] {
            assert_eq!(m.contact.is_some(), n.is_some(), "{}: every contact names two structures: {m:?}", m.name);
        }
        if bone(x) || bone(y) {
            worst = worst.max((x.limit_deg - y.limit_deg).abs());
            assert!((x.limit_deg - y.limit_deg).abs() <= 5.0, "{}: {:.1} deg on coxa's bones, {:.1} on TotalSegmentator's", x.name, x.limit_deg, y.limit_deg);
        }
    }
    eprintln!("largest difference where bone limits the motion: {worst:.1} deg");
    Ok(())
}
