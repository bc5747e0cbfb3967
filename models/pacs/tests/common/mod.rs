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
    /// The test's own HTTP client (trusting the test CA when Orthanc is reached over https).
    agent: ureq::Agent,
    /// stunnel terminating https in front of Orthanc's HTTP port, and its port.
    tls: Option<(Child, u16)>,
    token: Option<String>,
}

/// How to start Orthanc beyond the defaults.
#[derive(Default)]
pub struct Setup {
    /// Configuration keys added to (or replacing) the defaults.
    pub config: serde_json::Map<String, serde_json::Value>,
    /// HTTPS: the server's certificate and key (one PEM file), and the CA certificate that
    /// signed it (which the test's own requests trust). Debian's Orthanc 1.10.1 cannot serve
    /// https itself (its civetweb 1.15 crashes on the first TLS connection: a jump to address 0),
    /// so stunnel (Debian `stunnel4`, OpenSSL) terminates TLS in front of its HTTP port, the way
    /// many hospitals put Orthanc behind a TLS reverse proxy.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// A bearer token every HTTP request must carry: an Orthanc Lua filter refuses (403) the rest.
    pub token: Option<String>,
}

impl Orthanc {
    /// Starts Orthanc; `None` when it is not installed (outside CI).
    pub fn start() -> Option<Orthanc> {
        Self::start_with(Setup::default())
    }

    /// Starts Orthanc with `setup`; `None` when it is not installed (outside CI).
    pub fn start_with(setup: Setup) -> Option<Orthanc> {
        let bin = orthanc_bin()?;
        let dir = tempfile::tempdir().unwrap();
        let (http_port, dicom_port) = (free_port(), free_port());
        let plugin =
            ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so", "/usr/lib/orthanc/libOrthancDicomWeb.so.1.7"].into_iter().find(|p| Path::new(p).exists()).expect("orthanc-dicomweb is installed");
        let mut config = serde_json::json!({
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
        let mut agent_config = ureq::Agent::config_builder().http_status_as_error(false);
        let mut tls = None;
        if let Some((server_pem, ca_pem)) = &setup.tls {
            let ca = ureq::tls::Certificate::from_pem(&std::fs::read(ca_pem).unwrap()).unwrap().to_owned();
            agent_config = agent_config.tls_config(ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::new_with_certs(&[ca])).build());
            let https_port = free_port();
            let conf = dir.path().join("stunnel.conf");
            std::fs::write(&conf, format!("foreground = yes\npid =\n[https]\naccept = 127.0.0.1:{https_port}\nconnect = 127.0.0.1:{http_port}\ncert = {}\n", server_pem.display())).unwrap();
            let log = std::fs::File::create(dir.path().join("stunnel.log")).unwrap();
            let child = Command::new("stunnel").arg(&conf).stdout(Stdio::from(log.try_clone().unwrap())).stderr(Stdio::from(log)).spawn().expect("stunnel is installed (scripts/setup)");
            tls = Some((child, https_port));
        }
        if let Some(token) = &setup.token {
            let lua = dir.path().join("token.lua");
            std::fs::write(&lua, format!("function IncomingHttpRequestFilter(method, uri, ip, username, httpHeaders)\n  return httpHeaders['authorization'] == 'Bearer {token}'\nend\n")).unwrap();
            config["LuaScripts"] = serde_json::json!([lua]);
        }
        for (k, v) in setup.config {
            config[k] = v;
        }
        let cfg = dir.path().join("orthanc.json");
        std::fs::write(&cfg, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let log = std::fs::File::create(dir.path().join("orthanc.log")).unwrap();
        let child = Command::new(bin).arg(&cfg).stdout(Stdio::from(log.try_clone().unwrap())).stderr(Stdio::from(log)).spawn().expect("Orthanc starts");
        let o = Orthanc { child, dir, http_port, dicom_port, aet: "ORTHANC".into(), agent: agent_config.build().into(), tls, token: setup.token };
        let start = Instant::now();
        loop {
            if o.request("/system").call().is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "Orthanc did not start: {}{}", o.log(), std::fs::read_to_string(o.dir.path().join("stunnel.log")).unwrap_or_default());
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(o)
    }

    /// A GET of Orthanc's REST API (with the token when there is one).
    fn request(&self, path: &str) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        let r = self.agent.get(&format!("{}{path}", self.rest()));
        match &self.token {
            Some(t) => r.header("Authorization", &format!("Bearer {t}")),
            None => r,
        }
    }

    pub fn rest(&self) -> String {
        match &self.tls {
            Some((_, port)) => format!("https://127.0.0.1:{port}"),
            None => format!("http://127.0.0.1:{}", self.http_port),
        }
    }
    pub fn web(&self) -> String {
        format!("{}/dicom-web", self.rest())
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
            let mut r = self.agent.post(&format!("{}/instances", self.rest())).header("Content-Type", "application/dicom");
            if let Some(t) = &self.token {
                r = r.header("Authorization", &format!("Bearer {t}"));
            }
            let r = r.send(&bytes[..]).unwrap();
            assert_eq!(r.status(), 200, "upload {}", f.display());
        }
    }

