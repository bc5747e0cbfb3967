//! The femoral canal from the CT's cortical bone: endosteal (inner cortical) widths at the levels
//! a femoral stem fills, the canal flare index and the Dorr type.
//!
//! **Frame.** The femur's shaft frame: `u` the anatomical shaft axis (proximal), `ml` the medial
//! direction (patient -x on the right, +x on the left, made perpendicular to `u`: the direction
//! an anteroposterior radiograph sees widths in), `ap = u x ml`. Levels are heights along `u`
//! relative to the lesser trochanter's projection on the shaft axis (positive proximal).
//!
//! **Levels** (Noble et al., Clin Orthop 1988;235:148-165; Dorr et al., Bone 1993;14:231-242):
//! the lesser trochanter (LT), 20 mm above it (the metaphysis, Noble's proximal level), every
//! 5 mm below it to the last imaged section, the isthmus (the narrowest mediolateral canal below
//! LT - 20 mm, on the profile smoothed over three levels) and 100 mm below the LT (Dorr's level).
//!
//! **Edges.** In each section the canal centre starts on the shaft axis. Along the lines through
//! it in `ml` and `ap`, the HU profile (trilinear, 0.25 mm steps) is walked outwards up to the
//! femur label's periosteal exit; the endosteal edge is where the profile first reaches half way
//! from the canal's own HU (the median within 2 mm of the centre) to the cortex's peak on that
//! ray (a half-maximum edge, robust to the partial volume of a thin cortex in coarse voxels).
//! The centre is moved to the middle of the four edges and the edges found again (four times).
//! The width is the chord through the final centre: for a convex canal it is its extent, the
//! endosteal width a radiograph shows. The periosteal width is the femur label's extent on the
//! same line. A cortex must stand at least [`MIN_CORTEX_CONTRAST_HU`] above the canal, else the
//! level is not measured.
//!
//! **Indices.** Canal flare index CFI = ML canal width at LT + 20 mm / ML canal width at the
//! isthmus (Noble 1988: < 3 stovepipe, 3-4.7 normal, > 4.7 champagne flute). Dorr's
//! canal-calcar ratio = ML canal width 100 mm below the LT / at the LT (type A < 0.5, B 0.5-0.75,
//! C > 0.75); the cortical index there = (outer - canal) / outer.
//!
//! **Metal.** A section with a voxel above [`METAL_HU`] within 40 mm of the shaft axis is not
//! measured (a screw, plate, nail or prosthesis: the HU profile is the implant's and its
//! streaks); the canal is then flagged `Uncertain` and the planner falls back (its docs say how).
//!
//! Written here rather than taken from a crate: no Rust crate measures cortical canals; the
//! steps are a trilinear sampler and 1-D edge search over a handful of lines per level.

use coxa_core::canal::{CanalLevel, DorrType, FemoralCanal};
use coxa_core::{LabelMap, Volume};
use nalgebra::{Point3, Vector3};

use super::{FemurLandmarks, LandmarkError, Quality, Source, perpendicular};

/// HU above which a voxel counts as metal.
pub const METAL_HU: f32 = 2500.0;
/// The cortex must stand this far above the canal's HU on a ray, HU.
pub const MIN_CORTEX_CONTRAST_HU: f64 = 250.0;
/// Step along a ray, mm.
const STEP_MM: f64 = 0.25;
/// Longest ray from the canal centre, mm.
const MAX_RAY_MM: f64 = 120.0;
/// Levels below the lesser trochanter, every this many mm.
const PROFILE_STEP_MM: f64 = 5.0;
/// Noble's metaphyseal level above the lesser trochanter, mm.
pub const METAPHYSIS_ABOVE_LT_MM: f64 = 20.0;
/// Dorr's diaphyseal level below the lesser trochanter, mm.
pub const DORR_BELOW_LT_MM: f64 = 100.0;

/// HU and label sampling of one CT.
struct Sampler<'a> {
    ct: &'a Volume,
    labels: &'a LabelMap,
    femur_id: u16,
}

