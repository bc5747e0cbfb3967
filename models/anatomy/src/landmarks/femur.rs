//! Femoral landmarks: head centre and radius, neck and shaft axes, trochanters, posterior
//! condyles, neck-shaft angle and femoral anteversion.

use nalgebra::{Point3, Vector3};

use coxa_core::{Mesh, Side};

use super::fit::{Sphere, fit_line, fit_sphere, principal_axes};
use super::{AxisLandmark, FemurLandmarks, Landmark, LandmarkError, Quality, Source, Surface, perpendicular};

/// Shaft below the head needed for a measured shaft axis, mm.
const MIN_SHAFT_MM: f64 = 40.0;
/// Femur length from which the condyles count as imaged, mm.
const FULL_FEMUR_MM: f64 = 300.0;
/// Longest surface searched as a femur, mm (the longest human femora are about 600 mm). It
/// bounds the shaft search (one mesh section per 5 mm): a surface in the wrong units or with a
/// far vertex would otherwise be cut millions of times.
pub const MAX_FEMUR_MM: f64 = 1000.0;

fn structure(side: Side) -> String {
    format!("femur_{}", side.as_str())
}

/// Landmarks of a femur surface on `side`.
pub fn femur_landmarks(mesh: &Mesh, side: Side) -> Result<FemurLandmarks, LandmarkError> {
    super::check_budget(&structure(side), mesh)?;
    let s = Surface::new(mesh);
    if s.p.len() < 200 {
        return Err(LandmarkError::TooFewVertices { structure: structure(side), n: s.p.len(), min: 200 });
    }
    // 1. Long axis, proximal = superior.
    let (_, axes, _) = principal_axes(&s.p);
    let mut u: Vector3<f64> = axes.column(0).into_owned();
    if u.z < 0.0 {
        u = -u;
    }
    let t = |p: &Point3<f64>, u: &Vector3<f64>| p.coords.dot(u);
    let (tmin, tmax) = s.p.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(t(p, &u)), b.max(t(p, &u))));
    let length = tmax - tmin;
    if length.is_nan() || length > MAX_FEMUR_MM {
        return Err(LandmarkError::OverBudget {
            structure: structure(side),
            what: format!("the surface is {length:.0} mm long, more than the {MAX_FEMUR_MM:.0} mm the shaft search covers"),
            fix: "check that it is a femur in millimetres (--mesh-units) without far stray vertices",
        });
    }

    // 2. Shaft axis from slab centroids below the trochanters.
    let shaft_top = tmax - 100.0;
    let shaft_bottom = if length > FULL_FEMUR_MM { tmin + 0.3 * length } else { tmin + 5.0 };
    let (shaft_point, shaft_dir, shaft_quality, shaft_note) = if shaft_top - shaft_bottom >= MIN_SHAFT_MM {
        let centroids = shaft_section_centroids(mesh, &u, shaft_bottom, shaft_top, 5.0);
        match fit_line(&centroids) {
            Some((p, d)) if centroids.len() >= 4 => (p, if d.dot(&u) < 0.0 { -d } else { d }, Quality::Good, None),
            _ => (Point3::from(u * (0.5 * (tmin + tmax))), u, Quality::Uncertain, Some("too few shaft sections; principal axis used".to_string())),
        }
    } else {
        let (m, _, _) = principal_axes(&s.p);
        (m, u, Quality::Uncertain, Some(format!("only {:.0} mm of shaft imaged below the trochanters; principal axis of the bone used", (shaft_top - tmin).max(0.0))))
    };
    let u = shaft_dir;
    let axis_dist = |p: &Point3<f64>| {
        let d = p - shaft_point;
        d - u * d.dot(&u)
    };
    let lateral_x = Vector3::new(side.lateral_sign(), 0.0, 0.0);
    let medial = perpendicular(&-lateral_x, &u).ok_or_else(|| LandmarkError::NotFound { structure: structure(side), what: "medial direction", why: "the shaft runs left-right".into() })?;
    let (tmin, tmax) = s.p.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(t(p, &u)), b.max(t(p, &u))));

    // 3. Head: sphere fit seeded at the most medial proximal point, refined on the points whose
    //    normals point away from the centre (the convex articular surface).
    let seed = s.p.iter().filter(|p| t(p, &u) > tmax - 60.0).max_by(|a, b| axis_dist(a).dot(&medial).total_cmp(&axis_dist(b).dot(&medial))).copied().ok_or_else(|| LandmarkError::NotFound {
        structure: structure(side),
        what: "femoral head",
        why: "no proximal surface".into(),
    })?;
    let head = refine_sphere(&s, &seed, 30.0, true).ok_or_else(|| LandmarkError::NotFound {
        structure: structure(side),
        what: "femoral head",
        why: "no spherical surface near the proximal medial end".into(),
    })?;
    let first = head;
    let head = other_head_if_implausible(&s, first, &lateral_x, shaft_quality == Quality::Good);
    // A head taken from the fallback search is the most spherical surface in the adult range, not
    // one found where the shaft says the head is: on a poor surface (a weak model's label map)
    // that can be a wrong bump, so it is never rated good. (Another seed that settles on the same
    // surface moves the centre by hundredths of a millimetre: the real CT's stubs, 0.03-0.08 mm.)
    let replaced = ((head.centre - first.centre).norm() > 1.0).then(|| {
        format!(
            "the head sphere seeded from the shaft (radius {:.1} mm, RMS {:.2} mm) was not plausible or the shaft was not measured; the most spherical surface of adult size was taken instead (radius {:.1} mm, RMS {:.2} mm): check it",
            first.radius_mm, first.rms_mm, head.radius_mm, head.rms_mm
        )
    });
    let (lo, hi) = HEAD_RADIUS_LIMITS_MM;
    if !(lo..=hi).contains(&head.radius_mm) {
        return Err(LandmarkError::NotFound {
            structure: structure(side),
            what: "femoral head",
            why: format!(
                "the most spherical surface at its proximal end has a radius of {:.1} mm, outside the {lo}-{hi} mm of any adult femoral head: the image may not show the hips (or this label is not a femur); check the CT's field of view",
                head.radius_mm
            ),
        });
    }
    let head_problem = (!(15.0..=35.0).contains(&head.radius_mm) || head.rms_mm > 1.0)
        .then(|| format!("head radius {:.1} mm, fit RMS {:.2} mm (expected 15-35 mm, < 1 mm)", head.radius_mm, head.rms_mm))
        .or(replaced);
    let c = head.centre;

    // 4. Neck axis: through the head centre and the centroid of the smallest cross-section of
    //    the neck (true mesh-plane sections), iterated from a 130 deg default.
    let lateral = -medial;
    let ccd0 = 130f64.to_radians();
    let mut d = (lateral * ccd0.sin() + u * ccd0.cos()).normalize(); // towards the trochanters, going distal
    let near: Vec<usize> = (0..mesh.triangles().len()).filter(|&i| mesh.corners(i).iter().any(|p| (p - c).norm() < 3.0 * head.radius_mm)).collect();
    let mut neck_problem = Some("no closed neck section found; neck axis is the default 130 deg from the shaft".to_string());
    for _ in 0..12 {
        let Some(q) = smallest_section(mesh, &near, &c, &d, head.radius_mm) else { break };
        let next = (q - c).normalize();
        let moved = (next - d).norm();
        d = next;
        neck_problem = None;
        if moved < 1e-7 {
            break;
        }
    }
    let angle_deg = (-d).dot(&-u).clamp(-1.0, 1.0).acos().to_degrees();
    if neck_problem.is_none() && !(105.0..=155.0).contains(&angle_deg) {
        neck_problem = Some(format!("neck-shaft angle {angle_deg:.1} deg outside 105-155"));
    }
    let neck_shaft_angle_deg = (neck_problem.is_none() && shaft_quality == Quality::Good).then_some(angle_deg);

    // 5. Trochanters.
    let tc = t(&c, &u);
    let gt = s.p.iter().filter(|p| axis_dist(p).dot(&lateral) > 10.0 && t(p, &u) > tc - 50.0).max_by(|a, b| t(a, &u).total_cmp(&t(b, &u))).copied();
    let posterior = perpendicular(&Vector3::y(), &u).unwrap_or(Vector3::y());
    let pm = (medial + posterior).normalize();
    let lt = s.p.iter().filter(|p| (tc - 80.0..tc - 25.0).contains(&t(p, &u))).max_by(|a, b| axis_dist(a).dot(&pm).total_cmp(&axis_dist(b).dot(&pm))).copied();
    let missing = |what: &'static str| LandmarkError::NotFound { structure: structure(side), what, why: "no surface in its region".into() };
    let gt = gt.ok_or_else(|| missing("greater trochanter"))?;
    let lt_problem = (tc - tmin < 80.0).then(|| "the femur is cut less than 80 mm below the head: lesser trochanter may be cut".to_string());
    let lt = lt.ok_or_else(|| missing("lesser trochanter"))?;

    // 6. Posterior condyles and anteversion when the knee is imaged.
    let (posterior_condyles, anteversion_deg) = if length > FULL_FEMUR_MM {
        condyles(&s.p, &u, &medial, tmin, length)
            .map(|[pc_med, pc_lat]| {
                let cond = perpendicular(&(pc_med - pc_lat), &u).unwrap_or(medial);
                let head_dir = perpendicular(&-d, &u).unwrap_or(medial);
                let post = u.cross(&cond) * if u.cross(&cond).dot(&posterior) >= 0.0 { 1.0 } else { -1.0 };
                let av = head_dir.dot(&-post).atan2(head_dir.dot(&cond)).to_degrees();
                (Some([pc_med, pc_lat]), Some(av))
            })
            .unwrap_or((None, None))
    } else {
        (None, None)
    };

    Ok(FemurLandmarks {
        side,
        head_centre: Landmark::checked(c, head_problem),
        head_radius_mm: head.radius_mm,
        head_fit_rms_mm: head.rms_mm,
        neck_axis: AxisLandmark { point_lps_mm: c, direction_lps: d, quality: if neck_problem.is_some() { Quality::Uncertain } else { Quality::Good }, source: Source::Measured, note: neck_problem },
        shaft_axis: AxisLandmark { point_lps_mm: shaft_point, direction_lps: u, quality: shaft_quality, source: Source::Measured, note: shaft_note },
        greater_trochanter: Landmark::good(gt),
        lesser_trochanter: Landmark::checked(lt, lt_problem),
        neck_shaft_angle_deg,
        posterior_condyles,
        anteversion_deg,
    })
}

