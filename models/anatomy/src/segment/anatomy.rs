//! Where the bones are: the femoral heads (the deepest pair of bone points, side by side), the
//! pelvic frame they span, and the seed regions of each bone.

use nalgebra::Vector3;

use super::flood::Peaks;
use super::lattice::Lattice;
use super::mask::components;

/// Class codes used inside the segmentation (not label ids).
pub(crate) mod class {
    /// Sacrum.
    pub const SACRUM: u8 = 1;
    /// Left femur.
    pub const FEMUR_L: u8 = 2;
    /// Right femur.
    pub const FEMUR_R: u8 = 3;
    /// Left hip bone.
    pub const HIP_L: u8 = 4;
    /// Right hip bone.
    pub const HIP_R: u8 = 5;
    /// Number of class codes (with 0 and the dropped vertebrae, 6).
    pub const N: usize = 7;
}

/// Top of the sacrum's seed region, in half head distances above the heads.
pub(crate) const SACRAL_SEED_TOP: f64 = 0.9;
/// Half width of the sacrum's seed region, in half head distances (medial of the SI joints).
pub(crate) const SACRAL_SEED_HALF_WIDTH: f64 = 0.35;

/// +1 for a left class, -1 for a right one, `None` for the sacrum.
pub(crate) fn side_of(c: u8) -> Option<f64> {
    match c {
        class::FEMUR_L | class::HIP_L => Some(1.0),
        class::FEMUR_R | class::HIP_R => Some(-1.0),
        _ => None,
    }
}

/// A femoral head candidate: a regional maximum of the bone's depth.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head {
    /// Voxel of the peak.
    pub voxel: usize,
    /// LPS position, mm.
    pub lps_mm: Vector3<f64>,
    /// Depth of the peak (distance to the nearest non-bone voxel), mm: about the head radius.
    pub depth_mm: f64,
    /// Fraction of rays from the peak that meet dense bone (see [`shell_dense_fraction`]).
    pub shell_dense: f64,
}

/// The frame spanned by the two femoral heads: origin midway, `ex` from the right head to the
/// left one (patient left), `ez` superior (LPS z made orthogonal to `ex`), `ey = ez × ex`
/// posterior. `half_mm` is half the distance between the head centres.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HipFrame {
    /// Midpoint of the heads, LPS mm.
    pub origin: Vector3<f64>,
    /// Unit vector from the right head to the left one.
    pub ex: Vector3<f64>,
    /// Unit vector posterior.
    pub ey: Vector3<f64>,
    /// Unit vector superior.
    pub ez: Vector3<f64>,
    /// Half the head distance, mm.
    pub half_mm: f64,
}

impl HipFrame {
    fn new(left: Vector3<f64>, right: Vector3<f64>) -> Self {
        let d = left - right;
        let ex = d.normalize();
        let z = Vector3::z();
        let ez = (z - ex * z.dot(&ex)).try_normalize(1e-9).unwrap_or(z);
        let ey = ez.cross(&ex);
        Self { origin: (left + right) * 0.5, ex, ey, ez, half_mm: d.norm() * 0.5 }
    }
    /// `(lateral, posterior, superior)` of an LPS point, mm (lateral: + = left).
    pub fn local(&self, p: [f64; 3]) -> [f64; 3] {
        let r = Vector3::new(p[0], p[1], p[2]) - self.origin;
        [r.dot(&self.ex), r.dot(&self.ey), r.dot(&self.ez)]
    }
}

