"""The corpus of broken definition sets: each yields its expected code at its line, never a traceback.

Each folder under corpus/ is one definition set plus an `expected` file: lines `CODE LINE
[FILE]`, optionally `mode: build`, `strict` or `exact` (nothing else may be reported) first. A few cases that cannot live in git
(a 5 MB file, an unreadable file, a FIFO) are made on the fly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.diagnostics import exit_code
from compiler.pipeline import compile_dir
from compiler.source.files import MAX_BYTES

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def read_expected(case: Path) -> tuple[list[tuple[str, int, str | None]], str, bool]:
    wanted, mode, strict = [], "check", False
    for line in (case / "expected").read_text().splitlines():
        if line == "strict":
            strict = True
        elif line == "exact":
            continue
        elif line.startswith("mode: "):
            mode = line.removeprefix("mode: ")
        elif line.strip():
            code, number, *file = line.split()
            wanted.append((code, int(number), file[0] if file else None))
    return wanted, mode, strict


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", CASES)
def test_corpus_case(name: str) -> None:
    case = CORPUS / name
    wanted, mode, strict = read_expected(case)
    result = compile_dir(case, {}, mode, strict)  # type: ignore[arg-type]
    found = {(d.code, d.line, Path(d.file).name) for d in result.diagnostics}
    for code, line, file in wanted:
        assert any(c == code and n == line and (file is None or f == file) for c, n, f in found), (
            f"{name}: expected {code} at line {line}, got {sorted(found)}"
        )
    assert exit_code(result.diagnostics) != 0
    assert result.artifact is None
    if "exact" in (case / "expected").read_text().splitlines():
        assert len(found) == len(wanted), f"{name}: only {wanted} expected, got {sorted(found)}"


def test_syntax_errors_come_first_and_nothing_follows_from_them() -> None:
    """A file that cannot be parsed defines nothing: steps naming its providers are not
    'unknown providers', and its R008 is the first thing the user reads."""
    result = compile_dir(CORPUS / "syntax-cascade", {})
    assert [d.code for d in result.diagnostics] == ["R008", "R100"]


def test_five_megabyte_file(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"version: 1\n" + b"# padding\n" * (5 * 1024 * 1024 // 10))
    assert big.stat().st_size > MAX_BYTES
    result = compile_dir(tmp_path, {})
    assert [(d.code, d.line) for d in result.diagnostics] == [("R004", 1)]


def test_unreadable_file_dangling_link(tmp_path: Path) -> None:
    """Works as root too: a link to nowhere cannot be opened by anyone."""
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "missing-target")
    result = compile_dir(tmp_path, {})
    assert [d.code for d in result.diagnostics] == ["R002"]
    assert exit_code(result.diagnostics) == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads chmod 000 files; covered by the dangling-link case")
def test_unreadable_file_permissions(tmp_path: Path) -> None:
    locked = tmp_path / "locked.yaml"
    locked.write_text("version: 1\n")
    locked.chmod(0)
    result = compile_dir(tmp_path, {})
    assert [d.code for d in result.diagnostics] == ["R002"]


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    result = compile_dir(tmp_path, {})
    assert [d.code for d in result.diagnostics] == ["R002"]


@pytest.mark.parametrize(
    ("name", "status"),
    [("unknown-key-typo", 1), ("alias-bomb", 1), ("binary-junk", 1), ("tabs", 1), ("no-yaml-files", 1)],
)
def test_cli_exit_codes_without_traceback(name: str, status: int) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "compiler", "check", str(CORPUS / name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == status
    assert "Traceback" not in proc.stdout + proc.stderr
    code = read_expected(CORPUS / name)[0][0][0]
    assert f" error {code} " in proc.stdout
