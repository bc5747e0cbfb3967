#!/usr/bin/env python3
"""Builds a gait2392 + TLEM 2.0 hybrid model (issue 20): a measurement, not a coxa default.

    python scripts/tlem2_hybrid.py TLEM_TABLE_DIR OUT.osim [--strength group|muscle]
        [--gait2392 MODEL.osim] [--geometry DIR] [--report]

gait2392's right-side uniarticular hip muscles (gluteus medius, minimus and maximus,
adductors longus, brevis and magnus, pectineus, iliacus, psoas, quadratus femoris, gemelli,
piriformis) are replaced by the muscle-tendon elements of the same muscles in TLEM 2.0
(Carbone et al. 2015, J Biomech 48:734-741, supplementary Tables A2, A3, A6 and A7), their
points mapped from TLEM's pelvis and femur frames into gait2392's `pelvis` and `femur_r`
frames by a least-squares similarity (Umeyama 1991, rotation, translation and one scale) per
bone from matched landmarks. Everything else (the left side, the two-joint muscles: rectus
femoris, hamstrings, sartorius, gracilis, tensor fasciae latae, gastrocnemius) is gait2392's,
unchanged.

Strength is swapped for geometry only: by default (`--strength group`) the replaced group's
total maximum isometric force equals gait2392's replaced total, split among the TLEM elements
in proportion to their PCSA; `--strength muscle` keeps each gait2392 muscle's own total
instead (split among that muscle's TLEM elements by PCSA). Optimal fibre length and tendon
slack length are TLEM's times the bone's scale; pennation is TLEM's.

Landmarks (TLEM: Table A2 and A6; gait2392: its `pelvis.vtp`, `l_pelvis.vtp` and
`femur_r.vtp` vertices, picked by the rules in `gait2392_landmarks`; these meshes have 125
and 456 vertices, so a picked landmark is only as exact as the vertex spacing, several mm):
- pelvis: both ASISs, both PSISs, the pubic tubercle (TLEM's lies on the midline: gait2392's
  most anterior pubic vertex next to the midline, both sides averaged), the right hip centre
  (gait2392: the `hip_r` joint's location in the pelvis).
- femur: the hip centre, the knee centre (gait2392: the `knee_r` translation at 0 deg),
  the medial and lateral epicondyles.

Left out: TLEM's wrapping cylinders (gluteus maximus, iliopsoas; gait2392 has no wrap
objects either) -- the elements run straight between their origin, via and insertion points;
the obturators (gait2392 has none); psoas major's lumbar origins (not in Table A3): TLEM's five
psoas elements share one via point and one insertion, so they become one element starting at
gait2392's psoas origin.

The TLEM 2.0 tables are not part of coxa (their licence is not established): give their
folder (the `.xlsx` files "Table A2 - Bony landmarks.xlsx", "Table A3 - Muscle-tendon
lines-of-action.xlsx", "Table A6 - Joint Center and Axes.xlsx", "Table A7 - Muscle-tendon
architecture.xlsx"). Never commit the generated model. Needs numpy and openpyxl.
"""

import argparse
import copy
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET

try:
    import numpy as np
    import openpyxl
except ImportError as e:  # pragma: no cover
    sys.exit(f"tlem2_hybrid: {e}; install numpy and openpyxl (pip install numpy openpyxl)")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GAIT2392 = os.path.join(REPO, "models/osim/models/gait2392/gait2392_thelen2003muscle.osim")
GEOMETRY = os.path.join(REPO, "../shared/data/opensim/Geometry")

