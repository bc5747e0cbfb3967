"""Converts a classic CT series (one file a slice) into one Enhanced CT file, as a scanner or a
PACS converter would: highdicom's LegacyConvertedEnhancedCTImage (PS3.3 A.70: the functional
groups of every frame, the shared ones once), written by pydicom.

usage: enhanced_ct.py SRC_DIR OUT_FILE SYNTAX [SHUFFLE_SEED]
SYNTAX: explicit (uncompressed explicit VR little endian), rle (RLE lossless, pydicom's
encoder), or no_position (explicit, frame 5 without its PlanePositionSequence: a damaged file).
With SHUFFLE_SEED the frames are stored in a random order (their positions say where each
belongs). Prints the number of frames.
"""
import os
import random
import sys

import highdicom as hd
import pydicom
from pydicom.uid import ExplicitVRLittleEndian, RLELossless

src, out, syntax = sys.argv[1:4]
if syntax not in ("explicit", "rle", "no_position"):
    sys.exit(f"unknown syntax {syntax}")
seed = int(sys.argv[4]) if len(sys.argv) > 4 else None
slices = [pydicom.dcmread(os.path.join(src, f)) for f in sorted(os.listdir(src))]
slices.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
if seed is not None:
    random.Random(seed).shuffle(slices)
image = hd.legacy.LegacyConvertedEnhancedCTImage(
    legacy_datasets=slices,
    series_instance_uid=hd.UID(),
    series_number=7,
    sop_instance_uid=hd.UID(),
    instance_number=1,
    transfer_syntax_uid=RLELossless if syntax == "rle" else ExplicitVRLittleEndian,
    # Shuffled frames stay as given (no dimension index to sort them by).
    include_dimension_index=seed is None,
)
if syntax == "no_position":
    del image.PerFrameFunctionalGroupsSequence[4].PlanePositionSequence
image.save_as(out, enforce_file_format=True)
print(image.NumberOfFrames)
