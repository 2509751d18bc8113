"""Registry housekeeping through the real binary (issue 15): `models delete`,
`archive`/`unarchive`, `alias rm`, `tag`, `describe`, shown by `models list`,
`models show` and the server's /models; re-importing a bundle is a no-op.
Each runs on a local folder and on SeaweedFS (the `stores` fixture); the
keys left behind are read with an independent client (boto3 or the file
system)."""
from __future__ import annotations

import json
import re

import pytest

from conftest import make_trained_stores
from model_util import tiny_model
from serve_util import Server, wait_for
from test_registry import import_bundle, make_bundle

USAGE, NOT_FOUND, PRECONDITION = 2, 3, 5
ROW = ["aa", 2, 2]  # Country, Count, id of the sample churn data


def versions_of(stores, *extra) -> dict[int, dict]:
    listing = json.loads(stores.run("models", "list", "--json", *extra).stdout)
    return {v["version"]: v for v in listing["versions"]}


def latest(stores, *extra) -> int | None:
    return json.loads(stores.run("models", "list", "--json", *extra).stdout)["aliases"].get("latest")


@pytest.fixture
def three(stores, tmp_path):
    """Three imported versions (1, 2, 3) with production on 2."""
    for i in (1, 2, 3):
        assert import_bundle(stores, make_bundle(tmp_path / f"b{i}.zip", i, tiny_model(i / 10))) == i
    stores.run("models", "promote", "2")
    return stores


def test_archive_keeps_the_version_but_latest_skips_it(three):
    stores = three
    out = stores.run("models", "archive", "3").stdout
    assert "archived version 3" in out and "`latest` is now 2" in out
    listed = versions_of(stores)
    assert sorted(listed) == [1, 2, 3] and listed[3]["archived"] is True and listed[1]["archived"] is False
    assert latest(stores) == 2
    assert "3 (archived)" in stores.run("models", "list").stdout
    # Still there by number: show verifies its checksums, export writes its bundle.
    shown = json.loads(stores.run("models", "show", "3", "--json").stdout)
    assert shown["version"] == 3 and shown["archived"] is True
    assert re.search(r"^archived\s+yes", stores.run("models", "show", "3").stdout, re.M)
    assert json.loads(stores.run("models", "show", "latest", "--json").stdout)["version"] == 2
    stores.run("models", "unarchive", "3")
    assert latest(stores) == 3
    # Every version archived: `latest` names none and says why.
    for v in (1, 3):
        stores.run("models", "archive", v)
    stores.run("models", "archive", "2", "--force")
    proc = stores.run("models", "show", "latest", check=False)
    assert proc.returncode == PRECONDITION and "every version is archived (1-3)" in proc.stderr


def test_archive_and_delete_refuse_an_aliased_version_unless_forced(three):
    stores = three
    for cmd in ("archive", "delete"):
        proc = stores.run("models", cmd, "2", check=False)
        assert proc.returncode == PRECONDITION, proc.stderr
        assert "alias 'production' points to" in proc.stderr and "--force" in proc.stderr
        assert "modelbay models alias rm production" in proc.stderr
    assert sorted(versions_of(stores)) == [1, 2, 3]
    assert not any(v["archived"] for v in versions_of(stores).values())
    # archive --force keeps the alias serving it.
    stores.run("models", "archive", "2", "--force")
    assert json.loads(stores.run("models", "show", "production", "--json").stdout)["version"] == 2
    # delete --force removes the alias (it would point at nothing).
    out = json.loads(stores.run("models", "delete", "2", "--force", "--json").stdout)
    assert out == {"deleted": 2, "removed_aliases": ["production"], "finished_earlier_delete": False,
                   "results_kept": True}
    proc = stores.run("models", "show", "production", check=False)
    assert proc.returncode == NOT_FOUND and "no version is promoted to production" in proc.stderr


def test_delete_leaves_a_tombstone_and_the_number_is_never_reused(three, tmp_path):
    stores = three
    stores.run("models", "tag", "3", "owner=ana")
    out = stores.run("models", "delete", "3").stdout
    assert "deleted version 3" in out and "`latest` is now 2" in out and "results store are kept" in out
    assert sorted(versions_of(stores)) == [1, 2]
    keys = [k for k in stores.list_keys("models") if k.startswith("3/")]
    assert keys == ["3/.deleted", "3/.reserved"], keys
    proc = stores.run("models", "show", "3", check=False)
    assert proc.returncode == NOT_FOUND and "version 3 was deleted" in proc.stderr
    assert import_bundle(stores, make_bundle(tmp_path / "b4.zip", 4, tiny_model(0.9))) == 4