# gait2392 muscle (right side, without "_r") -> TLEM 2.0 muscle parts (Table A3 "Muscle part")
# and the prefix of the new elements' names (kept so that coxa's groupings by name prefix,
# glut_med*, glut_min*, add_*, ..., still find them).
REPLACED = {
    "glut_med": (["glut_med1", "glut_med2", "glut_med3"], {"Gluteus Medius Anterior": "glut_med_ant", "Gluteus Medius Posterior": "glut_med_post"}),
    "glut_min": (["glut_min1", "glut_min2", "glut_min3"], {"Gluteus Minimus Anterior": "glut_min_ant", "Gluteus Minimus Mid": "glut_min_mid", "Gluteus Minimus Posterior": "glut_min_post"}),
    "glut_max": (["glut_max1", "glut_max2", "glut_max3"], {"Gluteus Maximus Superior": "glut_max_sup", "Gluteus Maximus Inferior": "glut_max_inf"}),
    "add_long": (["add_long"], {"Adductor Longus": "add_long"}),
    "add_brev": (["add_brev"], {"Adductor Brevis Proximal": "add_brev_prox", "Adductor Brevis Mid": "add_brev_mid", "Adductor Brevis Distal": "add_brev_dist"}),
    "add_mag": (["add_mag1", "add_mag2", "add_mag3"], {"Adductor Magnus Proximal": "add_mag_prox", "Adductor Magnus Mid": "add_mag_mid", "Adductor Magnus Distal": "add_mag_dist"}),
    "pect": (["pect"], {"Pectineus": "pect"}),
    "iliacus": (["iliacus"], {"Iliacus Lateralis": "iliacus_lat", "Iliacus Mid": "iliacus_mid", "Iliacus Medialis": "iliacus_med"}),
    "psoas": (["psoas"], {"Psoas Major": "psoas"}),
    "quad_fem": (["quad_fem"], {"Quadratus Femoris": "quad_fem"}),
    "gem": (["gem"], {"Gemellus Superior": "gem_sup", "Gemellus Inferior": "gem_inf"}),
    "peri": (["peri"], {"Piriformis": "peri"}),
}


def die(msg):
    print(f"tlem2_hybrid: {msg}", file=sys.stderr)
    sys.exit(2)


def table(folder, prefix):
    files = sorted(glob.glob(os.path.join(folder, f"{prefix}*.xlsx")))
    if not files:
        die(f"no '{prefix}*.xlsx' in {folder}; give the folder of TLEM 2.0's tables (Carbone et al. 2015 supplementary data)")
    wb = openpyxl.load_workbook(files[0], read_only=True, data_only=True)
    return [r for r in wb.worksheets[0].iter_rows(values_only=True)]


def num(v):
    return isinstance(v, (int, float))


def tlem_tables(folder):
    """TLEM's landmarks (m, bone frames), elements and architecture."""
    lm = {}
    bone = None
    for r in table(folder, "Table A2"):
        if r[0] and not num(r[1]) and str(r[0]).isupper():
            bone = str(r[0]).strip().lower()
        elif r[0] and all(num(x) for x in r[1:4]):
            lm[(bone, str(r[0]).strip())] = np.array(r[1:4], float)
    joint = None
    for r in table(folder, "Table A6"):
        if r[0]:
            joint = str(r[0]).strip()
        if r[1] and all(num(x) for x in r[2:5]):
            lm[(str(r[1]).strip().lower(), f"{joint} centre")] = np.array(r[2:5], float)
    elements = {}
    part = el = None
    for r in table(folder, "Table A3")[2:]:
        if r[0]:
            part = str(r[0]).strip()
        if r[1]:
            el = str(r[1]).strip()
        if not r[2]:
            continue
        xyz = np.array(r[4:7], float) if all(num(x) for x in r[4:7]) else None
        elements.setdefault(part, {}).setdefault(el, []).append((str(r[2]).strip(), str(r[3]).strip(), xyz))
    arch = {}
    for r in table(folder, "Table A7")[2:]:
        if r[0] and all(num(x) for x in r[1:5]):
            arch[str(r[0]).strip()] = dict(fibre_m=r[1] / 100.0, tendon_m=r[2] / 100.0, pennation_rad=float(r[3]), pcsa_cm2=float(r[4]))
    return lm, elements, arch


def read_vtp(path):
    text = open(path).read()
    m = re.search(r"<Points>.*?<DataArray[^>]*>(.*?)</DataArray>", text, re.S)
    if not m or 'format="ascii"' not in text:
        die(f"{path}: expected an ASCII VTK PolyData file (gait2392's display mesh)")
    return np.array(m.group(1).split(), float).reshape(-1, 3)


def spline_at_zero(transform_axis):
    """A SimmSpline's value at 0 (linear between its knots: the knee's translation at 0 deg)."""
    f = transform_axis.find("SimmSpline")
    if f is None:
        c = transform_axis.find(".//value")
        return float(c.text) if c is not None else 0.0
    x = [float(v) for v in f.find("x").text.split()]
    y = [float(v) for v in f.find("y").text.split()]
    return float(np.interp(0.0, x, y))


