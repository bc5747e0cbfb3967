//! coxa-pacs against a live Orthanc started by each test (see `common`): find and pull over
//! DICOMweb and DIMSE, the network faults, and the results pushed back.

mod common;

use dicom_core::header::Header;

use std::path::PathBuf;
use std::time::Duration;

use coxa_pacs::pull::{Which, pull};
use coxa_pacs::{Address, ConnectOptions, Error, FindQuery, Retrieve, Secret, connect};

use common::{ACCESSION, Orthanc, PATIENT_ID, Setup, Study};

fn client(url: &str, timeout_s: u64) -> Box<dyn coxa_pacs::Pacs> {
    let options = ConnectOptions { timeout: Duration::from_secs(timeout_s), ..Default::default() };
    connect(&Address::parse(url).unwrap(), &options).unwrap()
}

fn setup() -> Option<(Orthanc, Study)> {
    let data = common::data_dir()?;
    let orthanc = Orthanc::start()?;
    let study = Study::build(&data);
    orthanc.upload(&study.all_files());
    Some((orthanc, study))
}

/// Find by patient, accession, date and modality; pull both series over each protocol; the
/// pulled series equal the originals voxel for voxel (coxa-io) and byte for byte (PixelData).
#[test]
fn find_and_pull_over_dicomweb_and_dimse() {
    let Some((orthanc, study)) = setup() else { return };
    for url in [orthanc.web(), orthanc.dimse()] {
        let mut c = client(&url, 30);
        let queries = [
            FindQuery { patient_id: Some(PATIENT_ID.into()), ..Default::default() },
            FindQuery { accession: Some(ACCESSION.into()), ..Default::default() },
            FindQuery { study_date: Some("20221201-20221231".into()), modality: Some("CT".into()), ..Default::default() },
        ];
        for q in &queries {
            let found = c.find_studies(q).unwrap();
            assert_eq!(found.len(), 1, "{url} {q:?}: {found:?}");
            assert_eq!(found[0].study_uid, study.study_uid);
            assert_eq!(found[0].patient_id.as_deref(), Some(PATIENT_ID));
            assert_eq!(found[0].study_date.as_deref(), Some("20221208"));
        }
        let none = c.find_studies(&FindQuery { patient_id: Some("NOBODY".into()), ..Default::default() }).unwrap();
        assert!(none.is_empty(), "{url}: {none:?}");
        let other_date = c.find_studies(&FindQuery { study_date: Some("20200101-20201231".into()), ..Default::default() }).unwrap();
        assert!(other_date.is_empty(), "{url}");

        let series = c.find_series(&study.study_uid).unwrap();
        assert_eq!(series.len(), 2, "{url}: {series:?}");
        let n = |uid: &str| series.iter().find(|s| s.series_uid == uid).and_then(|s| s.n_instances);
        assert_eq!(n(&study.thin_uid), Some(20), "{url}");
        assert_eq!(n(&study.hips_uid), Some(112), "{url}");

        let out = tempfile::tempdir().unwrap();
        let t = std::time::Instant::now();
        let pulled = pull(c.as_mut(), &study.study_uid, out.path(), &Which::AllCt).unwrap();
        // A figure for the record, not a goal (speed goals live in benchmarks).
        eprintln!("{url}: pulled 2 series, 132 instances, in {:.2} s", t.elapsed().as_secs_f64());
        assert_eq!(pulled.len(), 2);
        for (orig, uid) in [(&study.thin, &study.thin_uid), (&study.hips, &study.hips_uid)] {
            let p = pulled.iter().find(|p| &p.series.series_uid == uid).unwrap();
            assert_eq!(common::pixel_bytes(&p.dir), common::pixel_bytes(orig), "{url}: PixelData bytes of {uid}");
            let a = coxa_io::dicom::read_series(std::slice::from_ref(orig), &Default::default()).unwrap().volume;
            let b = coxa_io::dicom::read_series(std::slice::from_ref(&p.dir), &Default::default()).unwrap().volume;
            assert!(a.grid().same_as(b.grid(), 1e-9), "{url}: grid");
            assert!(a.hu() == b.hu(), "{url}: voxels of {uid}");
        }
        // The shared data itself (before the test's identity patch): same voxels.
        let data = common::data_dir().unwrap();
        let shared = coxa_io::dicom::read_series(&[data.join("totalseg_dicom_uidfixed")], &Default::default()).unwrap().volume;
        let thin = pulled.iter().find(|p| p.series.series_uid == study.thin_uid).unwrap();
        let got = coxa_io::dicom::read_series(std::slice::from_ref(&thin.dir), &Default::default()).unwrap().volume;
        assert!(shared.hu() == got.hu(), "{url}: voxels against ../shared/data");
        let names: Vec<String> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.iter().all(|n| !n.starts_with('.')), "{url}: no partial folder left: {names:?}");
        // A second pull into the same folder never replaces what is there.
        let again = pull(c.as_mut(), &study.study_uid, out.path(), &Which::AllCt).unwrap_err();
        assert!(matches!(again, Error::WouldOverwrite { .. }), "{url}: {again}");
    }
}

