"""Issue 11 §1-§2: the baseline a training stores, live drift in the server
(GET /models/{v}/drift and the drift gauges of /metrics), and `modelbay monitor`
computing the same figures from the prediction log.

Every expected figure is computed here with numpy/pandas from the rows the test
made or sent, independently of modelbay's code (PSI with the formula of
docs/monitoring.md, JS distance as scipy's jensenshannon(p, q, base=2)).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
import zipfile

import numpy as np
import pandas as pd
import pytest

from conftest import make_local_stores
from model_util import checksum
from serve_util import Server

EPS = 1e-4
FEATURES = ["tenure", "spend", "plan"]
PLANS = ["basic", "family", "gold", "pro", "student"]
PLAN_P = [0.4, 0.25, 0.15, 0.12, 0.08]


def make_rows(n: int, seed: int, shift_tenure: float = 0.0, unseen_share: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = np.round(rng.normal(24, 8, n) + shift_tenure, 2)
    spend = np.round(rng.uniform(10, 90, n), 2)
    plan = rng.choice(PLANS, n, p=PLAN_P).astype(object)
    if unseen_share:
        plan[rng.random(n) < unseen_share] = "platinum"
    df = pd.DataFrame({"tenure": tenure, "spend": spend, "plan": plan})
    # a few missing spends, as real data has
    df.loc[rng.random(n) < 0.03, "spend"] = np.nan
    score = (df["tenure"].fillna(24) < 20).astype(int) + (df["plan"] == "basic").astype(int)
    df["churn"] = ((score + rng.random(n)) > 1.3).astype(int)
    return df


def psi(base: np.ndarray, live: np.ndarray) -> float:
    p = np.maximum(base / base.sum(), EPS)
    q = np.maximum(live / live.sum(), EPS)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(base: np.ndarray, live: np.ndarray) -> float:
    p, q = base / base.sum(), live / live.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0)
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0)
    return float(np.sqrt(max(0.0, 0.5 * kl_p.sum() + 0.5 * kl_q.sum())))


def live_counts(feature: dict, values: pd.Series) -> np.ndarray:
    """The live histogram of `values` over the baseline's bins, computed here."""
    present = values.dropna()
    if feature["type"] == "numeric":
        edges = np.array(feature["edges"])
        bins = np.searchsorted(edges[1:-1], present.astype(float), side="right")
        return np.bincount(bins, minlength=len(feature["counts"])).astype(float)
    top = [c["value"] for c in feature["categories"]]
    counts = [float((present == v).sum()) for v in top]
    known = set(PLANS)
    counts.append(float(present.isin(known - set(top)).sum()))      # rare
    counts.append(float((~present.isin(known)).sum()))              # unseen
    return np.array(counts)


def base_counts(feature: dict) -> np.ndarray:
    if feature["type"] == "numeric":
        return np.array(feature["counts"], dtype=float)
    return np.array([c["count"] for c in feature["categories"]] + [feature["rare"], 0], dtype=float)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("drift")
    stores = make_local_stores(tmp)
    train = make_rows(4000, seed=1)
    train.to_csv(tmp / "train.csv", index=False)
    stores.run("upload", "train.csv")
    stores.run("train", "--quiet", "--target", "churn")
    return stores, train


def baseline_of(stores) -> dict:
    return json.loads(stores.read("models", "1/baseline.json"))


def send(srv: Server, df: pd.DataFrame, batch: int = 200):
    for start in range(0, len(df), batch):
        rows = []
        for rec in df.iloc[start:start + batch][FEATURES].to_dict("records"):
            rows.append({k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in rec.items()})
        r = srv.infer(rows, "1")
        assert r.status_code == 200, r.text