/// Published adult femoral head radii, mm (head diameter about 38-56 mm: Noble et al., Clin
/// Orthop 1988; Rubin et al., JBJS Br 1992).
pub const ADULT_HEAD_RADIUS_MM: (f64, f64) = (19.0, 28.0);

/// Radii (mm) no adult femoral head lies outside of: a head sphere outside them is no femoral
/// head at all (issue 45: a CT of the upper abdomen gave a 3,577 mm "head", flagged only in the
/// JSON), so [`femur_landmarks`] refuses it. Wider than [`ADULT_HEAD_RADIUS_MM`] (the usual
/// heads) and than the 15-35 mm outside which a head is kept but flagged uncertain.
pub const HEAD_RADIUS_LIMITS_MM: (f64, f64) = (15.0, 40.0);

/// The head sphere `first` (seeded at the most medial proximal point about the shaft axis), or a
/// better one seeded at points that need no shaft axis: the most medial point along the CT's
/// left-right axis, the most superior point, and the most superior-medial one. On a short stub
/// (a femur cut 20-30 mm below the lesser trochanter) the principal axis that stands in for the
/// shaft runs along the neck, and the first seed can settle on the trochanteric surface (on the
/// vsd femurs: the left cut 30 mm below the LT gave radius 29 mm, 38 mm from the true centre; the
/// right cut 20 mm below, radius 23 mm, 46 mm away). So when the shaft axis was not measured, or
/// `first`'s radius lies outside [`ADULT_HEAD_RADIUS_MM`] or its RMS exceeds 1 mm, the sphere
/// with the lowest RMS among `first` and the alternatives inside the adult range is taken (the
/// head is the most spherical surface of a proximal femur). A femur with a measured shaft and a
/// plausible head keeps `first`.
fn other_head_if_implausible(s: &Surface, first: Sphere, lateral_x: &Vector3<f64>, shaft_measured: bool) -> Sphere {
    let (lo, hi) = ADULT_HEAD_RADIUS_MM;
    let plausible = |h: &Sphere| (lo..=hi).contains(&h.radius_mm) && h.rms_mm <= 1.0;
    if shaft_measured && plausible(&first) {
        return first;
    }
    let medial = -lateral_x;
    let up = Vector3::z();
    let extreme = |d: Vector3<f64>| s.p.iter().max_by(|a, b| a.coords.dot(&d).total_cmp(&b.coords.dot(&d))).copied();
    [extreme(medial), extreme(up), extreme((medial + up).normalize())]
        .into_iter()
        .flatten()
        .filter_map(|seed| refine_sphere(s, &seed, 30.0, true))
        .chain(std::iter::once(first))
        .filter(plausible)
        .min_by(|a, b| a.rms_mm.total_cmp(&b.rms_mm))
        .unwrap_or(first)
}

