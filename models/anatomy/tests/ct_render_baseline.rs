//! Issue 59's baseline: coxa's CT path (the anatomy stage as `coxa anatomy --ct` runs it: coxa's
//! bone segmentation, surfaces from its labels, landmarks on them) on the held-apart test renders
//! ([`coxa_anatomy::ct_render::sets::test_set`]), against the truth (the same landmarks found on
//! the rendered surfaces, as `coxa anatomy --mesh` finds them).
//!
//! `#[ignore]`d: it renders and segments 21 CTs of 40-180 M voxels (about 20-40 min on 2 cores).
//! Run: `cargo test -p coxa-anatomy --test ct_render_baseline -- --ignored --nocapture`;
//! `CT_RENDER_SET=tuning` for the tuning set, `CT_RENDER_CASES=a,b` for cases whose names
//! contain a or b. Prints one row a hip and writes the table to `target/ct_render_baseline.tsv`.
//! It asserts that every case renders and that the truth is complete; the figures are the
//! baseline that the segmentation work of issue 59 starts from, not a goal.
//!
//! Baseline, 2026-11-27 (dev profile, coxa-anatomy at opt-level 2, 2 cores under a load average
//! of about 8 from other builds; 9 of the 21 test cases, the run stopped for time): coxa's head
//! centre against the truth's, per hip. z013 with both gaps >= 0 (test-01, 03, 04 left, 06):
//! centres 0.5-1.1 mm off but radii +1.3 to +12.5 mm (test-01, 0.6 mm isotropic, 1.0/1.5 mm
//! joints: +8.6 / +12.5 mm, femur Dice .77 / .68: the femur takes the acetabular wall); the
//! metal femur of test-03 got no head. Hips widened to 4-5 mm (their head 1.0-1.5 mm into the
//! wall, see `ct_render::joint`) and atlas hips whose socketed femur overlaps the pelvis are
//! off by 3.6-25 mm: renderer-limited rows, not yet a verdict on the segmenter.
//!
//! After the joint-space split (`segment::gap`, issue 59), 2026-11-27 (same dev profile, load
//! 5-8 from other builds; `CT_RENDER_COMPARE=1` segments each render also without it, rows
//! `<case>:before`). Head centre / radius error (mm, landmarks on coxa's meshes), femur / hip Dice:
//! - **Tuning set** (tuned on: tuning-02, 04, 07, 11; atlas 04 and 24 do not render; all have
//!   `min_gap_mm` < 0): tuning-02 before 8.04/+2.91, 8.99/+6.41 -> 0.91/+0.49, 0.84/+0.15
//!   (Dice femur .929/.902 -> .951/.948); tuning-07 before 2.20/+9.19, no head (metal) ->
//!   0.83/+0.50, 0.97/-0.23 (Dice femur .797/.753 -> .961/.951).
//! - **Test set** (only measured; the 6 z013 cases test-00..05, the atlas ones not yet): test-00 (4.5/4.5 mm widened, head
//!   1.0-1.3 mm into the wall) 11.38/+6.33, 9.10/+2.82 -> 1.73/-0.60, 1.21/-0.37; test-01 (0.6 mm,
//!   1.0/1.5 mm) 1.09/+8.56, 1.02/+12.50 -> 0.34/+0.22, 0.16/+0.24 (Dice femur .767/.683 ->
//!   .959/.960, hip .911/.773 -> .948/.869); test-02 (0.5/4.0 mm) 4.74/+2.67, 7.22/+6.29 ->
//!   0.57/+0.27, 1.33/-0.29; test-03 (metal left) no head, 0.86/+1.27 -> no head (Dice .817,
//!   the metal femur's landmarks still fail), 0.20/+0.21; test-04 (2.0/5.0 mm) 0.52/+1.27,
//!   3.59/-1.40 -> 0.63/-0.04, 2.05/-0.82; test-05 (4.5/4.5 mm widened) 5.19/-0.71, 9.74/+4.16
//!   -> 1.64/-0.50, 1.47/-0.36. Femur Dice .943-.960 (before .683-.950), hip .926-.949 except
//!   test-01 right .869. Heads beyond 1 mm only where the widening pushed the head into the wall
//!   (`min_gap_mm` < 0). Segmentation 19-188 s a CT in this profile under that load.
//!
//! With the joint sphere checked before use (`segment::gap::check`, on by default since),
//! 2026-11-27 (same profile, load 5-10): every row of the six z013 test cases (test-00..05)
//! unchanged, their spheres kept: head centres within 1 mm 5 of 12 hips (the segmentation's
//! spheres 6 of 12), radii 11 of 12 (test-03's metal femur has no landmark head). `coxa demo`'s LLP26 phantom (1.5 mm, a
//! 3 mm space that reads below the bone threshold: 1 and 3 of 392/421 rays bridged) has its
//! spheres refused, so it is segmented as before issue 59 (acetabular inclination +3.85/-3.06
//! deg, neck-shaft +0.51/+0.53 deg; unchecked: +21.65/+5.40 and -2.60/-2.56), and the 3 mm
//! real CT finds none (Dice .9065/.9537/.9270/.9307, heads unchanged): measured with
//! [`joint_rays_on_a_given_ct`].
//!
//! **Valid renders, 2026-11-28** (test set only; dev profile, coxa-anatomy at opt-level 2; 2
//! cores, load average 2-6 from other builds; the z013 cases and the atlas cases in two runs,
//! 10 and 31 min; segmentation 8-180 s a CT). The renderer now widens a joint by scaling the
//! femur about its head centre (uniform) and refuses a femur that enters the hip bone; the
//! atlas femurs are seated by clearance (`ct_render::joint`). 15 of the 21 test CTs render
//! (6 refused: atlas 06, 22, 25, 34, 41, 45, see `ct_render::sets`); every rendered hip has
//! `min_gap_mm` >= 0.37 mm. Head centre / radius error (mm), femur / hip Dice, per hip L, R:
//! - z013: test-00 (4.5/4.5 widened) no landmarks (left femur: "cannot find the lesser
//!   trochanter") / 0.05/+0.59 (.952/.951); test-01 0.34/+0.22, 0.16/+0.24; test-02 (0.5/4.0)
//!   0.54/+0.32, 1.51/+1.91; test-03 (metal left) no head (Dice .817), 0.20/+0.21; test-04
//!   (2.0/5.0) 0.42/+0.06, 0.06/+0.66; test-05 (4.5/4.5, 1.25 mm slices, tilt 10 deg) 9.41/+9.82
//!   (femur Dice .705), 0.05/+0.80.
//! - atlas: test-06 (03) 0.88/+0.53, 0.94/+0.57; test-08 (09, own 5.8/3.9 mm) 4.87/+6.38,
//!   2.37/+3.21 (Dice .891/.928); test-09 (11) 1.18/-0.13, 0.05/+0.49; test-10 (15) 0.12/+0.61,
//!   0.11/+0.58; test-13 (29) 0.98/+1.63, 1.20/+2.09; test-15 (37, metal left) 53.5/-2.19
//!   (Dice .772), 0.09/+0.52; test-18 (47) 0.07/+0.58, 0.11/+0.58; test-19 (52, metal right)
//!   47.3/+9.87, 58.5/+6.86 (Dice .650/.614, both femurs lost); test-20 (63) 0.17/+0.79,
//!   5.54/+6.43.
//! - Within 1.0 mm in centre and radius: **17 of 30 hips** (centre 18, radius 18); without the
//!   4 hips of a metal femur 17 of 26. Far from issue 59's 95 %. Widened hips (4-5 mm) read
//!   +0.5 to +0.8 mm in radius even where the centre is within 0.2 mm (10 hips): a bias of the
//!   CT path on a head with a wide space around it. Consistent with the 150 HU bone threshold on
//!   a blurred edge (computed, not tested): (150 - 60) / (1500 - 60) = 6 % of the step lies
//!   1.5 sigma outside the edge, 0.6 mm at a PSF FWHM of 0.94-1.0 mm; in a narrow joint the
//!   joint-space split sets the boundary instead.
//! - The atlas rows were measured before `joint::Tris` checked inside/outside by parity (the
//!   same commit day); the placements of atlas 34 re-measured with it are identical.
//!
//! **Planner, CT against the truth's surfaces** (test set, 2026-11-28): `coxa plan --side right
//! --ct ct.nii.gz` against `coxa plan --side right --mesh` on the posed surfaces of the same
//! render (both femurs, both hip bones; written with `CT_RENDER_WRITE`, `CT_RENDER_ONLY`), the
//! lead's dev build of `coxa` at 2ddf262, load 4-6. Shell mm, stem (taper-wedge) series and size,
//! radiographic cup inclination / anteversion, leg-length and offset change, mesh -> CT:
//! - test-01 (z013, 0.6 mm, cut, 1.5 mm joint): shell 46 -> 46; stem standard 2 -> reduced 1;
//!   inclination +4.07, anteversion -3.75 deg; leg length +4.91, offset -3.00 mm.
//! - test-03 (z013, 0.7x0.8 mm, cut, metal left): 46 -> 46; standard 2 -> reduced 5; +3.44, 0
//!   deg; +5.17, +7.57 mm (the metal femur, the other leg's reference, has no landmarks).
//! - test-04 (z013, 0.85x1 mm, full, 5.0 mm joint): 46 -> 44; standard 1 -> standard 1; +2.50,
//!   0 deg; -0.50, +1.41 mm.
//! - test-06 (atlas 03, 0.78x1 mm, full, 1.5 mm): 48 -> 48; reduced 2 -> standard 2; +1.56, 0
//!   deg; -0.40, +2.44 mm.
//! - test-10 (atlas 15, 0.85x1 mm, full, 4.5 mm): 56 -> 56; standard 4 -> standard 4; 0, 0 deg;
//!   +0.18, +1.43 mm.
//! - test-18 (atlas 47, 0.78x1 mm, full, seated 3.0 mm): 48 -> 48; reduced 3 -> reduced 2; -2.50,
//!   -2.50 deg; -0.08, -0.83 mm.
//! - Of 6: shell exact 5, within one size 6; stem exact 2; inclination within 2 deg 2,
//!   anteversion 4; leg length within 2 mm 4 (both misses cut CTs), offset 3. `plan --ct` took
//!   80-208 s and 0.74-1.34 GB RSS in this dev build (not a speed figure).
mod common;
mod render_subjects;