fn client_with(url: &str, options: ConnectOptions) -> Result<Box<dyn coxa_pacs::Pacs>, Error> {
    connect(&Address::parse(url).unwrap(), &options)
}

/// A PACS that allows only C-MOVE (Orthanc with C-GET refused and coxa in its modalities at a
/// port the test chose): C-ECHO answers, C-GET is refused with the hint to move, C-MOVE pulls
/// both series whole and bit for bit; a move to an AE title the PACS does not know, and a port
/// already taken, are one clear error each with nothing kept.
#[test]
fn c_echo_and_c_move_where_c_get_is_refused() {
    let Some(data) = common::data_dir() else { return };
    let move_port = common::free_port();
    let mut config = serde_json::Map::new();
    config.insert("DicomAlwaysAllowGet".into(), false.into());
    config.insert("DicomAlwaysAllowMove".into(), true.into());
    config.insert("DicomModalities".into(), serde_json::json!({ "coxa": { "AET": "COXA", "Host": "127.0.0.1", "Port": move_port, "AllowGet": false } }));
    let Some(orthanc) = Orthanc::start_with(Setup { config, ..Default::default() }) else { return };
    let study = Study::build(&data);
    orthanc.upload(&study.all_files());
    for url in [orthanc.dimse(), orthanc.web()] {
        let t = std::time::Instant::now();
        client(&url, 10).echo().unwrap();
        eprintln!("{url}: echo in {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    }
    let e = client(&format!("dicom://ORTHANC@127.0.0.1:{}", common::free_port()), 5).echo().unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e}");

    let out = tempfile::tempdir().unwrap();
    let e = pull(client(&orthanc.dimse(), 10).as_mut(), &study.study_uid, out.path(), &Which::AllCt).unwrap_err();
    assert!(matches!(e, Error::RetrieveRefused { .. }), "{e}\n{}", orthanc.log());
    assert!(e.to_string().contains("--retrieve move"), "{e}");
    assert_nothing_kept(out.path());

    let moving = |aet: &str, port: u16| {
        client_with(&orthanc.dimse(), ConnectOptions { timeout: Duration::from_secs(20), calling_aet: aet.into(), retrieve: Retrieve::Move { port }, ..Default::default() }).unwrap()
    };
    let t = std::time::Instant::now();
    let pulled = pull(moving("COXA", move_port).as_mut(), &study.study_uid, out.path(), &Which::AllCt).unwrap();
    eprintln!("C-MOVE: pulled 2 series, 132 instances, in {:.2} s", t.elapsed().as_secs_f64());
    assert_eq!(pulled.len(), 2);
    for (orig, uid, n) in [(&study.thin, &study.thin_uid, 20), (&study.hips, &study.hips_uid, 112)] {
        let p = pulled.iter().find(|p| &p.series.series_uid == uid).unwrap();
        assert_eq!(p.n_files, n);
        assert_eq!(common::pixel_bytes(&p.dir), common::pixel_bytes(orig), "PixelData bytes of {uid}");
    }
    let names: Vec<String> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "no partial folder left: {names:?}");

    // A move destination the PACS does not know.
    let other = tempfile::tempdir().unwrap();
    let e = pull(moving("NOTCOXA", move_port).as_mut(), &study.study_uid, other.path(), &Which::AllCt).unwrap_err();
    assert!(matches!(e, Error::MoveRefused { .. }), "{e}\n{}", orthanc.log());
    assert!(e.to_string().contains("NOTCOXA"), "{e}");
    assert_nothing_kept(other.path());
    // The port is taken.
    let (_taken, busy) = common::silent_server();
    let e = pull(moving("COXA", busy).as_mut(), &study.study_uid, other.path(), &Which::AllCt).unwrap_err();
    assert!(matches!(e, Error::MoveListen { .. }), "{e}");
    assert_nothing_kept(other.path());
}

