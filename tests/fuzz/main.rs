//! Fuzz targets for coxa's readers (issue 16), on stable Rust: see `engine.rs` for the method
//! and why. Each target replays its committed crash cases (`tests/corpus/fuzz/NAME/`) and then
//! mutates its seeds for `COXA_FUZZ_SECONDS` (default 3 s per target in `cargo test`: a regression
//! check of every reader in CI; the search for new failures is the coverage-guided run below).
//!
//! The long, coverage-guided run by hand (release build with SanitizerCoverage, one process per
//! target; see `scripts/fuzz`):
//! ```sh
//! scripts/fuzz --runs 1000000 stl ply      # or no names: every target
//! ```
//! A crash or hang fails the test and leaves the input in `target/fuzz-crashes/`; once fixed,
//! commit it into `tests/corpus/fuzz/NAME/` so it is replayed forever. Seeds come from
//! `../shared/data` where present (and small files coxa writes itself), so the targets run
//! without it too.

mod engine;
mod formats;
mod records;

use std::path::{Path, PathBuf};

use coxa_core::{Grid, Mesh, Volume};
use engine::{Target, budget, check, corpus, fuzz};
use nalgebra::{Point3, Vector3};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn shared(rel: &str) -> Option<Vec<u8>> {
    std::fs::read(root().join("../shared/data").join(rel)).ok()
}

fn crash_dir() -> PathBuf {
    root().join("target/fuzz-crashes")
}

fn tiny_volume() -> Volume {
    let grid = Grid::axis_aligned([6, 5, 4], Vector3::new(0.8, 0.8, 2.0), Vector3::new(-10.0, 5.0, 30.0)).unwrap();
    Volume::new(grid, ndarray::Array3::from_shape_fn((4, 5, 6), |(k, j, i)| (i * 100 + j * 10 + k) as f32 - 1000.0)).unwrap()
}

fn tiny_mesh() -> Mesh {
    let v = vec![Point3::new(0.0, 0.0, 0.0), Point3::new(10.0, 0.0, 0.0), Point3::new(0.0, 10.0, 0.0), Point3::new(0.0, 0.0, 10.0)];
    Mesh::new(v, vec![[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]).unwrap()
}

/// Files coxa writes itself, as seeds: (name, bytes).
fn written(write: impl FnOnce(&Path) -> coxa_io::Result<()>, name: &str) -> Vec<u8> {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name);
    write(&p).unwrap();
    std::fs::read(&p).unwrap()
}

