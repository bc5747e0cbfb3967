"""Reads an OpenSim .mot/.sto with OpenSim 4.6's own reader (TimeSeriesTable) and prints JSON.

usage: opensim_storage.py FILE [MODEL.osim]

Prints {"labels", "in_degrees", "times", "rows"}; with a model, also the rotation of femur_r and
femur_l in ground (row-major, OpenSim axes) after setting each row's coordinates (degrees
converted to radians when the file says inDegrees=yes), all other coordinates at zero.
"""
import json
import math
import sys

import opensim as osim

osim.Logger.setLevelString("Off")

table = osim.TimeSeriesTable(sys.argv[1])
labels = list(table.getColumnLabels())
in_degrees = table.getTableMetaDataAsString("inDegrees") == "yes"
times = list(table.getIndependentColumn())
rows = [[table.getRowAtIndex(i)[j] for j in range(len(labels))] for i in range(table.getNumRows())]
out = {"labels": labels, "in_degrees": in_degrees, "times": times, "rows": rows}
if len(sys.argv) > 2:
    model = osim.Model(sys.argv[2])
    state = model.initSystem()
    coords = model.getCoordinateSet()
    femurs = {"femur_r": [], "femur_l": []}
    for row in rows:
        for name, value in zip(labels, row):
            coords.get(name).setValue(state, math.radians(value) if in_degrees else value, False)
        model.realizePosition(state)
        for body in femurs:
            r = model.getBodySet().get(body).getTransformInGround(state).R()
            femurs[body].append([r.get(i, j) for i in range(3) for j in range(3)])
    out["femur_rotation_in_ground"] = femurs
print(json.dumps(out))
