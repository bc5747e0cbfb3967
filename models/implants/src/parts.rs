//! Sized implant parts, their local frames, analytic shapes and meshes.
//!
//! Frames (all right-handed, mm):
//! - **Shell and liner**: origin at the centre of the hemisphere (the head centre once seated),
//!   +z along the cup axis out of the opening, the face in the plane z = 0. +x is the face
//!   direction the placement calls superior, +y turns from it towards posterior.
//! - **Head**: origin at the head centre, +z along the neck axis from the head towards the stem.
//! - **Stem**: origin at the taper's gauge point (the centre of a head with 0 mm neck-length
//!   offset), +z along the neck axis from the head towards the stem, the shaft axis in the x-z
//!   plane with distal direction `(sin ccd, 0, -cos ccd)`.
//! - **Neck** (of a [`Construct`]): the head frame; the neck is a cylinder or cone around +z.

use std::f64::consts::{FRAC_PI_2, PI, TAU};

use coxa_core::{Angle, Mesh};
use nalgebra::Vector3;

use crate::mesh::{arc, revolve};
use crate::{ImplantError, Result};

fn check(part: &'static str, field: &'static str, value: f64, lo: f64, hi: f64, why: &'static str) -> Result<()> {
    if value.is_finite() && value >= lo && value <= hi { Ok(()) } else { Err(ImplantError::InvalidPart { part, field, value, why }) }
}

/// A hemispherical acetabular shell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shell {
    /// Outer diameter, mm.
    pub outer_diameter_mm: f64,
    /// Wall thickness, mm.
    pub wall_thickness_mm: f64,
}

impl Shell {
    /// A shell of outer diameter `outer_diameter_mm` (20-100) and wall `wall_thickness_mm`.
    pub fn new(outer_diameter_mm: f64, wall_thickness_mm: f64) -> Result<Self> {
        check("shell", "outer_diameter_mm", outer_diameter_mm, 20.0, 100.0, "must lie in 20..=100 mm")?;
        check("shell", "wall_thickness_mm", wall_thickness_mm, 0.1, outer_diameter_mm / 4.0, "must be > 0 and leave room inside")?;
        Ok(Self { outer_diameter_mm, wall_thickness_mm })
    }
    /// Inner diameter, mm.
    pub fn inner_diameter_mm(&self) -> f64 {
        self.outer_diameter_mm - 2.0 * self.wall_thickness_mm
    }
    /// Closed mesh in the shell frame.
    pub fn mesh(&self) -> Mesh {
        let (ro, ri) = (self.outer_diameter_mm / 2.0, self.inner_diameter_mm() / 2.0);
        revolve(96, |_| arc(ro, -FRAC_PI_2, 0.0, 24).chain(arc(ri, 0.0, -FRAC_PI_2, 24)).collect())
    }
}

/// The opening of a liner: where a neck swinging out of the cup meets it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rim {
    /// The inner sphere ends at its equator (the face plane).
    Hemispherical,
    /// The rim edge bevelled: contact happens on the inner sphere's circle `chamfer` below the
    /// face plane. Modelled as a bevel cone with its apex at the head centre, so that the
    /// oscillation angle grows by exactly 2 x `chamfer`.
    Chamfered {
        /// Angle of the contact edge below the face plane.
        chamfer: Angle,
    },
    /// A lip raised over part of the rim.
    Elevated {
        /// Height of the lip's inner edge above the face plane, mm (on the inner sphere).
        height_mm: f64,
        /// Arc of the face over which the lip has full height.
        arc: Angle,
        /// Arc over which it falls (cosine) to the face plane on each side.
        transition: Angle,
        /// Centre of the lip, measured from +x (superior) towards +y (posterior).
        orientation: Angle,
    },
}

