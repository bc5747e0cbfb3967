"""Writes a label map as TotalSegmentator writes its outputs, through nibabel (as TotalSegmentator
does), from ids and their class names:

    totalseg_outputs.py folder LABELS.nii.gz OUT_DIR NAMES_JSON
    totalseg_outputs.py ml LABELS.nii.gz OUT.nii.gz NAMES_JSON

`folder`: the default output, one uint8 mask per class named by the class, in a new folder.
`ml`: the `--ml` output, one label map with the class names in a header extension (code 0, a
Caret XML label table, as `totalsegmentator.nifti_ext_header.add_label_map_to_nifti` writes it);
the named classes get new ids from 200 up (the others keep theirs), so that only the names tell
them apart.

NAMES_JSON maps ids to class names ({"75": "femur_left", ...}); an id it does not name is
written as label_<id>. Prints the number of classes written.
"""

import json
import os
import sys

import nibabel as nib
import numpy as np


def caret_xml(names: dict[int, str]) -> bytes:
    head = '<?xml version="1.0" encoding="UTF-8"?> <CaretExtension>  <Date><![CDATA[2013-07-14T05:45:09]]></Date>   <VolumeInformation Index="0">   <LabelTable>'
    body = "".join(f'<Label Key="{k}" Red="1.0" Green="0.0" Blue="0.0" Alpha="1"><![CDATA[{v}]]></Label>\n' for k, v in names.items())
    tail = "  </LabelTable>  <StudyMetaDataLinkSet>  </StudyMetaDataLinkSet>  <VolumeType><![CDATA[Label]]></VolumeType>   </VolumeInformation></CaretExtension>"
    return (head + "\n" + body + "\n" + tail + "\n              ").encode("utf-8")


def main() -> None:
    mode, labels, out, names = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    img = nib.load(labels)
    a = np.asanyarray(img.dataobj)
    ids = [int(i) for i in np.unique(a) if i != 0]
    name = {i: names.get(str(i), f"label_{i}") for i in ids}
    if mode == "folder":
        os.makedirs(out)
        for i in ids:
            mask = nib.Nifti1Image((a == i).astype(np.uint8), img.affine, img.header)
            mask.header.extensions.clear()  # the label map's own class table, if any
            mask.set_data_dtype(np.uint8)
            nib.save(mask, os.path.join(out, name[i] + ".nii.gz"))
    elif mode == "ml":
        named = [i for i in ids if str(i) in names]
        new_id = {i: 200 + n for n, i in enumerate(named)} | {i: i for i in ids if str(i) not in names}
        renumbered = np.zeros(a.shape, np.uint16)
        for i in ids:
            renumbered[a == i] = new_id[i]
        ml = nib.Nifti1Image(renumbered, img.affine, img.header)
        ml.set_data_dtype(np.uint16)
        ml.header.extensions.clear()  # the label map's own class table, if any
        ml.header.extensions.append(nib.nifti1.Nifti1Extension(0, caret_xml({new_id[i]: name[i] for i in sorted(ids, key=lambda i: new_id[i])})))
        nib.save(ml, out)
    else:
        sys.exit(f"unknown mode {mode}")
    print(len(ids))


if __name__ == "__main__":
    main()
