#!/usr/bin/env python3
"""Writes the corpus of broken and strange inputs (issue 16) into tests/corpus/files/.

Run from the repository root with the project's venv (numpy, nibabel, pydicom):
    .venv/bin/python tests/corpus/make_corpus.py
Each file is small and deterministic. What each must give (the exact error line, exit status 2)
is in tests/corpus/cases.toml; scenarios/tests/corpus.rs runs them all through `coxa`.
"""
import gzip
import os
import struct
import zlib

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")
os.makedirs(OUT, exist_ok=True)


def path(name):
    return os.path.join(OUT, name)


def box_triangles(size):
    sx, sy, sz = size
    v = [(x, y, z) for x in (0, sx) for y in (0, sy) for z in (0, sz)]
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    tris = []
    for a, b, c, d in quads:
        tris += [(v[a], v[b], v[c]), (v[a], v[c], v[d])]
    return tris


def ascii_stl(name, tris):
    with open(path(name), "w") as f:
        f.write("solid bone\n")
        for t in tris:
            f.write("facet normal 0 0 0\nouter loop\n")
            for p in t:
                f.write("vertex %r %r %r\n" % tuple(float(c) for c in p))
            f.write("endloop\nendfacet\n")
        f.write("endsolid bone\n")


# Meshes.
with open(path("stl_truncated.stl"), "wb") as f:
    f.write(b"binary stl that announces 1000 triangles".ljust(80, b" "))
    f.write(struct.pack("<I", 1000))
    f.write(b"\0" * 50 * 2)
with open(path("stl_ascii_short_vertex.stl"), "w") as f:
    f.write("solid x\nfacet normal 0 0 1\nouter loop\nvertex 1 2\nvertex 0 0 0\nvertex 0 1 0\nendloop\nendfacet\nendsolid x\n")
ascii_stl("hip_metres.stl", box_triangles((0.12, 0.13, 0.20)))
ascii_stl("femur_metres.stl", box_triangles((0.09, 0.08, 0.42)))
ascii_stl("hip_inches.stl", box_triangles((4.7, 5.1, 7.9)))
ascii_stl("femur_inches.stl", box_triangles((3.5, 3.1, 16.5)))
# A whole femur alone in cm: 45 "mm" long fits a cropped femur in mm; 3.5 "mm" thick does not.
ascii_stl("femur_cm.stl", box_triangles((4.5, 3.5, 45.0)))
# A femur sheet of 1500 vertices with 24 vertices a million mm away: a broken file.
tris = []
nx, nz = 25, 60
grid = lambda i, k: (60.0 * i / (nx - 1), 0.0, 420.0 * k / (nz - 1))
for i in range(nx - 1):
    for k in range(nz - 1):
        tris += [(grid(i, k), grid(i + 1, k), grid(i + 1, k + 1)), (grid(i, k), grid(i + 1, k + 1), grid(i, k + 1))]
for n in range(8):
    far = 1e6 + 10 * n
    tris.append(((far, 0, 0), (far, 1, 0), (far, 0, 1)))
with open(path("femur_scattered.stl"), "wb") as f:
    f.write(b"binary stl: a femur sheet and 24 far vertices".ljust(80, b" "))
    f.write(struct.pack("<I", len(tris)))
    for t in tris:
        f.write(struct.pack("<3f", 0, 0, 0))
        for p in t:
            f.write(struct.pack("<3f", *p))
        f.write(b"\0\0")
with open(path("ply_announces_a_billion.ply"), "w") as f:
    f.write("ply\nformat ascii 1.0\nelement vertex 1000000000\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")

# NIfTI.
img = nib.Nifti1Image(np.full((10, 10, 10), -1000, np.int16), np.diag([1e30, 1.0, 1.0, 1.0]))
img.header.set_zooms((1e30, 1.0, 1.0))
nib.save(img, path("nifti_spacing_1e30.nii"))
hdr = nib.Nifti1Header()
hdr.set_data_dtype(np.int16)
hdr.set_data_shape((30000, 30000, 30000))
hdr.set_zooms((1.0, 1.0, 1.0))
hdr["vox_offset"] = 352
raw = hdr.binaryblock + b"\0" * 4 + b"\0" * 4096
with gzip.GzipFile(path("nifti_announces_54_TB.nii.gz"), "wb", mtime=0) as f:
    f.write(raw)
