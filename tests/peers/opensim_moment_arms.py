"""Muscle-tendon lengths and moment arms about the hip coordinates as OpenSim 4.6 computes them
(GeometryPath::getLength, Muscle::computeMomentArm, i.e. the MomentArmSolver), for the side-by-side
test of coxa's .osim reader and path geometry.

usage: opensim_moment_arms.py MODEL.osim SIDE GRID_JSON
  SIDE      r or l: which hip (hip_flexion_SIDE, hip_adduction_SIDE, hip_rotation_SIDE)
  GRID_JSON [[flexion_deg, adduction_deg, rotation_deg(, knee_deg)], ...]: the hip angles and,
            optionally, knee_angle_SIDE; every other coordinate stays at its default value
            (couplers such as the patella's follow); clamped coordinates are clamped to their
            range
  -> JSON {"muscles": [names], "poses_deg": grid,
           "length_m": {muscle: [per pose]},
           "moment_arm_m": {muscle: {coordinate: [per pose]}},
           "bodies": {body: [per pose: 4x4 ground_from_body, row-major]},
           "coordinates": [per pose: {coordinate: value after OpenSim's assembly}],
           "elapsed_s": seconds spent in getLength and computeMomentArm (for the benchmark)}
A muscle is listed when its path has a point on the pelvis and one on a body of that leg
(femur, tibia, patella); all muscles of the model are listed if the model has no pelvis.
"""
import json
import math
import sys
import time

import opensim as osim



def hip_muscles(model, side):
    """The muscles crossing the hip of `side`: a path point on the pelvis and one on a body of
    that leg (femur, tibia, patella). Also used by benches/compare_opensim.py."""
    leg = {f"femur_{side}", f"tibia_{side}", f"patella_{side}"}
    muscles = []
    ms = model.getMuscles()
    for i in range(ms.getSize()):
        m = ms.get(i)
        pps = m.getGeometryPath().getPathPointSet()
        bodies = {pps.get(j).getParentFrame().getName() for j in range(pps.getSize())}
        if "pelvis" in bodies and bodies & leg:
            muscles.append(m)
    return muscles


def main():
    osim.Logger.setLevelString("error")
    model_path, side, grid_json = sys.argv[1], sys.argv[2], sys.argv[3]
    grid = json.loads(grid_json)
    model = osim.Model(model_path)
    state = model.initSystem()

    coord_names = [f"hip_flexion_{side}", f"hip_adduction_{side}", f"hip_rotation_{side}"]
    coords = [model.getCoordinateSet().get(n) for n in coord_names]
    knee = model.getCoordinateSet().get(f"knee_angle_{side}")
    muscles = hip_muscles(model, side)

    body_names = ["pelvis", f"femur_{side}", f"tibia_{side}"]
    out = {
        "muscles": [m.getName() for m in muscles],
        "poses_deg": grid,
        "length_m": {m.getName(): [] for m in muscles},
        "moment_arm_m": {m.getName(): {c: [] for c in coord_names} for m in muscles},
        "bodies": {b: [] for b in body_names},
        "coordinates": [],
    }
    elapsed = 0.0
    for pose in grid:
        for c, v in zip(coords + [knee], pose):
            q = math.radians(v)
            if c.get_clamped():  # OpenSim's assembler holds clamped coordinates within their range
                q = min(max(q, c.getRangeMin()), c.getRangeMax())
            c.setValue(state, q, False)
        model.assemble(state)
        model.realizePosition(state)
        cs = model.getCoordinateSet()
        out["coordinates"].append({cs.get(i).getName(): cs.get(i).getValue(state) for i in range(cs.getSize())})
        t0 = time.perf_counter()
        for m in muscles:
            name = m.getName()
            out["length_m"][name].append(m.getGeometryPath().getLength(state))
            for cn, c in zip(coord_names, coords):
                out["moment_arm_m"][name][cn].append(m.computeMomentArm(state, c))
        elapsed += time.perf_counter() - t0
        for b in body_names:
            t = model.getBodySet().get(b).getTransformInGround(state)
            r, p = t.R(), t.p()
            out["bodies"][b].append([
                r.get(0, 0), r.get(0, 1), r.get(0, 2), p.get(0),
                r.get(1, 0), r.get(1, 1), r.get(1, 2), p.get(1),
                r.get(2, 0), r.get(2, 1), r.get(2, 2), p.get(2),
                0.0, 0.0, 0.0, 1.0,
            ])
    out["elapsed_s"] = elapsed
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
