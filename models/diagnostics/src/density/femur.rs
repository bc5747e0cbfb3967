//! The femur's density (DXA-equivalent regions from CT): its settings, the neck box and the measurement.

use super::*;

/// One value per DXA region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Regions {
    /// Femoral neck.
    pub neck: Option<f64>,
    /// Trochanter.
    pub trochanter: Option<f64>,
    /// Total hip.
    pub total_hip: Option<f64>,
}

/// Bone density of one femur.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FemurDensity {
    /// Which femur.
    pub side: Side,
    /// Integral vBMD, mg/cm³ hydroxyapatite-equivalent.
    pub vbmd_mg_cm3: Regions,
    /// DXA-equivalent aBMD, g/cm².
    pub abmd_g_cm2: Regions,
    /// T-scores (neck, total hip; trochanter has no reference here).
    pub t_score: Regions,
    /// YAM % (neck, total hip).
    pub yam_percent: Regions,
    /// Japanese criteria on the lower YAM % of neck and total hip, when measured.
    pub category: Option<String>,
    /// WHO category on the lower T-score.
    pub who_category: Option<String>,
    /// Metal or cut.
    pub flags: Vec<DensityFlag>,
    /// What was measured how, what was left out and why.
    pub notes: Vec<String>,
    /// Neck box centre along the neck axis from the head centre, mm.
    pub neck_box_centre_mm: Option<f64>,
    /// The neck's narrowest projected width, mm.
    pub neck_width_mm: Option<f64>,
    /// Bone areas of the regions, cm².
    pub area_cm2: Regions,
}

/// Settings of the femur measure.
#[derive(Debug, Clone, PartialEq)]
pub struct FemurDensitySettings {
    /// Pixel size of the projection, mm (0 = a quarter of the smallest voxel spacing, within
    /// 0.2..0.5 mm).
    pub pixel_mm: f64,
    /// The reference population.
    pub reference: ReferencePopulation,
    /// Mineral-equivalent density of the soft tissue around the bone, mg/cm³, subtracted from
    /// the partial-volume voxels just outside the label (`None`: the calibration's muscle
    /// equivalent, 0 without one).
    pub soft_tissue_mg_cm3: Option<f64>,
}

impl Default for FemurDensitySettings {
    fn default() -> Self {
        Self { pixel_mm: 0.0, reference: ReferencePopulation::nhanes3(), soft_tissue_mg_cm3: None }
    }
}

/// The voxel index ranges `[i, j, k]` (end exclusive, within the grid) of the box holding the
/// ball of `radius` mm about `centre`.
pub(super) fn ball_box(g: &coxa_core::Grid, centre: &Point3<f64>, radius: f64) -> [(usize, usize); 3] {
    let size = g.size();
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for corner in 0..8 {
        let d = Vector3::new(if corner & 1 == 0 { -radius } else { radius }, if corner & 2 == 0 { -radius } else { radius }, if corner & 4 == 0 { -radius } else { radius });
        let v = g.lps_to_voxel(&(centre + d));
        for a in 0..3 {
            lo[a] = lo[a].min(v[a]);
            hi[a] = hi[a].max(v[a]);
        }
    }
    std::array::from_fn(|a| {
        let n = size[a] as f64;
        ((lo[a].floor().max(0.0).min(n)) as usize, ((hi[a].ceil() + 1.0).max(0.0).min(n)) as usize)
    })
}

