"""coxa's musculoskeletal timings (criterion medians) beside OpenSim 4.6 doing the same on the
same model (gait2392_thelen2003muscle.osim), and how far the two static optimisations agree.

usage: .venv/bin/python benches/compare_opensim.py [--frames 6,11,21] [--repeats 5]
Run `cargo bench -p coxa-benches --bench msk` first: it writes target/criterion/ and
target/bench-data/msk_so_one_leg_stance.json (coxa's posture, loads and muscle forces of the
fixed-posture one-leg stance). OpenSim is timed in CPU time of this process (it runs
single-threaded, as coxa's benches do; wall time on a shared machine counts other processes'
time too); criterion's coxa times are wall times, so any contention counts against coxa.

1. Moment arms (criterion `msk::hip_moment_arms_grid`). The same 60 poses as `grid_sweep` in
   benches/benches/msk.rs (hip flexion -30, 0, 30, 60, 90 x adduction -30, -13, 3, 20 x
   rotation -30, 0, 30 deg, every other coordinate at its default, clamped coordinates clamped)
   and the same 27 muscles (a path point on the pelvis and one on femur_r, tibia_r or patella_r;
   coxa's `crosses_hip`): for each, the muscle-tendon length (GeometryPath::getLength) and the
   moment arms about the three right hip coordinates (Muscle::computeMomentArm, OpenSim's
   MomentArmSolver). Two OpenSim times: the length and moment-arm calls only (as
   tests/peers/opensim_moment_arms.py reports them), and per pose with setting the coordinates
   and Model::assemble included (coxa's sweep includes its forward kinematics per pose).

2. Static optimisation of one static posture (criterion `msk::so_one_leg_stance_fixed_posture`).
   coxa: `hip_contact_force_with(OneLegStance, optimise_posture = false)` with body weight = the
   model's mass x 9.80665 N/kg; one call builds the posture (two bisections on the forward
   kinematics), the paths and moment arms of the 43 right-leg muscles, the equations and solves
   min sum a^2 + sum r^2 s.t. 5 equilibrium equations (3 moments at the stance hip, the
   generalised forces at knee_angle_r and ankle_angle_r), 0 <= a <= 1, reserves r of 1 N m per
   unit, a one-sided passive knee lock (1000 N m per unit, resists hyperextension only). Muscle
   force per unit activation: Thelen 2003 force-length at the current length, rigid tendon,
   zero velocity, times cos(pennation); the passive force is added as a fixed load.
   OpenSim: the AnalyzeTool with a StaticOptimization analysis (use_model_force_set,
   use_muscle_physiology, activation_exponent 2, the default convergence 1e-4 and 100
   iterations) on a motion of N identical frames of coxa's posture (coordinates file, radians,
   no filtering; the splined velocities and accelerations are then zero), with coxa's ground
   reaction (the body weight, upward, at coxa's centre of pressure below the centre of mass) as
   an ExternalForce on calcn_r. Actuators added (a force-set file, the muscles kept):
   - reserves of 1 N m per unit on hip_flexion_r, hip_adduction_r, hip_rotation_r,
     knee_angle_r, ankle_angle_r (control unbounded): coxa's reserves;
   - the passive knee lock: knee_angle_r, 1000 N m per unit, control -1..0 (gait2392 flexes
     the knee with negative angles);
   - every other unconstrained coordinate (the pelvis' 6, subtalar and mtp, the left leg, the
     lumbar joint) an ideal actuator of 10^5 N (m) per unit: costs about 10^-6 and so takes its
     equation out of the problem. OpenSim then balances the same 5 equations with the same
     muscle pool as coxa (the left-leg and back muscles have no moment about them and stay off).
   What still differs: OpenSim derives the generalised forces by inverse dynamics of the whole
   tree (gravity on every body, the GRF on calcn_r), coxa from the moment of the upper body's
   load about the hip centre and virtual work at knee and ankle; they agree when the posture is
   in equilibrium (GRF = the weight, centre of pressure below the centre of mass, which is why
   the body weight is m g here). OpenSim's StaticOptimization leaves out passive muscle force
   (a muscle's force is its activation times its active isometric force; checked here: tib_post_r
   gets 20 N from OpenSim, while coxa's passive force alone is 56 N), coxa adds it to the loads.
   Thelen2003Muscle's minimum activation 0.01 is OpenSim's lower bound (coxa's is 0), so every
   muscle, antagonists included, pulls with at least 1 % of its active force. OpenSim solves with
   an interior-point method (IPOPT) to a 1e-4 tolerance, coxa with a semismooth Newton method on
   the dual to 1e-10. OpenSim finds each actuator's effect by realising accelerations with a
   unit force, so its per-frame cost grows with the number of actuators (92 muscles + 24
   coordinate actuators); a second OpenSim run keeps only coxa's 43 muscles in the model (the
   fairest per-frame time, though a researcher would not usually trim the model); coxa works
   from the moment arms of its 43 candidate muscles.
   OpenSim's time per frame is the slope of the AnalyzeTool's wall time over the frame count
   (each of --frames run --repeats times, least squares through the medians); its intercept is
   the setup (reading the model and the force set, initSystem, the external loads, the
   motion's splines). The time to read the .osim alone is reported too. At least 6 frames:
   OpenSim splines the coordinates with GCVSpline.

Prints a table and the agreement of the muscle forces: OpenSim's force beside coxa's force and
coxa's active part (force minus passive), for the muscles either side loads, the top five,
the generalised-force balance OpenSim reached, and the hip contact force (OpenSim's JointReaction
on femur_r with the StaticOptimization's forces, i.e. without passive muscle force, beside
coxa's force on the femoral head, both in femur_r's frame).

Measured 2026-11-22 on the shared 2-core machine (load average about 3 throughout, so every
number is inflated and varies by run; ranges over five runs of this script and three of the
bench):
- moment-arm grid: OpenSim 320-620 ms (calls only; 253 ms earlier on a quieter machine),
  coxa 8.9-10.3 ms (7.8 ms earlier): about 35-70x;
- static optimisation: OpenSim 80-98 ms per frame with the full model (92 muscles + 24
  coordinate actuators), 33-47 ms with only coxa's 43 muscles; setup (intercept) 30-330 ms,
  too noisy to pin down here, of which reading the .osim is 30-50 ms; coxa 0.36-0.50 ms per
  solve (posture, paths and solve): about 160-270x per frame, 70-130x against the trimmed model;
- agreement: the same top five muscles (glut_med1, rect_fem, glut_med2, glut_med3, psoas),
  Pearson r 0.999 over the 43 muscles, RMS difference 11 N; OpenSim's forces are a few per cent
  higher on the main muscles (its 0.01 activation floor makes every antagonist pull; it has no
  passive force); hip contact force 2520 N (342 %BW) OpenSim vs 2396 N (325 %BW) coxa.
"""
import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time