fn dicom_slices() -> Vec<Vec<u8>> {
    let d = tempfile::tempdir().unwrap();
    let files = coxa_io::dicom::write_series(&tiny_volume(), d.path(), &coxa_io::dicom::WriteSeriesOptions::new().with_uid_seed(7)).unwrap();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn go(target: Target<'_>, seed: u64) {
    engine::quiet_panics();
    coxa_io::Limits::set_process_max_bytes(2_000_000_000);
    let corpus = corpus(&root().join("tests/corpus/fuzz").join(target.name));
    let report = fuzz(&target, &corpus, budget(3.0), seed, &crash_dir());
    check(&report);
    assert!(engine::peak_rss_bytes() < 2 << 30, "peak memory {} MB is over 2 GB", engine::peak_rss_bytes() >> 20);
}

fn open_any(p: &Path) -> Result<(), String> {
    coxa_io::open(p, &coxa_io::OpenOptions::new().with_any_modality(true)).map(|_| ()).map_err(err)
}

#[test]
fn fuzz_dicom_file() {
    let mut seeds = dicom_slices();
    seeds.truncate(2);
    if let Ok(mut dir) = std::fs::read_dir(root().join("../shared/data/totalseg/example_ct_dicom")).map(|r| r.flatten().map(|e| e.path()).collect::<Vec<_>>()) {
        dir.sort();
        seeds.extend(dir.first().and_then(|p| std::fs::read(p).ok()));
    }
    go(Target { name: "dicom_file", ext: ".dcm", text: false, seeds, run: &open_any }, 1);
}

#[test]
fn fuzz_dicom_folder() {
    // A two-slice series (one good slice and the mutated one): series assembly is exercised
    // (spacing from positions, consistency between slices) at a third of the cost of four.
    let slices = dicom_slices();
    let good = slices[1..2].to_vec();
    let run = move |p: &Path| -> Result<(), String> {
        let dir = p.with_extension("series");
        if !dir.exists() {
            std::fs::create_dir_all(&dir).unwrap();
            for (k, s) in good.iter().enumerate() {
                std::fs::write(dir.join(format!("good_{k}.dcm")), s).unwrap();
            }
        }
        std::fs::copy(p, dir.join("mutated.dcm")).unwrap();
        coxa_io::open(&dir, &coxa_io::OpenOptions::new().with_any_modality(true)).map(|_| ()).map_err(err)
    };
    go(Target { name: "dicom_folder", ext: ".dcm", text: false, seeds: vec![slices[0].clone()], run: &run }, 2);
}

#[test]
fn fuzz_nifti() {
    let seeds = vec![written(|p| coxa_io::nifti::write_volume(&tiny_volume(), p), "v.nii")];
    go(Target { name: "nifti", ext: ".nii", text: false, seeds, run: &open_any }, 3);
}

#[test]
fn fuzz_nifti_gz() {
    let mut seeds = vec![written(|p| coxa_io::nifti::write_volume(&tiny_volume(), p), "v.nii.gz")];
    // The real label map: small compressed (a few hundred kB).
    seeds.extend(shared("totalseg/example_seg_fast_force_split.nii.gz"));
    let run = |p: &Path| -> Result<(), String> { coxa_io::nifti::read_label_map(p).map(|_| ()).map_err(err).and_then(|()| open_any(p)) };
    go(Target { name: "nifti_gz", ext: ".nii.gz", text: false, seeds, run: &run }, 4);
}

#[test]
fn fuzz_nrrd() {
    let mut seeds = vec![written(|p| coxa_io::nrrd::write_volume(&tiny_volume(), p), "v.nrrd")];
    seeds.push(b"NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 2 2 2\nspace directions: (1,0,0) (0,1,0) (0,0,2.5)\nkind: domain domain domain\nendian: little\nencoding: ascii\nspace origin: (0,0,0)\n\n-1000 -1000 0 0 100 200 300 400\n".to_vec());
    go(Target { name: "nrrd", ext: ".nrrd", text: true, seeds, run: &open_any }, 14);
}

fn read_mesh(p: &Path) -> Result<(), String> {
    coxa_io::mesh::read_mesh(p).map(|_| ()).map_err(err)
}

#[test]
fn fuzz_stl() {
    let mut seeds = vec![written(|p| coxa_io::mesh::write_stl(&tiny_mesh(), p), "m.stl")];
    seeds.push(b"solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\nendloop\nendfacet\nendsolid t\n".to_vec());
    // The first 40 triangles of a real bone, re-headered.
    if let Some(b) = shared("vsd_bones/z013_Sacrum.stl") {
        let mut s = b[..80].to_vec();
        s.extend(40u32.to_le_bytes());
        s.extend(&b[84..84 + 40 * 50]);
        seeds.push(s);
    }
    go(Target { name: "stl", ext: ".stl", text: false, seeds, run: &read_mesh }, 5);
}

#[test]
fn fuzz_ply() {
    let seeds = vec![
        written(|p| coxa_io::mesh::write_ply(&tiny_mesh(), p), "m.ply"),
        b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n".to_vec(),
    ];
    go(Target { name: "ply", ext: ".ply", text: false, seeds, run: &read_mesh }, 6);
}

#[test]
fn fuzz_vtk() {
    let mut seeds = vec![b"# vtk DataFile Version 3.0\nt\nASCII\nDATASET POLYDATA\nPOINTS 4 float\n0 0 0 1 0 0 0 1 0 0 0 1\nPOLYGONS 2 8\n3 0 1 2\n3 0 1 3\n".to_vec()];
    seeds.extend(shared("pelvis_atlas/surface/LeftHip10_cpd.vtk"));
    go(Target { name: "vtk", ext: ".vtk", text: true, seeds, run: &read_mesh }, 7);
}

#[test]
fn fuzz_vtp() {
    let mut seeds = vec![b"<?xml version=\"1.0\"?>\n<VTKFile type=\"PolyData\" version=\"0.1\"><PolyData><Piece NumberOfPoints=\"3\" NumberOfPolys=\"1\"><Points><DataArray type=\"Float32\" NumberOfComponents=\"3\" format=\"ascii\">0 0 0 1 0 0 0 1 0</DataArray></Points><Polys><DataArray type=\"Int32\" Name=\"connectivity\" format=\"ascii\">0 1 2</DataArray><DataArray type=\"Int32\" Name=\"offsets\" format=\"ascii\">3</DataArray></Polys></Piece></PolyData></VTKFile>\n".to_vec()];
    seeds.extend(shared("opensim/Geometry/sacrum.vtp"));
    go(Target { name: "vtp", ext: ".vtp", text: true, seeds, run: &read_mesh }, 8);
}

/// `osim` with only its first `keep` Thelen muscles in the ForceSet (text surgery; `None` if
/// the file does not have that layout).
fn fewer_muscles(osim: &[u8], keep: usize) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(osim).ok()?;
    let set = text.find("<ForceSet")?;
    let objects = set + text[set..].find("<objects>")? + "<objects>".len();
    let end_objects = objects + text[objects..].find("</objects>")?;
    let close = "</Thelen2003Muscle>";
    let mut cut = objects;
    for _ in 0..keep {
        cut += text[cut..end_objects].find(close)? + close.len();
    }
    Some([&text[..cut], "\n", &text[end_objects..]].concat().into_bytes())
}

