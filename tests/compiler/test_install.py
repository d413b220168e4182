"""The README's install, for real: a fresh virtualenv from the hashed lock of the base install
(no extras), relay itself installed from a copy of what git tracks (not editable, so nothing
leans on the source tree), and then what a newcomer does: check, build, serve the example
chains. The optional parts are absent there, so this is also where their one-line messages are
proved: a definition that needs an extra is a located R246 naming the `pip install` line, a
build made elsewhere is refused by `relay run` in one line, `relay top` says what to install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.compiler.test_generated import git
from tests.e2e.procs import free_port, stop, wait_until

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120, rc: int = 0) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == rc, f"{args}: {done.returncode}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout + done.stderr


def tracked_copy(dest: Path) -> Path:
    """What git tracks (and untracked files it does not ignore), so the install cannot lean on
    stray files such as an editable install's metadata."""
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for rel in filter(None, listed):
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    return dest


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("install")
    source = tracked_copy(root / "source")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["XDG_STATE_HOME"] = str(root / "state")
    run([sys.executable, "-m", "venv", str(root / "venv")], root, env)
    py = str(root / "venv" / "bin" / "python")
    pip = [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "--require-hashes", "-r", str(source / "requirements" / "base.txt")], root, env, timeout=800)
    run([*pip, "--no-deps", "--no-build-isolation", str(source)], root, env, timeout=300)
    return root / "venv" / "bin", env


def test_the_base_install_has_no_extra_and_runs_from_its_own_files(
    base_venv: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    bin_dir, env = base_venv
    probe = "import json, sys; from runtime import extras; print(json.dumps([e.module for e in extras.ALL if e.installed()]))"
    present = json.loads(run([str(bin_dir / "python"), "-c", probe], tmp_path, env))
    assert present == []
    located = run([str(bin_dir / "python"), "-c", "import compiler; print(compiler.__file__)"], tmp_path, env)
    assert str(bin_dir.parent) in located
    assert run([str(bin_dir / "relay"), "--version"], tmp_path, env).startswith("relay 0.")
    assert '"$schema"' in run([str(bin_dir / "relay"), "schema"], tmp_path, env)


def test_the_base_install_builds_and_serves_the_example_chains(
    base_venv: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """The README's main command and Quickstart: the `free` chain answers from the simulators."""
    bin_dir, env = base_venv
    shutil.copytree(REPO / "chains", tmp_path / "chains")
    assert "0 errors" in run([str(bin_dir / "relay"), "check", "chains"], tmp_path, env)
    run([str(bin_dir / "relay"), "build", "chains", "-o", "generated"], tmp_path, env)
    assert (tmp_path / "generated" / "routing.json").is_file()
    port = free_port()
    log = tmp_path / "relay.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(bin_dir / "relay"), "run", "generated", "--listen", f"127.0.0.1:{port}"],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(url), "relay run (base install)", timeout=60, proc=proc, log=log)
        body = {"model": "free", "messages": [{"role": "user", "content": "hello from the base install"}]}
        answer = httpx.post(url + "/v1/chat/completions", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-relay-provider"].startswith("sim-")
        assert "Simulated provider" in answer.json()["choices"][0]["message"]["content"]
    finally:
        stop(proc)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/ready", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


NEEDS_EXTRAS = """
version: 1
server:
  state: redis://127.0.0.1:6379/0
  usage: {store: "postgresql://relay@127.0.0.1/relay"}
providers:
  aws:
    api: bedrock
    region: us-east-1
chains:
  c:
    steps: [aws/anthropic.claude-sonnet-4-5-v1]
"""


def test_a_setting_that_needs_a_missing_extra_is_a_located_error_naming_the_install_line(
    base_venv: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    bin_dir, env = base_venv
    (tmp_path / "chains").mkdir()
    (tmp_path / "chains" / "relay.yaml").write_text(NEEDS_EXTRAS)
    out = run([str(bin_dir / "relay"), "check", "chains"], tmp_path, env, rc=1)
    found = {line for line in out.splitlines() if "R246" in line}
    assert any("relay.yaml:4:" in line and "pip install 'relay[redis]'" in out for line in found), out
    assert any("relay.yaml:5:" in line for line in found), out
    assert any("relay.yaml:8:" in line for line in found), out
    for extra in ("redis", "postgres", "bedrock"):
        assert f"pip install 'relay[{extra}]'" in out
    assert "Traceback" not in out


def test_relay_run_refuses_a_build_that_needs_a_missing_extra_in_one_line(
    base_venv: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """Built where every extra is installed (this test's own interpreter), served where none is."""
    bin_dir, env = base_venv
    (tmp_path / "chains").mkdir()
    (tmp_path / "chains" / "relay.yaml").write_text(
        NEEDS_EXTRAS.replace('  usage: {store: "postgresql://relay@127.0.0.1/relay"}\n', "")
    )
    build_env = {**env, "PYTHONPATH": str(REPO)}
    run([sys.executable, "-m", "compiler", "build", "chains", "-o", "generated"], tmp_path, build_env)
    out = run([str(bin_dir / "relay"), "run", "generated"], tmp_path, env, timeout=60, rc=2)
    assert out.count("\n") == 1, out
    assert "provider aws (aws-chain) needs relay[bedrock]: pip install 'relay[bedrock]'" in out
    assert "server.state needs relay[redis]: pip install 'relay[redis]'" in out


def test_relay_top_without_the_tui_extra_says_what_to_install(
    base_venv: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    bin_dir, env = base_venv
    out = run([str(bin_dir / "relay"), "top"], tmp_path, env, rc=2)
    assert out.strip() == "relay top: needs relay[tui] (textual), not installed: pip install 'relay[tui]'"
