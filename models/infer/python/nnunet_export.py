#!/usr/bin/env python3
"""Export a trained nnU-Net v2 model (a results folder) to ONNX with a coxa model card.

Needs torch and nnunetv2 (export time only; coxa itself runs the .onnx files on ONNX Runtime).

usage:
  nnunet_export.py RESULTS_DIR OUT_DIR [--folds 0 1 2 3 4] [--configuration 3d_fullres]
                   [--checkpoint checkpoint_final.pth] [--name NAME] [--test-model]

RESULTS_DIR is nnU-Net's trained-model folder, the one holding plans.json, dataset.json and
fold_K/CHECKPOINT (for TotalSegmentator: ~/.totalsegmentator/nnunet/results/DatasetNNN_.../
nnUNetTrainer...__nnUNetPlans__3d_fullres). OUT_DIR gets fold_K.onnx (one per fold, input
"image" [N, C, k, j, i], output "logits" [N, classes, k, j, i], batch dynamic) and card.toml.

The card carries what coxa needs to reproduce nnUNetPredictor: the configuration's spacing and
patch size (coxa's cards list them i, j, k; nnU-Net's plans k, j, i), the CT normalisation from
the plans' foreground intensity properties, the classes from dataset.json's labels, the mirror
axes the checkpoint allows, the resampling orders of the plans (resampling_fn_data_kwargs,
resampling_fn_probabilities_kwargs) and the SHA-256 of every fold.
"""
import argparse
import hashlib
import json
import os
import sys


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def toml_str(s):
    return json.dumps(str(s))


