//! The builder of a hip model: bones, implants, options, and the checks made before a model exists.

use super::*;

impl HipModelBuilder {
    /// Cup orientation in the pelvic frame, any Murray definition. Default radiographic 40/20.
    pub fn cup(mut self, angles: CupAngles) -> Self {
        self.cup = angles;
        self
    }
    /// Stem anteversion about the shaft axis relative to the condylar line. Default 15 deg.
    pub fn stem_anteversion(mut self, a: Angle) -> Self {
        self.stem_anteversion = a;
        self
    }
    /// The pelvic frame. Default: parallel to LPS at the origin; with bones, theirs.
    pub fn pelvic_frame(mut self, frame: PelvicFrame) -> Self {
        self.frame = frame;
        self
    }
    /// The hip (cup) centre, LPS mm. Default: the pelvic frame's origin without bones; with bones
    /// the centre they were prepared for.
    pub fn hip_centre_lps_mm(mut self, c: Point3<f64>) -> Self {
        self.hip_centre_lps_mm = Some(c);
        self
    }
    /// The femoral frame the stem is placed in (e.g. a femur's, for implants alone without its
    /// bone). Default: the bones' frame, else parallel to LPS.
    pub fn femoral_frame(mut self, f: FemoralFrame) -> Self {
        self.femoral = Some(f);
        self
    }
    /// Bone geometry prepared with [`BoneGeometry::new`] (shared between models). Default none.
    pub fn bones(mut self, bones: Arc<BoneGeometry>) -> Self {
        self.bones = Some(bones);
        self
    }
    /// A user's cup (liner) instead of the catalog liner ([`crate::user_parts`]); its bearing
    /// must fit the construct's head.
    pub fn user_cup(mut self, cup: Arc<UserCup>) -> Self {
        self.user_cup = Some(cup);
        self
    }
    /// A user's stem instead of the catalog stem's neck ([`crate::user_parts`]): its own CCD
    /// angle and neck shape.
    pub fn user_stem(mut self, stem: Arc<UserStem>) -> Self {
        self.user_stem = Some(stem);
        self
    }
    /// Checks the angles and places the implants.
    pub fn build(&self) -> Result<HipModel> {
        finite_in("cup inclination (deg)", self.cup.inclination.deg(), -90.0, 90.0)?;
        finite_in("cup anteversion (deg)", self.cup.anteversion.deg(), -60.0, 90.0)?;
        finite_in("stem anteversion (deg)", self.stem_anteversion.deg(), -60.0, 90.0)?;
        let side = self.side;
        let s = side.lateral_sign();
        let c_pel = match (&self.bones, self.hip_centre_lps_mm) {
            (Some(b), _) => b.pelvis.hip_centre_pelvic_mm,
            (None, Some(c)) => self.frame.point_to_pelvic(&c),
            (None, None) => Point3::origin(),
        };
        // Liner frame: +z the cup axis, +x the pelvic superior direction in the face plane,
        // +y turning from it towards posterior.
        let z = self.cup.axis(side);
        let x = (Vector3::z() - z * z.z).try_normalize(1e-6).unwrap_or_else(|| (Vector3::y() - z * z.y).normalize());
        let mut y = z.cross(&x);
        if y.y < 0.0 || (y.y.abs() < 1e-9 && y.x * s > 0.0) {
            y = -y;
        }
        let liner_from_hip = Matrix3::from_rows(&[x.transpose(), y.transpose(), z.transpose()]);
        // Stem: shaft along the anatomical shaft axis (in the femoral frame), neck at the CCD
        // angle towards medial, turned about the shaft by the anteversion (head anterior).
        let femoral = self.femoral.or(self.bones.as_ref().map(|b| b.femur.femoral)).unwrap_or_else(|| FemoralFrame::aligned(Point3::origin()));
        let shaft = (femoral.femur_from_lps * femoral.shaft_axis_lps).normalize();
        let medial = (Vector3::x() * -s - shaft * (shaft.x * -s)).normalize();
        let ccd = self.user_stem.as_ref().map_or(self.construct.stem.ccd, |u| u.ccd).rad();
        let to_head = -shaft * ccd.cos() + medial * ccd.sin();
        let turn = Rotation3::from_axis_angle(&Unit::new_normalize(shaft), s * self.stem_anteversion.rad());
        let neck_dir_femoral = -(turn * to_head);
        // User parts: exact mesh contact between the liner and the neck.
        let head_r = self.construct.head.diameter_mm / 2.0;
        if let Some(c) = &self.user_cup
            && (c.inner_radius_mm - head_r).abs() > 0.05
        {
            return Err(SimError::InvalidInput {
                what: "user cup bearing diameter (mm)".into(),
                value: 2.0 * c.inner_radius_mm,
                why: format!("does not fit the {} mm head; choose the head for this cup", self.construct.head.diameter_mm),
            });
        }
        // The catalog stem's frame (gauge point, +z the neck towards the stem, +x the shaft's
        // side) in the femoral frame.
        let femoral_from_catalog_stem = crate::user_parts::frame_from(&neck_dir_femoral, Some(&-shaft)).transpose();
        let exact = if self.user_cup.is_some() || self.user_stem.is_some() {
            let cup = match &self.user_cup {
                Some(c) => c.clone(),
                None => UserCup::shared_liner(&self.construct.liner)?,
            };
            let (neck, hull_hash, femoral_from_stem) = match &self.user_stem {
                Some(u) => (Arc::new(u.hull.clone()), u.hull_hash, u.femoral_from_stem(&neck_dir_femoral, &shaft)),
                None => {
                    let hull = crate::user_parts::catalog_neck_hull(&self.construct)?;
                    let h = crate::user_parts::hash_hull(&hull);
                    (Arc::new(hull), h, femoral_from_catalog_stem)
                }
            };
            let fast = cup.fast_pair(&neck, hull_hash);
            Some(ExactImplants { cup, neck, fast, femoral_from_stem })
        } else {
            None
        };
        // Neck surface points beyond the head, for contact with bone.
        let pts = match (&self.user_stem, &exact) {
            (Some(u), Some(e)) => u.neck_points.iter().map(|p| e.femoral_from_stem * p).collect(),
            _ => {
                let neck = self.construct.neck();
                let a = neck_dir_femoral;
                let u = a.cross(&if a.x.abs() < 0.9 { Vector3::x() } else { Vector3::y() }).normalize();
                let v = a.cross(&u);
                let mut pts = Vec::new();
                let mut sdist = neck.start_mm;
                while sdist <= neck.end_mm + 1e-9 {
                    let rr = neck.radius_at(sdist);
                    for k in 0..16 {
                        let t = std::f64::consts::TAU * k as f64 / 16.0;
                        pts.push(a * sdist + (u * t.cos() + v * t.sin()) * rr);
                    }
                    sdist += 2.0;
                }
                pts
            }
        };
        Ok(HipModel {
            side,
            frame: self.bones.as_ref().map_or(self.frame, |b| b.pelvis.frame),
            hip_centre_pelvic_mm: c_pel,
            construct: self.construct.clone(),
            cup: self.cup,
            stem_anteversion: self.stem_anteversion,
            liner_from_hip,
            neck_dir_femoral,
            neck_points: PointClusters::new(&pts, 8.0),
            femoral,
            bones: self.bones.clone(),
            exact,
            user_stem: self.user_stem.clone(),
            femoral_from_catalog_stem,
        })
    }
}
