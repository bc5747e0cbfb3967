//! Issue 24: the bony socket measured truly and the cup sized as surgeons do, on every case the
//! project has: the vsd bones (both hips), the demo phantom (known socket), the 30 atlas
//! pelvises (no femurs). The real CT is checked end to end in `scenarios/tests/run.rs`.
//!
//! **The published relation used** (shell outer diameter against the native femoral head's
//! diameter): implanted press-fit cups run larger than the native head. Gililland et al.
//! (J Hip Surg 2019; 3(4):197-202) found the radiographic native head size highly correlated
//! with the implanted cup size in 182 primary THAs; Naal et al. (Clin Orthop 2009; 467:923-928)
//! report mean press-fit cups of 49.9 mm in women and 55.1 mm in men (1643 hips), about 6 mm
//! above typical adult native heads. The band asserted here is **shell - head in [+4, +10] mm**:
//! that mean difference, widened by one 2 mm catalog step below and two above (sizes round up).

use anyhow::Result;

use coxa_anatomy::landmarks::{self, AcetabulumLandmarks};
use coxa_anatomy::phantom::{PhantomSpec, hip_phantom};
use coxa_anatomy::surface;
use coxa_core::{CupAngleDefinition, CupAngles, Mesh, PelvicFrame, Side};
use coxa_implants::Catalog;
use coxa_planner::SizingRules;
use coxa_planner::cup::{CupSizing, SocketSource, size_cup_on};

use crate::common::shared_data;

/// Shell minus native head diameter, mm (see the module docs).
const BAND_MM: (f64, f64) = (4.0, 10.0);

fn bone(name: &str) -> Option<Mesh> {
    shared_data(&format!("vsd_bones/z013_{name}.stl")).map(|p| coxa_io::mesh::read_stl(&p).unwrap())
}

fn print(case: &str, s: &CupSizing) {
    let k = &s.socket;
    eprintln!(
        "{case}: socket measured {:.2} mm, head {:?} mm, joint space {:?} mm ({}), sizing {:.2} mm ({:?}), rim {:.1} mm, rim AP {:?} mm, lunate/fossa {:?} -> shell {} mm (reamer {} mm), coverage {:.0} %, wall {:.1} mm",
        k.measured_diameter_mm, k.head_diameter_mm.map(|d| (d * 100.0).round() / 100.0), k.joint_space_mm.map(|d| (d * 100.0).round() / 100.0),
        if k.joint_space_resolved { "resolved" } else { "NOT resolved" }, k.sizing_diameter_mm, k.source, k.rim_diameter_mm, k.rim_ap_diameter_mm.map(|d| (d * 10.0).round() / 10.0),
        k.lunate_fossa_vertices, s.outer_diameter_mm, s.last_reamer_mm, 100.0 * s.reference_coverage, s.medial_wall_mm
    );
    for o in &s.size_options {
        eprintln!("    {} mm{}: coverage {:.0} %, wall {:.1} mm, rim fit {:?} mm — {}", o.outer_diameter_mm, if o.chosen { " (planned)" } else { "" }, 100.0 * o.coverage, o.medial_wall_mm, o.rim_fit_mm.map(|d| (d * 10.0).round() / 10.0), o.note);
    }
}

/// The sizing table holds the planned size and its catalog neighbours, in order, with the
/// reamer under each by its series' press fit in the catalog.
fn check_table(s: &CupSizing, catalog: &Catalog, wall_monotonic: bool) {
    let d: Vec<f64> = s.size_options.iter().map(|o| o.outer_diameter_mm).collect();
    assert!(d.windows(2).all(|w| (w[1] - w[0] - 2.0).abs() < 1e-9), "{d:?}");
    assert_eq!(s.size_options.iter().filter(|o| o.chosen).count(), 1);
    let chosen = s.size_options.iter().find(|o| o.chosen).unwrap();
    assert_eq!(chosen.outer_diameter_mm, s.outer_diameter_mm);
    for o in &s.size_options {
        let press_fit = catalog.shell_family(o.outer_diameter_mm).expect("a catalog size").press_fit_mm;
        assert_eq!(o.press_fit_mm, press_fit);
        assert!((o.outer_diameter_mm - o.last_reamer_mm - press_fit).abs() < 1e-9, "{o:?}");
    }
    assert!((s.outer_diameter_mm - s.last_reamer_mm - chosen.press_fit_mm).abs() < 1e-9);
    // A larger shell never leaves more medial wall at the same centre (on closed, fine surfaces:
    // the atlas' 5000-vertex surfaces are too coarse near the thin medial wall).
    for w in s.size_options.windows(2).filter(|_| wall_monotonic) {
        assert!(w[1].medial_wall_mm <= w[0].medial_wall_mm + 0.25, "{} vs {}", w[1].medial_wall_mm, w[0].medial_wall_mm);
    }
}

