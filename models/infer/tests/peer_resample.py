#!/usr/bin/env python3
"""Peer of coxa-infer's nnU-Net resampling (src/resample.rs), for tests/resample_vs_scipy.rs.

nnU-Net v2's `resample_data_or_seg` / `determine_do_sep_z_and_axis` (nnunetv2 2.8.1,
preprocessing/resampling/default_resampling.py) for one image channel, transcribed here with the
same calls to scikit-image's `resize` and scipy's `map_coordinates` (nnunetv2 itself needs torch,
which the project's .venv does not hold). The result is float64, before nnU-Net's cast.

usage: peer_resample.py IN.f32 K,J,I CURRENT_SPACING NEW_SPACING NEW_K,NEW_J,NEW_I ORDER ORDER_Z FORCE OUT.f64
  spacings as a,b,c (k, j, i); FORCE is none, true or false.
"""
import sys

import numpy as np
from scipy.ndimage import map_coordinates
from skimage.transform import resize

ANISO_THRESHOLD = 3


def lowres_axis(spacing):
    return np.where(max(spacing) / np.array(spacing) == 1)[0]


def sep_z(force, current, new):
    if force is not None:
        do, axis = force, (lowres_axis(current) if force else None)
    elif np.max(current) / np.min(current) > ANISO_THRESHOLD:
        do, axis = True, lowres_axis(current)
    elif np.max(new) / np.min(new) > ANISO_THRESHOLD:
        do, axis = True, lowres_axis(new)
    else:
        do, axis = False, None
    if axis is not None:
        if len(axis) in (2, 3):
            do, axis = False, None
        else:
            axis = axis[0]
    return do, axis


def resample(data, new_shape, order, do_separate_z, axis, order_z):
    kwargs = {"mode": "edge", "anti_aliasing": False}
    shape = np.array(data.shape)
    new_shape = np.array(new_shape)
    if np.all(shape == new_shape):
        return data.astype(float)
    data = data.astype(float)
    if not do_separate_z:
        return resize(data, new_shape, order, **kwargs)
    new_shape_2d = np.delete(new_shape, axis)
    tmp = new_shape.copy()
    tmp[axis] = shape[axis]
    here = np.zeros(tmp)
    for s in range(shape[axis]):
        idx = [slice(None)] * 3
        idx[axis] = s
        here[tuple(idx)] = resize(data[tuple(idx)], new_shape_2d, order, **kwargs)
    if shape[axis] == new_shape[axis]:
        return here
    rows, cols, dim = new_shape
    orig_rows, orig_cols, orig_dim = here.shape
    map_rows, map_cols, map_dims = np.mgrid[:rows, :cols, :dim]
    map_rows = float(orig_rows) / rows * (map_rows + 0.5) - 0.5
    map_cols = float(orig_cols) / cols * (map_cols + 0.5) - 0.5
    map_dims = float(orig_dim) / dim * (map_dims + 0.5) - 0.5
    return map_coordinates(here, np.array([map_rows, map_cols, map_dims]), order=order_z, mode="nearest")


def floats(s):
    return [float(v) for v in s.split(",")]


def main():
    inp, shape, cur, new, new_shape, order, order_z, force, out = sys.argv[1:10]
    shape = [int(v) for v in shape.split(",")]
    data = np.fromfile(inp, dtype="<f4").reshape(shape)
    force = {"none": None, "true": True, "false": False}[force]
    do, axis = sep_z(force, floats(cur), floats(new))
    res = resample(data, [int(v) for v in new_shape.split(",")], int(order), do, axis, int(order_z))
    np.ascontiguousarray(res, dtype="<f8").tofile(out)
    print(f"separate_z {do} axis {axis}")


if __name__ == "__main__":
    main()