use std::io::Write;
use std::time::Instant;

use coxa_anatomy::ct_render::joint::pelvic_frame;
use coxa_anatomy::ct_render::sets::{Case, Subject, test_set, tuning_set};
use coxa_anatomy::ct_render::{RenderError, RenderedCt, SourceBone, render_ct};
use coxa_anatomy::landmarks;
use coxa_anatomy::segment::{SegmentOptions, segment_bones};
use coxa_anatomy::surface::{SurfaceOptions, meshes_from_labels};
use coxa_core::{Bone, Mesh, Side};
use render_subjects::{subject_bones, z013};

/// One hip's measured row.
struct Row {
    case: String,
    side: Side,
    cells: Vec<String>,
}

/// Dice of `label` between the truth and coxa's labels.
fn dice(truth: &RenderedCt, seg: &coxa_core::LabelMap, label: u16) -> f64 {
    let (mut a, mut b, mut ab) = (0usize, 0usize, 0usize);
    for (t, s) in truth.labels.labels().iter().zip(seg.labels().iter()) {
        let (x, y) = (*t == label, *s == label);
        a += usize::from(x);
        b += usize::from(y);
        ab += usize::from(x && y);
    }
    2.0 * ab as f64 / (a + b).max(1) as f64
}

fn run_case(case: &Case, z013: &[(u16, Mesh)]) -> Result<Vec<Row>, String> {
    // A femur that cannot be placed without entering the hip bone is refused (its truth would be
    // a collision): "refused: ..."; anything else is a failure.
    let bones = subject_bones(case.subject, z013).map_err(|e| format!("refused: {e}"))?;
    let src: Vec<SourceBone<'_>> = bones.iter().map(|(l, m)| SourceBone { label: *l, mesh: m }).collect();
    let t0 = Instant::now();
    let r = render_ct(&src, &case.spec).map_err(|e| match e {
        RenderError::Geometry(_) => format!("refused: {e}"),
        e => e.to_string(),
    })?;
    let t_render = t0.elapsed().as_secs_f64();
    assert_eq!(r.truth.hips.len(), 2, "{}: truth for both hips", case.name);
    // With CT_RENDER_WRITE=dir: the CT, its truth labels and the posed surfaces (the truth's, as
    // `coxa plan --mesh` would take them) under dir/<case>/; with CT_RENDER_ONLY, no segmentation.
    if let Some(dir) = std::env::var_os("CT_RENDER_WRITE") {
        let dir = std::path::Path::new(&dir).join(&case.name);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        coxa_io::nifti::write_volume(&r.ct, &dir.join("ct.nii.gz")).map_err(|e| e.to_string())?;
        coxa_io::nifti::write_label_map(&r.labels, &dir.join("labels.nii.gz")).map_err(|e| e.to_string())?;
        for (l, m) in &r.truth.posed_bones {
            let name = Bone::from_label_id(*l).map_or_else(|| format!("label{l}"), |b| b.name().to_string());
            coxa_io::mesh::write_stl(m, &dir.join(format!("{name}.stl"))).map_err(|e| e.to_string())?;
        }
    }
    if std::env::var_os("CT_RENDER_ONLY").is_some() {
        return Ok(r
            .truth
            .hips
            .iter()
            .map(|h| Row { case: case.name.clone(), side: h.side, cells: vec![format!("rendered in {t_render:.0} s; dome {:.2} min {:.2}", h.dome_gap_mm, h.min_gap_mm)] })
            .collect());
    }
    // With CT_RENDER_COMPARE, the same render also without the joint-space rays (coxa before
    // issue 59's split), its rows named `<case>:before`.
    let compare = std::env::var_os("CT_RENDER_COMPARE").is_some();
    let mut rows = Vec::new();
    for rays in if compare { vec![false, true] } else { vec![true] } {
        let name = if rays { case.name.clone() } else { format!("{}:before", case.name) };
        rows.extend(segment_case(&r, &name, rays, t_render, case)?);
    }
    Ok(rows)
}

