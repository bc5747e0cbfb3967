"""Runs the OpenSim set-ups coxa wrote beside an exported model, exactly as written, with
OpenSim 4.6's Python wheel, and prints what they gave as JSON.

usage: opensim_run_setups.py DIR SO_SETUP.xml JR_SETUP.xml MODEL.osim

In DIR (the set-ups' relative paths are DIR's): `opensim.AnalyzeTool(SO_SETUP).run()`, then
`opensim.AnalyzeTool(JR_SETUP).run()`. Prints {"so_ok", "jr_ok", "jr": {"labels", "rows"},
"so_forces": {...}, "geometry": [[body, mesh_file], ...], "mass_kg"}: the JointReaction's
ReactionLoads table (found in the results directory the set-up names), the StaticOptimization's
forces, the display meshes the loaded model attaches to its bodies, and its total mass.
"""
import glob
import json
import os
import sys

import opensim as osim

osim.Logger.removeFileSink()
osim.Logger.setLevelString("Off")


def read_sto(path):
    lines = open(path).read().splitlines()
    k = next(i for i, l in enumerate(lines) if l.strip() == "endheader")
    labels = lines[k + 1].split("\t")
    rows = [[float(v) for v in l.split("\t")] for l in lines[k + 2:] if l.strip()]
    return {"labels": labels, "rows": rows}


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
    out["mass_kg"] = model.getTotalMass(model.initSystem())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
