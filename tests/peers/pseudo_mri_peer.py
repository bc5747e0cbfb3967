"""Peer reading of `coxa pseudo-mri` outputs (scenarios/tests/coxa/pseudo_mri.rs).

grid CT PSEUDO_T2 [SEG]: SimpleITK and nibabel read the CT and the pseudo-MRI; prints JSON with
  each reader's geometry of both, and with SEG (TotalSegmentator labels on the CT's grid) the mean
  pseudo-MRI value of muscles (gluteus, iliopsoas), fat (-150..-50 HU, unlabelled), the spinal
  canal (spinal_cord, 79), cortical bone (>= 1000 HU) and air (<= -900 HU), all from nibabel.
means CT PSEUDO_T2 SEG: SimpleITK reads the CT (a DICOM folder or a NIfTI file), the pseudo-MRI and
  SEG (TotalSegmentator labels of the CT, in any orientation: resampled by nearest neighbour onto
  the pseudo-MRI's voxels); prints JSON with whether the CT and the pseudo-MRI share their grid,
  and the mean pseudo-MRI value and voxel count of the groups `grid` uses, with the back muscles
  (autochthon, 86/87) among the muscles.
dicom CT_DIR MR_DIR PSEUDO_T2: pydicom reads the MR series and the CT series; prints JSON with
  the MR files' attributes, whether each one's pixels equal the NIfTI slice SimpleITK reads at
  its position, and the SimpleITK geometry of the MR series and of the CT series.
"""

import glob
import json
import sys

import nibabel as nib
import numpy as np
import pydicom
import SimpleITK as sitk


def geometry(img):
    return {
        "size": list(img.GetSize()),
        "spacing": list(img.GetSpacing()),
        "origin": list(img.GetOrigin()),
        "direction": list(img.GetDirection()),
    }


def grid(ct_path, pm_path, seg_path=None):
    out = {"sitk": {}, "nibabel": {}}
    for name, p in (("ct", ct_path), ("pm", pm_path)):
        out["sitk"][name] = geometry(sitk.ReadImage(p))
        im = nib.load(p)
        out["nibabel"][name] = {"shape": list(im.shape), "affine": im.affine.tolist(), "zooms": [float(z) for z in im.header.get_zooms()]}
    pm = np.asanyarray(nib.load(pm_path).dataobj).astype(np.float64)
    out["pm_dtype"] = str(nib.load(pm_path).get_data_dtype())
    if seg_path:
        ct = np.asanyarray(nib.load(ct_path).dataobj).astype(np.float64)
        seg = np.asanyarray(nib.load(seg_path).dataobj)
        muscles = np.isin(seg, [80, 81, 82, 83, 84, 85, 88, 89])
        groups = {
            "muscle": muscles,
            "fat": (seg == 0) & (ct >= -150) & (ct <= -50),
            "canal": seg == 79,
            "cortical": ct >= 1000,
            "air": ct <= -900,
        }
        out["means"] = {k: float(pm[m].mean()) for k, m in groups.items()}
    print(json.dumps(out))


def read_ct(path):
    """A DICOM folder (its one series) or an image file, by SimpleITK."""
    import os
    if os.path.isdir(path):
        reader = sitk.ImageSeriesReader()
        return sitk.ReadImage(reader.GetGDCMSeriesFileNames(path))
    return sitk.ReadImage(path)


def means(ct_path, pm_path, seg_path):
    ct_img = read_ct(ct_path)
    pm_img = sitk.ReadImage(pm_path)
    seg_img = sitk.Resample(sitk.ReadImage(seg_path), pm_img, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    ct = sitk.GetArrayFromImage(ct_img).astype(np.float64)
    pm = sitk.GetArrayFromImage(pm_img).astype(np.float64)
    seg = sitk.GetArrayFromImage(seg_img)
    groups = {
        "muscle": np.isin(seg, [80, 81, 82, 83, 84, 85, 86, 87, 88, 89]),
        "fat": (seg == 0) & (ct >= -150) & (ct <= -50),
        "canal": seg == 79,
        "cortical": ct >= 1000,
        "air": ct <= -900,
    }
    print(json.dumps({
        "same_grid": geometry(ct_img) == geometry(pm_img),
        "means": {k: float(pm[m].mean()) if m.any() else None for k, m in groups.items()},
        "voxels": {k: int(m.sum()) for k, m in groups.items()},
    }))


def dicom(ct_dir, mr_dir, pm_path):
    files = sorted(glob.glob(mr_dir + "/*.dcm"))
    ct = {}
    for f in glob.glob(ct_dir + "/*"):
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
        except Exception:
            continue
        ct[ds.SOPInstanceUID] = ds
    first_ct = next(iter(ct.values()))
    nii = sitk.ReadImage(pm_path)
    arr = sitk.GetArrayFromImage(nii)
    rows = []
    for f in files:
        ds = pydicom.dcmread(f)
        ipp = [float(x) for x in ds.ImagePositionPatient]
        idx = nii.TransformPhysicalPointToIndex(ipp)
        src = [(item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID) for item in ds.get("SourceImageSequence", [])]
        src_ipp = [[float(x) for x in ct[uid].ImagePositionPatient] for _, uid in src if uid in ct]
        rows.append({
            "sop_class": ds.SOPClassUID,
            "modality": ds.Modality,
            "image_type": list(ds.ImageType),
            "series_description": ds.SeriesDescription,
            "derivation": ds.DerivationDescription,
            "comments": ds.ImageComments,
            "study_uid": ds.StudyInstanceUID,
            "series_uid": ds.SeriesInstanceUID,
            "frame_uid": ds.FrameOfReferenceUID,
            "patient_name": str(ds.PatientName),
            "patient_id": ds.PatientID,
            "tr": float(ds.RepetitionTime),
            "te": float(ds.EchoTime),
            "source": src,
            "source_ipp": src_ipp,
            "ipp": ipp,
            "pixels_equal": bool(idx[2] >= 0 and np.array_equal(ds.pixel_array.astype(np.int64), arr[idx[2]].astype(np.int64))),
            "ref_series": [s.SeriesInstanceUID for s in ds.get("ReferencedSeriesSequence", [])],
        })
    reader = sitk.ImageSeriesReader()
    mr = sitk.ReadImage(reader.GetGDCMSeriesFileNames(mr_dir))
    ctimg = sitk.ReadImage(reader.GetGDCMSeriesFileNames(ct_dir))
    print(json.dumps({
        "files": rows,
        "ct": {"study_uid": first_ct.StudyInstanceUID, "series_uid": first_ct.SeriesInstanceUID, "frame_uid": first_ct.FrameOfReferenceUID,
               "patient_name": str(first_ct.PatientName), "patient_id": first_ct.PatientID},
        "mr_geometry": geometry(mr),
        "ct_geometry": geometry(ctimg),
        "nii_geometry": geometry(nii),
        "mr_equals_nii": bool(np.array_equal(sitk.GetArrayFromImage(mr).astype(np.int64), arr.astype(np.int64))),
    }))


if __name__ == "__main__":
    if sys.argv[1] == "grid":
        grid(*sys.argv[2:])
    elif sys.argv[1] == "means":
        means(*sys.argv[2:])
    elif sys.argv[1] == "dicom":
        dicom(*sys.argv[2:])
    else:
        sys.exit("usage: pseudo_mri_peer.py grid|means|dicom ...")
