//! A real Orthanc (Debian `orthanc`, `orthanc-dicomweb`) started per test on 127.0.0.1 with a
//! throw-away configuration and storage, killed (by its own process handle) when dropped; and
//! the test study built from the real CTs in ../shared/data.
#![allow(dead_code, reason = "each test binary uses part of the fixture")]

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;

/// The real data folder, or `None` (with a note) outside CI when it is missing.
pub fn data_dir() -> Option<PathBuf> {
    // ../shared/data relative to the repository root (the folder with Cargo.lock).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().find(|a| a.join("Cargo.lock").is_file()).expect("inside the repository");
    let d = root.join("../shared/data");
    if d.join("totalseg_dicom_uidfixed").is_dir() && d.join("totalseg/example_ct.nii.gz").is_file() {
        return Some(d);
    }
    assert!(std::env::var("CI").is_err(), "CI: ../shared/data is missing (see README: test data)");
    eprintln!("note: ../shared/data missing; test skipped");
    None
}

/// The Orthanc binary, or `None` (with a note) outside CI when it is not installed.
pub fn orthanc_bin() -> Option<PathBuf> {
    for p in ["/usr/sbin/Orthanc", "/usr/bin/Orthanc"] {
        if Path::new(p).is_file() {
            return Some(PathBuf::from(p));
        }
    }
    assert!(std::env::var("CI").is_err(), "CI: Orthanc is not installed (scripts/setup installs it)");
    eprintln!("note: Orthanc not installed (apt-get install orthanc orthanc-dicomweb); test skipped");
    None
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running Orthanc.
pub struct Orthanc {
    child: Child,
    pub dir: tempfile::TempDir,
    pub http_port: u16,
    pub dicom_port: u16,
    pub aet: String,
}

impl Orthanc {
    /// Starts Orthanc; `None` when it is not installed (outside CI).
    pub fn start() -> Option<Orthanc> {
        let bin = orthanc_bin()?;
        let dir = tempfile::tempdir().unwrap();
        let (http_port, dicom_port) = (free_port(), free_port());
        let plugin =
            ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so", "/usr/lib/orthanc/libOrthancDicomWeb.so.1.7"].into_iter().find(|p| Path::new(p).exists()).expect("orthanc-dicomweb is installed");
        let config = serde_json::json!({
            "Name": "coxa-test",
            "StorageDirectory": dir.path().join("storage"),
            "IndexDirectory": dir.path().join("index"),
            "HttpPort": http_port,
            "DicomPort": dicom_port,
            "DicomAet": "ORTHANC",
            "DicomCheckCalledAet": true,
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": false,
            "HttpServerEnabled": true,
            "Plugins": [plugin],
            "DicomWeb": { "Enable": true, "Root": "/dicom-web/", "StudiesMetadata": "Full", "SeriesMetadata": "Full" },
            "DicomModalities": { "coxa": ["COXA", "127.0.0.1", 104] },
            "DicomAlwaysAllowEcho": true,
            "DicomAlwaysAllowStore": true,
            "DicomAlwaysAllowFind": true,
            "DicomAlwaysAllowGet": true,
            "UnknownSopClassAccepted": true,
            "StableAge": 1,
            "SaveJobs": false,
            "ConcurrentJobs": 1,
        });
        let cfg = dir.path().join("orthanc.json");
        std::fs::write(&cfg, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let log = std::fs::File::create(dir.path().join("orthanc.log")).unwrap();
        let child = Command::new(bin).arg(&cfg).stdout(Stdio::from(log.try_clone().unwrap())).stderr(Stdio::from(log)).spawn().expect("Orthanc starts");
        let o = Orthanc { child, dir, http_port, dicom_port, aet: "ORTHANC".into() };
        let start = Instant::now();
        loop {
            if ureq::get(&format!("{}/system", o.rest())).call().is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "Orthanc did not start: {}", o.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(o)
    }

    pub fn rest(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }
    pub fn web(&self) -> String {
        format!("http://127.0.0.1:{}/dicom-web", self.http_port)
    }
    pub fn dimse(&self) -> String {
        format!("dicom://{}@127.0.0.1:{}", self.aet, self.dicom_port)
    }
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("orthanc.log")).unwrap_or_default()
    }

    /// Uploads Part 10 files through Orthanc's own REST API (independent of coxa's clients).
    pub fn upload(&self, files: &[PathBuf]) {
        for f in files {
            let bytes = std::fs::read(f).unwrap();
            let r = ureq::post(&format!("{}/instances", self.rest())).header("Content-Type", "application/dicom").send(&bytes[..]).unwrap();
            assert_eq!(r.status(), 200, "upload {}", f.display());
        }
    }

    /// GET a REST resource as JSON.
    pub fn get(&self, path: &str) -> serde_json::Value {
        let mut r = ureq::get(&format!("{}{path}", self.rest())).call().unwrap();
        serde_json::from_slice(&r.body_mut().read_to_vec().unwrap()).unwrap()
    }

    /// The instances Orthanc holds (Orthanc ids).
    pub fn n_instances(&self) -> usize {
        self.get("/instances").as_array().unwrap().len()
    }
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test study: one patient, two CT series of one StudyInstanceUID, from the real data:
/// `thin`: the 20 JPEG 2000 slices of totalseg_dicom_uidfixed (2 mm apart, upper abdomen:
/// no hips), and `hips`: example_ct.nii.gz (3 mm, abdomen to proximal femurs) written as an
/// uncompressed series by coxa-io. Patient name and accession number are set so that
/// identity carry-over and PHI checks have something to find.
pub struct Study {
    pub dir: tempfile::TempDir,
    pub thin: PathBuf,
    pub hips: PathBuf,
    pub study_uid: String,
    pub thin_uid: String,
    pub hips_uid: String,
}

pub const PATIENT_NAME: &str = "Testpatient^Coxa";
pub const PATIENT_ID: &str = "TS_EXAMPLE";
pub const ACCESSION: &str = "ACC20221208";

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "dcm")).collect();
    v.sort();
    v
}

