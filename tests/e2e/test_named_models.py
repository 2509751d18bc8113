"""Named models (issue 10 §1): one store holding the unnamed churn model and
a named model `medals` (other columns, other labels), each with its own
version numbers, aliases, gate, prediction log and results_<N>.csv; served
side by side by one `modelbay serve`; the unnamed model untouched by it all
and addressable as `default`. Bad names are refused (exit 2, HTTP 400) and
unknown ones are 404.
"""
from __future__ import annotations

import csv
import io
import json

import pytest
import requests

from conftest import make_s3_stores, make_trained_stores
from serve_util import Server, wait_for

CHURN_ROW = ["aa", 2, 2]
MEDAL_ROWS = [[3, "red"], [15, "blue"], [27, "red"]]
MEDALS = ["bronze", "silver", "gold"]


def write_medals(path):
    lines = ["size,color,medal"]
    for i in range(600):
        size = i % 30
        medal = "bronze" if size < 10 else "silver" if size < 20 else "gold"
        lines.append(f"{size},{'red' if i % 3 else 'blue'},{medal}")
    path.write_text("\n".join(lines) + "\n")


def train_medals(stores, *extra):
    proc = stores.run("train", "--quiet", "--model", "medals", "--data", "medals.csv", "--target", "medal",
                      "--json", *extra)
    return json.loads(proc.stdout)


def add_medals_model(stores):
    """Uploads medals.csv and trains `medals` twice (versions 1 and 2)."""
    write_medals(stores.cwd / "medals.csv")
    stores.run("upload", "medals.csv")
    first = train_medals(stores)
    second = train_medals(stores, "--promote", "never")
    return first, second


def models_json(stores, *args):
    return json.loads(stores.run("models", "list", "--json", *args).stdout)


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    """Local stores: the unnamed churn model (version 1, production, trained
    as before named models existed) and `medals` versions 1 and 2."""
    stores = make_trained_stores(tmp_path_factory.mktemp("named"))
    first, second = add_medals_model(stores)
    assert (first["model"], first["version"], second["version"]) == ("medals", 1, 2)
    return stores


def test_versions_are_numbered_per_model_and_the_unnamed_model_keeps_its_place(two_models):
    stores = two_models
    keys = stores.list_keys("models")
    # The unnamed model where it always was; the named one under models/medals/.
    assert "1/.committed" in keys and "1/model.json" in keys and "aliases/production.json" in keys
    assert "models/medals/1/.committed" in keys and "models/medals/2/.committed" in keys
    assert "2/.committed" not in keys  # medals' second version did not take the unnamed model's number 2
    unnamed = models_json(stores)
    assert [v["version"] for v in unnamed["versions"]] == [1]
    assert unnamed["model"] == "default" and unnamed["models"] == ["default", "medals"]
    assert models_json(stores, "--model", "default") ["versions"] == unnamed["versions"]
    medals = models_json(stores, "--model", "medals")
    assert medals["model"] == "medals" and [v["version"] for v in medals["versions"]] == [1, 2]
    assert medals["aliases"] == {"latest": 2, "production": 1}  # its own gate: v1 promoted, v2 --promote never
    assert medals["versions"][0]["target"] == "medal"
    shown = json.loads(stores.run("models", "show", "2", "--model", "medals", "--json").stdout)
    assert shown["version"] == 2 and shown["target"] == "medal"
    # A human listing points at the other models.
    assert "models in this store: default, medals" in stores.run("models", "list").stdout


def test_promote_export_import_per_model(two_models, tmp_path):
    stores = two_models
    out = stores.run("models", "promote", "2", "--model", "medals", "--alias", "staging").stdout
    assert out.strip() == "staging: (none) -> 2"
    assert models_json(stores, "--model", "medals")["aliases"]["staging"] == 2
    assert "staging" not in models_json(stores)["aliases"]  # the unnamed model's aliases are its own
    bundle = tmp_path / "medals2.zip"
    stores.run("models", "export", "2", "--model", "medals", "--out", bundle)
    proc = stores.run("models", "import", bundle, "--model", "copy", "--json")
    assert json.loads(proc.stdout)["version"] == 1  # a new model starts at 1
    copy = models_json(stores, "--model", "copy")
    assert [v["version"] for v in copy["versions"]] == [1] and copy["versions"][0]["target"] == "medal"
    assert models_json(stores)["models"] == ["default", "copy", "medals"]


