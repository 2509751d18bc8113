"""Encodes a CSV with a modelbay version's preprocessor.json (min-max for
numeric columns, sorted-vocabulary codes for categorical ones, missing or
unseen -> NaN) into the raw float32 matrix floor.cpp scores.
Usage: encode.py CSV PREPROCESSOR_JSON OUT_DIR   (stdlib only)"""
import array
import csv
import json
import math
import sys
from pathlib import Path

src, prep_path, out_dir = sys.argv[1:4]
prep = json.load(open(prep_path))
feats = prep["features"]
codes = [{c: float(i) for i, c in enumerate(f.get("categories", []))} for f in feats]
nan = math.nan
out = array.array("f")
rows = 0
with open(src, newline="") as fh:
    reader = csv.reader(fh)
    header = next(reader)
    idx = [header.index(f["name"]) for f in feats]
    for rec in reader:
        for k, f in enumerate(feats):
            v = rec[idx[k]].strip()
            if f["type"] == "numeric":
                if v == "":
                    out.append(nan)
                else:
                    lo, hi = f["min"], f["max"]
                    out.append((float(v) - lo) / (hi - lo) if hi > lo else 0.0)
            else:
                out.append(codes[k].get(v, nan))
        rows += 1
Path(out_dir).mkdir(parents=True, exist_ok=True)
with open(Path(out_dir) / "x.f32", "wb") as fh:
    out.tofile(fh)
(Path(out_dir) / "shape.txt").write_text(f"{rows} {len(feats)}\n")
