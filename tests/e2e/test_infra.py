"""infra/terraform, checked offline by the real tools: checkov (zero failed
checks, every skip explained) and modelbay's own invariants on the parsed HCL
(tests/iac/invariants.py). The deliberately insecure module in
tests/iac/insecure/ proves both checkers catch a public bucket, a wildcard
policy and a task role reaching outside its component."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TF = ROOT / "infra" / "terraform"
INSECURE = ROOT / "tests" / "iac" / "insecure"
sys.path.insert(0, str(ROOT / "tests" / "iac"))

import hcl2  # noqa: E402  (bc-python-hcl2, checkov's python-hcl2 fork)
import invariants  # noqa: E402

VENV_BIN = Path(sys.executable).parent

# The resources each component's task role may reach (names in the module).
TASK_SCOPES = {
    "serve": {"models_bucket", "results_bucket", "kms_key_arn", "spool"},
    "train": {"data_bucket", "models_bucket", "kms_key_arn"},
    "worker": {"data_bucket", "models_bucket", "kms_key_arn", "data_events", "data_events_dlq"},
    # AWS Batch job definitions (batch.tf).
    "predict": {"data_bucket", "models_bucket", "results_bucket", "kms_key_arn"},
    "train_distributed": {"data_bucket", "models_bucket", "kms_key_arn"},
}


@pytest.fixture(scope="session")
def checkov(tmp_path_factory):
    """One checkov run over the real module and the insecure one, side by
    side in a scratch folder; returns {"real"|"insecure": {"failed": [...],
    "skipped": [...], "passed": int}}."""
    work = tmp_path_factory.mktemp("checkov")
    shutil.copytree(TF, work / "real", ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    shutil.copytree(INSECURE, work / "insecure")
    proc = subprocess.run([str(VENV_BIN / "checkov"), "-d", str(work), "--framework", "terraform",
                           "--skip-download", "-o", "json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), f"checkov crashed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout)
    if isinstance(report, list):
        (report,) = [r for r in report if r["check_type"] == "terraform"]
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    out = {k: {"failed": [], "skipped": [], "passed": 0} for k in ("real", "insecure")}
    for kind, key in (("failed_checks", "failed"), ("skipped_checks", "skipped"), ("passed_checks", "passed")):
        for c in report["results"].get(kind, []):
            side = c["file_path"].strip("/").split("/")[0]
            if key == "passed":
                out[side]["passed"] += 1
            else:
                out[side][key].append(c)
    return out


def test_every_terraform_file_parses():
    files = sorted(TF.rglob("*.tf"))
    assert len(files) >= 10
    for f in files:
        with f.open() as fh:
            assert hcl2.load(fh), f"{f} parsed to nothing"


def test_checkov_passes_with_every_skip_explained(checkov):
    real = checkov["real"]
    failed = [f"{c['check_id']} {c['resource']} {c['file_path']}:{c['file_line_range']}" for c in real["failed"]]
    assert failed == [], "checkov failed checks in infra/terraform:\n" + "\n".join(failed)
    assert real["passed"] > 300
    for c in real["skipped"]:
        reason = (c["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) >= 30, f"skip of {c['check_id']} on {c['resource']} needs a real reason, got {reason!r}"


def test_newest_checkov_release_passes_too():
    """checkov's newest release (not the pin in requirements.txt), so new checks
    are seen: installed into .venv-checkov-latest with pip --upgrade; skipped
    where PyPI cannot be reached. CI runs it as the `checkov-latest` job."""
    venv = ROOT / ".venv-checkov-latest"
    if not (venv / "bin" / "pip").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--upgrade", "--disable-pip-version-check",
                          "checkov"], capture_output=True, text=True, timeout=900)
    if pip.returncode != 0 or not (venv / "bin" / "checkov").exists():
        pytest.skip(f"newest checkov not installable here (no PyPI?): {pip.stderr.strip()[-300:]}")
    proc = subprocess.run([str(venv / "bin" / "checkov"), "-d", str(TF), "--framework", "terraform",
                           "--skip-download", "--compact", "--quiet"],
                          capture_output=True, text=True, timeout=600)
    version = subprocess.run([str(venv / "bin" / "checkov"), "--version"], capture_output=True, text=True).stdout
    assert proc.returncode == 0, f"checkov {version.strip()} fails infra/terraform:\n{proc.stdout[-4000:]}"


def test_checkov_catches_the_deliberately_public_bucket(checkov):
    failed = {(c["check_id"], c["resource"]) for c in checkov["insecure"]["failed"]}
    assert ("CKV2_AWS_6", "aws_s3_bucket.public") in failed       # no public access block
    assert ("CKV_AWS_20", "aws_s3_bucket.public") in failed       # public-read ACL
    assert ("CKV_AWS_145", "aws_s3_bucket.public") in failed      # not KMS-encrypted
    assert any(r == "aws_iam_policy_document.serve" for _, r in failed)  # s3:* on *


def test_invariants_hold_for_the_real_module():
    assert invariants.check_tree(TF, TASK_SCOPES) == []


def test_invariants_catch_the_insecure_module():
    problems = "\n".join(invariants.check_tree(INSECURE, {"serve": TASK_SCOPES["serve"]}))
    for expected in [
        r"aws_s3_bucket\.public: ACL 'public-read' opens it to the public",
        r"aws_s3_bucket\.public: no aws_s3_bucket_public_access_block",
        r"aws_s3_bucket\.public: no default server-side encryption",
        r"aws_s3_bucket\.public: bucket policy does not deny non-TLS",
        r"aws_iam_access_key\.ci: long-lived",
        r"statement Everything allows s3:\* on every resource",
        r"role serve is granted every resource",
        r"role serve reaches \$\{aws_s3_bucket\.public\.arn\}/\*",
        r"aws_efs_file_system\.spool: not encrypted at rest",
        r"aws_ecs_task_definition\.serve: volume spool mounts EFS without encryption in transit",
    ]:
        assert re.search(expected, problems), f"not caught: {expected}\n{problems}"


def test_invariant_check_notices_a_weakened_real_module(tmp_path):
    """Turning one public-access flag off in the bucket module is caught."""
    copy = tmp_path / "tf"
    shutil.copytree(TF, copy)
    mod = copy / "modules" / "secure_bucket" / "main.tf"
    text = mod.read_text()
    assert "restrict_public_buckets = true" in text
    mod.write_text(text.replace("restrict_public_buckets = true", "restrict_public_buckets = false"))
    problems = invariants.check_tree(copy, TASK_SCOPES)
    assert any("restrict_public_buckets off" in p for p in problems), problems


@pytest.fixture(scope="module")
def root():
    return invariants.load_module(TF)


def _one(v):
    return v[0] if isinstance(v, list) and len(v) == 1 else v


def test_three_stores_use_the_secure_bucket_module(root):
    for store in ("data_bucket", "models_bucket", "results_bucket"):
        assert _one(root.modules[store]["source"]) == "./modules/secure_bucket", store
    results = root.modules["results_bucket"]
    assert "current_expiration_days" in results and "current_transition_days" in results
    module = (TF / "modules" / "secure_bucket" / "main.tf").read_text()
    assert "noncurrent_version_expiration" in module and "abort_incomplete_multipart_upload" in module


def test_data_bucket_notifies_a_queue_with_a_dead_letter_queue(root):
    note = root.resources[("aws_s3_bucket_notification", "data")]
    assert "module.data_bucket.id" in str(note["bucket"])
    (queue,) = note["queue"]
    assert _one(queue["events"]) == ["s3:ObjectCreated:*"]
    assert "aws_sqs_queue.data_events.arn" in str(queue["queue_arn"])
    assert "aws_sqs_queue.data_events_dlq.arn" in str(root.resources[("aws_sqs_queue", "data_events")]["redrive_policy"])
    policy = root.data[("aws_iam_policy_document", "data_events")]
    send = [s for s in policy["statement"] if "sqs:SendMessage" in str(s["actions"])]
    assert send and all("aws:SourceArn" in str(s["condition"]) and "module.data_bucket.arn" in str(s["condition"])
                        for s in send), "the queue must accept events from the data bucket only"
    for name in ("data_events", "data_events_dlq"):
        assert "kms_master_key_id" in root.resources[("aws_sqs_queue", name)], f"{name} is not encrypted"


def test_ecr_scans_on_push_with_immutable_tags_and_a_lifecycle(root):
    repo = root.resources[("aws_ecr_repository", "modelbay")]
    assert _one(repo["image_tag_mutability"]) == "IMMUTABLE"
    assert _one(repo["image_scanning_configuration"][0]["scan_on_push"]) is True
    assert ("aws_ecr_lifecycle_policy", "modelbay") in root.resources


def test_load_balancer_terminates_tls_and_checks_health(root):
    https = root.resources[("aws_lb_listener", "https")]
    assert _one(https["protocol"]) == "HTTPS" and "var.certificate_arn" in str(https["certificate_arn"])
    assert re.match(r"ELBSecurityPolicy-TLS13-1-2", _one(https["ssl_policy"]))
    http = root.resources[("aws_lb_listener", "http")]
    redirect = http["default_action"][0]["redirect"][0]
    assert _one(redirect["protocol"]) == "HTTPS" and _one(redirect["port"]) == "443"
    hc = root.resources[("aws_lb_target_group", "serve")]["health_check"][0]
    assert _one(hc["path"]) == "/health"
    serve = root.resources[("aws_ecs_service", "serve")]
    assert _one(serve["network_configuration"][0]["assign_public_ip"]) is False
    assert "aws_subnet.private" in str(serve["network_configuration"][0]["subnets"])
    assert ("aws_appautoscaling_target", "serve") in root.resources
    assert sum(1 for t, _ in root.resources if t == "aws_appautoscaling_policy") >= 1


def test_task_definitions_run_the_modelbay_commands(root):
    def command(name):
        text = _one(root.resources[("aws_ecs_task_definition", name)]["container_definitions"])
        m = re.search(r"'command': \[([^\]]*)\]", text)
        assert m, text
        return re.findall(r"'([^']*)'", m.group(1))

    assert command("serve")[:3] == ["serve", "--host", "0.0.0.0"]
    assert command("serve")[3] == "--port"
    assert command("train")[:3] == ["train", "--trigger", "code-change"]
    assert command("worker") == ["worker", "--queue-url", "${aws_sqs_queue.data_events.url}"]
    for name in ("serve", "train", "worker"):
        td = root.resources[("aws_ecs_task_definition", name)]
        assert f"aws_iam_role.{name}.arn" in str(td["task_role_arn"])
        assert "aws_iam_role.execution.arn" in str(td["execution_role_arn"])


def test_log_groups_keep_logs_encrypted_for_a_set_time(root):
    groups = [b for (t, _), b in root.resources.items() if t == "aws_cloudwatch_log_group"]
    assert len(groups) >= 3
    for g in groups:
        assert "retention_in_days" in g and "kms_key_id" in g


def test_github_oidc_role_trusts_only_the_deploy_branch(root):
    trust = root.data[("aws_iam_policy_document", "github_trust")]
    conds = str(trust["statement"][0]["condition"])
    assert "token.actions.githubusercontent.com:sub" in conds and "refs/heads/${var.github_deploy_branch}" in conds
    assert "token.actions.githubusercontent.com:aud" in conds


def test_variables_and_outputs_are_documented_and_versions_pinned():
    for f in (TF / "variables.tf", TF / "outputs.tf"):
        with f.open() as fh:
            doc = hcl2.load(fh)
        for block in doc.get("variable", []) + doc.get("output", []):
            for name, body in block.items():
                assert str(_one(body.get("description", ""))).strip(), f"{f.name}: {name} has no description"
    with (TF / "versions.tf").open() as fh:
        versions = hcl2.load(fh)
    tf = versions["terraform"][0]
    assert tf["required_version"]
    aws = _one(tf["required_providers"])["aws"]
    assert _one(aws)["source"] == "hashicorp/aws" and _one(aws)["version"].startswith("~> 5.")
    assert "s3" in tf["backend"][0]
    example = (TF / "backend.hcl.example").read_text()
    assert re.search(r"^encrypt\s*=\s*true", example, re.M)
    assert re.search(r"^(use_lockfile\s*=\s*true|dynamodb_table\s*=)", example, re.M)


def test_batch_runs_the_sharded_predict_and_the_distributed_train(root):
    """AWS Batch (issue 8): an EC2 compute environment in the private
    subnets, a queue, an array-ready predict job and a multi-node training
    job, each with its own scoped job role (checked by the invariants)."""
    ce = root.resources[("aws_batch_compute_environment", "this")]
    res = _one(ce["compute_resources"])
    assert "aws_subnet.private" in str(res["subnets"])
    assert "SPOT" in str(res["type"]) and "EC2" in str(res["type"])  # Spot optional
    assert "aws_batch_compute_environment.this.arn" in str(root.resources[("aws_batch_job_queue", "this")])
    predict = root.resources[("aws_batch_job_definition", "predict")]
    props = str(predict["container_properties"])
    assert "'command': ['predict', 'Ref::input', '--out', 'Ref::out']" in props
    assert _one(_one(predict["retry_strategy"])["attempts"]) >= 2  # retried shards are idempotent
    train = root.resources[("aws_batch_job_definition", "train_distributed")]
    assert _one(train["type"]) == "multinode"
    assert "'command': ['train', '--distributed']" in str(train["node_properties"])
    roles = invariants.task_roles(root)
    assert roles["predict"] == "predict" and roles["train_distributed"] == "train"


def test_invariant_check_notices_a_weakened_batch_setup(tmp_path):
    copy = tmp_path / "tf"
    shutil.copytree(TF, copy)
    batch = copy / "batch.tf"
    text = batch.read_text()
    for before, after in [('http_tokens                 = "required"', 'http_tokens                 = "optional"'),
                          ("privileged             = false", "privileged             = true")]:
        assert before in text
        text = text.replace(before, after, 1)
    batch.write_text(text)
    problems = "\n".join(invariants.check_tree(copy, TASK_SCOPES))
    assert "IMDSv1" in problems and "privileged container" in problems, problems
