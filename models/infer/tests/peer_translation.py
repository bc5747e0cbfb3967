#!/usr/bin/env python3
"""Runs an image-translation card (coxa_infer::translation) in Python onnxruntime, for the
side-by-side tests: the same normalisation, seeded noise (SplitMix64 + Box-Muller, as the Rust
module docs define them), stepping and output mapping, written independently of coxa.

usage: peer_translation.py CARD.toml HU.f32 N,ROWS,COLS K0 SEED STEPS OUT.f32
HU.f32: N consecutive axial slices (little-endian float32, [N, rows, cols]), the first being the
CT's slice K0 (its noise generator's index). Writes the image's values (the card's output unit,
unrounded, float32 [N, rows, cols]); prints a JSON line.
"""
import json
import math
import sys
import tomllib
from pathlib import Path

import numpy as np
import onnxruntime as ort

MASK = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


class SliceNoise:
    def __init__(self, seed, k):
        state = seed
        for _ in range(k + 1):
            state, out = splitmix64(state)
        self.state = out

    def normal(self, count):
        vals = []
        while len(vals) < count:
            self.state, a = splitmix64(self.state)
            self.state, b = splitmix64(self.state)
            u1 = ((a >> 11) + 1) / 2.0**53
            u2 = (b >> 11) / 2.0**53
            r = math.sqrt(-2.0 * math.log(u1))
            vals += [r * math.cos(2.0 * math.pi * u2), r * math.sin(2.0 * math.pi * u2)]
        return np.array(vals[:count], dtype=np.float32)


def main():
    card_path, hu_path, shape, k0, seed, steps, out_path = sys.argv[1:8]
    card = tomllib.loads(Path(card_path).read_text())
    n, rows, cols = (int(s) for s in shape.split(","))
    k0, seed, steps = int(k0), int(seed), int(steps)
    hu = np.fromfile(hu_path, dtype="<f4").reshape(n, 1, rows, cols)
    lo, hi = card["input"]["clip_hu"]
    s0, s1 = card["input"]["scaled_to"]
    a = (s1 - s0) / (hi - lo)
    x = np.float32(a) * np.clip(hu, np.float32(lo), np.float32(hi)) + np.float32(s0 - a * lo)
    so = ort.SessionOptions()
    so.use_deterministic_compute = True
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(Path(card_path).parent / card["weights"]), so, providers=["CPUExecutionProvider"])
    samp = card.get("sampling", {})
    gens = [SliceNoise(seed, k0 + i) for i in range(n)]
    plane = rows * cols
    state = None
    if "state_input" in samp:
        if samp.get("init", "noise") == "noise":
            state = np.stack([g.normal(plane).reshape(1, rows, cols) for g in gens])
        else:
            state = np.zeros((n, 1, rows, cols), np.float32)
    step_type = {i.name: i.type for i in sess.get_inputs()}
    for call in range(steps):
        feed = {card["input"]["name"]: x}
        if "state_input" in samp:
            feed[samp["state_input"]] = state
        if "noise_input" in samp:
            feed[samp["noise_input"]] = np.stack([g.normal(plane).reshape(1, rows, cols) for g in gens])
        for key, value in (("step_input", steps - 1 - call), ("steps_input", steps)):
            if key in samp:
                dtype = np.int64 if step_type[samp[key]] == "tensor(int64)" else np.float32
                feed[samp[key]] = np.full((n,), value, dtype)
        state = sess.run([card["output"]["name"]], feed)[0]
    f0, f1 = card["output"]["from"]
    t0, t1 = card["output"]["to"]
    oa = (t1 - t0) / (f1 - f0)
    values = (oa * state.astype(np.float64) + (t0 - oa * f0)).astype(np.float32)
    values.reshape(n, rows, cols).astype("<f4").tofile(out_path)
    print(json.dumps({"onnxruntime": ort.__version__, "slices": n, "steps": steps, "seed": seed}))


if __name__ == "__main__":
    main()