#[test]
fn fuzz_osim() {
    let mut seeds: Vec<Vec<u8>> = shared("opensim/gait2392_thelen2003muscle.osim").into_iter().collect();
    if seeds.is_empty() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "../shared/data/opensim is missing");
        eprintln!("skipping fuzz_osim: ../shared/data/opensim not found");
        return;
    }
    // The same model with two of its 92 muscles: a 10x faster seed for the mutations to start from.
    seeds.extend(fewer_muscles(&seeds[0], 2));
    let run = |p: &Path| -> Result<(), String> { coxa_osim::read_osim(p).map(|_| ()).map_err(err) };
    go(Target { name: "osim", ext: ".osim", text: true, seeds, run: &run }, 9);
}

#[test]
fn fuzz_fcsv() {
    let mut seeds: Vec<Vec<u8>> = ["H1L_FemurLandmarks.fcsv", "H2R_PelvisLandmarks.fcsv"].iter().filter_map(|f| shared(&format!("orthoload/Landmarks/{f}"))).collect();
    seeds.push(b"# columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,desc,associatedNodeID\n1,1.5,2,3,0,0,0,1,1,1,0,HJC_R,,\n".to_vec());
    let run = |p: &Path| -> Result<(), String> {
        let points = coxa_io::markups::read_markups(p).map_err(err)?;
        // Both sides exercised; the read is what decides "accepted".
        for side in [coxa_core::Side::Left, coxa_core::Side::Right] {
            if let Ok(f) = coxa_core::OrthoLoadFemur::from_labels(points.iter().map(|c| (c.label.as_str(), c.lps_mm)), side) {
                let _ = coxa_msk::RightFemur::new(&f, side);
            }
        }
        Ok(())
    };
    go(Target { name: "fcsv", ext: ".fcsv", text: true, seeds, run: &run }, 10);
}

#[test]
fn fuzz_catalog() {
    let dir = root().join("models/implants/catalog");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let run = |p: &Path| -> Result<(), String> {
        let text = std::fs::read_to_string(p).map_err(err)?;
        let mut c = coxa_implants::Catalog::default();
        c.add_text(&text, "fuzz.toml").map_err(err)
    };
    go(Target { name: "catalog", ext: ".toml", text: true, seeds, run: &run }, 11);
}

#[test]
fn fuzz_user_frame() {
    let seeds = vec![
        b"schema_version = 1\npart = \"stem\"\nmesh = \"my_stem.stl\"\nunits = \"mm\"\nhead_centre_mm = [0.0, 0.0, 0.0]\nneck_axis = [0.0, 0.2, 1.0]\nneck_diameter_mm = 12.0\nshaft_axis = [0.0, -0.6, -0.8]\n".to_vec(),
        b"schema_version = 1\npart = \"cup\"\nmesh = \"cup.stl\"\nunits = \"mm\"\ncup_centre_mm = [1.0, 2.0, 3.0]\ncup_axis = [0.0, 0.0, 1.0]\ninner_diameter_mm = 32.0\nsuperior_axis = [1.0, 0.0, 0.0]\n".to_vec(),
    ];
    let run = |p: &Path| -> Result<(), String> {
        let spec = coxa_implants::UserGeometrySpec::read(p).map_err(err)?;
        spec.validate("fuzz.toml", p.parent().unwrap_or(Path::new("."))).map(|_| ()).map_err(err)
    };
    go(Target { name: "user_frame", ext: ".toml", text: true, seeds, run: &run }, 12);
}

