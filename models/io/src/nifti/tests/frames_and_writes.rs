//! Orientation (sform/qform as ITK picks them), dimensions, round trips and writes that never overwrite.

use super::*;

#[test]
fn label_map_rejects_non_integers_and_out_of_range_values() {
    let d = tmp();
    let mut h = blank_header();
    h.dims = [3, 2, 1, 1, 1, 1, 1];
    h.datatype = 16;
    let mut vals = [0f32, 1.0, 2.0, 3.0, 4.0, 5.0];
    vals[4] = 2.5;
    let p = d.path().join("frac.nii");
    write_raw(&p, &file_bytes(&h, &vals.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>()));
    let e = nifti_err(read_label_map(&p));
    assert!(matches!(e, NiftiError::NotALabel { index: [1, 1, 0], value: 2.5, .. }), "{e}");

    h.datatype = 4;
    let p = d.path().join("neg.nii");
    write_raw(&p, &file_bytes(&h, &[0i16, 1, -1, 3, 4, 5].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>()));
    assert!(matches!(nifti_err(read_label_map(&p)), NiftiError::NotALabel { index: [2, 0, 0], .. }));

    // Scaling applies before the check: 3 * 0.5 is not an integer.
    h.scl_slope = 0.5;
    let p = d.path().join("scaled.nii");
    write_raw(&p, &file_bytes(&h, &[0i16, 2, 4, 3, 8, 10].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>()));
    assert!(matches!(nifti_err(read_label_map(&p)), NiftiError::NotALabel { index: [0, 1, 0], value: 1.5, .. }));
}

/// Writes header `h` with a zero image of the size it declares and returns the grid coxa reads.
pub(super) fn grid_of(h: &NiftiHeader) -> crate::Result<Grid> {
    let d = tmp();
    let p = d.path().join("g.nii");
    let n: usize = h.dims.iter().product::<usize>() * (usize::from(h.bitpix.unsigned_abs()) / 8);
    write_raw(&p, &file_bytes(h, &vec![0u8; n]));
    read_volume(&p).map(|v| v.grid().clone())
}

/// RAS affine rows for LPS direction `d`, spacing `s`, origin `o`.
pub(super) fn ras_rows(d: &Matrix3<f64>, s: [f64; 3], o: [f64; 3]) -> [[f32; 4]; 3] {
    let mut rows = [[0f32; 4]; 3];
    for (r, row) in rows.iter_mut().enumerate() {
        let sign = if r < 2 { -1.0 } else { 1.0 };
        for c in 0..3 {
            row[c] = (sign * d[(r, c)] * s[c]) as f32;
        }
        row[3] = (sign * o[r]) as f32;
    }
    rows
}

#[test]
fn itk_picks_sform_or_qform_by_code() {
    let r1 = rotation();
    let r2 = *Rotation3::from_euler_angles(0.1, 0.5, -0.4).matrix();
    let q = oblique_grid([4, 3, 2], r1);
    let o = geometry::orientation_for(&q);
    let base = |qcode: i16, scode: i16| {
        let mut h = blank_header();
        h.pixdim = o.pixdim;
        [h.quatern_b, h.quatern_c, h.quatern_d] = o.quatern;
        [h.qoffset_x, h.qoffset_y, h.qoffset_z] = o.qoffset;
        [h.srow_x, h.srow_y, h.srow_z] = ras_rows(&r2, [0.75, 0.9765625, 2.5], [10.0, 20.0, 30.0]);
        h.qform_code = qcode;
        h.sform_code = scode;
        h
    };
    let is_q = |g: &Grid| (g.direction() - r1).abs().max() < 1e-6 && (g.origin_lps_mm() - q.origin_lps_mm()).abs().max() < 1e-4;
    let is_s = |g: &Grid| (g.direction() - r2).abs().max() < 1e-6 && (g.origin_lps_mm() - Vector3::new(10.0, 20.0, 30.0)).abs().max() < 1e-4;
    // (qform_code, sform_code) -> which one ITK 5.4 uses (checked against SimpleITK 2.5).
    for (qc, sc, sform) in [(1, 0, false), (0, 1, true), (0, 2, true), (1, 1, true), (1, 2, false), (2, 1, true), (2, 2, false), (1, 3, false), (3, 4, false)] {
        let g = grid_of(&base(qc, sc)).unwrap();
        assert!(if sform { is_s(&g) } else { is_q(&g) }, "qform_code {qc}, sform_code {sc}: {g:?}");
        assert_eq!(g.spacing_mm(), Vector3::new(0.75, 0.9765625, 2.5));
    }
    // Neither: origin 0, identity direction, spacing from pixdim.
    let g = grid_of(&base(0, 0)).unwrap();
    assert_eq!((g.origin_lps_mm(), g.direction()), (Vector3::zeros(), Matrix3::identity()));

    // A sheared sform: the qform if there is one, else an error.
    let mut h = base(1, 1);
    h.srow_x[1] += 0.3;
    assert!(is_q(&grid_of(&h).unwrap()));
    h.qform_code = 0;
    assert!(matches!(nifti_err(grid_of(&h)), NiftiError::NoOrientation { sform_code: 1, .. }));

    // Spacing comes from pixdim even when the sform's columns say otherwise.
    let mut h = base(0, 1);
    h.srow_x[0] *= 2.0;
    h.srow_y[0] *= 2.0;
    h.srow_z[0] *= 2.0;
    let g = grid_of(&h).unwrap();
    assert!(is_s(&g));
    assert_eq!(g.spacing_mm()[0], 0.75);

    // Units: metres scale spacing and origin by 1000.
    let mut h = base(0, 1);
    h.xyzt_units = 1;
    h.pixdim[1..4].copy_from_slice(&[0.00075, 0.0009765625, 0.0025]);
    let g = grid_of(&h).unwrap();
    assert!((g.spacing_mm() - Vector3::new(0.75, 0.9765625, 2.5)).abs().max() < 1e-6);
    assert!((g.origin_lps_mm() - Vector3::new(10e3, 20e3, 30e3)).abs().max() < 1e-1);
}

