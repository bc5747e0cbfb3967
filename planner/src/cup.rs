//! Cup sizing as surgeons do it: the bony socket measured, the shell sized to it, its centre
//! placed near the native centre of rotation with a medialisation limit, host-bone coverage
//! computed on the pelvis surface, and the sizes either side reported so a surgeon can overrule.
//!
//! - **The bony socket** ([`SocketMeasure`]): the sphere fitted to the lunate (articular)
//!   surface of the hip bone, the fossa left out (`coxa_anatomy`'s acetabulum landmarks).
//! - **One rule for every input** (a CT's surfaces, bone surfaces given as meshes, a phantom,
//!   a virtual population): where the femoral head is known, the bony gap between socket and
//!   head is the **sphere gap**, the socket sphere's radius minus the head sphere's — the gap the
//!   socket's diameter carries into the size. (The median distance of the lunate surface from the
//!   head's sphere, `joint_space_mm`, is reported beside it; it can exceed the sphere gap when
//!   the two centres do not coincide, and then it does not reach the size.) The socket the shell
//!   is sized to is never smaller than the head plus both cartilage layers:
//!   `sizing = max(measured socket, head + 2 x` [`crate::SizingRules::assumed_joint_space_mm`]`)`
//!   (2 mm: the cartilage of a hip that comes to arthroplasty). A sphere gap below
//!   [`crate::SizingRules::min_joint_space_mm`] (1 mm) is not resolved by the input (the
//!   segmentation or the surfaces closed the joint: the "socket" is the head's own surface); a
//!   gap from 1 mm up to the allowance is resolved but thinner than the allowance (surfaces that
//!   hug the head, as the vsd z013 surfaces' do at 1.8 mm). Either way the plan names the gap,
//!   the allowance used and the shell against the native head ([`HEAD_TO_SHELL_BAND_MM`]).
//!   Without a femur (a pelvis alone) the socket is taken as measured.
//! - **The published head-to-cup relation** ([`HEAD_TO_SHELL_BAND_MM`], shell outer diameter
//!   minus native head diameter in +4..+10 mm). Read for issue 42 (abstracts; the full texts were
//!   not available here): the 2024 open-access regression (J Orthop Surg Res 2024,
//!   doi 10.1186/s13018-024-04526-0; 258 THAs) and Chen et al. (Arthroplasty Today 2022;
//!   15:210-214, PMC9237279; 11,730 cups) predict the implanted cup from height, weight, sex (and
//!   foot length), not from the head: height r = 0.687, weight r = 0.654; R² 0.57 for height,
//!   weight and sex, and a Bayesian range holding the implanted cup in 95.3 %. No head-to-cup
//!   numbers can be read from them; what they give is how far implanted cups scatter about the
//!   best prediction from the patient's size: 70.9 % within one and 90.9 % within two 2 mm sizes
//!   (a 182-hip regression of 2024 in the Orthopedic Journal of China, in Chinese), 82.9 %
//!   within ±2 mm and 97.3 % within ±4 mm (Oettl et al., J Orthop 2025, 30,583 THAs). The head
//!   relation itself: native head size correlates highly with implanted cup size (Gililland et
//!   al., J Hip Surg 2019;3:197-202, 182 THAs; abstract, no numbers in the text read), and mean
//!   press-fit cups of 49.9 mm in women and 55.1 mm in men (Naal et al., Clin Orthop 2009;
//!   467:923; 1643 hips) lie about 6 mm above mean native heads of 43-44 and 48-50 mm (Noble et
//!   al. 1988; Rubin et al. 1992; these three as earlier sessions read them). The band is that
//!   +6 mm with the ±4 mm (two catalog sizes) that holds 91-97 % of implanted cups about their
//!   best prediction, its lower end raised from +2 to +4: a shell smaller than the head plus both
//!   cartilage layers would not reach the subchondral bone the reamer exposes.
//! - **Size rule**: the smallest catalog shell whose outer diameter is at least the socket's
//!   diameter, read to the nearest millimetre (the reamers' step), plus the reaming allowance ([`crate::SizingRules::ream_allowance_mm`], 2 mm: 1 mm
//!   of subchondral bone each side); the last reamer is the shell series' press fit (catalog
//!   `press_fit_mm`, 1 mm) smaller.
//! - **Rim fit**: the rim's anterior-posterior diameter (the rim points' extent along the
//!   pelvic AP direction within the rim plane) against the shell: a shell wider than it is
//!   wedged between the anterior and posterior columns (rim-to-rim press fit) by the difference.
//! - **Coverage**: the fraction of the shell's back hemisphere (the directions `u` with
//!   `u · axis < 0`, 2000 near-uniform directions) at which bone lies 1 mm outside the shell
//!   surface (ray-parity inside test of the closed pelvis surface, 0.5 mm columns).
//! - **Centre**: the native centre (fitted socket sphere), moved medially (pelvic -x on the right,
//!   +x on the left) in 0.5 mm steps up to [`crate::SizingRules::max_medialisation_mm`]: the
//!   least medialisation reaching the coverage target at the reference orientation
//!   (radiographic 40/15), else the most coverage, always keeping at least
//!   [`crate::SizingRules::min_medial_wall_mm`] of bone medial to the shell (the medial wall /
//!   teardrop limit of reaming).
//! - **The sizing report** ([`SizeOption`]): the chosen size and the next smaller and larger
//!   catalog sizes at the chosen centre: last reamer, coverage, medial wall left, rim fit.

