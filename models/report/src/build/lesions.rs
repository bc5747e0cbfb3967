//! The report's bone lesion section (issue 43, the `[lesions]` stage): how the candidates were
//! found, what the search cannot find, and one row per candidate (kind, bone, volume, centre,
//! score), those in the operated side's hip bone or femur marked; their warnings are listed among
//! the plan's caveats ([`to_caveats`]).

use coxa_core::CaseReport;
use coxa_core::lesions_record::OPERATED_SIDE_WARNING;

use crate::document::{Block, Document, Table, Text, Warning};

/// Moves the warnings of a lesion in the operated side's hip bone or femur (the `[lesions]`
/// stage's, [`OPERATED_SIDE_WARNING`]) from the other warnings to the plan's caveats: such a
/// lesion changes the implant and its fixation.
pub fn to_caveats(caveats: &mut Vec<Warning>, others: &mut Vec<Warning>) {
    let (moved, kept): (Vec<Warning>, Vec<Warning>) = std::mem::take(others).into_iter().partition(|w| w.cause.starts_with(OPERATED_SIDE_WARNING));
    *others = kept;
    caveats.extend(moved);
}

/// Appends the section when the stage ran.
pub fn push(d: &mut Document, r: &CaseReport) {
    let Some(ls) = &r.lesions else { return };
    d.push(Block::Heading { level: 2, text: "Bone lesion candidates (from the CT)".into() });
    d.push(Block::Note(
        Text::bold(format!("{} candidate(s): a classical search, not a diagnosis.", ls.lesions.len()))
            .and(" Bone whose density departs from its own healthy interior; a radiologist reads the CT before the candidates change the plan. ")
            .and(ls.limits.clone())
            .and("."),
    ));
    let mut kv = vec![("method".into(), Text::plain(ls.method.clone())), ("files".into(), Text::default().and_code(format!("{}/lesions.json, {}/lesions.nii.gz", ls.folder, ls.folder)))];
    for (bone, ml) in &ls.not_searched {
        kv.push(("not searched".into(), Text::plain(format!("{ml:.1} ml of {} near metal", bone.replace('_', " ")))));
    }
    d.push(Block::KeyValue(kv));
    if ls.lesions.is_empty() {
        return;
    }
    let mut t = Table::with_header(["#", "kind", "bone", "volume (ml)", "centre LPS (mm)", "score", "operated side"]);
    for l in &ls.lesions {
        let c = l.centre_lps_mm;
        t.row([
            Text::plain(l.id.to_string()),
            Text::plain(l.kind.clone()),
            Text::plain(l.bone.replace('_', " ")),
            Text::plain(format!("{:.2}", l.volume_ml)),
            Text::plain(format!("{:.0}, {:.0}, {:.0}", c[0], c[1], c[2])),
            Text::plain(format!("{:.2}", l.score)),
            if l.operated_side { Text::bold("yes: check before choosing the implant") } else { Text::plain("no") },
        ]);
    }
    d.push(Block::Table(t));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operated_side_lesion_is_a_caveat_and_said_once() {
        let w = [
            format!("{OPERATED_SIDE_WARNING} hip_right (lytic, 1.2 ml at LPS 1, 2, 3 mm): check it before choosing the implant and its fixation"),
            "lesions: 2 bone lesion candidate(s) (classical search, not a diagnosis): see lesions/lesions.json".to_string(),
        ];
        let (mut caveats, mut others) = crate::warnings::split_caveats(&w, &["the cup was medialised"]);
        to_caveats(&mut caveats, &mut others);
        assert_eq!(caveats.len(), 2, "{caveats:?}");
        assert!(caveats[1].cause.starts_with(OPERATED_SIDE_WARNING));
        assert_eq!(others.len(), 1);
        assert!(others[0].cause.contains("2 bone lesion candidate(s)"), "{others:?}");
    }
}
