#!/usr/bin/env python3
"""nnU-Net v2's sliding-window prediction in numpy + onnxruntime: the reference coxa-infer's
window is compared with (tests/window_vs_python.rs).

Transcribed from nnU-Net v2 (Apache-2.0; nnunetv2/inference/predict_from_raw_data.py,
predict_sliding_window_return_logits, _internal_maybe_mirror_and_predict,
_internal_get_sliding_window_slicers; nnunetv2/inference/sliding_window_prediction.py,
compute_gaussian and compute_steps_for_sliding_window; acvl_utils pad_nd_image), with the
network replaced by an onnxruntime session and torch tensors by numpy arrays. One difference:
nnU-Net keeps the Gaussian in float16 on the GPU; here it is float32, as in coxa.

usage: nnunet_window.py MODEL.onnx IN.f32 C,D,H,W PD,PH,PW STEP MIRROR_AXES OUT.f32
(MIRROR_AXES: comma-separated array axes of the spatial dims, 0 = D, or "none")
"""
import itertools
import sys

import numpy as np
import onnxruntime as ort
from scipy.ndimage import gaussian_filter


def compute_gaussian(tile_size, sigma_scale=1.0 / 8, value_scaling_factor=1, dtype=np.float32):
    tmp = np.zeros(tile_size)
    center_coords = [i // 2 for i in tile_size]
    sigmas = [i * sigma_scale for i in tile_size]
    tmp[tuple(center_coords)] = 1
    g = gaussian_filter(tmp, sigmas, 0, mode="constant", cval=0)
    g = g / (np.max(g) / value_scaling_factor)
    g = g.astype(dtype)
    mask = g == 0
    g[mask] = np.min(g[~mask])
    return g


def compute_steps_for_sliding_window(image_size, tile_size, tile_step_size):
    assert all(i >= j for i, j in zip(image_size, tile_size))
    target_step_sizes_in_voxels = [i * tile_step_size for i in tile_size]
    num_steps = [int(np.ceil((i - k) / j)) + 1 for i, j, k in zip(image_size, target_step_sizes_in_voxels, tile_size)]
    steps = []
    for dim in range(len(tile_size)):
        max_step_value = image_size[dim] - tile_size[dim]
        actual_step_size = max_step_value / (num_steps[dim] - 1) if num_steps[dim] > 1 else 99999999999
        steps.append([int(np.round(actual_step_size * i)) for i in range(num_steps[dim])])
    return steps


def pad_nd_image(image, new_shape):
    old_shape = np.array(image.shape[-len(new_shape):])
    new_shape = np.max(np.vstack((np.array(new_shape), old_shape)), axis=0)
    difference = new_shape - old_shape
    pad_below = difference // 2
    pad_above = difference // 2 + difference % 2
    pad_list = [[0, 0]] * (image.ndim - len(new_shape)) + [list(i) for i in zip(pad_below, pad_above)]
    res = np.pad(image, pad_list, "constant", constant_values=0)
    slicer = [slice(None)] * (image.ndim - len(new_shape)) + [slice(b, b + s) for b, s in zip(pad_below, old_shape)]
    return res, tuple(slicer)


def main():
    model, in_path, shape, patch, step, mirror, out_path = sys.argv[1:8]
    shape = [int(s) for s in shape.split(",")]
    patch = [int(s) for s in patch.split(",")]
    step = float(step)
    mirror_axes = [] if mirror == "none" else [int(a) for a in mirror.split(",")]
    image = np.fromfile(in_path, dtype="<f4").reshape(shape)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.use_deterministic_compute = True
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    in_name, out_name = sess.get_inputs()[0].name, sess.get_outputs()[0].name
    net = lambda x: sess.run([out_name], {in_name: np.ascontiguousarray(x, dtype=np.float32)})[0]

    def maybe_mirror_and_predict(x):
        prediction = net(x)
        if mirror_axes:
            axes_combinations = [c for i in range(len(mirror_axes)) for c in itertools.combinations([m + 2 for m in mirror_axes], i + 1)]
            for axes in axes_combinations:
                prediction += np.flip(net(np.flip(x, axes)), axes)
            prediction /= len(axes_combinations) + 1
        return prediction

    data, revert = pad_nd_image(image, patch)
    steps = compute_steps_for_sliding_window(data.shape[1:], patch, step)
    gaussian = compute_gaussian(tuple(patch))
    predicted_logits = None
    n_predictions = np.zeros(data.shape[1:], np.float32)
    for sx in steps[0]:
        for sy in steps[1]:
            for sz in steps[2]:
                sl = tuple([slice(None), *[slice(s, s + p) for s, p in zip((sx, sy, sz), patch)]])
                prediction = maybe_mirror_and_predict(data[sl][None])[0]
                if predicted_logits is None:
                    predicted_logits = np.zeros((prediction.shape[0], *data.shape[1:]), np.float32)
                predicted_logits[sl] += prediction * gaussian
                n_predictions[sl[1:]] += gaussian
    predicted_logits /= n_predictions
    out = predicted_logits[(slice(None), *revert[1:])]
    np.ascontiguousarray(out, dtype="<f4").tofile(out_path)


if __name__ == "__main__":
    main()