use coxa_core::{Angle, CupAngleDefinition, CupAngles, PelvicFrame, Side};
use coxa_implants::Catalog;
use nalgebra::{Point3, Vector3};
use serde::Serialize;

use crate::error::{PlanError, Result};
use crate::input::{FixedChoices, PlanAnatomy, SizingRules};
use crate::solid::SolidColumns;
use coxa_core::Mesh;
use coxa_core::landmarks::AcetabulumLandmarks;

/// Directions sampled on the sphere for coverage.
const COVERAGE_DIRECTIONS: usize = 2000;
/// Bone is looked for this far outside the shell surface, mm.
const COVERAGE_GAP_MM: f64 = 1.0;

/// The published relation between the native femoral head and the implanted press-fit shell:
/// shell outer diameter minus native head diameter, mm, from .. to (see the module docs for the
/// sources and how the band follows from them). A plan whose shell falls outside it says so.
pub const HEAD_TO_SHELL_BAND_MM: (f64, f64) = (4.0, 10.0);

/// The band's sources in one line, for the plan's notes.
pub const HEAD_TO_SHELL_BAND_SOURCE: &str = "mean press-fit cups about 6 mm above mean native heads (Naal 2009 against Noble 1988, Rubin 1992), give or take the two 2 mm sizes about which implanted cups scatter around their best prediction (J Orthop Surg Res 2024 doi 10.1186/s13018-024-04526-0; Chen 2022, Arthroplasty Today; Oettl 2025)";

/// Which directions around a cup centre have bone just outside the shell.
#[derive(Debug, Clone)]
pub struct CoverageMap {
    /// Unit directions, pelvic frame.
    dirs: Vec<Vector3<f64>>,
    /// Bone at `centre + (R + gap) u`.
    covered: Vec<bool>,
}

