#!/usr/bin/env python3
"""pydicom, the peer of coxa_io::radiograph (issue 22 part 4).

    radiograph_peer.py make DIR          writes the test radiographs (CR/DX DICOM, PNG) into DIR
    radiograph_peer.py dump FILE PREFIX  reads FILE with pydicom: PREFIX.values.f32 (the modality
                                         values: pixel_array through apply_modality_lut),
                                         PREFIX.presentation.f32 (apply_voi_lut, scaled to 0..1 by
                                         pydicom's own output range, MONOCHROME1 inverted; without
                                         a window the values' minimum to maximum) and JSON on
                                         stdout (size, spacings, magnification, photometric)

Run with the project's venv (pydicom 3.0.2, numpy, Pillow).
"""

import json
import sys
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

DX = "1.2.840.10008.5.1.4.1.1.1.1"
CR = "1.2.840.10008.5.1.4.1.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"


def base(modality, sop_class, rows, cols, bits, signed, pixels, photometric="MONOCHROME2"):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[modality, str(rows), str(cols), photometric, str(bits)])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=["study", modality])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["series", modality, photometric])
    ds.Modality = modality
    ds.PatientName = "Test^Radiograph"
    ds.PatientID = "XR-0001"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16 if bits > 8 else 8
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 1 if signed else 0
    dtype = {(16, False): "<u2", (16, True): "<i2", (8, False): "u1"}[(ds.BitsAllocated, bool(signed))]
    ds.PixelData = np.ascontiguousarray(pixels.astype(dtype)).tobytes()
    return ds


def pattern(rows, cols, lo, hi, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:cols]
    band = (np.abs(x / cols - 0.3 - 0.2 * y / rows) < 0.08) * 0.5
    f = np.clip(0.2 + 0.3 * y / rows + band + 0.1 * rng.random((rows, cols)), 0, 1)
    return np.round(lo + f * (hi - lo)).astype(np.int64)


def make(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # DX, MONOCHROME1 (bone dark as stored), 12 of 16 bits, a rescale, a LINEAR window, the
    # detector's spacing and a magnification: the patient's spacing is 0.15 / 1.2 = 0.125 mm.
    px = 4095 - pattern(120, 90, 200, 3900, 1)
    ds = base("DX", DX, 120, 90, 12, False, px, "MONOCHROME1")
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = "1.5", "-100", "US"
    ds.WindowCenter, ds.WindowWidth = "2900", "4000"
    ds.PresentationLUTShape = "INVERSE"
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.ImagerPixelSpacing = [0.15, 0.15]
    ds.EstimatedRadiographicMagnificationFactor = "1.2"
    ds.ViewPosition = "AP"
    ds.save_as(out / "dx_mono1.dcm", enforce_file_format=True)
    # CR, signed, LINEAR_EXACT, PixelSpacing alone (older CR: taken as the detector's).
    px = pattern(80, 100, -1500, 1800, 2)
    ds = base("CR", CR, 80, 100, 16, True, px)
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = "100", "2400", "LINEAR_EXACT"
    ds.PixelSpacing = [0.2, 0.25]
    ds.save_as(out / "cr_exact.dcm", enforce_file_format=True)
    # DX, SIGMOID, a calibrated PixelSpacing (GEOMETRY) besides the detector's.
    px = pattern(64, 64, 0, 60000, 3)
    ds = base("DX", DX, 64, 64, 16, False, px)
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = "30000", "40000", "SIGMOID"
    ds.ImagerPixelSpacing = [0.2, 0.2]
    ds.PixelSpacing = [0.16, 0.16]
    ds.PixelSpacingCalibrationType = "GEOMETRY"
    ds.save_as(out / "dx_sigmoid.dcm", enforce_file_format=True)
    # DX, 8 bit, no window: the minimum to maximum.
    px = pattern(50, 70, 10, 240, 4)
    ds = base("DX", DX, 50, 70, 8, False, px)
    ds.ImagerPixelSpacing = [0.3, 0.3]
    ds.save_as(out / "dx_8bit.dcm", enforce_file_format=True)
    # DX with a VOI LUT Sequence (a 12-bit gamma curve of 3000 entries from 500) and a window:
    # the LUT is used.
    px = pattern(70, 60, 0, 4095, 7)
    ds = base("DX", DX, 70, 60, 12, False, px)
    ds.ImagerPixelSpacing = [0.14, 0.14]
    ds.WindowCenter, ds.WindowWidth = "2000", "4000"
    item = Dataset()
    item.add_new(0x00283002, "US", [3000, 500, 12])  # LUTDescriptor (US or SS: said explicitly)
    item.add_new(0x00283006, "US", [int(round(4095 * (k / 2999) ** 0.6)) for k in range(3000)])  # LUTData
    ds.VOILUTSequence = [item]
    ds.save_as(out / "dx_voilut.dcm", enforce_file_format=True)
    # PNGs: 16 and 8 bit grey.
    Image.fromarray(pattern(60, 40, 0, 65535, 5).astype(np.uint16)).save(out / "grey16.png")
    Image.fromarray(pattern(60, 40, 0, 255, 6).astype(np.uint8)).save(out / "grey8.png")


def dump(path, prefix):
    ds = pydicom.dcmread(path)
    raw = ds.pixel_array
    values = apply_modality_lut(raw, ds).astype(np.float64)
    if "VOILUTSequence" in ds:
        bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
        pres = apply_voi_lut(values, ds, prefer_lut=True).astype(np.float64) / (2**bits - 1)
    elif "WindowCenter" in ds:
        y = apply_voi_lut(values, ds)
        bits = int(ds.BitsStored)
        lo, hi = (0, 2**bits - 1) if ds.PixelRepresentation == 0 else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        if "RescaleSlope" in ds and "RescaleIntercept" in ds:
            lo, hi = lo * float(ds.RescaleSlope) + float(ds.RescaleIntercept), hi * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        pres = (y - lo) / (hi - lo)
    else:
        pres = (values - values.min()) / (values.max() - values.min())
    if ds.PhotometricInterpretation == "MONOCHROME1":
        pres = 1.0 - pres
    values.astype("<f4").tofile(f"{prefix}.values.f32")
    pres.astype("<f4").tofile(f"{prefix}.presentation.f32")
    g = lambda k: [float(v) for v in ds[k].value] if k in ds else None
    print(json.dumps({
        "rows": int(ds.Rows), "cols": int(ds.Columns),
        "imager_pixel_spacing": g("ImagerPixelSpacing"), "pixel_spacing": g("PixelSpacing"),
        "magnification": float(ds.EstimatedRadiographicMagnificationFactor) if "EstimatedRadiographicMagnificationFactor" in ds else None,
        "photometric": str(ds.PhotometricInterpretation),
        "pydicom": pydicom.__version__,
    }))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        dump(sys.argv[2], sys.argv[3])
