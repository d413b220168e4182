"""`pip install .` (not editable) gives a working `relay`: the compiler needs no file outside
its package (it used to read schemas/ from the source tree, so an installed relay could
neither check nor build)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.compiler.test_generated import git

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout


def test_a_non_editable_install_checks_and_builds(tmp_path: Path) -> None:
    source = tmp_path / "source"  # what git tracks, so the install cannot lean on stray files
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for rel in filter(None, listed):
        if (REPO / rel).is_file():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, source / rel)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    work = tmp_path / "work"
    shutil.copytree(REPO / "chains", work / "chains")
    run([sys.executable, "-m", "venv", str(tmp_path / "venv")], work, env)
    bin_dir = tmp_path / "venv" / "bin"
    run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(source)], work, env, timeout=800)
    located = run([str(bin_dir / "python"), "-c", "import compiler; print(compiler.__file__)"], work, env)
    assert str(tmp_path / "venv") in located
    assert run([str(bin_dir / "relay"), "--version"], work, env).startswith("relay 0.")
    assert "0 errors" in run([str(bin_dir / "relay"), "check", "chains"], work, env)
    run([str(bin_dir / "relay"), "build", "chains", "-o", "generated"], work, env)
    assert (work / "generated" / "routing.json").is_file() and (work / "generated" / "secrets.json").is_file()
    assert '"$schema"' in run([str(bin_dir / "relay"), "schema"], work, env)