impl CoverageMap {
    /// The map of a shell of `outer_radius_mm` at `centre_lps_mm` in `solid`.
    pub fn new(solid: &SolidColumns, frame: &PelvicFrame, centre_lps_mm: &Point3<f64>, outer_radius_mm: f64) -> Self {
        let dirs = fibonacci_sphere(COVERAGE_DIRECTIONS);
        let r = outer_radius_mm + COVERAGE_GAP_MM;
        let covered = dirs.iter().map(|u| solid.contains_lps(&(centre_lps_mm + frame.vector_to_lps(&(u * r))))).collect();
        Self { dirs, covered }
    }
    /// Covered fraction of the back hemisphere of a cup whose opening faces `axis_pelvic`.
    pub fn coverage(&self, axis_pelvic: &Vector3<f64>) -> f64 {
        // Plain arithmetic on the components (the same sum as `dot`): the optimiser calls this
        // once a candidate, and nalgebra's generic `dot` is slow where the planner is built at
        // opt-level 0 (debug tests).
        let (ax, ay, az) = (axis_pelvic.x, axis_pelvic.y, axis_pelvic.z);
        let (mut n, mut c) = (0usize, 0usize);
        for (u, &b) in self.dirs.iter().zip(&self.covered) {
            let u = u.as_slice();
            if u[0] * ax + u[1] * ay + u[2] * az < 0.0 {
                n += 1;
                c += usize::from(b);
            }
        }
        if n == 0 { 0.0 } else { c as f64 / n as f64 }
    }
}

/// `n` near-uniform unit directions (Fibonacci lattice; deterministic).
fn fibonacci_sphere(n: usize) -> Vec<Vector3<f64>> {
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    (0..n)
        .map(|i| {
            let z = 1.0 - (2.0 * i as f64 + 1.0) / n as f64;
            let r = (1.0 - z * z).sqrt();
            let phi = golden * i as f64;
            Vector3::new(r * phi.cos(), r * phi.sin(), z)
        })
        .collect()
}

/// The reference orientation coverage is judged at: radiographic 40/15 (the Lewinnek centre).
pub fn reference_cup() -> CupAngles {
    CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(40.0), anteversion: Angle::from_deg(15.0) }
}

/// Where the diameter the shell is sized to comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SocketSource {
    /// The bony socket as measured: its sphere lies at least the cartilage allowance outside the
    /// head's (or no femur was given).
    Measured,
    /// The head's diameter plus twice the cartilage allowance: the sphere gap is smaller than the
    /// allowance (not resolved by the input, or resolved but thinner).
    HeadPlusAssumedJointSpace,
}

/// The bony socket as the sizing sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SocketMeasure {
    /// Diameter of the sphere fitted to the lunate surface, mm.
    pub measured_diameter_mm: f64,
    /// Diameter of the native femoral head's sphere, mm (`None`: no femur).
    pub head_diameter_mm: Option<f64>,
    /// Joint space between socket and head (median distance of the lunate surface from the
    /// head's sphere; the sphere gap when the socket was not found about the head), mm.
    pub joint_space_mm: Option<f64>,
    /// The sphere gap: the socket sphere's radius minus the head sphere's, mm — the gap the
    /// measured socket diameter carries into the size, and the one the rule judges.
    pub sphere_gap_mm: Option<f64>,
    /// Whether the input resolved the joint space: a sphere gap of at least
    /// `min_joint_space_mm` (true without a femur).
    pub joint_space_resolved: bool,
    /// The diameter the shell is sized to, mm.
    pub sizing_diameter_mm: f64,
    /// Where it comes from.
    pub source: SocketSource,
    /// Diameter of the circle through the rim points, mm.
    pub rim_diameter_mm: f64,
    /// Extent of the rim along the pelvic anterior-posterior direction in the rim plane: the
    /// opening between the anterior and posterior columns, mm.
    pub rim_ap_diameter_mm: Option<f64>,
    /// Lunate surface vertices the sphere is fitted to, and fossa vertices left out.
    pub lunate_fossa_vertices: [usize; 2],
}