/// One segmentation of render `r` (with or without the joint-space rays), its rows.
fn segment_case(r: &RenderedCt, name: &str, rays: bool, t_render: f64, case: &Case) -> Result<Vec<Row>, String> {
    let size = r.ct.grid().size();
    let t1 = Instant::now();
    let seg = segment_bones(&r.ct, &SegmentOptions::new().with_joint_rays(rays).with_max_memory_bytes(coxa_io::Limits::new().max_bytes));
    let t_seg = t1.elapsed().as_secs_f64();
    let mut rows = Vec::new();
    let seg = match seg {
        Ok(s) => s,
        Err(e) => {
            for h in &r.truth.hips {
                rows.push(Row { case: name.to_string(), side: h.side, cells: vec![format!("segmentation failed: {e}")] });
            }
            return Ok(rows);
        }
    };
    let t2 = Instant::now();
    let map = seg.working_labels.as_ref().unwrap_or(&seg.labels);
    let present = map.counts();
    let found: Vec<Bone> = Bone::ALL.into_iter().filter(|b| present.get(&b.label_id()).copied().unwrap_or(0) > 0).collect();
    let ids: Vec<u16> = found.iter().map(|b| b.label_id()).collect();
    let meshes: Vec<(Bone, Mesh)> = found.into_iter().zip(meshes_from_labels(map, &ids, &SurfaceOptions::default())).filter_map(|(b, m)| m.ok().map(|m| (b, m))).collect();
    let (lm, warnings) = landmarks::find(&landmarks::Bones::of(&meshes));
    let t_lm = t2.elapsed().as_secs_f64();
    let sp = r.ct.grid().spacing_mm();
    for h in &r.truth.hips {
        let (fl, hl) = if h.side == Side::Left { (75u16, 77u16) } else { (76, 78) };
        let f = lm.femur(h.side);
        let a = lm.acetabulum(h.side);
        let sh = seg.femoral_heads.iter().find(|s| s.side == h.side);
        let fmt = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.2}"));
        let head_d = f.map(|f| (f.head_centre.lps_mm - h.head_centre_lps_mm).norm());
        let head_r = f.map(|f| f.head_radius_mm - h.head_radius_mm);
        let acet_d = a.zip(h.acetabulum_centre_lps_mm).map(|(a, t)| (a.centre.lps_mm - t).norm());
        let acet_r = a.zip(h.acetabulum_radius_mm).map(|(a, t)| a.radius_mm - t);
        let sph_d = sh.map(|s| (s.centre_lps_mm - h.head_centre_lps_mm).norm());
        let sph_r = sh.map(|s| s.radius_mm - h.head_radius_mm);
        rows.push(Row {
            case: name.to_string(),
            side: h.side,
            cells: vec![
                format!("{:.2}x{:.2}x{:.2}", sp.x, sp.y, sp.z),
                format!("{}x{}x{}", size[0], size[1], size[2]),
                format!("{:?}", case.spec.tilt_deg),
                format!("{:.2}", h.dome_gap_mm),
                format!("{:.2}", h.min_gap_mm),
                format!("{}", case.spec.metal.map_or("-", |s| s.as_str())),
                format!("{:.2}", h.head_radius_mm),
                fmt(head_d),
                fmt(head_r),
                fmt(acet_d),
                fmt(acet_r),
                fmt(sph_d),
                fmt(sph_r),
                format!("{}", sh.is_some_and(|s| s.sphere_fitted)),
                format!("{:.3}", dice(r, &seg.labels, fl)),
                format!("{:.3}", dice(r, &seg.labels, hl)),
                format!("{t_render:.0}/{t_seg:.0}/{t_lm:.0}"),
                format!("{} {}", warnings.len(), warnings.first().map_or("", String::as_str)),
            ],
        });
    }
    Ok(rows)
}