import opensim as osim

# The same choice of hip muscles as the side-by-side tests (tests/peers/opensim_moment_arms.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "peers"))
from opensim_moment_arms import hip_muscles  # noqa: E402

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
shared = os.path.join(root, "..", "shared", "data", "opensim")
MODEL = os.path.join(shared, "gait2392_thelen2003muscle.osim")
EQUATIONS = ["hip_flexion_r", "hip_adduction_r", "hip_rotation_r", "knee_angle_r", "ankle_angle_r"]
FREE_STRENGTH = 1e5
KNEE_LOCK = 1000.0
# CPU time of this process (OpenSim runs single-threaded here): on a shared machine it is far
# steadier than wall time, which other processes inflate.
clock = time.process_time


def criterion_ms(name):
    est = os.path.join(root, "target", "criterion", f"msk__{name}", "new", "estimates.json")
    if not os.path.exists(est):
        return None
    return json.load(open(est))["median"]["point_estimate"] / 1e6


def moment_arm_grid(repeats):
    model = osim.Model(MODEL)
    state = model.initSystem()
    coord_names = ["hip_flexion_r", "hip_adduction_r", "hip_rotation_r"]
    coords = [model.getCoordinateSet().get(n) for n in coord_names]
    muscles = hip_muscles(model, "r")
    grid = [(f, a, r) for f in (-30, 0, 30, 60, 90) for a in (-30, -13, 3, 20) for r in (-30, 0, 30)]
    cs = model.getCoordinateSet()
    defaults = [(cs.get(i), cs.get(i).getDefaultValue()) for i in range(cs.getSize())]
    calls, total = [], []
    for _ in range(repeats):
        t_calls = 0.0
        t_all = clock()
        for pose in grid:
            for c, v in defaults:
                c.setValue(state, v, False)
            for c, v in zip(coords, pose):
                q = math.radians(v)
                if c.get_clamped():
                    q = min(max(q, c.getRangeMin()), c.getRangeMax())
                c.setValue(state, q, False)
            model.assemble(state)
            model.realizePosition(state)
            t0 = clock()
            for m in muscles:
                m.getGeometryPath().getLength(state)
                for c in coords:
                    m.computeMomentArm(state, c)
            t_calls += clock() - t0
        total.append(clock() - t_all)
        calls.append(t_calls)
    return len(muscles), len(grid), statistics.median(calls) * 1e3, statistics.median(total) * 1e3