/// One catalog size at the chosen cup centre: what a surgeon weighs when going a size up or down.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeOption {
    /// Shell outer diameter, mm.
    pub outer_diameter_mm: f64,
    /// Last reamer (the series' press fit under the shell), mm.
    pub last_reamer_mm: f64,
    /// The series' press fit, mm.
    pub press_fit_mm: f64,
    /// Coverage of the shell at the reference orientation (radiographic 40/15), fraction.
    pub coverage: f64,
    /// Bone left medial to the shell, mm.
    pub medial_wall_mm: f64,
    /// Shell diameter minus the rim's anterior-posterior diameter, mm: positive, the shell is
    /// wedged between the anterior and posterior columns by this much; negative, it does not
    /// reach them.
    pub rim_fit_mm: Option<f64>,
    /// Reamed beyond the bony socket (shell minus socket sizing diameter), mm.
    pub over_socket_mm: f64,
    /// Whether this is the planned size.
    pub chosen: bool,
    /// What changes against the planned size, in words.
    pub note: String,
}

/// The cup's size and centre.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CupSizing {
    /// Native acetabular diameter (fitted socket sphere, lunate surface), mm.
    pub acetabular_diameter_mm: f64,
    /// The bony socket and where the sizing diameter comes from.
    pub socket: SocketMeasure,
    /// Diameter the rule asks for: the socket's sizing diameter (to the nearest mm) + reaming
    /// allowance, mm.
    pub rule_diameter_mm: f64,
    /// Shell outer diameter chosen: the smallest catalog size >= the rule diameter, mm.
    pub outer_diameter_mm: f64,
    /// Last reamer (press fit of the shell's series), mm.
    pub last_reamer_mm: f64,
    /// Native centre of rotation (fitted socket sphere), LPS mm.
    pub native_centre_lps_mm: [f64; 3],
    /// Cup centre, LPS mm.
    pub centre_lps_mm: [f64; 3],
    /// Cup centre in the pelvic frame, mm.
    pub centre_pelvic_mm: [f64; 3],
    /// Medial shift of the cup centre from the native centre, mm.
    pub medialisation_mm: f64,
    /// Bone medial to the shell along the medial axis, mm.
    pub medial_wall_mm: f64,
    /// Coverage at the reference orientation (radiographic 40/15), fraction.
    pub reference_coverage: f64,
    /// Every centre tried: (medialisation mm, coverage, medial wall mm).
    pub centres_tried: Vec<[f64; 3]>,
    /// The next smaller size, the planned size and the next larger size (those the catalog has).
    pub size_options: Vec<SizeOption>,
    /// What the sizing could not satisfy, and the fallbacks it took.
    pub notes: Vec<String>,
}

/// Every shell outer diameter of the catalog, ascending.
pub fn shell_sizes(catalog: &Catalog) -> Vec<f64> {
    let mut v: Vec<f64> = Vec::new();
    for s in &catalog.shells {
        let n = ((s.outer_diameter_max_mm - s.outer_diameter_min_mm) / s.outer_diameter_step_mm).round().max(0.0) as usize;
        v.extend((0..=n).map(|k| s.outer_diameter_min_mm + k as f64 * s.outer_diameter_step_mm));
    }
    v.sort_by(f64::total_cmp);
    v.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    v
}

/// Bone thickness along the medial ray from the shell surface: the first bone interval met
/// within 30 mm, mm (0 when none).
pub(crate) fn medial_wall_mm(solid: &SolidColumns, frame: &PelvicFrame, side: Side, centre: &Point3<f64>, radius_mm: f64) -> f64 {
    let medial = frame.vector_to_lps(&Vector3::new(-side.lateral_sign(), 0.0, 0.0));
    let step = 0.25;
    let mut entered: Option<f64> = None;
    let mut t = radius_mm;
    while t <= radius_mm + 30.0 {
        let inside = solid.contains_lps(&(centre + medial * t));
        match (entered, inside) {
            (None, true) => entered = Some(t),
            (Some(t0), false) => return t - t0,
            _ => {}
        }
        t += step;
    }
    entered.map_or(0.0, |t0| t - t0)
}

