"""Request bodies of the same rows for every server benchmarks/serve runs.

    python v2_bodies.py PREPROCESSOR_JSON OUT_DIR

Writes, for one row and for 100 rows (OUT_DIR/<kind>_one.json, _hundred.json):
  plain     modelbay's /inference: {"data": [[Country, Count, id], ...]}
  mlflow    MLflow's scoring protocol (a split-orient frame of the raw rows)
  v2        modelbay's Open Inference Protocol route: one tensor per column
            (raw values; modelbay's preprocessor encodes them)
  mlserver  MLServer's XGBoost runtime: one FP32 tensor [rows, 3] of the rows
            already encoded by the version's preprocessor.json (MLServer
            serves the bare booster, so the preprocessing is done here, once,
            and MLServer is timed on scoring alone)
"""
import json
import math
import sys

prep_json, out = sys.argv[1:3]
prep = json.load(open(prep_json))
cols = [f["name"] for f in prep["features"]]
assert cols == ["Country", "Count", "id"], cols
one = [["aa", 2, 2]]
hundred = [[["aa", "bb", "cc"][i % 3], i % 50, i] for i in range(100)]


def encode(row):
    """preprocessor.json's encoding (model/preprocessor.h): a category's
    index in the sorted vocabulary, a number min-max scaled; unseen -> NaN."""
    out = []
    for f, v in zip(prep["features"], row):
        if f["type"] == "categorical":
            cats = f["categories"]
            out.append(float(cats.index(str(v))) if str(v) in cats else math.nan)
        else:
            span = f["max"] - f["min"]
            out.append((v - f["min"]) / span if span > 0 else 0.0)
    return out


def v2_columns(rows):
    inputs = []
    for k, name in enumerate(cols):
        values = [r[k] for r in rows]
        text = isinstance(values[0], str)
        inputs.append({"name": name, "shape": [len(rows)], "datatype": "BYTES" if text else "FP64",
                       "data": values})
    return {"inputs": inputs}


for size, rows in (("one", one), ("hundred", hundred)):
    bodies = {
        "plain": {"data": rows, "model_version": "1"},
        "mlflow": {"dataframe_split": {"columns": cols, "data": rows}},
        "v2": v2_columns(rows),
        "mlserver": {"inputs": [{"name": "predict", "shape": [len(rows), len(cols)], "datatype": "FP32",
                                 "data": [encode(r) for r in rows]}]},
    }
    for kind, body in bodies.items():
        with open(f"{out}/{kind}_{size}.json", "w") as f:
            json.dump(body, f)