def build_network(plans, dataset, configuration, trainer_name):
    import inspect

    from nnunetv2.utilities.find_class_by_name import recursive_find_python_class
    from nnunetv2.utilities.label_handling.label_handling import determine_num_input_channels
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager
    import nnunetv2

    pm = PlansManager(plans)
    cm = pm.get_configuration(configuration)
    n_in = determine_num_input_channels(pm, cm, dataset)
    n_out = pm.get_label_manager(dataset).num_segmentation_heads
    trainer = recursive_find_python_class(os.path.join(nnunetv2.__path__[0], "training", "nnUNetTrainer"), trainer_name, "nnunetv2.training.nnUNetTrainer")
    if trainer is None:
        sys.exit(f"error: trainer class {trainer_name} is not in this nnunetv2; install the package that defines it")
    if "plans_manager" in inspect.signature(trainer.build_network_architecture).parameters:
        net = trainer.build_network_architecture(pm, cm, n_in, n_out, enable_deep_supervision=False)
    else:
        net = trainer.build_network_architecture(cm.network_arch_class_name, cm.network_arch_init_kwargs, cm.network_arch_init_kwargs_req_import, n_in, n_out, enable_deep_supervision=False)
    return pm, cm, net, n_in, n_out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("out")
    ap.add_argument("--folds", nargs="+", default=None)
    ap.add_argument("--configuration", default=None, help="default: the checkpoint's")
    ap.add_argument("--checkpoint", default="checkpoint_final.pth")
    ap.add_argument("--name", default=None)
    ap.add_argument("--version", default="1.0.0")
    ap.add_argument("--test-model", action="store_true", help="mark the card as a test model (never clinical)")
    ap.add_argument("--opset", type=int, default=17)
    a = ap.parse_args()

    import torch

    plans = json.load(open(os.path.join(a.results, "plans.json")))
    dataset = json.load(open(os.path.join(a.results, "dataset.json")))
    folds = a.folds or sorted(d[5:] for d in os.listdir(a.results) if d.startswith("fold_") and os.path.isfile(os.path.join(a.results, d, a.checkpoint)))
    if not folds:
        sys.exit(f"error: no fold_K/{a.checkpoint} in {a.results}")
    os.makedirs(a.out, exist_ok=True)
    files, hashes = [], []
    net = cm = pm = None
    mirror_axes = None
    for f in folds:
        ck = torch.load(os.path.join(a.results, f"fold_{f}", a.checkpoint), map_location="cpu", weights_only=False)
        configuration = a.configuration or ck["init_args"]["configuration"]
        if net is None:
            pm, cm, net, n_in, n_out = build_network(plans, dataset, configuration, ck["trainer_name"])
            mirror_axes = ck.get("inference_allowed_mirroring_axes")
        net.load_state_dict(ck["network_weights"])
        net.eval()
        patch = [int(p) for p in cm.patch_size]
        if len(patch) != 3:
            sys.exit(f"error: configuration {configuration} is {len(patch)}D; coxa runs 3D configurations only")
        x = torch.zeros((1, n_in, *patch), dtype=torch.float32)
        name = f"fold_{f}.onnx"
        path = os.path.join(a.out, name)
        with torch.no_grad():
            torch.onnx.export(net, (x,), path, input_names=["image"], output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=a.opset, dynamo=False)
        files.append(name)
        hashes.append(sha256(path))

    if list(pm.transpose_forward) != [0, 1, 2]:
        sys.exit(f"error: plans transpose_forward is {pm.transpose_forward}; coxa reads models with transpose_forward [0, 1, 2] only")
    schemes = cm.normalization_schemes
    channel_names = dataset.get("channel_names", dataset.get("modality", {}))
    modality = str(channel_names.get("0", "CT"))
    if schemes[0] == "CTNormalization":
        p = pm.foreground_intensity_properties_per_channel["0"]
        norm = f'scheme = "ct"\npercentile_00_5_hu = {float(p["percentile_00_5"])!r}\npercentile_99_5_hu = {float(p["percentile_99_5"])!r}\nmean_hu = {float(p["mean"])!r}\nstd_hu = {float(p["std"])!r}\n'
    elif schemes[0] == "ZScoreNormalization":
        if cm.use_mask_for_norm[0]:
            # nnU-Net then normalises only inside the non-zero mask (holes filled) and sets the rest to 0; coxa
            # normalises the whole cropped box.
            sys.exit("error: the plans normalise ZScoreNormalization inside the non-zero mask (use_mask_for_norm true); coxa reproduces it without the mask only")
        norm = 'scheme = "zscore"\n'
    else:
        sys.exit(f"error: normalisation {schemes[0]} is not one coxa reproduces (CTNormalization, ZScoreNormalization)")
    labels = dataset["labels"]
    if any(not isinstance(v, int) for v in labels.values()):
        sys.exit("error: region-based labels (lists in dataset.json labels) are not supported; coxa reads one softmax class per label")
    classes = sorted(labels.items(), key=lambda kv: kv[1])
    if [v for _, v in classes] != list(range(len(classes))):
        sys.exit("error: dataset.json labels must be 0..n-1 without gaps")
    spacing = [float(s) for s in cm.spacing]
    resampling = {}
    for what, fn_key in (("data", "resampling_fn_data"), ("probabilities", "resampling_fn_probabilities")):
        fn = cm.configuration.get(fn_key)
        if fn != "resample_data_or_seg_to_shape":
            sys.exit(f"error: the plans' {fn_key} is {fn}; coxa reproduces resample_data_or_seg_to_shape only")
        kw = cm.configuration.get(fn_key + "_kwargs", {})
        order, order_z, force = int(kw.get("order", 3)), int(kw.get("order_z", 0)), kw.get("force_separate_z")
        if kw.get("is_seg"):
            sys.exit(f"error: the plans' {fn_key}_kwargs has is_seg true; coxa resamples images and logits only")
        lines_r = [f"[nnunet.resampling_{what}]", f"order = {order}", f"order_z = {order_z}"]
        if force is not None:
            lines_r.append(f"force_separate_z = {'true' if force else 'false'}")
        resampling[what] = "\n".join(lines_r) + "\n"
    name = a.name or f"{pm.dataset_name}__{configuration}"
    lines = [
        "card_version = 1",
        f"name = {toml_str(name)}",
        f"version = {toml_str(a.version)}",
        'task = "segmentation"',
        f"test_model = {'true' if a.test_model else 'false'}",
        f"description = {toml_str(f'nnU-Net v2 {configuration} of {pm.dataset_name} ({pm.plans_name}), folds {list(folds)}, exported by nnunet_export.py')}",
        f"weights = {json.dumps(files)}",
        f"sha256 = {json.dumps(hashes)}",
        "",
        "[input]",
        'name = "image"',
        f"modality = {toml_str(modality)}",
        f"channels = {n_in}",
        f"patch_size_ijk = {json.dumps(patch[::-1])}",
        f"target_spacing_mm_ijk = {json.dumps(spacing[::-1])}",
        "",
        "[input.normalisation]",
        norm,
        "[output]",
        'name = "logits"',
        'kind = "logits"',
        'activation = "softmax"',
        "",
        "[nnunet]",
        "float16_accumulation = true",
        # nnUNetPredictor mirrors only along the axes the checkpoint allows; none recorded: none.
        f"mirror_axes = {json.dumps([int(a) for a in mirror_axes] if mirror_axes is not None else [])}",
        "step_fraction = 0.5",
        "",
    ]
    for cname, v in classes:
        lines += ["[[output.classes]]", f"name = {toml_str(cname)}", f"label = {v}", ""]
    # [[output.classes]] must follow [output]: write [nnunet] last.
    text = "\n".join(lines)
    head, nn = text.split("[nnunet]\n", 1)
    nn_block, cls = nn.split("\n\n", 1)
    text = head + cls.rstrip() + "\n\n[nnunet]\n" + nn_block + "\n\n" + resampling["data"] + "\n" + resampling["probabilities"]
    open(os.path.join(a.out, "card.toml"), "w").write(text)
    print(f"wrote {len(files)} fold(s) and card.toml to {a.out}")


if __name__ == "__main__":
    main()