/// DICOMweb over https with a hospital CA and a bearer token (Orthanc with a certificate the
/// test's own CA signed, and a Lua filter that refuses requests without the token): with the CA
/// bundle and the token coxa finds and pulls; without the bundle, with another CA's, without
/// the token or with a wrong one, one error each naming the cause and the fix.
#[test]
fn dicomweb_over_https_with_a_ca_bundle_and_a_bearer_token() {
    let Some(data) = common::data_dir() else { return };
    let certs = tempfile::tempdir().unwrap();
    let (server_pem, ca) = common::make_certificates(certs.path(), "hospital");
    let (_, other_ca) = common::make_certificates(certs.path(), "other");
    let token = "s3cret-token-for-coxa";
    let Some(orthanc) = Orthanc::start_with(Setup { tls: Some((server_pem, ca.clone())), token: Some(token.into()), ..Default::default() }) else { return };
    let study = Study::build(&data);
    orthanc.upload(&common::dcm_files(&study.thin));
    let opts = |bundle: Option<&std::path::Path>, token: Option<&str>| ConnectOptions {
        timeout: Duration::from_secs(10),
        ca_bundle: bundle.map(std::path::Path::to_path_buf),
        token: token.map(Secret::new),
        token_source: token.map(|_| "--token-file t.txt".to_string()),
        ..Default::default()
    };
    let web = orthanc.web();
    assert!(web.starts_with("https://"), "{web}");
    let mut good = client_with(&web, opts(Some(&ca), Some(token))).unwrap();
    good.echo().unwrap();
    let found = good.find_studies(&FindQuery { patient_id: Some(PATIENT_ID.into()), ..Default::default() }).unwrap();
    assert_eq!(found.len(), 1);
    let out = tempfile::tempdir().unwrap();
    let pulled = pull(good.as_mut(), &study.study_uid, out.path(), &Which::AllCt).unwrap();
    assert_eq!(pulled.len(), 1);
    assert_eq!(common::pixel_bytes(&pulled[0].dir), common::pixel_bytes(&study.thin));

    // The faults: certificate from an unknown CA (no bundle, another CA's bundle), no token, a wrong one.
    let e = client_with(&web, opts(None, Some(token))).unwrap().echo().unwrap_err();
    assert!(matches!(e, Error::Tls { .. }) && e.to_string().contains("--ca-bundle"), "{e}");
    let e = client_with(&web, opts(Some(&other_ca), Some(token))).unwrap().echo().unwrap_err();
    assert!(matches!(e, Error::Tls { .. }) && e.to_string().contains("does not hold the CA"), "{e}");
    for (t, says) in [(None, "COXA_PACS_TOKEN"), (Some("wrong"), "--token-file t.txt")] {
        let e = client_with(&web, opts(Some(&ca), t)).unwrap().echo().unwrap_err();
        assert!(matches!(e, Error::Unauthorized { status: 401 | 403, .. }) && e.to_string().contains(says), "{e}");
        let e = pull(client_with(&web, opts(Some(&ca), t)).unwrap().as_mut(), &study.study_uid, &out.path().join("again"), &Which::AllCt).unwrap_err();
        assert!(matches!(e, Error::Unauthorized { .. }), "{e}");
        assert!(!e.to_string().contains(token), "the token is never shown: {e}");
    }
    assert!(!out.path().join("again").exists());
    // A CA bundle that is no PEM.
    std::fs::write(certs.path().join("empty.pem"), "not a certificate\n").unwrap();
    let e = client_with(&web, opts(Some(&certs.path().join("empty.pem")), Some(token))).err().unwrap();
    assert!(matches!(e, Error::CaBundle { .. }), "{e}");
    assert!(!format!("{:?}", opts(None, Some(token))).contains(token), "Debug hides the token");
}

fn assert_nothing_kept(out: &std::path::Path) {
    let left: Vec<PathBuf> = std::fs::read_dir(out).map(|rd| rd.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "nothing may be left as if complete: {left:?}");
}

