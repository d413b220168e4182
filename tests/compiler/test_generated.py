"""The committed generated/ is the build of the committed chains/ (no keys in the environment)."""

from __future__ import annotations

from pathlib import Path

from compiler.emit import write_build
from compiler.pipeline import compile_dir

REPO = Path(__file__).resolve().parents[2]


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "secrets.json" and "__pycache__" not in p.parts
    }


def test_generated_is_up_to_date(tmp_path: Path) -> None:
    result = compile_dir(REPO / "chains", {}, "build")
    assert result.artifact is not None, result.diagnostics
    write_build(result, REPO / "chains", tmp_path)
    fresh, committed = files(tmp_path), files(REPO / "generated")
    assert sorted(fresh) == sorted(committed), "run: env -i PATH=$PATH relay build chains -o generated"
    stale = [rel for rel in fresh if fresh[rel] != committed[rel]]
    assert stale == [], f"generated/ is stale in {stale}: rebuild with no provider keys set"


def test_examples_check_clean_without_keys() -> None:
    result = compile_dir(REPO / "chains", {}, "check")
    assert {d.severity for d in result.diagnostics} <= {"warning", "info"}
    assert {d.code for d in result.diagnostics} == {"R213"}
    assert result.artifact is not None
    assert [s.provider for s in result.artifact.chains["free"].steps][-2:] == ["sim-burst", "sim-steady"]