/// Measures the bony socket the shell is sized to (see the module docs: one rule for every
/// input, `sizing = max(measured, head + 2 x allowance)`).
pub fn socket_measure(acetabulum: &AcetabulumLandmarks, head_diameter_mm: Option<f64>, frame: &PelvicFrame, rules: &SizingRules) -> SocketMeasure {
    let measured = 2.0 * acetabulum.radius_mm;
    let sphere_gap = head_diameter_mm.map(|d| acetabulum.radius_mm - d / 2.0);
    let joint_space = head_diameter_mm.and(acetabulum.joint_space_mm.or(sphere_gap));
    let resolved = sphere_gap.is_none_or(|g| g >= rules.min_joint_space_mm);
    let (sizing, source) = match (head_diameter_mm, sphere_gap) {
        (Some(d), Some(g)) if g < rules.assumed_joint_space_mm => (d + 2.0 * rules.assumed_joint_space_mm, SocketSource::HeadPlusAssumedJointSpace),
        _ => (measured, SocketSource::Measured),
    };
    SocketMeasure {
        measured_diameter_mm: measured,
        head_diameter_mm,
        joint_space_mm: joint_space,
        sphere_gap_mm: sphere_gap,
        joint_space_resolved: resolved,
        sizing_diameter_mm: sizing,
        source,
        rim_diameter_mm: acetabulum.rim_diameter_mm,
        rim_ap_diameter_mm: rim_ap_diameter(acetabulum, frame),
        lunate_fossa_vertices: [acetabulum.n_lunate_vertices, acetabulum.n_fossa_vertices],
    }
}

/// What the plan says of the socket and the shell against the native head (module docs): the
/// gap named with the allowance used when the socket is sized from the head, and the shell
/// against [`HEAD_TO_SHELL_BAND_MM`] when the head is known and either the allowance was used
/// or the shell falls outside the band.
fn socket_notes(socket: &SocketMeasure, shell_mm: f64, rules: &SizingRules) -> Vec<String> {
    let (Some(head), Some(gap)) = (socket.head_diameter_mm, socket.sphere_gap_mm) else {
        return Vec::new();
    };
    let over = shell_mm - head;
    let (lo, hi) = HEAD_TO_SHELL_BAND_MM;
    let in_band = (lo..=hi).contains(&over);
    let band = format!(
        "the {shell_mm} mm shell is {over:+.1} mm over the native head, {} the published head-to-cup band {lo:+}..{hi:+} mm ({HEAD_TO_SHELL_BAND_SOURCE})",
        if in_band { "within" } else { "OUTSIDE" }
    );
    let lunate = socket.joint_space_mm.filter(|j| j.is_finite()).map_or(String::new(), |j| format!("; median lunate distance {j:.1} mm"));
    let mut notes = Vec::new();
    if socket.source == SocketSource::HeadPlusAssumedJointSpace {
        let what = if socket.joint_space_resolved {
            format!(
                "the bony socket hugs the femoral head: its sphere ({:.1} mm) lies {gap:.1} mm outside the head's ({head:.1} mm{lunate}), thinner than the {} mm cartilage allowance",
                socket.measured_diameter_mm, rules.assumed_joint_space_mm
            )
        } else {
            format!(
                "the input (CT or bone surfaces) does not resolve the joint space: the socket's sphere ({:.1} mm) lies {gap:.1} mm outside the head's ({head:.1} mm{lunate}), less than the {} mm an adult hip's cartilage leaves between the bones (the segmentation or the surfaces closed it)",
                socket.measured_diameter_mm, rules.min_joint_space_mm
            )
        };
        notes.push(format!(
            "{what}: the socket is sized as the head plus twice the {} mm cartilage allowance, {:.1} mm, not as measured ({:.1} mm); {band}",
            rules.assumed_joint_space_mm, socket.sizing_diameter_mm, socket.measured_diameter_mm
        ));
    } else if !in_band {
        notes.push(format!(
            "the socket is sized as measured ({:.1} mm, {gap:.1} mm outside the head's sphere{lunate}); {band}: check the socket (dysplasia, protrusio, osteophytes) on the images",
            socket.measured_diameter_mm
        ));
    }
    notes
}

