//! The caveats of page 1: at most [`PAGE_ONE_MAX`], each said once, in a surgeon's words, of the
//! operated side only. The stages' sentences name internal fields and repeat one cause for
//! several bones and stem series; here each caveat is matched to the cause it tells of (the
//! femur imaged only to the trochanters, the stem size a placeholder, the joint space not
//! resolved, a cemented stem suggested, the knee not imaged, metal in the operated femur, leg
//! length not comparable with the other side), and each cause is said once, in the order of
//! [`Topic`], with what the surgeon should do. A caveat of no known cause keeps its own words,
//! internal names made readable. The stages' sentences themselves follow after page 1 ("Caveats
//! in detail"), those of the other side apart ("The other hip").

use coxa_core::{CaseReport, Side};

use crate::document::Warning;

/// The most caveats page 1 shows.
pub const PAGE_ONE_MAX: usize = 5;

/// The causes page 1 knows, in the order it gives them (what changes the operation first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Topic {
    Fixation,
    StemSize,
    CanalEstimated,
    ShaftNotImaged,
    JointSpace,
    Metal,
    KneeNotImaged,
    SidesNotCompared,
}

impl Topic {
    /// The cause a caveat's line tells of, by its words.
    fn of(line: &str) -> Option<Self> {
        let l = line.to_lowercase();
        let has = |w: &[&str]| w.iter().any(|x| l.contains(x));
        if has(&["cemented suggested", "suggests a cemented"]) {
            Some(Self::Fixation)
        } else if has(&["placeholder", "stem size is not determined"]) {
            Some(Self::StemSize)
        } else if has(&["sized from the outer width", "cortical_ratio", "canal = outer", "no canal measured from cortical bone", "estimated from the outer width"]) {
            Some(Self::CanalEstimated)
        } else if has(&["cannot be compared between the sides"]) {
            Some(Self::SidesNotCompared)
        } else if has(&["shaft imaged", "shaft axis is uncertain", "shaft not imaged", "assumed in neutral"]) {
            Some(Self::ShaftNotImaged)
        } else if has(&["joint space", "cartilage allowance"]) {
            Some(Self::JointSpace)
        } else if has(&["metal", "screw", "prosthesis"]) {
            Some(Self::Metal)
        } else if has(&["condyles not imaged", "predicted by the shape model"]) {
            Some(Self::KneeNotImaged)
        } else {
            None
        }
    }

    /// The surgeon's sentence for this cause in the case `r`.
    fn sentence(self, r: &CaseReport) -> String {
        let side = r.side.as_str();
        let pl = r.plan.as_ref();
        match self {
            Self::Fixation => {
                let fx = pl.and_then(|p| p.stem.fixation.as_ref());
                let why = fx.map(|f| f.reasons.join(", ")).filter(|s| !s.is_empty()).map_or(String::new(), |s| format!(" ({s})"));
                let planned = fx.and_then(|f| f.planned_series_fixation.as_deref()).unwrap_or("cementless");
                if fx.and_then(|f| f.note.as_deref()).is_some_and(|n| n.contains("holds only")) {
                    format!(
                        "Bone quality suggests a cemented stem{why}, but the catalog offers only {planned} stems: choose a cemented stem if you agree; the sizes on this page are the {planned} stem's."
                    )
                } else {
                    format!("Bone quality suggests a cemented stem{why}; the planned stem is {planned}: decide the fixation before sizing the stem.")
                }
            }
            Self::StemSize => "Stem size is a placeholder: the femoral canal is not imaged at the sizing level. Template the stem on a radiograph.".into(),
            Self::CanalEstimated => "The femoral canal is estimated from the bone's outer width (its cortex is not measured): the stem size is approximate. Template the stem on a radiograph.".into(),
            Self::ShaftNotImaged => format!(
                "The {side} femur is imaged only to the trochanters: stem version, leg length and offset rest on an assumed femoral axis. Check them on a long-leg radiograph, or image the femur to the knee."
            ),
            Self::JointSpace => {
                let shell = pl.map_or(String::new(), |p| format!(" ({:.0} mm shell)", p.cup.outer_diameter_mm));
                format!("The images do not show the joint space: the cup size{shell} is estimated from the femoral head plus cartilage, not measured on the socket. Confirm it with the reamers.")
            }
            Self::Metal => format!("Metal in the {side} femur (screw, plate or implant): expect hardware to remove; the bone next to it is not measured."),
            Self::KneeNotImaged => {
                let av = pl.and_then(|p| p.stem.native_femoral_anteversion_deg.zip(p.stem.native_femoral_anteversion_sd_deg));
                let what = av.map_or("native femoral anteversion".to_string(), |(v, sd)| format!("native femoral anteversion ({v:.0}°, SD {sd:.0}°)"));
                format!("The knee is not imaged: {what} is predicted by a shape model, so stem version and combined anteversion are uncertain. Check version intra-operatively.")
            }
            Self::SidesNotCompared => "Leg length and offset are not compared with the other side (its femur is not imaged far enough): the plan restores this hip's own.".into(),
        }
    }
}

