"""Independent check of coxa's lesion SEG with highdicom and pydicom.
Usage: validate_lesion_seg.py SEG_FILE SOURCE_DIR LESIONS_NII
Prints one JSON object: the segments (number, label, codes, description, laterality, voxels per
source slice) and, per label value of the NIfTI map, its voxels per source slice (slices in the
order of the source's positions along the map's k axis). The Rust test asserts on it."""
import glob
import json
import os
import sys

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom

seg_path, src_dir, map_path = sys.argv[1:4]
src = [pydicom.dcmread(f, stop_before_pixels=True) for f in sorted(glob.glob(os.path.join(src_dir, "*.dcm")))]
img = nib.load(map_path)
lab = np.asarray(img.dataobj).astype(np.int32)
inv = np.linalg.inv(img.affine)
by_pos = {}
for d in src:
    lps = np.array([float(x) for x in d.ImagePositionPatient])
    by_pos[d.SOPInstanceUID] = int(round((inv @ np.array([-lps[0], -lps[1], lps[2], 1.0]))[2]))
order = sorted(by_pos, key=lambda u: by_pos[u])
ds = pydicom.dcmread(seg_path)
seg = hd.seg.Segmentation.from_dataset(ds)
segs = []
for n in seg.segment_numbers:
    desc = seg.get_segment_description(n)
    mods = [str(m.CodeMeaning) for m in desc.SegmentedPropertyTypeCodeSequence[0].get("SegmentedPropertyTypeModifierCodeSequence", [])]
    px = seg.get_pixels_by_source_instance(source_sop_instance_uids=order, segment_numbers=[n], combine_segments=False, skip_overlap_checks=True)
    segs.append({
        "number": int(n),
        "label": desc.segment_label,
        "description": str(desc.get("SegmentDescription", "")),
        "category": [desc.segmented_property_category.value, desc.segmented_property_category.scheme_designator],
        "type": [desc.segmented_property_type.value, desc.segmented_property_type.scheme_designator],
        "laterality": mods,
        "per_slice": [int(px[i].sum()) for i in range(len(order))],
    })
print(json.dumps({
    "modality": ds.Modality,
    "series_description": ds.SeriesDescription,
    "study_uid": ds.StudyInstanceUID,
    "source_study_uid": src[0].StudyInstanceUID,
    "frame_of_reference_ok": ds.FrameOfReferenceUID == src[0].FrameOfReferenceUID,
    "segments": segs,
    "per_slice_labels": {str(i): [int((lab[:, :, by_pos[u]] == i).sum()) for u in order] for i in sorted(set(np.unique(lab).tolist()) - {0})},
}))