/// Measures the femur labelled `femur_id` in `labels` (on `ct`'s grid) with landmarks `femur`.
/// See the module docs.
pub fn femur_density(ct: &Volume, labels: &LabelMap, femur_id: u16, femur: &FemurLandmarks, cal: &Calibration, settings: &FemurDensitySettings) -> Result<FemurDensity, DensityError> {
    let side = femur.side.as_str();
    let fail = |why: String| DensityError::Femur { side, why };
    if !labels.grid().same_as(ct.grid(), 1e-3) {
        return Err(DensityError::GridMismatch);
    }
    finite(ct)?;
    let h = femur.head_centre.lps_mm;
    let s = femur.shaft_axis.direction_lps.try_normalize(1e-9).ok_or_else(|| fail("zero shaft axis".into()))?;
    let mut n = femur.neck_axis.direction_lps.try_normalize(1e-9).ok_or_else(|| fail("zero neck axis".into()))?;
    if (femur.shaft_axis.point_lps_mm - h).dot(&n) < 0.0 {
        n = -n;
    }
    let d = n.cross(&s).try_normalize(1e-6).ok_or_else(|| fail("neck and shaft axes are parallel".into()))?;
    let e2 = d.cross(&n);
    // Where the neck axis passes the shaft axis (closest approach), along n from the head centre.
    let a = femur.shaft_axis.point_lps_mm;
    let (b, c_, dd, e) = (n.dot(&s), n.dot(&(h - a)), s.dot(&(h - a)), 1.0 - n.dot(&s).powi(2));
    let t_shaft = if e > 1e-9 { (b * dd - c_) / e } else { 60.0 };
    let r_head = femur.head_radius_mm.max(5.0);
    let lt = femur.lesser_trochanter.lps_mm;
    let height = |p: &Point3<f64>| (p - lt).dot(&s);

    let g = ct.grid();
    let sp = g.spacing_mm();
    let pixel = if settings.pixel_mm > 0.0 { settings.pixel_mm } else { (sp.min() / 4.0).clamp(0.2, 0.5) };
    // The region of interest: within a box around the head, neck and trochanters.
    let extent = (t_shaft + 40.0).max(r_head + 60.0);
    let voxel_vol_mm3 = sp.x * sp.y * sp.z;
    let lab = labels.labels();
    // HU voxel by voxel in the CT's own type (no f32 copy of an i16 CT: 1 GB at 512 x 512 x 1000).
    let hu = |k: usize, j: usize, i: usize| ct.hu_at([k, j, i]);
    let [ni, nj, nk] = g.size();
    let mut flags = Vec::new();
    let mut notes = Vec::new();
    // Voxels of the femur near the hip: (centre, mineral density mg/cm³).
    let mut vox: Vec<(Point3<f64>, f64)> = Vec::new();
    let mut metal = 0usize;
    let mut touches_border = false;
    // Partial-volume voxels just outside the label (6-neighbours of it, unlabelled): their mineral
    // above the soft tissue around the bone, `shell`, belongs to the bone's mass.
    let baseline = settings.soft_tissue_mg_cm3.unwrap_or_else(|| cal.references.iter().find(|r| r.name == "muscle").map_or(0.0, |r| r.equivalent_mg_cm3));
    let mut shell: Vec<(Point3<f64>, f64)> = Vec::new();
    // Only voxels within `extent` of the head centre are taken: the loops run over the box of
    // that ball (a full-length CT holds a billion voxels; the ball some millions).
    let [(i0, i1), (j0, j1), (k0, k1)] = ball_box(g, &h, extent + sp.max());
    for k in k0..k1 {
        for j in j0..j1 {
            for i in i0..i1 {
                let l = lab[[k, j, i]];
                if l != femur_id {
                    if l == 0 || MUSCLE_LABELS.contains(&l) {
                        let next = [(1i64, 0i64, 0i64), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)].iter().any(|&(di, dj, dk)| {
                            let (a, b, c) = (i as i64 + di, j as i64 + dj, k as i64 + dk);
                            a >= 0 && b >= 0 && c >= 0 && (a as usize) < ni && (b as usize) < nj && (c as usize) < nk && lab[[c as usize, b as usize, a as usize]] == femur_id
                        });
                        if next {
                            let p = g.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
                            let v = hu(k, j, i);
                            let rho = cal.mg_cm3(f64::from(v)) - baseline;
                            if rho > 0.0 && (p - h).norm() <= extent && v <= METAL_HU {
                                shell.push((p, rho));
                            }
                        }
                    }
                    continue;
                }
                let p = g.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
                let r = p - h;
                if r.norm() > extent || height(&p) < -TOTAL_HIP_BELOW_LT_MM - 15.0 {
                    continue;
                }
                let v = hu(k, j, i);
                if v > METAL_HU {
                    metal += 1;
                }
                if i == 0 || j == 0 || k == 0 || i + 1 == ni || j + 1 == nj || k + 1 == nk {
                    touches_border = true;
                }
                vox.push((p, cal.mg_cm3(f64::from(v))));
            }
        }
    }
    if vox.is_empty() {
        return Err(fail(format!("no voxel of label {femur_id} near the femoral head")));
    }
    let empty = FemurDensity {
        side: femur.side,
        vbmd_mg_cm3: Regions::default(),
        abmd_g_cm2: Regions::default(),
        t_score: Regions::default(),
        yam_percent: Regions::default(),
        category: None,
        who_category: None,
        flags: Vec::new(),
        notes: Vec::new(),
        neck_box_centre_mm: None,
        neck_width_mm: None,
        area_cm2: Regions::default(),
    };
    if metal > 0 {
        return Ok(FemurDensity {
            flags: vec![DensityFlag::Metal],
            notes: vec![format!(
                "{metal} femur voxels above {METAL_HU} HU in the proximal femur (a screw, nail, plate or prosthesis): metal and its streaks falsify the density, so this femur is not measured"
            )],
            ..empty
        });
    }
    // The scan must reach below the total hip's lower edge on the shaft axis.
    let low = a + s * ((lt - a).dot(&s) - TOTAL_HIP_BELOW_LT_MM);
    let vlow = g.lps_to_voxel(&low);
    let low_inside = (0..3).all(|x| vlow[x] >= 0.0 && vlow[x] <= ([ni, nj, nk][x] - 1) as f64);
    let cut = !low_inside || touches_border;
    if cut {
        flags.push(DensityFlag::Cut);
        notes.push(if low_inside {
            "the femur touches the scan's border near the hip: regions reaching the border are incomplete".into()
        } else {
            format!("the scan ends above {TOTAL_HIP_BELOW_LT_MM} mm below the lesser trochanter: no total hip")
        });
    }

    // Projection onto (t, w): t along n from the head centre, w along e2.
    let t_min = -r_head - 5.0;
    let t_max = extent;
    let w_half = extent;
    let nt = ((t_max - t_min) / pixel).ceil() as usize + 1;
    let nw = (2.0 * w_half / pixel).ceil() as usize + 1;
    if nt.saturating_mul(nw) > 64_000_000 {
        return Err(fail(format!("the projection would need {nt} x {nw} pixels; use a larger pixel size")));
    }
    let sub = ((sp.max() / pixel).ceil() as usize).clamp(1, 8);
    let dirs = g.direction();
    let axes: Vec<Vector3<f64>> = (0..3).map(|x| dirs.column(x) * sp[x]).collect();
    let mut mass = vec![0.0f64; nt * nw]; // mg
    let mut path = vec![0.0f64; nt * nw]; // mm
    let sub_vol = voxel_vol_mm3 / (sub * sub * sub) as f64;
    let pix_area = pixel * pixel;
    let to_pixel = |p: &Point3<f64>| -> Option<usize> {
        let r = p - h;
        let (t, w) = (r.dot(&n), r.dot(&e2));
        let it = ((t - t_min) / pixel).floor();
        let iw = ((w + w_half) / pixel).floor();
        (it >= 0.0 && iw >= 0.0 && (it as usize) < nt && (iw as usize) < nw).then(|| it as usize * nw + iw as usize)
    };
    for (is_bone, (p, rho)) in vox.iter().map(|v| (true, v)).chain(shell.iter().map(|v| (false, v))) {
        let m = rho * 1e-3 * sub_vol; // mg/cm³ -> mg/mm³, times mm³
        for a3 in 0..sub {
            for a2 in 0..sub {
                for a1 in 0..sub {
                    let f = |q: usize| (q as f64 + 0.5) / sub as f64 - 0.5;
                    let q = p + axes[0] * f(a1) + axes[1] * f(a2) + axes[2] * f(a3);
                    if let Some(ix) = to_pixel(&q) {
                        mass[ix] += m;
                        if is_bone {
                            path[ix] += sub_vol / pix_area;
                        }
                    }
                }
            }
        }
    }
    let bone = |ix: usize| path[ix] >= MIN_BONE_PATH_MM;
    let t_of = |it: usize| t_min + (it as f64 + 0.5) * pixel;
    let w_of = |iw: usize| -w_half + (iw as f64 + 0.5) * pixel;
    let iw0 = ((w_half) / pixel).floor() as usize;
    // The run of bone pixels across the neck axis at column it.
    let run = |it: usize| -> Option<(usize, usize)> {
        let base = it * nw;
        let reach = ((10.0 / pixel).ceil() as usize).min(iw0);
        let start = (0..=reach).flat_map(|o| [iw0 - o, iw0 + o]).find(|&iw| iw < nw && bone(base + iw))?;
        let mut lo = start;
        while lo > 0 && bone(base + lo - 1) {
            lo -= 1;
        }
        let mut hi = start;
        while hi + 1 < nw && bone(base + hi + 1) {
            hi += 1;
        }
        Some((lo, hi))
    };
    let search_lo = r_head;
    let search_hi = t_shaft - 5.0;
    let half = NECK_BOX_MM / 2.0;
    let mut best: Option<(f64, f64)> = None; // (width, centre t)
    if search_hi - search_lo >= NECK_BOX_MM {
        let widths: Vec<(f64, f64)> = (0..nt).filter(|&it| t_of(it) >= search_lo && t_of(it) <= search_hi).filter_map(|it| run(it).map(|(lo, hi)| (t_of(it), (hi - lo + 1) as f64 * pixel))).collect();
        // Narrowest box-averaged width with the whole box inside the search range.
        for &(tc, _) in &widths {
            if tc - half < search_lo || tc + half > search_hi {
                continue;
            }
            let inside: Vec<f64> = widths.iter().filter(|(t, _)| (t - tc).abs() <= half).map(|(_, w)| *w).collect();
            if inside.is_empty() {
                continue;
            }
            let mean = inside.iter().sum::<f64>() / inside.len() as f64;
            if best.is_none_or(|(bw, _)| mean < bw) {
                best = Some((mean, tc));
            }
        }
    }
    let Some((neck_width, tc)) = best else {
        notes.push(format!("no femoral neck {NECK_BOX_MM} mm long between the head and the shaft (neck axis {:.0} mm from the head centre to the shaft axis)", t_shaft));
        return Ok(FemurDensity { flags, notes, ..empty });
    };
    // Region masks over the projection.
    let (box_lo, box_hi) = (tc - half, tc + half);
    let mut region = vec![0u8; nt * nw]; // 0 none, 1 neck, 2 trochanter, 3 intertrochanteric
    for it in 0..nt {
        let t = t_of(it);
        if t < box_lo {
            continue;
        }
        let neck_run = if t <= box_hi { run(it) } else { None };
        for iw in 0..nw {
            let ix = it * nw + iw;
            if !bone(ix) {
                continue;
            }
            let q = h + n * t + e2 * w_of(iw);
            let z = height(&q);
            if z < -TOTAL_HIP_BELOW_LT_MM {
                continue;
            }
            region[ix] = if t <= box_hi {
                if neck_run.is_some_and(|(lo, hi)| (lo..=hi).contains(&iw)) { 1 } else { 3 }
            } else if z >= 0.0 {
                2
            } else {
                3
            };
        }
    }
    // aBMD and area per region (total hip = 1 + 2 + 3).
    let mut m_r = [0.0f64; 4];
    let mut a_r = [0.0f64; 4];
    for ix in 0..nt * nw {
        let r = region[ix] as usize;
        if r > 0 {
            m_r[r] += mass[ix];
            a_r[r] += pix_area;
        }
    }
    // vBMD: voxels whose centres project into a region.
    let mut vm = [0.0f64; 4];
    let mut vv = [0.0f64; 4];
    for (is_bone, (p, rho)) in vox.iter().map(|v| (true, v)).chain(shell.iter().map(|v| (false, v))) {
        if let Some(ix) = to_pixel(p) {
            let r = region[ix] as usize;
            if r > 0 {
                vm[r] += rho * voxel_vol_mm3;
                if is_bone {
                    vv[r] += voxel_vol_mm3;
                }
            }
        }
    }
    let total = |x: &[f64; 4]| x[1] + x[2] + x[3];
    // mg/mm² -> g/cm²: x 100 / 1000.
    let abmd = |m: f64, a: f64| (a > 0.0).then(|| m / a * 0.1);
    let vbmd = |m: f64, v: f64| (v > 0.0).then(|| m / v);
    let total_hip_ok = !cut;
    let reference = &settings.reference;
    let abmd_r = Regions { neck: abmd(m_r[1], a_r[1]), trochanter: abmd(m_r[2], a_r[2]), total_hip: if total_hip_ok { abmd(total(&m_r), total(&a_r)) } else { None } };
    let vbmd_r = Regions { neck: vbmd(vm[1], vv[1]), trochanter: vbmd(vm[2], vv[2]), total_hip: if total_hip_ok { vbmd(total(&vm), total(&vv)) } else { None } };
    let t_score = Regions { neck: abmd_r.neck.map(|v| reference.t_score(false, v)), trochanter: None, total_hip: abmd_r.total_hip.map(|v| reference.t_score(true, v)) };
    let yam = Regions { neck: abmd_r.neck.map(|v| reference.yam_percent(false, v)), trochanter: None, total_hip: abmd_r.total_hip.map(|v| reference.yam_percent(true, v)) };
    let lowest = |r: &Regions| [r.neck, r.total_hip].into_iter().flatten().reduce(f64::min);
    notes.push(format!(
        "neck box {NECK_BOX_MM} mm at {tc:.1} mm from the head centre (narrowest neck {neck_width:.1} mm); projection along n x s, {pixel:.2} mm pixels; T-score against {}; YAM against {}",
        reference.name, reference.yam_source
    ));
    Ok(FemurDensity {
        side: femur.side,
        vbmd_mg_cm3: vbmd_r,
        abmd_g_cm2: abmd_r,
        t_score,
        yam_percent: yam,
        category: lowest(&yam).map(|v| japanese_category(v).to_string()),
        who_category: lowest(&t_score).map(|v| who_category(v).to_string()),
        flags,
        notes,
        neck_box_centre_mm: Some(tc),
        neck_width_mm: Some(neck_width),
        area_cm2: Regions { neck: Some(a_r[1] / 100.0), trochanter: Some(a_r[2] / 100.0), total_hip: total_hip_ok.then(|| total(&a_r) / 100.0) },
    })
}
