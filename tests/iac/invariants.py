"""Security invariants of a Terraform tree, checked on its parsed HCL.

checkov covers hundreds of generic rules; these are modelbay's own promises
(DESIGN §8), checked the same way on the real module and on the deliberately
insecure one in tests/iac/insecure/:

- every S3 bucket is blocked from the public, encrypted, versioned,
  owner-enforced and TLS-only;
- no Allow statement grants a wildcard action on a wildcard resource, and
  nothing creates IAM users or access keys;
- every ECS task role and AWS Batch job role reaches only the buckets and
  queues of its component;
- Batch jobs are unprivileged with a read-only root file system, and Batch
  instances accept only IMDSv2 and have encrypted disks.
- every EFS file system (the serve spool) is encrypted at rest, and every
  task that mounts one does so with encryption in transit.

`check_tree(path)` returns human-readable violations, empty when all hold.
The parser is `hcl2` (bc-python-hcl2, checkov's fork of python-hcl2).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import hcl2

REF = re.compile(r"(?<![.\w])(?:module|aws_[a-z0-9_]+|local|var)\.[A-Za-z0-9_]+")


@dataclass
class Module:
    """The blocks of one folder of .tf files."""
    path: Path
    resources: dict = field(default_factory=dict)  # (type, name) -> body
    data: dict = field(default_factory=dict)       # (type, name) -> body
    modules: dict = field(default_factory=dict)    # name -> body
    locals: dict = field(default_factory=dict)


def _one(value):
    """bc-python-hcl2 wraps each attribute value in a one-element list."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _flat(value) -> list:
    out = []
    for v in value if isinstance(value, list) else [value]:
        out += _flat(v) if isinstance(v, list) else [v]
    return out


def load_module(folder: Path) -> Module:
    mod = Module(path=folder)
    for tf in sorted(folder.glob("*.tf")):
        with tf.open() as fh:
            doc = hcl2.load(fh)
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    mod.resources[(rtype, name)] = body
        for block in doc.get("data", []):
            for dtype, named in block.items():
                for name, body in named.items():
                    mod.data[(dtype, name)] = body
        for block in doc.get("module", []):
            mod.modules.update(block)
        for block in doc.get("locals", []):
            mod.locals.update(block)
    return mod


def load_tree(root: Path) -> list[Module]:
    """The root folder and every folder below it that holds .tf files."""
    folders = sorted({p.parent for p in Path(root).rglob("*.tf")})
    return [load_module(f) for f in folders]


def _references(body, rtype: str, name: str) -> bool:
    text = str(_one(body.get("bucket", "")))
    return re.search(rf"\b{rtype}\.{re.escape(name)}\b", text) is not None


def _policy_docs(mod: Module, expr) -> list[dict]:
    """The aws_iam_policy_document bodies an expression points at, following
    source_policy_documents."""
    docs = []
    for m in re.finditer(r"data\.aws_iam_policy_document\.([A-Za-z0-9_]+)\.json", str(expr)):
        body = mod.data.get(("aws_iam_policy_document", m.group(1)))
        if body is not None:
            docs.append(body)
            docs += _policy_docs(mod, body.get("source_policy_documents", ""))
    return docs


def _statements(doc: dict) -> list[dict]:
    out = []
    for st in doc.get("statement", []):
        out.append({
            "effect": _one(st.get("effect", "Allow")),
            "actions": [str(a) for a in _flat(st.get("actions", []))],
            "resources": [str(r) for r in _flat(st.get("resources", []))],
            "conditions": [{k: _flat(v) for k, v in c.items()} for c in st.get("condition", [])],
            "sid": _one(st.get("sid", "")),
        })
    for dyn in doc.get("dynamic", []):
        for _, body in dyn.items():
            for content in body.get("content", []):
                out += _statements({"statement": [content]})
    return out


def _where(mod: Module, kind: str, name: str) -> str:
    return f"{mod.path}: {kind}.{name}"