@pytest.mark.parametrize("name", ["Medals", "../x", "a/b", "-x", "123", "x" * 64, "a b", "médaille"])
def test_bad_model_names_exit_2(two_models, name):
    stores = two_models
    for args in (["models", "list", "--model", name], ["train", "--quiet", "--model", name],
                 ["results", "export", "--version", "1", "--model", name],
                 ["predict", "medals.csv", "--model", name]):
        proc = stores.run(*args, check=False)
        assert proc.returncode == 2, (args, proc.returncode, proc.stderr)
        assert "model name" in proc.stderr and "lowercase letters" in proc.stderr, proc.stderr


def test_unknown_model_is_not_found(two_models):
    proc = two_models.run("models", "show", "1", "--model", "nope", check=False)
    assert proc.returncode == 3, proc.stderr
    proc = two_models.run("predict", "medals.csv", "--model", "nope", check=False)
    assert proc.returncode in (3, 5), proc.stderr


def _rows(stores, key):
    text = stores.read("results", key).decode()
    return list(csv.reader(io.StringIO(text)))


def test_one_server_serves_both_and_keeps_their_logs_apart(two_models):
    stores = two_models
    with Server(stores, args=["--threads", "2", "--alias-refresh", "0.5", "--results-refresh", "0"]) as srv:
        srv.wait_ready()
        # /inference: without "model" (and with "default") the unnamed model, as before.
        for body in ({"data": [CHURN_ROW]}, {"data": [CHURN_ROW], "model": "default"},
                     {"data": [CHURN_ROW], "model": None}):
            r = srv.post("/inference", json=body)
            assert r.status_code == 200 and r.json()["model_version"] == "1", r.text
        r = srv.post("/inference", json={"data": MEDAL_ROWS, "model": "medals"})
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == MEDALS and r.json()["model_version"] == "1"  # medals' production
        r = srv.post("/inference", json={"data": MEDAL_ROWS, "model": "medals", "model_version": "latest"})
        assert r.status_code == 200 and r.json()["model_version"] == "2", r.text
        # The unnamed model's columns are not medals' columns.
        r = srv.post("/inference", json={"data": MEDAL_ROWS})
        assert r.status_code == 400, r.text
        # Bad and unknown names.
        for bad in ("Medals", "../medals", "123", 3, ["medals"]):
            r = srv.post("/inference", json={"data": MEDAL_ROWS, "model": bad})
            assert r.status_code == 400 and "model" in r.json()["message"], (bad, r.text)
        r = srv.post("/inference", json={"data": MEDAL_ROWS, "model": "nope"})
        assert r.status_code == 404 and "no model named 'nope'" in r.json()["message"], r.text

        # Open Inference Protocol: real names.
        meta = srv.get("/v2/models/medals").json()
        assert meta["name"] == "medals" and meta["versions"] == ["1", "2"]
        assert [i["name"] for i in meta["inputs"]] == ["size", "color"]
        assert meta["parameters"]["class_labels"] == sorted(MEDALS)
        assert srv.get("/v2/models/default").json()["name"] == "default"
        assert srv.get("/v2/models/medals/versions/2/ready").json() == {"name": "medals", "version": "2",
                                                                         "ready": True}
        body = {"id": "x1", "inputs": [{"name": "size", "shape": [3], "datatype": "INT64", "data": [3, 15, 27]},
                                       {"name": "color", "shape": [3], "datatype": "BYTES",
                                        "data": ["red", "blue", "red"]}]}
        r = srv.post("/v2/models/medals/infer", json=body)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["model_name"] == "medals" and out["id"] == "x1"
        assert [o for o in out["outputs"] if o["name"] == "predict"][0]["data"] == MEDALS
        r = srv.get("/v2/models/Medals")
        assert r.status_code == 400 and "model name" in r.json()["error"], r.text
        r = srv.get("/v2/models/nope/ready")
        assert r.status_code == 404 and "nope" in r.json()["error"], r.text

        # MLflow/SageMaker scoring: ?model=
        r = srv.post("/invocations?model=medals", json={"dataframe_split": {"columns": ["size", "color"],
                                                                           "data": MEDAL_ROWS}})
        assert r.status_code == 200 and r.json()["predictions"] == MEDALS, r.text
        r = srv.post("/invocations?model=medals", data="size,color\n3,red\n", headers={"Content-Type": "text/csv"})
        assert r.status_code == 200 and r.json()["predictions"] == ["bronze"], r.text
        assert srv.post("/invocations?model=Nope!", json={"instances": MEDAL_ROWS}).status_code == 400

        # /models lists every model; /models/{v}?model= shows one's metadata.
        listing = srv.get("/models").json()
        assert listing["versions"] == [1]  # the unnamed model's, as before
        assert listing["models"]["default"]["versions"] == [1]
        assert listing["models"]["medals"]["versions"] == [1, 2]
        assert listing["models"]["medals"]["aliases"]["production"] == 1
        assert srv.get("/models/2?model=medals").json()["target"] == "medal"
        assert srv.get("/models/2").status_code == 404  # the unnamed model has no version 2

        metrics = srv.metrics()
        assert metrics['modelbay_rows_predicted_total{model="medals",version="1"}'] >= 3 + 3 + 1
        assert metrics['modelbay_rows_predicted_total{model="default",version="1"}'] >= 3

        # A model trained while the server runs is served without a restart.
        train_medals(stores, "--promote", "never")  # medals version 3
        wait_for(lambda: srv.post("/inference", json={"data": MEDAL_ROWS, "model": "medals",
                                                      "model_version": "3"}).status_code == 200,
                 timeout=30, what="medals version 3 served")

    # Each model version's log is exported into its own results_<N>.csv.
    stores.run("results", "export", "--version", "1")
    stores.run("results", "export", "--version", "1", "--model", "medals")
    stores.run("results", "export", "--version", "2", "--model", "medals")
    keys = stores.list_keys("results")
    assert "results_1.csv" in keys and "models/medals/results_1.csv" in keys
    assert "models/medals/results_2.csv" in keys
    unnamed = _rows(stores, "results_1.csv")
    medals1 = _rows(stores, "models/medals/results_1.csv")
    medals2 = _rows(stores, "models/medals/results_2.csv")
    assert unnamed[0][:3] == ["timestamp", "request_id", "model_version"] and "Country" in unnamed[0]
    assert medals1[0][:6] == ["timestamp", "request_id", "model_version", "size", "color", "prediction"]
    assert len(unnamed) - 1 == 3  # only the three unnamed-model rows
    assert len(medals1) - 1 == 3 + 3 + 3 + 1  # /inference, v2 infer, invocations JSON and CSV
    assert len(medals2) - 1 == 3
    assert {r[2] for r in medals1[1:]} == {"1"} and {r[2] for r in medals2[1:]} == {"2"}


