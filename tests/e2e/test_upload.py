"""modelbay upload: round trip, no-op re-upload, and every bad input rejected
with one clear error and nothing written. Runs on the local folder backend
and on SeaweedFS (the `stores` fixture)."""
from __future__ import annotations

import hashlib
import json

import pytest

GOOD = ('Country,Count,id,churn\r\n'
        'aa,2,1,0\r\n'
        '"b, quoted",3,2,1\r\n'
        '"two\nlines ""quoted""",4,3,0\r\n'
        'Zürich,5,4,1\r\n').encode()


def test_upload_round_trip_is_byte_exact(stores):
    (stores.cwd / "churn.csv").write_bytes(GOOD)
    proc = stores.run("upload", "churn.csv")
    sha = hashlib.sha256(GOOD).hexdigest()
    assert "churn.csv uploaded" in proc.stdout
    assert "4 rows" in proc.stdout and sha in proc.stdout
    assert stores.read("data", "churn.csv") == GOOD
    assert stores.list_keys("data") == [".modelbay/uploads/churn.csv.json", "churn.csv"]
    record = json.loads(stores.read("data", ".modelbay/uploads/churn.csv.json"))
    assert record["sha256"] == sha
    assert record["rows"] == 4
    assert record["columns"] == ["Country", "Count", "id", "churn"]
    assert record["uploaded_at"].endswith("Z")


def test_identical_reupload_is_a_no_op(stores):
    (stores.cwd / "churn.csv").write_bytes(GOOD)
    stores.run("upload", "churn.csv", "--name", "jan/data.csv", "--target", "churn")
    record = stores.read("data", ".modelbay/uploads/jan/data.csv.json")
    again = stores.run("upload", "churn.csv", "--name", "jan/data.csv")
    assert "unchanged" in again.stdout
    assert stores.read("data", ".modelbay/uploads/jan/data.csv.json") == record  # same upload time
    changed = GOOD + b"ff,9,5,1\n"
    (stores.cwd / "churn.csv").write_bytes(changed)
    third = stores.run("upload", "churn.csv", "--name", "jan/data.csv")
    assert "uploaded" in third.stdout and "5 rows" in third.stdout
    assert stores.read("data", "jan/data.csv") == changed


# (file name, content or None for a missing file, extra args, what the error names)
BAD = [
    ("missing.csv", None, [], "missing.csv: no such file"),
    ("empty.csv", b"", [], "empty.csv: the file is empty"),
    ("header.csv", b"Country,Count,id,churn\n", [], "header.csv: has a header but no data rows"),
    ("notarget.csv", b"Country,Count,id\naa,1,1\n", ["--target", "churn"],
     "notarget.csv:1: no column named 'churn'"),
    ("latin1.csv", "Country,Count\nZürich,1\n".encode("latin-1"), [], "latin1.csv:2:2: invalid UTF-8 byte 0xFC"),
    ("ragged.csv", b"a,b,c\n1,2,3\n4,5\n", [], "ragged.csv:3:4: this row has 2 fields but the header has 3"),
    ("unterminated.csv", b'a,b\n1,2\n3,"open\n4,5\n', [], "unterminated.csv:3:3: unterminated quoted field"),
    ("binary.csv", bytes(range(256)) * 4, [], "binary.csv:1:1: NUL byte: this looks like a binary file"),
]


@pytest.mark.parametrize("name,content,args,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_rejected_and_nothing_is_written(stores, name, content, args, expected):
    if content is not None:
        (stores.cwd / name).write_bytes(content)
    proc = stores.run("upload", name, *args, check=False)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("modelbay: error: ")
    assert expected in lines[0]
    assert proc.stdout == ""
    assert stores.list_keys("data") == []


def test_large_upload_goes_multipart_and_reads_back_exactly(s3_stores):
    s = s3_stores
    s.run("sample-data", "--rows", "1200000", "--seed", "3", "--out", "big.csv")
    content = (s.cwd / "big.csv").read_bytes()
    assert len(content) > 16 << 20  # over one 16 MiB part
    proc = s.run("upload", "big.csv")
    assert "1200000 rows" in proc.stdout
    assert s.read("data", "big.csv") == content
    assert "unchanged" in s.run("upload", "big.csv").stdout