def gait2392_landmarks(model, geometry):
    """gait2392's landmarks (m) in its `pelvis` and `femur_r` frames; see the module docs."""
    joints = {j.get("name"): j for j in model.iter() if j.tag.endswith("Joint") and j.get("name")}

    def parent_offset(joint):  # the joint's parent offset frame (each joint has its own)
        j = joints[joint]
        name = j.find("socket_parent_frame").text.strip()
        f = next(f for f in j.iter("PhysicalOffsetFrame") if f.get("name") == name)
        return np.array(f.find("translation").text.split(), float)

    hip = parent_offset("hip_r")
    knee_j = joints["knee_r"]
    t = {ta.get("name"): ta for ta in knee_j.iter("TransformAxis")}
    knee = parent_offset("knee_r") + sum(spline_at_zero(t[f"translation{i + 1}"]) * np.array(t[f"translation{i + 1}"].find("axis").text.split(), float) for i in range(3))
    right = read_vtp(os.path.join(geometry, "pelvis.vtp"))
    left = read_vtp(os.path.join(geometry, "l_pelvis.vtp"))
    femur = read_vtp(os.path.join(geometry, "femur_r.vtp"))

    def asis(v):  # the most anterior vertex of the ilium above the hip centre
        up = v[v[:, 1] > hip[1] + 0.03]
        return up[np.argmax(up[:, 0])]

    def psis(v):  # the most posterior vertex of the ilium above the hip centre
        up = v[v[:, 1] > hip[1] + 0.03]
        return up[np.argmin(up[:, 0])]

    def pubis(v):  # the most anterior vertex below the hip centre within 10 mm of the midline
        low = v[(v[:, 1] < hip[1]) & (np.abs(v[:, 2]) < 0.01)]
        return low[np.argmax(low[:, 0])]

    pt = (pubis(right) + pubis(left)) / 2.0
    distal = femur[femur[:, 1] < knee[1] + 0.06]
    pelvis = {
        "Right Anterior Superior Iliac Spine": asis(right),
        "Left Anterior Superior Iliac Spine": asis(left),
        "Right Posterior Superior Iliac Spine": psis(right),
        "Left Posterior Superior Iliac Spine": psis(left),
        "Right Pubic Tubercle": pt,
        "Hip centre": hip,
    }
    femur_lm = {
        "Hip centre": np.zeros(3),  # gait2392's femur origin is its head centre (hip_r child offset 0)
        "Knee centre": knee,
        "Medial Epicondyle": distal[np.argmin(distal[:, 2])],
        "Lateral Epicondyle": distal[np.argmax(distal[:, 2])],
    }
    return pelvis, femur_lm


