"""modelbay sample-data: the seed's churn columns, deterministic for a seed,
with a signal a model can learn; the multi-class and regression variants."""
from __future__ import annotations

import csv
from collections import defaultdict


def rows_of(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_seed_columns_and_determinism(local_stores):
    s = local_stores
    s.run("sample-data", "--rows", "3000", "--seed", "5", "--out", "a.csv")
    s.run("sample-data", "--rows", "3000", "--seed", "5", "--out", "b.csv")
    s.run("sample-data", "--rows", "3000", "--seed", "6", "--out", "c.csv")
    a = (s.cwd / "a.csv").read_bytes()
    assert a == (s.cwd / "b.csv").read_bytes()
    assert a != (s.cwd / "c.csv").read_bytes()
    rows = rows_of(s.cwd / "a.csv")
    assert rows[0] == ["Country", "Count", "id", "churn"]
    assert len(rows) == 3001
    assert [int(r[2]) for r in rows[1:]] == list(range(1, 3001))
    assert {r[3] for r in rows[1:]} == {"0", "1"}
    assert all(r[0].isalpha() and int(r[1]) >= 0 for r in rows[1:])


def test_churn_depends_on_country_and_count(local_stores):
    s = local_stores
    s.run("sample-data", "--rows", "20000", "--seed", "1", "--out", "d.csv")
    rows = rows_of(s.cwd / "d.csv")[1:]
    by_country = defaultdict(list)
    for r in rows:
        by_country[r[0]].append(int(r[3]))
    rates = sorted(sum(v) / len(v) for v in by_country.values())
    assert 3 <= len(rates) <= 10
    assert rates[-1] - rates[0] > 0.3
    low = [int(r[3]) for r in rows if int(r[1]) < 30]
    high = [int(r[3]) for r in rows if int(r[1]) >= 70]
    assert sum(high) / len(high) - sum(low) / len(low) > 0.3


def test_sample_data_uploads_cleanly(local_stores):
    s = local_stores
    s.run("sample-data", "--rows", "100", "--out", "churn.csv")
    proc = s.run("upload", "churn.csv", "--target", "churn")
    assert "100 rows" in proc.stdout


def test_multiclass_and_regression_variants(local_stores):
    s = local_stores
    s.run("sample-data", "--rows", "2000", "--classes", "3", "--out", "tier.csv")
    rows = rows_of(s.cwd / "tier.csv")
    assert rows[0] == ["Country", "Count", "id", "tier"]
    assert len({r[3] for r in rows[1:]}) == 3
    s.run("sample-data", "--rows", "2000", "--regression", "--out", "spend.csv")
    rows = rows_of(s.cwd / "spend.csv")
    assert rows[0] == ["Country", "Count", "id", "spend"]
    spend = [float(r[3]) for r in rows[1:]]
    assert len(set(spend)) > 1000
    bad = s.run("sample-data", "--rows", "10", "--classes", "1", "--out", "x.csv", check=False)
    assert bad.returncode != 0 and "--classes 1" in bad.stderr
    assert not (s.cwd / "x.csv").exists()
