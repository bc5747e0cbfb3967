//! Radiographs in (issue 22 part 4), side by side with pydicom (`radiograph_peer.py`) on test
//! radiographs it writes: a DX MONOCHROME1 image with a rescale, a LINEAR window and a
//! magnification; a signed CR with LINEAR_EXACT and PixelSpacing alone; a DX with SIGMOID and a
//! calibrated PixelSpacing; an 8-bit DX without a window; a DX with a VOI LUT Sequence; 16- and 8-bit PNGs. The modality values
//! and the presentation values (0 black .. 1 white) equal pydicom's, and the spacings follow
//! PS3.3 10.7.1. The corpus files (tests/corpus/files/xray_*) are refused with their causes.

use std::path::{Path, PathBuf};
use std::process::Command;

use coxa_io::radiograph::{RadiographOptions, Voi, read_radiograph};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The venv's Python with pydicom and Pillow; outside CI its absence skips with a note.
fn python() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> =
        std::env::var_os("COXA_PYTHON").map(|p| vec![PathBuf::from(p)]).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().map(|d| d.join(".venv/bin/python")).collect());
    for c in candidates {
        if Command::new(&c).args(["-c", "import pydicom, numpy, PIL"]).output().is_ok_and(|o| o.status.success()) {
            return Some(c);
        }
    }
    assert!(!in_ci(), "the peer Python (pydicom, numpy, Pillow) is missing; run scripts/setup");
    eprintln!("note: skipping the pydicom comparison, run scripts/setup");
    None
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/radiograph_peer.py")
}

fn f32s(path: &Path) -> Vec<f32> {
    std::fs::read(path).unwrap().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn max_diff<'a>(a: impl IntoIterator<Item = &'a f32>, b: &[f32]) -> f32 {
    let mut n = 0;
    let d = a.into_iter().zip(b).map(|(x, y)| (x - y).abs()).inspect(|_| n += 1).fold(0f32, f32::max);
    assert_eq!(n, b.len(), "pixel count");
    d
}