impl Sampler<'_> {
    /// Trilinear HU at `p`, `None` outside the grid.
    fn hu(&self, p: &Point3<f64>) -> Option<f64> {
        let v = self.ct.grid().lps_to_voxel(p);
        let size = self.ct.grid().size();
        let mut base = [0usize; 3];
        let mut frac = [0f64; 3];
        for a in 0..3 {
            if !(v[a] >= 0.0 && v[a] <= (size[a] - 1) as f64) {
                return None;
            }
            let f = v[a].floor().min((size[a].max(2) - 2) as f64);
            base[a] = f as usize;
            frac[a] = v[a] - f;
        }
        let mut sum = 0.0;
        for corner in 0..8usize {
            let (di, dj, dk) = (corner & 1, (corner >> 1) & 1, (corner >> 2) & 1);
            let w = [(di, 0), (dj, 1), (dk, 2)].iter().map(|&(d, a)| if d == 1 { frac[a] } else { 1.0 - frac[a] }).product::<f64>();
            if w > 0.0 {
                let (i, j, k) = ((base[0] + di).min(size[0] - 1), (base[1] + dj).min(size[1] - 1), (base[2] + dk).min(size[2] - 1));
                sum += w * f64::from(self.ct.get(i, j, k)?);
            }
        }
        Some(sum)
    }
    /// Whether the nearest voxel to `p` is the femur.
    fn in_femur(&self, p: &Point3<f64>) -> bool {
        let v = self.ct.grid().lps_to_voxel(p);
        let size = self.ct.grid().size();
        let idx: Vec<usize> = (0..3)
            .filter_map(|a| {
                let r = v[a].round();
                (r >= 0.0 && r < size[a] as f64).then_some(r as usize)
            })
            .collect();
        idx.len() == 3 && self.labels.labels().get([idx[2], idx[1], idx[0]]).is_some_and(|&l| l == self.femur_id)
    }
}

/// One ray from the canal centre: endosteal edge and periosteal exit, mm from the centre.
fn ray(s: &Sampler, c: &Point3<f64>, dir: &Vector3<f64>, canal_hu: f64) -> Option<(f64, f64)> {
    let n = (MAX_RAY_MM / STEP_MM) as usize;
    let mut hu = Vec::with_capacity(n);
    let mut exit = None;
    let mut outside_run = 0.0;
    for k in 0..=n {
        let t = k as f64 * STEP_MM;
        let p = c + dir * t;
        let Some(h) = s.hu(&p) else { break };
        hu.push(h);
        if s.in_femur(&p) {
            outside_run = 0.0;
        } else {
            outside_run += STEP_MM;
            // 2 mm of non-femur: the periosteal surface was where it began.
            if outside_run >= 2.0 {
                exit = Some(t - outside_run + STEP_MM * 0.5);
                break;
            }
        }
    }
    let exit = exit?;
    let last = ((exit / STEP_MM).ceil() as usize).min(hu.len().saturating_sub(1));
    let peak = hu[..=last].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if peak - canal_hu < MIN_CORTEX_CONTRAST_HU {
        return None;
    }
    let thr = 0.5 * (canal_hu + peak);
    let k = hu[..=last].iter().position(|&h| h >= thr)?;
    let edge = if k == 0 { 0.0 } else { STEP_MM * ((k - 1) as f64 + (thr - hu[k - 1]) / (hu[k] - hu[k - 1])) };
    Some((edge, exit))
}

/// Whether metal lies in the section at `c` (normal `u`) within 40 mm of `c`.
fn metal_in_section(s: &Sampler, c: &Point3<f64>, ml: &Vector3<f64>, ap: &Vector3<f64>) -> bool {
    let step = 1.0;
    for a in -40..=40 {
        for b in -40..=40 {
            let (x, y) = (f64::from(a) * step, f64::from(b) * step);
            if x * x + y * y <= 1600.0 {
                let p = c + ml * x + ap * y;
                let v = s.ct.grid().lps_to_voxel(&p);
                let size = s.ct.grid().size();
                let r: Vec<usize> = (0..3)
                    .filter_map(|i| {
                        let q = v[i].round();
                        (q >= 0.0 && q < size[i] as f64).then_some(q as usize)
                    })
                    .collect();
                if r.len() == 3 && s.ct.get(r[0], r[1], r[2]).is_some_and(|h| h > METAL_HU) {
                    return true;
                }
            }
        }
    }
    false
}

