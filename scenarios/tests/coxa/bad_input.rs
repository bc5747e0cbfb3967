//! Issue 45, bad input second round: what the corpus of broken inputs (`corpus.rs`, exit 2 and
//! one line) cannot say because the command succeeds: a note that must reach the terminal.

use std::process::{Command, Output};

fn coxa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coxa")).args(args).env("COXA_LOG", "warn").output().expect("coxa runs")
}

/// `coxa rom --cup-inclination-deg 0 --cup-anteversion-deg 90` printed seven motions at 0.0 deg
/// with no note while its JSON said `start_in_contact`; the terminal now says it per motion and
/// in a warning line, and the motions the JSON marks are exactly those the text marks.
#[test]
fn issue_45_rom_prints_what_its_json_says() {
    let args = ["rom", "--cup-inclination-deg", "0", "--cup-anteversion-deg", "90"];
    let o = coxa(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let json = coxa(&[&args[..], &["--json"]].concat());
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let motions = v["motions"].as_array().unwrap();
    let at_start: Vec<&str> = motions.iter().filter(|m| m["start_in_contact"] == true).map(|m| m["name"].as_str().unwrap()).collect();
    assert!(!at_start.is_empty(), "these angles put the implants in contact at the start: {v}");
    let marked: Vec<&str> = text.lines().filter(|l| l.contains("in contact at the start posture")).map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(marked, at_start, "{text}");
    let warning = format!("warning    {} of {} motions start in contact", at_start.len(), motions.len());
    assert!(text.contains(&warning), "{text}");
    // Default angles: no motion starts in contact, no warning.
    let o = coxa(&["rom"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && !text.contains("start in contact") && !text.contains("start posture"), "{text}");
}

/// Issue 61: `coxa inspect` of an MR file labelled its statistics "HU"; the unit now comes from
/// the modality (a CT's values are HU, an MR's have none), on the terminal and in the JSON.
#[test]
fn issue_61_inspect_names_the_unit_of_the_values_by_modality() {
    let files = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/files");
    let mr = files.join("dicom_modality_mr.dcm");
    let o = coxa(&["inspect", mr.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!text.lines().any(|l| l.starts_with("HU")) && text.contains("(MR intensities: no unit, not HU)"), "{text}");
    let json: serde_json::Value = serde_json::from_slice(&coxa(&["inspect", mr.to_str().unwrap(), "--json"]).stdout).unwrap();
    assert_eq!((json["modality"].as_str(), json["value_unit"].is_null()), (Some("MR"), true), "{json}");
    let ct = files.join("ct_small.nii.gz");
    let o = coxa(&["inspect", ct.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.lines().any(|l| l.starts_with("HU         min")), "{text}");
}

/// Every file and folder under `root` with its bytes (a link: its target), to compare a folder
/// byte for byte before and after a command.
fn tree(root: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let (p, t) = (e.path(), e.file_type().unwrap());
            let bytes = if t.is_symlink() {
                std::fs::read_link(&p).unwrap().into_os_string().into_encoded_bytes()
            } else if t.is_dir() {
                todo.push(p.clone());
                b"<dir>".to_vec()
            } else {
                std::fs::read(&p).unwrap()
            };
            out.insert(p.strip_prefix(root).unwrap().to_path_buf(), bytes);
        }
    }
    out
}

/// Issue 61: coxa removed `cases/.NAME.partial` of a scenario run (and, before, `coxa plan`'s
/// `.X.partial`) whatever it held. A user's folder, file or link there, or a folder carrying
/// coxa's mark of another result, is refused with one line naming it, exit 2, and the whole
/// folder is byte for byte as it was (a killed run's own marked leftover is still cleared:
/// robust.rs `killed_and_damaged_runs_never_trust_a_partial_result`).
#[test]
fn issue_61_a_users_folder_at_a_scratch_path_is_refused_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(root.join("s.toml"), "schema_version = 1\n[[cases]]\nname = \"demo\"\nphantom = true\n").unwrap();
    type Plant = fn(&std::path::Path);
    let plants: [(&str, Plant); 4] = [
        ("a folder of the user's", |p| {
            std::fs::create_dir_all(p.join("sub")).unwrap();
            std::fs::write(p.join("notes.txt"), b"my notes").unwrap();
            std::fs::write(p.join("sub/data.bin"), [0u8, 1, 2, 255]).unwrap();
        }),
        ("a file of the user's", |p| std::fs::write(p, b"a file, not a folder").unwrap()),
        ("a link of the user's (dangling)", |p| std::os::unix::fs::symlink(p.parent().unwrap().parent().unwrap().join("kept"), p).unwrap()),
        ("coxa's mark of another result", |p| {
            std::fs::create_dir_all(p).unwrap();
            std::fs::write(p.join(coxa_io::scratch::UNFINISHED_MARK), b"coxa: the unfinished result other; removed when it finishes or when its command runs again\n").unwrap();
            std::fs::write(p.join("plan.json"), b"{}").unwrap();
        }),
    ];
    std::fs::create_dir_all(root.join("kept")).unwrap();
    std::fs::write(root.join("kept/x.txt"), b"keep me").unwrap();
    for (n, (what, plant)) in plants.iter().enumerate() {
        // `coxa run`: the results folder's cases/.demo.partial.
        let out = root.join(format!("run{n}"));
        let partial = out.join("cases/.demo.partial");
        std::fs::create_dir_all(out.join("cases")).unwrap();
        plant(&partial);
        // `coxa plan --out P`: .P.partial beside P.
        let plan_out = root.join(format!("plan{n}"));
        let plan_partial = root.join(format!(".plan{n}.partial"));
        plant(&plan_partial);
        for (args, at) in
            [(vec!["run", "s.toml", "--out", out.to_str().unwrap()], &partial), (vec!["plan", "--side", "right", "--grid-step-deg", "5", "--out", plan_out.to_str().unwrap()], &plan_partial)]
        {
            let before = tree(root);
            let o = Command::new(env!("CARGO_BIN_EXE_coxa")).args(&args).current_dir(root).env("COXA_LOG", "warn").output().unwrap();
            let stderr = String::from_utf8_lossy(&o.stderr);
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(o.status.code(), Some(2), "{what}, coxa {args:?}: {stderr}");
            let line = format!("{} exists and is not coxa's unfinished", at.display());
            assert!(lines.len() == 1 && lines[0].contains(&line) && lines[0].contains("never removes"), "{what}, coxa {args:?}: {stderr}");
            assert_eq!(tree(root), before, "{what}, coxa {args:?}: the folder changed");
        }
    }
}

/// Issue 61: `coxa pacs push` took the side from a plan.json edited after the case finished
/// (the DICOM report said "left hip" for a right-hip case). Records are checked against the
/// case's manifest before use: the edited case is refused with one line naming plan.json and
/// its SHA-256, exit 2, nothing sent or changed; the case as coxa wrote it passes the check.
#[test]
fn issue_61_an_edited_plan_json_is_refused_by_pacs_push() {
    let Some(dir) = crate::common::shared_data("vsd_bones") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    let (hip, femur) = (format!("hip_right={}", dir.join("z013_Hip_R.stl").display()), format!("femur_right={}", dir.join("z013_Femur_R.stl").display()));
    let o = coxa(&["plan", "--side", "right", "--grid-step-deg", "5", "--out", case.to_str().unwrap(), "--mesh", &hip, "--mesh", &femur]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Unedited: the check passes (the push then stops at the missing DICOM source, not a record).
    let push = ["pacs", "push", "--server", "http://127.0.0.1:9/dicom-web", case.to_str().unwrap(), "--dry-run"];
    let o = coxa(&push);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!stderr.contains("SHA-256") && !stderr.contains("cannot be trusted"), "{stderr}");
    let plan = case.join("plan.json");
    let text = std::fs::read_to_string(&plan).unwrap();
    let edited = text.replacen("\"side\": \"right\"", "\"side\":  \"left\"", 1);
    assert_ne!(edited, text, "plan.json names its side: {text}");
    std::fs::write(&plan, &edited).unwrap();
    let before = tree(tmp.path());
    let o = coxa(&push);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    let named = format!("{} has changed since the case finished (SHA-256 differs)", plan.display());
    assert!(lines.len() == 1 && lines[0].contains(&named) && !stderr.contains("panicked"), "{stderr}");
    assert!(o.stdout.is_empty(), "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(tree(tmp.path()), before, "nothing changed");
}