const HEADER: &str = "case\tside\tgrid_mm\tvoxels\ttilt_deg\tdome_gap\tmin_gap\tmetal\ttrue_head_r\thead_d\thead_dr\tacet_d\tacet_dr\tsegsphere_d\tsegsphere_dr\tfitted\tdice_femur\tdice_hip\ts_render/seg/lm\twarnings";

#[test]
#[ignore = "renders and segments 21 CTs of 40-180 M voxels (20-40 min on 2 cores): run by hand for issue 59's baseline"]
fn ct_path_on_the_held_apart_renders() {
    let Some(z013) = z013() else { return };
    let set = if std::env::var("CT_RENDER_SET").as_deref() == Ok("tuning") { tuning_set() } else { test_set() };
    let only: Vec<String> = std::env::var("CT_RENDER_CASES").map(|s| s.split(',').map(str::to_string).collect()).unwrap_or_default();
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ct_render_baseline.tsv");
    let mut file = std::fs::File::create(&out).unwrap();
    writeln!(file, "{HEADER}").unwrap();
    println!("{HEADER}");
    let (mut failed, mut refused) = (Vec::new(), 0usize);
    for case in set.iter().filter(|c| only.is_empty() || only.iter().any(|o| c.name.contains(o.as_str()))) {
        match run_case(case, &z013) {
            Ok(rows) => {
                for r in rows {
                    let line = format!("{}\t{}\t{}", r.case, r.side.as_str(), r.cells.join("\t"));
                    println!("{line}");
                    writeln!(file, "{line}").unwrap();
                }
            }
            Err(e) if e.starts_with("refused") => {
                println!("{}\tREFUSED: {e}", case.name);
                writeln!(file, "{}\tREFUSED: {e}", case.name).unwrap();
                refused += 1;
            }
            Err(e) => {
                println!("{}\tRENDER FAILED: {e}", case.name);
                failed.push(format!("{}: {e}", case.name));
            }
        }
    }
    println!("{refused} case(s) refused (a femur that would enter the hip bone, or no femur to seat)");
    assert!(failed.is_empty(), "cases that did not render: {failed:?}");
}