/// The rim's extent along the pelvic anterior-posterior axis projected into the rim plane, mm.
fn rim_ap_diameter(acetabulum: &AcetabulumLandmarks, frame: &PelvicFrame) -> Option<f64> {
    let n = acetabulum.opening_axis_lps;
    let ap = frame.vector_to_lps(&Vector3::y());
    let ap = (ap - n * ap.dot(&n)).try_normalize(1e-6)?;
    let proj = acetabulum.rim_points_lps_mm.iter().map(|p| (p - acetabulum.rim_plane_point_lps_mm).dot(&ap));
    let (lo, hi) = proj.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), t| (lo.min(t), hi.max(t)));
    (acetabulum.rim_points_lps_mm.len() >= 6 && hi > lo).then_some(hi - lo)
}

/// Sizes the cup and places its centre; returns the sizing and the coverage map at that centre.
pub fn size_cup(anatomy: &PlanAnatomy, catalog: &Catalog, rules: &SizingRules) -> Result<(CupSizing, CoverageMap)> {
    size_cup_with(anatomy, catalog, rules, &FixedChoices::default())
}

/// [`size_cup`] with the surgeon's fixed shell size and cup shift (`fixed`): the centre is the
/// rule's (medialised for the rule's size), moved by the shift; the shell is the fixed size;
/// coverage, medial wall and the sizing table are measured for them.
pub fn size_cup_with(anatomy: &PlanAnatomy, catalog: &Catalog, rules: &SizingRules, fixed: &FixedChoices) -> Result<(CupSizing, CoverageMap)> {
    let head_d = 2.0 * anatomy.operated.femur.head_radius_mm;
    sized(&anatomy.pelvis, &anatomy.frame, anatomy.side, &anatomy.operated.acetabulum, head_d.is_finite().then_some(head_d), catalog, rules, fixed)
}

/// Sizes a cup in a hip bone alone (no femur needed: `head_diameter_mm` `None` takes the socket
/// as measured); returns the sizing and the coverage map at the chosen centre.
pub fn size_cup_on(
    pelvis: &Mesh,
    frame: &PelvicFrame,
    side: Side,
    acetabulum: &AcetabulumLandmarks,
    head_diameter_mm: Option<f64>,
    catalog: &Catalog,
    rules: &SizingRules,
) -> Result<(CupSizing, CoverageMap)> {
    sized(pelvis, frame, side, acetabulum, head_diameter_mm, catalog, rules, &FixedChoices::default())
}

