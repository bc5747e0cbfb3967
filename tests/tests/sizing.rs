//! Issue 24: the bony socket measured truly and the cup sized as surgeons do, on every case the
//! project has: the vsd bones (both hips), the demo phantom (known socket), the 30 atlas
//! pelvises (no femurs). The real CT is checked end to end in `scenarios/tests/run.rs`, and
//! every case together (issue 42: CT, surfaces, both demo phantoms, the atlas pelvises with the
//! femurs a virtual population places in them) in `scenarios/tests/coxa/sizing.rs`.
//!
//! **The published relation used** (shell outer diameter against the native femoral head's
//! diameter): [`coxa_planner::cup::HEAD_TO_SHELL_BAND_MM`], **shell - head in [+4, +10] mm**; its
//! sources (issue 42: the 2024 regression, doi 10.1186/s13018-024-04526-0, and Chen 2022,
//! PMC9237279, read; Gililland 2019 and Naal 2009) and how the band follows from them are in
//! `coxa_planner::cup`'s module docs.

use anyhow::Result;

use coxa_anatomy::landmarks::{self, AcetabulumLandmarks};
use coxa_anatomy::phantom::{PhantomSpec, hip_phantom};
use coxa_anatomy::surface;
use coxa_core::{CupAngleDefinition, CupAngles, Mesh, PelvicFrame, Side};
use coxa_implants::Catalog;
use coxa_planner::SizingRules;
use coxa_planner::cup::{CupSizing, HEAD_TO_SHELL_BAND_MM, SocketSource, size_cup_on};

use crate::common::shared_data;

/// Shell minus native head diameter, mm (see the module docs).
const BAND_MM: (f64, f64) = HEAD_TO_SHELL_BAND_MM;

fn bone(name: &str) -> Option<Mesh> {
    shared_data(&format!("vsd_bones/z013_{name}.stl")).map(|p| coxa_io::mesh::read_stl(&p).unwrap())
}