/// Why a level was not measured.
enum Miss {
    /// Metal in the section.
    Metal,
    /// No femur or no cortex there.
    NotMeasured,
}

/// Measures the canal in the section at height `h` above the LT.
fn level(s: &Sampler, axis_at: &dyn Fn(f64) -> Point3<f64>, h: f64, ml: &Vector3<f64>, ap: &Vector3<f64>) -> Result<CanalLevel, Miss> {
    let mut c = axis_at(h);
    if metal_in_section(s, &c, ml, ap) {
        return Err(Miss::Metal);
    }
    if !s.in_femur(&c) {
        return Err(Miss::NotMeasured);
    }
    let mut result = None;
    for _ in 0..5 {
        // The canal's own HU: the median within 2 mm of the centre, in the section.
        let mut near: Vec<f64> =
            [(0.0, 0.0), (2.0, 0.0), (-2.0, 0.0), (0.0, 2.0), (0.0, -2.0), (1.0, 1.0), (-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0)].iter().filter_map(|&(x, y)| s.hu(&(c + ml * x + ap * y))).collect();
        if near.is_empty() {
            return Err(Miss::NotMeasured);
        }
        near.sort_by(f64::total_cmp);
        let canal_hu = near[near.len() / 2];
        let r = |d: Vector3<f64>| ray(s, &c, &d, canal_hu).ok_or(Miss::NotMeasured);
        let (m_in, m_out) = r(*ml)?;
        let (l_in, l_out) = r(-ml)?;
        let (p_in, p_out) = r(*ap)?;
        let (a_in, a_out) = r(-ap)?;
        let shift = ml * (0.5 * (m_in - l_in)) + ap * (0.5 * (p_in - a_in));
        result = Some(CanalLevel { above_lt_mm: h, centre_lps_mm: c, ml_canal_mm: m_in + l_in, ap_canal_mm: p_in + a_in, ml_outer_mm: m_out + l_out, ap_outer_mm: p_out + a_out, canal_hu });
        if shift.norm() < 0.05 {
            break;
        }
        c += shift;
    }
    result.ok_or(Miss::NotMeasured)
}