def check_buckets(mod: Module) -> list[str]:
    problems = []
    for (rtype, name), body in mod.resources.items():
        if rtype != "aws_s3_bucket":
            continue
        where = _where(mod, rtype, name)

        def related(kind):
            return [b for (t, _), b in mod.resources.items() if t == kind and _references(b, rtype, name)]

        acl = _one(body.get("acl", "private"))
        acls = [_one(b.get("acl", "")) for b in related("aws_s3_bucket_acl")]
        for a in [acl, *acls]:
            if a in ("public-read", "public-read-write", "authenticated-read"):
                problems.append(f"{where}: ACL {a!r} opens it to the public")

        pabs = related("aws_s3_bucket_public_access_block")
        flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
        if not pabs:
            problems.append(f"{where}: no aws_s3_bucket_public_access_block")
        for pab in pabs:
            off = [f for f in flags if _one(pab.get(f, False)) is not True]
            if off:
                problems.append(f"{where}: public access block leaves {', '.join(off)} off")

        sses = related("aws_s3_bucket_server_side_encryption_configuration")
        algos = [_one(d.get("sse_algorithm"))
                 for s in sses for r in s.get("rule", []) for d in r.get("apply_server_side_encryption_by_default", [])]
        if not any(a in ("aws:kms", "aws:kms:dsse", "AES256") for a in algos):
            problems.append(f"{where}: no default server-side encryption")

        versioning = [_one(v.get("status")) for b in related("aws_s3_bucket_versioning")
                      for v in b.get("versioning_configuration", [])]
        if "Enabled" not in versioning:
            problems.append(f"{where}: versioning not enabled")

        owners = [_one(r.get("object_ownership")) for b in related("aws_s3_bucket_ownership_controls")
                  for r in b.get("rule", [])]
        if "BucketOwnerEnforced" not in owners:
            problems.append(f"{where}: object ownership not BucketOwnerEnforced (ACLs still apply)")

        tls_only = False
        for pol in related("aws_s3_bucket_policy"):
            for doc in _policy_docs(mod, _one(pol.get("policy", ""))):
                for st in _statements(doc):
                    if st["effect"] == "Deny" and any(
                            c.get("variable") == ["aws:SecureTransport"] and c.get("values") == ["false"]
                            for c in st["conditions"]):
                        tls_only = True
        if not tls_only:
            problems.append(f"{where}: bucket policy does not deny non-TLS requests (aws:SecureTransport=false)")
    return problems


def _is_wildcard_action(action: str) -> bool:
    return action == "*" or action.endswith(":*")


def check_iam(mod: Module) -> list[str]:
    problems = []
    for (rtype, name) in mod.resources:
        if rtype in ("aws_iam_user", "aws_iam_access_key", "aws_iam_user_policy"):
            problems.append(f"{_where(mod, rtype, name)}: long-lived IAM user credentials are not allowed")
    for (rtype, name), body in mod.resources.items():
        if rtype == "aws_iam_role_policy_attachment":
            arn = str(_one(body.get("policy_arn", "")))
            if arn.endswith(("/AdministratorAccess", "/PowerUserAccess", "/IAMFullAccess")):
                problems.append(f"{_where(mod, rtype, name)}: attaches {arn.rsplit('/', 1)[-1]}")
        if rtype in ("aws_iam_role_policy", "aws_iam_policy"):
            policy = _one(body.get("policy", ""))
            if not _policy_docs(mod, policy):
                problems.append(f"{_where(mod, rtype, name)}: policy is not an aws_iam_policy_document "
                                "(write it as one so it can be checked)")
    for (dtype, name), doc in mod.data.items():
        if dtype != "aws_iam_policy_document":
            continue
        for st in _statements(doc):
            if st["effect"] != "Allow":
                continue
            wild = [a for a in st["actions"] if _is_wildcard_action(a)]
            if wild and "*" in st["resources"]:
                problems.append(f"{_where(mod, 'data.' + dtype, name)}: statement {st['sid'] or '(no sid)'} "
                                f"allows {', '.join(wild)} on every resource")
    return problems


def role_resources(mod: Module, role: str) -> list[str]:
    """Every resource expression an Allow statement of `role`'s inline
    policies names."""
    out = []
    for (rtype, _), body in mod.resources.items():
        if rtype == "aws_iam_role_policy" and re.search(rf"\baws_iam_role\.{role}\.", str(_one(body.get("role", "")))):
            for doc in _policy_docs(mod, _one(body.get("policy", ""))):
                out += [r for st in _statements(doc) if st["effect"] == "Allow" for r in st["resources"]]
    return out


JOB_ROLE = re.compile(r"""['"]jobRoleArn['"]\s*:\s*['"]\$\{aws_iam_role\.([A-Za-z0-9_]+)\.arn\}""")


