//! `coxa demo` and `coxa run` as a user runs them: the demo's report against the phantom's
//! known geometry, the report rendered by headless Chromium, a sweep with a broken case and
//! its resumption, scenario errors with file, line and field.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;
use serde_json::Value;

use crate::cases::{coxa, ok, read_json};
use crate::common::shared_data;
mod real_ct;

fn dist(a: &Value, b: &Value) -> f64 {
    (0..3).map(|i| (a[i].as_f64().unwrap() - b[i].as_f64().unwrap()).powi(2)).sum::<f64>().sqrt()
}

/// Chromium for the report tests: `None` (with a note) when it is not installed here; CI
/// installs it (scripts/setup) and then its absence is a failure.
pub(crate) fn chromium() -> Option<PathBuf> {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(c).output()
            && out.status.success()
        {
            return Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
    }
    assert!(std::env::var("CI").map_or(true, |v| v != "true"), "chromium is not installed: scripts/setup installs it (apt-get install chromium)");
    eprintln!("note: chromium not installed; the report rendering check is skipped");
    None
}

/// Screenshot of `html` by headless Chromium, decoded to RGB rows.
pub(crate) fn screenshot(chrome: &Path, html: &Path, png_out: &Path, width: u32, height: u32) -> (u32, u32, Vec<u8>) {
    let out = Command::new(chrome)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", &format!("--window-size={width},{height}"), &format!("--screenshot={}", png_out.display())])
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium runs");
    assert!(png_out.is_file(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png_out).unwrap()));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    let rgb: Vec<u8> = buf[..info.buffer_size()].chunks(step).flat_map(|p| [p[0], p[1], p[2]]).collect();
    (info.width, info.height, rgb)
}

/// Pixels within `tol` of `colour`.
pub(crate) fn count_near(rgb: &[u8], colour: [u8; 3], tol: i32) -> usize {
    rgb.chunks(3).filter(|p| (0..3).all(|k| (i32::from(p[k]) - i32::from(colour[k])).abs() <= tol)).count()
}

