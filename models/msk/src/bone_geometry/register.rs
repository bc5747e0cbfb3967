//! Registering a generic bone onto the patient's: the rigid start, the non-rigid warp and its report.

use super::*;

pub(super) fn input_err(what: String) -> MskError {
    MskError::Model { what }
}

/// Midpoint subdivision: every triangle into four.
pub(super) fn subdivide(v: &[Point3<f64>], f: &[[u32; 3]]) -> (Vec<Point3<f64>>, Vec<[u32; 3]>) {
    let mut verts = v.to_vec();
    let mut mid = std::collections::HashMap::new();
    let mut m = |a: u32, b: u32, verts: &mut Vec<Point3<f64>>| -> u32 {
        let key = (a.min(b), a.max(b));
        *mid.entry(key).or_insert_with(|| {
            verts.push(nalgebra::center(&verts[a as usize], &verts[b as usize]));
            (verts.len() - 1) as u32
        })
    };
    let mut faces = Vec::with_capacity(f.len() * 4);
    for &[a, b, c] in f {
        let (ab, bc, ca) = (m(a, b, &mut verts), m(b, c, &mut verts), m(c, a, &mut verts));
        faces.extend([[a, ab, ca], [ab, b, bc], [ca, bc, c], [ab, bc, ca]]);
    }
    (verts, faces)
}

pub(super) fn signed_volume(v: &[Point3<f64>], f: &[[u32; 3]]) -> f64 {
    f.iter().map(|t| v[t[0] as usize].coords.dot(&v[t[1] as usize].coords.cross(&v[t[2] as usize].coords)) / 6.0).sum()
}

pub(super) fn rms(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), d| (s + d * d, n + 1));
    if n == 0 { 0.0 } else { (s / n as f64).sqrt() }
}