def test_baseline_equals_numpy_on_the_training_data(trained):
    stores, train = trained
    b = baseline_of(stores)
    meta = json.loads(stores.read("models", "1/metadata.json"))
    raw = stores.read("models", "1/baseline.json")
    assert meta["artifacts"]["baseline.json"] == {"sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw)}
    by_name = {f["name"]: f for f in b["features"]}
    assert [f["name"] for f in b["features"]] == FEATURES
    for name in ("tenure", "spend"):
        f, col = by_name[name], train[name]
        present = col.dropna().to_numpy(dtype=float)
        assert f["rows"] == len(train) and f["missing"] == int(col.isna().sum()) and f["count"] == len(present)
        assert f["min"] == pytest.approx(present.min(), abs=1e-12)
        assert f["max"] == pytest.approx(present.max(), abs=1e-12)
        assert f["mean"] == pytest.approx(present.mean(), rel=1e-12)
        edges = np.unique(np.quantile(present, np.linspace(0, 1, 11)))
        assert np.allclose(f["edges"], edges, rtol=1e-12, atol=1e-12)
        assert list(live_counts(f, col)) == f["counts"]
    plan = by_name["plan"]
    freq = train["plan"].value_counts()
    assert {c["value"]: c["count"] for c in plan["categories"]} == freq.to_dict()
    assert plan["rare"] == 0 and plan["missing"] == 0
    out = b["output"]
    # Outputs: the model on the holdout (rows it did not learn from).
    assert out["score"] == "probability" and out["rows"] == meta["rows"]["holdout"]
    assert sum(c["count"] for c in out["labels"]) == meta["rows"]["holdout"]


def check_against_numpy(report: dict, b: dict, sent: pd.DataFrame):
    by_name = {f["name"]: f for f in b["features"]}
    for f in report["features"]:
        base = by_name[f["name"]]
        live = live_counts(base, sent[f["name"]])
        assert [x["live"] for x in f["bins"]] == list(live)
        assert f["psi"] == pytest.approx(psi(base_counts(base), live), abs=1e-9)
        assert f["js_distance"] == pytest.approx(js_distance(base_counts(base), live), abs=1e-9)
        assert f["missing_rate"] == pytest.approx(sent[f["name"]].isna().mean(), abs=1e-12)


def test_unshifted_traffic_then_shift_and_unseen_category(trained):
    stores, train = trained
    b = baseline_of(stores)
    calm = make_rows(3000, seed=2)
    with Server(stores, args=["--threads", "2", "--drift-window", "100000"]) as srv:
        assert srv.get("/models/1/drift").json()["window"]["rows"] == 0
        send(srv, calm)
        report = srv.get("/models/1/drift").json()
        assert report["baseline"] == "ok" and report["window"]["rows"] == len(calm)
        check_against_numpy(report, b, calm)
        for f in report["features"]:
            assert f["psi"] < 0.1, f
        assert report["output"]["psi"] < 0.1
        assert srv.get("/models/production/drift").json()["version"] == 1
    since = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    shifted = make_rows(3000, seed=3, shift_tenure=12.0, unseen_share=0.2)
    with Server(stores, args=["--threads", "2", "--drift-window", "100000"]) as srv:
        send(srv, shifted)
        report = srv.get("/models/1/drift").json()
        check_against_numpy(report, b, shifted)
        figures = {f["name"]: f for f in report["features"]}
        assert figures["tenure"]["psi"] > 0.25
        assert figures["plan"]["psi"] > 0.25
        assert figures["plan"]["unseen_rate"] == pytest.approx((shifted["plan"] == "platinum").mean(), abs=1e-12)
        assert figures["spend"]["psi"] < 0.1
        metrics = srv.get("/metrics").text
        for name in ("modelbay_feature_psi", "modelbay_feature_js_distance", "modelbay_feature_missing_rate",
                     "modelbay_feature_unseen_category_rate", "modelbay_output_psi"):
            assert f"# TYPE {name} gauge" in metrics
        samples = srv.metrics()
        assert samples['modelbay_feature_psi{model="default",version="1",feature="tenure"}'] == \
            pytest.approx(figures["tenure"]["psi"], rel=1e-6)
        promtool = shutil.which("promtool")
        if promtool:
            proc = subprocess.run([promtool, "check", "metrics"], input=metrics, capture_output=True, text=True)
            assert proc.returncode == 0, proc.stdout + proc.stderr
    # Offline, from the shipped log: the same rows give the same figures.
    offline = json.loads(stores.run("monitor", "--version", "1", "--since", since, "--json").stdout)
    assert offline["window"]["rows"] == len(shifted)
    for live_f, off_f in zip(report["features"], offline["features"]):
        for key in ("psi", "js_distance", "missing_rate", "unseen_rate"):
            if live_f[key] is None:
                assert off_f[key] is None
            else:
                assert off_f[key] == pytest.approx(live_f[key], abs=1e-9), (live_f["name"], key)
    assert offline["output"]["psi"] == pytest.approx(report["output"]["psi"], abs=1e-9)
    table = stores.run("monitor", "--version", "1", "--since", since).stdout
    assert "DRIFT" in table and "tenure" in table
    # All logged rows: both servers' traffic.
    everything = json.loads(stores.run("monitor", "--version", "production", "--json").stdout)
    assert everything["window"]["rows"] == len(calm) + len(shifted)


def test_unknown_version_and_bad_spec(trained):
    stores, _ = trained
    with Server(stores, args=["--threads", "2"]) as srv:
        assert srv.get("/models/7/drift").status_code == 404
        assert srv.get("/models/01/drift").status_code == 400
        assert "/models/{version}/drift" in srv.get("/openapi.json").json()["paths"]
    bad = stores.run("monitor", "--version", "1", "--since", "yesterday", check=False)
    assert bad.returncode != 0 and "--since" in bad.stderr


def _replace_baseline(stores, version: int, text: bytes):
    """Writes baseline.json with checksums that match, as an attacker with
    write access to the store could: the content itself must be refused."""
    stores.write("models", f"{version}/baseline.json", text)
    meta = json.loads(stores.read("models", f"{version}/metadata.json"))
    meta["artifacts"]["baseline.json"] = {"sha256": hashlib.sha256(text).hexdigest(), "size": len(text)}
    meta_bytes = (json.dumps(meta, indent=2) + "\n").encode()
    stores.write("models", f"{version}/metadata.json", meta_bytes)
    commit = json.loads(stores.read("models", f"{version}/.committed"))
    commit["metadata.json"] = {"sha256": hashlib.sha256(meta_bytes).hexdigest(), "size": len(meta_bytes)}
    stores.write("models", f"{version}/.committed", (json.dumps(commit, indent=2) + "\n").encode())


HOSTILE = {
    "nan": (b'{"format": 1, "features": [{"min": NaN}]}', "not valid JSON"),
    "non_monotonic": (None, "does not increase"),
    "huge_counts": (None, "at most"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_baseline_still_serves(tmp_path, kind):
    stores = make_local_stores(tmp_path)
    make_rows(600, seed=4).to_csv(tmp_path / "d.csv", index=False)
    stores.run("upload", "d.csv")
    stores.run("train", "--quiet", "--target", "churn")
    text, why = HOSTILE[kind]
    if text is None:
        b = baseline_of(stores)
        if kind == "non_monotonic":
            b["features"][0]["edges"] = list(reversed(b["features"][0]["edges"]))
        else:
            b["features"][0]["counts"] = [0] * 10_000_000
        text = json.dumps(b).encode()
    _replace_baseline(stores, 1, text)
    with Server(stores, args=["--threads", "2"]) as srv:
        r = srv.infer([{"tenure": 20, "spend": 30.5, "plan": "gold"}], "1")
        assert r.status_code == 200, r.text
        d = srv.get("/models/1/drift")
        assert d.status_code == 200
        assert d.json()["baseline"] == "invalid" and why in d.json()["message"]
        assert "modelbay_feature_psi" not in srv.get("/metrics").text
    offline = json.loads(stores.run("monitor", "--version", "1", "--json").stdout)
    assert offline["baseline"] == "invalid"


def test_export_import_carries_the_baseline(trained, tmp_path):
    stores, _ = trained
    bundle = tmp_path / "with-baseline.zip"
    stores.run("models", "export", "1", "--out", bundle)
    with zipfile.ZipFile(bundle) as z:
        assert sorted(z.namelist()) == ["baseline.json", "metadata.json", "model.json", "preprocessor.json"]
        carried = z.read("baseline.json")
    out = stores.run("models", "import", bundle).stdout
    version = int(re.search(r"as version (\d+)", out).group(1))
    meta = json.loads(stores.run("models", "show", str(version), "--json").stdout)
    assert "baseline.json" in meta["artifacts"], meta["artifacts"]
    assert stores.read("models", f"{version}/baseline.json") == carried
    with Server(stores, args=["--threads", "2"]) as srv:
        d = srv.get(f"/models/{version}/drift").json()
        assert d["baseline"] == "ok", d
    # A damaged baseline in a bundle is refused at import, naming it.
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(forged, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, data.replace(b'"rows"', b'"rowz"', 1) if name == "baseline.json" else data)
    bad = stores.run("models", "import", forged, check=False)
    assert bad.returncode != 0 and "baseline.json" in bad.stderr, bad.stderr
    # ... and so is one whose checksum was recomputed: it is checked as the server reads it.
    doc = json.loads(carried)
    doc["features"][0]["rows"] += 1
    hostile = json.dumps(doc).encode()
    recomputed = tmp_path / "recomputed.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(recomputed, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "metadata.json":
                m = json.loads(data)
                m["artifacts"]["baseline.json"] = checksum(hostile)
                data = json.dumps(m).encode()
            dst.writestr(name, hostile if name == "baseline.json" else data)
    bad = stores.run("models", "import", recomputed, check=False)
    assert bad.returncode == 2 and "baseline.json: features[0]" in bad.stderr, bad.stderr
    assert "nothing was registered" in bad.stderr


def test_version_without_baseline_serves_and_says_so(trained, tmp_path):
    stores, _ = trained
    # A bundle without baseline.json (as versions trained before baselines
    # existed export) imports, and its version has no baseline.
    exported = tmp_path / "exported.zip"
    stores.run("models", "export", "1", "--out", exported)
    bundle = tmp_path / "b.zip"
    with zipfile.ZipFile(exported) as src, zipfile.ZipFile(bundle, "w") as dst:
        for name in src.namelist():
            if name != "baseline.json":
                dst.writestr(name, src.read(name))
    stores.run("models", "import", bundle)
    with Server(stores, args=["--threads", "2"]) as srv:
        latest = srv.get("/models/latest/drift").json()
        assert latest["baseline"] == "missing" and "no baseline" in latest["message"]
        r = srv.infer([{"tenure": 20, "spend": 30.5, "plan": "gold"}], "latest")
        assert r.status_code == 200
