//! Scripted runs of the window (`coxa view CASE --script FILE`): one action a line, so that
//! every control can be driven under Xvfb by a test.
//!
//! ```text
//! # a comment; blank lines are skipped
//! set cup_inclination_deg 45      # a control, named as plan.json names it
//! set cup_anteversion_deg 20      # radiographic, pelvic frame
//! set stem_size 4                 # a size of the case's stem series
//! view lateral                    # a camera preset: ap, lateral, superior, inlet, outlet
//! show slices                     # show / hide: slices, muscles, bones, landmarks
//! save                            # a new plan revision into the case
//! undo
//! redo
//! screenshot shot.png             # a picture of the window (a new file)
//! quit
//! ```
//!
//! The whole file is read and checked before the window opens: a bad line is one error naming
//! the file, the line and what is wrong. A hand-written parser: the format is a word and at most
//! two arguments a line, which no parsing crate would make shorter.

use std::path::{Path, PathBuf};

use coxa_core::plan_ranges::PlanValue;

use crate::ViewError;

/// A control the script can set: plan.json's field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `cup_inclination_deg`: radiographic, pelvic frame.
    CupInclination,
    /// `cup_anteversion_deg`: radiographic, pelvic frame.
    CupAnteversion,
    /// `stem_anteversion_deg`.
    StemAnteversion,
    /// `head_diameter_mm`.
    HeadDiameter,
    /// `neck_length_offset_mm`: the head's neck-length offset.
    NeckLength,
    /// `cup_outer_diameter_mm`: the shell size.
    CupSize,
    /// `cup_shift_medial_mm`, from the automatic plan's cup centre.
    CupShiftMedial,
    /// `cup_shift_superior_mm`.
    CupShiftSuperior,
    /// `cup_shift_anterior_mm`.
    CupShiftAnterior,
    /// `stem_size`: a size of the case's stem series (its label as a number, or its position).
    StemSize,
}

impl Control {
    /// Every control, in the panel's order.
    pub const ALL: [Control; 10] = [
        Control::CupSize,
        Control::CupInclination,
        Control::CupAnteversion,
        Control::CupShiftMedial,
        Control::CupShiftSuperior,
        Control::CupShiftAnterior,
        Control::StemSize,
        Control::StemAnteversion,
        Control::HeadDiameter,
        Control::NeckLength,
    ];

    /// The name in scripts (plan.json's field name).
    pub fn name(self) -> &'static str {
        match self {
            Control::CupInclination => "cup_inclination_deg",
            Control::CupAnteversion => "cup_anteversion_deg",
            Control::StemAnteversion => "stem_anteversion_deg",
            Control::HeadDiameter => "head_diameter_mm",
            Control::NeckLength => "neck_length_offset_mm",
            Control::CupSize => "cup_outer_diameter_mm",
            Control::CupShiftMedial => "cup_shift_medial_mm",
            Control::CupShiftSuperior => "cup_shift_superior_mm",
            Control::CupShiftAnterior => "cup_shift_anterior_mm",
            Control::StemSize => "stem_size",
        }
    }

    /// The range its values must keep (the plan's, as `coxa rom` and the scenarios check them):
    /// `None` for the stem size, which the catalog's series bounds.
    pub fn plan_value(self) -> Option<PlanValue> {
        match self {
            Control::CupInclination => Some(PlanValue::CupInclinationDeg),
            Control::CupAnteversion => Some(PlanValue::CupAnteversionDeg),
            Control::StemAnteversion => Some(PlanValue::StemAnteversionDeg),
            Control::HeadDiameter => Some(PlanValue::HeadDiameterMm),
            Control::NeckLength => Some(PlanValue::HeadOffsetMm),
            Control::CupSize => Some(PlanValue::ShellOuterDiameterMm),
            Control::CupShiftMedial | Control::CupShiftSuperior | Control::CupShiftAnterior => Some(PlanValue::CupShiftMm),
            Control::StemSize => None,
        }
    }

    /// `value` when this control may take it ([`Control::plan_value`]'s range).
    ///
    /// # Errors
    /// One line naming the control and its range.
    pub fn check(self, value: f64) -> Result<f64, String> {
        match self.plan_value() {
            Some(p) => p.check(value).map_err(|e| format!("{} {e}", self.name())),
            None if value.is_finite() => Ok(value),
            None => Err(format!("{} {value} is not a finite number", self.name())),
        }
    }

    /// Every control of `c` in its range.
    ///
    /// # Errors
    /// The first control out of its range, one line.
    pub fn check_all(c: &crate::Controls) -> Result<(), String> {
        Self::ALL.into_iter().try_for_each(|k| k.check(k.get(c)).map(|_| ()))
    }

    /// The control named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Its value in `c`.
    pub fn get(self, c: &crate::Controls) -> f64 {
        match self {
            Control::CupInclination => c.cup_inclination_deg,
            Control::CupAnteversion => c.cup_anteversion_deg,
            Control::StemAnteversion => c.stem_anteversion_deg,
            Control::HeadDiameter => c.head_diameter_mm,
            Control::NeckLength => c.head_offset_mm,
            Control::CupSize => c.cup_outer_diameter_mm,
            Control::CupShiftMedial => c.cup_shift_mm[0],
            Control::CupShiftSuperior => c.cup_shift_mm[1],
            Control::CupShiftAnterior => c.cup_shift_mm[2],
            Control::StemSize => c.stem_size,
        }
    }

    /// `c` with this control at `value`.
    pub fn set(self, c: &crate::Controls, value: f64) -> crate::Controls {
        let mut c = *c;
        match self {
            Control::CupInclination => c.cup_inclination_deg = value,
            Control::CupAnteversion => c.cup_anteversion_deg = value,
            Control::StemAnteversion => c.stem_anteversion_deg = value,
            Control::HeadDiameter => c.head_diameter_mm = value,
            Control::NeckLength => c.head_offset_mm = value,
            Control::CupSize => c.cup_outer_diameter_mm = value,
            Control::CupShiftMedial => c.cup_shift_mm[0] = value,
            Control::CupShiftSuperior => c.cup_shift_mm[1] = value,
            Control::CupShiftAnterior => c.cup_shift_mm[2] = value,
            Control::StemSize => c.stem_size = value,
        }
        c
    }
}