pub fn dcm_files(dir: &Path) -> Vec<PathBuf> {
    files(dir)
}

fn patch(path: &Path, study_uid: &str) {
    let mut obj = dicom_object::open_file(path).unwrap();
    obj.put(DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, PrimitiveValue::from(study_uid)));
    obj.put(DataElement::new(tags::PATIENT_NAME, VR::PN, PrimitiveValue::from(PATIENT_NAME)));
    obj.put(DataElement::new(tags::PATIENT_ID, VR::LO, PrimitiveValue::from(PATIENT_ID)));
    obj.put(DataElement::new(tags::ACCESSION_NUMBER, VR::SH, PrimitiveValue::from(ACCESSION)));
    obj.put(DataElement::new(tags::STUDY_DATE, VR::DA, PrimitiveValue::from("20221208")));
    obj.write_to_file(path).unwrap();
}

pub fn uid_of(path: &Path, tag: dicom_core::Tag) -> String {
    let obj = dicom_object::OpenFileOptions::new().read_until(tags::PIXEL_DATA).open_file(path).unwrap();
    obj.element(tag).unwrap().to_str().unwrap().trim_end_matches(['\0', ' ']).to_string()
}

impl Study {
    pub fn build(data: &Path) -> Study {
        let dir = tempfile::tempdir().unwrap();
        let thin = dir.path().join("thin");
        std::fs::create_dir_all(&thin).unwrap();
        for f in files(&data.join("totalseg_dicom_uidfixed")) {
            std::fs::copy(&f, thin.join(f.file_name().unwrap())).unwrap();
        }
        let study_uid = uid_of(&files(&thin)[0], tags::STUDY_INSTANCE_UID);
        for f in files(&thin) {
            patch(&f, &study_uid);
        }
        let hips = dir.path().join("hips");
        let vol = coxa_io::nifti::read_volume(&data.join("totalseg/example_ct.nii.gz")).unwrap();
        coxa_io::dicom::write_series(&vol, &hips, &coxa_io::dicom::WriteSeriesOptions::new().with_uid_seed(1208).with_description("hips")).unwrap();
        for f in files(&hips) {
            patch(&f, &study_uid);
        }
        let thin_uid = uid_of(&files(&thin)[0], tags::SERIES_INSTANCE_UID);
        let hips_uid = uid_of(&files(&hips)[0], tags::SERIES_INSTANCE_UID);
        Study { dir, thin, hips, study_uid, thin_uid, hips_uid }
    }

    pub fn all_files(&self) -> Vec<PathBuf> {
        let mut v = files(&self.thin);
        v.extend(files(&self.hips));
        v
    }
}

/// The PixelData bytes of a Part 10 file, by SOP Instance UID.
pub fn pixel_bytes(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut m = std::collections::BTreeMap::new();
    for f in files(dir) {
        let obj = dicom_object::open_file(&f).unwrap();
        let inst = obj.element(tags::SOP_INSTANCE_UID).unwrap().to_str().unwrap().trim_end_matches(['\0', ' ']).to_string();
        let px = obj.element(tags::PIXEL_DATA).unwrap();
        let bytes = match px.value() {
            dicom_core::DicomValue::PixelSequence(seq) => seq.fragments().iter().flat_map(|f| f.iter().copied()).collect(),
            v => v.to_bytes().unwrap().into_owned(),
        };
        m.insert(inst, bytes);
    }
    m
}

/// A TCP listener that accepts and never answers (a hung server).
pub fn silent_server() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// A TCP proxy to `target` that forwards the client's bytes, and the server's bytes only up to
/// `cut_after` of them, then closes both ends (a transfer that breaks off midway).
pub fn cutting_proxy(target: u16, cut_after: usize) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in l.incoming() {
            let Ok(mut client) = client else { return };
            let Ok(mut server) = std::net::TcpStream::connect(("127.0.0.1", target)) else { return };
            let mut c2 = client.try_clone().unwrap();
            let mut s2 = server.try_clone().unwrap();
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut s2);
            });
            std::thread::spawn(move || {
                use std::io::Write;
                let mut sent = 0usize;
                let mut buf = vec![0u8; 8192];
                loop {
                    let n = match server.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let take = n.min(cut_after - sent);
                    if client.write_all(&buf[..take]).is_err() {
                        break;
                    }
                    sent += take;
                    if sent >= cut_after {
                        break;
                    }
                }
                let _ = client.shutdown(std::net::Shutdown::Both);
                let _ = server.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    port
}