/// Sphere fitted to the surface near `seed`, iteratively re-selecting the vertices within a
/// shell of the current sphere whose normals point away from the centre (`convex`) or towards it.
pub(crate) fn refine_sphere(s: &Surface, seed: &Point3<f64>, seed_radius: f64, convex: bool) -> Option<Sphere> {
    let near: Vec<Point3<f64>> = s.p.iter().filter(|p| (*p - seed).norm() < seed_radius).copied().collect();
    let mut sph = fit_sphere(&near)?;
    for _ in 0..15 {
        let sel: Vec<Point3<f64>> = s.p.iter().zip(&s.n).filter(|(p, n)| on_shell(&sph, p, n, convex)).map(|(p, _)| *p).collect();
        if sel.len() < 20 {
            return None;
        }
        let next = fit_sphere(&sel)?;
        let moved = (next.centre - sph.centre).norm() + (next.radius_mm - sph.radius_mm).abs();
        sph = next;
        if moved < 1e-6 {
            break;
        }
    }
    Some(sph)
}

/// Shell tolerance of a sphere fit of radius `radius_mm`: vertices within it of the sphere
/// belong to the spherical surface, mm.
pub(crate) fn shell_tolerance_mm(radius_mm: f64) -> f64 {
    (0.08 * radius_mm).max(1.5)
}

