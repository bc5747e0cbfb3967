#!/usr/bin/env python3
"""Regenerates coxa-infer's nnU-Net v2 equality fixtures (tests/nnunet_equality.rs) with nnU-Net
itself. Needs torch and nnunetv2 (not the project's .venv: a separate venv, see the README).

usage: make_reference.py OUT_DIR   (normally models/infer/tests/nnunet)

1. A tiny nnU-Net results folder in a temporary directory: plans.json with a real nnU-Net
   3d_fullres configuration (PlainConvUNet, 3 stages, 4/8/16 features, instance norm, leaky ReLU,
   patch 24 x 32 x 28 at 2 mm, CTNormalization with fixed foreground intensity properties),
   dataset.json (CT, 3 labels), fold_0 and fold_1 checkpoints in nnU-Net's format, holding the
   network nnU-Net builds from the plans with its own He initialisation (seeds 0 and 1; not trained).
2. A CT: a 46 x 52 x 36 voxel (i, j, k) phantom at exactly the plans' spacing (so nnU-Net does not
   resample), air at the border (so nnU-Net crops nothing), soft tissue, fat, two bones, noise.
3. The ONNX export of both folds with the helper coxa ships (python/nnunet_export.py).
4. nnUNetPredictor (CPU, step 0.5, Gaussian) on that CT: fold 0 and folds 0+1, each without and
   with mirroring; its probabilities (float32, [class, k, j, i]) and labels are written raw
   (TAG.probabilities.f32, TAG.labels.u8).
5. The same four once more with nnU-Net's float16 sums of logits and weights made float32
   (`torch.half` pointed at torch.float32 while predicting; the Gaussian stays float16):
   TAG_f32acc.*. This separates nnU-Net's algorithm from its float16 rounding.
6. Steps 4 and 5 again on two CTs off the plans' spacing, so that nnU-Net resamples (order 3 to
   the plans' spacing, order 1 for the logits back): `iso` (ct_iso.nii.gz, 40 x 36 x 24 voxels of
   1.5 x 1.75 x 2.75 mm, spacing ratio 1.8: the whole volume at once; its new shape rounds a
   half to even) and `aniso` (ct_aniso.nii.gz, 64 x 56 x 10 voxels of 1.625 x 1.625 x 6.5 mm,
   ratio 4: nnU-Net's separate-z rule, order 0 along k; two halves rounded to even). Files
   iso_TAG.* and aniso_TAG.*; to keep the fixtures small, of stock nnU-Net (float16 sums) only
   the labels are kept for these two.
7. Steps 4 and 5 on a CT that nnU-Net crops (`crop_to_nonzero`: the box of the voxels that are
   not exactly 0, holes filled): `crop` (ct_crop.nii.gz, 38 x 38 x 19 voxels of 1.75 x 1.5 x
   2.5 mm, off the plans' spacing): a phantom of 30 x 28 x 14 voxels padded with 0 HU, unevenly
   (i: 5 below, 3 above; j: 4 below, 6 above; k: 2 below, 3 above), and a strip of -500 HU in
   the padding at j = 1 that widens the box there. nnU-Net predicts inside the box and puts
   background (probability 1 for class 0) outside. Files crop_TAG.*; labels of every case,
   probabilities only of fold0_f32acc and ensemble_mirror_f32acc (fixture size).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import SimpleITK as sitk
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORT = os.path.join(HERE, "..", "..", "python", "nnunet_export.py")

PLANS = {
    "dataset_name": "Dataset900_CoxaTest",
    "plans_name": "nnUNetPlans",
    "original_median_spacing_after_transp": [2.0, 2.0, 2.0],
    "original_median_shape_after_transp": [36, 52, 46],
    "image_reader_writer": "SimpleITKIO",
    "transpose_forward": [0, 1, 2],
    "transpose_backward": [0, 1, 2],
    "configurations": {
        "3d_fullres": {
            "data_identifier": "nnUNetPlans_3d_fullres",
            "preprocessor_name": "DefaultPreprocessor",
            "batch_size": 2,
            "patch_size": [24, 32, 28],
            "median_image_size_in_voxels": [36, 52, 46],
            "spacing": [2.0, 2.0, 2.0],
            "normalization_schemes": ["CTNormalization"],
            "use_mask_for_norm": [False],
            "resampling_fn_data": "resample_data_or_seg_to_shape",
            "resampling_fn_seg": "resample_data_or_seg_to_shape",
            "resampling_fn_data_kwargs": {"is_seg": False, "order": 3, "order_z": 0, "force_separate_z": None},
            "resampling_fn_seg_kwargs": {"is_seg": True, "order": 1, "order_z": 0, "force_separate_z": None},
            "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
            "resampling_fn_probabilities_kwargs": {"is_seg": False, "order": 1, "order_z": 0, "force_separate_z": None},
            "architecture": {
                "network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
                "arch_kwargs": {
                    "n_stages": 3,
                    "features_per_stage": [4, 8, 16],
                    "conv_op": "torch.nn.modules.conv.Conv3d",
                    "kernel_sizes": [[3, 3, 3], [3, 3, 3], [3, 3, 3]],
                    "strides": [[1, 1, 1], [2, 2, 2], [2, 2, 2]],
                    "n_conv_per_stage": [2, 2, 2],
                    "n_conv_per_stage_decoder": [2, 2],
                    "conv_bias": True,
                    "norm_op": "torch.nn.modules.instancenorm.InstanceNorm3d",
                    "norm_op_kwargs": {"eps": 1e-05, "affine": True},
                    "dropout_op": None,
                    "dropout_op_kwargs": None,
                    "nonlin": "torch.nn.LeakyReLU",
                    "nonlin_kwargs": {"inplace": True},
                },
                "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"],
            },
            "batch_dice": False,
        }
    },
    "experiment_planner_used": "ExperimentPlanner",
    "label_manager": "LabelManager",
    "foreground_intensity_properties_per_channel": {
        "0": {"max": 1800.0, "mean": 180.5, "median": 120.0, "min": -950.0, "percentile_00_5": -820.0, "percentile_99_5": 1350.0, "std": 310.25}
    },
}

DATASET = {
    "channel_names": {"0": "CT"},
    "labels": {"background": 0, "soft_tissue": 1, "bone": 2},
    "numTraining": 1,
    "file_ending": ".nii.gz",
}


def air_border(ct, slices_k):
    """Air (-1000 HU) on 2 voxels of the i and j borders and `slices_k` slices at each k end (so
    nnU-Net crops nothing), rounded to int16 HU."""
    ct[:, :, :2] = -1000.0
    ct[:, :, -2:] = -1000.0
    ct[:, :2, :] = -1000.0
    ct[:, -2:, :] = -1000.0
    ct[:slices_k] = -1000.0
    ct[-slices_k:] = -1000.0
    return np.round(ct).astype(np.int16)


def phantom_ct():
    """[k, j, i] int16 HU at 2 mm: air border, body, fat layer, two bones, noise."""
    nk, nj, ni = 36, 52, 46
    rng = np.random.default_rng(15)
    k, j, i = np.meshgrid(np.arange(nk), np.arange(nj), np.arange(ni), indexing="ij")
    ct = np.full((nk, nj, ni), -1000.0)
    body = ((i - 23) / 19.0) ** 2 + ((j - 26) / 22.0) ** 2 < 1.0
    fat = body & ~(((i - 23) / 16.0) ** 2 + ((j - 26) / 19.0) ** 2 < 1.0)
    ct[body] = 40.0
    ct[fat] = -90.0
    for ci, cj, r in ((15, 26, 5.0), (32, 24, 4.0)):
        bone = ((i - ci) ** 2 + (j - cj) ** 2 < r * r) & (k > 3) & (k < nk - 4)
        ct[bone] = 700.0 + 40.0 * (k[bone] % 5)
    ct += rng.normal(0.0, 25.0, ct.shape)
    return air_border(ct, 2)


def phantom_ct_mm(size_ijk, spacing_ijk, seed):
    """[k, j, i] int16 HU of the same kind of phantom, laid out in millimetres on any grid."""
    ni, nj, nk = size_ijk
    si, sj, sk = spacing_ijk
    rng = np.random.default_rng(seed)
    k, j, i = np.meshgrid(np.arange(nk), np.arange(nj), np.arange(ni), indexing="ij")
    x, y, z = (i + 0.5) * si, (j + 0.5) * sj, (k + 0.5) * sk
    fx, fy, fz = ni * si, nj * sj, nk * sk
    ct = np.full((nk, nj, ni), -1000.0)
    ex, ey = (x - 0.5 * fx) / (0.41 * fx), (y - 0.5 * fy) / (0.42 * fy)
    body = ex**2 + ey**2 < 1.0
    fat = body & ~((ex / 0.84) ** 2 + (ey / 0.86) ** 2 < 1.0)
    ct[body] = 40.0
    ct[fat] = -90.0
    for cx, cy, r in ((0.33, 0.5, 0.11), (0.68, 0.46, 0.09)):
        bone = ((x - cx * fx) ** 2 + (y - cy * fy) ** 2 < (r * fx) ** 2) & (z > 0.12 * fz) & (z < 0.88 * fz)
        ct[bone] = 700.0 + 15.0 * np.round(z[bone]) % 160.0
    ct += rng.normal(0.0, 25.0, ct.shape)
    return air_border(ct, 1)


def padded_ct():
    """[k, j, i] int16 HU: a phantom surrounded by 0 HU padding of uneven widths, and a strip of
    -500 HU inside the padding (so nnU-Net's box is not simply the phantom's)."""
    inner = phantom_ct_mm((30, 28, 14), (1.75, 1.5, 2.5), 18)
    (klo, khi), (jlo, jhi), (ilo, ihi) = (2, 3), (4, 6), (5, 3)
    ct = np.zeros((inner.shape[0] + klo + khi, inner.shape[1] + jlo + jhi, inner.shape[2] + ilo + ihi), dtype=np.int16)
    ct[klo:klo + inner.shape[0], jlo:jlo + inner.shape[1], ilo:ilo + inner.shape[2]] = inner
    ct[8, 1, 12:20] = -500
    return ct


CROP_PROBABILITIES = ("crop_fold0_f32acc", "crop_ensemble_mirror_f32acc")


def make_results_folder(tmp):
    """nnU-Net's trained-model folder (plans, dataset, fold_0 and fold_1 checkpoints) under `tmp`."""
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    results = os.path.join(tmp, "Dataset900_CoxaTest", "nnUNetTrainer__nnUNetPlans__3d_fullres")
    os.makedirs(results)
    json.dump(PLANS, open(os.path.join(results, "plans.json"), "w"), indent=2)
    json.dump(DATASET, open(os.path.join(results, "dataset.json"), "w"), indent=2)
    pm = PlansManager(PLANS)
    cm = pm.get_configuration("3d_fullres")
    for fold, seed in ((0, 0), (1, 1)):
        torch.manual_seed(seed)
        net = nnUNetTrainer.build_network_architecture(pm, cm, 1, 3, enable_deep_supervision=False)
        os.makedirs(os.path.join(results, f"fold_{fold}"))
        torch.save(
            {"network_weights": net.state_dict(), "trainer_name": "nnUNetTrainer", "init_args": {"configuration": "3d_fullres"}, "inference_allowed_mirroring_axes": (0, 1, 2)},
            os.path.join(results, f"fold_{fold}", "checkpoint_final.pth"),
        )
    return results


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else HERE)
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="coxa-nnunet-")
    results = make_results_folder(tmp)

    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

    cts = (("", phantom_ct(), (2.0, 2.0, 2.0)),
           ("iso_", phantom_ct_mm((40, 36, 24), (1.5, 1.75, 2.75), 16), (1.5, 1.75, 2.75)),
           ("aniso_", phantom_ct_mm((64, 56, 10), (1.625, 1.625, 6.5), 17), (1.625, 1.625, 6.5)),
           ("crop_", padded_ct(), (1.75, 1.5, 2.5)))
    for prefix, ct, spacing_ijk in cts:
        img = sitk.GetImageFromArray(ct)
        img.SetSpacing(spacing_ijk)
        img.SetOrigin((-45.0, -50.0, 20.0))
        sitk.WriteImage(img, os.path.join(out, f"ct{'_' + prefix[:-1] if prefix else ''}.nii.gz"), True)

    subprocess.run([sys.executable, EXPORT, results, out, "--folds", "0", "1", "--name", "nnunet-test-3d_fullres", "--test-model"], check=True)

    torch.set_num_threads(1)
    half = torch.half
    cases = (((0,), False, "fold0"), ((0,), True, "fold0_mirror"), ((0, 1), False, "ensemble"), ((0, 1), True, "ensemble_mirror"))
    for prefix, ct, spacing_ijk in cts:
        for accumulate in (half, torch.float32):
            torch.half = accumulate
            for folds, mirror, tag in cases:
                tag = prefix + (tag if accumulate is half else tag + "_f32acc")
                pred = nnUNetPredictor(tile_step_size=0.5, use_gaussian=True, use_mirroring=mirror, perform_everything_on_device=False, device=torch.device("cpu"), verbose=False, allow_tqdm=False)
                pred.initialize_from_trained_model_folder(results, use_folds=folds, checkpoint_name="checkpoint_final.pth")
                # nnU-Net's spacing order is (k, j, i), as SimpleITKIO gives it.
                seg, probs = pred.predict_single_npy_array(ct.astype(np.float32)[None], {"spacing": list(spacing_ijk[::-1])}, None, None, True)
                probs = np.ascontiguousarray(probs, dtype=np.float32)
                assert probs.shape == (3,) + ct.shape, probs.shape
                keep = tag in CROP_PROBABILITIES if prefix == "crop_" else (not prefix or accumulate is not half)
                if keep:
                    probs.tofile(os.path.join(out, f"{tag}.probabilities.f32"))
                np.ascontiguousarray(seg, dtype=np.uint8).tofile(os.path.join(out, f"{tag}.labels.u8"))
                print(tag, "labels", np.bincount(seg.ravel(), minlength=3), "max prob", probs.max())
    torch.half = half
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