/// Fraction of 128 rays from `centre` that meet a voxel of at least `dense_hu` between
/// `0.5 depth_mm` and `reach_mm`.
pub(crate) fn shell_dense_fraction(lat: &Lattice, hu: impl Fn(usize) -> f32, centre: usize, depth_mm: f64, reach_mm: f64, dense_hu: f32) -> f64 {
    const N: usize = 128;
    let c = lat.ijk(centre);
    let step = lat.spacing_mm.iter().copied().fold(f64::INFINITY, f64::min) * 0.5;
    let far = reach_mm.max(depth_mm + 2.0 * lat.spacing_mm.iter().copied().fold(0.0, f64::max));
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    let mut dense = 0;
    for n in 0..N {
        let zc = 1.0 - 2.0 * (n as f64 + 0.5) / N as f64;
        let rho = (1.0 - zc * zc).sqrt();
        let dir = [rho * (golden * n as f64).cos(), rho * (golden * n as f64).sin(), zc];
        let mut r = 0.5 * depth_mm;
        while r <= far {
            let mut ijk = [0usize; 3];
            let mut inside = true;
            for a in 0..3 {
                let x = c[a] as f64 + dir[a] * r / lat.spacing_mm[a];
                let x = x.round();
                if x < 0.0 || x >= lat.dims[a] as f64 {
                    inside = false;
                    break;
                }
                ijk[a] = x as usize;
            }
            if !inside {
                break;
            }
            if hu(lat.idx(ijk[0], ijk[1], ijk[2])) >= dense_hu {
                dense += 1;
                break;
            }
            r += step;
        }
    }
    dense as f64 / N as f64
}

/// Head candidates: regional maxima of the depth that lie in `radius_range_mm`, with the fraction of
/// rays that meet dense bone within the largest radius.
pub(crate) fn head_candidates(lat: &Lattice, peaks: &Peaks, hu: impl Fn(usize) -> f32 + Copy, radius_range_mm: (f64, f64), dense_hu: f32) -> Vec<Head> {
    let mut out: Vec<Head> = peaks
        .voxel
        .iter()
        .zip(&peaks.value)
        .filter(|(_, d)| (radius_range_mm.0..=radius_range_mm.1).contains(&f64::from(**d)))
        .map(|(&v, &d)| {
            let p = lat.lps(v);
            Head { voxel: v, lps_mm: Vector3::new(p[0], p[1], p[2]), depth_mm: f64::from(d), shell_dense: shell_dense_fraction(lat, hu, v, f64::from(d), radius_range_mm.1, dense_hu) }
        })
        .collect();
    out.sort_by(|a, b| b.depth_mm.total_cmp(&a.depth_mm));
    out
}

/// Minimum fraction of dense rays for a femoral head candidate.
pub(crate) const MIN_SHELL_DENSE: f64 = 0.5;

/// The best pair of heads, `(left, right)`: both wrapped in dense bone, 100-300 mm apart, mostly
/// side by side (lateral offset at least 0.7 of the distance, heights within 60 mm). Scored by
/// depth (favouring two similar depths) less 0.1 per mm of height and depth (y) difference:
/// the two heads of a patient lie at nearly the same height.
pub(crate) fn head_pair(cands: &[Head]) -> Option<(Head, Head)> {
    let ok: Vec<&Head> = cands.iter().filter(|h| h.shell_dense >= MIN_SHELL_DENSE).collect();
    let mut best: Option<(f64, Head, Head)> = None;
    for (n, a) in ok.iter().enumerate() {
        for b in &ok[n + 1..] {
            let d = a.lps_mm - b.lps_mm;
            let dist = d.norm();
            if !(100.0..=300.0).contains(&dist) || d.x.abs() < 0.7 * dist || d.z.abs() > 60.0 {
                continue;
            }
            let score = 1.5 * a.depth_mm.min(b.depth_mm) + 0.5 * a.depth_mm.max(b.depth_mm) - 0.1 * (d.z.abs() + d.y.abs());
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                let (l, r) = if a.lps_mm.x > b.lps_mm.x { (**a, **b) } else { (**b, **a) };
                best = Some((score, l, r));
            }
        }
    }
    best.map(|(_, l, r)| (l, r))
}

/// Farthest a femoral head's deepest point may lie from its joint's ([`joints`]), mm: the
/// filled joint's deepest point lies between the head's centre and the acetabular roof, up to
/// 27 mm from the head's deepest point on the real example CT (3 mm voxels).
pub(crate) const JOINT_REACH_MM: f64 = 35.0;