# A CT (air, soft tissue, "bone") and its label map mirrored left/right (NIfTI RAS with this
# affine: +i points to the patient's right, so femur_left belongs at low i; here it is at high i).
ct = np.full((40, 12, 12), -1000, np.int16)
ct[2:38, 2:10, 2:10] = 40
ct[3:10, 4:8, 4:8] = 700
ct[30:37, 4:8, 4:8] = 700
nib.save(nib.Nifti1Image(ct, np.diag([2.0, 2.0, 2.0, 1.0])), path("ct_small.nii.gz"))
lab = np.zeros((40, 12, 12), np.uint8)
lab[3:10, 4:8, 4:8] = 76   # femur_right at low i = the patient's left: mirrored
lab[30:37, 4:8, 4:8] = 75  # femur_left at high i = the patient's right
nib.save(nib.Nifti1Image(lab, np.diag([2.0, 2.0, 2.0, 1.0])), path("labels_mirrored.nii.gz"))
# The same femurs on their own sides, with TotalSegmentator's CT ids (75 femur_left, 76
# femur_right): given TotalSegmentator's MR class table (ids 1-50, shared/data/totalseg) the
# lesion search searched only the bones that table happens to name (issue 61).
lab = np.zeros((40, 12, 12), np.uint8)
lab[3:10, 4:8, 4:8] = 75
lab[30:37, 4:8, 4:8] = 76
nib.save(nib.Nifti1Image(lab, np.diag([2.0, 2.0, 2.0, 1.0])), path("labels_femurs.nii.gz"))
# A CT one slice thick: no radiograph can be simulated from it.
nib.save(nib.Nifti1Image(ct[:, :, 5:6], np.diag([2.0, 2.0, 2.0, 1.0])), path("ct_one_slice.nii.gz"))
# A CT whose bone spans the whole 256 x 256 x 128 grid (two bone voxels at opposite corners): it
# reads in 40 MB, but segmenting its bounding box needs 32 bytes a voxel (256 MiB).
ct = np.full((256, 256, 128), -1000, np.int16)
ct[0, 0, 0] = 700
ct[-1, -1, -1] = 700
nib.save(nib.Nifti1Image(ct, np.diag([1.0, 1.0, 2.0, 1.0])), path("ct_bone_box_256_mib.nii.gz"))


# DICOM.
def dicom(name, rows=8, cols=8, pixels=None, **extra):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.%d" % zlib.crc32(name.encode())
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.2"
    ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.3"
    ds.Modality = "CT"
    ds.ImagePositionPatient = [0, 0, 0]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [1, 1]
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    for k, v in extra.items():
        setattr(ds, k, v)
    ds.PixelData = pixels if pixels is not None else np.zeros((rows, cols), np.int16).tobytes()
    ds.save_as(path(name), enforce_file_format=True)


dicom("dicom_rows_65535.dcm", rows=65535, cols=65535, pixels=b"\0" * 128)
dicom("dicom_rescale_slope_zero.dcm", RescaleSlope=0)
dicom("dicom_modality_mr.dcm", Modality="MR")
# Issue 61: one MR slice inside a CT series (the series was reported as CT, the MR values as HU).
os.makedirs(path("series_mixed_modality"), exist_ok=True)
for k, modality in enumerate(["CT", "MR", "CT"]):
    dicom("series_mixed_modality/%d.dcm" % k, Modality=modality, ImagePositionPatient=[0, 0, 2 * k], InstanceNumber=k + 1)


# Radiographs (issue 22 part 4: `coxa radiograph`).
def dx(name, rows=32, cols=32, frames=1, spacing=(0.15, 0.15), pixels=None):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.%d" % zlib.crc32(name.encode())
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.11"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.12"
    ds.Modality = "DX"
    ds.Rows, ds.Columns = rows, cols
    if frames > 1:
        ds.NumberOfFrames = frames
    if spacing is not None:
        ds.ImagerPixelSpacing = list(spacing)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = pixels if pixels is not None else np.zeros((frames, rows, cols), np.uint16).tobytes()
    ds.save_as(path(name), enforce_file_format=True)


with open(path("xray_no_spacing.png"), "wb") as f:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + bytes(range(32)) for _ in range(32))
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
dicom("xray_ct_slice.dcm", rows=32, cols=32)
dx("xray_multiframe.dcm", frames=3)
dx("xray_rows_20000.dcm", rows=20000, cols=20000, pixels=b"\0" * 128)
dx("xray_no_spacing.dcm", spacing=None)
dx("xray_spacing_zero.dcm", spacing=(0.0, 0.0))

