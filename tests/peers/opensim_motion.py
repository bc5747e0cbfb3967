"""Plays a whole-body OpenSim motion (.mot) on a model with OpenSim 4.6 and prints JSON.

usage: opensim_motion.py MODEL.osim FILE.mot BODY X Y Z

Reads the motion with OpenSim's Storage and converts it to radians with the model's own rule
(SimbodyEngine.convertDegreesToRadians: only the columns OpenSim counts as rotational), sets
every coordinate of each row (no constraint projection), and prints per row: the coordinate
values in the state ("coordinates", rad or m, by name), the whole body's centre of mass in
ground ("com"), the station (X, Y, Z) of BODY in ground ("station"), BODY's origin ("origin") and its x axis
("x_axis") in ground.
"""
import json
import sys

import opensim as osim

osim.Logger.setLevelString("Off")

model_path, mot, body_name = sys.argv[1], sys.argv[2], sys.argv[3]
x, y, z = (float(v) for v in sys.argv[4:7])
model = osim.Model(model_path)
state = model.initSystem()
sto = osim.Storage(mot)
model.getSimbodyEngine().convertDegreesToRadians(sto)
labels = [sto.getColumnLabels().get(i) for i in range(sto.getColumnLabels().getSize())][1:]
coords = model.getCoordinateSet()
body = model.getBodySet().get(body_name)
out = {"labels": labels, "times": [], "coordinates": [], "com": [], "origin": [], "station": [], "x_axis": []}
for i in range(sto.getSize()):
    vec = sto.getStateVector(i)
    data = vec.getData()
    values = [data.get(j) for j in range(data.getSize())]
    for name, value in zip(labels, values):
        coords.get(name).setValue(state, value, False)
    model.realizePosition(state)
    out["times"].append(vec.getTime())
    out["coordinates"].append({c.getName(): c.getValue(state) for c in coords})
    com = model.calcMassCenterPosition(state)
    out["com"].append([com.get(k) for k in range(3)])
    p = body.findStationLocationInGround(state, osim.Vec3(x, y, z))
    out["station"].append([p.get(k) for k in range(3)])
    o = body.getTransformInGround(state).p()
    out["origin"].append([o.get(k) for k in range(3)])
    r = body.getTransformInGround(state).R()
    out["x_axis"].append([r.get(k, 0) for k in range(3)])
print(json.dumps(out))
