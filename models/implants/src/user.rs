//! An implant engineer's own geometry: an STL file plus a small TOML file declaring its frame.
//!
//! ```toml
//! schema_version = 1
//! part = "stem"                         # "stem" (with neck and head centre) or "cup"
//! mesh = "my_stem.stl"                  # relative to this file; read by the caller
//! units = "mm"
//! head_centre_mm = [0.0, 0.0, 0.0]      # stem: the head centre (taper gauge point), mesh coordinates
//! neck_axis = [0.0, 0.2, 1.0]           # stem: from the head towards the stem (normalised here)
//! neck_diameter_mm = 12.0               # stem: the neck next to the head (reported)
//! shaft_axis = [0.0, -0.6, -0.8]        # stem: distal direction of the stem's shaft (fixes the roll)
//! # cup_centre_mm = [..]; cup_axis = [..]  # cup: centre and the axis out of the opening (the cup face normal)
//! # inner_diameter_mm = 32.0              # cup: bearing diameter
//! # superior_axis = [..]                  # cup, optional: the direction in the face plane placed
//! #                                       # superiorly (matters for an asymmetric rim)
//! ```
//!
//! The simulator (`coxa_sim::user_parts`) places the stem so that its head centre sits at the
//! cup centre, its neck axis where the stem's neck points and its shaft along the femoral shaft;
//! the cup so that its bearing centre and axis are the planned ones. The part of the stem that
//! can meet the cup is its neck: the stem mesh within 40 mm of the head centre and outside the
//! head.

use std::path::{Path, PathBuf};

use nalgebra::{Point3, Vector3};
use serde::{Deserialize, Serialize};

use crate::{ImplantError, Result};

/// What a user-supplied part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserPartKind {
    /// A femoral stem (neck + head taper).
    Stem,
    /// An acetabular cup (shell, or shell with liner).
    Cup,
}

/// The frame file of a user part, as written (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserGeometrySpec {
    /// Schema version; must be 1.
    pub schema_version: u32,
    /// Stem or cup.
    pub part: UserPartKind,
    /// The STL file, relative to the frame file.
    pub mesh: PathBuf,
    /// Length unit of the mesh: only "mm" is accepted.
    pub units: String,
    /// Stem: head centre in mesh coordinates, mm.
    #[serde(default)]
    pub head_centre_mm: Option<[f64; 3]>,
    /// Stem: neck axis from the head towards the stem.
    #[serde(default)]
    pub neck_axis: Option<[f64; 3]>,
    /// Stem: neck diameter next to the head, mm.
    #[serde(default)]
    pub neck_diameter_mm: Option<f64>,
    /// Cup: centre of the bearing sphere, mm.
    #[serde(default)]
    pub cup_centre_mm: Option<[f64; 3]>,
    /// Cup: axis out of the opening (the face normal).
    #[serde(default)]
    pub cup_axis: Option<[f64; 3]>,
    /// Cup: bearing (inner) diameter, mm.
    #[serde(default)]
    pub inner_diameter_mm: Option<f64>,
    /// Stem: distal direction of the shaft, mesh coordinates (required: with the neck axis it
    /// fixes the stem's roll and its CCD angle).
    #[serde(default)]
    pub shaft_axis: Option<[f64; 3]>,
    /// Cup, optional: the face-plane direction placed superiorly.
    #[serde(default)]
    pub superior_axis: Option<[f64; 3]>,
}

/// A validated user part: where its STL is and its frame.
#[derive(Debug, Clone, PartialEq)]
pub struct UserGeometry {
    /// Stem or cup.
    pub part: UserPartKind,
    /// The STL file, resolved against the frame file's folder.
    pub mesh_path: PathBuf,
    /// Stem: head centre; cup: bearing centre (mesh coordinates, mm).
    pub centre_mm: Point3<f64>,
    /// Stem: unit neck axis (head -> stem); cup: unit axis out of the opening.
    pub axis: Vector3<f64>,
    /// Stem: neck diameter; cup: bearing diameter (mm).
    pub diameter_mm: f64,
    /// Stem: unit distal shaft direction, perpendicular component to nothing (as given,
    /// normalised); cup: the superior face direction made perpendicular to the axis, if given.
    pub reference_axis: Option<Vector3<f64>>,
}