/// The two hip joints: [`head_pair`] on the depth of `bone` with its cavities and its holes in
/// slices (up to `max_hole_mm2`) filled. Filled, a femoral head is solid whatever its
/// cancellous bone does under the threshold (porous with the noise of thin slices, or with
/// osteoporosis), so the joint (head and socket, merged where the space is not resolved) is
/// the deepest bone of its side, about as deep as the head's radius; unfilled, a porous head
/// may be shallower than the bone around an implant (a lag screw's barrel, stop 77: the real
/// example CT taken at 1 mm). The joint's deepest point is not the head's centre (it lies
/// towards the socket): it only says where on each side the head is to be looked for.
pub(crate) fn joints(lat: &Lattice, bone: &[bool], hu: impl Fn(usize) -> f32 + Copy, radius_range_mm: (f64, f64), dense_hu: f32, max_hole_mm2: f64) -> Option<(Head, Head)> {
    let mut filled: Vec<u8> = bone.iter().map(|&b| u8::from(b)).collect();
    let _ = super::post::close_and_fill(lat, &mut filled, 1, 0.0, max_hole_mm2);
    let filled: Vec<bool> = filled.into_iter().map(|c| c == 1).collect();
    let depth = super::edt::inside_distance(lat, &filled);
    let peaks = super::flood::peaks(lat, &depth, &filled, 16.0);
    head_pair(&head_candidates(lat, &peaks, hu, radius_range_mm, dense_hu)).filter(|(l, r)| (l.lps_mm - r.lps_mm).norm() >= MIN_JOINT_DISTANCE_MM)
}

/// Farthest the joints' mid-height may lie from the deepest pair's for the joints to be
/// looked in, mm (LPS z): the height difference [`head_pair`] allows between two heads.
pub(crate) const MAX_JOINT_HEIGHT_SHIFT_MM: f64 = 60.0;

/// Nearest two hip joints may lie, mm: adult hip centres lie about 150-200 mm apart; a pair of
/// "joints" nearer is something else (a prosthesis beside the pubis, on render test-19).
pub(crate) const MIN_JOINT_DISTANCE_MM: f64 = 130.0;

/// The femoral heads, `(left, right)`, among `cands`, each within [`JOINT_REACH_MM`] of its
/// joint ([`joints`]): [`head_pair`]'s when both of its heads are (or when no joints were
/// found, or they lie more than [`MAX_JOINT_HEIGHT_SHIFT_MM`] above or below it), else [`head_pair`] of the candidates within reach of a joint, or where those hold no
/// such pair (the joints themselves wrong: a prosthesis), [`head_pair`]'s after all.
pub(crate) fn heads_in_joints(cands: &[Head], joints: Option<(Head, Head)>) -> Option<(Head, Head)> {
    let pair = head_pair(cands);
    let Some((jl, jr)) = joints else { return pair };
    // Joints far above or below the deepest pair are another pair of joints (the knees of a CT
    // from pelvis to knee, render test-00), not the hips the pair is off from.
    let height = |(l, r): &(Head, Head)| 0.5 * (l.lps_mm.z + r.lps_mm.z);
    if pair.as_ref().is_some_and(|p| (height(p) - height(&(jl, jr))).abs() > MAX_JOINT_HEIGHT_SHIFT_MM) {
        return pair;
    }
    let near = |h: &Head, j: &Head| (h.lps_mm - j.lps_mm).norm() <= JOINT_REACH_MM;
    let in_joints = |(l, r): &(Head, Head)| near(l, &jl) && near(r, &jr);
    if pair.as_ref().is_some_and(in_joints) {
        return pair;
    }
    let near_joint: Vec<Head> = cands.iter().filter(|h| near(h, &jl) || near(h, &jr)).copied().collect();
    head_pair(&near_joint).filter(in_joints).or(pair)
}

/// The frame of two head centres (LPS mm), left then right.
pub(crate) fn frame(left: Vector3<f64>, right: Vector3<f64>) -> HipFrame {
    HipFrame::new(left, right)
}