    /// GET a REST resource as JSON.
    pub fn get(&self, path: &str) -> serde_json::Value {
        let mut r = self.request(path).call().unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        serde_json::from_slice(&r.body_mut().read_to_vec().unwrap()).unwrap()
    }

    /// The instances Orthanc holds (Orthanc ids).
    pub fn n_instances(&self) -> usize {
        self.get("/instances").as_array().unwrap().len()
    }

    /// The Orthanc id of a study, by its StudyInstanceUID.
    fn study_id(&self, study_uid: &str) -> String {
        let ids = self.get("/studies");
        let found = ids.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).find(|id| self.get(&format!("/studies/{id}"))["MainDicomTags"]["StudyInstanceUID"] == study_uid);
        found.unwrap_or_else(|| panic!("study {study_uid} is not on Orthanc"))
    }

    /// The modalities of the series of a study (Orthanc's REST API, sorted).
    pub fn study_modalities(&self, study_uid: &str) -> Vec<String> {
        let series = self.get(&format!("/studies/{}/series", self.study_id(study_uid)));
        let mut out: Vec<String> = series.as_array().unwrap().iter().map(|s| s["MainDicomTags"]["Modality"].as_str().unwrap_or("").to_string()).collect();
        out.sort();
        out
    }

    /// The SOPInstanceUIDs of a study (Orthanc's REST API).
    pub fn study_instances(&self, study_uid: &str) -> std::collections::BTreeSet<String> {
        let instances = self.get(&format!("/studies/{}/instances", self.study_id(study_uid)));
        instances.as_array().unwrap().iter().map(|i| i["MainDicomTags"]["SOPInstanceUID"].as_str().unwrap().to_string()).collect()
    }
}

/// Makes a test CA and a server certificate for 127.0.0.1 signed by it, with the `openssl`
/// command: returns (the server's certificate and key in one PEM, as Orthanc wants it, the CA's
/// certificate PEM). `name` tells two CAs apart.
pub fn make_certificates(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed (scripts/setup)");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let f = |s: &str| format!("{name}-{s}");
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    let (ca_key, ca_pem, subj) = (f("ca.key"), f("ca.pem"), format!("/CN=coxa test CA {name}"));
    ca.extend(["-keyout", &ca_key, "-out", &ca_pem, "-days", "2", "-subj", &subj, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    run(&ca);
    let (key, csr, crt) = (f("server.key"), f("server.csr"), f("server.crt"));
    let mut req = vec!["req"];
    req.extend(ec);
    req.extend(["-keyout", &key, "-out", &csr, "-subj", "/CN=127.0.0.1"]);
    run(&req);
    let ext = f("ext.cnf");
    std::fs::write(dir.join(&ext), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n").unwrap();
    run(&["x509", "-req", "-in", &csr, "-CA", &ca_pem, "-CAkey", &ca_key, "-CAcreateserial", "-out", &crt, "-days", "2", "-extfile", &ext]);
    let both = dir.join(f("server.pem"));
    let mut pem = std::fs::read(dir.join(&crt)).unwrap();
    pem.extend(std::fs::read(dir.join(&key)).unwrap());
    std::fs::write(&both, pem).unwrap();
    (both, dir.join(ca_pem))
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        if let Some((stunnel, _)) = &mut self.tls {
            let _ = stunnel.kill();
            let _ = stunnel.wait();
        }
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
