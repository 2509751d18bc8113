"""The Dockerfile, first without a Docker engine: hadolint, its structure
(multi-stage bookworm -> bookworm-slim, non-root, health check, serve by
default), runtime packages that really provide every shared library the
binary links, and the image's own command line run directly: it serves, and
the image's HEALTHCHECK command sees it healthy. Then the image built and run
by a real Docker engine (below; skipped where no daemon can start)."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import modelbay_binary
from servers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
VENV_BIN = Path(sys.executable).parent


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out, buf = [], ""
    for line in text.splitlines():
        if not buf and line.lstrip().startswith("#"):
            continue
        buf += line.rstrip("\\").rstrip() + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            if buf.strip():
                word, _, rest = buf.strip().partition(" ")
                out.append((word.upper(), rest.strip()))
            buf = ""
    return out


def stages() -> list[list[tuple[str, str]]]:
    result = []
    for ins in instructions(DOCKERFILE.read_text()):
        if ins[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(ins)
    return result


def apt_packages(stage) -> list[str]:
    pkgs = []
    for word, args in stage:
        if word == "RUN" and "apt-get install" in args:
            tail = args.split("apt-get install", 1)[1].split("&&")[0]
            pkgs += [t for t in shlex.split(tail) if not t.startswith("-")]
    return pkgs


def install_deps_packages(array: str = "APT_PACKAGES") -> list[str]:
    """A package list of scripts/install-deps.sh, as bash expands it (the
    arrays' lines only: nothing of the script runs)."""
    lines = (ROOT / "scripts" / "install-deps.sh").read_text().splitlines(keepends=True)
    arrays, inside = "", False
    for line in lines:
        if re.match(r"^(BUILD_PACKAGES|APT_PACKAGES)=\(", line):
            inside = True
        if inside:
            arrays += line
            if line.strip() == ")":
                inside = False
    out = subprocess.run(["bash", "-c", arrays + f'printf "%s\\n" "${{{array}[@]}}"'],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def last(stage, word):
    found = [args for w, args in stage if w == word]
    return found[-1] if found else None


def test_hadolint_passes():
    proc = subprocess.run([str(VENV_BIN / "hadolint"), str(DOCKERFILE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_rejects_a_careless_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:latest\nRUN apt-get update\nRUN apt-get install curl\nCMD modelbay serve\n")
    proc = subprocess.run([str(VENV_BIN / "hadolint"), str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0
    for rule in ("DL3007", "DL3009", "DL3015"):
        assert rule in proc.stdout, proc.stdout


def test_two_stages_build_on_bookworm_and_run_on_slim():
    build, runtime = stages()
    assert re.match(r"debian:bookworm\s+AS\s+build$", last(build, "FROM"), re.I)
    assert re.match(r"debian:bookworm-slim\b", last(runtime, "FROM"))
    copies = [args for w, args in runtime if w == "COPY"]
    assert any(c.startswith("--from=build ") and c.split()[1].endswith("/modelbay") for c in copies)
    assert not [c for c in copies if c.startswith("--from=build ") and "/modelbay " not in c + " "], \
        "only the binary comes from the build stage"


def test_build_stage_installs_install_deps_build_packages():
    build_pkgs = set(apt_packages(stages()[0]))
    # install-deps.sh --build-only's packages (what `make demo` installs), but the test libraries
    wanted = [p for p in install_deps_packages("BUILD_PACKAGES") if p.endswith("-dev")
              and p not in ("libgtest-dev", "libgmock-dev")]
    assert set(wanted) <= build_pkgs, f"missing in the build stage: {sorted(set(wanted) - build_pkgs)}"
    assert build_pkgs <= set(install_deps_packages()), \
        f"not in scripts/install-deps.sh: {sorted(build_pkgs - set(install_deps_packages()))}"


def test_runtime_stage_has_runtime_libraries_only():
    runtime_pkgs = apt_packages(stages()[1])
    assert runtime_pkgs and not [p for p in runtime_pkgs if p.endswith("-dev")]
    assert not {"build-essential", "cmake", "git", "curl", "wget"} & set(runtime_pkgs)


def test_runtime_packages_provide_every_library_the_binary_links():
    """ldd of the real binary -> owning Debian packages; each must be in the
    runtime stage's install list or pulled in by it."""
    ldd = subprocess.run(["ldd", str(modelbay_binary())], capture_output=True, text=True, check=True).stdout
    libs = [m.group(1) for m in re.finditer(r"=>\s+(/\S+)", ldd)]
    owners = set()
    for lib in libs:
        real = os.path.realpath(lib)
        proc = subprocess.run(["dpkg", "-S", real], capture_output=True, text=True)
        if proc.returncode != 0:
            proc = subprocess.run(["dpkg", "-S", lib], capture_output=True, text=True)
        assert proc.returncode == 0, f"no Debian package owns {lib}"
        owners.add(proc.stdout.split(":")[0])
    runtime_pkgs = apt_packages(stages()[1])
    closure = subprocess.run(
        ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
         "--no-breaks", "--no-replaces", "--no-enhances", *runtime_pkgs],
        capture_output=True, text=True, check=True).stdout
    provided = {line.strip().split()[-1].strip("<>") for line in closure.splitlines()}
    missing = sorted(owners - provided)
    assert not missing, f"the runtime stage lacks {missing} (needed by {modelbay_binary()})"


def test_image_runs_as_a_non_root_user_with_a_health_check():
    runtime = stages()[1]
    user = last(runtime, "USER")
    assert user and user.split(":")[0] not in ("root", "0")
    health = last(runtime, "HEALTHCHECK")
    assert health and "CMD" in health
    assert json.loads(last(runtime, "ENTRYPOINT")) == ["modelbay"]
    assert json.loads(last(runtime, "CMD"))[0] == "serve"
    assert "8000" in last(runtime, "EXPOSE")


def _image_env(port: int) -> dict:
    """The image's ENV, with the serve port moved (8000 may be taken on a shared
    machine) and the listener kept on loopback."""
    env = {}
    for word, args in stages()[1]:
        if word == "ENV":
            env.update(dict(kv.split("=", 1) for kv in shlex.split(args)))
    assert env.get("MODELBAY_PORT") == "8000", env
    return {**env, "MODELBAY_HOST": "127.0.0.1", "MODELBAY_PORT": str(port)}


def _image_command(binary: Path) -> list[str]:
    runtime = stages()[1]
    cmd = json.loads(last(runtime, "ENTRYPOINT")) + json.loads(last(runtime, "CMD"))
    assert cmd[0] == "modelbay"
    cmd[0] = str(binary)
    return cmd


def _healthcheck_command() -> list[str]:
    health = last(stages()[1], "HEALTHCHECK")
    cmd = json.loads(health.split("CMD", 1)[1].strip())
    copies = dict(reversed(args.split()[-2:]) for w, args in stages()[1] if w == "COPY" and not args.startswith("--"))
    script = copies[f"/usr/local/bin/{cmd[0]}"]
    return [str(ROOT / script), *cmd[1:]]


def _serve_missing() -> bool:
    try:
        proc = subprocess.run([str(modelbay_binary()), "serve", "--help"], capture_output=True, text=True,
                              timeout=30)
        return proc.returncode != 0 or "Usage: modelbay serve " not in proc.stdout
    except Exception:  # noqa: BLE001 - binary missing or broken
        return True


@pytest.mark.skipif(_serve_missing(), reason="`modelbay serve --help` does not show serve's usage: serve not built yet")
def test_the_image_command_serves_and_its_health_check_agrees(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MODELBAY_"))}
    env.update({"HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true", **_image_env(port)})
    env["MODELBAY_HOME"] = str(tmp_path / "home")
    health = _healthcheck_command()
    assert subprocess.run(health, capture_output=True, env=env).returncode != 0, "healthy with no server running"
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(_image_command(modelbay_binary()), cwd=tmp_path, env=env,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200,
                   60, "the image's CMD", proc, log)
        check = subprocess.run(health, capture_output=True, text=True, timeout=30, env=env)
        assert check.returncode == 0, check.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()[-2000:]


# --- the image, built and run with a real Docker engine ---------------------------------
# scripts/docker-up.sh starts dockerd when needed (root, Debian's docker.io) and
# makes the base images offline (debootstrap + docker import). The image is
# built once per build context (tag modelbay:ctx-<hash of what .dockerignore
# lets in, the Dockerfile and the base images>), so a second session reuses it
# and a source change rebuilds only from the COPY layers on.

SEED_BODY = {"data": [["aa", 2, 2]], "model_version": "1"}
IMAGE_UID = 10001


def _docker(*args, timeout=600, check=True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *map(str, args)], capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(map(str, args))} exited {proc.returncode}\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def build_context_hash() -> str:
    """sha256 over the Dockerfile, .dockerignore, every file .dockerignore lets
    in, and the base images' ids: equal hashes build equal images."""
    h = hashlib.sha256()
    ignore = (ROOT / ".dockerignore").read_text()
    files = [DOCKERFILE, ROOT / ".dockerignore"]
    for line in ignore.splitlines():
        if line.startswith("!"):
            p = ROOT / line[1:].rstrip("/")
            files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix not in (".o", ".a")) \
                if p.is_dir() else [p]
    for f in files:
        h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes() + b"\0")
    for base in sorted({last(st, "FROM").split()[0] for st in stages()}):
        h.update(_docker("image", "inspect", "--format", "{{.Id}}", base).stdout.encode())
    return h.hexdigest()


@pytest.fixture(scope="session")
def image(tmp_path_factory) -> str:
    """The image's tag, built now or reused; skips where no Docker daemon can start."""
    if shutil.which("docker") is None:
        pytest.skip("no Docker client (Debian package docker.io): the image is not built here")
    up = subprocess.run([str(ROOT / "scripts" / "docker-up.sh")], capture_output=True, text=True, timeout=1800)
    if up.returncode != 0:
        pytest.skip(f"no Docker daemon can start here, the image is not built: {up.stderr.strip()[-500:]}")
    tag = f"modelbay:ctx-{build_context_hash()[:16]}"
    if _docker("image", "inspect", tag, check=False).returncode == 0:
        return tag
    log = tmp_path_factory.mktemp("docker-build") / "build.log"
    start = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.run(["docker", "build", "--network", "host", "-t", tag, str(ROOT)],
                              stdout=out, stderr=subprocess.STDOUT, timeout=3600)
    assert proc.returncode == 0, f"docker build failed:\n{log.read_text(errors='replace')[-4000:]}"
    print(f"\ndocker build of {tag}: {time.monotonic() - start:.0f} s")
    for old in _docker("images", "--format", "{{.Repository}}:{{.Tag}}", "modelbay").stdout.split():
        if old.startswith("modelbay:ctx-") and old != tag:
            _docker("rmi", old, check=False)  # older contexts; their shared layers stay cached
    return tag


def _run_as_ecs(image: str, home: Path, *args, env=None, detach=False, name=None, timeout=600):
    """`docker run` as the ECS task runs it: host network (loopback only here),
    read-only root file system, a tmpfs /tmp, and the state volume mounted at
    the image's MODELBAY_HOME."""
    cmd = ["run", "--network", "host", "--read-only", "--tmpfs", "/tmp:rw,nosuid,nodev,size=64m",
           "-v", f"{home}:/var/lib/modelbay", "-e", "AWS_EC2_METADATA_DISABLED=true"]
    for k, v in (env or {}).items():
        cmd += ["-e", f"{k}={v}"]
    cmd += ["-d", "--name", name] if detach else ["--rm"]
    return _docker(*cmd, image, *args, timeout=timeout)


# The session-scoped `image` fixture builds the image on first use (the whole
# project compiles inside the container, no compiler cache: 10+ minutes on a
# quiet 2-core machine), and pytest-timeout counts fixture setup against the
# first test that uses it.
@pytest.mark.timeout(3600)
def test_image_size_and_contents(image):
    """The runtime image holds the binary and its libraries, no compiler."""
    size = int(_docker("image", "inspect", "--format", "{{.Size}}", image).stdout)
    print(f"\nimage {image}: {size / 1e6:.0f} MB")
    assert size < 400e6, f"{size / 1e6:.0f} MB: did the build stage leak into the runtime image?"
    probe = _docker("run", "--rm", "--network", "none", "--entrypoint", "bash", image, "-c",
                    "id -u; command -v c++ gcc cmake || true")
    assert probe.stdout.split() == [str(IMAGE_UID)], probe.stdout
    assert _docker("run", "--rm", "--network", "none", image, "--version").stdout.strip()


@pytest.mark.timeout(3600)
def test_image_trains_serves_and_ships_as_ecs_runs_it(image, tmp_path):
    """train in the container on a mounted store, then serve from it: the seed's
    request answers, uid 10001, the root file system is read-only, HEALTHCHECK
    turns healthy, and `docker stop` exits 0 with the prediction log shipped."""
    home = tmp_path / "home"
    home.mkdir()
    if os.geteuid() == 0:
        os.chown(home, IMAGE_UID, IMAGE_UID)
    else:
        home.chmod(0o777)
    _run_as_ecs(image, home, "sample-data", "--rows", "2000", "--seed", "7", "--out", "churn.csv")
    _run_as_ecs(image, home, "upload", "churn.csv")
    trained = _run_as_ecs(image, home, "train", "--quiet")
    assert (home / "models").is_dir(), trained.stdout + trained.stderr

    port = free_port()
    name = f"modelbay-test-{uuid.uuid4().hex[:8]}"
    _run_as_ecs(image, home, env={"MODELBAY_HOST": "127.0.0.1", "MODELBAY_PORT": port}, detach=True, name=name)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: requests.get(url + "/health", timeout=2).status_code == 200, 120,
                   "serve in the container")
        r = requests.post(url + "/inference", json=SEED_BODY, timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["model_version"] == "1" and len(body["predictions"]) == 1, body

        pid = _docker("inspect", "--format", "{{.State.Pid}}", name).stdout.strip()
        status = Path(f"/proc/{pid}/status").read_text()
        uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
        assert set(uids) == {str(IMAGE_UID)}, f"process runs as uids {uids}"
        write = _docker("exec", name, "bash", "-c", ": > /usr/local/bin/x", check=False)
        assert write.returncode != 0 and "Read-only file system" in write.stderr, write.stderr

        deadline = time.monotonic() + 180  # interval 15 s; generous on a loaded machine
        health = ""
        while time.monotonic() < deadline and health != "healthy":
            health = _docker("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip()
            assert health in ("starting", "healthy"), health
            time.sleep(1)
        assert health == "healthy"

        stop = _docker("stop", "--time", "60", name, timeout=120)
        assert stop.returncode == 0
        exit_code = _docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        logs = _docker("logs", name).stdout + _docker("logs", name).stderr
        assert exit_code == "0", logs[-3000:]
        assert "shipping the prediction log" in logs, logs[-3000:]
    except BaseException:
        print(_docker("logs", name, check=False).stderr[-3000:])
        raise
    finally:
        _docker("rm", "-f", name, check=False)

    _run_as_ecs(image, home, "results", "export", "--version", "1", "--out", "exported.csv")
    with open(home / "exported.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["request_id"] for r in rows] == [body["request_id"]], rows
