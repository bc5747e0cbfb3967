"""One test each for anatomy, rom, msk (hip contact force), radiomics, lesions and a whole case,
on small inputs: each result equals the program's record, arrays in where a stage takes a CT."""

import json

import numpy as np
import pytest

import coxa
from conftest import data, run_cli


def strip(d):
    """A record without its provenance and build text: the git revision the program was built at
    may differ, and the package is a headless build ("0.1.0+REV (headless build: ...)") where the
    program in target/ has the window."""
    d = dict(d)
    d.pop("provenance", None)
    if "coxa_version" in d:
        v = d.pop("coxa_version")
        assert v == coxa.__version__ or v.startswith(coxa.__version__ + "+"), v
    return d


def test_anatomy_from_surfaces_equals_the_programs(tmp_path, coxa_bin, capfd):
    hip, femur = data("vsd_bones/z013_Hip_R.stl"), data("vsd_bones/z013_Femur_R.stl")
    a = coxa.anatomy(meshes={"hip_right": hip, "femur_right": femur})
    # Nothing printed: the record is the answer (the program prints "wrote ..." lines).
    assert capfd.readouterr().out == ""
    assert isinstance(a, coxa.AnatomyRecord)
    r = run_cli(coxa_bin, "anatomy", "--mesh", f"hip_right={hip}", "--mesh", f"femur_right={femur}", "--out", str(tmp_path / "a"))
    assert r.returncode == 0, r.stderr
    assert strip(a.to_dict()) == strip(json.loads((tmp_path / "a" / "anatomy.json").read_text()))
    head = [h for h in a.femoral_heads if h.side == "right"][0]
    assert 15 < head.radius_mm < 30
    assert a.landmarks_record is not None and a.labels is None
    # anatomy.json read back is checked against its schema.
    assert coxa.AnatomyRecord.from_dict(a.to_dict()) == a
    with pytest.raises(coxa.SchemaError):
        coxa.AnatomyRecord.from_dict({**a.to_dict(), "femoral_heads": "none"})


def test_rom_equals_the_programs(coxa_bin):
    r = coxa.rom(head_mm=36, cup_inclination_deg=45, cup_anteversion_deg=15)
    cli = run_cli(coxa_bin, "rom", "--head-mm", "36", "--cup-inclination-deg", "45", "--cup-anteversion-deg", "15", "--json")
    assert cli.returncode == 0, cli.stderr
    assert r.to_dict() == json.loads(cli.stdout)
    flexion = [m for m in r.motions if m.name == "flexion"][0]
    assert 90 < flexion.limit_deg <= 180
    with pytest.raises(coxa.InputError, match="^--head-mm is NaN: give a finite number$"):
        coxa.rom(head_mm=float("nan"))


def test_msk_hip_contact_force_equals_the_programs(coxa_bin):
    lm = "orthoload/Landmarks/H2R_"
    pelvis, femur = data(lm + "PelvisLandmarks.fcsv"), data(lm + "FemurLandmarks.fcsv")
    h = coxa.msk(pelvis, femur, side="R", body_weight_n=767, activity="one-leg-stance")
    cli = run_cli(coxa_bin, "hcf", "--pelvis-landmarks", str(pelvis), "--femur-landmarks", str(femur), "--side", "R", "--body-weight-n", "767", "--activity", "one-leg-stance", "--json")
    assert cli.returncode == 0, cli.stderr
    assert h.to_dict() == json.loads(cli.stdout)
    # One-leg stance loads the hip with a few times body weight.
    assert 150 < h.magnitude_percent_bw < 600
    with pytest.raises(coxa.InputError, match="body-weight-n"):
        coxa.msk(pelvis, femur, side="R", body_weight_n=5, activity="one-leg-stance")