# Scenarios.
OK = 'schema_version = 1\n[[cases]]\nname = "demo"\nphantom = true\n'
scen = {
    "scenario_range_of_three.toml": OK + "[plan]\ncup_inclination_range_deg = [30, 40, 50]\n",
    "scenario_placement_with_plan.toml": OK + "[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 20\n[plan]\ncup_anteversion_range_deg = [5, 30]\n",
    "scenario_stem_size_ignored.toml": OK + '[implants]\nstem_size = "2"\n',
    "scenario_nan.toml": OK + "[rom]\nstanding_tilt_deg = nan\n",
    "scenario_radians.toml": OK + "[placement]\ncup_inclination_rad = 0.7\ncup_anteversion_deg = 20\n",
    "scenario_mesh_units_on_ct.toml": 'schema_version = 1\n[[cases]]\nname = "a"\nct = "ct_small.nii.gz"\nmesh_units = "m"\n',
}
for name, text in scen.items():
    with open(path(name), "w") as f:
        f.write(text)

# Landmarks (synthetic, in mm, RAS-like: the right hip at -x as in OrthoLoad's H2R).
HEAD = "# Markups fiducial file version = 4.11\n# CoordinateSystem = RAS\n# columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,desc,associatedNodeID\n"
def fcsv(name, points):
    with open(path(name), "w") as f:
        f.write(HEAD)
        for i, (label, (x, y, z)) in enumerate(points):
            f.write("%d,%r,%r,%r,0,0,0,1,1,0,1,%s,,\n" % (i, x, y, z, label))
pelvis = [("HJC_R", (-80.0, 30.0, 1670.0)), ("HJC_L", (80.0, 30.0, 1670.0))]
femur = [("HJC_R", (-80.0, 30.0, 1670.0)), ("P1_R", (-110.0, 30.0, 1620.0)), ("P2_R", (-63.0, 25.0, 1236.0)),
         ("MPC_R", (-40.0, 70.0, 1251.0)), ("LPC_R", (-93.0, 65.0, 1250.0)), ("MEC_R", (-18.0, 36.0, 1258.0)), ("LEC_R", (-107.0, 37.0, 1250.0))]
fcsv("pelvis.fcsv", pelvis)
fcsv("femur.fcsv", femur)
swap = {"P1_R": "P2_R", "P2_R": "P1_R"}
fcsv("femur_p1_p2_swapped.fcsv", [(swap.get(l, l), p) for l, p in femur])
# Issue 61: a landmark given twice (the second was ignored in silence).
fcsv("pelvis_label_twice.fcsv", pelvis + [("HJC_R", (-70.0, 30.0, 1660.0))])
fcsv("femur_other_patient.fcsv", [(l, (x + 3.0, y - 40.0, z - 150.0)) for l, (x, y, z) in femur])
with open(path("model_truncated.osim"), "w") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<OpenSimDocument Version="30000">\n<Model name="gait2392">\n<BodySet>\n<objects>\n<Body name="pelvis">\n<mass>11.777')
with open(path("user_cup_nan.toml"), "w") as f:
    f.write('schema_version = 1\npart = "cup"\nmesh = "cup.stl"\nunits = "mm"\ncup_centre_mm = [0.0, 0.0, nan]\ncup_axis = [0.0, 0.0, 1.0]\ninner_diameter_mm = 32.0\n')
# Issue 61: STEP parts as an engineer's cup through the binary, the fuzzer's inputs (tests/corpus/fuzz/step/):
# a 1 km part and a radius of 1e400 (truck panicked on both), an edge whose curve truck cannot read and a plane
# placed on a zero direction (truck looped on both).
# The fuzzer's 1 km and 1e400 parts also carry a tolerance of 1.0E-99999999999999999999 (an exponent truck's parser
# panicked on, refused first since): copies with a plain tolerance show the size checks through the binary.
FUZZ_STEP = os.path.join(os.path.dirname(OUT), "fuzz", "step")
for part in ["point-1km.step", "point-1e400.step"]:
    with open(os.path.join(FUZZ_STEP, part)) as f, open(path(part), "w") as g:
        g.write(f.read().replace("1.0E-99999999999999999999", "1.0E-6"))
for name, step in [("user_cup_step_1km.toml", "point-1km.step"), ("user_cup_step_1e400.toml", "point-1e400.step"),
                   ("user_cup_step_unread_curve.toml", "step-hang-edge-curve-unread.step"),
                   ("user_cup_step_zero_direction.toml", "step-hang-zero-direction.step")]:
    with open(path(name), "w") as f:
        f.write('schema_version = 1\npart = "cup"\nmesh = "%s"\nunits = "mm"\ncup_centre_mm = [0.0, 0.0, 0.0]\n'
                'cup_axis = [0.0, 0.0, 1.0]\ninner_diameter_mm = 32.0\n' % (step if step.startswith("point-") else "../fuzz/step/" + step))