def test_a_delete_that_stopped_half_way_is_invisible_and_a_second_delete_finishes(three):
    """What a killed `models delete` leaves after removing .committed: the
    rest of the folder. It is not listed, `latest` skips it, and deleting the
    number again removes the remainder."""
    stores = three
    stores.write("models", "3/.deleted", b'{"deleted": "2026-01-01T00:00:00.000Z"}\n')
    if stores.kind == "s3":
        stores.s3.client().delete_object(Bucket=stores.buckets["models"], Key="3/.committed")
    else:
        (stores.cwd / ".modelbay" / "models" / "3" / ".committed").unlink()
    assert sorted(versions_of(stores)) == [1, 2]
    assert latest(stores) == 2
    out = stores.run("models", "delete", "3").stdout
    assert "finished deleting version 3" in out
    assert [k for k in stores.list_keys("models") if k.startswith("3/")] == ["3/.deleted", "3/.reserved"]


def test_alias_rm(three):
    stores = three
    stores.run("models", "promote", "1", "--alias", "staging")
    out = json.loads(stores.run("models", "alias", "rm", "staging", "--json").stdout)
    assert out == {"alias": "staging", "removed": True, "was": 1}
    assert "staging" not in json.loads(stores.run("models", "list", "--json").stdout)["aliases"]
    assert sorted(versions_of(stores)) == [1, 2, 3]
    proc = stores.run("models", "alias", "rm", "staging", check=False)
    assert proc.returncode == NOT_FOUND and "no alias 'staging' is set (aliases: production)" in proc.stderr
    proc = stores.run("models", "alias", "rm", "latest", check=False)
    assert proc.returncode == USAGE and "'latest'" in proc.stderr


def test_tags_and_description_show_everywhere_and_keep_metadata_unchanged(three):
    stores = three
    before = stores.read("models", "1/metadata.json")
    out = stores.run("models", "tag", "1", "owner=ana", "ticket=ML-7").stdout
    assert out.strip() == "version 1 tags: owner=ana, ticket=ML-7"
    stores.run("models", "describe", "1", "baseline for the Q3 review")
    assert stores.read("models", "1/metadata.json") == before
    assert json.loads(stores.read("models", "1/tags/owner.json"))["value"] == "ana"  # plain JSON for any client
    v1 = versions_of(stores)[1]
    assert v1["tags"] == {"owner": "ana", "ticket": "ML-7"} and v1["description"] == "baseline for the Q3 review"
    assert versions_of(stores)[2]["tags"] == {} and versions_of(stores)[2]["description"] is None
    table = stores.run("models", "list").stdout
    assert "TAGS" in table and "owner=ana, ticket=ML-7" in table and "baseline for the Q3 review" in table
    shown = json.loads(stores.run("models", "show", "1", "--json").stdout)
    assert shown["tags"] == {"owner": "ana", "ticket": "ML-7"} and shown["description"] == "baseline for the Q3 review"
    text = stores.run("models", "show", "1").stdout
    assert "owner=ana, ticket=ML-7" in text and "baseline for the Q3 review" in text
    # KEY= removes a tag; "" removes the description.
    stores.run("models", "tag", "1", "ticket=")
    stores.run("models", "describe", "1", "")
    v1 = versions_of(stores)[1]
    assert v1["tags"] == {"owner": "ana"} and v1["description"] is None
    # Bad keys and values: exit 2, nothing written.
    for args, msg in ((["Owner=x"], "tag key 'Owner' is not valid"), (["owner"], "is not KEY=VALUE"),
                      (["team=ok", "../x=1"], "is not valid"), (["note=" + "x" * 300], "at most 256")):
        proc = stores.run("models", "tag", "1", *args, check=False)
        assert proc.returncode == USAGE and msg in proc.stderr, proc.stderr
    assert versions_of(stores)[1]["tags"] == {"owner": "ana"}
    proc = stores.run("models", "tag", "9", "owner=ana", check=False)
    assert proc.returncode == NOT_FOUND and "version 9 does not exist" in proc.stderr


def test_importing_the_same_bundle_twice_names_the_existing_version(stores, tmp_path):
    bundle = make_bundle(tmp_path / "model_af_7.zip", 7)
    assert import_bundle(stores, bundle) == 1
    out = stores.run("models", "import", bundle).stdout
    assert "was imported before: it is version 1; nothing registered" in out
    again = json.loads(stores.run("models", "import", bundle, "--json").stdout)
    assert again["version"] == 1 and again["existing"] is True and again["imported_from"]["version"] == 7
    assert sorted(versions_of(stores)) == [1]
    forced = json.loads(stores.run("models", "import", bundle, "--duplicate", "--json").stdout)
    assert forced["version"] == 2 and forced["existing"] is False
    # Deleted imports do not count: the bundle is new again.
    stores.run("models", "delete", "1")
    stores.run("models", "delete", "2")
    assert import_bundle(stores, bundle) == 3