fn print(case: &str, s: &CupSizing) {
    let k = &s.socket;
    eprintln!(
        "{case}: socket measured {:.2} mm, head {:?} mm, joint space {:?} mm ({}), sizing {:.2} mm ({:?}), rim {:.1} mm, rim AP {:?} mm, lunate/fossa {:?} -> shell {} mm (reamer {} mm), coverage {:.0} %, wall {:.1} mm",
        k.measured_diameter_mm,
        k.head_diameter_mm.map(|d| (d * 100.0).round() / 100.0),
        k.joint_space_mm.map(|d| (d * 100.0).round() / 100.0),
        if k.joint_space_resolved { "resolved" } else { "NOT resolved" },
        k.sizing_diameter_mm,
        k.source,
        k.rim_diameter_mm,
        k.rim_ap_diameter_mm.map(|d| (d * 10.0).round() / 10.0),
        k.lunate_fossa_vertices,
        s.outer_diameter_mm,
        s.last_reamer_mm,
        100.0 * s.reference_coverage,
        s.medial_wall_mm
    );
    for o in &s.size_options {
        eprintln!(
            "    {} mm{}: coverage {:.0} %, wall {:.1} mm, rim fit {:?} mm — {}",
            o.outer_diameter_mm,
            if o.chosen { " (planned)" } else { "" },
            100.0 * o.coverage,
            o.medial_wall_mm,
            o.rim_fit_mm.map(|d| (d * 10.0).round() / 10.0),
            o.note
        );
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
/// (median lunate distance about 2.6 mm, resolved), the socket sphere lies outside the head's by
/// more than the resolution threshold but by less than the 2 mm cartilage allowance (1.76 / 1.80
/// mm: the surfaces hug the head), so since issue 42 the socket is sized as the head plus the
/// allowance and the plan says so; both shells fall in the published band (46 mm, as before).
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
        // Issue 42: resolved, but thinner than the allowance: sized from the head, and said.
        assert!(s.socket.joint_space_resolved && s.socket.source == SocketSource::HeadPlusAssumedJointSpace, "{:?}", s.socket);
        assert!(s.notes.iter().any(|n| n.contains("hugs the femoral head") && n.contains("cartilage allowance")), "{:?}", s.notes);
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
    let mut ids: Vec<u32> = std::fs::read_dir(&dir)?.filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("LeftHip")?.strip_suffix("_cpd.vtk")?.parse().ok()).collect();
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
                s.socket.measured_diameter_mm,
                a[n].rim_diameter_mm,
                s.socket.rim_ap_diameter_mm.unwrap_or(f64::NAN),
                s.outer_diameter_mm,
                100.0 * s.reference_coverage,
                s.medial_wall_mm,
                r.inclination.deg(),
                r.anteversion.deg()
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

// ---------------------------------------------------------------------------------------------
// The stem: the canal measured from the cortical bone, the size by canal fill.
//
// **The published relation used**: Warth et al. (J Arthroplasty 2020; 250 taper-wedge stems)
// found the mediolateral canal fill 60 mm below the lesser trochanter the predictor of
// subsidence: 95 % mean fill where 1 of 119 stems subsided further after a month, 86 % where 33
// of 64 did. The band asserted is **ML canal fill 60 mm below the LT in [0.90, 1.00]**, the
// catalog's taper-wedge rule (no wider than the endosteal canal at any level to the tip). The
// canal itself is checked against Noble et al. (Clin Orthop 1988;235:148) and its 3-D CT
// re-measurements (Murakami et al., J Orthop Sci 2015;20:498: mean CFI 4.29 in 60 femurs; a 49-femur
// CT series: CFI 2.8-6.6): the real CT's canal flare index must lie in 2.5-7 (a lower bound
// when its isthmus is not imaged).
// ---------------------------------------------------------------------------------------------

use coxa_anatomy::landmarks::{FemoralCanal, FemurLandmarks};
use coxa_planner::stem_fill::{CanalSource, CanalWidths, FamilySizing, canal_widths_of, size_family};

/// The built-in taper-wedge rule's band 60 mm below the LT (Warth et al. 2020, see stems.toml).
const FILL_BAND: (f64, f64) = (0.90, 1.00);

/// The size main planned before issue 24's stem part: the canal estimated as 0.55 x the outer
/// ML width at the lesser trochanter (and 60 mm below), the largest of the generic bodies
/// (16 + 2k proximal, 9 + k distal, k = 0..4) that fits at both levels, clamped to the catalog's
/// 4 sizes then.
fn size_before(femur: &Mesh, f: &FemurLandmarks) -> String {
    let u = f.shaft_axis.direction_lps.normalize();
    let ml = {
        let l = nalgebra::Vector3::new(-f.side.lateral_sign(), 0.0, 0.0);
        (l - u * l.dot(&u)).normalize()
    };
    let a = f.shaft_axis.point_lps_mm;
    let lt = a + u * (f.lesser_trochanter.lps_mm - a).dot(&u);
    let width = |p: nalgebra::Point3<f64>| -> Option<f64> {
        let ap = u.cross(&ml);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for t in 0..femur.triangles().len() {
            let c = femur.corners(t);
            let h = c.map(|q| (q - p).dot(&u));
            for i in 0..3 {
                let j = (i + 1) % 3;
                if (h[i] < 0.0) != (h[j] < 0.0) {
                    let q = c[i] + (c[j] - c[i]) * (h[i] / (h[i] - h[j])) - p;
                    if q.dot(&ap).abs() < 2.0 {
                        lo = lo.min(q.dot(&ml));
                        hi = hi.max(q.dot(&ml));
                    }
                }
            }
        }
        (hi > lo).then_some(hi - lo)
    };
    let prox = (0..=10).find_map(|k| width(lt + u * (2.0 * f64::from(k)))).unwrap_or(f64::NAN) * 0.55;
    let mut level = 60.0;
    let distal = loop {
        if let Some(w) = width(lt - u * level).filter(|w| *w >= 10.0) {
            break Some(w * 0.55);
        }
        level -= 5.0;
        if level < 20.0 {
            break None;
        }
    };
    let k = (0..5).rev().find(|&k| 16.0 + 2.0 * f64::from(k) <= prox && distal.is_none_or(|d| 9.0 + f64::from(k) <= d)).unwrap_or(0).min(3);
    (k + 1).to_string()
}

fn print_stem(case: &str, canal: &CanalWidths, s: &FamilySizing, before: &str) {
    let chosen = s.size_options.iter().find(|o| o.chosen).unwrap();
    eprintln!(
        "STEM {case}: canal {:?} {:?}, canal at the level {:?} mm -> size {} (before: {before}), fill {:.1} %, tip {:.0} mm from the LT; notes {:?}",
        canal.source,
        canal.levels.iter().map(|l| format!("{:+.0}:{:.1}", l[0], l[1])).collect::<Vec<_>>(),
        canal.at(s.rule.level_above_lt_mm).map(|w| (w * 100.0).round() / 100.0),
        chosen.size,
        100.0 * chosen.fill.unwrap_or(f64::NAN),
        chosen.tip_above_lt_mm,
        s.notes
    );
    for o in &s.size_options {
        eprintln!(
            "    size {}{}: fill {:?}, max distal {:?}, tip {:.0} mm — {}",
            o.size,
            if o.chosen { " (planned)" } else { "" },
            o.fill.map(|f| (f * 1000.0).round() / 1000.0),
            o.max_distal_fill,
            o.tip_above_lt_mm,
            o.note
        );
    }
}

/// The sizing table: the planned size and its neighbours in the series' order, one planned.
fn check_stem_table(s: &FamilySizing) {
    assert_eq!(s.size_options.iter().filter(|o| o.chosen).count(), 1);
    assert!(s.size_options.windows(2).all(|w| w[1].ml_width_mm > w[0].ml_width_mm && w[1].tip_above_lt_mm < w[0].tip_above_lt_mm), "{:?}", s.size_options);
    assert!((2..=3).contains(&s.size_options.len()));
}

fn in_band(s: &FamilySizing) -> f64 {
    let fill = s.size_options.iter().find(|o| o.chosen).and_then(|o| o.fill).unwrap();
    assert!((FILL_BAND.0 - 1e-9..=FILL_BAND.1 + 1e-9).contains(&fill), "fill {fill} outside {FILL_BAND:?}: {:?}", s.notes);
    fill
}

/// vsd z013: outer surfaces only, so the canal comes from the outer width (the fallback, said);
/// both planned stems fill the canal within the band.
#[test]
fn issue_24_stem_vsd_mesh_fallback_fills_in_the_band() -> Result<()> {
    let (Some(fl), Some(fr)) = (bone("Femur_L"), bone("Femur_R")) else { return Ok(()) };
    let catalog = Catalog::builtin()?;
    let rules = SizingRules::default();
    for (side, m) in [(Side::Left, &fl), (Side::Right, &fr)] {
        let f = landmarks::femur_landmarks(m, side)?;
        let c = canal_widths_of(m, &f, None, &rules)?;
        assert_eq!(c.source, CanalSource::OuterWidthRule);
        assert!(c.notes.iter().any(|n| n.contains("outer surface only")), "{:?}", c.notes);
        let s = size_family(&c, &catalog.stems[0])?;
        print_stem(&format!("vsd z013 {side:?}"), &c, &s, &size_before(m, &f));
        check_stem_table(&s);
        in_band(&s);
    }
    Ok(())
}

/// The demo phantom: its canal is known exactly, coxa measures it within a voxel, and the size
/// planned from the measure is the one the exact canal gives.
#[test]
fn issue_24_stem_phantom_known_canal_gives_its_exact_size() -> Result<()> {
    let catalog = Catalog::builtin()?;
    let rules = SizingRules::default();
    let spec = PhantomSpec::default();
    let ph = hip_phantom(&spec);
    for (side, id) in [(Side::Left, 75u16), (Side::Right, 76)] {
        let m = surface::mesh_from_labels(&ph.labels, id, &surface::SurfaceOptions::default())?;
        let f = landmarks::femur_landmarks(&m, side)?;
        let canal: FemoralCanal = landmarks::femoral_canal(&ph.ct, &ph.labels, id, &f)?;
        let lt = canal.lesser_trochanter.clone().expect("the LT level measured");
        let ap = canal.shaft_direction_lps.cross(&canal.ml_direction_lps);
        let (a, b) = ph.truth.canal_chord_mm(side, &lt.centre_lps_mm, &canal.ml_direction_lps).unwrap();
        let (c1, c2) = ph.truth.canal_chord_mm(side, &lt.centre_lps_mm, &ap).unwrap();
        let isthmus = canal.isthmus.clone().unwrap();
        eprintln!(
            "phantom {side:?}: LT canal ML {:.2} (exact {:.2}) AP {:.2} (exact {:.2}); isthmus {:.2} x {:.2} (exact {}); outer {:.2} (exact 30)",
            lt.ml_canal_mm,
            a + b,
            lt.ap_canal_mm,
            c1 + c2,
            isthmus.ml_canal_mm,
            isthmus.ap_canal_mm,
            ph.truth.shaft_canal_diameter_mm(),
            isthmus.ml_outer_mm
        );
        assert!((lt.ml_canal_mm - (a + b)).abs() <= spec.voxel_mm && (lt.ap_canal_mm - (c1 + c2)).abs() <= spec.voxel_mm);
        assert!((isthmus.ml_canal_mm - ph.truth.shaft_canal_diameter_mm()).abs() <= spec.voxel_mm);
        eprintln!("phantom {side:?} canal notes: {:?}; metaphysis {:?}", canal.notes, canal.metaphysis);
        let c = canal_widths_of(&m, &f, Some(&canal), &rules)?;
        assert_eq!(c.source, CanalSource::CtCorticalBone);
        let s = size_family(&c, &catalog.stems[0])?;
        print_stem(&format!("phantom {side:?}"), &c, &s, &size_before(&m, &f));
        check_stem_table(&s);
        // The size the exact canal gives under the same rule, at the same levels: the measure
        // must not change the size.
        let exact_levels: Vec<[f64; 2]> = canal.profile.iter().filter_map(|l| ph.truth.canal_chord_mm(side, &l.centre_lps_mm, &canal.ml_direction_lps).map(|(a, b)| [l.above_lt_mm, a + b])).collect();
        assert_eq!(exact_levels.len(), canal.profile.len());
        let worst = exact_levels.iter().zip(&c.levels).map(|(e, m)| (e[1] - m[1]).abs()).fold(0.0, f64::max);
        let exact = CanalWidths { levels: exact_levels, ..c.clone() };
        let se = size_family(&exact, &catalog.stems[0])?;
        let fill = |s: &FamilySizing| s.size_options.iter().find(|o| o.chosen).and_then(|o| o.fill).unwrap();
        eprintln!(
            "phantom {side:?}: the exact canal gives size {} (fill {:.3}; measured {:.3}); worst level error {worst:.2} mm",
            se.size_options.iter().find(|o| o.chosen).unwrap().size,
            fill(&se),
            fill(&s)
        );
        assert!(worst <= spec.voxel_mm, "{worst}");
        assert_eq!(s.size_index, se.size_index);
        assert!(s.rule_level_imaged);
        in_band(&s);
    }
    Ok(())
}

/// The real CT (3 mm voxels; a screw in the left proximal femur; the femurs imaged only 54 mm
/// below the head's top): the right canal is measured where imaged (above the lesser trochanter)
/// and the left flagged for metal; both stems fall back to the outer width and say why; neither
/// femur is imaged at the size rule's level, so neither size is determined, and the plan says so.
#[test]
fn issue_24_stem_real_ct_right_canal_plausible_left_flagged() -> Result<()> {
    let Some(path) = shared_data("totalseg/example_ct.nii.gz") else { return Ok(()) };
    let ct = coxa_io::open(&path, &coxa_io::OpenOptions::new())?.volume;
    let seg = coxa_anatomy::segment::segment_bones(&ct, &coxa_anatomy::segment::SegmentOptions::new())?;
    let catalog = Catalog::builtin()?;
    let rules = SizingRules::default();
    // The patient's landmarks as the pipeline finds them (femurs imaged without their shafts
    // carry the assumed neutral axis the planner uses too): all four bones.
    let meshes: Vec<(String, coxa_core::Mesh)> = [("femur_left", 75u16), ("femur_right", 76), ("hip_left", 77), ("hip_right", 78)]
        .into_iter()
        .map(|(n, id)| Ok((n.to_string(), surface::mesh_from_labels(&seg.labels, id, &surface::SurfaceOptions::default())?)))
        .collect::<Result<_>>()?;
    let (patient, _) = landmarks::find(&landmarks::Bones::named(&meshes));
    for (side, id) in [(Side::Right, 76u16), (Side::Left, 75)] {
        let m = meshes.iter().find(|(n, _)| *n == format!("femur_{}", side.as_str())).map(|(_, m)| m.clone()).unwrap();
        let f = patient.femur(side).cloned().unwrap();
        let canal = landmarks::femoral_canal(&ct, &seg.labels, id, &f)?;
        let lvl = |l: &Option<coxa_anatomy::landmarks::CanalLevel>| {
            l.as_ref().map(|l| format!("{:.1} x {:.1} (outer {:.1} x {:.1}) at {:+.0}", l.ml_canal_mm, l.ap_canal_mm, l.ml_outer_mm, l.ap_outer_mm, l.above_lt_mm))
        };
        eprintln!(
            "real CT {side:?}: LT {:?}; LT+20 {:?}; isthmus {:?} (imaged: {}); CFI {:?}; Dorr {:?} ({:?}); metal at {:?}; {:?}; lowest level {:?}",
            lvl(&canal.lesser_trochanter),
            lvl(&canal.metaphysis),
            lvl(&canal.isthmus),
            canal.isthmus_imaged,
            canal.canal_flare_index,
            canal.dorr_type,
            canal.canal_calcar_ratio,
            canal.metal_levels_mm,
            canal.quality,
            canal.lowest_level_mm()
        );
        let c = canal_widths_of(&m, &f, Some(&canal), &rules)?;
        let s = size_family(&c, &catalog.stems[0])?;
        print_stem(&format!("real CT {side:?}"), &c, &s, &size_before(&m, &f));
        check_stem_table(&s);
        match side {
            Side::Left => {
                // The screw: flagged, and the sizing falls back and says why.
                assert!(!canal.metal_levels_mm.is_empty() && canal.quality == coxa_anatomy::landmarks::Quality::Uncertain, "{:?}", canal.notes);
                // Not asserted in the band (the brief asks the right side): the outer surface
                // around the screw is no canal; whatever the fill, the plan must say it.
                // The outer surface is imaged only 10 mm below the lesser trochanter: no size.
                assert!(!s.rule_level_imaged && s.notes.iter().any(|n| n.contains("not determined") && n.contains("placeholder")), "{:?}", s.notes);
                assert_eq!(c.source, CanalSource::OuterWidthRule);
                assert!(c.notes.iter().any(|n| n.contains("metal")), "{:?}", c.notes);
            }
            Side::Right => {
                // No metal. The scan ends about 10 mm above the lesser trochanter (the femur is
                // imaged for 54 mm): the canal is measured only above it, inside its cortex and
                // narrowing distally; the LT level, the isthmus and the CFI are not measurable, so
                // the canal is flagged and the stem is sized from the outer width, said in the
                // notes; the size rule's level (60 mm below the lesser trochanter) is not imaged
                // either, so the size is a placeholder and the notes say so.
                assert!(canal.metal_levels_mm.is_empty(), "{:?}", canal.notes);
                assert!(
                    !canal.profile.is_empty() && canal.profile.iter().all(|l| l.above_lt_mm > 0.0 && l.ml_canal_mm < l.ml_outer_mm && (15.0..=60.0).contains(&l.ml_canal_mm)),
                    "{:?}",
                    canal.profile
                );
                assert!(canal.lesser_trochanter.is_none() && canal.canal_flare_index.is_none() && canal.quality == coxa_anatomy::landmarks::Quality::Uncertain);
                assert_eq!(c.source, CanalSource::OuterWidthRule);
                assert!(c.notes.iter().any(|n| n.contains("not measured at the lesser trochanter")), "{:?}", c.notes);
                assert!(!s.rule_level_imaged && s.size_options.iter().all(|o| o.fill.is_none()), "{:?}", s.size_options);
                assert!(s.notes.iter().any(|n| n.contains("not determined") && n.contains("placeholder") && n.contains("radiograph")), "{:?}", s.notes);
            }
        }
    }
    Ok(())
}
