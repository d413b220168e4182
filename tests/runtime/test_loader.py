"""Loading a build: format versions (a golden artifact per version), secrets.json, overlay."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from compiler.emit.write import ENV_LINT, SECRETS, write_build
from compiler.pipeline import compile_dir
from runtime.artifact import FORMAT_VERSION
from runtime.server.loader import LoadError, load

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("RELAY_UPDATE_GOLDEN") == "1"
ENV = {"GOLDEN_UP_KEY": "gsk_golden_0123456789", "GOLDEN_CLIENT_KEY": "golden-client-0123456789"}


def build(out: Path, env: dict[str, str] = ENV) -> None:
    """From a copy of the golden definitions beside `out`: the manifest names its sources
    relative to the build folder, the same wherever the test runs."""
    defs = out.parent / f"{out.name}.defs"
    shutil.copytree(GOLDEN / "defs", defs, dirs_exist_ok=True)
    result = compile_dir(defs, env, "build")
    assert result.artifact is not None, result.diagnostics
    write_build(result, defs, out)


def committed(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in {SECRETS, *ENV_LINT}
    }


def test_the_current_format_matches_its_golden_artifact(tmp_path: Path) -> None:
    """A change to what `relay build` writes shows here: bump FORMAT_VERSION when old builds
    can no longer be read (keeping the old golden), then RELAY_UPDATE_GOLDEN=1."""
    golden = GOLDEN / f"artifact-v{FORMAT_VERSION}"
    build(tmp_path / "artifact")
    if UPDATE:
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(tmp_path / "artifact", golden, ignore=shutil.ignore_patterns(SECRETS, *ENV_LINT))
    assert committed(tmp_path / "artifact") == committed(golden)


@pytest.mark.parametrize("version", range(1, FORMAT_VERSION))
def test_older_formats_are_refused_with_a_rebuild_message(version: int) -> None:
    with pytest.raises(LoadError, match=f"format version {version}.*rebuild"):
        load(GOLDEN / f"artifact-v{version}")


def test_the_environment_is_laid_over_the_committed_table(tmp_path: Path) -> None:
    build(tmp_path)
    snapshot = load(tmp_path)
    up = snapshot.artifact.providers["up"]
    assert up.enabled and [k.id for k in up.keys] == ["up#0"]
    assert snapshot.key_value("up#0") == ENV["GOLDEN_UP_KEY"]
    assert snapshot.artifact.server.auth_required
    assert snapshot.client_key_ok(ENV["GOLDEN_CLIENT_KEY"]) and not snapshot.client_key_ok("other")


def test_without_secrets_json_nothing_is_served(tmp_path: Path) -> None:
    build(tmp_path)
    (tmp_path / SECRETS).unlink()
    with pytest.raises(LoadError, match=re.escape("secrets.json is missing: run `relay build`")):
        load(tmp_path)


def test_secrets_of_another_build_are_refused(tmp_path: Path) -> None:
    """A reader between a build's secrets.json and its manifest sees a mismatch, not a mix."""
    build(tmp_path / "old")
    defs = shutil.copytree(GOLDEN / "defs", tmp_path / "defs")
    (defs / "relay.yaml").write_text((defs / "relay.yaml").read_text().replace("rpm: 30", "rpm: 31"))
    result = compile_dir(defs, ENV, "build")
    assert result.artifact is not None
    write_build(result, defs, tmp_path / "new")
    shutil.copy(tmp_path / "old" / SECRETS, tmp_path / "new" / SECRETS)
    with pytest.raises(LoadError, match=re.escape("secrets.json belongs to another build")):
        load(tmp_path / "new")