/// Server down, refused association, a hung server, a missing study and a transfer cut midway:
/// one clear error each, and no series folder written.
#[test]
fn network_faults_give_one_clear_error_and_nothing_complete() {
    let Some((orthanc, study)) = setup() else { return };
    let out = tempfile::tempdir().unwrap();
    let down = common::free_port();
    for url in [format!("http://127.0.0.1:{down}/dicom-web"), format!("dicom://ORTHANC@127.0.0.1:{down}")] {
        let e = pull(client(&url, 5).as_mut(), &study.study_uid, out.path(), &Which::AllCt).unwrap_err();
        assert!(matches!(e, Error::Unreachable { .. }), "{url}: {e}");
        assert!(e.to_string().contains("is it running"), "{e}");
    }
    // Wrong called AE title: Orthanc checks it and rejects the association.
    let e = client(&format!("dicom://NOTORTHANC@127.0.0.1:{}", orthanc.dicom_port), 5).find_series(&study.study_uid).unwrap_err();
    assert!(matches!(e, Error::AssociationRejected { .. }), "{e}");
    // A server that accepts the connection and never answers.
    let (_hung, port) = common::silent_server();
    for url in [format!("http://127.0.0.1:{port}/dicom-web"), format!("dicom://ORTHANC@127.0.0.1:{port}")] {
        let t = std::time::Instant::now();
        let e = pull(client(&url, 2).as_mut(), &study.study_uid, out.path(), &Which::AllCt).unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{url}: {e}");
        assert!(t.elapsed() < Duration::from_secs(20), "{url}: the timeout holds");
    }
    // A study that is not there.
    for url in [orthanc.web(), orthanc.dimse()] {
        let e = pull(client(&url, 10).as_mut(), "1.2.3.4.5.6.7.8.9", out.path(), &Which::AllCt).unwrap_err();
        assert!(matches!(e, Error::StudyNotFound { .. }), "{url}: {e}");
    }
    assert_nothing_kept(out.path());
    // A transfer that breaks off: the proxy forwards 1 MB of the server's answers, then closes.
    let web_proxy = common::cutting_proxy(orthanc.http_port, 1 << 20);
    let dimse_proxy = common::cutting_proxy(orthanc.dicom_port, 1 << 20);
    for url in [format!("http://127.0.0.1:{web_proxy}/dicom-web"), format!("dicom://ORTHANC@127.0.0.1:{dimse_proxy}")] {
        let out = tempfile::tempdir().unwrap();
        let e = pull(client(&url, 10).as_mut(), &study.study_uid, out.path(), &Which::Series(vec![study.hips_uid.clone()])).unwrap_err();
        assert!(matches!(e, Error::Incomplete { got, expected: 112, .. } if got < 112), "{url}: {e}");
        eprintln!("{url}: {e}");
        assert_nothing_kept(out.path());
    }
}

/// A minimal one-page PDF (the case's report until the PDF report lands; encapsulation does not
/// depend on how the PDF was made).
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

fn write_png(path: &std::path::Path, w: u32, h: u32, seed: u8) {
    let f = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(f), w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut wr = enc.write_header().unwrap();
    let data: Vec<u8> = (0..w * h).flat_map(|i| [(i % w) as u8 ^ seed, (i / w) as u8, seed, 255]).collect();
    wr.write_image_data(&data).unwrap();
}

