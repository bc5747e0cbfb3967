//! `coxa hcf`'s table for people (without `--json`).

use coxa_core::{HcfMotionRecord, HcfRecord};

/// The force of an activity from landmark files.
pub(super) fn landmarks(r: &HcfRecord) {
    let v = r.hcf_percent_bw;
    println!("hip contact force on the femoral head ({}), % body weight", r.activity);
    println!("  x (lateral)  {:8.1}\n  y (anterior) {:8.1}\n  z (proximal) {:8.1}\n  magnitude    {:8.1}", v[0], v[1], v[2], r.magnitude_percent_bw);
    println!("frame: {}", r.frame);
    println!("model: {}", r.model);
    for note in &r.notes {
        println!("note: {note}");
    }
    let ab = &r.abductors;
    println!(
        "abductors (gluteus medius, minimus, tensor fasciae latae): mean moment arm {:.1} -> {:.1} mm, maximum abduction moment {:.1} -> {:.1} N m (before -> after the plan)",
        ab.native.mean_moment_arm_mm, ab.planned.mean_moment_arm_mm, ab.native.max_moment_nm, ab.planned.max_moment_nm
    );
    if let Some(check) = &r.posture_check {
        println!("posture check (rapier3d multibody under the solved forces): largest residual {:.4} % body weight x height", check.max_percent_bw_height);
    }
    for s in r.along.iter().flatten() {
        println!(
            "  progress {:.2}: hip {:5.1}, knee {:5.1}, ankle {:5.1} deg -> {:6.1} %BW{}",
            s.progress,
            s.hip_flexion_deg,
            s.knee_flexion_deg,
            s.ankle_deg,
            s.magnitude_percent_bw,
            match (s.balanced, s.held) {
                (true, true) => "",
                (false, _) => " (not balanced quasi-statically)",
                (true, false) => " (needs reserve actuators)",
            }
        );
    }
    if let Some(st) = &r.strength {
        for e in &st.effect {
            println!(
                "strength from the CT: hip force {:.1} (generic) -> {:.1} %BW (personalised); abductor force {:.0} -> {:.0} N, demand {:.1} -> {:.1} %",
                e.hcf_percent_bw[0], e.hcf_percent_bw[1], e.abductor_force_n[0], e.abductor_force_n[1], e.abductor_demand_percent[0], e.abductor_demand_percent[1]
            );
        }
        for l in &st.lines {
            println!("  {:<14} {:<24} {:7.1} -> {:7.1} N", l.muscle, l.ct_class, l.generic_n, l.personalised_n);
        }
    }
    if let Some(p) = &r.exported_osim {
        println!("wrote {p}");
    }
}

/// The force over a measured motion.
pub(super) fn motion(r: &HcfMotionRecord) {
    println!("hip contact force over {} ({} frames, {} in stance on the hip's leg), % body weight, femur frame", r.motion, r.frames, r.stance_frames);
    for (label, peak) in [("peak", &r.peak), ("first stance peak", &r.first_peak), ("second stance peak", &r.second_peak)] {
        if let Some(p) = peak {
            let v = p.hcf_femur_percent_bw;
            println!("  {label:<18} {:7.1} at {:.3} s  ({:.1}, {:.1}, {:.1})", p.magnitude_percent_bw, p.time_s, v[0], v[1], v[2]);
        }
    }
    if r.frames_needing_reserves > 0 {
        println!("note: {} frames needed reserve actuators above 1 N m (the muscles could not balance the loads there)", r.frames_needing_reserves);
    }
    println!("model: {}", r.model);
    if let Some(p) = &r.out {
        println!("wrote {p}");
    }
}