/// Registers one bone (see the module docs) and returns the warp of its space.
///
/// # Errors
/// [`MskError::Model`] for empty or non-finite surfaces, a start too far off (too few matches)
/// or a field that cannot be solved.
pub fn register_bone(input: &BoneInput, options: &WarpOptions) -> Result<BoneWarp> {
    let body = input.body.to_string();
    let (gv, gf) = (input.generic_m.vertices(), input.generic_m.triangles());
    let (pv, pf) = (input.patient_mm.vertices(), input.patient_mm.triangles());
    if gv.len() < 10 || gf.is_empty() || pv.len() < 10 || pf.is_empty() {
        return Err(input_err(format!("bone {body}: the generic and the patient's surfaces each need a mesh (10+ vertices and triangles)")));
    }
    // Template in mm, outward, subdivided.
    let mut tv: Vec<Point3<f64>> = gv.iter().map(|p| m_to_mm(*p)).collect();
    let mut tf: Vec<[u32; 3]> = gf.to_vec();
    if signed_volume(&tv, &tf) < 0.0 {
        tf.iter_mut().for_each(|t| t.swap(1, 2));
    }
    while tv.len() < options.min_template_vertices {
        (tv, tf) = subdivide(&tv, &tf);
    }
    let mut pfaces = pf.to_vec();
    if signed_volume(pv, &pfaces) < 0.0 {
        pfaces.iter_mut().for_each(|t| t.swap(1, 2));
    }
    let target = Surface::new(pv, &pfaces);
    let step = pv.len().div_ceil(4000).max(1);
    let back: Vec<Point3<f64>> = pv.iter().step_by(step).copied().collect();

    // 1. Similarity ICP. The template's surface is built once in its own frame and the
    // patient's points are taken there by the inverse pose (a similarity maps nearest points to
    // nearest points and scales distances by its scale); every point starts its search at its
    // last match.
    let template = Surface::new(&tv, &tf);
    let (mut back_hint, mut forward_hint) = (vec![None; back.len()], vec![None; tv.len()]);
    let mut t = input.init;
    let mut sim_rms = f64::NAN;
    let rounds = options.similarity_rounds.max(1);
    let mut previous: Option<Vec<Point3<f64>>> = None;
    let mut round = 0;
    loop {
        let posed: Vec<Point3<f64>> = tv.iter().map(|p| t.apply(p)).collect();
        let inverse = t.inverse();
        // Wider matches in the first rounds, while the start may be off.
        let wide = round < options.similarity_rounds / 3;
        let reach = if wide { 2.0 * options.match_distance_mm } else { options.match_distance_mm };
        // Converged: the last update moved no template vertex by more than a hundredth of a
        // mm (ICP's later rounds only creep); the report's distances are taken once more.
        let settled = !wide && previous.as_ref().is_some_and(|old| old.iter().zip(&posed).all(|(a, b)| (a - b).norm_squared() < 1e-4));
        let last = round + 1 >= rounds || settled;
        let (mut from, mut to) = (Vec::new(), Vec::new());
        // The last round's distances of all points are the report's; before it only matches.
        let found: Vec<Option<Nearest>> = template.par_hinted(&back_hint, |i| {
            let g = inverse.apply(&back[i]);
            if last { template.nearest_from(&g, back_hint[i]) } else { template.nearest_within(&g, back_hint[i], reach / t.scale) }
        });
        let mut d2 = Vec::new();
        for ((q, m), hint) in back.iter().zip(&found).zip(back_hint.iter_mut()) {
            if let Some(m) = m {
                *hint = Some(m.face);
                let distance_mm = m.distance_mm * t.scale;
                d2.push(distance_mm);
                if distance_mm <= reach {
                    from.push(m.point);
                    to.push(*q);
                }
            }
        }
        if last {
            sim_rms = rms(d2.into_iter());
        }
        let found: Vec<Option<Nearest>> = target.par_hinted(&forward_hint, |i| target.nearest_within(&posed[i], forward_hint[i], reach));
        for ((g, m), hint) in tv.iter().zip(&found).zip(forward_hint.iter_mut()) {
            if let Some(m) = m {
                *hint = Some(m.face);
                from.push(*g);
                to.push(m.point);
            }
        }
        if from.len() < 20 {
            return Err(input_err(format!(
                "bone {body}: only {} surface matches within {reach} mm after the initial pose; the landmarks that place the generic bone do not fit its surface",
                from.len()
            )));
        }
        t = Pose::between(&from, &to, true);
        round += 1;
        if last {
            break;
        }
        previous = Some(posed);
    }
    // 2. Non-rigid on the imaged part.
    let posed: Vec<Point3<f64>> = tv.iter().map(|p| t.apply(p)).collect();
    let keep: Vec<bool> = target.par_hinted(&forward_hint, |i| target.nearest_within(&posed[i], forward_hint[i], options.crop_distance_mm).is_some());
    let mut index = vec![u32::MAX; tv.len()];
    let mut kept = Vec::new();
    for (i, k) in keep.iter().enumerate() {
        if *k {
            index[i] = kept.len() as u32;
            kept.push(i);
        }
    }
    let kf: Vec<[u32; 3]> = tf.iter().filter(|f| f.iter().all(|&i| keep[i as usize])).map(|f| f.map(|i| index[i as usize])).collect();
    if kept.len() < 50 || kf.len() < 20 {
        return Err(input_err(format!("bone {body}: only {} template vertices lie on the patient's surface after the similarity; is it the same bone?", kept.len())));
    }
    let kv: Vec<Point3<f64>> = kept.iter().map(|&i| posed[i]).collect();
    let reg = register_onto(&kv, &kf, pv, &pfaces, &target, &Pose::identity(), &options.register).map_err(|e| input_err(format!("bone {body}: the non-rigid registration failed: {e}")))?;
    // The registration's own rigid step comes after the similarity.
    let similarity = Pose { rotation: reg.rigid.rotation * t.rotation, translation_mm: reg.rigid.rotation * t.translation_mm + reg.rigid.translation_mm, scale: t.scale * reg.rigid.scale };
    let generic: Vec<Point3<f64>> = kept.iter().map(|&i| tv[i]).collect();
    let base: Vec<Point3<f64>> = generic.iter().map(|p| similarity.apply(p)).collect();
    let disp: Vec<Vector3<f64>> = reg.vertices.iter().zip(&base).map(|(r, b)| r - b).collect();

    // 3. Gaussian field through a subsample.
    let stride = base.len().div_ceil(options.max_centres.max(1)).max(1);
    let idx: Vec<usize> = (0..base.len()).step_by(stride).collect();
    let n = idx.len();
    let s2 = 2.0 * options.sigma_mm * options.sigma_mm;
    let k = DMatrix::from_fn(n, n, |i, j| (-(base[idx[i]] - base[idx[j]]).norm_squared() / s2).exp() + if i == j { options.ridge } else { 0.0 });
    let rhs = DMatrix::from_fn(n, 3, |i, c| disp[idx[i]][c]);
    let w = k.cholesky().ok_or_else(|| input_err(format!("bone {body}: the displacement field's kernel is not positive definite")))?.solve(&rhs);
    let centres: Vec<Point3<f64>> = idx.iter().map(|&i| base[i]).collect();
    let weights: Vec<Vector3<f64>> = (0..n).map(|i| Vector3::new(w[(i, 0)], w[(i, 1)], w[(i, 2)])).collect();
    let mut warp = BoneWarp {
        body: body.clone(),
        similarity,
        centres,
        weights,
        sigma_mm: options.sigma_mm,
        origin_mm: Point3::origin(),
        rotation: similarity.rotation,
        report: RegistrationReport {
            body,
            scale: similarity.scale,
            similarity_rms_mm: sim_rms,
            template_vertices: tv.len(),
            registered_vertices: kept.len(),
            mean_mm: 0.0,
            rms_mm: 0.0,
            max_mm: 0.0,
            patient_to_template_rms_mm: 0.0,
            field_rms_mm: 0.0,
            origin_offset_mm: None,
        },
    };
    let warped_origin = warp.warp_mm(&Point3::origin());
    warp.origin_mm = input.origin_mm.unwrap_or(warped_origin);
    // The report's distances: searches in parallel, sums in order.
    let dist: Vec<f64> = reg.vertices.par_iter().map(|p| target.distance(p)).collect();
    let regsurf = Surface::new(&reg.vertices, &kf);
    let r = &mut warp.report;
    r.mean_mm = dist.iter().sum::<f64>() / dist.len() as f64;
    r.rms_mm = rms(dist.iter().copied());
    r.max_mm = dist.iter().copied().fold(0.0, f64::max);
    r.patient_to_template_rms_mm = rms(back.par_iter().map(|q| regsurf.distance(q)).collect::<Vec<_>>().into_iter());
    r.origin_offset_mm = input.origin_mm.map(|o| (o - warped_origin).norm());
    let field = rms(generic.par_iter().zip(&reg.vertices).map(|(g, p)| (warp.warp_mm(g) - p).norm()).collect::<Vec<_>>().into_iter());
    warp.report.field_rms_mm = field;
    Ok(warp)
}