impl UserGeometrySpec {
    /// Parses the frame file's text; `origin` labels errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| ImplantError::Parse { origin: origin.into(), source: Box::new(e) })
    }
    /// Reads and parses a frame file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = crate::read::text(path)?;
        Self::parse(&text, &path.display().to_string())
    }
    /// Checks the fields and resolves the mesh path against `base_dir` (the frame file's folder).
    pub fn validate(&self, origin: &str, base_dir: &Path) -> Result<UserGeometry> {
        let invalid = |field: &str, why: String| ImplantError::Invalid { origin: origin.into(), field: field.into(), why };
        if self.schema_version != 1 {
            return Err(ImplantError::SchemaVersion { origin: origin.into(), found: self.schema_version, supported: 1 });
        }
        if self.units != "mm" {
            return Err(invalid("units", format!("{:?} is not supported; write the STL in millimetres and set units = \"mm\"", self.units)));
        }
        let (c_name, a_name, d_name, other) = match self.part {
            UserPartKind::Stem => (
                "head_centre_mm",
                "neck_axis",
                "neck_diameter_mm",
                [
                    ("cup_centre_mm", self.cup_centre_mm.is_some()),
                    ("cup_axis", self.cup_axis.is_some()),
                    ("inner_diameter_mm", self.inner_diameter_mm.is_some()),
                    ("superior_axis", self.superior_axis.is_some()),
                ],
            ),
            UserPartKind::Cup => (
                "cup_centre_mm",
                "cup_axis",
                "inner_diameter_mm",
                [
                    ("head_centre_mm", self.head_centre_mm.is_some()),
                    ("neck_axis", self.neck_axis.is_some()),
                    ("neck_diameter_mm", self.neck_diameter_mm.is_some()),
                    ("shaft_axis", self.shaft_axis.is_some()),
                ],
            ),
        };
        if let Some((n, _)) = other.iter().find(|(_, set)| *set) {
            return Err(invalid(n, format!("is not a field of a {:?} part; remove it", self.part)));
        }
        let (c, a, d) = match self.part {
            UserPartKind::Stem => (self.head_centre_mm, self.neck_axis, self.neck_diameter_mm),
            UserPartKind::Cup => (self.cup_centre_mm, self.cup_axis, self.inner_diameter_mm),
        };
        let c = c.ok_or_else(|| invalid(c_name, "missing".into()))?;
        let a = a.ok_or_else(|| invalid(a_name, "missing".into()))?;
        let d = d.ok_or_else(|| invalid(d_name, "missing".into()))?;
        if c.iter().any(|v| !v.is_finite()) {
            return Err(invalid(c_name, format!("{c:?} is not finite")));
        }
        let axis = Vector3::from(a).try_normalize(1e-9).filter(|v| v.iter().all(|x| x.is_finite())).ok_or_else(|| invalid(a_name, format!("{a:?} is not a finite non-zero direction")))?;
        if !(d.is_finite() && d > 0.0 && d < 100.0) {
            return Err(invalid(d_name, format!("{d} must lie in (0, 100) mm")));
        }
        let unit = |v: [f64; 3], name: &str| {
            Vector3::from(v).try_normalize(1e-9).filter(|v| v.iter().all(|x| x.is_finite())).ok_or_else(|| invalid(name, format!("{v:?} is not a finite non-zero direction")))
        };
        let reference_axis = match self.part {
            UserPartKind::Stem => {
                let s = unit(self.shaft_axis.ok_or_else(|| invalid("shaft_axis", "missing: the distal direction of the stem's shaft fixes its roll and CCD angle".into()))?, "shaft_axis")?;
                let ccd = 180.0 - s.angle(&axis).to_degrees();
                if !(95.0..=175.0).contains(&ccd) {
                    return Err(invalid(
                        "shaft_axis",
                        format!("makes {ccd:.1} deg with neck_axis; a stem's neck-shaft (CCD) angle lies in 95-175 deg (neck_axis points from the head towards the stem)"),
                    ));
                }
                Some(s)
            }
            UserPartKind::Cup => match self.superior_axis {
                None => None,
                Some(v) => {
                    let u = unit(v, "superior_axis")?;
                    let p = (u - axis * u.dot(&axis)).try_normalize(1e-6).ok_or_else(|| invalid("superior_axis", "is parallel to cup_axis; give a direction in the face plane".into()))?;
                    Some(p)
                }
            },
        };
        Ok(UserGeometry { part: self.part, mesh_path: base_dir.join(&self.mesh), centre_mm: Point3::from(c), axis, diameter_mm: d, reference_axis })
    }
}

/// A catalog size's frame file read and validated: a `part` one, naming an STL that exists;
/// with the file's name for messages.
fn read_size_frame(frame: &Path, part: UserPartKind) -> std::result::Result<(UserGeometry, String), String> {
    let origin = frame.display().to_string();
    let g = UserGeometrySpec::read(frame).and_then(|s| s.validate(&origin, frame.parent().unwrap_or(Path::new(".")))).map_err(|e| e.to_string())?;
    if g.part != part {
        let (is, want, size) = match part {
            UserPartKind::Stem => ("cup", "stem", "stem"),
            UserPartKind::Cup => ("stem", "cup", "shell"),
        };
        return Err(format!("{origin} describes a {is}; a {size} size needs a frame with part = \"{want}\""));
    }
    if !g.mesh_path.is_file() {
        return Err(format!("{origin} names the mesh {}, which does not exist", g.mesh_path.display()));
    }
    Ok((g, origin))
}