impl Rim {
    /// Height above the face plane at azimuth `phi` as a fraction of the full lip height.
    fn lip_weight(&self, phi: f64) -> f64 {
        let Rim::Elevated { arc, transition, orientation, .. } = *self else { return 0.0 };
        let d = (phi - orientation.rad()).rem_euclid(TAU);
        let d = d.min(TAU - d);
        let half = arc.rad() / 2.0;
        if d <= half {
            1.0
        } else if d < half + transition.rad() {
            0.5 * (1.0 + (PI * (d - half) / transition.rad()).cos())
        } else {
            0.0
        }
    }
    /// Latitude (radians above the face plane) of the rim on a sphere of `radius_mm` at azimuth
    /// `phi` (radians, from +x towards +y).
    pub fn latitude(&self, phi: f64, radius_mm: f64) -> f64 {
        match *self {
            Rim::Hemispherical => 0.0,
            Rim::Chamfered { chamfer } => -chamfer.rad(),
            Rim::Elevated { height_mm, .. } => (height_mm * self.lip_weight(phi) / radius_mm).clamp(-1.0, 1.0).asin(),
        }
    }
    /// Whether the rim lies at one latitude all around (then the contact test is closed-form).
    pub fn is_circular(&self) -> bool {
        !matches!(self, Rim::Elevated { height_mm, .. } if *height_mm > 0.0)
    }
}

/// A liner, seated in a shell.
#[derive(Debug, Clone, PartialEq)]
pub struct Liner {
    /// Inner diameter = head diameter, mm.
    pub inner_diameter_mm: f64,
    /// Outer diameter = shell inner diameter, mm.
    pub outer_diameter_mm: f64,
    /// The opening.
    pub rim: Rim,
    /// Rim points on the inner sphere, liner frame, one per [`RIM_SAMPLES`] step of azimuth.
    rim_table: Vec<Vector3<f64>>,
}

/// Azimuth samples of a non-circular rim before local refinement.
pub const RIM_SAMPLES: usize = 720;