def write_sto(path, name, labels, rows, in_degrees="no"):
    with open(path, "w") as f:
        f.write(f"{name}\nversion=1\nnRows={len(rows)}\nnColumns={len(labels)}\ninDegrees={in_degrees}\nendheader\n")
        f.write("\t".join(labels) + "\n")
        for r in rows:
            f.write("\t".join(f"{v:.12g}" for v in r) + "\n")


def read_sto(path):
    lines = open(path).read().splitlines()
    k = next(i for i, l in enumerate(lines) if l.strip() == "endheader")
    labels = lines[k + 1].split("\t")
    rows = [[float(v) for v in l.split("\t")] for l in lines[k + 2:] if l.strip()]
    return labels, rows


def coordinate_actuator(name, coord, strength, lo, hi):
    return (f'<CoordinateActuator name="{name}"><coordinate>{coord}</coordinate>'
            f"<optimal_force>{strength}</optimal_force><min_control>{lo}</min_control><max_control>{hi}</max_control>"
            "</CoordinateActuator>")


def prepare_so(case, folder, frames, model_file, tag):
    """Writes the motion, loads, actuators and setup of an N-frame StaticOptimization run."""
    q = case["coordinates"]
    names = list(q)
    times = [0.01 * i for i in range(frames)]
    mot = os.path.join(folder, f"posture_{frames}.mot")
    write_sto(mot, "one_leg_stance", ["time"] + names, [[t] + [q[n] for n in names] for t in times])
    grf, cop = case["ground_reaction_n"], case["centre_of_pressure_m"]
    grf_mot = os.path.join(folder, f"grf_{frames}.mot")
    labels = ["time", "ground_force_vx", "ground_force_vy", "ground_force_vz", "ground_force_px", "ground_force_py",
              "ground_force_pz", "ground_torque_x", "ground_torque_y", "ground_torque_z"]
    write_sto(grf_mot, "grf", labels, [[t] + grf + cop + [0.0, 0.0, 0.0] for t in times])
    loads = os.path.join(folder, f"loads_{frames}.xml")
    open(loads, "w").write(f"""<?xml version="1.0" encoding="UTF-8"?>
<OpenSimDocument Version="40000"><ExternalLoads name="grf"><objects>
<ExternalForce name="grf_r"><applied_to_body>calcn_r</applied_to_body>
<force_expressed_in_body>ground</force_expressed_in_body><point_expressed_in_body>ground</point_expressed_in_body>
<force_identifier>ground_force_v</force_identifier><point_identifier>ground_force_p</point_identifier>
<torque_identifier>ground_torque_</torque_identifier><data_source_name>{grf_mot}</data_source_name>
</ExternalForce></objects><groups/><datafile>{grf_mot}</datafile></ExternalLoads></OpenSimDocument>
""")
    model = osim.Model(MODEL)
    knee_sign = 1.0 if model.getCoordinateSet().get("knee_angle_r").getRangeMax() > 1.0 else -1.0
    acts = [coordinate_actuator(f"reserve_{c}", c, 1.0, "-Inf", "Inf") for c in EQUATIONS]
    if abs(math.degrees(q["knee_angle_r"])) < 1.0:  # coxa's passive knee lock (straight knee)
        lo, hi = (0, 1) if knee_sign > 0 else (-1, 0)
        acts.append(coordinate_actuator("knee_lock_r", "knee_angle_r", KNEE_LOCK, lo, hi))
    for c in names:
        if c not in EQUATIONS:
            acts.append(coordinate_actuator(f"free_{c}", c, FREE_STRENGTH, "-Inf", "Inf"))
    force_set = os.path.join(folder, "actuators.xml")
    open(force_set, "w").write('<?xml version="1.0" encoding="UTF-8"?>\n<OpenSimDocument Version="40000"><ForceSet name="so_actuators"><objects>'
                               + "".join(acts) + "</objects><groups/></ForceSet></OpenSimDocument>\n")
    end = times[-1]
    setup = os.path.join(folder, f"setup{tag}_{frames}.xml")
    open(setup, "w").write(f"""<?xml version="1.0" encoding="UTF-8"?>
<OpenSimDocument Version="40000"><AnalyzeTool name="so{tag}_{frames}">
<model_file>{model_file}</model_file><replace_force_set>false</replace_force_set>
<force_set_files>{force_set}</force_set_files><results_directory>{folder}</results_directory>
<output_precision>12</output_precision><initial_time>0</initial_time><final_time>{end}</final_time>
<solve_for_equilibrium_for_auxiliary_states>false</solve_for_equilibrium_for_auxiliary_states>
<AnalysisSet name="Analyses"><objects><StaticOptimization name="StaticOptimization">
<on>true</on><start_time>0</start_time><end_time>{end}</end_time><step_interval>1</step_interval>
<in_degrees>true</in_degrees><use_model_force_set>true</use_model_force_set>
<activation_exponent>2</activation_exponent><use_muscle_physiology>true</use_muscle_physiology>
<optimizer_convergence_criterion>0.0001</optimizer_convergence_criterion><optimizer_max_iterations>100</optimizer_max_iterations>
</StaticOptimization></objects><groups/></AnalysisSet><ControllerSet name="Controllers"><objects/><groups/></ControllerSet>
<external_loads_file>{loads}</external_loads_file><coordinates_file>{mot}</coordinates_file>
<lowpass_cutoff_frequency_for_coordinates>-1</lowpass_cutoff_frequency_for_coordinates>
</AnalyzeTool></OpenSimDocument>
""")
    return setup, os.path.join(folder, f"so{tag}_{frames}_StaticOptimization_force.sto")


