"""Reads a CT with SimpleITK and prints its grid and statistics as one JSON line.

usage: .venv/bin/python benches/sitk_stats.py PATH   (a DICOM folder, .nii or .nii.gz)

The SimpleITK side of benches/io_process.py: a DICOM folder is read the way a user calls it
(GetGDCMSeriesFileNames + ImageSeriesReader), a file with ReadImage; the statistics come from
StatisticsImageFilter (multi-threaded, sum in double). `read_s` is the time of the read alone,
inside the process.
"""
import json
import os
import sys
import time

import SimpleITK as sitk

path = sys.argv[1]
start = time.perf_counter()
if os.path.isdir(path):
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(path))
    image = reader.Execute()
    n_files = len(reader.GetFileNames())
else:
    image = sitk.ReadImage(path)
    n_files = 1
read_s = time.perf_counter() - start
stats = sitk.StatisticsImageFilter()
stats.Execute(image)
total_s = time.perf_counter() - start
print(
    json.dumps(
        {
            "size": list(image.GetSize()),
            "spacing_mm": list(image.GetSpacing()),
            "origin_lps_mm": list(image.GetOrigin()),
            "min_hu": stats.GetMinimum(),
            "max_hu": stats.GetMaximum(),
            "sum_hu": stats.GetSum(),
            "mean_hu": stats.GetMean(),
            "n_files": n_files,
            "pixel_type": image.GetPixelIDTypeAsString(),
            "read_s": read_s,
            "read_and_stats_s": total_s,
        }
    )
)
