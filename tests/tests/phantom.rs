//! The CT -> anatomy path on the hip phantom, whose geometry is known exactly: surfaces from its
//! label map, then landmarks, against the truth.

use anyhow::Result;

use coxa_anatomy::phantom::{PhantomSpec, hip_phantom};
use coxa_anatomy::{landmarks, surface};
use coxa_core::{CupAngleDefinition, CupAngles, Side};

#[test]
fn phantom_landmarks_match_the_truth() -> Result<()> {
    let ph = hip_phantom(&PhantomSpec::default());
    if let Ok(dir) = std::env::var("COXA_PHANTOM_DUMP") {
        let d = std::path::Path::new(&dir);
        coxa_io::nifti::write_volume(&ph.ct, &d.join("phantom_ct.nii.gz"))?;
        coxa_io::nifti::write_label_map(&ph.labels, &d.join("phantom_labels.nii.gz"))?;
    }
    let t = &ph.truth;
    let ids = [75u16, 76, 77, 78];
    let m: Vec<_> = surface::meshes_from_labels(&ph.labels, &ids, &surface::SurfaceOptions::default()).into_iter().collect::<Result<_, _>>()?;
    for (n, side) in [Side::Left, Side::Right].into_iter().enumerate() {
        let f = landmarks::femur_landmarks(&m[n], side)?;
        let off = (f.head_centre.lps_mm - t.head_centres_lps_mm[n]).norm();
        eprintln!(
            "{side:?}: head off {off:.2} mm, r {:.2} (true {}), NSA {:.1}, neck axis {:.1} deg off",
            f.head_radius_mm,
            t.head_radius_mm,
            f.neck_shaft_angle_deg.unwrap_or(f64::NAN),
            f.neck_axis.direction_lps.angle(&t.neck_axes_lps[n]).to_degrees()
        );
        // 1.5 mm voxels, marching cubes + smoothing: sub-voxel accuracy expected.
        assert!(off < 0.5, "{side:?} head centre {off} mm off");
        assert!((f.head_radius_mm - t.head_radius_mm).abs() < 0.5, "{side:?} radius {}", f.head_radius_mm);
        assert!(f.neck_axis.direction_lps.angle(&t.neck_axes_lps[n]).to_degrees() < 1.0, "{side:?} neck axis");
        let nsa = f.neck_shaft_angle_deg.expect("phantom femur: both axes measured");
        assert!((nsa - 130.0).abs() < 1.0, "{side:?} NSA {nsa}");
        let a = landmarks::acetabulum_landmarks(&m[2 + n], side, None)?;
        let got = CupAngles::from_axis(&a.opening_axis_lps, side, CupAngleDefinition::Radiographic)?;
        let want = CupAngles::from_axis(&t.acetabular_axes_lps[n], side, CupAngleDefinition::Radiographic)?;
        eprintln!(
            "{side:?}: acetabulum centre off {:.2} mm, RI {:.2} (true {:.1}) RA {:.2} (true {:.1})",
            (a.centre.lps_mm - t.head_centres_lps_mm[n]).norm(),
            got.inclination.deg(),
            want.inclination.deg(),
            got.anteversion.deg(),
            want.anteversion.deg()
        );
        assert!((a.centre.lps_mm - t.head_centres_lps_mm[n]).norm() < 0.5);
        assert!((got.inclination.deg() - want.inclination.deg()).abs() < 1.0 && (got.anteversion.deg() - want.anteversion.deg()).abs() < 1.0);
    }
    Ok(())
}