/// Whether the vertex `p` with unit normal `n` lies on the sphere's shell and faces like the
/// sphere's surface: outward for a convex one (a femoral head), towards the centre for a
/// concave one (a socket).
pub(crate) fn on_shell(sph: &Sphere, p: &Point3<f64>, n: &Vector3<f64>, convex: bool) -> bool {
    let v = p - sph.centre;
    let dist = v.norm();
    let facing = if convex { n.dot(&v) } else { -n.dot(&v) };
    (dist - sph.radius_mm).abs() < shell_tolerance_mm(sph.radius_mm) && facing > 0.85 * dist
}

/// Centroid of the smallest cross-section of the neck that encloses the axis, planes normal to
/// `d` at 1.0 to 1.9 head radii from the head centre `c`.
fn smallest_section(mesh: &Mesh, tris: &[usize], c: &Point3<f64>, d: &Vector3<f64>, r: f64) -> Option<Point3<f64>> {
    let mut best: Option<(f64, Point3<f64>)> = None;
    let spans = Spans::new(mesh, tris, c, d);
    for k in 0..=18 {
        let t = r * (1.0 + 0.05 * f64::from(k));
        let origin = c + d * t;
        if let Some((area, centroid)) = section_around(mesh, &spans.cut_at(t), &origin, d)
            && best.is_none_or(|(a, _)| area < a)
        {
            best = Some((area, centroid));
        }
    }
    best.map(|(_, q)| q)
}

