//! The renders' two sets, kept apart: **tuning** (what segmentation work may be tuned on) and
//! **test** (held apart: only measured, never tuned on). They differ in subjects and in seeds.
//!
//! - Subjects: the vsd_bones cadaver z013 (real pelvis halves and full femurs) is test-only. The
//!   30 atlas pelvises (no femurs: z013's femurs are set into their sockets, scaled to the socket,
//!   [`super::joint::socket_femur`]) are split by their place in the sorted list of atlas ids:
//!   even places tuning, odd places test ([`TUNING_ATLAS_IDS`], [`TEST_ATLAS_IDS`]).
//! - Seeds (noise and streaks): tuning 1-999, test 1000 and above.
//! - Known overlap: the femur shape of the atlas subjects is z013's in both sets (scaled); the
//!   shipped shape model's femurs would part them too (not done yet).
//! - Atlas placement (since 2026-11-28): z013's femur turned with z013's anterior pelvic plane
//!   onto the atlas pelvis's, seated in the socket by clearance and scaled to a 2.5 mm narrowest
//!   head gap ([`super::joint::socket_femur`]); the render then sets the case's width and refuses
//!   a femur that enters the hip bone. Set by the spheres and the pelvic frames alone (no
//!   seating), 15 of the 30 atlas subjects had a femur reading 0.06-45 mm inside the hip bone
//!   (measured 2026-11-28, inside/outside from the surface normals only).
//! - **Limit, measured 2026-11-28:** in some atlas sockets z013's head cannot be seated with a
//!   2.5 mm gap even at scale 0.75 (a head of 15 mm radius): test atlas 06 (left), 22 (right),
//!   25, 41, 45 (right), tuning atlas 04 (left), 14 (right), 24 (left); and test atlas 34's
//!   right head (16 mm once seated) would need 14.6 mm for its 5 mm joint. Those cases are
//!   refused, not rendered: the test set has 15 valid CTs of 21 (30 hips). The atlas
//!   surfaces are open (6-13 boundary edges a hip) and folded in places (38-69 edges with a dihedral
//!   over 150 deg in the failing hips, none in atlas 03), so inside/outside is checked by ray
//!   parity where the normals say inside; with it atlas 06, 22, 25 and 41 still keep only
//!   -1.4 to 0.1 mm at scale 0.75 (not examined further: repaired atlas surfaces, or the shape
//!   model's femurs, are the next step).
//!
//! The test set holds 21 CTs (15 valid, above) covering in-plane 0.6-0.98 mm and slices 0.6-1.25 mm,
//! full-length and cut below the trochanters, normal (4-5 mm) and arthritic (0.5-2 mm) joints,
//! tilts up to 10 deg and metal in the other hip.

use coxa_core::Side;

use super::{Extent, RenderSpec};

/// Atlas subjects of the tuning set.
pub const TUNING_ATLAS_IDS: [u32; 15] = [2, 4, 8, 10, 14, 16, 24, 28, 31, 36, 40, 43, 46, 51, 57];
/// Atlas subjects of the held-apart test set.
pub const TEST_ATLAS_IDS: [u32; 15] = [3, 6, 9, 11, 15, 22, 25, 29, 34, 37, 41, 45, 47, 52, 63];
/// The first seed of the test set; tuning seeds are below it.
pub const TEST_SEED_BASE: u64 = 1000;

/// Whose bones a case renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// vsd_bones z013: its own pelvis halves, sacrum and femurs.
    Z013,
    /// An atlas pelvis (hips and sacrum) with z013's femurs set into its sockets.
    Atlas(u32),
}

/// Which set a case belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// May be tuned on.
    Tuning,
    /// Held apart.
    Test,
}

/// One render of a set.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// A short name (`test-03-z013-...`).
    pub name: String,
    /// Whose bones.
    pub subject: Subject,
    /// Tuning or test.
    pub role: Role,
    /// The render.
    pub spec: RenderSpec,
}

/// Grids (in-plane, slice mm) cycled through a set.
const GRIDS: [(f64, f64); 6] = [(0.78, 1.0), (0.6, 0.6), (0.98, 1.25), (0.7, 0.8), (0.85, 1.0), (0.9, 1.25)];
/// Joints `[left, right]` (dome gap, mm) cycled through a set: normal, arthritic, mixed, own.
const JOINTS: [[Option<f64>; 2]; 5] = [[Some(4.5), Some(4.5)], [Some(1.0), Some(1.5)], [Some(0.5), Some(4.0)], [None, None], [Some(2.0), Some(5.0)]];
/// Tilts (deg about x, y, z) cycled through a set.
const TILTS: [[f64; 3]; 4] = [[0.0; 3], [0.0, 10.0, 0.0], [8.0, 0.0, 5.0], [-5.0, -6.0, 10.0]];

fn case(n: usize, subject: Subject, role: Role, seed: u64) -> Case {
    let (inplane, slice) = GRIDS[n % GRIDS.len()];
    // Even cases (in-plane 0.78-0.98 mm) pelvis to knee, odd ones (0.6-0.9 mm) cut: a finer grid
    // pelvis to knee would pass the render limit.
    let extent = if n.is_multiple_of(2) { Extent::FullLength } else { Extent::CutBelowTrochanters };
    let joint_space_mm = JOINTS[n % JOINTS.len()];
    let tilt_deg = TILTS[n % TILTS.len()];
    // Metal in the other hip in every fourth case, on the side of the wider joint.
    let metal = (n % 4 == 3).then(|| if joint_space_mm[0].unwrap_or(3.0) >= joint_space_mm[1].unwrap_or(3.0) { Side::Left } else { Side::Right });
    let spec = RenderSpec {
        spacing_mm: [inplane, inplane, slice],
        extent,
        joint_space_mm,
        tilt_deg,
        // Bone kernel: in-plane FWHM 0.7-1.0 mm with the grid; along z the slice width.
        psf_fwhm_mm: [(0.7f64).max(1.1 * inplane), slice],
        noise_sd_hu: [20.0, 30.0, 40.0][n % 3],
        seed,
        metal,
        ..RenderSpec::default()
    };
    let who = match subject {
        Subject::Z013 => "z013".to_string(),
        Subject::Atlas(id) => format!("atlas{id:02}"),
    };
    let role_name = if role == Role::Test { "test" } else { "tuning" };
    let ext = if extent == Extent::FullLength { "full" } else { "cut" };
    let name = format!("{role_name}-{n:02}-{who}-{inplane}x{slice}-{ext}");
    Case { name, subject, role, spec }
}

/// The held-apart test set: z013 six times (every grid), then each test atlas pelvis once; 21 CTs.
pub fn test_set() -> Vec<Case> {
    let subjects = std::iter::repeat_n(Subject::Z013, 6).chain(TEST_ATLAS_IDS.iter().map(|&id| Subject::Atlas(id)));
    subjects.enumerate().map(|(n, s)| case(n, s, Role::Test, TEST_SEED_BASE + n as u64)).collect()
}

/// The tuning set: each tuning atlas pelvis once; 15 CTs.
pub fn tuning_set() -> Vec<Case> {
    TUNING_ATLAS_IDS.iter().enumerate().map(|(n, &id)| case(n, Subject::Atlas(id), Role::Tuning, 1 + n as u64)).collect()
}