impl Liner {
    /// A liner for a head of `inner_diameter_mm` in a shell of inner diameter `outer_diameter_mm`.
    pub fn new(inner_diameter_mm: f64, outer_diameter_mm: f64, rim: Rim) -> Result<Self> {
        check("liner", "inner_diameter_mm", inner_diameter_mm, 12.0, 60.0, "must lie in 12..=60 mm")?;
        check("liner", "outer_diameter_mm", outer_diameter_mm, 12.0, 100.0, "must lie in 12..=100 mm")?;
        if outer_diameter_mm <= inner_diameter_mm {
            return Err(ImplantError::DoesNotFit {
                why: format!("a {inner_diameter_mm} mm head does not fit in a shell of {outer_diameter_mm} mm inner diameter; choose a larger shell or a smaller head"),
            });
        }
        match rim {
            Rim::Hemispherical => {}
            Rim::Chamfered { chamfer } => check("liner", "chamfer_deg", chamfer.deg(), 0.0, 30.0, "must lie in 0..=30 deg")?,
            Rim::Elevated { height_mm, arc, transition, orientation } => {
                check("liner", "rim_height_mm", height_mm, 0.0, inner_diameter_mm / 2.0 * 0.7, "must be >= 0 and below 0.7 x the head radius")?;
                check("liner", "rim_arc_deg", arc.deg(), 0.0, 360.0, "must lie in 0..=360 deg")?;
                check("liner", "rim_transition_deg", transition.deg(), 1e-3, 90.0, "must lie in (0, 90] deg")?;
                check("liner", "rim_orientation_deg", orientation.deg(), -720.0, 720.0, "must be finite")?;
            }
        }
        let r = inner_diameter_mm / 2.0;
        let rim_table = (0..RIM_SAMPLES)
            .map(|j| {
                let phi = TAU * j as f64 / RIM_SAMPLES as f64;
                Self::rim_point_of(&rim, r, phi)
            })
            .collect();
        Ok(Self { inner_diameter_mm, outer_diameter_mm, rim, rim_table })
    }
    fn rim_point_of(rim: &Rim, r: f64, phi: f64) -> Vector3<f64> {
        let e = rim.latitude(phi, r);
        Vector3::new(r * e.cos() * phi.cos(), r * e.cos() * phi.sin(), r * e.sin())
    }
    /// Wall thickness, mm.
    pub fn thickness_mm(&self) -> f64 {
        (self.outer_diameter_mm - self.inner_diameter_mm) / 2.0
    }
    /// The rim's inner edge at azimuth `phi` (radians from +x towards +y), liner frame, mm.
    pub fn rim_point(&self, phi: f64) -> Vector3<f64> {
        Self::rim_point_of(&self.rim, self.inner_diameter_mm / 2.0, phi)
    }
    /// The rim point farthest along the unit direction `d` (liner frame): `(q·d, q)`.
    ///
    /// Exact for circular rims (closed form); for an elevated rim the best of [`RIM_SAMPLES`]
    /// samples refined by golden-section search (to 1e-7 rad of azimuth).
    pub fn farthest_rim_point(&self, d: &Vector3<f64>) -> (f64, Vector3<f64>) {
        let r = self.inner_diameter_mm / 2.0;
        if self.rim.is_circular() {
            let e = self.rim.latitude(0.0, r);
            let rho = d.x.hypot(d.y);
            let phi = if rho > 1e-15 { d.y.atan2(d.x) } else { 0.0 };
            let q = Self::rim_point_of(&self.rim, r, phi);
            return (r * (e.cos() * rho + e.sin() * d.z), q);
        }
        let (mut best, mut j_best) = (f64::NEG_INFINITY, 0);
        for (j, q) in self.rim_table.iter().enumerate() {
            let s = q.dot(d);
            if s > best {
                best = s;
                j_best = j;
            }
        }
        let step = TAU / RIM_SAMPLES as f64;
        let f = |phi: f64| self.rim_point(phi).dot(d);
        let (mut a, mut b) = ((j_best as f64 - 1.0) * step, (j_best as f64 + 1.0) * step);
        let g = 0.5 * (5f64.sqrt() - 1.0);
        let (mut c, mut e) = (b - g * (b - a), a + g * (b - a));
        let (mut fc, mut fe) = (f(c), f(e));
        while b - a > 1e-7 {
            if fc > fe {
                b = e;
                e = c;
                fe = fc;
                c = b - g * (b - a);
                fc = f(c);
            } else {
                a = c;
                c = e;
                fc = fe;
                e = a + g * (b - a);
                fe = f(e);
            }
        }
        let phi = 0.5 * (a + b);
        let q = self.rim_point(phi);
        let s = q.dot(d);
        if s >= best { (s, q) } else { (best, self.rim_table[j_best]) }
    }
    /// Whether the unit direction `d` (liner frame) points below the rim (into the liner wall).
    pub fn below_rim(&self, d: &Vector3<f64>) -> bool {
        let phi = d.y.atan2(d.x);
        d.z.clamp(-1.0, 1.0).asin() < self.rim.latitude(phi, self.inner_diameter_mm / 2.0)
    }
    /// Whether a point (liner frame, mm) lies inside the solid of liner plus a shell of outer
    /// radius `shell_outer_radius_mm`: between the head sphere and the outer sphere, below the rim.
    pub fn solid_contains(&self, p: &Vector3<f64>, shell_outer_radius_mm: f64) -> bool {
        let n2 = p.norm_squared();
        let ri = self.inner_diameter_mm / 2.0;
        if n2 > shell_outer_radius_mm * shell_outer_radius_mm || n2 < ri * ri {
            return false;
        }
        let lat = (p.z / n2.sqrt()).clamp(-1.0, 1.0).asin();
        match self.rim {
            Rim::Hemispherical => lat <= 0.0,
            Rim::Chamfered { chamfer } => lat <= -chamfer.rad(),
            Rim::Elevated { height_mm, .. } => p.z <= height_mm * self.rim.lip_weight(p.y.atan2(p.x)),
        }
    }
    /// Closed mesh in the liner frame (144 azimuth steps).
    pub fn mesh(&self) -> Mesh {
        self.mesh_with_segments(144)
    }
    /// Closed mesh in the liner frame with `n_azimuth` steps around the axis (at least 3).
    pub fn mesh_with_segments(&self, n_azimuth: usize) -> Mesh {
        let (ro, ri) = (self.outer_diameter_mm / 2.0, self.inner_diameter_mm / 2.0);
        let rim = self.rim;
        revolve(n_azimuth.max(3), move |phi| {
            let ei = rim.latitude(phi, ri);
            let eo = match rim {
                Rim::Elevated { height_mm, .. } => (height_mm * rim.lip_weight(phi) / ro).asin(),
                _ => ei,
            };
            // Outer edge and inner edge: the same latitude (circular rims) or the same height
            // (an elevated lip has a flat top).
            let mut p: Vec<[f64; 2]> = arc(ro, -FRAC_PI_2, eo, 24).collect();
            p.extend(arc(ri, ei, -FRAC_PI_2, 24));
            p
        })
    }
}