/// A case folder as the pipeline writes it, on the hips series' grid: TotalSegmentator's label map
/// of the same CT (bones and muscles), a plan.json with the fields the SR reads, a PDF report and
/// two pictures.
fn make_case(data: &std::path::Path, dir: &std::path::Path) -> serde_json::Value {
    std::fs::create_dir_all(dir.join("anatomy")).unwrap();
    std::fs::create_dir_all(dir.join("pictures")).unwrap();
    std::fs::copy(data.join("totalseg/example_seg_fast_force_split.nii.gz"), dir.join("anatomy/labels.nii.gz")).unwrap();
    // A whole plan.json as `coxa plan` writes it (coxa_core::PlanRecord); the SR reads the cup,
    // head, stem, leg length, offset and motions.
    let angles = serde_json::json!({ "radiographic": { "inclination_deg": 37.5, "anteversion_deg": 22.5 },
                                     "operative": { "inclination_deg": 34.22, "anteversion_deg": 27.57 },
                                     "anatomic": { "inclination_deg": 42.86, "anteversion_deg": 34.23 } });
    let objective = serde_json::json!({ "total": 1.0, "rom_term_deg": 0.0, "rom_min_margin_deg": 5.0, "rom_mean_margin_deg": 10.0, "rom_worst_motion": "flexion",
        "leg_length_error_mm": 0.0, "offset_error_mm": 0.14, "coverage": 0.9779, "safe_zone_excess_deg": 0.0, "combined_anteversion_deg": 31.76, "combined_target_distance_deg": 5.0,
        "penalties": { "leg_length": 0.0, "offset": 0.0, "coverage": 0.0, "safe_zone": 0.0, "combined_target": 0.0 } });
    let motion = |name: &str, posture: &str, limit: f64| {
        serde_json::json!({ "name": name, "posture": posture, "limit_deg": limit, "contact": "none", "parts": null,
        "contact_point_lps_mm": null, "start_in_contact": false, "pelvic_tilt_deg": 0.0, "required_deg": null, "margin_deg": null })
    };
    let plan = serde_json::json!({
        "coxa_version": "0.1.0",
        "side": "right",
        "conventions": { "lps": "", "pelvic_frame": "", "cup_angles": "", "functional_angles": "", "joint_angles": "", "leg_length_offset": "" },
        "cup": { "outer_diameter_mm": 56.0, "last_reamer_mm": 55.0, "coverage": 0.9779, "catalog": null, "acetabular_diameter_mm": 50.0, "size_rule": "",
                 "socket": { "measured_diameter_mm": 50.0, "head_diameter_mm": null, "joint_space_mm": null, "joint_space_resolved": false, "sizing_diameter_mm": 50.0,
                             "source": "measured", "rim_diameter_mm": 50.0, "rim_ap_diameter_mm": null, "lunate_vertices": 100, "fossa_vertices": 10 },
                 "size_options": [], "radiographic_inclination_deg": 37.5, "radiographic_anteversion_deg": 22.5,
                 "angles_deg": angles, "functional_standing_deg": angles, "functional_sitting_deg": null,
                 "centre_lps_mm": [0.0, 0.0, 0.0], "centre_pelvic_mm": [0.0, 0.0, 0.0], "native_centre_lps_mm": [0.0, 0.0, 0.0],
                 "axis_lps": [0.0, 0.0, 1.0], "axis_pelvic": [0.0, 0.0, 1.0], "medialisation_mm": 0.0, "medial_wall_mm": 3.0, "reference_coverage_40_15": 0.9 },
        "liner": { "catalog": "neutral", "geometry": "hemispherical" },
        "head": { "diameter_mm": 40.0, "neck_length_offset_mm": -3.5, "catalog": null, "centre_lps_mm": [0.0, 0.0, 0.0], "centre_on_femur_lps_mm": [0.0, 0.0, 0.0] },
        "stem": { "size": "8", "catalog": "taper-wedge stem, reduced offset", "anteversion_deg": 13.23, "offset_mm": 42.0, "ccd_deg": 135.0,
                  "native_femoral_anteversion_deg": 12.0, "native_femoral_anteversion_source": "measured", "seat_mm": 0.0,
                  "canal": { "proximal_outer_mm": 30.0, "distal_outer_mm": null, "proximal_canal_mm": 20.0, "distal_canal_mm": null, "distal_level_mm": null, "levels": "" },
                  "sizing": { "canal_source": "ct_cortical_bone", "canal_ml_mm_by_height_above_lt": [], "head_above_lesser_trochanter_mm": 60.0, "rule": null, "notes": [], "sizes_by_series": [] },
                  "size_options": [] },
        "combined_anteversion_deg": 31.76, "leg_length_change_mm": 0.0, "offset_change_mm": 0.14, "anterior_change_mm": 0.0,
        "targets": { "leg_length_change_mm": 0.0, "offset_change_mm": 0.0, "from": "the other hip" },
        "pelvic_tilt_deg": { "standing": 0.0, "sitting": 20.0 },
        "motions": [ motion("flexion", "standing", 120.1), motion("ir_at_90_flexion", "sitting", 41.5) ],
        "objective": objective,
        "pareto": [],
        "search": { "evaluated": 10, "failed": 0, "motions": [], "grid_step_deg": 2.5, "refine_step_deg": 0.5, "inclination_range_deg": [30.0, 55.0],
                    "anteversion_range_deg": [0.0, 35.0], "stem_anteversion_range_deg": null },
        "notes": []
    });
    serde_json::from_value::<coxa_core::PlanRecord>(plan.clone()).expect("the fixture is a whole plan.json");
    std::fs::write(dir.join("plan.json"), serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
    std::fs::write(dir.join("report.pdf"), PDF).unwrap();
    write_png(&dir.join("pictures/hip_ap.png"), 64, 48, 7);
    write_png(&dir.join("pictures/pelvis_ap.png"), 33, 20, 99);
    plan
}

fn python() -> Option<PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().find(|a| a.join("Cargo.lock").is_file()).unwrap();
    let p = root.join(".venv/bin/python");
    let ok = p.is_file() && std::process::Command::new(&p).args(["-c", "import highdicom, pydicom, nibabel, PIL"]).status().is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var("CI").is_err(), "CI: .venv with highdicom missing (scripts/setup)");
        eprintln!("note: .venv with highdicom missing; peer check skipped");
    }
    ok.then_some(p)
}