def task_roles(mod: Module) -> dict[str, str]:
    """ECS task definition or AWS Batch job definition name -> the
    aws_iam_role name of its task (job) role. A Batch job definition names
    its role in container_properties, or per node range in node_properties;
    every node range must use the same role."""
    roles = {}
    for (rtype, name), body in mod.resources.items():
        if rtype == "aws_ecs_task_definition":
            m = re.search(r"aws_iam_role\.([A-Za-z0-9_]+)\.arn", str(_one(body.get("task_role_arn", ""))))
            roles[name] = m.group(1) if m else ""
        elif rtype == "aws_batch_job_definition":
            props = str(body.get("container_properties", "")) + str(body.get("node_properties", ""))
            found = set(JOB_ROLE.findall(props))
            roles[name] = found.pop() if len(found) == 1 else ""
    return roles


def check_batch(mod: Module) -> list[str]:
    """Batch jobs run unprivileged on a read-only root file system; Batch
    instances accept only IMDSv2 and have encrypted disks."""
    problems = []
    for (rtype, name), body in mod.resources.items():
        where = _where(mod, rtype, name)
        if rtype == "aws_batch_job_definition":
            props = str(body.get("container_properties", "")) + str(body.get("node_properties", ""))
            if re.search(r"'privileged': True", props):
                problems.append(f"{where}: a privileged container")
            containers = props.count("'image':")
            if props.count("'readonlyRootFilesystem': True") < containers:
                problems.append(f"{where}: a container without readonlyRootFilesystem")
        if rtype == "aws_launch_template":
            meta = _one(body.get("metadata_options", [{}]))
            if str(_one(meta.get("http_tokens", ""))) != "required":
                problems.append(f"{where}: instances accept IMDSv1 (metadata_options.http_tokens must be required)")
            for bdm in _flat(body.get("block_device_mappings", [])):
                ebs = _one(bdm.get("ebs", [{}]))
                if _one(ebs.get("encrypted", False)) is not True:
                    problems.append(f"{where}: an unencrypted volume")
    return problems


def check_task_roles(mod: Module, allowed: dict[str, set[str]]) -> list[str]:
    """`allowed` maps a task definition name to the names its role's
    resources may reference (module, resource or local names)."""
    problems = []
    for task, role in task_roles(mod).items():
        where = _where(mod, "aws_ecs_task_definition", task)
        if not role:
            problems.append(f"{where}: no task role of its own (task_role_arn)")
            continue
        if task not in allowed:
            problems.append(f"{where}: no least-privilege scope declared for this task")
            continue
        for (rtype, _), body in mod.resources.items():
            if rtype == "aws_iam_role_policy_attachment" and re.search(rf"\baws_iam_role\.{role}\.", str(body.get("role"))):
                problems.append(f"{where}: role {role} has a managed policy attached; use a scoped inline policy")
        for res in role_resources(mod, role):
            if res.strip() == "*":
                problems.append(f"{where}: role {role} is granted every resource (*)")
                continue
            names = {m.group(0).split(".")[1].split("[")[0] for m in REF.finditer(res)}
            outside = names - allowed[task]
            if outside or not names:
                problems.append(f"{where}: role {role} reaches {res} (outside {sorted(allowed[task])})")
    return problems


def check_efs(mod: Module) -> list[str]:
    problems = []
    for (rtype, name), body in mod.resources.items():
        if rtype == "aws_efs_file_system" and _one(body.get("encrypted", False)) is not True:
            problems.append(f"{_where(mod, rtype, name)}: not encrypted at rest (encrypted = true)")
        if rtype == "aws_ecs_task_definition":
            for volume in body.get("volume", []):
                for efs in volume.get("efs_volume_configuration", []):
                    if _one(efs.get("transit_encryption", "DISABLED")) != "ENABLED":
                        problems.append(f"{_where(mod, rtype, name)}: volume {_one(volume.get('name'))} mounts "
                                        "EFS without encryption in transit")
    return problems


def check_tree(root: Path, task_scopes: dict[str, set[str]] | None = None) -> list[str]:
    problems = []
    for mod in load_tree(root):
        problems += check_buckets(mod) + check_iam(mod) + check_batch(mod) + check_efs(mod)
        if task_scopes is not None:
            problems += check_task_roles(mod, task_scopes)
    return problems