/// A femoral head.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Head {
    /// Diameter, mm.
    pub diameter_mm: f64,
    /// Neck-length offset, mm: the centre lies this far from the gauge point, away from the stem.
    pub neck_length_offset_mm: f64,
}

impl Head {
    /// A head of `diameter_mm` (12-60) with `neck_length_offset_mm` (-15..=15).
    pub fn new(diameter_mm: f64, neck_length_offset_mm: f64) -> Result<Self> {
        check("head", "diameter_mm", diameter_mm, 12.0, 60.0, "must lie in 12..=60 mm")?;
        check("head", "neck_length_offset_mm", neck_length_offset_mm, -15.0, 15.0, "must lie in -15..=15 mm")?;
        Ok(Self { diameter_mm, neck_length_offset_mm })
    }
    /// Closed mesh (a sphere) in the head frame.
    pub fn mesh(&self) -> Mesh {
        revolve(96, |_| arc(self.diameter_mm / 2.0, -FRAC_PI_2, FRAC_PI_2, 48).collect())
    }
}

/// A femoral stem (size fixed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stem {
    /// Caput-collum-diaphyseal angle.
    pub ccd: Angle,
    /// Perpendicular distance from the gauge point to the shaft axis, mm.
    pub offset_mm: f64,
    /// From the gauge point along the neck to the stem shoulder, mm.
    pub neck_length_mm: f64,
    /// Neck diameter next to the head, mm.
    pub neck_diameter_mm: f64,
    /// Half-angle by which the neck widens towards the shoulder.
    pub neck_flare: Angle,
}