#[expect(clippy::too_many_arguments, reason = "size_cup_on's values and the fixed choices")]
fn sized(
    pelvis: &Mesh,
    frame: &PelvicFrame,
    side: Side,
    acetabulum: &AcetabulumLandmarks,
    head_diameter_mm: Option<f64>,
    catalog: &Catalog,
    rules: &SizingRules,
    fixed: &FixedChoices,
) -> Result<(CupSizing, CoverageMap)> {
    let d_a = 2.0 * acetabulum.radius_mm;
    if !(d_a.is_finite() && d_a > 10.0) {
        return Err(PlanError::Anatomy { structure: "acetabulum", why: format!("fitted diameter {d_a} mm is not usable; check the acetabulum landmarks") });
    }
    let socket = socket_measure(acetabulum, head_diameter_mm, frame, rules);
    // The socket is read to the nearest whole millimetre, the reamers' step: a surface
    // measurement is no finer (the phantom's known 54 mm socket measures 53.6-54.1 mm).
    let rule = socket.sizing_diameter_mm.round() + rules.ream_allowance_mm;
    let sizes = shell_sizes(catalog);
    let k_od = sizes
        .iter()
        .position(|s| *s >= rule - 1e-9)
        .ok_or_else(|| PlanError::NoFit { why: format!("the socket ({:.1} mm) needs a shell of at least {rule:.1} mm; the catalog's largest is {:?} mm", socket.sizing_diameter_mm, sizes.last()) })?;
    let rule_od = sizes[k_od];
    let mut notes = socket_notes(&socket, rule_od, rules);
    // The surgeon's shell: a catalog size.
    let k_fixed = match fixed.shell_outer_diameter_mm {
        Some(d) => Some(sizes.iter().position(|s| (s - d).abs() < 1e-6).ok_or_else(|| PlanError::InvalidOption {
            what: "fixed shell outer diameter (mm)".into(),
            value: format!("{d}"),
            why: format!("not a size of the catalog: choose one of {sizes:?} mm"),
        })?),
        None => None,
    };
    let r = rule_od / 2.0;
    let native = acetabulum.centre.lps_mm;
    let medial = frame.vector_to_lps(&Vector3::new(-side.lateral_sign(), 0.0, 0.0));
    let k_max = k_fixed.map_or(k_od, |k| k.max(k_od));
    let r_max = sizes[(k_max + 1).min(sizes.len() - 1)] / 2.0;
    let reach_shift = fixed.cup_shift_mm.map_or(0.0, |v| v.iter().map(|x| x.abs()).fold(0.0, f64::max));
    let solid = SolidColumns::new(pelvis, native, frame.pelvic_from_lps(), r_max + rules.max_medialisation_mm + reach_shift + 40.0, 0.5);
    let reference_axis = reference_cup().axis(side);
    let n_steps = (rules.max_medialisation_mm / 0.5).floor() as usize;
    let tried: Vec<(f64, f64, f64, CoverageMap)> = (0..=n_steps)
        .map(|k| {
            let m = 0.5 * k as f64;
            let c = native + medial * m;
            let map = CoverageMap::new(&solid, frame, &c, r);
            (m, map.coverage(&reference_axis), medial_wall_mm(&solid, frame, side, &c, r), map)
        })
        .collect();
    let feasible: Vec<usize> = (0..tried.len()).filter(|&i| tried[i].2 >= rules.min_medial_wall_mm).collect();
    let pick = if feasible.is_empty() {
        notes.push(format!(
            "less than {} mm of medial wall even at the native centre ({:.1} mm): cup left at the native centre; consider the next smaller size (see the sizing table)",
            rules.min_medial_wall_mm, tried[0].2
        ));
        0
    } else if let Some(&i) = feasible.iter().find(|&&i| tried[i].1 >= rules.coverage_target) {
        i
    } else {
        let best = feasible.iter().copied().fold(feasible[0], |b, i| if tried[i].1 > tried[b].1 + 1e-12 { i } else { b });
        notes.push(format!("coverage {:.0} % stays below the {:.0} % target within {} mm of medialisation", 100.0 * tried[best].1, 100.0 * rules.coverage_target, rules.max_medialisation_mm));
        best
    };
    let (m, mut cov, mut wall) = (tried[pick].0, tried[pick].1, tried[pick].2);
    let mut centre = native + medial * m;
    let mut map = None;
    let k_rule = k_od;
    let (k_od, od) = match k_fixed {
        Some(k) => {
            if k != k_od {
                notes.push(format!("the surgeon fixed the shell at {} mm (the sizing rule gives {rule_od} mm)", sizes[k]));
            }
            (k, sizes[k])
        }
        None => (k_od, rule_od),
    };
    // The surgeon's centre: the rule's, moved in the pelvic frame (medial, superior, anterior).
    if let Some([dm, ds, da]) = fixed.cup_shift_mm.filter(|v| v.iter().any(|x| *x != 0.0)) {
        centre += frame.vector_to_lps(&Vector3::new(-side.lateral_sign() * dm, -da, ds));
        notes.push(format!("the surgeon moved the cup centre {dm:+.1} mm medial, {ds:+.1} mm superior, {da:+.1} mm anterior of the sizing's centre"));
    }
    if k_fixed.is_some_and(|k| (sizes[k] - rule_od).abs() > 1e-9) || fixed.cup_shift_mm.is_some_and(|v| v.iter().any(|x| *x != 0.0)) {
        let c_map = CoverageMap::new(&solid, frame, &centre, od / 2.0);
        cov = c_map.coverage(&reference_axis);
        wall = medial_wall_mm(&solid, frame, side, &centre, od / 2.0);
        map = Some(c_map);
    }
    let (cov, wall) = (&cov, &wall);
    // Every size comes from a series of the catalog (`shell_sizes`), so its series is found.
    let press_fit = |d: f64| catalog.shell_family(d).map_or(0.0, |f| f.press_fit_mm);
    // The sizing table: the next size down, the planned size, the next size up, at this centre.
    let size_options: Vec<SizeOption> = [k_od.checked_sub(1), Some(k_od), (k_od + 1 < sizes.len()).then_some(k_od + 1)]
        .into_iter()
        .flatten()
        .map(|k| {
            let d = sizes[k];
            let (coverage, medial_wall) =
                if k == k_od { (*cov, *wall) } else { (CoverageMap::new(&solid, frame, &centre, d / 2.0).coverage(&reference_axis), medial_wall_mm(&solid, frame, side, &centre, d / 2.0)) };
            let rim_fit = socket.rim_ap_diameter_mm.map(|ap| d - ap);
            let note = if k == k_od && k_od != k_rule {
                format!("fixed by the surgeon (the sizing rule gives {rule_od} mm)")
            } else if k == k_od {
                format!("planned: the smallest shell >= the socket ({:.0} mm) + {} mm reaming", socket.sizing_diameter_mm.round(), rules.ream_allowance_mm)
            } else if k < k_od {
                format!(
                    "{} mm smaller: reams {:.1} mm less than the rule, so subchondral bone is left {}; coverage {:+.0} %, medial wall {:+.1} mm",
                    od - d,
                    rule - d,
                    if d < socket.sizing_diameter_mm { "and the shell does not fill the socket" } else { "over part of the socket" },
                    100.0 * (coverage - cov),
                    medial_wall - wall
                )
            } else {
                format!(
                    "{} mm larger: reams {:.1} mm more into the columns and the medial wall; coverage {:+.0} %, medial wall {:+.1} mm",
                    d - od,
                    d - od,
                    100.0 * (coverage - cov),
                    medial_wall - wall
                )
            };
            SizeOption {
                outer_diameter_mm: d,
                last_reamer_mm: d - press_fit(d),
                press_fit_mm: press_fit(d),
                coverage,
                medial_wall_mm: medial_wall,
                rim_fit_mm: rim_fit,
                over_socket_mm: d - socket.sizing_diameter_mm,
                chosen: k == k_od,
                note,
            }
        })
        .collect();
    let p = |q: &Point3<f64>| [q.x, q.y, q.z];
    let sizing = CupSizing {
        acetabular_diameter_mm: d_a,
        socket,
        rule_diameter_mm: rule,
        outer_diameter_mm: od,
        last_reamer_mm: od - press_fit(od),
        native_centre_lps_mm: p(&native),
        centre_lps_mm: p(&centre),
        centre_pelvic_mm: p(&frame.point_to_pelvic(&centre)),
        medialisation_mm: if fixed.cup_shift_mm.is_some() { (centre - native).dot(&medial) } else { m },
        medial_wall_mm: *wall,
        reference_coverage: *cov,
        centres_tried: tried.iter().map(|(m, c, w, _)| [*m, *c, *w]).collect(),
        size_options,
        notes,
    };
    let map = match map {
        Some(m) => m,
        None => tried.into_iter().nth(pick).map(|t| t.3).ok_or_else(|| PlanError::Anatomy { structure: "acetabulum", why: "no cup centre tried".into() })?,
    };
    Ok((sizing, map))
}

#[cfg(test)]
#[path = "tests_cup.rs"]
mod tests;
