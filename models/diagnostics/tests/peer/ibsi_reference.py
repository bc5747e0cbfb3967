#!/usr/bin/env python3
"""Extracts the IBSI digital phantom's reference values from the IBSI reference manual's source.

usage: python3 ibsi_reference.py IBSI_DOC/docs/03_Image_features.rst OUT.json

The manual's source is github.com/theibsi/ibsi-doc (docs/03_Image_features.rst, commit
b952e71e9d40569e8a9ff3c740bc389c04dd6c28 for the committed fixture). For each feature section
(`.. _feat_...:` anchor) it keeps the `dig. phantom` rows of the reference table: the 3D row for
features with one value per aggregation (`3D`, `3D, averaged`, or the only row), as
`{anchor: {"aggregation": ..., "value": ..., "consensus": ...}}`.
"""

import json
import re
import sys


def number(text):
    t = text.replace(":math:", "").replace("`", "").replace("\\ ", "").replace(" ", "")
    m = re.fullmatch(r"(-?[0-9.]+)(?:\\times10\^\{(-?[0-9]+)\})?", t.replace("−", "-"))
    if not m:
        return None
    v = float(m.group(1))
    return v * 10 ** int(m.group(2)) if m.group(2) else v


def main(src, out):
    text = open(src).read()
    parts = re.split(r"\n\.\. _(feat_[a-z0-9_]+):\n", text)
    ref = {}
    for i in range(1, len(parts), 2):
        rows = []
        for line in parts[i + 1].split("\n"):
            line = line.strip()
            if line.startswith("|") and "dig. phantom" in line:
                rows.append([c.strip() for c in line.strip("|").split("|")])
        chosen = None
        for r in rows:
            # the first 3D row: a later one belongs to a section without its own anchor
            if chosen is None and len(r) >= 5 and r[1] in ("3D", "3D, averaged"):
                chosen = {"aggregation": r[1], "value": number(r[2]), "consensus": r[4]}
        if chosen is None and rows and len(rows[0]) == 4:
            r = rows[0]
            chosen = {"aggregation": "", "value": number(r[1]), "consensus": r[3]}
        if chosen is not None and chosen["value"] is not None:
            ref[parts[i]] = chosen
    json.dump({"source": "IBSI reference manual (github.com/theibsi/ibsi-doc docs/03_Image_features.rst, commit b952e71e9d40569e8a9ff3c740bc389c04dd6c28): digital phantom reference values", "values": ref}, open(out, "w"), indent=1, sort_keys=True)
    print(len(ref), "features")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
