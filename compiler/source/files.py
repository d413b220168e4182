"""Find and read the definition files of a folder, refusing what is not safe to parse.

Each guard turns one kind of bad input into a located diagnostic before the YAML parser
sees it: a missing folder, special or unreadable files, oversized files (read at most one
byte past the cap), binary or non-UTF-8 bytes, tabs in indentation, empty files.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler import codes
from compiler.diagnostics import Diagnostic, Where, make
from compiler.source.compose import compose
from compiler.source.nodes import YMap

MAX_BYTES = 4 * 1024 * 1024
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Source:
    """One definition file: its bytes (for the source hash) and its parsed document."""

    rel: str
    """Path relative to the definition folder, `/`-separated: stable across machines."""
    display: str
    """Path as the user can open it (the folder they named, then `rel`)."""
    raw: bytes
    data: YMap | None


def find_files(root: Path) -> list[Path]:
    """Every *.yaml / *.yml below `root` in sorted path order, hidden folders skipped."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(folder) / f for f in files if f.endswith(SUFFIXES))
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def load_dir(root: Path) -> tuple[list[Source], list[Diagnostic]]:
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a folder"
        hint = "pass the folder that holds your *.yaml definitions, e.g. chains/"
        return [], [make(codes.NO_DIR, Where(str(root)), f"{root} {what}", hint)]
    sources: list[Source] = []
    diags: list[Diagnostic] = []
    paths = find_files(root)
    if not paths:
        hint = "add a definitions file such as providers.yaml (see chains/ in the relay repo)"
        diags.append(make(codes.NO_YAML, Where(str(root)), f"no *.yaml or *.yml file below {root}", hint))
    for path in paths:
        source, file_diags = load_file(path, path.relative_to(root).as_posix())
        diags.extend(file_diags)
        if source is not None:
            sources.append(source)
    return sources, diags


def load_file(path: Path, rel: str) -> tuple[Source | None, list[Diagnostic]]:
    raw, problem = read_capped(path)
    if raw is None:
        return None, [problem] if problem else []
    return load_bytes(raw, rel, str(path))


def load_bytes(raw: bytes, rel: str, display: str) -> tuple[Source, list[Diagnostic]]:
    """One file's bytes, from disk or from the editor's draft (never written before it builds)."""
    text, diags = decode(raw, display)
    if text is None:
        return Source(rel, display, raw, None), diags
    data, diags = parse(text, display)
    return Source(rel, display, raw, data), diags


def read_capped(path: Path) -> tuple[bytes | None, Diagnostic | None]:
    where = Where(str(path))
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return None, make(
                codes.UNREADABLE, where, f"{path} is not a regular file", "remove it or rename it"
            )
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return None, make(
            codes.UNREADABLE, where, f"cannot read {path}: {reason}", "check the file's permissions"
        )
    if len(raw) > MAX_BYTES:
        message = f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB"
        return None, make(codes.TOO_LARGE, where, message, "definition files are small; split or trim it")
    return raw, None


_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode(raw: bytes, file: str) -> tuple[str | None, list[Diagnostic]]:
    """UTF-8 text without control characters, or a diagnostic at the first bad byte."""
    control = _CONTROL.search(raw)
    bad_at = control.start() if control else len(raw)
    try:
        raw[:bad_at].decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_at, control = exc.start, None
    if bad_at == len(raw):
        return raw.decode("utf-8-sig"), []
    prefix = raw[:bad_at].decode("utf-8", "replace")
    line, col = line_col(prefix, len(prefix))
    what = f"control character {raw[bad_at]:#04x}" if control else "bytes that are not UTF-8 text"
    hint = "definition files are UTF-8 YAML; binary files do not belong in the definitions folder"
    return None, [make(codes.NOT_TEXT, Where(file, line, col), what, hint)]


def line_col(text: str, index: int) -> tuple[int, int]:
    """1-based position of `index` in `text`."""
    prefix = text[:index]
    return prefix.count("\n") + 1, index - (prefix.rfind("\n") + 1) + 1


def tab_diagnostics(text: str, file: str) -> list[Diagnostic]:
    diags = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip():
            diags.append(
                make(
                    codes.TAB,
                    Where(file, number, indent.index("\t") + 1),
                    "tab character in indentation",
                    "YAML indents with spaces only; replace the tab",
                )
            )
    return diags


def parse(text: str, file: str) -> tuple[YMap | None, list[Diagnostic]]:
    tabs = tab_diagnostics(text, file)
    if tabs:
        return None, tabs
    data, diags = compose(text, file)
    if data is None and not diags:
        return None, [
            make(
                codes.EMPTY,
                Where(file),
                "file holds no definitions",
                "write at least `version: 1` and a section, or delete the file",
            )
        ]
    if data is not None and not isinstance(data, YMap):
        return None, [*diags, top_level_error(data, file)]
    return data, diags


def top_level_error(data: Any, file: str) -> Diagnostic:
    pos = getattr(data, "pos", (1, 1))
    kind = type(data).__name__.replace("YSeq", "list")
    return make(
        codes.WRONG_TYPE,
        Where(file, pos[0], pos[1]),
        f"top level must be a mapping, got {kind}",
        "start the file with `version: 1` and sections like providers: and chains:",
    )