/// Every closed cross-section loop of a watertight, outward-oriented `mesh` (triangles `tris`)
/// with the plane through `origin` normal to `n`: area (mm²), centroid, and whether it encloses
/// `origin`. Intersection points are keyed by mesh edge, so loops chain exactly; each segment is
/// oriented by `n × face normal` (material on its left), and area and centroid follow from
/// Green's theorem.
pub(crate) fn section_loops(mesh: &Mesh, tris: &[usize], origin: &Point3<f64>, n: &Vector3<f64>) -> Vec<(f64, Point3<f64>, bool)> {
    use std::collections::HashMap;
    let v = mesh.vertices();
    let dist = |i: u32| (v[i as usize] - origin).dot(n);
    let mut point: HashMap<(u32, u32), Vector3<f64>> = HashMap::new();
    let mut next: HashMap<(u32, u32), (u32, u32)> = HashMap::new();
    for &t in tris {
        let tri = mesh.triangles()[t];
        let mut keys = [(0u32, 0u32); 2];
        let mut k = 0;
        for e in 0..3 {
            let (i, j) = (tri[e], tri[(e + 1) % 3]);
            let (di, dj) = (dist(i), dist(j));
            if (di < 0.0) != (dj < 0.0) && k < 2 {
                let key = (i.min(j), i.max(j));
                let _ = point.entry(key).or_insert_with(|| {
                    let (a, b) = (key.0, key.1);
                    let (da, db) = (dist(a), dist(b));
                    (v[a as usize] - origin) + (v[b as usize] - v[a as usize]) * (da / (da - db))
                });
                keys[k] = key;
                k += 1;
            }
        }
        if k < 2 {
            continue;
        }
        let face = mesh.face_normal_scaled(t);
        let (p, q) = (point[&keys[0]], point[&keys[1]]);
        let (from, to) = if (q - p).dot(&n.cross(&face)) >= 0.0 { (keys[0], keys[1]) } else { (keys[1], keys[0]) };
        let _ = next.insert(from, to);
    }
    let Some(e1) = perpendicular(&Vector3::new(n.z, n.x, n.y), n) else { return Vec::new() };
    let e2 = n.cross(&e1);
    let mut seen = std::collections::HashSet::new();
    let mut loops = Vec::new();
    let mut starts: Vec<(u32, u32)> = next.keys().copied().collect();
    starts.sort_unstable(); // deterministic order
    for start in starts {
        if seen.contains(&start) {
            continue;
        }
        let mut lp = Vec::new();
        let mut cur = start;
        let closed = loop {
            if !seen.insert(cur) {
                break cur == start;
            }
            lp.push(point[&cur]);
            match next.get(&cur) {
                Some(&nx) => cur = nx,
                None => break false,
            }
        };
        if !closed || lp.len() < 3 {
            continue;
        }
        let (mut twice_area, mut moment, mut winding) = (0.0, Vector3::zeros(), 0.0);
        for i in 0..lp.len() {
            let (p, q) = (lp[i], lp[(i + 1) % lp.len()]);
            let cr = p.cross(&q).dot(n);
            twice_area += cr;
            moment += (p + q) * cr;
            winding += (p.dot(&e1) * q.dot(&e2) - p.dot(&e2) * q.dot(&e1)).atan2(p.dot(&e1) * q.dot(&e1) + p.dot(&e2) * q.dot(&e2));
        }
        let area = 0.5 * twice_area;
        if area > 0.0 {
            loops.push((area, origin + moment / (6.0 * area), winding.abs() > std::f64::consts::PI));
        }
    }
    loops
}

/// The extent of each triangle along a direction `n` from a point `base`: the plane through
/// `base + t n` normal to `n` can cut only the triangles whose extent holds `t`. The sections of
/// the neck (19 planes per iteration) and of the shaft (one every 5 mm) scan those few instead of
/// every triangle of the bone (issue 58: the femur's landmarks took a fifth of a phantom case).
pub(crate) struct Spans {
    /// (triangle, lowest, highest) signed distance of its corners along `n`, mm.
    spans: Vec<(usize, f64, f64)>,
}