impl Stem {
    /// A stem; every dimension is checked.
    pub fn new(ccd: Angle, offset_mm: f64, neck_length_mm: f64, neck_diameter_mm: f64, neck_flare: Angle) -> Result<Self> {
        check("stem", "ccd_deg", ccd.deg(), 90.0, 160.0, "must lie in 90..=160 deg")?;
        check("stem", "offset_mm", offset_mm, 10.0, 80.0, "must lie in 10..=80 mm")?;
        check("stem", "neck_length_mm", neck_length_mm, 5.0, 80.0, "must lie in 5..=80 mm")?;
        check("stem", "neck_diameter_mm", neck_diameter_mm, 4.0, 30.0, "must lie in 4..=30 mm")?;
        check("stem", "neck_flare_deg", neck_flare.deg(), 0.0, 20.0, "must lie in 0..=20 deg")?;
        Ok(Self { ccd, offset_mm, neck_length_mm, neck_diameter_mm, neck_flare })
    }
    /// Distal unit direction of the shaft axis in the stem frame.
    pub fn shaft_direction(&self) -> Vector3<f64> {
        Vector3::new(self.ccd.rad().sin(), 0.0, -self.ccd.rad().cos())
    }
    /// Where the neck axis meets the shaft axis, mm from the gauge point along +z:
    /// `offset / sin(ccd)`.
    pub fn neck_shaft_intersection_mm(&self) -> f64 {
        self.offset_mm / self.ccd.rad().sin()
    }
    /// Length of the body along the shaft axis below the neck-shaft intersection, mm: a
    /// generic taper-wedge proportion, `3 x offset + 10` (130 mm for a 40 mm offset).
    pub fn body_length_mm(&self) -> f64 {
        3.0 * self.offset_mm + 10.0
    }
    /// A generic taper-wedge body (closed mesh, stem frame) for pictures and bone checks: a
    /// rectangular section lofted along the shaft axis from 12 mm above the neck-shaft
    /// intersection (the shoulder) to [`Stem::body_length_mm`] below it; proximally it reaches
    /// medially to the neck's end (the calcar), distally it tapers to 9 x 8 mm. Not a
    /// manufacturer's shape: load the real one as a user stem.
    pub fn body_mesh(&self) -> Mesh {
        let d = self.shaft_direction();
        let p = Vector3::z() * self.neck_shaft_intersection_mm();
        // Mediolateral axis in the neck-shaft plane, perpendicular to the shaft, pointing
        // medially (towards the head); anteroposterior +y.
        let ml = Vector3::y().cross(&d).normalize();
        let ap = Vector3::y();
        let len = self.body_length_mm();
        // The neck's end (shoulder) lies this far medial of the shaft axis.
        let calcar = (self.neck_shaft_intersection_mm() - self.neck_length_mm).max(0.0) * self.ccd.rad().sin() + self.neck_diameter_mm / 2.0;
        // (position along the shaft, lateral extent, medial extent, anteroposterior thickness), mm.
        let sections = [(-12.0, 10.0, calcar, 14.0), (0.0, 10.0, calcar, 14.0), (len / 3.0, 8.0, 8.0, 12.0), (2.0 * len / 3.0, 6.0, 6.0, 10.0), (len, 4.5, 4.5, 8.0)];
        let mut v = Vec::new();
        for (s, lat, med, t) in sections {
            let c = p + d * s;
            for (a, b) in [(-lat, -1.0), (med, -1.0), (med, 1.0), (-lat, 1.0)] {
                v.push(nalgebra::Point3::from(c + ml * a + ap * (b * t / 2.0)));
            }
        }
        let mut tris: Vec<[u32; 3]> = vec![[0, 2, 1], [0, 3, 2]];
        let n = sections.len() as u32;
        for k in 0..n - 1 {
            for j in 0..4 {
                let (a, b) = (4 * k + j, 4 * k + (j + 1) % 4);
                let (c, e) = (a + 4, b + 4);
                tris.push([a, b, e]);
                tris.push([a, e, c]);
            }
        }
        let last = 4 * (n - 1);
        tris.push([last, last + 1, last + 2]);
        tris.push([last, last + 2, last + 3]);
        let mesh = Mesh::new(v, tris).expect("indices in range, points finite");
        if mesh.signed_volume_mm3() < 0.0 {
            let (v, t) = mesh.into_parts();
            Mesh::new(v, t.into_iter().map(|[a, b, c]| [a, c, b]).collect()).expect("same indices")
        } else {
            mesh
        }
    }
}

/// The neck of a construct, in the head frame: a cylinder of radius `radius_mm` around +z from
/// where it leaves the head (`start_mm`) to the stem shoulder (`end_mm`), widening by `flare`
/// (half-angle) from `start_mm` on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neck {
    /// Radius next to the head, mm.
    pub radius_mm: f64,
    /// Half-angle of widening.
    pub flare: Angle,
    /// Where the neck leaves the head sphere, mm from the head centre.
    pub start_mm: f64,
    /// Where it enters the stem shoulder, mm from the head centre.
    pub end_mm: f64,
}

