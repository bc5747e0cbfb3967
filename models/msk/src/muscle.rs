//! Hill-type muscle curves for static optimisation: active force-length, passive force-length
//! and force-velocity, with a rigid tendon (SI units; lengths normalised by the optimal fibre
//! length, velocities by the maximum contraction velocity).
//!
//! Thelen 2003 muscles use Thelen's curves with the model's parameters. Millard 2012 muscles use
//! the same curve shapes (a Gaussian active force-length curve, an exponential passive curve),
//! a documented approximation of Millard's quintic Bezier curves: within 0.5..1.5 optimal
//! lengths they differ by a few per cent of the maximum force.

use coxa_osim::{Muscle, MuscleModel, ThelenParams};

/// The force a muscle can produce at one pose, along its tendon, N.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MuscleCapacity {
    /// Force at full activation minus the passive force: the force per unit activation, N.
    pub active_n: f64,
    /// Passive force (activation independent), N.
    pub passive_n: f64,
    /// Normalised fibre length (fibre length / optimal fibre length).
    pub norm_fiber_length: f64,
}

fn thelen_params(m: &Muscle) -> ThelenParams {
    match &m.model {
        MuscleModel::Thelen2003(p) => p.clone(),
        _ => ThelenParams::default(),
    }
}

/// Thelen's active force-length curve: `exp(-(l - 1)^2 / kshape_active)`.
pub fn active_force_length(norm_len: f64, kshape_active: f64) -> f64 {
    (-(norm_len - 1.0).powi(2) / kshape_active).exp()
}

/// Thelen's passive force-length curve (0 below optimal length).
pub fn passive_force_length(norm_len: f64, kshape_passive: f64, fmax_muscle_strain: f64) -> f64 {
    if norm_len <= 1.0 {
        return 0.0;
    }
    ((kshape_passive * (norm_len - 1.0) / fmax_muscle_strain).exp() - 1.0) / (kshape_passive.exp() - 1.0)
}

/// A Hill force-velocity multiplier at full activation (Thelen's shape factor `af` and
/// eccentric plateau `flen`) for a normalised fibre velocity
/// (positive lengthening, in maximum contraction velocities; clamped to [-1, 1]).
pub fn force_velocity(norm_vel: f64, af: f64, flen: f64) -> f64 {
    let v = norm_vel.clamp(-1.0, 1.0);
    if v <= 0.0 {
        // Concentric: Hill's hyperbola, 0 at -1, 1 at 0.
        (1.0 + v) / (1.0 - v / af)
    } else {
        // Eccentric: a hyperbola rising from 1 towards flen, with the concentric slope at 0.
        let c = (flen - 1.0) / (1.0 + 1.0 / af);
        (flen * v + c) / (v + c)
    }
}

/// What the muscle can do at muscle-tendon length `mt_length_m` lengthening at
/// `mt_speed_m_s` (positive: lengthening), with a rigid tendon and constant-thickness pennation.
pub fn capacity(m: &Muscle, mt_length_m: f64, mt_speed_m_s: f64) -> MuscleCapacity {
    let p = thelen_params(m);
    let lopt = m.optimal_fiber_length_m;
    let height = lopt * m.pennation_angle_at_optimal_rad.sin();
    let along = (mt_length_m - m.tendon_slack_length_m).max(1e-4 * lopt);
    let fiber = (along * along + height * height).sqrt();
    let cos_alpha = along / fiber;
    let norm_len = fiber / lopt;
    let norm_vel = mt_speed_m_s * cos_alpha / (lopt * m.max_contraction_velocity);
    let fl = active_force_length(norm_len, p.kshape_active);
    let fv = force_velocity(norm_vel, p.af, p.flen);
    let fpe = passive_force_length(norm_len, p.kshape_passive, p.fmax_muscle_strain);
    MuscleCapacity { active_n: m.max_isometric_force_n * fl * fv * cos_alpha, passive_n: m.max_isometric_force_n * fpe * cos_alpha, norm_fiber_length: norm_len }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn curves_have_their_defining_values() {
        assert_relative_eq!(active_force_length(1.0, 0.45), 1.0);
        assert!(active_force_length(0.5, 0.45) < 0.6);
        assert_eq!(passive_force_length(0.9, 4.0, 0.6), 0.0);
        assert_relative_eq!(passive_force_length(1.6, 4.0, 0.6), 1.0, epsilon = 1e-12);
        assert_relative_eq!(force_velocity(0.0, 0.25, 1.4), 1.0);
        assert_relative_eq!(force_velocity(-1.0, 0.25, 1.4), 0.0);
        assert!(force_velocity(1.0, 0.25, 1.4) > 1.3 && force_velocity(1.0, 0.25, 1.4) < 1.4);
        // Continuous slope through zero.
        let h = 1e-7;
        let left = (force_velocity(0.0, 0.25, 1.4) - force_velocity(-h, 0.25, 1.4)) / h;
        let right = (force_velocity(h, 0.25, 1.4) - force_velocity(0.0, 0.25, 1.4)) / h;
        assert_relative_eq!(left, right, epsilon = 1e-4);
    }
}