/// Radiographs (issue 22): CR/DX DICOM and PNG, read with a pixel spacing given so that a file
/// without one still reaches decoding, the VOI and the presentation values. Seeds: the corpus'
/// DX images (a good one but for its spacing, one without spacing) and its 8-bit PNG.
fn radiograph_seeds(ext: &str) -> Vec<Vec<u8>> {
    let files = root().join("tests/corpus/files");
    ["xray_spacing_zero", "xray_no_spacing"].iter().filter_map(|n| std::fs::read(files.join(format!("{n}{ext}"))).ok()).collect()
}

fn read_radiograph(p: &Path) -> Result<(), String> {
    coxa_io::radiograph::read_radiograph(p, &coxa_io::radiograph::RadiographOptions::new().with_pixel_spacing_mm(Some(0.2))).map(|_| ()).map_err(err)
}

#[test]
fn fuzz_radiograph_dicom() {
    let seeds = radiograph_seeds(".dcm");
    assert!(!seeds.is_empty(), "the corpus' radiographs are missing");
    go(Target { name: "radiograph_dicom", ext: ".dcm", text: false, seeds, run: &read_radiograph }, 14);
}

#[test]
fn fuzz_radiograph_png() {
    let seeds = radiograph_seeds(".png");
    assert!(!seeds.is_empty(), "the corpus' PNG radiograph is missing");
    go(Target { name: "radiograph_png", ext: ".png", text: false, seeds, run: &read_radiograph }, 15);
}

/// Issue 45: OpenSim motion and ground-reaction files (`.mot`/`.sto`), read and, when read, run
/// through the inverse dynamics of a one-coordinate pendulum (the missing-coordinate check, the
/// splines and the loads' columns). Seeds: a motion and a ground-reaction table coxa writes.
#[test]
fn fuzz_mot() {
    let model = coxa_osim::parse_osim(PENDULUM, Path::new("pendulum.osim")).unwrap();
    let mut motion = coxa_osim::Storage::new("ik", true, vec!["theta".into()]);
    let cols = ["ground_force_vx", "ground_force_vy", "ground_force_vz", "ground_force_px", "ground_force_py", "ground_force_pz"];
    let mut grf = coxa_osim::Storage::new("grf", false, cols.iter().map(|c| c.to_string()).collect());
    for k in 0..8 {
        let t = 0.01 * f64::from(k);
        motion.rows.push((t, vec![10.0 * t]));
        grf.rows.push((t, vec![1.0, 0.0, 0.0, 0.0, -1.0, 0.0]));
    }
    let seeds = vec![written_storage(&motion), written_storage(&grf)];
    let loads = [coxa_msk::motion::ExternalLoad::plate("rod", "")];
    let run = move |p: &Path| -> Result<(), String> {
        let s = coxa_osim::Storage::read(p).map_err(err)?;
        // Bounded work per input: the dynamics of at most 64 frames.
        if s.rows.len() <= 64 {
            let _ = coxa_msk::motion::inverse_dynamics(&model, &s, &s, &loads, &coxa_msk::motion::MotionOptions::default());
        }
        Ok(())
    };
    go(Target { name: "mot", ext: ".mot", text: true, seeds, run: &run }, 16);
}

/// A pendulum model: one body on a pin (a model small enough for thousands of runs a second).
const PENDULUM: &str = include_str!("../../models/msk/tests/fixtures/pendulum.osim");

fn written_storage(s: &coxa_osim::Storage) -> Vec<u8> {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("s.mot");
    s.write(&p).unwrap();
    std::fs::read(&p).unwrap()
}