/// Checks a stem size's own geometry against the catalog's numbers for it: the frame file at
/// `frame` must parse, be a stem's, name an STL that exists, and give the size's neck diameter
/// (within 0.05 mm) and the series' neck-shaft angle `ccd_deg` (within 1 deg), so that the
/// planner's sizing and reconstruction (from the numbers) and its range of motion (on the mesh)
/// describe the same part. The reason on failure, in words.
pub fn check_stem_frame(frame: &Path, ccd_deg: f64, neck_diameter_mm: f64) -> std::result::Result<UserGeometry, String> {
    let (g, origin) = read_size_frame(frame, UserPartKind::Stem)?;
    if (g.diameter_mm - neck_diameter_mm).abs() > 0.05 {
        return Err(format!("{origin} gives a {} mm neck, the catalog {neck_diameter_mm} mm; make them one", g.diameter_mm));
    }
    let ccd = g.reference_axis.map_or(f64::NAN, |s| 180.0 - s.angle(&g.axis).to_degrees());
    if ccd.is_nan() || (ccd - ccd_deg).abs() > 1.0 {
        return Err(format!("{origin}: its neck and shaft axes make a {ccd:.1} deg neck-shaft angle, the series {ccd_deg} deg; make them one"));
    }
    Ok(g)
}

/// Checks a shell size's own geometry (the cup the engineer's series puts in a shell of that
/// size: a liner, or shell and liner in one mesh): the frame file at `frame` must parse, be a
/// cup's, name an STL that exists, and bear a head no larger than the shell's inner diameter
/// `shell_inner_mm` allows. The reason on failure, in words.
pub fn check_cup_frame(frame: &Path, shell_inner_mm: f64) -> std::result::Result<UserGeometry, String> {
    let (g, origin) = read_size_frame(frame, UserPartKind::Cup)?;
    if g.diameter_mm >= shell_inner_mm {
        return Err(format!("{origin} bears a {} mm head, which does not fit inside the shell's {shell_inner_mm} mm inner diameter; give the size's own bearing", g.diameter_mm));
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEM: &str = r#"
schema_version = 1
part = "stem"
mesh = "parts/stem.stl"
units = "mm"
head_centre_mm = [1.0, 2.0, 3.0]
neck_axis = [0.0, 0.0, 2.0]
neck_diameter_mm = 12.0
shaft_axis = [0.8, 0.0, 0.6]
"#;

    #[test]
    fn stem_frame_parses_and_resolves() {
        let g = UserGeometrySpec::parse(STEM, "stem.toml").unwrap().validate("stem.toml", Path::new("/data")).unwrap();
        assert_eq!(g.mesh_path, PathBuf::from("/data/parts/stem.stl"));
        assert_eq!(g.axis, Vector3::z());
        assert_eq!(g.centre_mm, Point3::new(1.0, 2.0, 3.0));
        assert_eq!(g.reference_axis, Some(Vector3::new(0.8, 0.0, 0.6)));
    }

    #[test]
    fn bad_frame_files_name_the_field() {
        let unknown = STEM.replace("units", "unit");
        let e = UserGeometrySpec::parse(&unknown, "stem.toml").unwrap_err().to_string();
        assert!(e.contains("stem.toml") && e.contains("unit"), "{e}");
        let zero = STEM.replace("[0.0, 0.0, 2.0]", "[0.0, 0.0, 0.0]");
        let e = UserGeometrySpec::parse(&zero, "s").unwrap().validate("s", Path::new(".")).unwrap_err().to_string();
        assert!(e.contains("neck_axis"), "{e}");
        let inches = STEM.replace("\"mm\"", "\"in\"");
        let e = UserGeometrySpec::parse(&inches, "s").unwrap().validate("s", Path::new(".")).unwrap_err().to_string();
        assert!(e.contains("units"), "{e}");
        let no_shaft = STEM.replace("shaft_axis = [0.8, 0.0, 0.6]\n", "");
        let e = UserGeometrySpec::parse(&no_shaft, "s").unwrap().validate("s", Path::new(".")).unwrap_err().to_string();
        assert!(e.contains("shaft_axis") && e.contains("missing"), "{e}");
        let straight = STEM.replace("[0.8, 0.0, 0.6]", "[0.0, 0.0, -1.0]");
        let e = UserGeometrySpec::parse(&straight, "s").unwrap().validate("s", Path::new(".")).unwrap_err().to_string();
        assert!(e.contains("CCD"), "{e}");
        let cupish = format!("{STEM}cup_axis = [0.0, 0.0, 1.0]\n");
        let e = UserGeometrySpec::parse(&cupish, "s").unwrap().validate("s", Path::new(".")).unwrap_err().to_string();
        assert!(e.contains("cup_axis"), "{e}");
    }
}
