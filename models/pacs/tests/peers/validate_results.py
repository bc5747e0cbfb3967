"""Independent check of coxa's DICOM results with pydicom and highdicom (and dciodvfy when
installed). Usage: validate_results.py RESULTS_DIR SOURCE_DIR LABELS_NII PLAN_JSON PDF PICTURES_DIR
Prints one JSON object; the Rust test asserts on it."""
import glob
import json
import os
import subprocess
import sys

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
from PIL import Image

res_dir, src_dir, labels_path, plan_path, pdf_path, pic_dir = sys.argv[1:7]
out = {"seg": None, "sr": None, "pdf": None, "sc": [], "identity": [], "references_ok": True, "dciodvfy": {}}

src = [pydicom.dcmread(f, stop_before_pixels=True) for f in sorted(glob.glob(os.path.join(src_dir, "*.dcm")))]
src_uids = {d.SOPInstanceUID for d in src}
src0 = src[0]
files = sorted(glob.glob(os.path.join(res_dir, "*.dcm")))


def refs(ds):
    """Every ReferencedSOPInstanceUID anywhere in the data set."""
    found = []
    for elem in ds.iterall():
        if elem.keyword == "ReferencedSOPInstanceUID":
            found.append(elem.value)
    return found


for f in files:
    ds = pydicom.dcmread(f)
    out["identity"].append({
        "modality": ds.Modality,
        "patient_name": str(ds.PatientName),
        "patient_id": ds.PatientID,
        "study_uid": ds.StudyInstanceUID,
        "accession": ds.get("AccessionNumber", ""),
    })
    r = refs(ds)
    if not r or not set(r) <= src_uids:
        out["references_ok"] = False
    if subprocess.run(["which", "dciodvfy"], capture_output=True).returncode == 0:
        p = subprocess.run(["dciodvfy", "-new", f], capture_output=True, text=True)
        lines = (p.stdout + p.stderr).splitlines()
        out["dciodvfy"][ds.Modality + ":" + os.path.basename(f)] = {
            "errors": [l for l in lines if l.startswith("Error")],
            "warnings": [l for l in lines if l.startswith("Warning")],
        }
    if ds.Modality == "SEG":
        seg = hd.seg.Segmentation.from_dataset(ds)
        img = nib.load(labels_path)
        lab = np.asarray(img.dataobj).astype(np.int32)
        inv = np.linalg.inv(img.affine)
        segs = []
        by_pos = {}
        for d in src:
            lps = np.array([float(x) for x in d.ImagePositionPatient])
            ras = np.array([-lps[0], -lps[1], lps[2], 1.0])
            ijk = inv @ ras
            by_pos[d.SOPInstanceUID] = int(round(ijk[2]))
        order = sorted(src_uids, key=lambda u: by_pos[u])
        for n in seg.segment_numbers:
            desc = seg.get_segment_description(n)
            label = desc.segment_label
            code = desc.segmented_property_type.value
            mods = [m.CodeMeaning for m in getattr(desc, "SegmentedPropertyTypeCodeSequence")[0].get("SegmentedPropertyTypeModifierCodeSequence", [])] if hasattr(desc, "SegmentedPropertyTypeCodeSequence") else []
            px = seg.get_pixels_by_source_instance(source_sop_instance_uids=order, segment_numbers=[n], combine_segments=False, skip_overlap_checks=True)
            per_slice_seg = [int(px[i].sum()) for i in range(len(order))]
            segs.append({"number": int(n), "label": label, "code": code, "laterality": [str(m) for m in mods], "per_slice": per_slice_seg, "voxels": int(sum(per_slice_seg))})
        out["seg"] = {"n_segments": len(segs), "segments": segs, "n_frames": int(ds.NumberOfFrames),
                      "per_slice_labels": {str(i): [int((lab[:, :, by_pos[u]] == i).sum()) for u in order] for i in sorted(set(np.unique(lab)) - {0})}}
    elif ds.Modality == "SR":
        sr = hd.sr.ComprehensiveSR.from_dataset(ds)
        report = hd.sr.MeasurementReport.from_sequence([sr])
        groups = report.get_image_measurement_groups()
        ms = []
        for g in groups:
            for m in g.get_measurements():
                ms.append({"code": m.name.value, "meaning": m.name.meaning, "value": float(m.value), "unit": m.unit.value})
        tmpl = ds.ContentTemplateSequence[0].TemplateIdentifier
        out["sr"] = {"template": tmpl, "n_groups": len(groups), "measurements": ms,
                     "tracking": [g.tracking_identifier for g in groups],
                     "observer": [c.observer_type.meaning for c in report.get_observer_contexts()]}
    elif ds.Modality == "DOC":
        doc = bytes(ds.EncapsulatedDocument)[: int(ds.EncapsulatedDocumentLength)]
        out["pdf"] = {"equal": doc == open(pdf_path, "rb").read(), "mime": ds.MIMETypeOfEncapsulatedDocument, "title": ds.DocumentTitle}
    elif ds.Modality == "OT":
        name = ds.ImageComments
        png = np.asarray(Image.open(os.path.join(pic_dir, name + ".png")).convert("RGB"))
        out["sc"].append({"name": name, "equal": bool(ds.pixel_array.shape == png.shape and (ds.pixel_array == png).all()), "shape": list(ds.pixel_array.shape)})

print(json.dumps(out))
