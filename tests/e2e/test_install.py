"""Issue 15, "install like a real tool": `make install` puts the binary, a man
page and bash/zsh completions under PREFIX (DESTDIR honoured), all generated
from the binary's own command tree. Each test drives what a user does: run
the installed binary, read the page, press TAB."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import modelbay_binary


def top_level_commands() -> set[str]:
    """The commands `modelbay --help` lists (what a user reads)."""
    out = subprocess.run([str(modelbay_binary()), "--help"], capture_output=True, text=True, check=True).stdout
    section = out.split("Subcommands:", 1)[1].split("\n\n", 1)[0]
    return {m.group(1) for m in re.finditer(r"^  (\S+)\s", section, re.M)}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """`cmake --install` of the test's build tree into a DESTDIR with PREFIX=/usr
    (the command `make install` runs once the build is current)."""
    destdir = tmp_path_factory.mktemp("destdir")
    build_dir = modelbay_binary().parents[1]
    subprocess.run(["cmake", "--install", str(build_dir), "--prefix", "/usr"], check=True,
                   env={**os.environ, "DESTDIR": str(destdir)}, capture_output=True)
    return destdir


def test_install_lays_out_binary_page_and_completions(installed):
    binary = installed / "usr/bin/modelbay"
    assert os.access(binary, os.X_OK)
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout
    assert version.strip(), "the installed binary runs"
    for rel in ["usr/share/man/man1/modelbay.1", "usr/share/bash-completion/completions/modelbay",
                "usr/share/zsh/site-functions/_modelbay"]:
        assert (installed / rel).stat().st_size > 1000, rel


def test_makefile_install_honours_prefix_and_destdir():
    """The Makefile's recipe is the cmake --install line the fixture runs."""
    root = Path(__file__).resolve().parents[2]
    dry = subprocess.run(["make", "-n", "-C", str(root), "install", "PREFIX=/opt/mb", "DESTDIR=/tmp/pkg"],
                         capture_output=True, text=True, check=True).stdout
    assert "DESTDIR=/tmp/pkg cmake --install build --prefix /opt/mb" in dry


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed (scripts/install-deps.sh installs groff-base)")
def test_man_page_renders_cleanly_and_covers_every_command(installed):
    page = installed / "usr/share/man/man1/modelbay.1"
    proc = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou", "-ww", str(page)], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stderr == "", f"groff warnings: {proc.stderr}"
    text = proc.stdout
    for command in top_level_commands():
        assert re.search(rf"^\s+modelbay {re.escape(command)}$", text, re.M), f"no section for {command}"
    assert "modelbay models promote" in text and "--model-store" in text
    flowed = " ".join(text.split())  # groff fills and wraps lines
    assert "EXIT STATUS" in flowed and "data loss or integrity failure (checksum)" in flowed


def bash_complete(script: Path, line: str) -> set[str]:
    """What TAB offers for `line` (the cursor at its end; a trailing space starts a new word)."""
    words = line.split(" ")
    prog = (f"source {shlex.quote(str(script))}\n"
            f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
            "_modelbay; printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], capture_output=True, text=True, check=True)
    return {w for w in out.stdout.split("\n") if w}


def test_bash_completion(installed):
    script = installed / "usr/share/bash-completion/completions/modelbay"
    assert bash_complete(script, "modelbay ") == top_level_commands()
    assert bash_complete(script, "modelbay tr") == {"train"}
    assert bash_complete(script, "modelbay models pro") == {"promote"}
    assert bash_complete(script, "modelbay serve --po") == {"--port"}
    # the parent's flags are accepted after a command, so they are offered there
    assert {"--model-store", "--help"} <= bash_complete(script, "modelbay models promote --")
    # a flag's value is skipped: `models` here is --model-store's value, not the command
    assert bash_complete(script, "modelbay --model-store models mo") == {"models", "monitor"}
    # a flag's value itself: nothing from us (bash falls back to file names)
    assert bash_complete(script, "modelbay train --data ") == set()


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed (scripts/install-deps.sh installs it)")
def test_zsh_completion(installed):
    script = installed / "usr/share/zsh/site-functions/_modelbay"

    def complete(line: str) -> set[str]:
        words = line.split(" ")
        # compadd/_files/compdef are zsh's completion system's; stand-ins print what they get.
        prog = ("compadd() { [[ $1 == -- ]] && shift; print -rl -- \"$@\" }; _files() { print -r -- FILES }\n"
                "compdef() { : }\n"
                f"source {shlex.quote(str(script))}\n"
                f"words=({' '.join(shlex.quote(w) for w in words)}); CURRENT={len(words)}; "
                f"PREFIX={shlex.quote(words[-1])}\n_modelbay\n")
        out = subprocess.run(["zsh", "-f", "-c", prog], capture_output=True, text=True, check=True)
        offered = {w for w in out.stdout.split("\n") if w}
        return {w for w in offered if w.startswith(words[-1]) or w == "FILES"}

    assert complete("modelbay ") == top_level_commands()
    assert complete("modelbay models pro") == {"promote"}
    assert complete("modelbay --model-store models mo") == {"models", "monitor"}
    assert complete("modelbay train --data ") == {"FILES"}
