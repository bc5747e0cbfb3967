"""Runs the OpenSim set-ups coxa wrote beside an exported model, exactly as written, with
OpenSim 4.6's Python wheel, and prints what they gave as JSON.

usage: opensim_run_setups.py DIR SO_SETUP.xml JR_SETUP.xml MODEL.osim

In DIR (the set-ups' relative paths are DIR's): `opensim.AnalyzeTool(SO_SETUP).run()`, then
`opensim.AnalyzeTool(JR_SETUP).run()`. Prints {"so_ok", "jr_ok", "jr": {"labels", "rows"},
"so_forces": {...}, "geometry": [[body, mesh_file], ...], "mass_kg", "joints": {name: [[parent
body, [x, y, z]], [child body, [x, y, z]]]}}: the JointReaction's ReactionLoads table (found in
the results directory the set-up names), the StaticOptimization's forces, the display meshes the
loaded model attaches to its bodies, its total mass, and where OpenSim places each hip joint's
centre in its parent and child bodies (m).
"""
import glob
import json
import os
import sys

import opensim as osim

osim.Logger.removeFileSink()
osim.Logger.setLevelString("Off")


def read_sto(path):
    """An OpenSim results file through OpenSim's own reader: labels (time first) and rows."""
    table = osim.TimeSeriesTable(path)
    times = table.getIndependentColumn()
    columns = range(table.getNumColumns())
    rows = [[times[i]] + [table.getRowAtIndex(i)[j] for j in columns] for i in range(table.getNumRows())]
    return {"labels": ["time"] + list(table.getColumnLabels()), "rows": rows}


def main():
    folder, so_setup, jr_setup, model_file = sys.argv[1:5]
    os.chdir(folder)
    out = {"so_ok": bool(osim.AnalyzeTool(so_setup).run())}
    out["jr_ok"] = bool(osim.AnalyzeTool(jr_setup).run())
    tool = osim.AnalyzeTool(jr_setup, False)
    results = tool.getResultsDir()
    jr = glob.glob(os.path.join(results, "*_JointReaction_ReactionLoads.sto"))
    so = glob.glob(os.path.join(results, "*_StaticOptimization_force.sto"))
    out["jr"] = read_sto(jr[0]) if jr else None
    out["so_forces"] = read_sto(so[0]) if so else None
    model = osim.Model(model_file)
    model.initSystem()
    geometry = []
    for b in model.getBodySet():
        for i in range(b.getPropertyByName("attached_geometry").size()):
            g = b.get_attached_geometry(i)
            mesh = osim.Mesh.safeDownCast(g)
            if mesh is not None:
                geometry.append([b.getName(), mesh.get_mesh_file()])
    out["geometry"] = geometry
    joints = {}
    for j in model.getJointSet():
        if j.getName().startswith("hip"):
            frames = []
            for f in (j.getParentFrame(), j.getChildFrame()):
                p = f.findTransformInBaseFrame().p()
                frames.append([f.findBaseFrame().getName(), [p.get(i) for i in range(3)]])
            joints[j.getName()] = frames
    out["joints"] = joints
    out["mass_kg"] = model.getTotalMass(model.initSystem())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
