"""Packs a CT series as hospitals hand it over: a DICOM CD's folder (pydicom's FileSet: a DICOMDIR
beside PT*/ST*/SE*/IM* files) and that folder zipped (Python's zipfile, deflated, with a macOS
resource fork beside it); and a zip bomb (one member of zeros).

usage: dicom_cd.py SERIES_DIR CD_DIR CD_ZIP BOMB_ZIP BOMB_MB
"""
import os
import sys
import zipfile

import pydicom
from pydicom.fileset import FileSet

series, cd, cd_zip, bomb, bomb_mb = sys.argv[1:6]
fs = FileSet()
for f in sorted(os.listdir(series)):
    ds = pydicom.dcmread(os.path.join(series, f))
    # A CD's DICOMDIR needs the study's date, time and ID (PS3.3 F.5), which coxa leaves empty.
    ds.StudyDate, ds.StudyTime, ds.StudyID = ds.StudyDate or "20260101", ds.StudyTime or "120000", ds.StudyID or "1"
    fs.add(ds)
fs.write(cd)
with zipfile.ZipFile(cd_zip, "w", zipfile.ZIP_DEFLATED) as z:
    for root, _, files in os.walk(cd):
        for f in files:
            p = os.path.join(root, f)
            z.write(p, os.path.join("study", os.path.relpath(p, cd)))
    z.writestr("__MACOSX/study/._DICOMDIR", b"\0" * 100)
with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("zeros.dcm", "w", force_zip64=True) as m:
        chunk = b"\0" * (1 << 20)
        for _ in range(int(bomb_mb)):
            m.write(chunk)