#[test]
fn qfac_minus_one_flips_the_third_axis() {
    let mut d = rotation();
    d.set_column(2, &(-d.column(2)));
    assert!(d.determinant() < 0.0);
    let g = oblique_grid([4, 3, 2], d);
    let o = geometry::orientation_for(&g);
    assert_eq!(o.pixdim[0], -1.0);
    let mut h = blank_header();
    h.pixdim = o.pixdim;
    [h.quatern_b, h.quatern_c, h.quatern_d] = o.quatern;
    [h.qoffset_x, h.qoffset_y, h.qoffset_z] = o.qoffset;
    h.qform_code = 1;
    let back = grid_of(&h).unwrap();
    assert!((back.direction() - d).abs().max() < 1e-6, "{} vs {d}", back.direction());
}

#[test]
fn two_d_images_get_k_size_one() {
    let d = tmp();
    let mut h = blank_header();
    h.ndim = 2;
    h.dims = [4, 3, 1, 1, 1, 1, 1];
    h.pixdim[3] = 0.0; // unused axis: taken as 1
    let p = d.path().join("2d.nii");
    write_raw(&p, &file_bytes(&h, &i16_bytes(12)));
    let v = read_volume(&p).unwrap();
    assert_eq!(v.grid().size(), [4, 3, 1]);
    assert_eq!(v.grid().spacing_mm()[2], 1.0);
    assert_eq!(v.get(3, 2, 0), Some((11 * 7 - 20) as f32));
}

#[test]
fn four_d_with_one_volume_is_three_d() {
    let mut h = blank_header();
    h.ndim = 5;
    let g = grid_of(&h).unwrap();
    assert_eq!(g.size(), [4, 3, 2]);
}

#[test]
fn volume_round_trip_is_exact_with_an_oblique_direction() {
    let d = tmp();
    let mut reflected = rotation();
    reflected.set_column(0, &(-reflected.column(0)));
    for (name, dir) in [("rot", rotation()), ("refl", reflected)] {
        let grid = oblique_grid([5, 4, 3], dir);
        let ints = Array3::from_shape_fn((3, 4, 5), |(k, j, i)| (i as f32) * 100.0 - (j * k) as f32 * 7.0 - 1024.0);
        let floats = ints.mapv(|v| v * 0.37 + 0.01);
        let mut special = ints.clone();
        special[[0, 0, 0]] = -0.0; // forces float32: int16 would lose the sign
        special[[2, 2, 2]] = 40000.0;
        for (kind, hu, dt) in [("int", ints, 4), ("float", floats, 16), ("special", special, 16)] {
            for ext in ["nii", "nii.gz"] {
                let p = d.path().join(format!("{name}_{kind}.{ext}"));
                let vol = Volume::new(grid.clone(), hu.clone()).unwrap();
                write_volume(&vol, &p).unwrap();
                let h = read_header(&p).unwrap();
                assert_eq!((h.datatype, h.qform_code, h.sform_code, h.vox_offset, h.xyzt_units), (dt, 1, 1, 352.0, 2));
                let back = read_volume(&p).unwrap();
                assert!(back.grid().same_as(&grid, 1e-6), "{p:?}: {:?} vs {grid:?}", back.grid());
                let same = back.hu().iter().zip(hu.iter()).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{p:?}: voxels differ");
                // The qform alone gives the same grid too (for readers that use it).
                let mut qonly = h.clone();
                qonly.sform_code = 0;
                assert!(grid_of(&qonly).unwrap().direction().relative_eq(&dir, 1e-6, 1e-6));
            }
        }
    }
    // NaN is written as it is, but no reader hands it on (issue 45): refused, counted.
    let mut with_nan = Array3::from_elem((3, 4, 5), -1000.0f32);
    with_nan[[1, 1, 1]] = f32::NAN;
    let p = d.path().join("nan.nii.gz");
    write_volume(&Volume::new(oblique_grid([5, 4, 3], rotation()), with_nan).unwrap(), &p).unwrap();
    assert_eq!(read_header(&p).unwrap().datatype, 16);
    let e = read_volume(&p).unwrap_err();
    assert!(matches!(e, crate::Error::NonFiniteVoxels { nan: 1, infinite: 0, total: 60, .. }), "{e}");
}