/// The pelvic frame and both acetabula of a pelvis (acetabula seeded by the heads when given).
fn pelvis(hl: &Mesh, hr: &Mesh, heads: [Option<(nalgebra::Point3<f64>, f64)>; 2]) -> Result<(PelvicFrame, [AcetabulumLandmarks; 2])> {
    let al = landmarks::acetabulum_landmarks(hl, Side::Left, heads[0])?;
    let ar = landmarks::acetabulum_landmarks(hr, Side::Right, heads[1])?;
    let p = landmarks::pelvis_landmarks(hl, hr, &al, &ar)?;
    Ok((p.frame, [al, ar]))
}

/// vsd z013 (a 41-year-old woman's CT-derived bones): the bone meshes keep the joint space
/// (about 2.6 mm, resolved), the socket sphere lies outside the head's by more than the
/// resolution threshold, and both shells fall in the published band.
#[test]
fn issue_24_vsd_socket_resolved_and_shell_in_the_published_band() -> Result<()> {
    let (Some(hl), Some(hr), Some(fl), Some(fr)) = (bone("Hip_L"), bone("Hip_R"), bone("Femur_L"), bone("Femur_R")) else { return Ok(()) };
    let f = [landmarks::femur_landmarks(&fl, Side::Left)?, landmarks::femur_landmarks(&fr, Side::Right)?];
    let (frame, a) = pelvis(&hl, &hr, [Some((f[0].head_centre.lps_mm, f[0].head_radius_mm)), Some((f[1].head_centre.lps_mm, f[1].head_radius_mm))])?;
    let rules = SizingRules::default();
    let catalog = Catalog::builtin()?;
    for (n, (side, hip)) in [(Side::Left, &hl), (Side::Right, &hr)].into_iter().enumerate() {
        let head_d = 2.0 * f[n].head_radius_mm;
        let (s, _) = size_cup_on(hip, &frame, side, &a[n], Some(head_d), &catalog, &rules)?;
        print(&format!("vsd z013 {side:?}"), &s);
        check_table(&s, &catalog, true);
        let js = s.socket.joint_space_mm.unwrap();
        assert!(s.socket.joint_space_resolved && s.socket.source == SocketSource::Measured, "{:?}", s.socket);
        // Bony surfaces 2-3.5 mm apart (cartilage of a young adult hip), and the socket's sphere
        // outside the head's by at least the resolution threshold.
        assert!((2.0..=3.5).contains(&js), "joint space {js}");
        assert!(a[n].radius_mm - f[n].head_radius_mm >= rules.min_joint_space_mm, "{} vs {}", a[n].radius_mm, f[n].head_radius_mm);
        let diff = s.outer_diameter_mm - head_d;
        assert!((BAND_MM.0..=BAND_MM.1).contains(&diff), "{side:?}: shell {} mm for a {head_d:.1} mm head ({diff:+.1})", s.outer_diameter_mm);
        // The rim is a circle close to the socket's size, and its AP opening is measured.
        assert!((a[n].rim_diameter_mm - 2.0 * a[n].radius_mm).abs() < 6.0, "rim {} socket {}", a[n].rim_diameter_mm, 2.0 * a[n].radius_mm);
        assert!(s.socket.rim_ap_diameter_mm.is_some_and(|d| (30.0..=60.0).contains(&d)));
    }
    Ok(())
}

/// The phantom's socket is known exactly (head radius 24 mm + 3 mm joint space = a 54 mm
/// socket): the joint space is found, the socket measured, and the rule gives exactly 56 mm.
/// With the joint space closed (0 mm) the socket falls back to the head plus the assumed
/// joint space, and says so.
#[test]
fn issue_24_phantom_known_socket_gives_its_exact_size() -> Result<()> {
    let catalog = Catalog::builtin()?;
    let rules = SizingRules::default();
    for js_true in [3.0, 0.0] {
        let mut spec = PhantomSpec::default();
        spec.joint_space_mm = js_true;
        let ph = hip_phantom(&spec);
        let m: Vec<_> = surface::meshes_from_labels(&ph.labels, &[75u16, 76, 77, 78], &surface::SurfaceOptions::default()).into_iter().collect::<Result<_, _>>()?;
        let f = [landmarks::femur_landmarks(&m[0], Side::Left)?, landmarks::femur_landmarks(&m[1], Side::Right)?];
        let (frame, a) = pelvis(&m[2], &m[3], [Some((f[0].head_centre.lps_mm, f[0].head_radius_mm)), Some((f[1].head_centre.lps_mm, f[1].head_radius_mm))])?;
        for (n, side) in [Side::Left, Side::Right].into_iter().enumerate() {
            let head_d = 2.0 * f[n].head_radius_mm;
            let (s, _) = size_cup_on(&m[2 + n], &frame, side, &a[n], Some(head_d), &catalog, &rules)?;
            print(&format!("phantom joint space {js_true} mm, {side:?}"), &s);
            check_table(&s, &catalog, true);
            if js_true > 0.0 {
                let js = s.socket.joint_space_mm.unwrap();
                assert!((js - js_true).abs() < 0.5, "{side:?}: joint space {js} vs {js_true}");
                assert_eq!(s.socket.source, SocketSource::Measured);
                assert!((s.socket.sizing_diameter_mm - 54.0).abs() < 0.5, "{}", s.socket.sizing_diameter_mm);
                assert_eq!(s.outer_diameter_mm, 56.0);
                assert_eq!(s.last_reamer_mm, 56.0 - catalog.shell_family(56.0).unwrap().press_fit_mm);
                assert!(s.notes.iter().all(|n| !n.contains("joint space")), "{:?}", s.notes);
            } else {
                // Closed joint: the "socket" is the head's surface; sized from the head.
                assert!(!s.socket.joint_space_resolved && s.socket.source == SocketSource::HeadPlusAssumedJointSpace, "{:?}", s.socket);
                assert!((s.socket.sizing_diameter_mm - (head_d + 2.0 * rules.assumed_joint_space_mm)).abs() < 1e-9);
                assert!(s.notes.iter().any(|n| n.contains("does not resolve the joint space")), "{:?}", s.notes);
            }
            let diff = s.outer_diameter_mm - head_d;
            assert!((BAND_MM.0..=BAND_MM.1).contains(&diff), "shell {} for head {head_d:.1}", s.outer_diameter_mm);
        }
    }
    Ok(())
}

