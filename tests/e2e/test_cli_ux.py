"""Issue 15: the command line as a new user meets it, driven through the real
binary. Each section is one point of the issue."""
from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from conftest import make_trained_stores

# --- `--out`: `-` is stdout, streams are written through, files replaced atomically


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One trained version (1) with some logged predictions."""
    s = make_trained_stores(tmp_path_factory.mktemp("trained"))
    (s.cwd / "new.csv").write_text("Country,Count,id\naa,2,2\nbb,50,3\ncc,99,4\n")
    s.run("predict", "new.csv", "--out", "scored.csv")
    return s


def out_commands(s):
    """Every command that writes a file the user names: name -> (argv before
    the output, argv after it, a check of the bytes written)."""
    s.run("store", "put", "results", "tiny.csv", "-", input="a,b\n1,2\n")
    return {
        "sample-data": (["sample-data", "--rows", "5", "--out"], [],
                        lambda b: b.startswith(b"Country,Count,id,churn\n") and b.count(b"\n") == 6),
        "predict": (["predict", "new.csv", "--no-results-file", "--out"], [],
                    lambda b: b.count(b"\n") == 4 and b"aa,2,2" in b),
        "results export": (["results", "export", "--version", "1", "--out"], [],
                           lambda b: b.count(b"\n") >= 4 and b"Country" in b.split(b"\n")[0]),
        "models export": (["models", "export", "1", "--out"], [], lambda b: b.startswith(b"PK\x03\x04")),
        "store get": (["store", "get", "results", "tiny.csv"], [], lambda b: b == b"a,b\n1,2\n"),
    }


COMMANDS = ["sample-data", "predict", "results export", "models export", "store get"]


def read_fifo_in_background(fifo: Path):
    got = {}

    def reader():
        with open(fifo, "rb") as f:
            got["bytes"] = f.read()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    return t, got


@pytest.mark.parametrize("name", COMMANDS)
def test_dash_means_stdout(trained, name):
    before, after, ok = out_commands(trained)[name]
    proc = trained.popen(*before, "-", *after, stdout=-1, stderr=-1)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    assert ok(out), out[:300]
    assert not (trained.cwd / "-").exists(), "--out - created a file named -"


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("via_symlink", [False, True], ids=["fifo", "symlink-to-fifo"])
def test_fifo_and_dev_stdout_like_symlink_survive(trained, tmp_path, name, via_symlink):
    """A FIFO, or a symlink leading to one (what /dev/stdout is when stdout is
    a pipe), is written through; both are still there afterwards."""
    before, after, ok = out_commands(trained)[name]
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    target = fifo
    if via_symlink:
        target = tmp_path / "stdout"
        target.symlink_to(fifo)
    t, got = read_fifo_in_background(fifo)
    trained.run(*before, target, *after)
    t.join(timeout=120)
    assert not t.is_alive()
    assert ok(got["bytes"]), got["bytes"][:300]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced"
    if via_symlink:
        assert target.is_symlink() and os.readlink(target) == str(fifo), "the symlink was replaced"
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize("name", COMMANDS)
def test_regular_file_replaced_atomically_and_symlink_kept(trained, tmp_path, name):
    before, after, ok = out_commands(trained)[name]
    real = tmp_path / "real.out"
    real.write_bytes(b"old contents\n")
    old_inode = real.stat().st_ino
    link = tmp_path / "link.out"
    link.symlink_to(real)
    trained.run(*before, link, *after)
    assert link.is_symlink(), "a symlink to a regular file was renamed over"
    assert ok(real.read_bytes())
    assert real.stat().st_ino != old_inode, "not replaced by rename (a reader could see half a file)"
    assert not list(tmp_path.glob("*.partial"))
    # A plain new file.
    trained.run(*before, tmp_path / "new.out", *after)
    assert ok((tmp_path / "new.out").read_bytes())


def test_out_folder_is_refused(trained, tmp_path):
    p = trained.run("sample-data", "--rows", "5", "--out", tmp_path, check=False)
    assert p.returncode != 0 and "is a folder" in p.stderr


# --- store settings: parsed strictly, never a guessed folder


@pytest.mark.parametrize("value, hint", [
    ("s3:/ux-data", "did you mean s3://ux-data"),
    ("ux-data/", "ambiguous"),
    ("gs://ux-data", "unsupported"),
])
def test_malformed_store_setting_is_an_error_naming_it(local_stores, value, hint):
    s = local_stores
    p = s.run("store", "ls", "data", check=False, extra_env={"DATA_STORE": value})
    assert p.returncode == 2, p.stderr
    assert "DATA_STORE" in p.stderr and hint in p.stderr and "accepted forms" in p.stderr, p.stderr
    assert not (s.cwd / "s3:").exists() and not (s.cwd / "ux-data").exists(), "a folder was created"
    p = s.run("--data-store", value, "store", "ls", "data", check=False)
    assert p.returncode == 2 and "--data-store" in p.stderr, p.stderr


def test_bare_name_is_a_bucket_even_with_a_folder_of_that_name(local_stores):
    s = local_stores
    (s.cwd / "mydata").mkdir()
    p = s.run("config", extra_env={"DATA_STORE": "mydata"})
    assert "s3://mydata" in p.stdout
    assert "not the folder ./mydata" in p.stderr and "./mydata" in p.stderr
    p = s.run("config", extra_env={"DATA_STORE": "./mydata"})
    assert str(s.cwd / "mydata") in p.stdout and "s3://mydata" not in p.stdout


# --- a CSV written with another delimiter is refused where it enters


@pytest.mark.parametrize("sep, name", [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_upload_refuses_other_delimiter_naming_it(local_stores, sep, name):
    s = local_stores
    rows = [["Country", "Count", "id", "churn"], ["aa", "2", "1", "0"], ["bb", "7", "2", "1"]]
    (s.cwd / "semi.csv").write_text("".join(sep.join(r) + "\n" for r in rows))
    p = s.run("upload", "semi.csv", check=False)
    assert p.returncode == 2, p.stderr
    assert "semi.csv:1:" in p.stderr and f"looks {name}" in p.stderr and "comma" in p.stderr, p.stderr
    assert s.list_keys("data") == [], "something was stored"


def test_train_names_the_delimiter_of_data_put_by_another_tool(local_stores):
    s = local_stores
    s.run("store", "put", "data", "eu.csv", "-", input="Country;Count;churn\naa;1,5;0\nbb;2,5;1\n")
    p = s.run("train", "--quiet", check=False)
    assert p.returncode == 2, p.stderr
    assert "eu.csv" in p.stderr and "semicolon" in p.stderr, p.stderr


def test_a_quoted_one_column_header_is_still_accepted(local_stores):
    s = local_stores
    (s.cwd / "one.csv").write_text('"a;b"\n1\n2\n')
    s.run("upload", "one.csv")


# --- misspelled XGBoost parameters


def test_misspelled_xgboost_param_is_refused_with_a_suggestion(trained, tmp_path):
    s = trained
    (tmp_path / "p.json").write_text('{"max_dept": 4, "num_boost_round": 3}')
    versions_before = s.list_keys("models")
    p = s.run("train", "--quiet", "--params", tmp_path / "p.json", check=False)
    assert p.returncode == 2, p.stderr
    assert "'max_dept'" in p.stderr and "did you mean max_depth?" in p.stderr, p.stderr
    assert "--allow-unknown-params" in p.stderr
    assert s.list_keys("models") == versions_before, "a version was written"
    (tmp_path / "ok.json").write_text('{"learning_rate": 0.2, "reg_lambda": 2, "num_boost_round": 3}')
    s.run("train", "--quiet", "--params", tmp_path / "ok.json", "--promote", "never")


def test_allow_unknown_params_hands_the_key_to_xgboost(trained, tmp_path):
    s = trained
    (tmp_path / "p.json").write_text('{"my_custom_knob": 1, "num_boost_round": 3}')
    p = s.run("train", "--json", "--params", tmp_path / "p.json", "--allow-unknown-params", "--promote", "never")
    import json
    version = json.loads(p.stdout)["version"]
    meta = json.loads(s.run("models", "show", str(version), "--json").stdout)
    assert meta["params"]["my_custom_knob"] == "1", meta["params"]


# --- typo help and exit codes


@pytest.mark.parametrize("argv, expect", [
    (["trian"], "did you mean `modelbay train`?"),
    (["models", "shwo", "1"], "did you mean `modelbay models show`?"),
    (["train", "--traget", "churn"], "did you mean --target?"),
    (["--data-stor", "x", "config"], "did you mean --data-store?"),
    (["sample-data", "--rows", "5", "--out=x.csv", "--sed", "3"], "did you mean --seed?"),
])
def test_typos_get_the_nearest_name_and_exit_2(local_stores, argv, expect):
    p = local_stores.run(*argv, check=False)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert expect in p.stderr, p.stderr
    assert not (local_stores.cwd / "x.csv").exists()


def test_every_usage_error_exits_2_and_help_documents_exit_codes(local_stores):
    s = local_stores
    for argv in ([], ["models"], ["sample-data"], ["sample-data", "--out", "a.csv", "--rows", "0"],
                 ["predict", "--threads", "nope"], ["zzzzzzzz"]):
        p = s.run(*argv, check=False)
        assert p.returncode == 2, (argv, p.returncode, p.stderr)
    help_text = s.run("--help").stdout
    assert "Exit codes: 0 ok" in help_text and "2 usage error" in help_text
    assert s.run("--version").returncode == 0


# --- the server's access log


def _wait_for(predicate, timeout=60.0):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.1)
    return predicate()


def test_access_log_text_and_5xx_cause_at_warning(tmp_path):
    import re
    from serve_util import Server
    s = make_trained_stores(tmp_path)
    with Server(s) as srv:
        srv.wait_ready()
        r = srv.post("/inference", json={"data": [["aa", 2, 2], ["bb", 3, 4]]},
                     headers={"X-Request-Id": "req-abc-1"})
        assert r.status_code == 200
        assert srv.get("/models/999").status_code == 404
        line = _wait_for(lambda: re.search(
            r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info POST /inference 200 [0-9.]+ms "
            r"route=/inference version=1 rows=2 id=req-abc-1$",
            srv.log_text(), re.M))
        assert line, srv.log_text()[-2000:]
        assert _wait_for(lambda: re.search(r"GET /models/999 404 .* version=- rows=0", srv.log_text())), \
            srv.log_text()[-2000:]
    # A damaged version: the client gets a 503, the log says why.
    model = s.cwd / ".modelbay" / "models" / "1" / "model.json"
    model.write_bytes(model.read_bytes().replace(b"1", b"2", 1))
    with Server(s) as srv:
        r = srv.infer([["aa", 2, 2]], version="1")
        assert r.status_code == 503, r.text
        log = _wait_for(lambda: "POST /inference 503" in srv.log_text() and srv.log_text())
        assert log, srv.log_text()[-2000:]
        assert re.search(r" warning 503 .*sha256 mismatch", log), log[-2000:]


def test_access_log_json_lines(tmp_path):
    import json
    from serve_util import Server
    s = make_trained_stores(tmp_path)
    with Server(s, args=["--log-format", "json"]) as srv:
        srv.wait_ready()
        assert srv.infer([["aa", 2, 2]]).status_code == 200

        def access():
            for line in srv.log_text().splitlines():
                if line.startswith("{"):
                    doc = json.loads(line)  # every log line of the server is one JSON object
                    if doc.get("access") and doc["path"] == "/inference":
                        return doc
        doc = _wait_for(access)
        assert doc, srv.log_text()[-2000:]
        assert doc["level"] == "info" and doc["method"] == "POST" and doc["status"] == 200
        assert doc["model_version"] == "1" and doc["rows"] == 1 and doc["request_id"]
        assert doc["route"] == "/inference" and doc["latency_ms"] >= 0 and doc["time"].endswith("Z")
        others = [json.loads(l) for l in srv.log_text().splitlines() if l.startswith("{")]
        assert any("loaded model version 1" in d.get("message", "") for d in others)
    p = s.run("--log-format", "yaml", "config", check=False)
    assert p.returncode == 2


# --- config says where each value came from; cleanup --dry-run lists keys


def test_config_json_names_sources_and_never_secrets(local_stores):
    import json
    s = local_stores
    (s.cwd / ".env").write_text("RESULTS_STORE=./from-dotenv\nAWS_REGION=eu-west-1\n")
    p = s.run("--model-store", "./from-flag", "config", "--json",
              extra_env={"DATA_STORE": "s3://from-env", "AWS_PROFILE": "nosuchprofile"})
    doc = json.loads(p.stdout)
    assert doc["DATA_STORE"] == {"value": "s3://from-env", "source": "environment"}
    assert doc["MODEL_ARTIFACTS_STORE"]["source"] == "flag --model-store"
    assert doc["RESULTS_STORE"] == {"value": str(s.cwd / "from-dotenv"), "source": ".env"}
    assert doc["AWS_REGION"] == {"value": "eu-west-1", "source": ".env"}
    assert doc["MODELBAY_HOME"]["source"] == "default"
    assert "profile 'nosuchprofile' not found" in doc["credentials"]["source"], doc
    p = s.run("config", "--json", extra_env={"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "sEcReT123"})
    doc = json.loads(p.stdout)
    assert doc["credentials"] == {"source": "static keys (hidden)", "from": "environment"}
    assert "sEcReT123" not in p.stdout and "AKIAEXAMPLE" not in p.stdout
    text = s.run("config").stdout
    assert "RESULTS_STORE=" in text and "# .env" in text


def test_cleanup_dry_run_lists_the_keys(local_stores):
    import json
    s = local_stores
    for i in range(25):
        s.run("store", "put", "data", f"k/{i:02}.csv", "-", input="a\n1\n")
    p = s.run("cleanup", "--store", "data", "--dry-run", "--list", "3")
    assert "  k/00.csv\n  k/01.csv\n  k/02.csv\n  ... and 22 more keys" in p.stdout, p.stdout
    doc = json.loads(s.run("cleanup", "--store", "data", "--dry-run", "--json").stdout)
    assert doc["stores"][0]["keys"] == [f"k/{i:02}.csv" for i in range(25)]
    assert doc["stores"][0]["objects"] == 25 and doc["dry_run"] is True
    assert len(s.list_keys("data")) == 25, "a dry run deleted something"


# --- --json for scripts: upload and store ls


def test_upload_json_says_uploaded_then_unchanged(local_stores):
    import json
    (local_stores.cwd / "d.csv").write_text("a,b,churn\n1,x,0\n2,y,1\n")
    first = json.loads(local_stores.run("upload", "d.csv", "--json").stdout)
    assert first["key"] == "d.csv" and first["rows"] == 2 and first["unchanged"] is False
    assert len(first["sha256"]) == 64 and first["store"]
    again = json.loads(local_stores.run("upload", "d.csv", "--json").stdout)
    assert again["unchanged"] is True and again["sha256"] == first["sha256"]


def test_store_ls_json_lists_what_the_store_holds(local_stores):
    import json
    local_stores.run("store", "put", "results", "a/x.csv", "-", input="k\n1\n")
    local_stores.run("store", "put", "results", "a/y.csv", "-", input="k\n22\n")
    listed = json.loads(local_stores.run("store", "ls", "results", "a/", "--json").stdout)
    assert [o["key"] for o in listed] == ["a/x.csv", "a/y.csv"]
    assert [o["size"] for o in listed] == [4, 5]
    assert all(o["etag"] and o["last_modified"].endswith("Z") for o in listed)
    assert json.loads(local_stores.run("store", "ls", "results", "nothing/", "--json").stdout) == []


# --- results export --version takes aliases like every other command


def test_results_export_resolves_an_alias(tmp_path):
    s = make_trained_stores(tmp_path)  # its own store: other tests train more versions in `trained`
    (s.cwd / "new.csv").write_text("Country,Count,id\naa,2,2\nbb,50,3\ncc,99,4\n")
    s.run("predict", "new.csv", "--out", "scored.csv")
    by_number = s.run("results", "export", "--version", "1", "--out", "-").stdout
    assert by_number.count("\n") == 4
    for spec in ("production", "latest"):
        assert s.run("results", "export", "--version", spec, "--out", "-").stdout == by_number
    bad = s.run("results", "export", "--version", "01", "--out", "-", check=False)
    assert bad.returncode == 2 and "--version 01" in bad.stderr
    missing = s.run("results", "export", "--version", "staging", "--out", "-", check=False)
    assert missing.returncode == 3 and "staging" in missing.stderr
