"""OpenSim 4.6's inverse dynamics, static optimisation and hip joint reaction over a motion with
ground reactions, as a lab runs them, printed as JSON for coxa's side-by-side test
(tests/tests/msk_motion.rs) and for measurements by hand.

usage: opensim_motion_hcf.py MODEL.osim IK.mot GRF.mot OUT_DIR [--plate BODY:PREFIX ...]
       [--lowpass HZ] [--start S --end E] [--no-so]

1. InverseDynamicsTool on the motion (coordinates splined with OpenSim's quintic GCV splines;
   filtered at HZ if given, else not), the external loads an ExternalLoads file with one
   ExternalForce per plate (default calcn_r with no prefix: ground_force_v*, ground_force_p*,
   ground_torque_*; force and point expressed in ground).
2. AnalyzeTool with StaticOptimization (use_model_force_set, use_muscle_physiology, activation
   exponent 2) and the same loads. Actuators added as benches/compare_opensim.py does, so that
   OpenSim balances the same five equations as coxa with the same muscles: reserves of 1 N m
   per unit on hip_flexion_r, hip_adduction_r, hip_rotation_r, knee_angle_r, ankle_angle_r
   (coxa's reserves), and an ideal actuator of 1e5 N (m) per unit on every other coordinate
   (costs about 1e-10 per N m, so it takes its equation out of the problem: the pelvis'
   residuals, the right subtalar and mtp joints, the left leg and the back).
3. AnalyzeTool with JointReaction on hip_r with the StaticOptimization's forces: the force on
   femur_r in femur_r's frame (hip_r_on_femur_r_in_femur_r_fx, fy, fz), N.

Prints {"id": {"labels": [...], "rows": [[t, ...], ...]}, "so_forces": {...}, "jr": {...}}.
"""
import argparse
import json
import os
import sys

import opensim as osim

osim.Logger.removeFileSink()  # no opensim.log in the working directory (the tests run from tests/)
osim.Logger.setLevelString("Off")
EQUATIONS = ["hip_flexion_r", "hip_adduction_r", "hip_rotation_r", "knee_angle_r", "ankle_angle_r"]
FREE_STRENGTH = 1e5


def read_sto(path):
    lines = open(path).read().splitlines()
    k = next(i for i, l in enumerate(lines) if l.strip() == "endheader")
    labels = lines[k + 1].split("\t")
    rows = [[float(v) for v in l.split("\t")] for l in lines[k + 2:] if l.strip()]
    return {"labels": labels, "rows": rows}


def external_loads(path, grf, plates):
    forces = "".join(
        f'<ExternalForce name="plate_{i}"><applied_to_body>{body}</applied_to_body>'
        "<force_expressed_in_body>ground</force_expressed_in_body><point_expressed_in_body>ground</point_expressed_in_body>"
        f"<force_identifier>{prefix}ground_force_v</force_identifier><point_identifier>{prefix}ground_force_p</point_identifier>"
        f"<torque_identifier>{prefix}ground_torque_</torque_identifier><data_source_name>{grf}</data_source_name></ExternalForce>"
        for i, (body, prefix) in enumerate(plates))
    open(path, "w").write('<?xml version="1.0" encoding="UTF-8"?>\n<OpenSimDocument Version="40000"><ExternalLoads name="loads"><objects>'
                          + forces + f"</objects><groups/><datafile>{grf}</datafile></ExternalLoads></OpenSimDocument>\n")


def actuators(path, model_file):
    model = osim.Model(model_file)
    names = [model.getCoordinateSet().get(i).getName() for i in range(model.getCoordinateSet().getSize())]

    def act(name, coord, strength):
        return (f'<CoordinateActuator name="{name}"><coordinate>{coord}</coordinate><optimal_force>{strength}</optimal_force>'
                "<min_control>-Inf</min_control><max_control>Inf</max_control></CoordinateActuator>")
    acts = [act(f"reserve_{c}", c, 1.0) for c in EQUATIONS] + [act(f"free_{c}", c, FREE_STRENGTH) for c in names if c not in EQUATIONS]
    open(path, "w").write('<?xml version="1.0" encoding="UTF-8"?>\n<OpenSimDocument Version="40000"><ForceSet name="so_actuators"><objects>'
                          + "".join(acts) + "</objects><groups/></ForceSet></OpenSimDocument>\n")


