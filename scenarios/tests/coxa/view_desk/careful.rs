//! Issue 61: the desk as careful as the command line, through the binary. A control out of the
//! plan's ranges, an input of the case edited while the desk is open, a save that fails (its
//! hook, a plan that is not a plan record, an I/O error), a picture that cannot be written and a
//! script that never ends are each one line and exit status 2, the case byte for byte as it was;
//! a save killed (SIGKILL) at any of its steps leaves the old revision or the new one, whole.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::*;

/// Every file and folder under `root` (relative) with its bytes (folders: empty).
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
                out.insert(format!("{rel}/"), Vec::new());
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The lines of `err` that are coxa's error: every line without a window; with one, the
/// `error:` lines (the case's `note:` lines and the software renderer's own warning aside).
fn error_lines(err: &str, window: bool) -> Vec<&str> {
    err.lines().filter(|l| !l.trim().is_empty() && (!window || l.starts_with("error"))).collect()
}

/// Exit status 2 and one line holding `says`, no backtrace (`window`: see [`error_lines`]).
fn refused_in(out: &Output, says: &str, window: bool) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("{err}");
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines = error_lines(&err, window);
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].contains(says), "{} does not say {says}", lines[0]);
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    lines[0].to_string()
}

/// [`refused_in`] a run without a window: its whole error output is one line.
fn refused(out: &Output, says: &str) -> String {
    refused_in(out, says, false)
}

/// [`refused_in`] a run with a window.
fn refused_window(out: &Output, says: &str) -> String {
    refused_in(out, says, true)
}

/// `coxa view` with a script, its environment extended by `env`, started (not waited for) on an
/// X server of its own, in a process group of its own ([`ViewRun`]).
fn spawn_view(case: &Path, dir: &Path, name: &str, script: &str, env: &[(&str, &str)]) -> ViewRun {
    use std::os::unix::process::CommandExt;
    std::fs::write(dir.join(format!("{name}.txt")), script).unwrap();
    let x = display();
    let mut c = x.command(env!("CARGO_BIN_EXE_coxa"));
    c.args(["view", case.to_str().unwrap(), "--width", "1100", "--height", "720", "--script", &format!("{name}.txt")]).current_dir(dir).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    for (k, v) in env {
        c.env(k, v);
    }
    let child = c.spawn().expect("coxa view runs");
    let group = child.id();
    ViewRun { child: Some(child), group, _x: x }
}

/// A desk run of [`spawn_view`]: coxa (and whatever it starts, such as a save hook) in one process
/// group that is stopped when the run is dropped, then its X server.
struct ViewRun {
    child: Option<std::process::Child>,
    group: u32,
    _x: Display,
}

impl ViewRun {
    fn child(&mut self) -> &mut std::process::Child {
        self.child.as_mut().expect("the run's process")
    }

    /// Waits for the run and its output (the group is stopped after).
    fn output(mut self) -> Output {
        self.child.take().expect("the run's process").wait_with_output().expect("coxa view's output")
    }
}

impl Drop for ViewRun {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("kill").args(["-TERM", "--", &format!("-{}", self.group)]).stderr(Stdio::null()).status();
    }
}

#[test]
fn the_desk_refuses_what_the_command_line_refuses() -> Result<()> {
    let case = crate::cases::demo_phantom();
    let tmp = tempfile::tempdir()?;
    // The values: refused by `coxa rom` and by the desk's script, with the same range.
    for (flag, control, value, range) in [("--cup-inclination-deg", "cup_inclination_deg", "-90", "0..=90"), ("--cup-anteversion-deg", "cup_anteversion_deg", "-50", "-45..=90")] {
        let rom = coxa(&["rom", &format!("{flag}={value}")]);
        refused(&rom, &format!("{flag} = {value} is out of range {range}"));
        let file = tmp.path().join(format!("{control}.txt"));
        std::fs::write(&file, format!("set {control} {value}\nsave\nquit\n"))?;
        let t = Instant::now();
        let out = coxa(&["view", case.to_str().unwrap(), "--script", file.to_str().unwrap()]);
        refused(&out, &format!("{control}.txt:1: `set {control} {value}`: {control} {value} is out of range {range}"));
        assert!(t.elapsed() < Duration::from_secs(60));
    }
    // A script that never ends: bounded as every text input, at once.
    let t = Instant::now();
    let out = coxa(&["view", case.to_str().unwrap(), "--script", "/dev/zero"]);
    let line = refused(&out, "/dev/zero: cannot be read (the file goes on beyond the ");
    assert!(line.contains("a text input may have at most"), "{line}");
    eprintln!("--script /dev/zero: {:.1} s: {line}", t.elapsed().as_secs_f64());
    assert!(t.elapsed() < Duration::from_secs(60));
    if !have_xvfb() {
        return Ok(());
    }
    // A picture that cannot be written: an error naming it, not a wait.
    let copy = tmp.path().join("case");
    copy_case(case, &copy);
    let before = tree(&copy);
    let t = Instant::now();
    let out = view_script(&copy, tmp.path(), "shot", "screenshot no-such-folder/a.png\nquit\n");
    refused_window(&out, "shot.txt:1: the picture cannot be written to no-such-folder/a.png");
    eprintln!("unwritable screenshot refused in {:.1} s", t.elapsed().as_secs_f64());
    assert_eq!(tree(&copy), before);
    Ok(())
}