#[test]
fn origin_round_trip_error_is_single_precision_rounding() {
    let d = tmp();
    let grid = Grid::new([2, 2, 2], Vector3::new(0.7, 0.7, 1.25), Vector3::new(-250.123456789, 180.987654321, -1234.5678), rotation()).unwrap();
    let p = d.path().join("o.nii");
    write_volume(&Volume::new(grid.clone(), Array3::zeros((2, 2, 2))).unwrap(), &p).unwrap();
    let back = read_volume(&p).unwrap();
    let err = (back.grid().origin_lps_mm() - grid.origin_lps_mm()).abs();
    for (e, o) in err.iter().zip(grid.origin_lps_mm().iter()) {
        assert!(*e <= o.abs() * f64::from(f32::EPSILON), "{err:?}");
    }
    assert!(back.grid().same_as(&grid, 1e-4));
}

#[test]
fn label_round_trip_is_bit_exact() {
    let d = tmp();
    let grid = oblique_grid([7, 5, 3], rotation());
    let small = Array3::from_shape_fn((3, 5, 7), |(k, j, i)| ((i * 31 + j * 7 + k * 3) % 256) as u16);
    let large = Array3::from_shape_fn((3, 5, 7), |(k, j, i)| ((i * 9973 + j * 7919 + k * 104_729) % 65536) as u16);
    for (kind, labels, dt) in [("u8", small, 2), ("u16", large, 512)] {
        for ext in ["nii", "nii.gz"] {
            let p = d.path().join(format!("{kind}.{ext}"));
            let classes: ClassTable = [(1u16, "femur_left")].into_iter().collect();
            let map = LabelMap::new(grid.clone(), labels.clone(), classes).unwrap();
            write_label_map(&map, &p).unwrap();
            assert_eq!(read_header(&p).unwrap().datatype, dt);
            let back = read_label_map(&p).unwrap();
            assert_eq!(back.labels(), &labels);
            assert!(back.classes().is_empty());
            assert!(back.grid().same_as(&grid, 1e-6));
        }
    }
}

#[test]
fn write_never_overwrites() {
    let d = tmp();
    let p = d.path().join("exists.nii.gz");
    std::fs::write(&p, b"precious").unwrap();
    let grid = oblique_grid([2, 2, 2], Matrix3::identity());
    let vol = Volume::new(grid.clone(), Array3::zeros((2, 2, 2))).unwrap();
    assert!(matches!(write_volume(&vol, &p), Err(Error::WouldOverwrite { .. })));
    let map = LabelMap::new(grid, Array3::zeros((2, 2, 2)), ClassTable::new()).unwrap();
    assert!(matches!(write_label_map(&map, &p), Err(Error::WouldOverwrite { .. })));
    assert_eq!(std::fs::read(&p).unwrap(), b"precious");
}

#[test]
fn failed_write_leaves_no_file() {
    let d = tmp();
    let grid = oblique_grid([2, 2, 2], Matrix3::identity());
    let vol = Volume::new(grid.clone(), Array3::zeros((2, 2, 2))).unwrap();
    // A folder that does not exist: nothing created.
    let p: PathBuf = d.path().join("no_such_dir").join("x.nii");
    assert!(matches!(write_volume(&vol, &p), Err(Error::Write { .. })));
    // Wrong extension: refused before anything is created.
    let p = d.path().join("x.nrrd");
    assert!(matches!(nifti_err(write_volume(&vol, &p)), NiftiError::BadExtension { .. }));
    assert!(!p.exists());
    // A failure half way: the partial file is removed.
    for name in ["half.nii", "half.nii.gz"] {
        let p = d.path().join(name);
        let h = write::header_for(&grid, header::Datatype::I16, &p).unwrap();
        let r = write::write_file(&p, &h, |w| {
            w.write_all(&[0u8; 4])?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(matches!(r, Err(Error::Write { .. })), "{r:?}");
        assert!(!p.exists(), "{name} left behind");
    }
}

#[test]
fn sizes_beyond_int16_are_refused_on_write() {
    let d = tmp();
    let grid = Grid::axis_aligned([40000, 1, 1], Vector3::repeat(1.0), Vector3::zeros()).unwrap();
    let vol = Volume::new(grid, Array3::zeros((1, 1, 40000))).unwrap();
    let p = d.path().join("wide.nii");
    assert!(matches!(nifti_err(write_volume(&vol, &p)), NiftiError::NotRepresentable { .. }));
    assert!(!p.exists());
}

#[test]
fn nifti_paths_are_recognised_by_name() {
    for (p, yes) in [("a.nii", true), ("a.NII.GZ", true), ("dir/b.nii.gz", true), ("a.nii.bak", false), ("a.gz", false), ("nii", false), ("a.hdr", false)] {
        assert_eq!(is_nifti_path(Path::new(p)), yes, "{p}");
    }
}