def analyze(path, name, model_file, out, mot, loads, start, end, lowpass, analysis, force_set):
    open(path, "w").write(f"""<?xml version="1.0" encoding="UTF-8"?>
<OpenSimDocument Version="40000"><AnalyzeTool name="{name}">
<model_file>{model_file}</model_file><replace_force_set>false</replace_force_set>
<force_set_files>{force_set}</force_set_files><results_directory>{out}</results_directory>
<output_precision>12</output_precision><initial_time>{start}</initial_time><final_time>{end}</final_time>
<solve_for_equilibrium_for_auxiliary_states>false</solve_for_equilibrium_for_auxiliary_states>
<AnalysisSet name="Analyses"><objects>{analysis}</objects><groups/></AnalysisSet>
<ControllerSet name="Controllers"><objects/><groups/></ControllerSet>
<external_loads_file>{loads}</external_loads_file><coordinates_file>{mot}</coordinates_file>
<lowpass_cutoff_frequency_for_coordinates>{lowpass}</lowpass_cutoff_frequency_for_coordinates>
</AnalyzeTool></OpenSimDocument>
""")
    if not osim.AnalyzeTool(path).run():
        sys.exit(f"OpenSim's AnalyzeTool {name} failed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("mot")
    ap.add_argument("grf")
    ap.add_argument("out")
    ap.add_argument("--plate", action="append", default=None, help="BODY:PREFIX, e.g. calcn_r: or calcn_l:1_")
    ap.add_argument("--lowpass", type=float, default=-1)
    ap.add_argument("--start", type=float, default=None)
    ap.add_argument("--end", type=float, default=None)
    ap.add_argument("--no-so", action="store_true")
    a = ap.parse_args()
    model, mot, grf, out = (os.path.abspath(p) for p in (a.model, a.mot, a.grf, a.out))
    plates = [tuple(p.split(":", 1)) for p in (a.plate or ["calcn_r:"])]
    sto = osim.Storage(mot)
    start = sto.getFirstTime() if a.start is None else a.start
    end = sto.getLastTime() if a.end is None else a.end
    loads = os.path.join(out, "external_loads.xml")
    external_loads(loads, grf, plates)

    idt = osim.InverseDynamicsTool()
    idt.setModelFileName(model)
    idt.setCoordinatesFileName(mot)
    idt.setExternalLoadsFileName(loads)
    idt.setLowpassCutoffFrequency(a.lowpass)
    idt.setStartTime(start)
    idt.setEndTime(end)
    idt.setResultsDir(out)
    idt.setOutputGenForceFileName("inverse_dynamics.sto")
    idt.setName("id")
    # Keep every force of the model out of the inverse dynamics (the muscles would otherwise add
    # their passive forces): OpenSim's default excludes the muscles, said explicitly here.
    ex = osim.ArrayStr()
    ex.append("Muscles")
    idt.setExcludedForces(ex)
    if not idt.run():
        sys.exit("OpenSim's InverseDynamicsTool failed")
    result = {"id": read_sto(os.path.join(out, "inverse_dynamics.sto"))}
    if not a.no_so:
        force_set = os.path.join(out, "actuators.xml")
        actuators(force_set, model)
        so = ("<StaticOptimization name=\"StaticOptimization\"><on>true</on>"
              f"<start_time>{start}</start_time><end_time>{end}</end_time><step_interval>1</step_interval>"
              "<in_degrees>true</in_degrees><use_model_force_set>true</use_model_force_set><activation_exponent>2</activation_exponent>"
              "<use_muscle_physiology>true</use_muscle_physiology><optimizer_convergence_criterion>0.0001</optimizer_convergence_criterion>"
              "<optimizer_max_iterations>100</optimizer_max_iterations></StaticOptimization>")
        analyze(os.path.join(out, "setup_so.xml"), "so", model, out, mot, loads, start, end, a.lowpass, so, force_set)
        forces = os.path.join(out, "so_StaticOptimization_force.sto")
        jr = ("<JointReaction name=\"JointReaction\"><on>true</on>"
              f"<start_time>{start}</start_time><end_time>{end}</end_time><step_interval>1</step_interval><in_degrees>true</in_degrees>"
              f"<forces_file>{forces}</forces_file><joint_names>hip_r</joint_names><apply_on_bodies>child</apply_on_bodies>"
              "<express_in_frame>child</express_in_frame></JointReaction>")
        analyze(os.path.join(out, "setup_jr.xml"), "jr", model, out, mot, loads, start, end, a.lowpass, jr, force_set)
        result["so_forces"] = read_sto(forces)
        result["jr"] = read_sto(os.path.join(out, "jr_JointReaction_ReactionLoads.sto"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
