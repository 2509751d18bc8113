"""Issue 15: `upload --sep CHAR` and `--json` on `predict`, `results export` and
`models export`, through the real binary on local folders."""
from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest

from conftest import make_trained_stores

USAGE = 2


# --- upload --sep


def test_sep_stores_the_file_comma_separated(local_stores):
    s = local_stores
    rows = [["Country", "Count", "id", "churn"], ["aa", "2", "1", "0"], ["bb", "7", "2", "1"]]
    (s.cwd / "comma.csv").write_text("".join(",".join(r) + "\n" for r in rows))
    (s.cwd / "semi.csv").write_text("".join(";".join(r) + "\n" for r in rows))
    first = json.loads(s.run("upload", "comma.csv", "--name", "d.csv", "--json").stdout)
    # The same rows written with ';': stored as the same bytes, so unchanged.
    again = json.loads(s.run("upload", "semi.csv", "--sep", ";", "--name", "d.csv", "--json").stdout)
    assert again["unchanged"] is True and again["sha256"] == first["sha256"] and again["rows"] == 2
    assert s.read("data", "d.csv") == (s.cwd / "comma.csv").read_bytes()


@pytest.mark.parametrize("sep, flag", [(";", ";"), ("\t", "tab"), ("|", "|")])
def test_sep_quotes_fields_that_hold_a_comma(local_stores, sep, flag):
    s = local_stores
    text = sep.join(["Country", "Spend", "churn"]) + "\n" + sep.join(["aa", "1,5", "0"]) + "\n" + \
        sep.join(['"b;b"', "2,5", "1"]) + "\n"
    (s.cwd / "eu.csv").write_text(text)
    out = s.run("upload", "eu.csv", "--sep", flag).stdout
    assert "uploaded" in out and "2 rows" in out
    stored = s.read("data", "eu.csv").decode()
    parsed = list(csv.reader(io.StringIO(stored)))
    assert parsed == [["Country", "Spend", "churn"], ["aa", "1,5", "0"], ["b;b", "2,5", "1"]]


def test_sep_that_the_header_does_not_hold_is_refused(local_stores):
    s = local_stores
    (s.cwd / "comma.csv").write_text("a,b\n1,2\n")
    p = s.run("upload", "comma.csv", "--sep", ";", check=False)
    assert p.returncode == USAGE and "comma.csv:1: --sep semicolon (;) but the header line holds no" in p.stderr
    for bad in ("ab", '"', "x", ""):
        p = s.run("upload", "comma.csv", "--sep", bad, check=False)
        assert p.returncode == USAGE, (bad, p.stderr)
    assert s.list_keys("data") == []


def test_the_delimiter_hint_names_sep(local_stores):
    s = local_stores
    (s.cwd / "semi.csv").write_text("a;b\n1;2\n")
    p = s.run("upload", "semi.csv", check=False)
    assert p.returncode == USAGE and "--sep ';'" in p.stderr, p.stderr


# --- --json summaries


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    s = make_trained_stores(tmp_path_factory.mktemp("json"))
    rows = (s.cwd / "churn.csv").read_text().splitlines()
    header = rows[0].split(",")
    keep = [i for i, n in enumerate(header) if n != "churn"]
    (s.cwd / "new.csv").write_text("\n".join(",".join(r.split(",")[i] for i in keep) for r in rows[:51]) + "\n")
    return s


def one_json_line(text: str) -> dict:
    lines = text.splitlines()
    assert len(lines) == 1, text
    return json.loads(lines[0])


def test_predict_json(trained):
    s = trained
    out = one_json_line(s.run("predict", "new.csv", "--out", "scored.csv", "--json").stdout)
    assert out["version"] == 1 and out["rows"] == 50 and out["model"] == "default"
    assert out["outputs"] == ["scored.csv"] and out["request_prefix"].startswith("batch-")
    assert len((s.cwd / "scored.csv").read_text().splitlines()) == 51


def test_results_export_json(trained, tmp_path):
    s = trained
    s.run("predict", "new.csv", "--out", "scored2.csv")
    out = one_json_line(s.run("results", "export", "--version", "1", "--out", tmp_path / "r.csv", "--json").stdout)
    assert out["version"] == 1 and out["out"] == str(tmp_path / "r.csv")
    assert out["rows"] == len((tmp_path / "r.csv").read_text().splitlines()) - 1 >= 50
    store = one_json_line(s.run("results", "export", "--version", "latest", "--json").stdout)
    assert store["out"].endswith("results_1.csv") and store["rows"] == out["rows"]


def test_models_export_json(trained, tmp_path):
    s = trained
    out = one_json_line(s.run("models", "export", "1", "--out", tmp_path / "b.zip", "--json").stdout)
    data = (tmp_path / "b.zip").read_bytes()
    assert out == {"version": 1, "out": str(tmp_path / "b.zip"), "bytes": len(data)}
    assert hashlib.sha256(data).hexdigest() == hashlib.sha256(s.read("models", "1/model_af_1.zip")).hexdigest()


@pytest.mark.parametrize("args", [["predict", "new.csv"], ["results", "export", "--version", "1"],
                                  ["models", "export", "1"]])
def test_json_with_data_on_stdout_is_refused(trained, args):
    p = trained.run(*args, "--out", "-", "--json", check=False)
    assert p.returncode == USAGE and "--json with --out -" in p.stderr and p.stdout == ""
