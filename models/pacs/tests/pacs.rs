//! coxa-pacs against a live Orthanc started by each test (see `common`): find and pull over
//! DICOMweb and DIMSE, the network faults, and the results pushed back.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use coxa_pacs::pull::{Which, pull};
use coxa_pacs::{Address, ConnectOptions, Error, FindQuery, connect};

use common::{ACCESSION, Orthanc, PATIENT_ID, Study};

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
        let pulled = pull(c.as_mut(), &study.study_uid, out.path(), &Which::AllCt).unwrap();
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