def test_predict_and_results_export_with_model(two_models, tmp_path):
    stores = two_models
    inp = tmp_path / "few.csv"
    inp.write_text("size,color\n3,red\n27,blue\n")
    out = tmp_path / "few_out.csv"
    logs_before = [k for k in stores.list_keys("results") if k.startswith("logs/")]
    stores.run("predict", inp, "--model", "medals", "--version", "1", "--out", out)
    rows = list(csv.reader(out.open()))
    assert rows[0][:2] == ["size", "color"] and [r[2] for r in rows[1:]] == ["bronze", "gold"], rows
    # The batch's rows went to medals' log only, and its results_1.csv has them.
    assert [k for k in stores.list_keys("results") if k.startswith("logs/")] == logs_before
    assert any(k.startswith("models/medals/logs/v1/") for k in stores.list_keys("results"))
    exported = tmp_path / "medals1.csv"
    stores.run("results", "export", "--version", "1", "--model", "medals", "--out", exported)
    lines = exported.read_text().splitlines()
    assert lines[0].startswith("timestamp,request_id,model_version,size,color,prediction"), lines[0]
    assert sum(1 for line in lines if ",batch-" in line) == 2

def test_old_unnamed_store_serves_unchanged(tmp_path):
    """A store made without --model: every route as before, and `default`
    names its model on the v2 routes and on the command line."""
    stores = make_trained_stores(tmp_path)
    assert not any(k.startswith("models/") for k in stores.list_keys("models"))
    assert models_json(stores, "--model", "default")["versions"][0]["version"] == 1
    with Server(stores, args=["--threads", "2"]) as srv:
        srv.wait_ready()
        r = srv.post("/inference", json={"data": [CHURN_ROW], "model_version": "1"})
        assert r.status_code == 200 and r.json()["model_version"] == "1"
        assert srv.get("/v2/models/default/ready").status_code == 200
        assert srv.get("/models").json()["models"].keys() == {"default"}
        r = srv.post("/inference", json={"data": [CHURN_ROW], "model": "medals"})
        assert r.status_code == 404, r.text
    stores.run("results", "export", "--version", "1")
    assert "results_1.csv" in stores.list_keys("results")
    assert not any(k.startswith("models/") for k in stores.list_keys("results"))


