//! The report's warnings, each said once. The stages write sentences, many of the form
//! `structure: what happened` (`femur_left canal: the femoral shaft is not imaged: ...`), and the
//! same sentence comes from several bones or stages. [`group`] turns the sentences into
//! [`Warning`]s: a sentence said of several structures becomes one warning naming them all, and
//! a sentence said twice is said once. [`split_caveats`] then takes the plan's own notes (what
//! the planner did differently because of the data: the caveats that change the plan) apart
//! from the other warnings, dropping a note that only repeats a warning (the warning moves to
//! the caveats instead), so that no sentence appears twice in the report.
//!
//! Grouping by cause at the source (one warning per cause, with its consequence) is later work
//! (issue 41); [`Warning`] already carries a cause, the structures and a consequence.

use crate::document::Warning;

/// `structure: rest` when the sentence starts with a short name before `": "`, else `None`.
fn split_structure(s: &str) -> Option<(&str, &str)> {
    let (head, rest) = s.split_once(": ")?;
    // A structure is a name (`femur_left`, `femur_left canal`, `taper-wedge stem, high offset`),
    // not a clause: short, and without the words a clause needs.
    let words = head.split_whitespace().count();
    let clause = [" is ", " are ", " has ", " have ", " not ", " does ", " no ", " in ", " of ", " at ", " on ", " for ", " with ", " from "].iter().any(|w| format!(" {head} ").contains(w));
    (words <= 6 && head.len() <= 48 && !clause && !rest.is_empty()).then_some((head, rest))
}

/// The warnings of `sentences`: a sentence said of several structures (the same text after
/// `structure: `) is one warning naming them in the order first seen; a repeated sentence is
/// said once. The order is the first sentence's of each group.
pub fn group<S: AsRef<str>>(sentences: &[S]) -> Vec<Warning> {
    let mut out: Vec<Warning> = Vec::new();
    for s in sentences {
        let s = s.as_ref().trim();
        if s.is_empty() {
            continue;
        }
        let (structure, cause) = match split_structure(s) {
            Some((h, r)) => (Some(h), r),
            None => (None, s),
        };
        match out.iter_mut().find(|w| w.cause == cause && w.structures.is_empty() == structure.is_none()) {
            Some(w) => {
                if let Some(h) = structure
                    && !w.structures.iter().any(|x| x == h)
                {
                    w.structures.push(h.to_string());
                }
            }
            None => out.push(Warning { cause: cause.to_string(), structures: structure.map(|h| vec![h.to_string()]).unwrap_or_default(), consequence: None }),
        }
    }
    out
}

/// Whether `note` only repeats what `w` says: its cause is inside the warning's, about the same
/// structures (or the note names none).
fn repeats(note: &Warning, w: &Warning) -> bool {
    w.cause.contains(&note.cause) && (note.structures.is_empty() || note.structures.iter().all(|s| w.structures.contains(s)))
}

/// The caveats that change the plan (the plan's notes, grouped; a warning a note repeats takes
/// the note's place) and the other warnings, each sentence in exactly one of them.
pub fn split_caveats<S: AsRef<str>, T: AsRef<str>>(warnings: &[S], plan_notes: &[T]) -> (Vec<Warning>, Vec<Warning>) {
    let mut others = group(warnings);
    let mut caveats = Vec::new();
    for note in group(plan_notes) {
        match others.iter().position(|w| repeats(&note, w)) {
            Some(i) => caveats.push(others.remove(i)),
            None => {
                if !caveats.iter().any(|c| repeats(&note, c)) {
                    caveats.push(note);
                }
            }
        }
    }
    (caveats, others)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_said_of_two_bones_is_one_warning_naming_both() {
        let w = group(&[
            "left femoral head: no sphere fits the joint; the head is split by intensity alone",
            "the label map has no bones: bones from coxa's own segmentation",
            "right femoral head: no sphere fits the joint; the head is split by intensity alone",
            "the label map has no bones: bones from coxa's own segmentation",
            "metal in the left femur: 429 voxels",
            "femur_left: only 3 mm of shaft imaged",
            "femur_right: only 2 mm of shaft imaged",
        ]);
        assert_eq!(w.len(), 5, "{w:#?}");
        assert_eq!(w[0].structures, ["left femoral head", "right femoral head"]);
        assert_eq!(w[0].line(), "left femoral head, right femoral head: no sphere fits the joint; the head is split by intensity alone");
        // A clause before the colon is not a structure; the repeat is said once.
        assert!(w[1].structures.is_empty() && w[1].cause.starts_with("the label map has no bones: "));
        assert!(w[2].structures.is_empty(), "a phrase is not a structure: {:?}", w[2]);
        // Different numbers, different sentences.
        assert_eq!((w[3].line().as_str(), w[4].line().as_str()), ("femur_left: only 3 mm of shaft imaged", "femur_right: only 2 mm of shaft imaged"));
    }

    #[test]
    fn a_plan_note_that_repeats_a_warning_moves_the_warning_to_the_caveats() {
        let (caveats, others) = split_caveats(
            &["femur_right: only 2 mm of shaft imaged; image the femur to the knee", "metal in the left femur"],
            &["femur_right: only 2 mm of shaft imaged", "fixation: cemented suggested", "taper, high: size 5 is a placeholder", "taper, low: size 5 is a placeholder"],
        );
        let lines: Vec<String> = caveats.iter().map(Warning::line).collect();
        assert_eq!(lines, ["femur_right: only 2 mm of shaft imaged; image the femur to the knee", "fixation: cemented suggested", "taper, high; taper, low: size 5 is a placeholder"]);
        assert_eq!(others.iter().map(Warning::line).collect::<Vec<_>>(), ["metal in the left femur"]);
    }
}