/// The camera presets: radiographs' directions onto the pelvis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// From the front (the patient's right on the screen's left), superior up.
    Ap,
    /// From the operated side.
    Lateral,
    /// From above, anterior up.
    Superior,
    /// Inlet: from the front and 45° from above (the beam tilted caudally), into the pelvic ring.
    Inlet,
    /// Outlet: from the front and 45° from below (the beam tilted cranially).
    Outlet,
}

impl Preset {
    /// Every preset, in the panel's order (keys 1 to 5).
    pub const ALL: [Preset; 5] = [Preset::Ap, Preset::Lateral, Preset::Superior, Preset::Inlet, Preset::Outlet];

    /// The name in scripts (`view ap`).
    pub fn name(self) -> &'static str {
        match self {
            Preset::Ap => "ap",
            Preset::Lateral => "lateral",
            Preset::Superior => "superior",
            Preset::Inlet => "inlet",
            Preset::Outlet => "outlet",
        }
    }

    /// The name on the panel's button.
    pub fn label(self) -> &'static str {
        match self {
            Preset::Ap => "AP",
            Preset::Lateral => "Lateral",
            Preset::Superior => "Superior",
            Preset::Inlet => "Inlet",
            Preset::Outlet => "Outlet",
        }
    }

    /// The preset named `s` (as [`Preset::name`]).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == s)
    }
}

/// What can be shown or hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The CT's slice planes.
    Slices,
    /// The muscles.
    Muscles,
    /// The bones.
    Bones,
    /// Landmarks and frames.
    Landmarks,
}

impl Layer {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "slices" => Some(Layer::Slices),
            "muscles" => Some(Layer::Muscles),
            "bones" => Some(Layer::Bones),
            "landmarks" => Some(Layer::Landmarks),
            _ => None,
        }
    }
}

/// One action of a script.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A control to a value.
    Set(Control, f64),
    /// A camera preset.
    View(Preset),
    /// Show (`true`) or hide a layer.
    Show(Layer, bool),
    /// A new plan revision into the case.
    Save,
    /// The last change of the controls taken back.
    Undo,
    /// The last change taken back made again.
    Redo,
    /// A picture of the window into a new PNG.
    Screenshot(PathBuf),
    /// Close the window.
    Quit,
}

/// A script: its actions with their line numbers (1-based).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Script {
    /// The file it was read from.
    pub file: PathBuf,
    /// The actions, with their lines.
    pub steps: Vec<(usize, Action)>,
}

impl Script {
    /// Reads and checks a script file (relative screenshot paths are taken from the current folder).
    ///
    /// # Errors
    /// [`ViewError::Script`] for an unreadable file or a bad line (its number and what is wrong).
    pub fn read(file: &Path) -> Result<Self, ViewError> {
        // Bounded as every text input of coxa (`/dev/zero` or a huge file is refused, not read).
        let text = coxa_io::read_text_bounded(file, coxa_io::Bound::TEXT).map_err(|e| ViewError::Script {
            file: file.to_path_buf(),
            line: 0,
            why: format!("cannot be read ({e}); give a text file of actions, one a line"),
        })?;
        Self::parse(file, &text)
    }

