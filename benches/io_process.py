"""Whole-process read times of coxa and SimpleITK on the same files, side by side, with the
file-system floor.

usage: .venv/bin/python benches/io_process.py [--runs N] [--coxa BIN] [--json OUT]

Each case is read by two processes that print the same grid and HU statistics (min, max, sum,
mean) as one JSON line:
- coxa: `target/release/examples/volume_stats PATH` (coxa_io::open, then the statistics),
  built by `cargo build --release -p coxa-io --example volume_stats`;
- SimpleITK: `.venv/bin/python benches/sitk_stats.py PATH` (GetGDCMSeriesFileNames +
  ImageSeriesReader for a folder, ReadImage for a file; StatisticsImageFilter).
The script checks that both print the same grid and statistics, then times each process from
start to exit (warm page cache: one untimed run first; median and minimum of N runs, default 7).
The floor is `cat` of the same files to /dev/null as a process (the bytes from the page cache);
for gzip files also `gzip -dc` to /dev/null (one serial inflate, as in every reader here).
Each process also reports the read alone, timed inside it (`read_s`): the whole-process figure
includes SimpleITK's Python start and `import SimpleITK`, which the in-process figure does not.
The CPU seconds (user + system, all threads) of each process are printed too: on a busy machine
they say more than the wall times.

Files: the generated 300-slice 512x512 series and 512x512x300 NIfTI files come from
`cargo bench -p coxa-benches --bench volume_io` (run it first; `-- --test` is enough); the real
CT (../shared/data) is used as it is, decompressed to .nii and transcoded to uncompressed DICOM
(GDCM, tests/peers/transcode.py) into target/bench-data/ by this script.
"""
import argparse
import glob
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
shared = os.path.join(root, "..", "shared", "data")
data = os.path.join(root, "target", "bench-data")
python = sys.executable


def make_real_copies():
    """The real CT as .nii and as an uncompressed (implicit VR little endian) series."""
    os.makedirs(data, exist_ok=True)
    gz = os.path.join(shared, "totalseg", "example_ct.nii.gz")
    nii = os.path.join(data, "example_ct.nii")
    if os.path.exists(gz) and not os.path.exists(nii):
        with gzip.open(gz) as f, open(nii + ".part", "wb") as o:
            shutil.copyfileobj(f, o)
        os.replace(nii + ".part", nii)
    j2k = os.path.join(shared, "totalseg_dicom_uidfixed")
    raw = os.path.join(data, "real_raw_20")
    if os.path.isdir(j2k) and not os.path.isdir(raw):
        part = raw + ".part"
        shutil.rmtree(part, ignore_errors=True)
        subprocess.run([python, os.path.join(root, "tests", "peers", "transcode.py"), j2k, part, "implicit"], check=True)
        os.replace(part, raw)


def cases():
    c = [
        ("dicom_uncompressed_300x512x512", os.path.join(data, "uncompressed_300")),
        ("dicom_real_uncompressed_20x512x512", os.path.join(data, "real_raw_20")),
        ("dicom_real_jpeg2000_20x512x512", os.path.join(shared, "totalseg_dicom_uidfixed")),
        ("nii_512x512x300", os.path.join(data, "phantom_300.nii")),
        ("nii_real_122x101x112", os.path.join(data, "example_ct.nii")),
        ("nii_gz_512x512x300", os.path.join(data, "phantom_300.nii.gz")),
        ("nii_gz_real_122x101x112", os.path.join(shared, "totalseg", "example_ct.nii.gz")),
    ]
    return [(n, p) for n, p in c if os.path.exists(p)]


def files_of(path):
    if os.path.isdir(path):
        return sorted(p for p in glob.glob(os.path.join(path, "**", "*"), recursive=True) if os.path.isfile(p))
    return [path]


def timed(cmd, runs, stdout=subprocess.PIPE):
    """Median and minimum wall time of `cmd` as a process over `runs` runs, after one warm-up;
    and each timed run's output."""
    subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, check=True)
    times, cpus, outs = [], [], []
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        outs.append(subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, check=True).stdout)
        times.append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    CPU[tuple(cmd)] = statistics.median(cpus)
    return statistics.median(times), min(times), outs


# Median CPU seconds (user + system, every thread) of each command timed, by command.
CPU = {}