/// Seed class of every voxel (0: none), in the frame of the heads (h = half the head distance),
/// each region's bone taken as [`seed_region`] does:
/// - femurs: bone lateral of the head's deepest point by 0.45 h and at most 0.1 h above it
///   (trochanters, shaft);
/// - hip bones: bone lateral of 0.8 h and 0.25-0.9 h above the heads (the ilium above the
///   acetabulum); and, where there is bone, the pubic bodies (0.12-0.45 h from the midline,
///   0.15-0.8 h below and 0.15 h in front of the heads);
/// - sacrum: bone within 0.35 h of the midline, 0.35-0.9 h above the heads and at least 0.2 h
///   behind them.
///
/// The notes name required regions that hold no bone.
pub(crate) fn seeds(lat: &Lattice, mask: &[bool], f: &HipFrame, heads: &[(Head, u8); 2]) -> (Vec<u8>, Vec<String>) {
    let mut seed = vec![0u8; lat.len()];
    let mut notes = Vec::new();
    let h = f.half_mm;
    let mut required = |name: &str, c: u8, inside: &dyn Fn(&[f64; 3]) -> bool, seed: &mut Vec<u8>| {
        if !seed_region(lat, mask, f, seed, c, inside) {
            notes.push(format!("no {name} seed: no bone where the {name} should be relative to the femoral heads"));
        }
    };
    for (head, c) in heads {
        let sign = side_of(*c).unwrap_or(1.0);
        let p = head.lps_mm;
        let centre = f.local([p.x, p.y, p.z]);
        let name = if sign > 0.0 { "left trochanter" } else { "right trochanter" };
        required(name, *c, &|l| (l[0] - centre[0]) * sign >= 0.45 * h && l[2] - centre[2] <= 0.1 * h, &mut seed);
    }
    required("left ilium", class::HIP_L, &|l| l[0] >= 0.8 * h && (0.25 * h..=0.9 * h).contains(&l[2]), &mut seed);
    required("right ilium", class::HIP_R, &|l| l[0] <= -0.8 * h && (0.25 * h..=0.9 * h).contains(&l[2]), &mut seed);
    required("sacrum", class::SACRUM, &|l| l[0].abs() <= SACRAL_SEED_HALF_WIDTH * h && (0.35 * h..=SACRAL_SEED_TOP * h).contains(&l[2]) && l[1] >= 0.2 * h, &mut seed);
    // The pubic bodies (optional), so that each is reached from its own side and not across
    // the symphysis.
    for (c, sign) in [(class::HIP_L, 1.0), (class::HIP_R, -1.0)] {
        let pubis = |l: &[f64; 3]| (0.12 * h..=0.45 * h).contains(&(l[0] * sign)) && (-0.8 * h..=-0.15 * h).contains(&l[2]) && l[1] <= -0.15 * h;
        let _ = seed_region(lat, mask, f, &mut seed, c, &pubis);
    }
    (seed, notes)
}

/// Marks the bone of `mask` in `inside` (hip frame coordinates) that is not yet a seed as class
/// `c`: every 26-connected piece at least a tenth of the largest (a cortex broken by partial
/// volume falls apart in pieces; specks such as calcified vessels are left). Whether any was.
fn seed_region(lat: &Lattice, mask: &[bool], f: &HipFrame, seed: &mut [u8], c: u8, inside: &dyn Fn(&[f64; 3]) -> bool) -> bool {
    let member = |v: usize| mask[v] && seed[v] == 0 && inside(&f.local(lat.lps(v)));
    let (comp, sizes) = components(lat, member, true);
    let Some(largest) = sizes.iter().copied().max() else { return false };
    let keep: Vec<bool> = sizes.iter().map(|&s| s * 10 >= largest).collect();
    for (v, k) in comp.iter().enumerate() {
        if *k != u32::MAX && keep[*k as usize] {
            seed[v] = c;
        }
    }
    true
}

/// The head cores: bone at least `core_depth_mm` deep (in `depth`) connected to each head's
/// deepest point and within `reach_mm` of it, marked with the head's class.
pub(crate) fn head_cores(lat: &Lattice, depth: &[f32], heads: &[(Head, u8); 2], core_depth_mm: f64, reach_mm: f64) -> Vec<u8> {
    let mut core = vec![0u8; lat.len()];
    for (head, c) in heads {
        let near = |v: usize| {
            let p = lat.lps(v);
            (0..3).map(|a| (p[a] - head.lps_mm[a]).powi(2)).sum::<f64>() <= reach_mm * reach_mm
        };
        let mut stack = vec![head.voxel];
        core[head.voxel] = *c;
        while let Some(v) = stack.pop() {
            lat.for_neighbours(v, true, |w| {
                if core[w] == 0 && f64::from(depth[w]) >= core_depth_mm && near(w) {
                    core[w] = *c;
                    stack.push(w);
                }
            });
        }
    }
    core
}