    /// Parses the text of a script named `file`.
    ///
    /// # Errors
    /// [`ViewError::Script`] for a bad line.
    pub fn parse(file: &Path, text: &str) -> Result<Self, ViewError> {
        let mut steps = Vec::new();
        let mut shots: Vec<PathBuf> = Vec::new();
        for (k, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |why: String| ViewError::Script { file: file.to_path_buf(), line: k + 1, why: format!("`{line}`: {why}") };
            let words: Vec<&str> = line.split_whitespace().collect();
            let args = |n: usize, usage: &str| if words.len() == n + 1 { Ok(()) } else { Err(bad(format!("expected `{usage}`"))) };
            let action = match words[0] {
                "set" => {
                    args(2, "set NAME VALUE")?;
                    let names = Control::ALL.map(Control::name).join(", ");
                    let c = Control::parse(words[1]).ok_or_else(|| bad(format!("no control {:?}; the controls are {names}", words[1])))?;
                    let v: f64 = words[2].parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(|| bad(format!("{:?} is not a number", words[2])))?;
                    // The plan's ranges, as `coxa rom` and the scenarios check them.
                    Action::Set(c, c.check(v).map_err(bad)?)
                }
                "view" => {
                    args(1, "view PRESET")?;
                    let names = Preset::ALL.map(Preset::name).join(", ");
                    Action::View(Preset::parse(words[1]).ok_or_else(|| bad(format!("no camera preset {:?}; use {names}", words[1])))?)
                }
                w @ ("show" | "hide") => {
                    args(1, &format!("{w} LAYER"))?;
                    Action::Show(Layer::parse(words[1]).ok_or_else(|| bad(format!("no layer {:?}; use slices, muscles, bones or landmarks", words[1])))?, w == "show")
                }
                w @ ("save" | "undo" | "redo" | "quit") => {
                    args(0, w)?;
                    match w {
                        "save" => Action::Save,
                        "undo" => Action::Undo,
                        "redo" => Action::Redo,
                        _ => Action::Quit,
                    }
                }
                "screenshot" => {
                    args(1, "screenshot FILE")?;
                    let out = PathBuf::from(words[1]);
                    if out.exists() || shots.contains(&out) {
                        return Err(bad(format!("{} already exists; coxa never overwrites: choose another file", out.display())));
                    }
                    shots.push(out.clone());
                    Action::Screenshot(out)
                }
                other => return Err(bad(format!("unknown action {other:?}; the actions are set, view, show, hide, save, undo, redo, screenshot and quit"))),
            };
            steps.push((k + 1, action));
        }
        Ok(Self { file: file.to_path_buf(), steps })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_is_read_line_by_line() {
        let text = "# plan\nset cup_inclination_deg 45\n\n  set cup_anteversion_deg 20   # radiographic\nview inlet\nshow slices\nsave\nundo\nredo\nscreenshot no-such-dir/a.png\nquit\n";
        let s = Script::parse(Path::new("s.txt"), text).unwrap();
        let lines: Vec<usize> = s.steps.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert_eq!(s.steps[0].1, Action::Set(Control::CupInclination, 45.0));
        assert_eq!(s.steps[1].1, Action::Set(Control::CupAnteversion, 20.0));
        assert_eq!(s.steps[2].1, Action::View(Preset::Inlet));
        assert_eq!(s.steps[3].1, Action::Show(Layer::Slices, true));
        assert_eq!(s.steps[7].1, Action::Screenshot(PathBuf::from("no-such-dir/a.png")));
        assert_eq!(s.steps[8].1, Action::Quit);
        let s = Script::parse(Path::new("s.txt"), "set stem_size 4\n").unwrap();
        assert_eq!(s.steps[0].1, Action::Set(Control::StemSize, 4.0));
    }

    #[test]
    fn a_bad_line_names_its_number_and_the_fix() {
        for (text, line, says) in [
            ("save\nset cup_tilt 4\n", 2, "no control \"cup_tilt\"; the controls are cup_outer_diameter_mm"),
            ("set cup_inclination_deg abc\n", 1, "\"abc\" is not a number"),
            ("set cup_inclination_deg NaN\n", 1, "is not a number"),
            ("\n\nfly\n", 3, "unknown action \"fly\""),
            ("save now\n", 1, "expected `save`"),
            ("view sideways\n", 1, "use ap, lateral, superior, inlet, outlet"),
            ("screenshot a.png\nscreenshot a.png\n", 2, "already exists"),
            ("set head_diameter_mm\n", 1, "expected `set NAME VALUE`"),
            // Issue 61: what `coxa rom` and the scenarios refuse.
            ("set cup_inclination_deg -90\n", 1, "cup_inclination_deg -90 is out of range 0..=90"),
            ("save\nset cup_anteversion_deg -50\n", 2, "cup_anteversion_deg -50 is out of range -45..=90"),
            ("set cup_shift_medial_mm 16\n", 1, "cup_shift_medial_mm 16 is out of range -15..=15"),
        ] {
            let e = Script::parse(Path::new("s.txt"), text).unwrap_err().to_string();
            assert!(e.starts_with(&format!("s.txt:{line}: ")), "{e}");
            assert!(e.contains(says), "{e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }
}