/// The README's main command on a fresh machine: the phantom through every stage; the report
/// states the phantom's geometry; Chromium renders its plots and pictures.
#[test]
fn demo_report_matches_the_phantom() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let case = crate::cases::demo_phantom();
    let r = read_json(&case.join("report.json"));
    let truth = &r["phantom_truth"];
    for side in ["left", "right"] {
        let h = r["anatomy"]["femoral_heads"].as_array().unwrap().iter().find(|h| h["side"] == side).unwrap();
        let d = dist(&h["centre_lps_mm"], &truth["head_centres_lps_mm"][side]);
        let dr = (h["radius_mm"].as_f64().unwrap() - truth["head_radius_mm"].as_f64().unwrap()).abs();
        eprintln!("{side} head: centre {d:.2} mm, radius {dr:.2} mm from the truth");
        // Through coxa's own segmentation of a 1.5 mm CT: within a third of a voxel.
        assert!(d < 0.75 && dr < 0.75, "{side} head: centre {d:.2} mm, radius {dr:.2} mm off");
        let a = r["anatomy"]["pelvis"]["native_acetabular_angles"].as_array().unwrap().iter().find(|a| a["side"] == side && a["definition"] == "radiographic").unwrap();
        let (di, da) = (
            a["inclination_deg"].as_f64().unwrap() - truth["acetabulum_radiographic_deg"]["inclination"].as_f64().unwrap(),
            a["anteversion_deg"].as_f64().unwrap() - truth["acetabulum_radiographic_deg"]["anteversion"].as_f64().unwrap(),
        );
        eprintln!("{side} acetabulum: inclination {di:+.2} deg, anteversion {da:+.2} deg from the truth");
        // The rim plane of a segmented, meshed socket: within 3 deg (from exact labels the
        // e2e phantom test holds 1 deg).
        assert!(di.abs() < 3.0 && da.abs() < 3.0, "{side} acetabulum off by {di:.2}/{da:.2} deg");
    }
    // The plan: the shell by the sizing rule on the known socket (radius = head + joint space),
    // within one catalog size; leg length and offset within 2 mm of their targets; the ROM in
    // the report is the plan's, re-run on the planned pose.
    let plan = &r["plan"];
    let socket_mm = 2.0 * (truth["head_radius_mm"].as_f64().unwrap() + 3.0);
    let measured = plan["cup"]["acetabular_diameter_mm"].as_f64().unwrap();
    let shell = plan["cup"]["outer_diameter_mm"].as_f64().unwrap();
    eprintln!("acetabulum {measured:.2} mm (known {socket_mm}), shell {shell} mm, head {} mm, stem {} {}", plan["head"]["diameter_mm"], plan["stem"]["catalog"], plan["stem"]["size"]);
    assert!((measured - socket_mm).abs() < 1.0, "acetabular diameter {measured} vs {socket_mm}");
    assert!((shell - (socket_mm + 2.0)).abs() <= 2.0, "shell {shell} mm for a {socket_mm} mm socket");
    for k in ["leg_length_change_mm", "offset_change_mm"] {
        let (got, want) = (plan[k].as_f64().unwrap(), plan["targets"][k].as_f64().unwrap());
        assert!((got - want).abs() < 2.0, "{k}: {got} vs target {want}");
    }
    for (a, b) in plan["motions"].as_array().unwrap().iter().zip(r["rom"]["motions"].as_array().unwrap()) {
        assert_eq!(a["name"], b["name"]);
        assert!((a["limit_deg"].as_f64().unwrap() - b["limit_deg"].as_f64().unwrap()).abs() <= 0.1, "{a} vs {b}");
    }
    assert!(r["placement"]["source"].as_str().unwrap().starts_with("planned"));
    // The implants the report names are the ones simulated.
    let im = &r["placement"]["implants"];
    assert_eq!(im["head_diameter_mm"], plan["head"]["diameter_mm"]);
    assert_eq!(im["shell_outer_diameter_mm"], plan["cup"]["outer_diameter_mm"]);
    assert!(case.join("plan.json").is_file());
    assert_eq!(r["rom"]["motions"].as_array().unwrap().len(), 14);
    assert!(r["safe_zone"]["min_adl_margin_deg"].as_array().unwrap().iter().flat_map(|row| row.as_array().unwrap()).all(|v| v.is_number()));

    // The HTML states the same numbers and holds its plots and pictures.
    let html = std::fs::read_to_string(case.join("report.html"))?;
    let contacts = r["pictures"].as_array().unwrap().iter().filter(|p| p["file"].as_str().is_some_and(|f| f.starts_with("pictures/contact_"))).count();
    assert!((1..=3).contains(&contacts), "one to three motions at their first contact");
    assert!(html.contains("<svg") && html.matches("data:image/png;base64,").count() == 5 + contacts, "plots and every picture inline (4 views, the simulated radiograph, the contacts)");
    assert!(!html.contains("src=\"http") && !html.contains("href=") && !html.contains("<script"), "self-contained: no external resources, no scripts");
    assert!(html.contains("Phantom: measured against the known geometry") && html.contains("The plan"));
    let left_truth = format!("({:.1}, {:.1}, {:.1})", 90.0, 0.0, 0.0);
    assert!(html.contains(&left_truth), "the known head centre is stated");

    // Headless Chromium renders it: the ROM bars' colours, the safe-zone map, the pictures'
    // head red. (Look at the screenshot: COXA_KEEP_SCREENSHOT=path.)
    if let Some(chrome) = chromium() {
        let shot = tmp.path().join("report.png");
        // 6400 px: the report now opens with the decision (issue 41), so the safe-zone map sits
        // lower than the 5200 px this test used to take.
        let (w, h, rgb) = screenshot(&chrome, &case.join("report.html"), &shot, 1200, 6400);
        if let Some(keep) = std::env::var_os("COXA_KEEP_SCREENSHOT") {
            std::fs::copy(&shot, keep)?;
        }
        eprintln!("screenshot {w}x{h}");
        let green_bars = count_near(&rgb, [0x5c, 0xb8, 0x5c], 6);
        let grey_bars = count_near(&rgb, [0x7a, 0x8c, 0xa3], 6);
        let heat_cells = count_near(&rgb, [220, 60, 70], 30) + count_near(&rgb, [50, 230, 70], 40);
        let head_red = count_near(&rgb, [200, 60, 50], 45);
        let white = count_near(&rgb, [255, 255, 255], 0);
        eprintln!("pixels: green bars {green_bars}, grey bars {grey_bars}, heat-map cells {heat_cells}, head red {head_red}, white {white}");
        assert!(green_bars > 2000 && grey_bars > 2000, "the ROM bar chart is drawn");
        assert!(heat_cells > 2000, "the safe-zone map is drawn");
        assert!(head_red > 2000, "the pictures are drawn");
    }

    // The bevy viewer renders the same case headless: the implant head's red at the picture's
    // centre (the hip camera is centred on it), the background in the corners.
    let shot = tmp.path().join("view.png");
    let view = coxa(&["view", case.to_str().unwrap(), "--screenshot", shot.to_str().unwrap(), "--camera", "hip_ap", "--width", "200", "--height", "200"]);
    if !view.status.success() && std::env::var("CI").map_or(true, |v| v != "true") && String::from_utf8_lossy(&view.stderr).contains("Vulkan") {
        eprintln!("note: no Vulkan device here; the viewer check is skipped (scripts/setup installs mesa-vulkan-drivers)");
        return Ok(());
    }
    ok(&view);
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot)?));
    let mut reader = dec.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf)?;
    let step = info.color_type.samples();
    let px = |x: usize, y: usize| {
        let i = (y * info.width as usize + x) * step;
        [buf[i], buf[i + 1], buf[i + 2]]
    };
    let c = px(100, 100);
    assert!(c[0] > c[1] + 40 && c[0] > c[2] + 40, "the head's red at the centre: {c:?}");
    let corner = px(2, 198);
    eprintln!("viewer: centre {c:?}, corner {corner:?}");
    Ok(())
}

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// Four cases, one broken: the others finish, the broken one is reported; a rerun after the
/// fix does only the missing case; another scenario cannot write into the same folder.
#[test]
fn sweep_with_a_broken_case_resumes() -> Result<()> {
    let Some(vsd) = shared_data("vsd_bones") else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    let broken = dir.join("broken_femur.stl");
    write(&broken, "this is not an STL file\n");
    std::fs::copy(vsd.join("z013_Hip_R.stl"), dir.join("hip_r.stl"))?;
    let v = |f: &str| vsd.join(f).display().to_string();
    let scenario = format!(
        r#"schema_version = 1
name = "three hips and a broken one"
output_dir = "results"

[[cases]]
name = "phantom"
phantom = true

[[cases]]
name = "z013-right"
meshes = {{ hip_right = "{hr}", femur_right = "{fr}", hip_left = "{hl}" }}

[[cases]]
name = "z013-left"
side = "left"
meshes = {{ hip_left = "{hl}", femur_left = "{fl}", hip_right = "{hr}" }}

[[cases]]
name = "broken"
meshes = {{ hip_right = "hip_r.stl", femur_right = "broken_femur.stl" }}

[implants]
head_diameter_mm = [28, 36]

[placement]
cup_inclination_deg = 40
cup_anteversion_deg = 20

[report]
safe_zone_map = false
"#,
        hr = v("z013_Hip_R.stl"),
        fr = v("z013_Femur_R.stl"),
        hl = v("z013_Hip_L.stl"),
        fl = v("z013_Femur_L.stl"),
    );
    let file = dir.join("sweep.toml");
    write(&file, &scenario);
    let first = coxa(&["run", file.to_str().unwrap(), "--quiet"]);
    assert_eq!(first.status.code(), Some(1), "a failed case fails the run, exit status 1 (the work ran, some of it failed; issue 58): {}", String::from_utf8_lossy(&first.stderr));
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("FAILED     broken") && stdout.contains("broken_femur.stl"), "{stdout}");
    let results = dir.join("results");
    for c in ["phantom", "z013-right", "z013-left"] {
        assert!(results.join("cases").join(c).join("report.html").is_file(), "{c} finished despite the broken case");
        let csv = std::fs::read_to_string(results.join("cases").join(c).join("rom_sweep.csv"))?;
        assert_eq!(csv.lines().count(), 3, "header + 2 head sizes: {csv}");
    }
    assert!(!results.join("cases/broken").exists());
    let failed = read_json(&results.join("failed/broken.json"));
    assert!(failed["error"].to_string().contains("broken_femur.stl"), "{failed}");
    let index = std::fs::read_to_string(results.join("index.html"))?;
    assert!(index.contains("href=\"cases/z013-left/report.html\"") && index.contains("failed:"), "the index links the reports and names the failure");
    let summary = read_json(&results.join("summary.json"));
    assert_eq!(summary["cases"].as_array().unwrap().iter().filter(|c| c["status"] == "done").count(), 3);
    // The sweep's rows differ as they should: the 36 mm head has the larger oscillation angle.
    let right = std::fs::read_to_string(results.join("cases/z013-right/rom_sweep.csv"))?;
    eprintln!("{right}");
    let col = |line: &str, name: &str| -> f64 {
        let header: Vec<&str> = right.lines().next().unwrap().split(',').collect();
        let i = header.iter().position(|h| *h == name).unwrap();
        line.split(',').nth(i).unwrap().parse().unwrap()
    };
    let rows: Vec<&str> = right.lines().skip(1).collect();
    assert_eq!((col(rows[0], "head_diameter_mm"), col(rows[1], "head_diameter_mm")), (28.0, 36.0));
    assert!(col(rows[1], "oscillation_angle_deg") > col(rows[0], "oscillation_angle_deg") + 5.0);
    let log = std::fs::read_to_string(results.join("log.jsonl"))?;
    assert!(log.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()), "structured log");
    // Each event carries the wall clock (issue 63, item 4): UTC, RFC 3339 to the millisecond
    // (YYYY-MM-DDTHH:MM:SS.mmmZ), this year or later.
    for l in log.lines() {
        let t = serde_json::from_str::<Value>(l)?["time"].as_str().map(String::from).unwrap_or_default();
        let shape = t.len() == 24
            && t.char_indices().all(|(i, c)| match i {
                4 | 7 => c == '-',
                10 => c == 'T',
                13 | 16 => c == ':',
                19 => c == '.',
                23 => c == 'Z',
                _ => c.is_ascii_digit(),
            });
        assert!(shape && t[..4].parse::<u32>().is_ok_and(|y| y >= 2026), "{l}");
    }
    assert!(log.contains("\"case_failed\"") && log.contains("\"case_done\""));

    // Fix the broken file and rerun: only the missing case runs.
    std::fs::copy(vsd.join("z013_Femur_R.stl"), &broken)?;
    let before = std::fs::metadata(results.join("cases/phantom/report.html"))?.modified()?;
    let second = coxa(&["run", file.to_str().unwrap(), "--quiet"]);
    ok(&second);
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(stdout.contains("done       broken"), "{stdout}");
    for c in ["phantom", "z013-right", "z013-left"] {
        assert!(stdout.contains(&format!("skipped    {c}")), "{c} is not redone: {stdout}");
    }
    assert_eq!(std::fs::metadata(results.join("cases/phantom/report.html"))?.modified()?, before, "finished cases are untouched");
    assert!(!results.join("failed/broken.json").exists());
    assert!(results.join("summary-1.json").is_file() && results.join("summary-2.json").is_file(), "each run's summary is kept");

    // Another scenario into the same folder is refused, nothing changes.
    let other = dir.join("other.toml");
    write(&other, "schema_version = 1\noutput_dir = \"results\"\n[[cases]]\nname = \"x\"\nphantom = true\n");
    let third = coxa(&["run", other.to_str().unwrap(), "--quiet"]);
    assert_eq!(third.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&third.stderr).contains("another scenario"), "{}", String::from_utf8_lossy(&third.stderr));
    assert!(!results.join("cases/x").exists());
    Ok(())
}

