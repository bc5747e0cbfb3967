"""One test each for anatomy, rom, msk (hip contact force), radiomics, lesions and a whole case,
on small inputs: each result equals the program's record, arrays in where a stage takes a CT."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import coxa
from conftest import ROOT, data, run_cli


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
    # The surfaces as Mesh objects, handed over in memory (issue 58): the same records.
    m = coxa.anatomy(meshes={"hip_right": coxa.read_mesh(hip), "femur_right": coxa.read_mesh(femur)})
    assert m.landmarks_record is not None and a.landmarks_record is not None
    assert strip(m.to_dict()) == strip(a.to_dict()) and strip(m.landmarks_record.to_dict()) == strip(a.landmarks_record.to_dict())
    assert strip(a.landmarks_record.to_dict()) == strip(json.loads((tmp_path / "a" / "landmarks.json").read_text()))
    with pytest.raises(coxa.InputError, match="unknown structure"):
        coxa.anatomy(meshes={"pelvis": hip})
    with pytest.raises(coxa.ArgumentError, match="one of the two"):
        coxa.anatomy()


def test_anatomy_from_ct_arrays_equals_the_programs(tmp_path, coxa_bin):
    # The real CT and TotalSegmentator's labels as arrays, in memory: the program's records on the
    # same files, and its label map; with out=, the program's folder.
    ct_file, seg_file = data("totalseg/example_ct.nii.gz"), data("totalseg/example_seg_fast_force_split.nii.gz")
    ct, seg = coxa.read_volume(ct_file), coxa.read_label_map(seg_file)
    a = coxa.anatomy(ct, labels=seg, out=tmp_path / "py")
    r = run_cli(coxa_bin, "anatomy", "--ct", str(ct_file), "--labels", str(seg_file), "--out", str(tmp_path / "cli"))
    assert r.returncode == 0, r.stderr
    assert strip(a.to_dict()) == strip(json.loads((tmp_path / "cli" / "anatomy.json").read_text()))
    assert a.landmarks_record is not None
    assert strip(a.landmarks_record.to_dict()) == strip(json.loads((tmp_path / "cli" / "landmarks.json").read_text()))
    assert a.labels is not None and np.array_equal(a.labels.array, coxa.read_label_map(tmp_path / "cli" / "labels.nii.gz").array)
    assert sorted(p.name for p in (tmp_path / "py").iterdir()) == sorted(p.name for p in (tmp_path / "cli").iterdir())
    with pytest.raises(coxa.InputError, match="already exists"):
        coxa.anatomy(ct, labels=seg, out=tmp_path / "py")


def test_rom_equals_the_programs(coxa_bin):
    r = coxa.rom(head_mm=36, cup_inclination_deg=45, cup_anteversion_deg=15)
    cli = run_cli(coxa_bin, "rom", "--head-mm", "36", "--cup-inclination-deg", "45", "--cup-anteversion-deg", "15", "--json")
    assert cli.returncode == 0, cli.stderr
    assert r.to_dict() == json.loads(cli.stdout)
    flexion = [m for m in r.motions if m.name == "flexion"][0]
    assert 90 < flexion.limit_deg <= 180
    with pytest.raises(coxa.InputError, match="^--head-mm is NaN: give a finite number$"):
        coxa.rom(head_mm=float("nan"))
    # With the bones (issue 58: typed keyword arguments, the surfaces handed over in memory or as
    # files): the program's record on the same files, either way.
    hip, femur = data("vsd_bones/z013_Hip_R.stl"), data("vsd_bones/z013_Femur_R.stl")
    cli = run_cli(coxa_bin, "rom", "--mesh", f"hip_right={hip}", "--mesh", f"femur_right={femur}", "--head-mm", "32", "--stem-anteversion-deg", "12", "--json")
    assert cli.returncode == 0, cli.stderr
    files = coxa.rom({"hip_right": hip, "femur_right": femur}, head_mm=32, stem_anteversion_deg=12)
    arrays = coxa.rom({"hip_right": coxa.read_mesh(hip), "femur_right": coxa.read_mesh(femur)}, head_mm=32, stem_anteversion_deg=12)
    assert files.to_dict() == json.loads(cli.stdout)
    assert arrays.to_dict() == files.to_dict()
    assert any(m.contact != "none" for m in arrays.motions), "the bones take part"
    with pytest.raises(coxa.InputError, match="unknown structure \"pelvis\""):
        coxa.rom({"pelvis": hip})


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
    # Typed keyword arguments (issue 58), a tuple as the flag's comma list: the program's record.
    shifted = coxa.msk(pelvis, femur, side="R", body_weight_n=767, activity="one-leg-stance", cor_shift_mm=(0, 2, -3), offset_change_mm=-1.5)
    cli = run_cli(coxa_bin, "hcf", "--pelvis-landmarks", str(pelvis), "--femur-landmarks", str(femur), "--side", "R", "--body-weight-n", "767", "--activity", "one-leg-stance", "--cor-shift-mm", "0,2,-3", "--offset-change-mm=-1.5", "--json")
    assert cli.returncode == 0, cli.stderr
    assert shifted.to_dict() == json.loads(cli.stdout)
    assert shifted.magnitude_percent_bw != h.magnitude_percent_bw


def test_radiomics_on_files_and_on_arrays(tmp_path, coxa_bin, capfd):
    image, mask = data("pyradiomics/brain1_image.nrrd"), data("pyradiomics/brain1_label.nrrd")
    r = coxa.radiomics(image, mask)
    assert capfd.readouterr().out == "", "nothing printed"
    cli = run_cli(coxa_bin, "radiomics", "--image", str(image), "--mask", str(mask), "--out", str(tmp_path / "r.json"))
    assert cli.returncode == 0, cli.stderr
    assert strip(r.to_dict()) == strip(json.loads((tmp_path / "r.json").read_text()))
    rows = r.to_rows()
    assert rows[0]["label"] == 1 and "original_firstorder_Mean" in rows[0]
    # The same image and mask as arrays, handed to coxa in memory (issue 58): the same record but
    # for the image's name, and no file written (strace, as for coxa.case below).
    script = tmp_path / "arrays.py"
    script.write_text(
        "import json, sys, coxa\n"
        f"v, m = coxa.read_volume({str(image)!r}, any_modality=True), coxa.read_label_map({str(mask)!r})\n"
        "r = coxa.radiomics(v, m)\n"
        f"open({str(tmp_path / 'arrays.json')!r}, 'x').write(json.dumps(r.to_dict()))\n"
    )
    log = tmp_path / "strace.log"
    traced = ["strace", "-f", "-qq", "-y", "-e", f"trace={WRITING_CALLS}", "-o", str(log), sys.executable, "-B", str(script)]
    run = subprocess.run(traced, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    written = written_paths(log.read_text(), tmp_path)
    outside = sorted(str(p) for p in written if p != tmp_path / "arrays.json" and not any(a == p or a in p.parents for a in (Path("/dev"), Path("/proc"))))
    assert not outside, f"coxa.radiomics on arrays wrote {outside}"
    arrays = json.loads((tmp_path / "arrays.json").read_text())
    unnamed = lambda d: [{k: v for k, v in row.items() if k != "image"} for row in strip(d)["rows"]]
    assert unnamed(arrays) == unnamed(r.to_dict()), "the arrays' features are the files'"
    assert {row["image"] for row in arrays["rows"]} == {"(in memory)"}
    v, m = coxa.read_volume(image, any_modality=True), coxa.read_label_map(mask)
    assert arrays["rows"][0]["features"]["original_firstorder_Mean"] == pytest.approx(float(v.array[m.array == 1].astype(np.float64).mean()), rel=1e-12)
    # Refused as the program refuses: an empty mask, named.
    empty = coxa.LabelMap(np.zeros_like(m.array), m.spacing, m.origin, m.direction, {})
    with pytest.raises(coxa.InputError, match="the mask is empty"):
        coxa.radiomics(v, empty)


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
    # The same CT and label map as arrays, handed to coxa in memory (issue 58): the same record but
    # for the inputs' names, the same map, and no file written (strace, as for coxa.radiomics).
    script = tmp_path / "arrays.py"
    script.write_text(
        "import json, coxa, numpy\n"
        f"v, m = coxa.read_volume({str(ct)!r}), coxa.read_label_map({str(seg)!r})\n"
        "r = coxa.lesions(v, labels=m)\n"
        f"open({str(tmp_path / 'arrays.json')!r}, 'x').write(json.dumps(r.to_dict()))\n"
        f"numpy.save({str(tmp_path / 'map.npy')!r}, r.map.array)\n"
    )
    log = tmp_path / "strace.log"
    traced = ["strace", "-f", "-qq", "-y", "-e", f"trace={WRITING_CALLS}", "-o", str(log), sys.executable, "-B", str(script)]
    run = subprocess.run(traced, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    kept = (tmp_path / "arrays.json", tmp_path / "map.npy")
    written = written_paths(log.read_text(), tmp_path)
    outside = sorted(str(p) for p in written if p not in kept and not any(a == p or a in p.parents for a in (Path("/dev"), Path("/proc"))))
    assert not outside, f"coxa.lesions on arrays wrote {outside}"
    arrays = strip(json.loads((tmp_path / "arrays.json").read_text()))
    assert (arrays.pop("ct"), arrays.pop("bones")) == ("(in memory)", "label map (in memory)")
    files = strip(r.to_dict())
    assert files.pop("ct") == "example_ct.nii.gz" and files.pop("bones") == "label map example_seg_fast_force_split.nii.gz"
    assert arrays == files, "the arrays' lesions are the files'"
    assert np.array_equal(np.load(tmp_path / "map.npy"), r.map.array)


# The calls that create, replace or remove a file or folder, as strace names them.
WRITING_CALLS = "open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,link,linkat,symlink,symlinkat,truncate"
CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+)")
# A path argument: "name", or dirfd<folder>, "name" (strace -y).
ARG = re.compile(r'(?:(?:AT_FDCWD|\d+)(?:<([^>]*)>)?,\s*)?"((?:[^"\\]|\\.)*)"')


def strace_calls(log: str):
    """The calls of a ``strace -f`` log, one text each (``openat(...) = 3``), a call that another
    thread interrupted (``<unfinished ...>`` and ``<... openat resumed>``) joined again."""
    pending = {}
    for line in log.splitlines():
        pid, _, rest = line.partition(" ")
        rest = rest.strip()
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
        elif rest.startswith("<... ") and " resumed>" in rest:
            yield pending.pop(pid, "") + rest.split(" resumed>", 1)[1]
        else:
            yield rest


def written_paths(log: str, cwd: Path) -> set:
    """Every path a successful call of ``strace -f -y -e trace=WRITING_CALLS`` created, replaced
    or removed (an open only when it writes or creates)."""
    out = set()
    for text in strace_calls(log):
        m = CALL.match(text)
        if not m or int(m.group(3)) < 0:
            continue
        call, args = m.group(1), m.group(2)
        if call in ("open", "openat") and not re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", args):
            continue
        for folder, name in ARG.findall(args):
            base = Path(folder) if folder else cwd
            out.add(Path(os.path.normpath(base / name)))
    return out


def test_whole_case_from_ct_arrays_is_planned_in_memory_as_the_program_plans_it(tmp_path, coxa_bin):
    # coxa.case with the CT and label map as arrays, run under strace: nothing written outside
    # the case folder (and the `.NAME.partial` folder beside it, which becomes the case folder
    # when it is complete), and plan.json equal to the program's on the same files.
    ct_file, seg_file = data("totalseg/example_ct.nii.gz"), data("totalseg/example_seg_fast_force_split.nii.gz")
    out = tmp_path / "py" / "case"
    out.parent.mkdir()
    script = tmp_path / "run.py"
    script.write_text(
        "import coxa\n"
        f"ct = coxa.read_volume({str(ct_file)!r})\n"
        f"seg = coxa.read_label_map({str(seg_file)!r})\n"
        f"c = coxa.case(ct, labels=seg, side='right', out={str(out)!r})\n"
        "assert c.plan is not None and c.plan.side == 'right'\n"
    )
    log = tmp_path / "strace.log"
    traced = ["strace", "-f", "-qq", "-y", "-e", f"trace={WRITING_CALLS}", "-o", str(log), sys.executable, "-B", str(script)]
    r = subprocess.run(traced, capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    written = written_paths(log.read_text(), tmp_path)
    allowed = (out, out.parent / f".{out.name}.partial", Path("/dev"), Path("/proc"))
    outside = sorted(str(p) for p in written if not any(p == a or a in p.parents for a in allowed))
    assert not outside, f"written outside {out}: {outside}"
    # strace saw the case written: files in the partial folder, then the partial folder renamed.
    partial = out.parent / f".{out.name}.partial"
    assert out in written and any(partial in p.parents for p in written), sorted(map(str, written))[:20]
    for f in ("plan.json", "report.html", "report.pdf", "manifest.json", "anatomy/labels.nii.gz", "input/ct.nii.gz", "input/labels.nii.gz"):
        assert (out / f).is_file(), f
    c = coxa.read_case(out)
    assert c.plan is not None
    assert c.summary.to_dict()["side"] == "right"
    assert c.report.to_dict() == json.loads((out / "report.json").read_text())
    assert set(c.to_dict()) == {"plan", "anatomy", "landmarks", "report", "summary"}
    # The program on the files: the same plan.
    cli = tmp_path / "cli"
    rr = run_cli(coxa_bin, "plan", "--ct", str(ct_file), "--labels", str(seg_file), "--side", "right", "--out", str(cli))
    assert rr.returncode == 0, rr.stderr
    assert strip(json.loads((out / "plan.json").read_text())) == strip(json.loads((cli / "plan.json").read_text()))


def test_a_ct_array_that_is_not_a_ct_is_refused_as_a_file_is(tmp_path):
    v = coxa.Volume(np.full((8, 8, 8), 40, dtype=np.int16), spacing=(1, 1, 1))
    with pytest.raises(coxa.InputError, match="the CT given in memory: .*not a CT"):
        coxa.plan(ct=v, side="right", out=tmp_path / "p")
    v.array[0, 0, 0] = -1000
    nan = coxa.Volume(v.array.astype(np.float32), spacing=(1, 1, 1))
    nan.array[1, 1, 1] = np.nan
    with pytest.raises(coxa.InputError, match="the CT given in memory: 1 of 512 voxels are not numbers"):
        coxa.plan(ct=nan, side="right", out=tmp_path / "p")
    assert not (tmp_path / "p").exists() and not (tmp_path / ".p.partial").exists()


def onnx_runtime() -> Path:
    """ONNX Runtime's library in the checkout's .venv (scripts/setup). The module in this fresh
    virtual environment finds it through $ORT_DYLIB_PATH (the program finds the .venv above it)."""
    libs = sorted((ROOT / ".venv" / "lib").glob("python3*/site-packages/onnxruntime/capi/libonnxruntime.so.*"))
    if not libs:
        assert "CI" not in os.environ, "ONNX Runtime is needed in CI (scripts/setup installs it in .venv)"
        pytest.skip("no ONNX Runtime in .venv (scripts/setup)")
    return libs[0]


def test_segment_of_a_ct_array_equals_the_program(tmp_path, coxa_bin):
    os.environ.setdefault("ORT_DYLIB_PATH", str(onnx_runtime()))
    nn = ROOT / "models" / "infer" / "tests" / "nnunet"
    ct = coxa.read_volume(nn / "ct.nii.gz")
    r = coxa.segment(ct, nn / "card.toml", folds=[0], no_mirror=True, batch=4, out=tmp_path / "py")
    cli = run_cli(coxa_bin, "segment", "--ct", str(nn / "ct.nii.gz"), "--model", str(nn / "card.toml"), "--out", str(tmp_path / "cli"), "--fold", "0", "--no-mirror", "--batch", "4")
    assert cli.returncode == 0, cli.stderr
    # The arrays handed back are the program's files' voxels, on the CT's grid.
    labels = coxa.read_label_map(tmp_path / "cli" / "labels.nii.gz")
    unc = coxa.read_volume(tmp_path / "cli" / "uncertainty.nii.gz", any_modality=True)
    assert np.array_equal(r.labels.array, labels.array) and np.array_equal(r.uncertainty.array, unc.array)
    assert r.labels.spacing == ct.spacing and r.labels.origin == ct.origin and r.labels.direction == ct.direction
    assert r.test_model and r.record["model"]["test_model"] is True
    assert set(r.labels.classes.values()) >= {s["name"] for s in r.record["structures"] if s["label"] != 0}
    # `out` holds what the program writes, byte for byte (segment.json but its times and the
    # way ONNX Runtime was found).
    for f in ("labels.nii.gz", "uncertainty.nii.gz"):
        assert (tmp_path / "py" / f).read_bytes() == (tmp_path / "cli" / f).read_bytes(), f
    a, b = (json.loads((tmp_path / d / "segment.json").read_text()) for d in ("py", "cli"))
    for d in (a, b):
        d.pop("seconds"), d.pop("onnx_runtime"), d.pop("provenance", None)
    assert a == b
    with pytest.raises(coxa.InputError, match="already exists"):
        coxa.segment(ct, nn / "card.toml", out=tmp_path / "py")


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
    assert py_case.plan is not None and cli_case.plan is not None
    assert strip(py_case.plan.to_dict()) == strip(cli_case.plan.to_dict())
    assert strip(py_case.anatomy.to_dict()) == strip(cli_case.anatomy.to_dict())
    assert [c["case"] for c in s.to_dict()["cases"]] == ["z013"]
    with pytest.raises(coxa.InputError):
        coxa.run(tmp_path / "missing.toml", tmp_path / "nothing")