def test_housekeeping_of_a_named_model(stores, tmp_path):
    for i in (1, 2):
        stores.run("models", "import", make_bundle(tmp_path / f"n{i}.zip", i, tiny_model(i / 10)), "--model", "fraud")
    stores.run("models", "archive", "2", "--model", "fraud")
    stores.run("models", "tag", "1", "owner=ana", "--model", "fraud")
    stores.run("models", "describe", "1", "the fraud model", "--model", "fraud")
    listed = versions_of(stores, "--model", "fraud")
    assert listed[2]["archived"] and listed[1]["tags"] == {"owner": "ana"}
    assert latest(stores, "--model", "fraud") == 1
    stores.run("models", "promote", "1", "--alias", "staging", "--model", "fraud")
    stores.run("models", "alias", "rm", "staging", "--model", "fraud")
    stores.run("models", "delete", "2", "--model", "fraud")
    assert sorted(versions_of(stores, "--model", "fraud")) == [1]
    keys = stores.list_keys("models")
    assert "models/fraud/2/.deleted" in keys and "models/fraud/1/tags/owner.json" in keys
    assert not any(k.startswith(("1/", "2/")) for k in keys), "the unnamed model is untouched"


def test_the_server_shows_state_and_follows_archive_and_delete(tmp_path):
    stores = make_trained_stores(tmp_path)  # version 1, promoted to production
    stores.run("models", "export", "1", "--out", "b.zip")
    for _ in (2, 3):  # the same model again as versions 2 and 3
        stores.run("models", "import", "b.zip", "--duplicate")
    stores.run("models", "alias", "rm", "production")
    stores.run("models", "tag", "2", "owner=ana")
    stores.run("models", "describe", "2", "candidate")
    with Server(stores, args=["--threads", "2", "--alias-refresh", "0.3", "--results-refresh", "0"]) as srv:
        srv.wait_ready()
        listing = srv.get("/models").json()
        assert listing["archived"] == [] and listing["aliases"]["latest"] == 3
        assert listing["state"]["2"] == {"archived": False, "tags": {"owner": "ana"}, "description": "candidate"}
        meta = srv.get("/models/2").json()
        assert meta["version"] == 2 and meta["tags"] == {"owner": "ana"} and meta["description"] == "candidate"
        assert srv.infer([ROW], version="3").status_code == 200

        stores.run("models", "archive", "3")
        wait_for(lambda: srv.get("/models").json()["aliases"]["latest"] == 2, timeout=30)
        listing = srv.get("/models").json()
        assert listing["archived"] == [3] and listing["state"]["3"]["archived"] is True
        assert listing["default"] == 2
        assert srv.infer([ROW], version="3").status_code == 200, "an archived version serves by number"
        assert srv.get("/models/3").json()["archived"] is True

        stores.run("models", "delete", "3")
        wait_for(lambda: srv.get("/models").json()["versions"] == [1, 2], timeout=30)
        r = srv.infer([ROW], version="3")
        assert r.status_code == 404, r.text
        assert srv.get("/models/3").status_code == 404


def test_delete_leaves_the_results_store_alone(tmp_path):
    stores = make_trained_stores(tmp_path)  # version 1, production
    rows = (stores.cwd / "churn.csv").read_text().splitlines()
    header = rows[0].split(",")
    keep = [i for i, n in enumerate(header) if n != "churn"]
    (stores.cwd / "new.csv").write_text("\n".join(",".join(r.split(",")[i] for i in keep) for r in rows[:21]) + "\n")
    stores.run("predict", "new.csv", "--version", "1", "--out", "scored.csv")
    before = stores.list_keys("results")
    assert any(k.startswith("logs/v1/") for k in before), before
    out = stores.run("models", "delete", "1", "--force").stdout
    assert "removed alias production" in out and "results_1.csv in the results store are kept" in out
    assert stores.list_keys("results") == before
    exported = json.loads(stores.run("results", "export", "--version", "1", "--out", "r.csv", "--json").stdout)
    assert exported["rows"] == 20
    proc = stores.run("models", "list")
    assert proc.returncode == 0 and "no versions yet" in proc.stdout