/// Scenario errors name the file, the line and the field, in one line, and write nothing.
#[test]
fn scenario_errors_name_file_line_and_field() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let cases = [
        ("unknown.toml", "schema_version = 1\n[[cases]]\nname = \"a\"\nphantom = true\n[rom]\nspeed = 3\n", vec!["unknown.toml", "line 6", "rom.speed"]),
        (
            "unit.toml",
            "schema_version = 1\n[[cases]]\nname = \"a\"\nphantom = true\n[placement]\ncup_inclination_rad = 0.7\ncup_anteversion_deg = 20\n",
            vec!["unit.toml", "line 6", "wrong unit", "cup_inclination_deg"],
        ),
        ("missing.toml", "schema_version = 1\n[[cases]]\nname = \"a\"\nct = \"nowhere/ct.nii.gz\"\n", vec!["missing.toml", "line 4", "cases[0].ct", "does not exist"]),
        ("nan.toml", "schema_version = 1\n[[cases]]\nname = \"a\"\nphantom = true\n[rom]\nstanding_tilt_deg = nan\n", vec!["nan.toml", "line 6", "rom.standing_tilt_deg", "finite"]),
    ];
    for (name, text, needles) in cases {
        let f = tmp.path().join(name);
        write(&f, text);
        let out = coxa(&["run", f.to_str().unwrap(), "--quiet"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().filter(|l| !l.trim().is_empty()).count(), 1, "{stderr}");
        for n in needles {
            assert!(stderr.contains(n), "{name}: stderr lacks {n:?}: {stderr}");
        }
        assert!(!tmp.path().join(format!("{}-results", name.trim_end_matches(".toml"))).exists(), "nothing written");
    }
    Ok(())
}

/// The example scenarios in scenarios/examples parse (their data paths point at ../shared/data).
#[test]
fn example_scenarios_parse() -> Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    if shared_data("vsd_bones").is_none() {
        return Ok(());
    }
    let mut n = 0;
    for e in std::fs::read_dir(&dir)? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "toml") {
            let s = coxa_case::scenario::Scenario::load(&p).map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!("{}: {} cases x {} sweep points", p.display(), s.cases.len(), s.sweep.len());
            n += 1;
        }
    }
    assert!(n >= 3, "one example per user");
    Ok(())
}
