"""Issue 15: every `modelbay ...` command line shown in README.md and docs/*.md
runs as shown. Each runs in its own copy of a scratch home that holds what the
docs assume (sample data uploaded, versions 1-3 trained, 3 promoted to
production, predictions logged), and must exit 0.

Synopses (placeholders such as N, FILE, [--flag], a|b, <out>, $VAR) are not
command lines and are skipped; so are lines that need a service this test
does not start (S3 URLs, SQS queues, SageMaker's /opt/ml): each skip is
listed by SKIP_REASONS, and a new kind of line fails until it is either runnable
or given a reason here."""
from __future__ import annotations

import re
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, make_local_stores, modelbay_binary

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# A word of a synopsis rather than of a command line.
PLACEHOLDER = re.compile(r"^(?:[A-Z][A-Z0-9_]*(?:/[A-Z]+)?(?:\.[a-z]+)?|<[^>]*>|.*\$.*|.*\.\.\..*)$")

# Lines that are real commands but need more than local folders, by substring.
SKIP_REASONS = {
    "s3://": "needs an S3 store (the S3 forms are tested in test_batch.py / test_store_contract.py)",
    "--sagemaker": "needs SageMaker's /opt/ml/model layout (test_sagemaker.py)",
    "--distributed": "needs a DMLC tracker environment (test_train_distributed.py)",
    "modelbay worker": "needs an SQS queue (test_worker.py)",
}


def command_lines(doc: Path) -> list[tuple[str, int, str, bool]]:
    """(file, line number, command, inline?) for each `modelbay ...` inline span and each
    line of a fenced block starting with `modelbay ` (continuations joined,
    comments removed)."""
    out = []
    lines = doc.read_text().split("\n")
    in_block = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            in_block = not in_block
        elif in_block and re.match(r"^\s*(\$ )?modelbay\s", line):
            start = i
            text = line.strip().removeprefix("$ ")
            while text.endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text[:-1] + " " + lines[i].strip()
            try:
                words = shlex.split(text, comments=True)
            except ValueError:
                words = text.split()
            out.append((doc.name, start + 1, " ".join(shlex.quote(w) for w in words), False))
        elif not in_block:
            for m in re.finditer(r"`(modelbay [^`]+)`", line):
                out.append((doc.name, i + 1, m.group(1).replace("\\|", "|"), True))
        i += 1
    return out


def is_synopsis(command: str) -> bool:
    if any(c in command for c in "[]|") or "..." in command:
        return True
    try:
        words = shlex.split(command)
    except ValueError:
        return True
    return any(PLACEHOLDER.match(w) for w in words[1:])


def skip_reason(command: str) -> str | None:
    for needle, reason in SKIP_REASONS.items():
        if needle in command:
            return reason
    return None


def command_paths() -> set[str]:
    """Every command, as the man page's section headings name them."""
    page = subprocess.run([str(modelbay_binary()), "manpage"], capture_output=True, text=True, check=True).stdout
    return {m.group(1).replace("\\-", "-") for m in re.finditer(r'^\.SS "(modelbay[^"]*)"', page, re.M)}


PATHS = command_paths()


def is_command_name(command: str, inline: bool) -> bool:
    """`modelbay models import` in prose names a command rather than showing a
    line to run: an inline span that is exactly a command's path."""
    return inline and command in PATHS


ALL = [c for doc in DOCS for c in command_lines(doc)]
NAMES = sorted({cmd for _, _, cmd, inline in ALL if is_command_name(cmd, inline)})
RUNNABLE = sorted({cmd for _, _, cmd, inline in ALL
                   if not is_command_name(cmd, inline) and not is_synopsis(cmd) and skip_reason(cmd) is None})


def test_docs_show_command_lines():
    """The extraction finds the README's main flow (so an empty list cannot pass)."""
    assert "modelbay upload churn.csv" in RUNNABLE
    assert "modelbay models list" in RUNNABLE
    assert "modelbay train" in NAMES
    assert len(RUNNABLE) >= 15, RUNNABLE


@pytest.mark.parametrize("command", NAMES)
def test_documented_command_exists(command):
    """A command named in prose exists: `modelbay <it> --help` succeeds."""
    where = [f"{f}:{n}" for f, n, c, _ in ALL if c == command]
    proc = subprocess.run([str(modelbay_binary()), *command.split()[1:], "--help"], capture_output=True, text=True)
    assert proc.returncode == 0, f"`{command}` ({', '.join(where)}): {proc.stderr[-500:]}"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A home with what the docs' examples assume, copied for each command."""
    s = make_local_stores(tmp_path_factory.mktemp("docs-home"))
    s.run("sample-data", "--rows", "2000", "--seed", "7", "--out", "churn.csv")
    s.run("upload", "churn.csv")
    for _ in range(3):
        s.run("train", "--quiet")
    s.run("models", "promote", "3")
    rows = (s.cwd / "churn.csv").read_text().split("\n")
    header = rows[0].split(",")
    keep = [i for i, name in enumerate(header) if name != "churn"]
    (s.cwd / "new.csv").write_text("\n".join(",".join(r.split(",")[i] for i in keep) for r in rows[:200] if r) + "\n")
    for version in ("1", "3"):
        s.run("predict", "new.csv", "--version", version, "--out", f"scored_{version}.csv")
    s.run("models", "export", "3", "--out", "model_af_3.zip")
    return s


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


LONG_RUNNING = ("modelbay serve", "modelbay watch")


@pytest.mark.parametrize("command", RUNNABLE)
def test_documented_command_runs(scratch, tmp_path, command):
    home = tmp_path / "home"
    shutil.copytree(scratch.cwd, home, symlinks=True)
    env = {**scratch.env, "HOME": str(home / "home"), "MODELBAY_PORT": str(free_port()),
           "MODELBAY_HOST": "127.0.0.1"}
    argv = [str(modelbay_binary()), *shlex.split(command)[1:]]
    where = [f"{f}:{n}" for f, n, c, _ in ALL if c == command]
    if command.startswith(LONG_RUNNING):
        # A server or watcher: it must come up and keep running (an error exits).
        proc = subprocess.Popen(argv, cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        alive = proc.poll() is None
        proc.terminate()
        out, err = proc.communicate(timeout=30)
        assert alive, f"`{command}` ({', '.join(where)}) exited {proc.returncode}: {err[-2000:]}"
        return
    proc = subprocess.run(argv, cwd=home, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"`{command}` ({', '.join(where)}) exited {proc.returncode}: {proc.stderr[-2000:]}"
