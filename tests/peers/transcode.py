"""Transcodes every DICOM file of SRC into OUT with the given transfer syntax, as a PACS or
gdcmconv would: GDCM (python-gdcm) for the lossless syntaxes, Pillow + pydicom for 8-bit JPEG
baseline (lossy: the HU are first mapped to 8 bits, stored = (HU + 1024) / 8).

usage: transcode.py SRC OUT SYNTAX   with SYNTAX one of implicit, rle, jpeg_lossless, jpeg2000, jpegls, jpeg_baseline
"""
import io
import os
import sys

import numpy as np

src, out, syntax = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
files = sorted(f for f in os.listdir(src) if f.endswith(".dcm"))

if syntax == "jpeg_baseline":
    import pydicom
    from PIL import Image
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    for f in files:
        ds = pydicom.dcmread(os.path.join(src, f))
        hu = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        stored = np.clip(np.round((hu + 1024.0) / 8.0), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(stored, mode="L").save(buf, format="JPEG", quality=90)
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.RescaleSlope, ds.RescaleIntercept = 8, -1024
        ds.PixelData = encapsulate([buf.getvalue()])
        ds["PixelData"].VR = "OB"
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
        ds.save_as(os.path.join(out, f), enforce_file_format=True)
    sys.exit(0)

import gdcm

ts = {
    "rle": gdcm.TransferSyntax.RLELossless,
    "jpeg_lossless": gdcm.TransferSyntax.JPEGLosslessProcess14_1,
    "jpeg2000": gdcm.TransferSyntax.JPEG2000Lossless,
    "jpegls": gdcm.TransferSyntax.JPEGLSLossless,
    "implicit": gdcm.TransferSyntax.ImplicitVRLittleEndian,
}[syntax]
for f in files:
    r = gdcm.ImageReader()
    r.SetFileName(os.path.join(src, f))
    if not r.Read():
        sys.exit(f"GDCM cannot read {f}")
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(ts))
    change.SetInput(r.GetImage())
    if not change.Change():
        sys.exit(f"GDCM cannot transcode {f} to {syntax}")
    w = gdcm.ImageWriter()
    w.SetFileName(os.path.join(out, f))
    w.SetFile(r.GetFile())
    w.SetImage(change.GetOutput())
    if not w.Write():
        sys.exit(f"GDCM cannot write {f}")