/// The joints of both sets without rendering: per hip the requested width, the placement (scale,
/// move), the dome gap and the smallest gap near the joint, or why the renderer refuses it.
/// Run: `cargo test -p coxa-anatomy --test ct_render_baseline -- --ignored --nocapture
/// joints_of_both_sets`. Asserts nothing beyond the data being there: a measurement.
#[test]
#[ignore = "a measurement by hand (about a minute)"]
fn joints_of_both_sets() {
    let Some(z013) = z013() else { return };
    let only: Vec<String> = std::env::var("CT_RENDER_CASES").map(|s| s.split(',').map(str::to_string).collect()).unwrap_or_default();
    for case in test_set().iter().chain(&tuning_set()).filter(|c| only.is_empty() || only.iter().any(|o| c.name.contains(o.as_str()))) {
        if let Subject::Atlas(id) = case.subject {
            let dir = common::data("pelvis_atlas/surface").unwrap();
            let read = |name: &str| coxa_io::mesh::read_vtk(&dir.join(format!("{name}{id}_cpd.vtk"))).unwrap();
            let (hl, hr) = (read("LeftHip"), read("RightHip"));
            let a = |m: &Mesh, s: Side| {
                landmarks::acetabulum_landmarks(m, s, None).map(|a| format!("r {:.2} rms {:.2} lunate {} fossa {}", a.radius_mm, a.fit_rms_mm, a.n_lunate_vertices, a.n_fossa_vertices))
            };
            let (f0, f1) = (pelvic_frame(&z013[0].1, &z013[1].1).unwrap(), pelvic_frame(&hl, &hr));
            let angle = f1.map(|f1| (f1.pelvic_from_lps().inverse() * f0.pelvic_from_lps()).angle().to_degrees());
            println!("{}: acetabula {:?} / {:?}; turn {:?} deg", case.name, a(&hl, Side::Left), a(&hr, Side::Right), angle);
        }
        let bones = match subject_bones(case.subject, &z013) {
            Ok(b) => b,
            Err(e) => {
                println!("{}\tSUBJECT FAILED: {e}", case.name);
                continue;
            }
        };
        for (n, (side, fl, hl)) in [(Side::Left, 75u16, 77u16), (Side::Right, 76, 78)].into_iter().enumerate() {
            let mesh = |l: u16| &bones.iter().find(|(x, _)| *x == l).unwrap().1;
            let w = case.spec.joint_space_mm[n];
            let row = landmarks::femur_landmarks(mesh(fl), side).map_err(|e| e.to_string()).and_then(|f| {
                coxa_anatomy::ct_render::joint::place_femur(mesh(fl), mesh(hl), side, f.head_centre.lps_mm, f.head_radius_mm, w)
                    .map(|p| format!("r {:.2}\tscale {:.3}\tmove {:.2}\tdome {:.2}\tmin {:.2}", f.head_radius_mm, p.scale, p.shift_mm.norm(), p.dome_gap_mm, p.min_gap_mm))
            });
            println!("{}\t{}\twidth {:?}\t{}", case.name, side.as_str(), w, row.unwrap_or_else(|e| format!("REFUSED: {e}")));
        }
    }
}