def umeyama(src, dst):
    """Least-squares similarity dst ~ s R src + t (Umeyama 1991); returns s, R, t."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    cov = b.T @ a / len(src)
    u, d, vt = np.linalg.svd(cov)
    e = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        e[2, 2] = -1
    r = u @ e @ vt
    s = np.trace(np.diag(d) @ e) / (a ** 2).sum(1).mean()
    return s, r, mu_d - s * r @ mu_s


def fit(name, pairs):
    src = np.array([p[1] for p in pairs])
    dst = np.array([p[2] for p in pairs])
    s, r, t = umeyama(src, dst)
    res = np.linalg.norm((s * (r @ src.T)).T + t - dst, axis=1) * 1000
    angle = np.degrees(np.arccos(np.clip((np.trace(r) - 1) / 2, -1, 1)))
    print(f"{name}: scale {s:.4f}, rotation {angle:.1f} deg, residuals mm (rms {np.sqrt((res ** 2).mean()):.1f}):", file=sys.stderr)
    for (n, _, _), e in zip(pairs, res):
        print(f"    {n:40s} {e:5.1f}", file=sys.stderr)
    return lambda p: s * r @ p + t, s


def neutral_length(muscle, hip):
    """A path's length (m) in gait2392's neutral posture (all coordinates 0: the femur_r frame
    is the pelvis frame moved to the hip centre), straight between its points."""
    pts = [np.array(p.find("location").text.split(), float) + (hip if p.find("socket_parent_frame").text.strip().endswith("femur_r") else 0) for p in muscle.find("GeometryPath/PathPointSet/objects")]
    return sum(np.linalg.norm(b - a) for a, b in zip(pts, pts[1:]))


def fmt(v):
    return " ".join(f"{x:.6f}" for x in v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tlem_dir")
    ap.add_argument("out")
    ap.add_argument("--strength", choices=["group", "muscle"], default="group")
    ap.add_argument("--gait2392", default=GAIT2392)
    ap.add_argument("--geometry", default=GEOMETRY, help="gait2392's Geometry folder (pelvis.vtp, l_pelvis.vtp, femur_r.vtp)")
    ap.add_argument("--no-psis", action="store_true", help="fit the pelvis without the PSISs (a sensitivity check: gait2392's mesh PSISs fit TLEM's poorly)")
    ap.add_argument("--keep", default="", help="comma-separated groups of REPLACED to keep as gait2392's (e.g. glut_max: a sensitivity check)")
    args = ap.parse_args()
    for k in filter(None, args.keep.split(",")):
        if k not in REPLACED:
            die(f"--keep {k}: not a replaced group; use one of {', '.join(REPLACED)}")
        del REPLACED[k]
    if not os.path.isdir(args.tlem_dir):
        die(f"{args.tlem_dir} is not a folder; give the folder of TLEM 2.0's .xlsx tables")
    if not os.path.isfile(os.path.join(args.geometry, "pelvis.vtp")):
        die(f"no pelvis.vtp in {args.geometry}; give gait2392's Geometry folder with --geometry")
    lm, elements, arch = tlem_tables(args.tlem_dir)
    tree = ET.parse(args.gait2392)
    model = tree.getroot().find("Model")
    g_pelvis, g_femur = gait2392_landmarks(model, args.geometry)

    t_pelvis = {k[1]: v for k, v in lm.items() if k[0] == "pelvis"}
    t_pelvis["Hip centre"] = t_pelvis.pop("Hip centre")
    t_femur = {k[1]: v for k, v in lm.items() if k[0] == "femur"}
    need_p = [n for n in g_pelvis if not (args.no_psis and "Posterior Superior" in n)]
    need_f = list(g_femur)
    for n in need_p:
        if n not in t_pelvis:
            die(f"Table A2/A6 has no pelvis landmark '{n}'")
    for n in need_f:
        if n not in t_femur:
            die(f"Table A2/A6 has no femur landmark '{n}'")
    to_pelvis, s_pelvis = fit("pelvis (TLEM -> gait2392 pelvis)", [(n, t_pelvis[n], g_pelvis[n]) for n in need_p])
    to_femur, s_femur = fit("femur (TLEM -> gait2392 femur_r)", [(n, t_femur[n], g_femur[n]) for n in need_f])
    for n in ["Greater Trochanter", "Lesser Trochanter"]:
        if n in t_femur:
            print(f"    check: TLEM {n} mapped to {fmt(to_femur(t_femur[n]) * 1000)} mm (gait2392 femur_r)", file=sys.stderr)
    mapping = {"Pelvis": ("/bodyset/pelvis", to_pelvis), "Femur": ("/bodyset/femur_r", to_femur)}
    scale = (s_pelvis + s_femur) / 2.0

    forces = model.find("ForceSet/objects")
    muscles = {m.get("name"): m for m in forces}
    new = []  # (gait2392 group key, name, points, arch)
    for key, (g_names, parts) in REPLACED.items():
        for part, prefix in parts.items():
            if part not in elements:
                die(f"Table A3 has no muscle part '{part}'")
            els = elements[part]
            if part == "Psoas Major":  # lumbar origins not tabulated: one element from gait2392's origin
                first = next(iter(els.values()))
                pts = [("gait2392", None, None)] + [p for p in first if p[0] != "Origin"]
                a = [arch[e.replace(" ", "")] for e in els]
                merged = dict(a[0], pcsa_cm2=sum(x["pcsa_cm2"] for x in a))
                new.append((key, f"{prefix}_r", pts, merged))
                continue
            for i, (el, pts) in enumerate(els.items(), 1):
                a = arch.get(el.replace(" ", ""))
                if a is None:
                    die(f"Table A7 has no architecture for '{el}'")
                name = f"{prefix}{i}_r" if len(els) > 1 else f"{prefix}_r"
                new.append((key, name, pts, a))

    gait_total = {k: sum(float(muscles[f"{n}_r"].find("max_isometric_force").text) for n in g) for k, (g, _) in REPLACED.items()}
    pcsa_total = {k: sum(a["pcsa_cm2"] for kk, _, _, a in new if kk == k) for k in REPLACED}
    all_force = sum(gait_total.values())
    all_pcsa = sum(pcsa_total.values())

    for k, (g_names, _) in REPLACED.items():
        template = muscles[f"{g_names[0]}_r"]
        for kk, name, pts, a in [n for n in new if n[0] == k]:
            m = copy.deepcopy(template)
            hip = g_pelvis["Hip centre"]
            m.set("name", name)
            objs = m.find("GeometryPath/PathPointSet/objects")
            g_origin = copy.deepcopy(objs[0])
            for c in list(objs):
                objs.remove(c)
            for j, (kind, seg, xyz) in enumerate(pts, 1):
                if kind == "gait2392":
                    p = g_origin
                    p.set("name", f"{name}-P{j}")
                    objs.append(p)
                    continue
                if seg not in mapping:
                    die(f"{name}: point on segment '{seg}'; only Pelvis and Femur are mapped")
                body, f = mapping[seg]
                p = ET.SubElement(objs, "PathPoint", name=f"{name}-P{j}")
                ET.SubElement(p, "socket_parent_frame").text = body
                ET.SubElement(p, "location").text = fmt(f(xyz))
            fmax = all_force * a["pcsa_cm2"] / all_pcsa if args.strength == "group" else gait_total[k] * a["pcsa_cm2"] / pcsa_total[k]
            m.find("max_isometric_force").text = f"{fmax:.3f}"
            if kk == "psoas":  # gait2392's origin: gait2392's lengths, scaled to the new path's length
                k_len = neutral_length(m, hip) / neutral_length(template, hip)
                fibre, tendon = (float(template.find(t).text) * k_len for t in ("optimal_fiber_length", "tendon_slack_length"))
            else:
                fibre, tendon = a["fibre_m"] * scale, a["tendon_m"] * scale
            m.find("optimal_fiber_length").text = f"{fibre:.5f}"
            m.find("tendon_slack_length").text = f"{tendon:.5f}"
            m.find("pennation_angle_at_optimal").text = f"{a['pennation_rad']:.5f}"
            forces.append(m)
        for n in g_names:
            forces.remove(muscles[f"{n}_r"])

    hip = g_pelvis["Hip centre"]
    worst = []
    for m in forces:
        if m.get("name") in {n for _, n, _, _ in new}:
            length = neutral_length(m, hip)
            lo, ts, pen = (float(m.find(t).text) for t in ("optimal_fiber_length", "tendon_slack_length", "pennation_angle_at_optimal"))
            worst.append((length / (lo * np.cos(pen) + ts), m.get("name")))
    worst.sort()
    print(f"    neutral-posture path length / (optimal fibre length cos(pennation) + tendon slack): {worst[0][0]:.2f} ({worst[0][1]}) .. {worst[-1][0]:.2f} ({worst[-1][1]}), median {worst[len(worst) // 2][0]:.2f}", file=sys.stderr)
    print(f"replaced {sum(len(g) for g, _ in REPLACED.values())} gait2392 muscles ({all_force:.0f} N) by {len(new)} TLEM 2.0 elements; strength {args.strength}", file=sys.stderr)
    for k in REPLACED:
        share = gait_total[k] if args.strength == "muscle" else all_force * pcsa_total[k] / all_pcsa
        print(f"    {k:9s} gait2392 {gait_total[k]:6.0f} N -> hybrid {share:6.0f} N ({sum(1 for n in new if n[0] == k)} elements)", file=sys.stderr)
    print(f"    fibre and tendon lengths scaled by {scale:.4f} (mean of the bones' scales)", file=sys.stderr)
    tree.write(args.out, encoding="UTF-8", xml_declaration=True)


if __name__ == "__main__":
    main()
