use super::*;

#[test]
fn builtin_catalog_loads_and_offers_the_issue_sizes() {
    let c = Catalog::builtin().unwrap();
    let s = &c.shells[0];
    assert_eq!((s.outer_diameter_min_mm, s.outer_diameter_max_mm, s.outer_diameter_step_mm), (40.0, 70.0, 2.0));
    for d in [22.0, 28.0, 32.0, 36.0, 40.0] {
        assert!(c.head(d, 0.0).is_ok());
    }
    let l = c.liner_spec("hemispherical").unwrap();
    // 36 mm head + 2 x 4 mm liner = 44 mm inside a 3 mm wall: the 50 mm shell.
    let shell = c.smallest_shell_for(l, 36.0).unwrap();
    assert_eq!(shell.outer_diameter_mm, 50.0);
    assert!(c.liner(l, 36.0, &shell).is_ok());
    assert!(c.stem(None, "3").is_ok());
    // The catalog folder on disk is the same catalog.
    let dir = Catalog::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")).unwrap();
    assert_eq!(dir, c);
}

#[test]
fn bad_files_give_errors_naming_file_and_field() {
    let e = CatalogFile::parse("schema_version = 1\n[[heads]]\nname='x'\ndiameter_mm=[28.0]\nneck_length_offsets_mm=[0.0]\n", "bad.toml").unwrap_err().to_string();
    assert!(e.contains("bad.toml") && e.contains("diameter_mm"), "{e}");
    let e = CatalogFile::parse("schema_version = 2\n", "v2.toml").unwrap_err().to_string();
    assert!(e.contains("schema_version 2"), "{e}");
    let nan = "schema_version = 1\n[[shells]]\nname='s'\nouter_diameter_min_mm=nan\nouter_diameter_max_mm=70.0\nouter_diameter_step_mm=2.0\nwall_thickness_mm=3.0\n";
    let e = CatalogFile::parse(nan, "nan.toml").unwrap().validate("nan.toml").unwrap_err().to_string();
    assert!(e.contains("nan.toml") && e.contains("shells[0].outer_diameter_min_mm"), "{e}");
    let stray = "schema_version = 1\n[[liners]]\nname='n'\ngeometry='hemispherical'\nmin_thickness_mm=4.0\nchamfer_deg=5.0\n";
    let e = CatalogFile::parse(stray, "l.toml").unwrap().validate("l.toml").unwrap_err().to_string();
    assert!(e.contains("liners[0].chamfer_deg"), "{e}");
    let missing = "schema_version = 1\n[[liners]]\nname='e'\ngeometry='elevated_rim'\nmin_thickness_mm=4.0\nrim_height_mm=4.0\n";
    let e = CatalogFile::parse(missing, "e.toml").unwrap().validate("e.toml").unwrap_err().to_string();
    assert!(e.contains("liners[0].rim_arc_deg"), "{e}");
}

/// A stem series' size rule is validated on load: the rule's band, and bodies listed
/// smallest first; a series without a rule is refused by name.
#[test]
fn stem_size_rules_are_validated_on_load() {
    let text = include_str!("../../catalog/stems.toml");
    let file = CatalogFile::parse(text, "stems.toml").unwrap();
    file.validate("stems.toml").unwrap();
    for s in &file.stems {
        assert!(s.size_rule.fill_min < s.size_rule.fill_max && s.sizes.len() >= 8, "{}", s.name);
    }
    let bad = |from: &str, to: &str| {
        assert!(text.contains(from));
        let t = text.replacen(from, to, 1);
        CatalogFile::parse(&t, "s.toml").and_then(|f| f.validate("s.toml")).unwrap_err().to_string()
    };
    let e = bad("fill_max = 1.00", "fill_max = 0.70");
    assert!(e.contains("stems[0].size_rule.fill_max"), "{e}");
    let e = bad("level_above_lt_mm = -60.0", "level_above_lt_mm = 20.0");
    assert!(e.contains("stems[0].size_rule.level_above_lt_mm"), "{e}");
    let e = bad("fill_min = 0.90", "fill_min = nan");
    assert!(e.contains("stems[0].size_rule.fill_min"), "{e}");
    let e = bad("ml_width_mm = 12.25", "ml_width_mm = 10.0");
    assert!(e.contains("stems[0].sizes[1].ml_width_mm") && e.contains("smallest body first"), "{e}");
    let e = bad("tip_ml_width_mm = 8.0", "tip_ml_width_mm = 25.0");
    assert!(e.contains("stems[0].sizes[0].tip_ml_width_mm"), "{e}");
    let e = bad("[stems.size_rule]\nlevel_above_lt_mm = -60.0\n", "[stems.x]\nlevel_above_lt_mm = -60.0\n");
    assert!(e.contains("s.toml") && e.contains("size_rule"), "{e}");
}