def test_radiomics_on_files_and_on_arrays(tmp_path, coxa_bin, capfd):
    image, mask = data("pyradiomics/brain1_image.nrrd"), data("pyradiomics/brain1_label.nrrd")
    r = coxa.radiomics(image, mask)
    assert capfd.readouterr().out == "", "nothing printed"
    cli = run_cli(coxa_bin, "radiomics", "--image", str(image), "--mask", str(mask), "--out", str(tmp_path / "r.json"))
    assert cli.returncode == 0, cli.stderr
    assert strip(r.to_dict()) == strip(json.loads((tmp_path / "r.json").read_text()))
    rows = r.to_rows()
    assert rows[0]["label"] == 1 and "original_firstorder_Mean" in rows[0]
    # The same image and mask as arrays (read by coxa, written for the command as NIfTI).
    v, m = coxa.read_volume(image, any_modality=True), coxa.read_label_map(mask)
    ra = coxa.radiomics(v, m).to_rows()[0]
    assert ra["original_firstorder_Mean"] == rows[0]["original_firstorder_Mean"]
    assert ra["original_firstorder_Mean"] == pytest.approx(float(v.array[m.array == 1].astype(np.float64).mean()), rel=1e-12)


def test_lesions_equal_the_programs(tmp_path, coxa_bin, capfd):
    ct, seg = data("totalseg/example_ct.nii.gz"), data("totalseg/example_seg_fast_force_split.nii.gz")
    r = coxa.lesions(ct, labels=seg)
    assert capfd.readouterr().out == "", "nothing printed"
    cli = run_cli(coxa_bin, "lesions", "--ct", str(ct), "--labels", str(seg), "--out", str(tmp_path / "l"))
    assert cli.returncode == 0, cli.stderr
    assert strip(r.to_dict()) == strip(json.loads((tmp_path / "l" / "lesions.json").read_text()))
    assert r.map.array.shape == coxa.read_volume(ct).array.shape
    assert int(r.map.array.max()) == len(r.lesions)
    with pytest.raises(coxa.InputError, match="already exists"):
        coxa.lesions(ct, labels=seg, out=tmp_path / "l")


def test_whole_case_from_a_ct_array(tmp_path):
    ct = coxa.read_volume(data("totalseg/example_ct.nii.gz"))
    seg = coxa.read_label_map(data("totalseg/example_seg_fast_force_split.nii.gz"))
    c = coxa.case(ct, labels=seg, side="right", out=tmp_path / "case")
    assert c.folder == tmp_path / "case"
    for f in ("plan.json", "report.html", "report.pdf", "manifest.json", "anatomy/labels.nii.gz"):
        assert (c.folder / f).is_file(), f
    assert c.plan.to_dict() == json.loads((c.folder / "plan.json").read_text())
    assert c.plan.side == "right" and c.summary.to_dict()["side"] == "right"
    assert c.report.to_dict() == json.loads((c.folder / "report.json").read_text())
    assert set(c.to_dict()) == {"plan", "anatomy", "landmarks", "report", "summary"}


def test_scenario_run_equals_the_programs(tmp_path, coxa_bin):
    v = lambda f: str(data(f"vsd_bones/z013_{f}.stl"))  # noqa: E731
    scenario = tmp_path / "vsd.toml"
    scenario.write_text(
        'schema_version = 1\nname = "vsd"\n\n[[cases]]\nname = "z013"\nside = "right"\n'
        f'meshes = {{ hip_right = "{v("Hip_R")}", femur_right = "{v("Femur_R")}" }}\n\n'
        "[report]\nsafe_zone_map = false\n"
    )
    s = coxa.run(scenario, tmp_path / "py")
    assert isinstance(s, coxa.SummaryRecord)
    r = run_cli(coxa_bin, "run", str(scenario), "--out", str(tmp_path / "cli"), "--quiet")
    assert r.returncode == 0, r.stderr
    py_case, cli_case = coxa.read_case(tmp_path / "py" / "cases" / "z013"), coxa.read_case(tmp_path / "cli" / "cases" / "z013")
    assert strip(py_case.plan.to_dict()) == strip(cli_case.plan.to_dict())
    assert strip(py_case.anatomy.to_dict()) == strip(cli_case.anatomy.to_dict())
    assert [c["case"] for c in s.to_dict()["cases"]] == ["z013"]
    with pytest.raises(coxa.InputError):
        coxa.run(tmp_path / "missing.toml", tmp_path / "nothing")
