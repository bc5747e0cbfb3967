//! The hip contact force's options: the activity's posture ranges, the solver's budget and their defaults.

use super::*;

/// Options of [`hip_contact_force_with`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct HcfOptions {
    /// Balance the stance knee and ankle too (default true): two-joint muscles then pay for
    /// their knee and ankle moments. False: only the three hip equations (a classic hip-only
    /// static model).
    pub distal_equilibrium: bool,
    /// Choose the free posture parameters (see the module docs: pelvic tilt and the sagittal
    /// position of the upper body's centre of mass) within their physiological ranges so that
    /// the muscle effort is least (default true). False: the pelvis untilted (walking keeps
    /// its fixed obliquity and rotation) and the upper body's centre of mass above the hip
    /// centre (the previous fixed posture).
    pub optimise_posture: bool,
    /// A straight stance knee (one-leg stance) is held against hyperextension by its passive
    /// structures at no muscular cost (default true).
    pub passive_knee_lock: bool,
    /// Let the posture search lean the trunk sideways (lumbar bending) by up to 3 deg either
    /// way (default true); only with [`HcfOptions::optimise_posture`].
    pub lateral_trunk_lean: bool,
    /// Exponent `p` of the static optimisation's cost `sum a^p` (default 2, summed squared
    /// activation; 3 is Crowninshield and Brand's endurance criterion; 2..4 allowed).
    pub activation_exponent: f64,
    /// Weight each muscle's activation cost by its volume (`F_max x l_opt`, proportional to
    /// PCSA x fibre length): the muscle-volume-weighted criterion `sum V_i a_i^p` (default false).
    pub volume_weighted: bool,
    /// Weight `w` of the squared hip contact force in the cost, a joint-load-aware criterion:
    /// `sum a_i^2 + w (|F_hip| / BW)^2` (default 0, the plain criterion). Large values approach
    /// the least hip contact force that balances the loads with `0 <= a <= 1` (the lower bound
    /// of Modenese et al. 2013). The posture search then minimises this cost too. Only with
    /// [`HcfOptions::activation_exponent`] 2.
    pub joint_load_weight: f64,
    /// Map the model's femur onto the patient's by the posterior condylar axis (MPC -> LPC)
    /// instead of the epicondylar axis (MEC -> LEC), for the OrthoLoad frame: see
    /// [`RightFemur::anatomical_axes_posterior_condyles`] (default false).
    pub posterior_condylar_mapping: bool,
    /// Add each muscle's passive fibre force (rigid tendon, Thelen's exponential curve) to the
    /// loads the activations must balance (default true). False leaves it out, as OpenSim's
    /// StaticOptimization does (it overrides every muscle's force with `a x` its active
    /// capacity, so no passive force acts): on a model scaled without rescaling its fibre and
    /// tendon slack lengths the fibres may be stretched far past optimal and their passive force
    /// dominate (see the README on `coxa hcf --motion`).
    pub passive_fibre_force: bool,
    /// Walking only: the net hip moments measured at the first peak of the hip force (the
    /// patient's gait analysis), used instead of the quasi-static posture's estimate (default
    /// none). The frontal and sagittal moments the muscles must balance are then these; the
    /// posture still gives the muscles' paths, the load's force and the moment about the
    /// vertical. Why it matters: the quasi-static estimate of the abductor moment is about
    /// 0.84-1.06 N m/kg, measured gaits show about 0.35-0.8, and the walking force moves by
    /// about 200 %BW per N m/kg (README, "What the walking force rests on").
    pub walking_hip_moment: Option<WalkingHipMoment>,
}

impl Default for HcfOptions {
    fn default() -> Self {
        Self {
            distal_equilibrium: true,
            optimise_posture: true,
            passive_knee_lock: true,
            lateral_trunk_lean: true,
            activation_exponent: 2.0,
            volume_weighted: false,
            joint_load_weight: 0.0,
            posterior_condylar_mapping: false,
            passive_fibre_force: true,
            walking_hip_moment: None,
        }
    }
}

impl HcfOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`HcfOptions::distal_equilibrium`].
    pub fn with_distal_equilibrium(mut self, on: bool) -> Self {
        self.distal_equilibrium = on;
        self
    }

    /// Sets [`HcfOptions::passive_knee_lock`].
    pub fn with_passive_knee_lock(mut self, on: bool) -> Self {
        self.passive_knee_lock = on;
        self
    }

    /// Sets [`HcfOptions::passive_fibre_force`].
    pub fn with_passive_fibre_force(mut self, on: bool) -> Self {
        self.passive_fibre_force = on;
        self
    }

    /// Sets [`HcfOptions::activation_exponent`].
    pub fn with_activation_exponent(mut self, p: f64) -> Self {
        self.activation_exponent = p;
        self
    }

    /// Sets [`HcfOptions::volume_weighted`].
    pub fn with_volume_weighted(mut self, on: bool) -> Self {
        self.volume_weighted = on;
        self
    }

    /// Sets [`HcfOptions::joint_load_weight`].
    pub fn with_joint_load_weight(mut self, w: f64) -> Self {
        self.joint_load_weight = w;
        self
    }

    /// Sets [`HcfOptions::posterior_condylar_mapping`].
    pub fn with_posterior_condylar_mapping(mut self, on: bool) -> Self {
        self.posterior_condylar_mapping = on;
        self
    }

    /// Sets [`HcfOptions::lateral_trunk_lean`].
    pub fn with_lateral_trunk_lean(mut self, on: bool) -> Self {
        self.lateral_trunk_lean = on;
        self
    }

    /// Sets [`HcfOptions::optimise_posture`].
    pub fn with_optimise_posture(mut self, on: bool) -> Self {
        self.optimise_posture = on;
        self
    }

    /// Sets [`HcfOptions::walking_hip_moment`].
    pub fn with_walking_hip_moment(mut self, moment: Option<WalkingHipMoment>) -> Self {
        self.walking_hip_moment = moment;
        self
    }
}