/// The 30 atlas pelvises (CT of adults, no femurs: the socket is taken as measured and the
/// native head estimated from it by the acetabulum rule, socket - 2 x assumed joint space):
/// every socket is found, every shell lies in the band and among the sizes surgeons implant
/// (Naal 2009: means 49.9 mm in women, 55.1 mm in men), and the native radiographic angles are
/// printed beside published adult norms.
#[test]
fn issue_24_atlas_pelvises_sized_in_the_published_range() -> Result<()> {
    let Some(dir) = shared_data("pelvis_atlas/surface") else { return Ok(()) };
    let mut ids: Vec<u32> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("LeftHip")?.strip_suffix("_cpd.vtk")?.parse().ok())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids.len(), 30);
    let catalog = Catalog::builtin()?;
    let rules = SizingRules::default();
    let mut shells = Vec::new();
    let mut angles = Vec::new();
    eprintln!("atlas id | side | socket mm | rim mm | rim AP mm | shell mm | coverage % | medial wall mm | radiographic inclination/anteversion deg");
    for id in &ids {
        let hl = coxa_io::mesh::read_vtk(&dir.join(format!("LeftHip{id}_cpd.vtk")))?;
        let hr = coxa_io::mesh::read_vtk(&dir.join(format!("RightHip{id}_cpd.vtk")))?;
        let (frame, a) = pelvis(&hl, &hr, [None, None])?;
        for (n, (side, hip)) in [(Side::Left, &hl), (Side::Right, &hr)].into_iter().enumerate() {
            let (s, _) = size_cup_on(hip, &frame, side, &a[n], None, &catalog, &rules)?;
            check_table(&s, &catalog, false);
            let r = CupAngles::from_axis(&frame.vector_to_pelvic(&a[n].opening_axis_lps), side, CupAngleDefinition::Radiographic)?;
            eprintln!(
                "{id:>8} | {side:?} | {:.1} | {:.1} | {:.1} | {} | {:.0} | {:.1} | {:.1}/{:.1}",
                s.socket.measured_diameter_mm, a[n].rim_diameter_mm, s.socket.rim_ap_diameter_mm.unwrap_or(f64::NAN), s.outer_diameter_mm, 100.0 * s.reference_coverage, s.medial_wall_mm, r.inclination.deg(), r.anteversion.deg()
            );
            let head_est = s.socket.sizing_diameter_mm - 2.0 * rules.assumed_joint_space_mm;
            let diff = s.outer_diameter_mm - head_est;
            assert!((BAND_MM.0..=BAND_MM.1).contains(&diff), "{id} {side:?}: shell {} for an estimated head {head_est:.1}", s.outer_diameter_mm);
            assert!((44.0..=66.0).contains(&s.outer_diameter_mm), "{id} {side:?}: shell {}", s.outer_diameter_mm);
            shells.push(s.outer_diameter_mm);
            angles.push((r.inclination.deg(), r.anteversion.deg()));
        }
    }
    shells.sort_by(f64::total_cmp);
    let median = 0.5 * (shells[29] + shells[30]);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (inc, av): (Vec<f64>, Vec<f64>) = angles.iter().copied().unzip();
    eprintln!("atlas: shells {}..{} mm, median {median} mm; native radiographic inclination mean {:.1} deg, anteversion mean {:.1} deg", shells[0], shells[59], mean(&inc), mean(&av));
    assert!((48.0..=58.0).contains(&median), "median shell {median}");
    Ok(())
}