/// Edits `rel` of `case` once the desk shows it, then lets its save run: refused, naming the
/// file; the edit kept, nothing else changed.
fn edited_while_open(case: &Path, dir: &Path, rel: &str, edit: fn(&mut Vec<u8>)) {
    let marker = dir.join(format!("open-{}.png", rel.replace('/', "-")));
    let name = format!("edit-{}", rel.replace('/', "-"));
    let script = format!("screenshot {}\nset cup_inclination_deg 45\nsave\nquit\n", marker.file_name().unwrap().to_string_lossy());
    let mut run = spawn_view(case, dir, &name, &script, &[]);
    while !marker.is_file() {
        assert!(run.child().try_wait().unwrap().is_none(), "the viewer ended before its first picture");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut bytes = std::fs::read(case.join(rel)).unwrap();
    edit(&mut bytes);
    std::fs::write(case.join(rel), &bytes).unwrap();
    let before = tree(case);
    let out = run.output();
    let line = refused_window(&out, &format!("{name}.txt:3: {} changed on disk since the viewer opened the case; nothing was saved", case.join(rel).display()));
    eprintln!("{rel}: {line}");
    assert_eq!(tree(case), before, "the edit kept, nothing saved");
}

#[test]
fn save_refuses_when_any_input_the_manifest_lists_changed() -> Result<()> {
    if !have_xvfb() {
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    let case = tmp.path().join("case");
    copy_case(crate::cases::demo_phantom(), &case);
    let side = read_json(&case.join("report.json"))["side"].as_str().unwrap().to_string();
    let bone = format!("anatomy/meshes/hip_{side}.stl");
    let listed: Vec<String> = read_json(&case.join("manifest.json"))["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().to_string()).collect();
    for rel in [bone.as_str(), "inputs.json"] {
        assert!(listed.iter().any(|l| l == rel), "the manifest lists {rel}");
    }
    // A bone mesh with one byte changed (the same size, the same time would not do: hashes).
    edited_while_open(&case, tmp.path(), &bone, |b| {
        let k = b.len() - 1;
        b[k] ^= 1;
    });
    // Opened again, the case with the edited bone is refused before any window (issue 61: the
    // records checked against the manifest), nothing changed; the inputs.json edit on a fresh copy.
    let before = tree(&case);
    let quit = tmp.path().join("quit.txt");
    std::fs::write(&quit, "quit\n")?;
    let out = coxa(&["view", case.to_str().unwrap(), "--script", quit.to_str().unwrap()]);
    refused(&out, &format!("{} has changed since the case finished (SHA-256 differs)", case.join(&bone).display()));
    assert_eq!(tree(&case), before);
    let case = tmp.path().join("case-2");
    copy_case(crate::cases::demo_phantom(), &case);
    edited_while_open(&case, tmp.path(), "inputs.json", |b| b.extend_from_slice(b" "));
    Ok(())
}

#[test]
fn a_failed_save_leaves_the_case_byte_for_byte() -> Result<()> {
    if !have_xvfb() {
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    let parent = tmp.path().join("cases");
    let case = parent.join("case");
    copy_case(crate::cases::demo_phantom(), &case);
    let run = |name: &str, env: &[(&str, &str)]| spawn_view(&case, tmp.path(), name, "set cup_inclination_deg 45\nset cup_anteversion_deg 20\nsave\nquit\n", env).output();
    // An I/O error once everything is written, before the swap.
    let before = tree(&parent);
    let out = run("io", &[("COXA_TEST_SAVE_FAIL", "hooked")]);
    refused_window(&out, "io.txt:3: save: an I/O error at hooked (COXA_TEST_SAVE_FAIL); nothing was saved");
    assert_eq!(tree(&parent), before, "the case byte for byte as it was, nothing beside it");
    // Records edited before the desk opens the case are refused at once, before any window
    // (issue 61: the records checked as `pacs push` checks them; until then the desk opened the
    // case and its save failed): report.json is no case report (its hash is not the manifest's)...
    std::fs::write(case.join("report.json"), b"{\"not\": \"a report\"}")?;
    let before = tree(&parent);
    let out = run("hook", &[]);
    refused(&out, &format!("{} has 19 bytes, the manifest says", case.join("report.json").display()));
    assert_eq!(tree(&parent), before, "the case byte for byte as it was after the edited report was refused");
    std::fs::copy(crate::cases::demo_phantom().join("report.json"), case.join("report.json"))?;
    // ... and a plan.json that is not a plan record (its targets removed), the manifest written
    // again to match it: its schema refuses it.
    let mut plan = read_json(&case.join("plan.json"));
    plan.as_object_mut().unwrap().remove("targets");
    std::fs::write(case.join("plan.json"), serde_json::to_vec_pretty(&plan)?)?;
    std::fs::remove_file(case.join("manifest.json"))?;
    coxa_case::manifest::write(&case)?;
    let before = tree(&parent);
    let out = run("schema", &[]);
    refused(&out, "plan.json is not a plan record of this coxa (plan.schema.json): missing field `targets`");
    assert_eq!(tree(&parent), before, "the case byte for byte as it was after a schema-invalid plan");
    Ok(())
}

/// What a whole case holds of its revision: plan.json's revision number, and the manifest, the
/// report and the implants agreeing with it.
fn whole_revision(case: &Path, implants_of: &BTreeMap<u64, BTreeMap<String, Vec<u8>>>) -> u64 {
    coxa_case::manifest::verify(case).unwrap_or_else(|e| panic!("the manifest's hashes: {e:#}"));
    let plan = read_json(&case.join("plan.json"));
    let n = plan["revision"]["number"].as_u64().unwrap_or(0);
    assert_eq!(read_json(&case.join("report.json"))["revision"].as_u64().unwrap_or(0), n, "report.json's revision is plan.json's");
    assert_eq!(&tree(&case.join("implants")), &implants_of[&n], "the implants are revision {n}'s");
    assert_eq!(case.join("plans/automatic.json").is_file(), n > 0, "the automatic plan kept for a revision only");
    n
}

/// Issue 61: a desk save killed (SIGKILL) at each of its steps leaves either the old revision or
/// the new one whole (plan.json, report, implants and the manifest's hashes agreeing), and the
/// next save clears what the killed one left beside the case.
#[test]
fn a_save_killed_at_any_step_leaves_the_old_case_or_the_new_one_whole() -> Result<()> {
    if !have_xvfb() {
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    let script = "set cup_inclination_deg 45\nsave\nquit\n";
    // The two revisions' implants: the automatic plan's, and revision 1's from a save left alone.
    let reference = tmp.path().join("reference/case");
    copy_case(crate::cases::demo_phantom(), &reference);
    let mut implants_of = BTreeMap::new();
    implants_of.insert(0, tree(&reference.join("implants")));
    ok(&spawn_view(&reference, tmp.path(), "reference", script, &[]).output());
    implants_of.insert(1, tree(&reference.join("implants")));
    assert_ne!(implants_of[&0], implants_of[&1], "the revision moved the cup");
    assert_eq!(whole_revision(&reference, &implants_of), 1);
    for (k, point) in ["marked", "mirrored", "written", "hooked", "exchanged", "removed"].into_iter().enumerate() {
        let parent = tmp.path().join(point);
        let case = parent.join("case");
        copy_case(crate::cases::demo_phantom(), &case);
        let mut run = spawn_view(&case, tmp.path(), point, script, &[("COXA_TEST_SAVE_PAUSE", point)]);
        let stderr = run.child().stderr.take().unwrap();
        let mut pid = None;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(&format!("save paused at {point} (pid ")) {
                pid = rest.strip_suffix(')').map(str::to_string);
                break;
            }
        }
        let pid = pid.unwrap_or_else(|| panic!("the save never reached {point}"));
        let killed = Command::new("kill").args(["-KILL", &pid]).status();
        run.child().wait()?;
        drop(run);
        assert!(killed?.success(), "kill -KILL {pid}");
        let n = whole_revision(&case, &implants_of);
        let left: Vec<String> = std::fs::read_dir(&parent)?.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n != "case").collect();
        eprintln!("killed at {point}: the case is revision {n}, beside it {left:?}");
        assert_eq!(n, u64::from(k >= 4), "killed at {point}: the swap is the one step that makes the revision");
        // The next save clears the leftovers (coxa's marker, its process gone) and saves.
        if k % 2 == 0 || k == 5 {
            ok(&spawn_view(&case, tmp.path(), &format!("{point}-again"), "set cup_inclination_deg 46\nsave\nquit\n", &[]).output());
            let after: Vec<String> = std::fs::read_dir(&parent)?.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
            assert_eq!(after, ["case"], "after the next save at {point}");
            coxa_case::manifest::verify(&case)?;
            assert_eq!(read_json(&case.join("plan.json"))["revision"]["number"].as_u64(), Some(n + 1));
        }
    }
    Ok(())
}