impl Spans {
    pub(crate) fn new(mesh: &Mesh, tris: &[usize], base: &Point3<f64>, n: &Vector3<f64>) -> Self {
        let v = mesh.vertices();
        let spans = tris
            .iter()
            .map(|&t| {
                let s = mesh.triangles()[t].map(|i| (v[i as usize] - base).dot(n));
                (t, s[0].min(s[1]).min(s[2]), s[0].max(s[1]).max(s[2]))
            })
            .collect();
        Self { spans }
    }

    /// The triangles the plane at `t` may cut. A margin keeps every triangle that
    /// [`section_loops`] (which measures from the plane's own origin, rounding differently) could
    /// find cut: a superset, so the sections are the same as over every triangle.
    pub(crate) fn cut_at(&self, t: f64) -> Vec<usize> {
        const MARGIN_MM: f64 = 1e-3;
        self.spans.iter().filter(|&&(_, lo, hi)| lo - MARGIN_MM <= t && t <= hi + MARGIN_MM).map(|&(i, _, _)| i).collect()
    }
}

/// The smallest closed cross-section loop enclosing `origin` (see [`section_loops`]).
pub(crate) fn section_around(mesh: &Mesh, tris: &[usize], origin: &Point3<f64>, n: &Vector3<f64>) -> Option<(f64, Point3<f64>)> {
    section_loops(mesh, tris, origin, n).into_iter().filter(|l| l.2).map(|(a, c, _)| (a, c)).min_by(|x, y| x.0.total_cmp(&y.0))
}

/// Centroids of the largest closed cross-section at levels `step` apart along `u` between `from`
/// and `to` (the shaft is the only bone there, so its section is the largest loop).
fn shaft_section_centroids(mesh: &Mesh, u: &Vector3<f64>, from: f64, to: f64, step: f64) -> Vec<Point3<f64>> {
    let all: Vec<usize> = (0..mesh.triangles().len()).collect();
    let spans = Spans::new(mesh, &all, &Point3::origin(), u);
    let n = ((to - from) / step).floor().max(0.0) as usize;
    (0..=n)
        .filter_map(|k| {
            let level = from + step * k as f64;
            let origin = Point3::from(u * level);
            section_loops(mesh, &spans.cut_at(level), &origin, u).into_iter().max_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, c, _)| c)
        })
        .collect()
}

/// Most posterior points of the medial and lateral condyles (tangent to both), `[medial, lateral]`.
fn condyles(p: &[Point3<f64>], u: &Vector3<f64>, medial: &Vector3<f64>, tmin: f64, length: f64) -> Option<[Point3<f64>; 2]> {
    let distal: Vec<Point3<f64>> = p.iter().filter(|q| q.coords.dot(u) < tmin + 0.12 * length).copied().collect();
    if distal.len() < 50 {
        return None;
    }
    // Condyles are there only if the distal end is much wider than the shaft (about 80 vs 28 mm).
    let width = |pts: &mut dyn Iterator<Item = &Point3<f64>>| {
        let (lo, hi) = pts.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), q| (a.min(q.coords.dot(medial)), b.max(q.coords.dot(medial))));
        hi - lo
    };
    let mid_shaft = width(&mut p.iter().filter(|q| (tmin + 0.4 * length..tmin + 0.5 * length).contains(&q.coords.dot(u))));
    // (NaN widths, from an empty mid-shaft, also mean no condyles.)
    if width(&mut distal.iter()).partial_cmp(&(1.8 * mid_shaft)) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let centre = Point3::from(distal.iter().map(|q| q.coords).sum::<Vector3<f64>>() / distal.len() as f64);
    let side_of = |q: &Point3<f64>| (q - centre).dot(medial) > 0.0;
    let mut post = perpendicular(&Vector3::y(), u)?;
    let mut pair = None;
    for _ in 0..5 {
        let pick = |med: bool| distal.iter().filter(|q| side_of(q) == med).max_by(|a, b| a.coords.dot(&post).total_cmp(&b.coords.dot(&post))).copied();
        let (m, l) = (pick(true)?, pick(false)?);
        pair = Some([m, l]);
        let cond = perpendicular(&(m - l), u)?;
        let next = u.cross(&cond);
        post = if next.dot(&post) >= 0.0 { next } else { -next };
    }
    pair
}