def test_two_models_on_s3(seaweed, tmp_path):
    """The same layout on S3 (SeaweedFS, signatures checked): train side by
    side, serve both, export each one's results into its own key."""
    stores = make_s3_stores(seaweed, tmp_path)
    stores.run("sample-data", "--rows", "500", "--seed", "3", "--out", "churn.csv")
    stores.run("upload", "churn.csv")
    stores.run("train", "--quiet", "--data", "churn.csv")
    add_medals_model(stores)
    keys = stores.list_keys("models")
    assert "1/.committed" in keys and "models/medals/2/.committed" in keys and "2/.committed" not in keys
    with Server(stores, args=["--threads", "2", "--results-refresh", "0"]) as srv:
        srv.wait_ready()
        assert srv.post("/inference", json={"data": [CHURN_ROW]}).status_code == 200
        r = srv.post("/inference", json={"data": MEDAL_ROWS, "model": "medals"})
        assert r.status_code == 200 and r.json()["predictions"] == MEDALS, r.text
    stores.run("results", "export", "--version", "1", "--model", "medals")
    stores.run("results", "export", "--version", "1")
    medals = _rows(stores, "models/medals/results_1.csv")
    unnamed = _rows(stores, "results_1.csv")
    assert len(medals) - 1 == 3 and "size" in medals[0]
    assert len(unnamed) - 1 == 1 and "size" not in unnamed[0]


def test_watch_retrains_one_named_model(two_models):
    """`watch --model NAME` trains that model on new data and leaves the
    others (and the unnamed model) alone."""
    stores = two_models
    before_unnamed = models_json(stores)["versions"]
    before_medals = models_json(stores, "--model", "medals")["versions"]
    stores.run("watch", "--once", "--debounce", "0", "--model", "watched", "--target", "medal", timeout=300)
    watched = models_json(stores, "--model", "watched")
    assert [v["version"] for v in watched["versions"]] == [1] and watched["versions"][0]["target"] == "medal"
    assert watched["versions"][0]["trigger"] == "data-arrival"
    assert models_json(stores)["versions"] == before_unnamed
    assert models_json(stores, "--model", "medals")["versions"] == before_medals
    proc = stores.run("watch", "--once", "--model", "Bad", check=False)
    assert proc.returncode == 2 and "model name" in proc.stderr