impl BoneWarp {
    /// A generic body-frame point (mm) on the patient (mm).
    pub fn warp_mm(&self, generic_mm: &Point3<f64>) -> Point3<f64> {
        let x = self.similarity.apply(generic_mm);
        let s2 = 2.0 * self.sigma_mm * self.sigma_mm;
        let d: Vector3<f64> = self.centres.iter().zip(&self.weights).map(|(c, w)| w * (-(x - c).norm_squared() / s2).exp()).sum();
        x + d
    }

    /// A generic body-frame location (m) in the personalised body frame (m).
    pub fn to_body_m(&self, generic_m: &Vector3<f64>) -> Vector3<f64> {
        let p = self.warp_mm(&Point3::from(m_to_mm(*generic_m)));
        mm_to_m(self.rotation.inverse() * (p - self.origin_mm))
    }

    /// The Jacobian of [`Self::to_body_m`] at a generic location (m): personalised per generic
    /// body-frame length (central differences of 0.5 mm).
    pub fn jacobian(&self, generic_m: &Vector3<f64>) -> Matrix3<f64> {
        let h = 0.0005;
        let mut j = Matrix3::zeros();
        for a in 0..3 {
            let mut e = Vector3::zeros();
            e[a] = h;
            j.set_column(a, &((self.to_body_m(&(generic_m + e)) - self.to_body_m(&(generic_m - e))) / (2.0 * h)));
        }
        j
    }
}