/// Results pushed into the source study over DICOMweb, then again over DIMSE: accepted, listed in
/// the study, read back equal and valid for highdicom/pydicom (and dciodvfy), the source
/// patient's identity carried, and no duplicate on the second push.
#[test]
fn push_results_into_the_study_and_read_them_back() {
    let Some((orthanc, study)) = setup() else { return };
    let data = common::data_dir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut web = client(&orthanc.web(), 30);
    let pulled = pull(web.as_mut(), &study.study_uid, &work.path().join("pulled"), &Which::Series(vec![study.hips_uid.clone()])).unwrap();
    let source_dir = pulled[0].dir.clone();
    let case = work.path().join("case");
    let plan = make_case(&data, &case);

    let source = coxa_pacs::results::Source::read(&source_dir).unwrap();
    let objects = coxa_pacs::case::build_case(&case, &source).unwrap();
    let kinds: Vec<_> = objects.objects.iter().map(|o| o.kind).collect();
    use coxa_pacs::results::Kind;
    assert_eq!(kinds, vec![Kind::Seg, Kind::Sr, Kind::Pdf, Kind::Sc, Kind::Sc], "{:?}", objects.notes);
    // Built again: the same UIDs (stable).
    let again = coxa_pacs::case::build_case(&case, &source).unwrap();
    for (a, b) in objects.objects.iter().zip(&again.objects) {
        assert_eq!((&a.sop_instance, &a.series_uid), (&b.sop_instance, &b.series_uid));
    }
    let before = orthanc.n_instances();
    let t = std::time::Instant::now();
    let report = coxa_pacs::results::push(web.as_mut(), &objects).unwrap();
    eprintln!("pushed {} objects ({} bytes) over STOW-RS in {:.2} s", report.sent, objects.objects.iter().map(|o| o.bytes.len()).sum::<usize>(), t.elapsed().as_secs_f64());
    assert_eq!((report.sent, report.stored), (5, 5), "{report:?}");
    assert_eq!(orthanc.n_instances(), before + 5);
    let series = web.find_series(&study.study_uid).unwrap();
    let mut modalities: Vec<&str> = series.iter().map(|s| s.modality.as_str()).collect();
    modalities.sort();
    assert_eq!(modalities, vec!["CT", "CT", "DOC", "OT", "SEG", "SR"]);
    // The second push (DIMSE this time, then DICOMweb again) duplicates nothing.
    let mut dimse = client(&orthanc.dimse(), 30);
    let r2 = coxa_pacs::results::push(dimse.as_mut(), &objects).unwrap();
    assert_eq!(r2.sent, 5);
    coxa_pacs::results::push(web.as_mut(), &again).unwrap();
    assert_eq!(orthanc.n_instances(), before + 5, "a second push must not duplicate");
    assert_eq!(web.find_series(&study.study_uid).unwrap().len(), 6);

    // Read back from Orthanc over DIMSE (C-GET) and check with the peers.
    let back = work.path().join("back");
    std::fs::create_dir_all(&back).unwrap();
    let mut n = 0;
    for s in series.iter().filter(|s| s.modality != "CT") {
        dimse
            .retrieve_series(&study.study_uid, &s.series_uid, &mut |f| {
                n += 1;
                std::fs::write(back.join(format!("{n}.dcm")), f).unwrap();
                Ok(())
            })
            .unwrap();
    }
    assert_eq!(n, 5);
    // The same content as pushed, element for element.
    let parse = |f: &[u8]| dicom_object::from_reader(&f[128..]).unwrap().into_inner();
    for o in &objects.objects {
        let got = (1..=5)
            .map(|i| std::fs::read(back.join(format!("{i}.dcm"))).unwrap())
            .map(|f| parse(&f))
            .find(|g| g.element(dicom_dictionary_std::tags::SOP_INSTANCE_UID).unwrap().to_str().unwrap().trim_end_matches('\0') == o.sop_instance)
            .expect("each pushed object comes back");
        let sent = parse(&o.bytes);
        for e in sent.iter() {
            let g = got.element(e.tag()).unwrap_or_else(|_| panic!("{:?} {} missing when read back", o.kind, e.tag()));
            assert_eq!(g.value().to_bytes().ok(), e.value().to_bytes().ok(), "{:?} {} read back equal", o.kind, e.tag());
        }
    }
    let Some(py) = python() else { return };
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/validate_results.py");
    let out = std::process::Command::new(py)
        .arg(script)
        .args([back.as_path(), source_dir.as_path(), &case.join("anatomy/labels.nii.gz"), &case.join("plan.json"), &case.join("report.pdf"), &case.join("pictures")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&v).unwrap());
    // Identity: the source patient's, in every object.
    for id in v["identity"].as_array().unwrap() {
        assert_eq!(id["patient_name"], common::PATIENT_NAME);
        assert_eq!(id["patient_id"], PATIENT_ID);
        assert_eq!(id["study_uid"], study.study_uid.as_str());
        assert_eq!(id["accession"], ACCESSION);
    }
    assert_eq!(v["references_ok"], true, "every object references the source series' images only");
    // SEG: the label map's classes, slice by slice.
    let seg = &v["seg"];
    let labels = &seg["per_slice_labels"];
    for s in seg["segments"].as_array().unwrap() {
        let label = s["label"].as_str().unwrap();
        let id = (25u16..100).find(|&i| coxa_pacs::results::coded_label(i).is_some_and(|c| c.0 == label)).unwrap();
        assert_eq!(s["per_slice"], labels[id.to_string()], "{label}: SEG mask per slice equals the label map");
        assert_eq!(s["code"], coxa_pacs::results::coded_label(id).unwrap().1);
    }
    let coded_present: Vec<&str> = labels.as_object().unwrap().keys().filter(|k| coxa_pacs::results::coded_label(k.parse().unwrap()).is_some()).map(String::as_str).collect();
    assert_eq!(seg["n_segments"].as_u64().unwrap() as usize, coded_present.len());
    assert!(seg["segments"].as_array().unwrap().iter().any(|s| s["label"] == "gluteus_medius_left"), "muscles are in the SEG");
    // SR: TID 1500 as highdicom reads it, values as the plan.
    let sr = &v["sr"];
    assert_eq!(sr["template"], "1500");
    assert_eq!(sr["n_groups"], 1);
    let ms = sr["measurements"].as_array().unwrap();
    let find = |code: &str| ms.iter().find(|m| m["code"] == code).unwrap_or_else(|| panic!("{code} in {ms:?}"))["value"].as_f64().unwrap();
    assert_eq!(find("cup-od"), plan["cup"]["outer_diameter_mm"].as_f64().unwrap());
    assert_eq!(find("cup-inc-rad"), 37.5);
    assert_eq!(find("cup-av-ope"), 27.57);
    assert_eq!(find("head-d"), 40.0);
    assert_eq!(find("leg-length"), 0.0);
    assert_eq!(find("offset"), 0.14);
    assert_eq!(find("rom-01"), 120.1);
    assert_eq!(find("rom-02"), 41.5);
    assert_eq!(v["pdf"]["equal"], true);
    let sc = v["sc"].as_array().unwrap();
    assert_eq!(sc.len(), 2);
    assert!(sc.iter().all(|s| s["equal"] == true), "{sc:?}");
    // dciodvfy (Debian dicom3tools): no IOD errors.
    for (name, r) in v["dciodvfy"].as_object().unwrap() {
        eprintln!("dciodvfy {name}: {} errors, {} warnings {:?}", r["errors"].as_array().unwrap().len(), r["warnings"].as_array().unwrap().len(), r["warnings"]);
    }
    for (name, r) in v["dciodvfy"].as_object().unwrap() {
        assert!(r["errors"].as_array().unwrap().is_empty(), "dciodvfy {name}: {:?}", r["errors"]);
    }
}