def leg_only_model(case, folder):
    """gait2392 with only the muscles coxa considers (the 43 of the right leg), as an .osim file."""
    model = osim.Model(MODEL)
    keep = {m["name"] for m in case["muscles"]}
    fs = model.updForceSet()
    for i in reversed(range(fs.getSize())):
        if fs.get(i).getName() not in keep:
            fs.remove(i)
    path = os.path.join(folder, "gait2392_right_leg_muscles.osim")
    model.printToXML(path)
    return path


def hip_reaction(so_setup, so_forces, folder):
    """OpenSim's JointReaction at hip_r with the StaticOptimization's forces (not timed): the
    force on femur_r in femur_r's frame, N (coxa's `force_femur_n`: the acetabulum on the head)."""
    text = open(so_setup).read()
    start, end = text.index("<AnalysisSet"), text.index("</AnalysisSet>") + len("</AnalysisSet>")
    final = text[text.index("<final_time>") + 12:text.index("</final_time>")]
    jr = (f'<AnalysisSet name="Analyses"><objects><JointReaction name="JointReaction"><on>true</on>'
          f"<start_time>0</start_time><end_time>{final}</end_time><step_interval>1</step_interval><in_degrees>true</in_degrees>"
          f"<forces_file>{so_forces}</forces_file><joint_names>hip_r</joint_names><apply_on_bodies>child</apply_on_bodies>"
          "<express_in_frame>child</express_in_frame></JointReaction></objects><groups/></AnalysisSet>")
    text = text[:start] + jr + text[end:]
    name = text[text.index('<AnalyzeTool name="') + 19:].split('"')[0]
    text = text.replace(f'<AnalyzeTool name="{name}"', f'<AnalyzeTool name="{name}_jr"')
    setup = os.path.join(folder, f"{name}_jr.xml")
    open(setup, "w").write(text)
    if not osim.AnalyzeTool(setup).run():
        sys.exit("OpenSim's JointReaction failed")
    labels, rows = read_sto(os.path.join(folder, f"{name}_jr_JointReaction_ReactionLoads.sto"))
    r = dict(zip(labels, rows[0]))
    return [r[f"hip_r_on_femur_r_in_femur_r_f{a}"] for a in "xyz"]


