//! Issue 42: the cup sized from any input by one rule. On every case the project has — the real
//! CT, both demo phantoms (the built-in one and the realistic LLP26 one), the vsd z013 bone
//! surfaces (both sides, `coxa plan --mesh`), the 30 atlas pelvises with the femurs a virtual
//! population places in them (training subjects: atlas pelvis k with LLP26 femur k, a 3 mm joint
//! space) — the planned shell lies in the published head-to-cup band
//! ([`coxa_planner::cup::HEAD_TO_SHELL_BAND_MM`]), and a gap the input does not resolve (or that
//! is thinner than the cartilage allowance) is named in the plan with the fallback used. The
//! atlas pelvises without femurs are sized in `tests/tests/sizing.rs`.
//!
//! The one exception, and why: an atlas pelvis and an LLP26 femur are two people, the femur scaled
//! so that the joint space is 3 mm on the mean of both sockets. Where coxa's socket on one side
//! lies farther outside the placed head than that (the atlas's two sockets, fitted about the
//! placed heads on its 5000-vertex surfaces, differ by up to 9 mm), the measured socket sizes the
//! shell and it may exceed the band (measured when written: 8 of 54 sides, +10.1 to +13.3 mm,
//! sphere gaps 3.4-5.4 mm); the plan then says so ("OUTSIDE the published head-to-cup band"),
//! which the test asserts. Every case whose head and socket are one person's lies in the band.

use anyhow::{Context, Result};
use serde_json::Value;

use coxa_core::Side;
use coxa_planner::SizingRules;
use coxa_planner::cup::{HEAD_TO_SHELL_BAND_MM, SocketSource, size_cup_on};

use crate::cases::{coxa, ok, read_json};
use crate::common::shared_data;

/// The joint space the virtual population places its femurs with (mean of both sides), mm.
const PLACED_JOINT_SPACE_MM: f64 = 3.0;

/// One planned cup: the case, the native head and the socket as the sizing saw them, the shell and
/// the plan's notes; `paired` when head and pelvis are different people's (an atlas pelvis with a
/// femur of LLP26 placed in it).
struct Row {
    case: String,
    paired: bool,
    head_mm: f64,
    socket_mm: f64,
    sphere_gap_mm: f64,
    lunate_mm: Option<f64>,
    from_head: bool,
    resolved: bool,
    shell_mm: f64,
    notes: Vec<String>,
}

/// The row of a plan.json (`plan`), as the plan wrote it.
fn from_plan(case: &str, plan: &Value) -> Result<Row> {
    let socket = &plan["cup"]["socket"];
    let num = |v: &Value, what: &str| v.as_f64().with_context(|| format!("{case}: {what} in {socket}"));
    Ok(Row {
        case: case.to_string(),
        paired: false,
        head_mm: num(&socket["head_diameter_mm"], "head")?,
        socket_mm: num(&socket["measured_diameter_mm"], "socket")?,
        sphere_gap_mm: num(&socket["sphere_gap_mm"], "sphere gap")?,
        lunate_mm: socket["joint_space_mm"].as_f64(),
        from_head: socket["source"] == "head_plus_assumed_joint_space",
        resolved: socket["joint_space_resolved"] == true,
        shell_mm: num(&plan["cup"]["outer_diameter_mm"], "shell")?,
        notes: plan["notes"].as_array().context("notes")?.iter().filter_map(|n| n.as_str().map(str::to_string)).collect(),
    })
}

/// `coxa plan --mesh` on the vsd z013 bones for `side`: its plan.json.
fn vsd_plan(tmp: &std::path::Path, side: &str) -> Option<Value> {
    let dir = shared_data("vsd_bones")?;
    let m = |n: &str, f: &str| format!("{n}={}", dir.join(f).display());
    let meshes = [m("hip_right", "z013_Hip_R.stl"), m("femur_right", "z013_Femur_R.stl"), m("hip_left", "z013_Hip_L.stl"), m("femur_left", "z013_Femur_L.stl")];
    let out = tmp.join(side);
    let mut args: Vec<&str> = vec!["plan", "--side", side, "--grid-step-deg", "10", "--out", out.to_str().unwrap()];
    for x in &meshes {
        args.extend(["--mesh", x.as_str()]);
    }
    ok(&coxa(&args));
    Some(read_json(&out.join("plan.json")))
}