impl Neck {
    /// Radius at `s` mm from the head centre along +z.
    pub fn radius_at(&self, s: f64) -> f64 {
        self.radius_mm + (s - self.start_mm).max(0.0) * self.flare.rad().tan()
    }
    /// Closed mesh (a frustum) in the head frame (48 azimuth steps).
    pub fn mesh(&self) -> Mesh {
        self.mesh_with_segments(48)
    }
    /// Closed mesh (a frustum) in the head frame with `n_azimuth` steps around the axis (at
    /// least 3).
    pub fn mesh_with_segments(&self, n_azimuth: usize) -> Mesh {
        let (a, b) = (self.start_mm, self.end_mm);
        revolve(n_azimuth.max(3), |_| vec![[0.0, a], [self.radius_at(a), a], [self.radius_at(b), b], [0.0, b]])
    }
}

/// A full implant construct: shell, liner, head and stem, checked to fit together.
#[derive(Debug, Clone, PartialEq)]
pub struct Construct {
    /// The shell.
    pub shell: Shell,
    /// The liner.
    pub liner: Liner,
    /// The head.
    pub head: Head,
    /// The stem.
    pub stem: Stem,
    neck: Neck,
    /// Largest `s` along the neck at which a rim point on the head sphere is still clear.
    critical_s_mm: f64,
}

