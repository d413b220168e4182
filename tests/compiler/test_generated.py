"""The committed generated/ is the build of the committed chains/, whatever the environment holds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from compiler.emit.write import ENV_LINT, SECRETS, write_build
from compiler.pipeline import compile_dir
from runtime.server.loader import load

REPO = Path(__file__).resolve().parents[2]
LOCAL = {SECRETS, *ENV_LINT}
"""What a build writes for this machine only (git-ignored)."""
FAKE_KEYS = {
    "ANTHROPIC_API_KEY": "sk-ant-fake-0123456789abcdef",
    "ZAI_API_KEY": "zai-fake-0123456789abcdef",
    "GROQ_API_KEY": "gsk_fake_0123456789abcdef",
    "CEREBRAS_API_KEY": "csk-fake-0123456789abcdef",
    "OPENROUTER_API_KEY": "sk-or-fake-0123456789abcdef",
    "RELAY_API_KEY": "relay-client-fake-0123456789",
}


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in LOCAL and "__pycache__" not in p.parts
    }


def test_generated_is_up_to_date(tmp_path: Path) -> None:
    """Built beside a copy of chains/, as generated/ sits beside chains/: the manifest names
    its definitions relative to itself (`source_dir`)."""
    chains = shutil.copytree(REPO / "chains", tmp_path / "chains")
    result = compile_dir(chains, {}, "build")
    assert result.artifact is not None, result.diagnostics
    write_build(result, chains, tmp_path / "generated")
    fresh, committed = files(tmp_path / "generated"), files(REPO / "generated")
    assert sorted(fresh) == sorted(committed), "run: relay build chains -o generated"
    stale = [rel for rel in fresh if fresh[rel] != committed[rel]]
    assert stale == [], f"generated/ is stale in {stale}: run relay build chains -o generated"


def test_examples_check_clean_without_keys() -> None:
    result = compile_dir(REPO / "chains", {}, "check")
    assert {d.severity for d in result.diagnostics} <= {"warning", "info"}
    assert {d.code for d in result.diagnostics} == {"R213"}
    assert result.artifact is not None
    assert [s.provider for s in result.artifact.chains["free"].steps][-2:] == ["sim-burst", "sim-steady"]


def test_examples_pass_strict_check_without_keys() -> None:
    """`relay check chains/ --strict` in a CI without secrets: the optional keys' providers
    are off by declaration (info), not a warning --strict turns into an error. The one
    exception left is R215 on `models.*.context`, until routing uses the context window."""
    result = compile_dir(REPO / "chains", {}, "check", True)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert all(d.code == "R215" and d.pointer.endswith("/context") for d in errors), errors


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=relay-test", "-c", "user.email=relay-test@127.0.0.1"]
    done = subprocess.run(["git", *identity, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_rebuilding_the_examples_with_keys_keeps_the_repository_clean(tmp_path: Path) -> None:
    """The README's "set GROQ_API_KEY and rebuild", in a copy of this repository: nothing
    tracked changes, the staleness test above still passes there, and the keys serve."""
    copy = tmp_path / "repo"
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for rel in filter(None, listed):
        if (REPO / rel).is_file():
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, copy / rel)
    git(copy, "init", "-q")
    git(copy, "add", "-A")
    git(copy, "commit", "-q", "-m", "snapshot")
    env = {**os.environ, **FAKE_KEYS, "PYTHONPATH": str(copy)}
    built = subprocess.run(
        [sys.executable, "-m", "compiler", "build", "chains", "-o", "generated"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert git(copy, "status", "--porcelain", "--untracked-files=all") == ""
    snapshot = load(copy / "generated")
    assert all(p.enabled for p in snapshot.artifact.providers.values())
    assert snapshot.key_value("groq#0") == FAKE_KEYS["GROQ_API_KEY"]
    staleness = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/compiler/test_generated.py", "-k", "up_to_date"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert staleness.returncode == 0, staleness.stdout[-3000:]
    assert git(copy, "status", "--porcelain", "--untracked-files=all") == ""