#[test]
fn radiographs_equal_pydicom() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ok = Command::new(&py).arg(script()).arg("make").arg(dir.path()).status().unwrap();
    assert!(ok.success());
    for name in ["dx_mono1.dcm", "cr_exact.dcm", "dx_sigmoid.dcm", "dx_8bit.dcm", "dx_voilut.dcm"] {
        let file = dir.path().join(name);
        let prefix = dir.path().join(name.replace(".dcm", ""));
        let out = Command::new(&py).arg(script()).arg("dump").arg(&file).arg(&prefix).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let peer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let xr = read_radiograph(&file, &RadiographOptions::new()).unwrap();
        let values = f32s(&prefix.with_extension("values.f32"));
        let pres = f32s(&prefix.with_extension("presentation.f32"));
        let dv = max_diff(xr.values.iter(), &values);
        let dp = max_diff(xr.presentation.iter(), &pres);
        eprintln!(
            "{name}: {}x{} {} {}: max |coxa - pydicom| values {dv:.2e}, presentation {dp:.2e}; spacing {:?}",
            xr.info.cols,
            xr.info.rows,
            xr.info.photometric,
            serde_json::to_string(&xr.info.voi).unwrap(),
            xr.spacing
        );
        assert_eq!([xr.info.rows, xr.info.cols], [peer["rows"].as_u64().unwrap() as usize, peer["cols"].as_u64().unwrap() as usize]);
        // Integer stored values through slope 1.5 and intercept -100: exact in f32.
        assert!(dv == 0.0, "{name}: modality values differ by {dv}");
        // pydicom windows in float64; coxa in f64 then stores f32: one f32 rounding.
        assert!(dp <= 1e-6, "{name}: presentation differs by {dp}");
        assert!(xr.presentation.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(xr.info.inverted, peer["photometric"] == "MONOCHROME1");
        assert!(xr.warnings.iter().all(|w| !w.contains("Test^Radiograph") && !w.contains("XR-0001")));
        assert_eq!(xr.patient.id.as_deref(), Some("XR-0001"));
        match name {
            "dx_mono1.dcm" => {
                assert_eq!(xr.spacing.detector_mm, [0.15, 0.15]);
                assert_eq!(xr.spacing.magnification, Some(1.2));
                let p = xr.spacing.patient_mm.unwrap();
                assert!((p[0] - 0.125).abs() < 1e-12, "{p:?}");
                assert!(matches!(xr.info.voi, Voi::Window { ref function, .. } if function == "LINEAR"));
            }
            "cr_exact.dcm" => {
                assert_eq!(xr.spacing.detector_mm, [0.2, 0.25]);
                assert_eq!(xr.spacing.patient_mm, None);
                assert!(xr.warnings.iter().any(|w| w.contains("taken as the detector's")), "{:?}", xr.warnings);
            }
            "dx_sigmoid.dcm" => {
                assert_eq!(xr.spacing.detector_mm, [0.2, 0.2]);
                assert_eq!(xr.spacing.patient_mm, Some([0.16, 0.16]));
                assert!(xr.spacing.patient_source.as_deref().unwrap().contains("GEOMETRY"));
            }
            "dx_voilut.dcm" => {
                assert!(matches!(xr.info.voi, Voi::Lut { first_mapped: 500, bits: 12, entries: 3000, .. }), "{:?}", xr.info.voi);
                assert!(xr.warnings.iter().any(|w| w.contains("the LUT is used")));
            }
            _ => assert!(matches!(xr.info.voi, Voi::MinMax { .. })),
        }
    }
    // The caller's spacing and magnification replace the file's, with a warning.
    let xr = read_radiograph(&dir.path().join("dx_mono1.dcm"), &RadiographOptions::new().with_pixel_spacing_mm(Some(0.2)).with_magnification(Some(1.25))).unwrap();
    assert_eq!(xr.spacing.detector_mm, [0.2, 0.2]);
    assert!((xr.spacing.patient_mm.unwrap()[0] - 0.16).abs() < 1e-12);
    assert!(xr.warnings.iter().any(|w| w.contains("--pixel-spacing-mm 0.2 replaces")));
    // PNGs: the samples as Pillow reads them, over 65535 or 255.
    for (name, max) in [("grey16.png", 65535.0f32), ("grey8.png", 255.0)] {
        let file = dir.path().join(name);
        let raw = dir.path().join(format!("{name}.f32"));
        let code = format!("import numpy as np; from PIL import Image; np.asarray(Image.open({:?})).astype('<f4').tofile({:?})", file.display().to_string(), raw.display().to_string());
        assert!(Command::new(&py).args(["-c", &code]).status().unwrap().success());
        let pil = f32s(&raw);
        let err = read_radiograph(&file, &RadiographOptions::new()).unwrap_err().to_string();
        assert!(err.contains("no pixel spacing") && err.contains("--pixel-spacing-mm"), "{err}");
        let xr = read_radiograph(&file, &RadiographOptions::new().with_pixel_spacing_mm(Some(0.1))).unwrap();
        assert_eq!(max_diff(xr.values.iter(), &pil), 0.0, "{name}");
        let scaled: Vec<f32> = pil.iter().map(|v| v / max).collect();
        assert_eq!(max_diff(xr.presentation.iter(), &scaled), 0.0, "{name}");
        assert_eq!((xr.spacing.detector_mm, xr.spacing.patient_mm), ([0.1, 0.1], None));
        eprintln!("{name}: {}x{} {} bit equal to Pillow", xr.info.cols, xr.info.rows, xr.info.bits_stored);
    }
}

/// The corpus's broken radiographs are refused, each naming its cause (the CLI's exact lines are
/// in tests/corpus/cases.toml).
#[test]
fn broken_radiographs_are_refused() {
    let files = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/files");
    for (name, want) in [
        ("xray_no_spacing.png", "no pixel spacing"),
        ("xray_ct_slice.dcm", "a CT slice"),
        ("xray_multiframe.dcm", "multi-frame"),
        ("xray_rows_20000.dcm", "Rows is 20000"),
        ("xray_no_spacing.dcm", "neither ImagerPixelSpacing nor PixelSpacing"),
        ("xray_spacing_zero.dcm", "ImagerPixelSpacing is 0"),
        ("dicom_modality_mr.dcm", "Modality MR"),
        ("stl_truncated.stl", "neither a DICOM file"),
    ] {
        let err = read_radiograph(&files.join(name), &RadiographOptions::new()).unwrap_err().to_string();
        assert!(err.contains(want), "{name}: {err}");
    }
    // A small limit refuses before decoding.
    let err = read_radiograph(&files.join("xray_no_spacing.png"), &RadiographOptions::new().with_pixel_spacing_mm(Some(0.1)).with_limits(coxa_io::Limits::new().with_max_bytes(100)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--max-memory"), "{err}");
}