impl Construct {
    /// Assembles the parts: the liner must hold the head and sit in the shell, the neck must be
    /// narrower than the head.
    pub fn new(shell: Shell, liner: Liner, head: Head, stem: Stem) -> Result<Self> {
        if (liner.inner_diameter_mm - head.diameter_mm).abs() > 1e-6 {
            return Err(ImplantError::DoesNotFit { why: format!("the liner's inner diameter {} mm does not match the {} mm head", liner.inner_diameter_mm, head.diameter_mm) });
        }
        if (liner.outer_diameter_mm - shell.inner_diameter_mm()).abs() > 1e-6 {
            return Err(ImplantError::DoesNotFit {
                why: format!("the liner's outer diameter {} mm does not match the shell's inner diameter {} mm", liner.outer_diameter_mm, shell.inner_diameter_mm()),
            });
        }
        let r = head.diameter_mm / 2.0;
        let rn = stem.neck_diameter_mm / 2.0;
        if rn >= r * 0.95 {
            return Err(ImplantError::DoesNotFit {
                why: format!("a {} mm neck is too thick for a {} mm head; the neck must be narrower than 0.95 x the head", stem.neck_diameter_mm, head.diameter_mm),
            });
        }
        let start = (r * r - rn * rn).sqrt();
        let end = stem.neck_length_mm + head.neck_length_offset_mm;
        if end <= start {
            return Err(ImplantError::DoesNotFit { why: format!("the neck ends {end:.1} mm from the head centre, inside the {} mm head; choose a longer neck or smaller offset", head.diameter_mm) });
        }
        let neck = Neck { radius_mm: rn, flare: stem.neck_flare, start_mm: start, end_mm: end };
        // Rim points lie on the head sphere (radius r): the neck reaches one at s = q·d when
        // sqrt(r² - s²) <= radius_at(s); the left side falls and the right rises with s.
        let (mut lo, mut hi) = (0.0, r);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if (r * r - mid * mid).max(0.0).sqrt() > neck.radius_at(mid) { lo = mid } else { hi = mid }
        }
        Ok(Self { shell, liner, head, stem, neck, critical_s_mm: lo })
    }
    /// The neck in the head frame.
    pub fn neck(&self) -> Neck {
        self.neck
    }
    /// Where along the neck a rim point on the head sphere is touched, mm from the head centre.
    pub fn critical_s_mm(&self) -> f64 {
        self.critical_s_mm
    }
    /// Neck-rim contact for a neck along the unit direction `d` (liner frame, from the head
    /// centre towards the stem): the touched rim point (liner frame, mm), or `None` if clear.
    /// Exact for circular rims; a neck pointing below the rim counts as contact.
    pub fn neck_rim_contact(&self, d: &Vector3<f64>) -> Option<Vector3<f64>> {
        let (s, q) = self.liner.farthest_rim_point(d);
        if s >= self.critical_s_mm || self.liner.below_rim(d) { Some(q) } else { None }
    }
    /// The oscillation angle: the smallest arc a neck can sweep in a plane through the cup axis
    /// from rim contact to rim contact. For a circular rim `2 (acos(r_neck / R_head) + chamfer)`
    /// (cylindrical neck).
    pub fn oscillation_angle(&self) -> Angle {
        let limit = |phi: f64| {
            let dir = |t: f64| Vector3::new(t.sin() * phi.cos(), t.sin() * phi.sin(), t.cos());
            let (mut lo, mut hi) = (0.0, PI);
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if self.neck_rim_contact(&dir(mid)).is_none() { lo = mid } else { hi = mid }
            }
            lo
        };
        let n = if self.liner.rim.is_circular() { 1 } else { 180 };
        let best = (0..n).map(|k| PI * k as f64 / n as f64).map(|phi| limit(phi) + limit(phi + PI)).fold(f64::INFINITY, f64::min);
        Angle::from_rad(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn construct(head_mm: f64, neck_mm: f64, rim: Rim) -> Construct {
        let shell = Shell::new(56.0, 3.0).unwrap();
        let liner = Liner::new(head_mm, shell.inner_diameter_mm(), rim).unwrap();
        let head = Head::new(head_mm, 0.0).unwrap();
        let stem = Stem::new(Angle::from_deg(132.0), 40.0, 32.0, neck_mm, Angle::from_deg(0.0)).unwrap();
        Construct::new(shell, liner, head, stem).unwrap()
    }

    /// The exact numbers: 2 acos(r/R) for 22/28/32/36 mm heads on a 12.25 mm neck.
    #[test]
    fn stem_body_is_closed_and_runs_down_the_shaft() {
        let stem = Stem::new(Angle::from_deg(132.0), 40.0, 32.0, 12.25, Angle::from_deg(0.0)).unwrap();
        let m = stem.body_mesh();
        assert!(m.is_watertight() && m.signed_volume_mm3() > 0.0);
        // Its distal tip lies on the shaft axis, body_length below the neck-shaft intersection,
        // and the shaft axis passes `offset` from the head centre.
        let p = Vector3::z() * stem.neck_shaft_intersection_mm();
        let tip = p + stem.shaft_direction() * stem.body_length_mm();
        let centroid = m.vertices()[m.vertices().len() - 4..].iter().fold(Vector3::zeros(), |a, q| a + q.coords) / 4.0;
        assert!((centroid - tip).norm() < 1e-9);
        assert!((p.cross(&stem.shaft_direction()).norm() - 40.0).abs() < 1e-9);
    }

    #[test]
    fn oscillation_angle_is_two_acos_r_over_r() {
        for (d, expect) in [(22.0, 112.3), (28.0, 128.1), (32.0, 135.0), (36.0, 140.2)] {
            let c = construct(d, 12.25, Rim::Hemispherical);
            let exact = 2.0 * (12.25 / d).acos().to_degrees();
            assert_relative_eq!(c.oscillation_angle().deg(), exact, epsilon = 1e-6);
            assert!((exact - expect).abs() < 0.05, "{d}: {exact}");
        }
    }

    #[test]
    fn chamfer_adds_twice_its_angle_and_a_lip_removes_range() {
        let plain = construct(32.0, 12.25, Rim::Hemispherical).oscillation_angle().deg();
        let ch = construct(32.0, 12.25, Rim::Chamfered { chamfer: Angle::from_deg(10.0) }).oscillation_angle().deg();
        assert_relative_eq!(ch, plain + 20.0, epsilon = 1e-6);
        let lip = Rim::Elevated { height_mm: 4.0, arc: Angle::from_deg(120.0), transition: Angle::from_deg(30.0), orientation: Angle::from_deg(45.0) };
        let el = construct(32.0, 12.25, lip).oscillation_angle().deg();
        // On the lip the rim sits asin(4/16) = 14.48 deg higher: the plane through its centre
        // loses exactly that on one side.
        assert_relative_eq!(el, plain - (4.0f64 / 16.0).asin().to_degrees(), epsilon = 0.01);
    }

    #[test]
    fn elevated_rim_search_matches_brute_force() {
        let lip = Rim::Elevated { height_mm: 3.0, arc: Angle::from_deg(90.0), transition: Angle::from_deg(40.0), orientation: Angle::from_deg(100.0) };
        let l = Liner::new(32.0, 44.0, lip).unwrap();
        for d in [Vector3::new(0.3, 0.5, 0.2), Vector3::new(-0.9, 0.1, 0.3), Vector3::new(0.0, -1.0, 0.5)] {
            let d = d.normalize();
            let brute = (0..200_000).map(|j| l.rim_point(TAU * j as f64 / 200_000.0).dot(&d)).fold(f64::NEG_INFINITY, f64::max);
            assert_relative_eq!(l.farthest_rim_point(&d).0, brute, epsilon = 1e-6);
        }
    }

    #[test]
    fn meshes_are_closed_with_the_right_volume() {
        let s = Shell::new(50.0, 3.0).unwrap();
        let m = s.mesh();
        assert!(m.is_watertight());
        let hemi = |r: f64| 2.0 / 3.0 * PI * r.powi(3);
        assert_relative_eq!(m.signed_volume_mm3(), hemi(25.0) - hemi(22.0), max_relative = 0.01);
        let h = Head::new(32.0, 0.0).unwrap().mesh();
        assert!(h.is_watertight());
        assert_relative_eq!(h.signed_volume_mm3(), 4.0 / 3.0 * PI * 16f64.powi(3), max_relative = 0.01);
        for rim in [
            Rim::Hemispherical,
            Rim::Chamfered { chamfer: Angle::from_deg(10.0) },
            Rim::Elevated { height_mm: 4.0, arc: Angle::from_deg(120.0), transition: Angle::from_deg(30.0), orientation: Angle::from_deg(0.0) },
        ] {
            let l = Liner::new(32.0, 44.0, rim).unwrap().mesh();
            assert!(l.is_watertight(), "{rim:?}");
            assert!(l.signed_volume_mm3() > 0.0);
        }
        let n = construct(32.0, 12.25, Rim::Hemispherical).neck();
        assert_relative_eq!(n.mesh().signed_volume_mm3(), PI * 6.125f64.powi(2) * (n.end_mm - n.start_mm), max_relative = 0.01);
    }

    #[test]
    fn parts_that_do_not_fit_are_errors() {
        assert!(matches!(Liner::new(36.0, 34.0, Rim::Hemispherical), Err(ImplantError::DoesNotFit { .. })));
        assert!(Shell::new(f64::NAN, 3.0).is_err());
        assert!(Head::new(28.0, f64::INFINITY).is_err());
        let shell = Shell::new(56.0, 3.0).unwrap();
        let liner = Liner::new(28.0, 50.0, Rim::Hemispherical).unwrap();
        let stem = Stem::new(Angle::from_deg(132.0), 40.0, 32.0, 12.25, Angle::from_deg(0.0)).unwrap();
        assert!(matches!(Construct::new(shell, liner.clone(), Head::new(32.0, 0.0).unwrap(), stem), Err(ImplantError::DoesNotFit { .. })));
        let fat = Stem::new(Angle::from_deg(132.0), 40.0, 32.0, 27.0, Angle::from_deg(0.0)).unwrap();
        assert!(Construct::new(shell, liner, Head::new(28.0, 0.0).unwrap(), fat).is_err());
    }
}
