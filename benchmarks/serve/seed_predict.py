"""The baseline: the seed's predict.py design, re-implemented faithfully.

Flask on port PORT, POST /inference with {"data": [...], "model_version": "1"}.
Per request, like the seed: fetch the model and the scaler/preprocessor of that
version from the model store (here the same local folder store modelbay
uses), preprocess, predict, then read the whole results_<version>.csv, append
the rows and write it back. Single process, Flask's threaded dev server, as
the seed ran it in Docker.

    python seed_predict.py MODEL_STORE RESULTS_DIR PORT
"""
import csv
import io
import json
import math
import os
import sys
import time
from datetime import datetime, timezone

import numpy as np
import xgboost as xgb
from flask import Flask, jsonify, request

MODEL_STORE, RESULTS_DIR, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = Flask(__name__)


def download(version):
    """The seed downloaded model, scaler and metadata from S3 on every request."""
    folder = os.path.join(MODEL_STORE, str(version))
    with open(os.path.join(folder, "model.json"), "rb") as f:
        model_bytes = bytearray(f.read())
    with open(os.path.join(folder, "preprocessor.json")) as f:
        prep = json.load(f)
    booster = xgb.Booster()
    booster.load_model(model_bytes)
    return booster, prep


def transform(prep, rows):
    out = np.full((len(rows), len(prep["features"])), np.nan, dtype=np.float32)
    for r, row in enumerate(rows):
        for c, (feat, v) in enumerate(zip(prep["features"], row)):
            if v is None:
                continue
            if feat["type"] == "numeric":
                lo, hi = feat["min"], feat["max"]
                out[r, c] = 0.0 if hi == lo else (float(v) - lo) / (hi - lo)
            else:
                text = str(v) if not isinstance(v, float) or not v.is_integer() else str(int(v))
                cats = feat["categories"]
                if text in cats:
                    out[r, c] = cats.index(text)
    return out


@app.route("/inference", methods=["POST"])
def inference():
    body = request.get_json()
    version = str(body.get("model_version", "1"))
    rows = body["data"]
    booster, prep = download(version)
    x = transform(prep, rows)
    probs = booster.inplace_predict(x)
    if probs.ndim == 1:
        probs = np.stack([1 - probs, probs], axis=1)
    labels = prep["class_labels"]
    preds = [labels[int(np.argmax(p))] for p in probs]
    # The seed's logging: read the whole results file, append, write it back.
    path = os.path.join(RESULTS_DIR, f"results_{version}.csv")
    old = open(path).read() if os.path.exists(path) else ""
    buf = io.StringIO()
    w = csv.writer(buf)
    if not old:
        w.writerow(["timestamp"] + [f["name"] for f in prep["features"]] + ["prediction"])
    now = datetime.now(timezone.utc).isoformat()
    for row, p in zip(rows, preds):
        w.writerow([now] + list(row) + [p])
    with open(path, "w") as f:
        f.write(old + buf.getvalue())
    return jsonify({"model_version": version, "predictions": preds,
                    "probabilities": probs.tolist(), "message": "inference completed"})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=PORT, threaded=True)
