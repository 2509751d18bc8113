"""GitHub Actions workflows, checked offline: actionlint (with shellcheck on
the run: scripts when installed), every action pinned to a commit, minimal
permissions, and the CI/CD contract of DESIGN §8 (CI on every push and PR;
deploy on main after CI: OIDC, ECR, ECS, then the code-change retrain)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
VENV_BIN = Path(sys.executable).parent


def actionlint() -> str:
    exe = VENV_BIN / "actionlint"
    if not exe.exists():
        pytest.fail("actionlint not in .venv/bin: run scripts/install-deps.sh (builds it with Go)")
    return str(exe)


def load(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def steps(doc: dict):
    for job in doc["jobs"].values():
        yield from job.get("steps", [])


def test_actionlint_passes():
    proc = subprocess.run([actionlint(), "-color=false"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {"ci.yml", "deploy.yml"} <= {p.name for p in WORKFLOWS.glob("*.yml")}


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.event.head_commit.message }}\n"
                   "      - uses: actions/checkout@v4\n        with:\n          no-such-input: 1\n")
    proc = subprocess.run([actionlint(), "-color=false", str(bad)], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "potentially untrusted" in proc.stdout or "no-such-input" in proc.stdout, proc.stdout


def test_every_action_is_pinned_to_a_commit():
    for wf in WORKFLOWS.glob("*.yml"):
        for step in steps(load(wf.name)):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", step["uses"]), f"{wf.name}: {step['uses']}"


def test_permissions_are_minimal():
    ci = load("ci.yml")
    assert ci["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in ci["jobs"].values())
    deploy = load("deploy.yml")
    assert deploy["permissions"] == {}
    assert deploy["jobs"]["deploy"]["permissions"] == {"contents": "read", "id-token": "write"}
    for wf in WORKFLOWS.glob("*.yml"):
        text = wf.read_text()
        assert "write-all" not in text and "secrets.AWS_SECRET" not in text and "aws-access-key-id" not in text


def test_ci_runs_on_every_push_and_pr_and_runs_every_check():
    ci = load("ci.yml")
    assert "push" in ci["on"] and "pull_request" in ci["on"]
    assert ci["on"]["push"] is None or "branches" not in (ci["on"]["push"] or {})
    runs = "\n".join(s.get("run", "") for s in steps(ci))
    for needed in ("install-deps.sh", "make build", "make unit", "make e2e", "checkov -d infra/terraform",
                   "actionlint", "hadolint Dockerfile", "docker build"):
        assert needed in runs, f"ci.yml does not run {needed!r}"


def test_deploy_follows_ci_on_main_and_retrains():
    deploy = load("deploy.yml")
    trigger = deploy["on"]["workflow_run"]
    assert trigger["workflows"] == [load("ci.yml")["name"]] and trigger["branches"] == ["main"]
    job = deploy["jobs"]["deploy"]
    assert "conclusion == 'success'" in job["if"]
    uses = [s["uses"].split("@")[0] for s in job["steps"] if "uses" in s]
    assert "aws-actions/configure-aws-credentials" in uses and "aws-actions/amazon-ecr-login" in uses
    creds = next(s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials"))
    assert "role-to-assume" in creds["with"]
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "docker push" in runs and "aws ecs update-service" in runs and "aws ecs run-task" in runs
    assert '"train", "--trigger", "code-change", "--code-rev"' in runs
    # The OIDC role trusts ref-based subjects only: an `environment:` would change the subject.
    assert "environment" not in job


def test_deploy_variables_are_terraform_outputs_documented_in_the_guide():
    text = (WORKFLOWS / "deploy.yml").read_text()
    used = set(re.findall(r"\bvars\.([A-Z_]+)", text))
    guide = (ROOT / "docs" / "deploy.md").read_text()
    missing = sorted(v for v in used if v not in guide)
    assert not missing, f"docs/deploy.md does not explain {missing}"
    outputs = (ROOT / "infra" / "terraform" / "outputs.tf").read_text()
    for out in ("github_deploy_role_arn", "ecr_repository_url", "ecs_cluster", "task_definition_families",
                "private_subnet_ids", "task_security_group_id"):
        assert f'output "{out}"' in outputs


def test_shellcheck_is_available_to_actionlint():
    # actionlint runs shellcheck on every run: script when it is on PATH.
    assert shutil.which("shellcheck"), "install shellcheck (scripts/install-deps.sh) so run: scripts are checked"