def check_same(name, a, b):
    """coxa's and SimpleITK's grid and statistics must agree."""
    assert a["size"] == b["size"], (name, a["size"], b["size"])
    for key, tol in (("spacing_mm", 1e-4), ("origin_lps_mm", 1e-3)):
        assert all(abs(x - y) <= tol for x, y in zip(a[key], b[key])), (name, key, a[key], b[key])
    assert a["min_hu"] == b["min_hu"] and a["max_hu"] == b["max_hu"], (name, a, b)
    # Integer HU sum exactly in double; scaled float data to rounding.
    assert abs(a["sum_hu"] - b["sum_hu"]) <= 1e-9 * max(1.0, abs(b["sum_hu"])), (name, a["sum_hu"], b["sum_hu"])
    assert abs(a["mean_hu"] - b["mean_hu"]) <= 1e-9 * max(1.0, abs(b["mean_hu"])), (name, a["mean_hu"], b["mean_hu"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--coxa", default=os.path.join(root, "target", "release", "examples", "volume_stats"))
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--only", help="only the cases whose name contains this")
    ap.add_argument("--before", help="another volume_stats binary (e.g. built from an older commit) timed in the same pass")
    args = ap.parse_args()
    if not os.path.exists(args.coxa):
        sys.exit(f"{args.coxa} is missing: cargo build --release -p coxa-io --example volume_stats")
    if not os.path.isdir(os.path.join(data, "uncompressed_300")):
        print("target/bench-data/uncompressed_300 is missing: run `cargo bench -p coxa-benches --bench volume_io -- --test` first", file=sys.stderr)
    make_real_copies()
    sitk = [python, os.path.join(root, "benches", "sitk_stats.py")]
    results = []
    print(f"{args.runs} runs each, median (min) seconds as whole processes; read = the read alone inside the process")
    head = f"{'case':36} {'coxa':>14} {'SimpleITK':>14} {'ratio':>6} {'floor cat':>14} {'gzip -dc':>9} {'coxa read':>9} {'sitk read':>9} {'ratio':>6}"
    print(head)
    for name, path in cases():
        if args.only and args.only not in name:
            continue
        files = files_of(path)
        b_med = None
        if args.before:
            b_med, _, b_outs = timed([args.before, path], args.runs)
        c_med, c_min, c_outs = timed([args.coxa, path], args.runs)
        if args.before:
            check_same(name, json.loads(b_outs[-1]), json.loads(c_outs[-1]))
        s_med, s_min, s_outs = timed(sitk + [path], args.runs)
        c_all, s_all = [json.loads(o) for o in c_outs], [json.loads(o) for o in s_outs]
        c, s = c_all[-1], s_all[-1]
        check_same(name, c, s)
        c_read = statistics.median(o["read_s"] for o in c_all)
        s_read = statistics.median(o["read_s"] for o in s_all)
        cat_med, cat_min, _ = timed(["cat", *files], args.runs, stdout=subprocess.DEVNULL)
        gz_med = None
        if path.endswith(".gz"):
            gz_med, _, _ = timed(["gzip", "-dc", path], args.runs, stdout=subprocess.DEVNULL)
        row = {
            "case": name,
            "bytes": sum(os.path.getsize(f) for f in files),
            "n_files": len(files),
            "coxa_s": c_med,
            "coxa_min_s": c_min,
            "simpleitk_s": s_med,
            "simpleitk_min_s": s_min,
            "ratio": s_med / c_med,
            "cat_s": cat_med,
            "gzip_dc_s": gz_med,
            "coxa_read_s": c_read,
            "simpleitk_read_s": s_read,
            "read_ratio": s_read / c_read,
            "coxa_cpu_s": CPU[(args.coxa, path)],
            "simpleitk_cpu_s": CPU[tuple(sitk + [path])],
            "stats": {k: c[k] for k in ("size", "min_hu", "max_hu", "sum_hu", "mean_hu")},
            "simpleitk_stats": {k: s[k] for k in ("size", "min_hu", "max_hu", "sum_hu", "mean_hu", "pixel_type")},
        }
        if b_med is not None:
            row["before_s"] = b_med
        results.append(row)
        gz = f"{gz_med:9.3f}" if gz_med is not None else f"{'-':>9}"
        print(
            f"{name:36} {c_med:6.3f} ({c_min:5.3f}) {s_med:6.3f} ({s_min:5.3f}) {s_med / c_med:6.2f} {cat_med:6.3f} ({cat_min:5.3f}) {gz} "
            f"{c_read:9.3f} {s_read:9.3f} {s_read / c_read:6.2f}"
        )
        if b_med is not None:
            print(f"{'':36} before: {b_med:6.3f} s whole process ({s_med / b_med:.2f}x SimpleITK); after {c_med:6.3f} s ({b_med / c_med:.2f}x faster)")
        print(f"{'':36} CPU (user + sys) median: coxa {CPU[(args.coxa, path)]:.3f} s, SimpleITK {CPU[tuple(sitk + [path])]:.3f} s, cat {CPU[tuple(['cat', *files])]:.3f} s")
        print(f"{'':36} same: size {c['size']}, HU {c['min_hu']:.0f}..{c['max_hu']:.0f}, sum {c['sum_hu']:.6g} (SimpleITK {s['sum_hu']:.6g}, {s['pixel_type']}), mean {c['mean_hu']:.4f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