#[test]
fn a_cup_that_does_not_fit_is_a_clear_error() {
    let c = Catalog::builtin().unwrap();
    let l = c.liner_spec("neutral").unwrap();
    let small = c.shell(40.0).unwrap();
    let e = c.liner(l, 40.0, &small).unwrap_err();
    assert!(matches!(e, ImplantError::DoesNotFit { .. }), "{e}");
    assert!(c.shell(41.0).is_err());
    assert!(c.head(30.0, 0.0).unwrap_err().to_string().contains("28"));
    assert!(c.liner_spec("ceramic").is_err());
}

#[test]
fn a_bad_file_in_a_catalog_folder_is_named_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a_heads.toml"), "schema_version = 1\n[[heads]]\nname='h'\ndiameters_mm=[28.0]\nneck_length_offsets_mm=[0.0]\n").unwrap();
    std::fs::write(dir.path().join("b_stems.toml"), "schema_version = 1\n[[stems]]\nname='s'\nccd_deg=200.0\ntrunnion='12/14'\nneck_section='circular'\nsizes=[]\nsize_rule={level_above_lt_mm=-60.0, fill_min=0.8, fill_max=0.9, distal_fill_max=1.0}\n").unwrap();
    let e = Catalog::load_dir(dir.path()).unwrap_err().to_string();
    assert!(e.contains("b_stems.toml") && e.contains("stems[0].ccd_deg"), "{e}");
    let e = Catalog::load_dir(&dir.path().join("missing")).unwrap_err().to_string();
    assert!(e.contains("missing"), "{e}");
}

/// Two shell series offering one diameter, two stem series of one name, a size label twice:
/// which part a plan names would be a guess, so the catalog is refused.
#[test]
fn series_that_overlap_are_refused() {
    let shells = include_str!("../../catalog/shells.toml");
    let mut c = Catalog::builtin().unwrap();
    let e = c.add_text(&shells.replace("outer_diameter_min_mm = 40.0", "outer_diameter_min_mm = 60.0"), "more_shells.toml").unwrap_err().to_string();
    assert!(e.contains("more_shells.toml") && e.contains("overlaps") && e.contains("60 mm"), "{e}");
    // Sizes between the series' steps do not overlap.
    let odd = shells
        .replace("outer_diameter_min_mm = 40.0", "outer_diameter_min_mm = 41.0")
        .replace("outer_diameter_max_mm = 70.0", "outer_diameter_max_mm = 69.0")
        .replace("press-fit hemispherical shell", "odd sizes");
    c.add_text(&odd, "odd.toml").unwrap();
    assert_eq!(c.shell_family(41.0).map(|s| s.name.as_str()), Some("odd sizes"));
    let stems = include_str!("../../catalog/stems.toml");
    let e = c.add_text(stems, "again.toml").unwrap_err().to_string();
    assert!(e.contains("again.toml") && e.contains("stems[0].name") && e.contains("already"), "{e}");
    let twice = stems.replacen("size = \"2\"", "size = \"1\"", 1);
    let e = CatalogFile::parse(&twice, "t.toml").unwrap().validate("t.toml").unwrap_err().to_string();
    assert!(e.contains("stems[0].sizes[1].size") && e.contains("twice"), "{e}");
}

/// A stem size's own geometry is read with the catalog file: its frame path resolved
/// against the file's folder and checked against the size's numbers.
#[test]
fn a_stem_size_frame_is_resolved_and_checked_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let stems = include_str!("../../catalog/stems.toml");
    let file = CatalogFile::parse(stems, "stems.toml").unwrap();
    let mut one = file.stems[0].clone();
    one.sizes.truncate(1);
    one.sizes[0].frame = Some("parts/s1.toml".into());
    let (ccd, neck) = (one.ccd_deg, one.sizes[0].neck_diameter_mm);
    let f = CatalogFile { schema_version: 1, shells: vec![], liners: vec![], heads: vec![], stems: vec![one] };
    std::fs::write(dir.path().join("stems.toml"), toml::to_string(&f).unwrap()).unwrap();
    std::fs::create_dir(dir.path().join("parts")).unwrap();
    let a = (180.0f64 - ccd).to_radians();
    let frame = |neck: f64| {
        format!(
            "schema_version = 1\npart = \"stem\"\nmesh = \"s1.stl\"\nunits = \"mm\"\nhead_centre_mm = [0.0, 0.0, 0.0]\nneck_axis = [0.0, 0.0, 1.0]\nneck_diameter_mm = {neck}\nshaft_axis = [{}, 0.0, {}]\n",
            a.sin(),
            a.cos()
        )
    };
    std::fs::write(dir.path().join("parts/s1.toml"), frame(neck)).unwrap();
    let e = Catalog::load_dir(dir.path()).unwrap_err().to_string();
    assert!(e.contains("stems[0].sizes[0].frame") && e.contains("s1.stl") && e.contains("does not exist"), "{e}");
    std::fs::write(dir.path().join("parts/s1.stl"), "solid s\nendsolid s\n").unwrap();
    let c = Catalog::load_dir(dir.path()).unwrap();
    assert_eq!(c.stems[0].sizes[0].frame.as_deref(), Some(dir.path().join("parts/s1.toml").as_path()));
    std::fs::write(dir.path().join("parts/s1.toml"), frame(neck + 2.0)).unwrap();
    let e = Catalog::load_dir(dir.path()).unwrap_err().to_string();
    assert!(e.contains("neck") && e.contains("make them one"), "{e}");
}