/// Words that name the other side in a caveat (`femur_left`, `left femoral head`, `hip_left`).
fn names_side(line: &str, s: Side) -> bool {
    let l = line.to_lowercase();
    let n = s.as_str();
    [format!("femur_{n}"), format!("hip_{n}"), format!("{n} femur"), format!("{n} femoral"), format!("{n} proximal femur"), format!("{n} hip")].iter().any(|w| l.contains(w.as_str()))
}

/// Whether `w` is of the other side only (names it and not the operated side).
pub fn other_side_only(w: &Warning, operated: Side) -> bool {
    let line = w.line();
    names_side(&line, operated.opposite()) && !names_side(&line, operated)
}

/// An internal sentence made readable: `femur_right` is "right femur", other snake-case names
/// lose their underscores.
fn readable(s: &str) -> String {
    let mut out = s.to_string();
    for n in ["left", "right"] {
        out = out.replace(&format!("femur_{n}"), &format!("{n} femur")).replace(&format!("hip_{n}"), &format!("{n} hip bone"));
    }
    out.replace('_', " ")
}

/// Page 1's caveats (at most [`PAGE_ONE_MAX`], each once) from the caveats that change the plan,
/// and the stages' caveats of the operated side and of the other side, in their own words, for
/// after page 1.
pub fn page_one(r: &CaseReport, caveats: Vec<Warning>) -> (Vec<Warning>, Vec<Warning>, Vec<Warning>) {
    let (other, operated): (Vec<Warning>, Vec<Warning>) = caveats.into_iter().partition(|w| other_side_only(w, r.side));
    let mut topics: Vec<Topic> = Vec::new();
    let mut own: Vec<String> = Vec::new();
    for w in &operated {
        match Topic::of(&w.line()) {
            Some(t) if !topics.contains(&t) => topics.push(t),
            Some(_) => {}
            None => {
                let s = readable(&w.line());
                if !own.contains(&s) {
                    own.push(s);
                }
            }
        }
    }
    topics.sort();
    // A placeholder size says more than an estimated canal: one caveat on the stem's size.
    if topics.contains(&Topic::StemSize) {
        topics.retain(|t| *t != Topic::CanalEstimated);
    }
    // A caveat in its own words starts as a sentence.
    let own = own.into_iter().map(|s| {
        let mut c = s.chars();
        c.next().map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
    });
    let first: Vec<Warning> = topics.into_iter().map(|t| t.sentence(r)).chain(own).take(PAGE_ONE_MAX).map(|cause| Warning { cause, structures: Vec::new(), consequence: None }).collect();
    (first, operated, other)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Warning {
        crate::warnings::group(&[s]).remove(0)
    }

    #[test]
    fn causes_are_found_and_sides_told_apart() {
        assert_eq!(Topic::of("canal = outer mediolateral width x 0.55 (cortical_ratio 0.225 each side)"), Some(Topic::CanalEstimated));
        assert_eq!(Topic::of("the series' middle size 5 is planned as a placeholder"), Some(Topic::StemSize));
        assert_eq!(Topic::of("fixation: cemented suggested (lowest hip T-score -3.0)"), Some(Topic::Fixation));
        assert_eq!(Topic::of("femur_right: only 2 mm of shaft imaged below the trochanters"), Some(Topic::ShaftNotImaged));
        assert_eq!(Topic::of("the other hip is imaged but a femoral shaft is not, so leg length and offset cannot be compared between the sides"), Some(Topic::SidesNotCompared));
        assert_eq!(Topic::of("something new"), None);
        let left = w("femur_left: only 3 mm of shaft imaged below the trochanters");
        assert!(other_side_only(&left, Side::Right) && !other_side_only(&left, Side::Left));
        assert!(!other_side_only(&w("the femoral shaft axis is uncertain"), Side::Right));
        assert_eq!(readable("femur_right canal: the cortical_ratio"), "right femur canal: the cortical ratio");
    }
}