/// Issue 45: 3D Slicer markups as JSON (`.mrk.json`; `.fcsv` has its own target).
#[test]
fn fuzz_mrk_json() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("m.mrk.json");
    let points: Vec<coxa_io::markups::ControlPoint> = [("HJC_R", Point3::new(-80.0, 30.0, 1670.0)), ("P1_R", Point3::new(-110.0, 30.0, 1620.0))]
        .into_iter()
        .map(|(l, q)| coxa_io::markups::ControlPoint { label: l.into(), description: String::new(), lps_mm: q })
        .collect();
    coxa_io::markups::write_mrk_json(&points, &p).unwrap();
    let mut seeds = vec![std::fs::read(&p).unwrap()];
    seeds.push(br#"{"markups":[{"type":"Fiducial","coordinateSystem":"RAS","controlPoints":[{"label":"HJC_R","position":[80.0,-30.0,1670.0]}]}]}"#.to_vec());
    let run = |p: &Path| -> Result<(), String> { coxa_io::markups::read_markups(p).map(|_| ()).map_err(err) };
    go(Target { name: "mrk_json", ext: ".mrk.json", text: true, seeds, run: &run }, 17);
}

/// Issue 45: segmentation model cards (TOML; the weights are not opened by a card read): every
/// field's check, the weights' folder rule, the coxa classes.
#[test]
fn fuzz_model_card() {
    let dir = root().join("models/infer/tests/models");
    let mut seeds: Vec<Vec<u8>> = ["threshold3.toml"].iter().filter_map(|f| std::fs::read(dir.join(f)).ok()).collect();
    seeds.extend(std::fs::read(root().join("models/infer/phantom/phantom_seg_test.toml")).ok());
    assert!(!seeds.is_empty(), "the test cards are missing");
    let run = |p: &Path| -> Result<(), String> { coxa_infer::card::ModelCard::read(p).map(|_| ()).map_err(err) };
    go(Target { name: "model_card", ext: ".toml", text: true, seeds, run: &run }, 18);
}

/// Issue 45: the float image paths on any `f32` values (NaN, infinities, 1e38, subnormals): the
/// input's bytes are the voxels of a 6 x 5 x 4 image (padded with -1000), whose central 2 x 2
/// x 2 voxels are labelled; radiomics (every feature class) and a simulated radiograph run on
/// it. A refusal is fine, a panic is not (NaN was an index out of bounds in glcm.rs).
#[test]
fn fuzz_float_image() {
    let grid = tiny_volume().grid().clone();
    let n = 6 * 5 * 4;
    let mut labels = ndarray::Array3::<u16>::zeros((4, 5, 6));
    for k in 1..3 {
        for j in 1..3 {
            for i in 2..4 {
                labels[[k, j, i]] = 1;
            }
        }
    }
    let mask = coxa_core::LabelMap::new(grid.clone(), labels, coxa_core::ClassTable::new()).unwrap();
    let values = |bytes: &[u8]| -> Vec<f32> {
        let mut v: Vec<f32> = bytes.chunks_exact(4).take(n).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        v.resize(n, -1000.0);
        v
    };
    let good: Vec<u8> = tiny_volume().hu().iter().flat_map(|v| (v + 0.5).to_le_bytes()).collect();
    let mut with_nan = good.clone();
    with_nan[40..44].copy_from_slice(&f32::NAN.to_le_bytes());
    let mut with_inf = good.clone();
    with_inf[4 * 50..4 * 51].copy_from_slice(&f32::INFINITY.to_le_bytes());
    let geometry = coxa_diagnostics::drr::XrayGeometry::centred(Point3::new(-8.0, -500.0, 34.0), Point3::new(-8.0, 7.0, 34.0), Vector3::x(), 1000.0, 8, 8, 1.0).unwrap();
    let run = move |p: &Path| -> Result<(), String> {
        let bytes = std::fs::read(p).map_err(err)?;
        let array = ndarray::Array3::from_shape_vec((4, 5, 6), values(&bytes)).map_err(err)?;
        let image = Volume::new(grid.clone(), array).map_err(err)?;
        let mut params = coxa_diagnostics::Params::default();
        params.settings.label = 1;
        let radiomics = coxa_diagnostics::extract(&image, &mask, &params).map(|_| ()).map_err(err);
        let drr = coxa_diagnostics::drr::DrrVolume::new(&image).map(|v| drop(v.project(&geometry))).map_err(err);
        radiomics.and(drr)
    };
    go(Target { name: "float_image", ext: ".f32", text: false, seeds: vec![good, with_nan, with_inf], run: &run }, 19);
}