/// Issue 59's check of the joint-space split on a CT read from a file (`JOINT_CHECK_CT`, NIfTI):
/// coxa's segmentation with and without [`SegmentOptions::joint_rays`], surfaces and landmarks,
/// printed side by side; against a phantom's truth (`JOINT_CHECK_TRUTH`, the
/// `input/phantom_truth.json` of a `coxa demo` folder, whose CT is `input/phantom_ct.nii.gz`)
/// and against a reference label map (`JOINT_CHECK_REF` with `JOINT_CHECK_CLASSES`, e.g.
/// TotalSegmentator's labels of `totalseg/example_ct.nii.gz` and `labels_total_v2.json`) by Dice.
/// Run: `JOINT_CHECK_CT=... cargo test -p coxa-anatomy --test ct_render_baseline -- --ignored
/// --nocapture joint_rays_on_a_given_ct`. Prints figures; asserts only that both runs segment.
#[test]
#[ignore = "a measurement by hand on a CT named in the environment"]
fn joint_rays_on_a_given_ct() {
    let Some(path) = std::env::var_os("JOINT_CHECK_CT") else { return };
    let ct = coxa_io::nifti::read_volume(std::path::Path::new(&path)).unwrap();
    let truth: Option<serde_json::Value> = std::env::var_os("JOINT_CHECK_TRUTH").map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap());
    let reference = std::env::var_os("JOINT_CHECK_REF").map(|p| {
        let classes = std::env::var_os("JOINT_CHECK_CLASSES").expect("JOINT_CHECK_CLASSES with JOINT_CHECK_REF");
        let source = coxa_anatomy::labels::parse_totalseg_classes(&std::fs::read_to_string(classes).unwrap()).unwrap();
        coxa_anatomy::labels::import_ct_label_map(coxa_io::nifti::read_label_map(std::path::Path::new(&p)).unwrap(), &source, ct.grid()).unwrap()
    });
    for rays in [false, true] {
        let t0 = Instant::now();
        let seg = segment_bones(&ct, &SegmentOptions::new().with_joint_rays(rays)).expect("segments");
        let map = seg.working_labels.as_ref().unwrap_or(&seg.labels);
        let ids: Vec<u16> = Bone::ALL.iter().map(|b| b.label_id()).filter(|l| map.counts().get(l).copied().unwrap_or(0) > 0).collect();
        let bones: Vec<(Bone, Mesh)> = ids.iter().zip(meshes_from_labels(map, &ids, &SurfaceOptions::default())).filter_map(|(l, m)| Some((Bone::from_label_id(*l)?, m.ok()?))).collect();
        let (lm, _) = landmarks::find(&landmarks::Bones::of(&bones));
        println!("joint_rays {rays}: {:.1} s; warnings {:?}", t0.elapsed().as_secs_f64(), seg.warnings);
        for side in [Side::Left, Side::Right] {
            let s = side.as_str();
            let t = |k: &str| truth.as_ref().and_then(|t| t[k][s].as_f64());
            let sh = seg.femoral_heads.iter().find(|h| h.side == side).unwrap();
            let f = lm.femur(side);
            let ang =
                lm.pelvis.as_ref().and_then(|p| p.acetabular_angles.iter().find(|(x, _)| *x == side)).and_then(|(_, a)| a.iter().find(|a| a.definition == coxa_core::CupAngleDefinition::Radiographic));
            let known = truth.as_ref().map(|t| &t["acetabulum_radiographic_deg"][s]);
            let minus = |a: Option<f64>, b: Option<f64>| a.map(|a| b.map_or(format!("{a:.2}"), |b| format!("{:+.2}", a - b))).unwrap_or("-".into());
            let tc = truth
                .as_ref()
                .map(|t| nalgebra::Point3::new(t["head_centres_lps_mm"][s][0].as_f64().unwrap(), t["head_centres_lps_mm"][s][1].as_f64().unwrap(), t["head_centres_lps_mm"][s][2].as_f64().unwrap()));
            println!(
                "  {s}: seg head {:?} r {:.2} fitted {}; mesh head {:?} r {}; vs truth: head {} mm r {}; neck-shaft {}, anteversion {}; acetabulum incl {} av {} r {}",
                sh.centre_lps_mm.coords.as_slice().iter().map(|x| (x * 100.0).round() / 100.0).collect::<Vec<_>>(),
                sh.radius_mm,
                sh.sphere_fitted,
                f.map(|f| f.head_centre.lps_mm.coords.as_slice().iter().map(|x| (x * 100.0).round() / 100.0).collect::<Vec<_>>()),
                minus(f.map(|f| f.head_radius_mm), None),
                f.zip(tc).map_or("-".into(), |(f, c)| format!("{:.2}", (f.head_centre.lps_mm - c).norm())),
                minus(f.map(|f| f.head_radius_mm), t("head_radius_mm")),
                minus(f.and_then(|f| f.neck_shaft_angle_deg), t("neck_shaft_angle_deg")),
                minus(f.and_then(|f| f.anteversion_deg), t("neck_anteversion_deg")),
                minus(ang.map(|a| a.inclination.deg()), known.and_then(|k| k["inclination"].as_f64())),
                minus(ang.map(|a| a.anteversion.deg()), known.and_then(|k| k["anteversion"].as_f64())),
                minus(lm.acetabulum(side).map(|a| a.radius_mm), t("acetabulum_radius_mm")),
            );
        }
        if let Some(reference) = &reference {
            let d: Vec<String> = [75u16, 76, 77, 78]
                .iter()
                .map(|&id| {
                    let (mut both, mut a, mut b) = (0usize, 0usize, 0usize);
                    for (&x, &y) in seg.labels.labels().iter().zip(reference.labels().iter()) {
                        let (p, q) = (x == id, y == id);
                        a += usize::from(p);
                        b += usize::from(q);
                        both += usize::from(p && q);
                    }
                    format!("{id}: {:.4}", 2.0 * both as f64 / (a + b).max(1) as f64)
                })
                .collect();
            println!("  Dice femur L/R, hip L/R: {}", d.join(", "));
        }
    }
}