def static_optimisation(case, frame_counts, repeats, leg_only=False):
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        model_file = leg_only_model(case, folder) if leg_only else MODEL
        tag = "_leg" if leg_only else ""
        setups = {n: prepare_so(case, folder, n, model_file, tag) for n in frame_counts}
        osim.AnalyzeTool(setups[frame_counts[0]][0]).run()  # warm-up (file cache, first-call costs)
        for _ in range(repeats):
            for n in frame_counts:
                t = clock()
                ok = osim.AnalyzeTool(setups[n][0]).run()
                runs.append((n, clock() - t))
                if not ok:
                    sys.exit(f"OpenSim's AnalyzeTool failed with {n} frames")
        labels, rows = read_sto(setups[frame_counts[-1]][1])
        a_labels, a_rows = read_sto(setups[frame_counts[-1]][1].replace("_force.sto", "_activation.sto"))
        hip = hip_reaction(setups[frame_counts[0]][0], setups[frame_counts[0]][1], folder)
    load = []
    for _ in range(repeats):
        t = clock()
        osim.Model(MODEL)
        load.append(clock() - t)
    # least squares through the median time of each frame count (the machine may be shared)
    per_n = {n: statistics.median([s for k, s in runs if k == n]) for n in frame_counts}
    xs, ys = list(per_n), list(per_n.values())
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return slope * 1e3, (my - slope * mx) * 1e3, per_n, statistics.median(load) * 1e3, dict(zip(labels, rows[0])), dict(zip(a_labels, a_rows[0])), hip


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", default="6,11,21", help="frame counts of the StaticOptimization runs")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--case", default=os.path.join(root, "target", "bench-data", "msk_so_one_leg_stance.json"),
                    help="coxa's posture, loads and muscle forces (written by the msk bench)")
    args = ap.parse_args()
    frame_counts = [int(v) for v in args.frames.split(",")]
    if min(frame_counts) < 6:
        sys.exit("--frames: at least 6 (OpenSim splines the coordinates with GCVSpline, which needs 6 points)")
    osim.Logger.removeFileSink()  # no opensim.log in the working directory
    osim.Logger.setLevelString("off")

    print(f"OpenSim {osim.GetVersion()}, model {os.path.basename(MODEL)}\n")
    n_mus, n_pose, calls_ms, total_ms = moment_arm_grid(args.repeats)
    coxa_grid = criterion_ms("hip_moment_arms_grid")
    print(f"1. moment arms, {n_mus} right hip muscles x {n_pose} poses (length + 3 moment arms each)")
    print(f"   OpenSim getLength + computeMomentArm only      {calls_ms:9.1f} ms")
    print(f"   OpenSim incl. setting coordinates + assemble   {total_ms:9.1f} ms")
    if coxa_grid is None:
        print("   coxa: no criterion result (run cargo bench -p coxa-benches --bench msk first)")
    else:
        print(f"   coxa (criterion median, incl. kinematics)      {coxa_grid:9.2f} ms")
        print(f"   OpenSim / coxa: {calls_ms / coxa_grid:.0f}x (calls only), {total_ms / coxa_grid:.0f}x (with assembly)")

    case_path = args.case
    if not os.path.exists(case_path):
        sys.exit(f"\n{case_path} is missing: run cargo bench -p coxa-benches --bench msk first")
    case = json.load(open(case_path))
    per_frame, setup, per_n, load_ms, forces, acts, hip = static_optimisation(case, frame_counts, args.repeats)
    coxa_so = criterion_ms("so_one_leg_stance_fixed_posture")
    print(f"\n2. static optimisation, one-leg stance (fixed posture), body weight {case['body_weight_n']:.1f} N")
    for n, s in per_n.items():
        print(f"   OpenSim AnalyzeTool + StaticOptimization, {n:3d} frames  {s * 1e3:9.1f} ms")
    print(f"   OpenSim per frame (slope)                      {per_frame:9.2f} ms")
    print(f"   OpenSim setup (intercept)                      {setup:9.1f} ms   (reading the .osim alone {load_ms:.1f} ms)")
    print(f"   OpenSim one frame incl. setup                  {setup + per_frame:9.1f} ms")
    if coxa_so is None:
        print("   coxa: no criterion result (run cargo bench -p coxa-benches --bench msk first)")
    else:
        print(f"   coxa per solve (criterion median, incl. posture, paths, moment arms) {coxa_so:.3f} ms")
        print(f"   OpenSim / coxa: {per_frame / coxa_so:.0f}x per frame, {(setup + per_frame) / coxa_so:.0f}x for one frame incl. setup")
    leg_frame, leg_setup, _, _, _, _, _ = static_optimisation(case, frame_counts, args.repeats, leg_only=True)
    print(f"   OpenSim with only coxa's {len(case['muscles'])} muscles in the model: per frame {leg_frame:.2f} ms, setup {leg_setup:.1f} ms"
          + (f"; OpenSim / coxa {leg_frame / coxa_so:.0f}x per frame" if coxa_so else ""))

    print("\n   agreement, the right-leg muscles coxa considers (OpenSim's activations have Thelen2003Muscle's floor 0.01):")
    print(f"   {'muscle':14} {'OpenSim N':>9} {'coxa N':>9} {'coxa act N':>10} {'passive N':>9} {'OpenSim a':>9} {'coxa a':>9}")
    rows = []
    for m in case["muscles"]:
        active = m["force_n"] - m["passive_n"]
        rows.append((m["name"], forces.get(m["name"], float("nan")), m["force_n"], active, m["passive_n"], acts.get(m["name"], float("nan")), m["activation"]))
    loaded = [r for r in rows if max(r[1], r[3]) > 1.0]
    for r in sorted(loaded, key=lambda r: -max(r[1], r[3])):
        print(f"   {r[0]:14} {r[1]:9.1f} {r[2]:9.1f} {r[3]:10.1f} {r[4]:9.1f} {r[5]:9.3f} {r[6]:9.3f}")
    top_o = [r[0] for r in sorted(rows, key=lambda r: -r[1])[:5]]
    top_c = [r[0] for r in sorted(rows, key=lambda r: -r[3])[:5]]
    print(f"   top 5 OpenSim: {', '.join(top_o)}")
    print(f"   top 5 coxa (active): {', '.join(top_c)}  ({len(set(top_o) & set(top_c))} in common)")
    o = [r[1] for r in rows]
    c = [r[3] for r in rows]
    mo, mc = statistics.fmean(o), statistics.fmean(c)
    corr = sum((a - mo) * (b - mc) for a, b in zip(o, c)) / math.sqrt(sum((a - mo) ** 2 for a in o) * sum((b - mc) ** 2 for b in c))
    rms = math.sqrt(statistics.fmean([(a - b) ** 2 for a, b in zip(o, c)]))
    print(f"   {len(rows)} muscles: sum OpenSim {sum(o):.0f} N, sum coxa active {sum(c):.0f} N, coxa total {sum(r[2] for r in rows):.0f} N;"
          f" Pearson r {corr:.3f}, RMS difference {rms:.1f} N")
    res = {k: v for k, v in forces.items() if k.startswith(("reserve_", "knee_lock"))}
    print("   OpenSim reserves and knee lock (N m): " + ", ".join(f"{k} {v:.3g}" for k, v in res.items()))
    print(f"   coxa reserves (N m): hip {', '.join(f'{v:.3g}' for v in case['hip_reserve_n_m'])}, knee/ankle "
          f"{', '.join(f'{v:.3g}' for v in case['distal_reserve_n_m'])}, knee lock {case['passive_knee_n_m']:.3g}")
    coxa_hip = case["hip_force_femur_n"]
    mag = lambda v: math.sqrt(sum(x * x for x in v))
    bw = case["body_weight_n"]
    print(f"   hip contact force on femur_r (femur_r frame, N): OpenSim JointReaction {', '.join(f'{v:.0f}' for v in hip)} "
          f"(|F| {mag(hip):.0f} N, {100 * mag(hip) / bw:.0f} %BW); coxa {', '.join(f'{v:.0f}' for v in coxa_hip)} "
          f"(|F| {mag(coxa_hip):.0f} N, {100 * mag(coxa_hip) / bw:.0f} %BW)")
    free = {k: v for k, v in forces.items() if k.startswith("free_") and abs(v) > 1e-3}
    print("   OpenSim free actuators above 1e-3 (N m or N): " + ", ".join(f"{k[5:]} {v:.3g}" for k, v in free.items()))


if __name__ == "__main__":
    main()