/// The 30 atlas pelvises, each with LLP26 training femur k placed in it (a 3 mm joint space, as
/// a virtual population's subjects are), sized by the planner's cup rule (`size_cup_on`, what
/// `coxa plan` runs) on coxa's landmarks of the placed bones; and the pelvises the population
/// refuses (sockets too small for an adult head 3 mm inside them: sized without a femur in
/// `tests/tests/sizing.rs`).
fn atlas_rows() -> Result<(Vec<Row>, Vec<String>)> {
    let Some(atlas) = shared_data("pelvis_atlas") else { return Ok((Vec::new(), Vec::new())) };
    let femur_model = coxa_shape::locate::locate_llp26(&[]).context("LLP26")?.dir;
    let catalog = coxa_implants::Catalog::builtin()?;
    let rules = SizingRules::default();
    let (mut rows, mut refused) = (Vec::new(), Vec::new());
    for index in 0..30 {
        let sample =
            coxa_case::population::ShapeSample { pelvis_model: atlas.clone(), femur_model: femur_model.clone(), seed: 0, index, joint_space_mm: PLACED_JOINT_SPACE_MM, n_modes: None, training: true };
        let s = match coxa_case::population::subject(&sample) {
            Ok(s) => s,
            Err(e) if e.contains("outside the adult range") => {
                refused.push(format!("atlas {index:2}: {e}"));
                continue;
            }
            Err(e) => anyhow::bail!(e),
        };
        let (found, warnings) = coxa_anatomy::landmarks::find(&coxa_anatomy::landmarks::Bones::named(&s.meshes));
        let frame = found.frame().with_context(|| format!("atlas {index}: no pelvic frame: {warnings:?}"))?;
        for side in [Side::Left, Side::Right] {
            let hip = &s.meshes.iter().find(|(n, _)| *n == format!("hip_{}", side.as_str())).context("hip")?.1;
            let a = found.acetabulum(side).context("acetabulum")?;
            let head_mm = 2.0 * found.femur(side).context("femur")?.head_radius_mm;
            let (c, _) = size_cup_on(hip, &frame, side, a, Some(head_mm), &catalog, &rules)?;
            rows.push(Row {
                case: format!("atlas {index:2} + LLP26 femur {:2} {}", index % 26, side.as_str()),
                paired: true,
                head_mm,
                socket_mm: c.socket.measured_diameter_mm,
                sphere_gap_mm: c.socket.sphere_gap_mm.context("sphere gap")?,
                lunate_mm: c.socket.joint_space_mm,
                from_head: c.socket.source == SocketSource::HeadPlusAssumedJointSpace,
                resolved: c.socket.joint_space_resolved,
                shell_mm: c.outer_diameter_mm,
                notes: c.notes,
            });
        }
    }
    Ok((rows, refused))
}

#[test]
fn issue_42_every_case_plans_a_shell_in_the_head_to_cup_band() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let mut rows = vec![from_plan("demo phantom (built-in), right", &read_json(&crate::cases::demo_phantom().join("plan.json")))?];
    rows.push(from_plan("demo phantom (realistic, LLP26 mean), right", &read_json(&crate::cases::demo_realistic().1.join("plan.json")))?);
    if let Some(ct) = crate::cases::demo_real_ct() {
        rows.push(from_plan("real CT (example_ct), right", &read_json(&ct.join("plan.json")))?);
    }
    for side in ["left", "right"] {
        if let Some(plan) = vsd_plan(tmp.path(), side) {
            rows.push(from_plan(&format!("vsd z013 surfaces, {side}"), &plan)?);
        }
    }
    let (atlas, refused) = atlas_rows()?;
    rows.extend(atlas);
    for r in &refused {
        eprintln!("not placed (the population refuses it): {r}");
    }
    let rules = SizingRules::default();
    let (lo, hi) = HEAD_TO_SHELL_BAND_MM;
    eprintln!("case | native head mm | socket sphere mm | sphere gap mm | lunate median mm | sized from | shell mm | shell - head mm");
    let (mut failures, mut outside) = (Vec::new(), 0);
    for r in &rows {
        let over = r.shell_mm - r.head_mm;
        eprintln!(
            "{} | {:.1} | {:.1} | {:.2} | {} | {} | {} | {over:+.1}",
            r.case,
            r.head_mm,
            r.socket_mm,
            r.sphere_gap_mm,
            r.lunate_mm.map_or("-".into(), |j| format!("{j:.2}")),
            if r.from_head { "head + 2 x 2 mm" } else { "measured socket" },
            r.shell_mm
        );
        // The band relates a hip's own head to its cup. A femur the population pairs with an
        // atlas pelvis is another person's, scaled to the mean of both sockets: where this
        // socket lies farther outside the placed head than the joint space placed, the shell may
        // exceed the band; the plan must then say so.
        let said_outside = r.notes.iter().any(|n| n.contains("OUTSIDE the published head-to-cup band"));
        if !(lo..=hi).contains(&over) {
            outside += 1;
            if !(r.paired && r.sphere_gap_mm > PLACED_JOINT_SPACE_MM && said_outside) {
                failures.push(format!("{}: shell {} mm for a {:.1} mm head ({over:+.1}), notes {:?}", r.case, r.shell_mm, r.head_mm, r.notes));
            }
        } else if said_outside {
            failures.push(format!("{}: in the band but the plan says outside: {:?}", r.case, r.notes));
        }
        // One rule: a sphere gap below the allowance is sized from the head, and said, with the
        // band; a gap below 1 mm is "not resolved".
        let thin = r.sphere_gap_mm < rules.assumed_joint_space_mm;
        let named = r.notes.iter().any(|n| n.contains("cartilage allowance") && n.contains("head-to-cup band"));
        if thin != r.from_head || thin != named || (r.sphere_gap_mm >= rules.min_joint_space_mm) != r.resolved {
            failures.push(format!("{}: sphere gap {:.2} mm, sized from the head {}, resolved {}, notes {:?}", r.case, r.sphere_gap_mm, r.from_head, r.resolved, r.notes));
        }
        if !r.resolved && !r.notes.iter().any(|n| n.contains("does not resolve the joint space")) {
            failures.push(format!("{}: an unresolved gap not named: {:?}", r.case, r.notes));
        }
    }
    let paired = rows.iter().filter(|r| r.paired).count();
    eprintln!("{} cases, {paired} of them atlas pelvises with another person's femur; {outside} outside the band (all such pairs, named in the plan)", rows.len());
    // Every kind of input is here where its data is (the atlas and the vsd bones and the real CT
    // are in ../shared/data; CI has them).
    if crate::common::in_ci() {
        assert_eq!(rows.len() + 2 * refused.len(), 2 + 1 + 2 + 60, "every case");
        assert!(refused.len() <= 3, "{refused:?}");
    }
    assert!(failures.is_empty(), "{failures:#?}");
    Ok(())
}