/// Measures the femoral canal of the femur labelled `femur_id` in `labels` (on `ct`'s grid),
/// in the frame of its landmarks `femur` (see the module docs).
pub fn femoral_canal(ct: &Volume, labels: &LabelMap, femur_id: u16, femur: &FemurLandmarks) -> Result<FemoralCanal, LandmarkError> {
    let structure = format!("femur_{}", femur.side.as_str());
    let fail = |why: String| LandmarkError::NotFound { structure: structure.clone(), what: "femoral canal", why };
    if !ct.grid().same_as(labels.grid(), 1e-3) {
        return Err(fail("the label map is not on the CT's grid".into()));
    }
    let mut notes = Vec::new();
    // The shaft axis the landmarks carry: for a femur imaged without its shaft, the one the
    // anatomy stage assumed (`assume_neutral_short_femur`), which the planner uses too.
    if femur.shaft_axis.source == Source::Assumed {
        notes.push("the femoral shaft is not imaged: the canal is measured about the assumed shaft axis (the femur lying in neutral, as the plan assumes)".to_string());
    }
    let (a, u) = (femur.shaft_axis.point_lps_mm, femur.shaft_axis.direction_lps.try_normalize(1e-9).ok_or_else(|| fail("zero shaft axis".into()))?);
    let lateral = Vector3::new(femur.side.lateral_sign(), 0.0, 0.0);
    let ml = perpendicular(&-lateral, &u).ok_or_else(|| fail("the shaft runs left-right".into()))?;
    let ap = u.cross(&ml);
    let t_lt = (femur.lesser_trochanter.lps_mm - a).dot(&u);
    let axis_at = move |h: f64| a + u * (t_lt + h);
    let s = Sampler { ct, labels, femur_id };
    let mut metal_levels_mm = Vec::new();
    let mut profile = Vec::new();
    let mut measure = |h: f64, profile: &mut Vec<CanalLevel>| -> bool {
        match level(&s, &axis_at, h, &ml, &ap) {
            Ok(l) => {
                profile.push(l);
                true
            }
            Err(Miss::Metal) => {
                metal_levels_mm.push(h);
                true
            }
            Err(Miss::NotMeasured) => false,
        }
    };
    let _ = measure(METAPHYSIS_ABOVE_LT_MM, &mut profile);
    for k in 1..=3 {
        let _ = measure(METAPHYSIS_ABOVE_LT_MM - PROFILE_STEP_MM * f64::from(k), &mut profile);
    }
    // Down the shaft until three levels in a row fail (the scan's or the femur's end).
    let mut misses = 0;
    let mut h = 0.0;
    while misses < 3 && h > -300.0 {
        if measure(h, &mut profile) {
            misses = 0;
        } else {
            misses += 1;
        }
        h -= PROFILE_STEP_MM;
    }
    let at = |h: f64| profile.iter().find(|l| (l.above_lt_mm - h).abs() < 1e-9).cloned();
    let lesser_trochanter = at(0.0);
    let metaphysis = at(METAPHYSIS_ABOVE_LT_MM);
    let dorr_level = at(-DORR_BELOW_LT_MM);
    // Isthmus: the narrowest ML canal below LT - 20 on the profile smoothed over three levels.
    let shaft: Vec<&CanalLevel> = profile.iter().filter(|l| l.above_lt_mm <= -METAPHYSIS_ABOVE_LT_MM).collect();
    let smooth: Vec<f64> = (0..shaft.len())
        .map(|i| {
            let lo = i.saturating_sub(1);
            let hi = (i + 1).min(shaft.len() - 1);
            shaft[lo..=hi].iter().map(|l| l.ml_canal_mm).sum::<f64>() / (hi - lo + 1) as f64
        })
        .collect();
    let k_isthmus = (0..smooth.len()).min_by(|&i, &j| smooth[i].total_cmp(&smooth[j]));
    let isthmus = k_isthmus.map(|k| shaft[k].clone());
    let isthmus_imaged = k_isthmus.is_some_and(|k| smooth[k + 1..].iter().any(|w| *w > smooth[k] + 0.5));
    if isthmus.is_some() && !isthmus_imaged {
        notes.push(format!(
            "the canal does not widen again below its narrowest imaged level ({:.0} mm below the lesser trochanter): the isthmus may lie further down, so the isthmus width is an upper bound and the canal flare index a lower bound",
            -isthmus.as_ref().map_or(0.0, |l| l.above_lt_mm)
        ));
    }
    let canal_flare_index = match (&metaphysis, &isthmus) {
        (Some(m), Some(i)) if i.ml_canal_mm > 0.0 => Some(m.ml_canal_mm / i.ml_canal_mm),
        _ => None,
    };
    let (canal_calcar_ratio, cortical_index) = match (&dorr_level, &lesser_trochanter) {
        (Some(d), Some(l)) if l.ml_canal_mm > 0.0 && d.ml_outer_mm > 0.0 => (Some(d.ml_canal_mm / l.ml_canal_mm), Some((d.ml_outer_mm - d.ml_canal_mm) / d.ml_outer_mm)),
        _ => {
            notes.push(format!("the femur is not measured {DORR_BELOW_LT_MM} mm below the lesser trochanter: no Dorr type"));
            (None, None)
        }
    };
    let dorr_type = canal_calcar_ratio.map(DorrType::from_ratio);
    let mut quality = Quality::Good;
    let stem_zone: Vec<f64> = metal_levels_mm.iter().copied().filter(|h| (-150.0..=METAPHYSIS_ABOVE_LT_MM + 1e-9).contains(h)).collect();
    if !stem_zone.is_empty() {
        quality = Quality::Uncertain;
        notes.push(format!(
            "metal (above {METAL_HU} HU) in the femur's sections at {} mm from the lesser trochanter: a screw, plate, nail or prosthesis; those sections are not measured and the canal is not trusted for stem sizing",
            stem_zone.iter().map(|h| format!("{h:+.0}")).collect::<Vec<_>>().join(", ")
        ));
    }
    if lesser_trochanter.is_none() {
        quality = Quality::Uncertain;
        notes.push("the canal is not measured at the lesser trochanter (no femur section or no cortex there, e.g. the scan ends near it)".into());
    }
    if metaphysis.is_none() {
        notes.push("the canal is not measured 20 mm above the lesser trochanter: no canal flare index".into());
    }
    if profile.is_empty() && metal_levels_mm.is_empty() {
        return Err(fail("no section of the femur near the lesser trochanter has a canal inside a cortex".into()));
    }
    Ok(FemoralCanal {
        side: femur.side,
        shaft_direction_lps: u,
        ml_direction_lps: ml,
        lesser_trochanter,
        metaphysis,
        isthmus,
        isthmus_imaged,
        dorr_level,
        profile,
        canal_flare_index,
        canal_calcar_ratio,
        cortical_index,
        dorr_type,
        metal_levels_mm,
        quality,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phantom::{PhantomSpec, hip_phantom};
    use crate::surface::{SurfaceOptions, mesh_from_labels};
    use coxa_core::Side;

    /// The phantom's canal (cancellous bone inside a 3 mm cortex) is known exactly: every width
    /// coxa measures equals the exact chord on the same line to within a voxel's partial volume
    /// (half a voxel each edge), and the straight shaft's canal is 24 mm across.
    #[test]
    fn phantom_canal_widths_are_the_known_ones() {
        let spec = PhantomSpec::default();
        let ph = hip_phantom(&spec);
        let v = spec.voxel_mm;
        for (side, id) in [(Side::Left, 75u16), (Side::Right, 76)] {
            let mesh = mesh_from_labels(&ph.labels, id, &SurfaceOptions::default()).unwrap();
            let f = crate::landmarks::femur_landmarks(&mesh, side).unwrap();
            let c = femoral_canal(&ph.ct, &ph.labels, id, &f).unwrap();
            assert!(c.metal_levels_mm.is_empty());
            let ap = c.shaft_direction_lps.cross(&c.ml_direction_lps);
            let mut worst: f64 = 0.0;
            for l in &c.profile {
                for (dir, w) in [(c.ml_direction_lps, l.ml_canal_mm), (ap, l.ap_canal_mm)] {
                    let (a, b) = ph.truth.canal_chord_mm(side, &l.centre_lps_mm, &dir).expect("centre in the canal");
                    worst = worst.max((w - (a + b)).abs());
                    assert!((w - (a + b)).abs() <= v, "{side:?} {:+.0} mm: measured {w:.2}, exact {:.2}", l.above_lt_mm, a + b);
                }
            }
            let i = c.isthmus.as_ref().unwrap();
            let exact = ph.truth.shaft_canal_diameter_mm();
            assert!((i.ml_canal_mm - exact).abs() <= v && (i.ap_canal_mm - exact).abs() <= v, "isthmus {i:?}");
            // The shaft's outer diameter is 30 mm.
            assert!((i.ml_outer_mm - 30.0).abs() <= v, "{}", i.ml_outer_mm);
            eprintln!(
                "{side:?}: {} levels, worst |measured - exact| {worst:.2} mm; LT {:?} metaphysis {:?} isthmus {:.2} x {:.2} (exact {exact}) CFI {:?} Dorr {:?} {:?}",
                c.profile.len(),
                c.lesser_trochanter.as_ref().map(|l| (l.ml_canal_mm * 100.0).round() / 100.0),
                c.metaphysis.as_ref().map(|l| (l.ml_canal_mm * 100.0).round() / 100.0),
                i.ml_canal_mm,
                i.ap_canal_mm,
                c.canal_flare_index,
                c.dorr_type,
                c.notes
            );
        }
    }
}