os.makedirs(path("catalog_broken"), exist_ok=True)
with open(path("catalog_broken/heads.toml"), "w") as f:
    f.write('schema_version = 1\n[[heads]]\nname = "x"\ndiameters_mm = [28, "thirty-two"]\n')

# Issue 45. Float CTs with NaN / infinite voxels (inside the femur's label): radiomics, DRR,
# density and segmentation must refuse them in one line, never panic.
ct45 = np.full((40, 12, 12), -1000, np.float32)
ct45[2:38, 2:10, 2:10] = 40
ct45[3:10, 4:8, 4:8] = 700
ct45[30:37, 4:8, 4:8] = 700
lab45 = np.zeros((40, 12, 12), np.uint8)
lab45[30:37, 4:8, 4:8] = 77  # one label (radiomics takes any)
nib.save(nib.Nifti1Image(lab45, np.diag([2.0, 2.0, 2.0, 1.0])), path("labels_femur_77.nii.gz"))
nan = ct45.copy()
nan[31, 5, 5] = np.nan
nan[32, 5, 6] = np.nan
nan[0, 0, 0] = np.nan
nib.save(nib.Nifti1Image(nan, np.diag([2.0, 2.0, 2.0, 1.0])), path("ct_nan.nii.gz"))
inf = ct45.copy()
inf[33, 6, 6] = np.inf
inf[34, 6, 6] = -np.inf
nib.save(nib.Nifti1Image(inf, np.diag([2.0, 2.0, 2.0, 1.0])), path("ct_inf.nii.gz"))
# A standing trial on gait2392 whose motion lacks hip_flexion_r (taken as 0 before issue 45).
COORDS = ["pelvis_tilt", "pelvis_list", "pelvis_rotation", "pelvis_tx", "pelvis_ty", "pelvis_tz", "hip_flexion_r", "hip_adduction_r",
          "hip_rotation_r", "knee_angle_r", "ankle_angle_r", "subtalar_angle_r", "mtp_angle_r", "hip_flexion_l", "hip_adduction_l",
          "hip_rotation_l", "knee_angle_l", "ankle_angle_l", "subtalar_angle_l", "mtp_angle_l", "lumbar_extension", "lumbar_bending", "lumbar_rotation"]
def storage(name, columns, rows, degrees):
    with open(path(name), "w") as f:
        f.write("%s\nversion=1\nnRows=%d\nnColumns=%d\ninDegrees=%s\nendheader\n" % (name, len(rows), len(columns) + 1, "yes" if degrees else "no"))
        f.write("\t".join(["time"] + columns) + "\n")
        for t, values in rows:
            f.write("\t".join("%r" % v for v in [t] + values) + "\n")
kept = [c for c in COORDS if c != "hip_flexion_r"]
storage("ik_no_hip_flexion_r.mot", kept, [(0.01 * k, [0.95 if c == "pelvis_ty" else 0.0 for c in kept]) for k in range(10)], True)
# Issue 61: a column no coordinate of the model has (a typo), and a coordinate's column given twice.
storage("ik_unknown_column.mot", COORDS + ["hip_flexon_r"], [(0.01 * k, [0.95 if c == "pelvis_ty" else 0.0 for c in COORDS + ["x"]]) for k in range(10)], True)
storage("ik_column_twice.mot", COORDS + ["knee_angle_r"], [(0.01 * k, [0.95 if c == "pelvis_ty" else 0.0 for c in COORDS + ["x"]]) for k in range(10)], True)
storage("grf_standing.mot", ["ground_force_vx", "ground_force_vy", "ground_force_vz", "ground_force_px", "ground_force_py", "ground_force_pz"],
        [(0.01 * k, [0.0, 700.0, 0.0, 0.0, 0.0, 0.08]) for k in range(10)], False)
# Model cards (issue 45): weights outside the card's folder; a coxa_class coxa does not know.
card = open(os.path.join(os.path.dirname(OUT), "..", "..", "models", "infer", "tests", "models", "threshold3.toml")).read()
with open(path("card_weights_outside.toml"), "w") as f:
    f.write(card.replace('weights = "threshold3.onnx"', 'weights = "../../../models/infer/tests/models/threshold3.onnx"'))
with open(path("card_unknown_class.toml"), "w") as f:
    f.write(card.replace('name = "bone"', 'name = "bone"\ncoxa_class = "psoas_left"', 1))
print("wrote", len(os.listdir(OUT)), "files into", OUT)