/// A shell size's own cup is read with the catalog folder: its frame resolved, its bearing
/// taken from the frame; a size the series lacks, a second frame for a size, a bearing
/// larger than the shell's inside, a stem's frame and a frame given outside a folder are
/// refused, each naming the field.
#[test]
fn a_shell_size_frame_is_resolved_and_checked_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let file = CatalogFile::parse(include_str!("../../catalog/shells.toml"), "shells.toml").unwrap();
    let series = file.shells[0].clone();
    let write = |frames: Vec<(f64, &str)>| {
        let mut one = series.clone();
        one.frames = frames.into_iter().map(|(d, f)| ShellFrame { outer_diameter_mm: d, frame: f.into(), bearing_diameter_mm: 0.0 }).collect();
        let f = CatalogFile { schema_version: 1, shells: vec![one], liners: vec![], heads: vec![], stems: vec![] };
        std::fs::write(dir.path().join("shells.toml"), toml::to_string(&f).unwrap()).unwrap();
    };
    std::fs::create_dir(dir.path().join("parts")).unwrap();
    let cup =
        |bearing: f64| format!("schema_version = 1\npart = \"cup\"\nmesh = \"c.stl\"\nunits = \"mm\"\ncup_centre_mm = [0.0, 0.0, 0.0]\ncup_axis = [0.0, 0.0, 1.0]\ninner_diameter_mm = {bearing}\n");
    std::fs::write(dir.path().join("parts/c.toml"), cup(32.0)).unwrap();
    std::fs::write(dir.path().join("parts/c.stl"), "solid s\nendsolid s\n").unwrap();
    write(vec![(52.0, "parts/c.toml")]);
    let c = Catalog::load_dir(dir.path()).unwrap();
    let z = c.shell_frame(52.0).unwrap();
    assert_eq!((z.frame.as_path(), z.bearing_diameter_mm), (dir.path().join("parts/c.toml").as_path(), 32.0));
    assert!(c.shell_frame(54.0).is_none());
    let refused = |frames: Vec<(f64, &str)>, want: &[&str]| {
        write(frames);
        let e = Catalog::load_dir(dir.path()).unwrap_err().to_string();
        assert!(want.iter().all(|w| e.contains(w)), "{e}");
    };
    refused(vec![(53.0, "parts/c.toml")], &["shells[0].frames[0]", "53 mm is not a size"]);
    refused(vec![(52.0, "parts/c.toml"), (52.0, "parts/c.toml")], &["shells[0].frames[1]", "second frame"]);
    std::fs::write(dir.path().join("parts/c.toml"), cup(47.0)).unwrap();
    refused(vec![(52.0, "parts/c.toml")], &["shells[0].frames[0]", "47 mm head", "46 mm inner"]);
    std::fs::write(
        dir.path().join("parts/c.toml"),
        "schema_version = 1\npart = \"stem\"\nmesh = \"c.stl\"\nunits = \"mm\"\nhead_centre_mm = [0.0, 0.0, 0.0]\nneck_axis = [0.0, 0.0, 1.0]\nneck_diameter_mm = 12.0\nshaft_axis = [0.8, 0.0, 0.6]\n",
    )
    .unwrap();
    refused(vec![(52.0, "parts/c.toml")], &["shells[0].frames[0]", "describes a stem"]);
    let mut one = series.clone();
    one.frames = vec![ShellFrame { outer_diameter_mm: 52.0, frame: "parts/c.toml".into(), bearing_diameter_mm: 0.0 }];
    let text = toml::to_string(&CatalogFile { schema_version: 1, shells: vec![one], liners: vec![], heads: vec![], stems: vec![] }).unwrap();
    let e = Catalog::default().add_text(&text, "inline").unwrap_err().to_string();
    assert!(e.contains("catalog folder"), "{e}");
}
