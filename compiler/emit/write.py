"""Write a build into an output folder: atomically per file, manifest last, secrets 0600.

Every file goes to a temp file in the same folder, is fsynced and renamed over the old one,
so a reader sees either the old or the new version of each file. `manifest.json` is written
after all others, and on every build even when its bytes are the same: the runtime reloads
on its change, so it never loads a half-written set, and a rebuild that changed only the
environment (a rotated key: only the git-ignored files differ) is still picked up.

The committed files come from the environment-free build; `split` says what goes where.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

import msgspec

from compiler.emit import split
from compiler.emit.lint import Rename, lint_json, lint_text
from compiler.emit.render import render_provider
from compiler.pipeline import Compiled
from runtime.artifact import FORMAT_VERSION, Manifest

SECRETS = "secrets.json"
MANIFEST = "manifest.json"
ENV_LINT = ("lint.env.json", "lint.env.txt")
GITIGNORE = (
    "# Written by relay build. What this machine's environment adds stays out of git:\n"
    "# key values and values from ${VAR} (secrets.json, mode 0600), and its lint report.\n"
    "secrets.json\nlint.env.json\nlint.env.txt\n__pycache__/\n"
)


def encode(value: object) -> bytes:
    """Sorted keys and indentation: a readable, stable diff in pull requests."""
    return msgspec.json.format(msgspec.json.encode(value, order="sorted"), indent=2) + b"\n"


def unchanged(path: Path, data: bytes, mode: int) -> bool:
    try:
        return (path.stat().st_mode & 0o777) == mode and path.read_bytes() == data
    except OSError:
        return False


def write_atomic(path: Path, data: bytes, mode: int = 0o644, always: bool = False) -> None:
    """Replace `path` with `data` in one step; a file already holding exactly `data` is left
    alone unless `always`.

    Leaving identical files untouched keeps rebuilds cheap (no fsync for what did not change)
    and their modification times meaningful to anyone watching the folder.
    """
    if not always and unchanged(path, data, mode):
        return
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def renamer(root: Path) -> Rename:
    def rename(file: str) -> str:
        path = Path(file)
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else file

    return rename


def outputs(compiled: Compiled, root: Path) -> dict[str, bytes]:
    """Every committed file of the build by relative path (all but secrets and manifest):
    the environment-free build only."""
    blind = compiled.blind
    assert blind is not None and blind.artifact is not None
    source_hash, rename = blind.artifact.source_hash, renamer(root)
    diags = split.committed_diagnostics(compiled)
    files = {
        "routing.json": encode(blind.artifact),
        "lint.json": lint_json(diags, source_hash, rename, estimates=blind.estimates).encode(),
        "lint.txt": lint_text(diags, source_hash, rename, estimates=blind.estimates).encode(),
        ".gitignore": GITIGNORE.encode(),
    }
    for plan in blind.plans.values():
        files[f"providers/{plan.provider.module}.py"] = render_provider(plan).encode()
    return files


def environment_outputs(compiled: Compiled, root: Path) -> dict[str, bytes]:
    """The git-ignored lint report of this environment (not in the manifest)."""
    assert compiled.artifact is not None
    source_hash, rename = compiled.artifact.source_hash, renamer(root)
    diags, capacity = split.environment_diagnostics(compiled), compiled.capacity
    title = "relay lint report: this build's environment"
    return {
        ENV_LINT[0]: lint_json(diags, source_hash, rename, capacity).encode(),
        ENV_LINT[1]: lint_text(diags, source_hash, rename, capacity, title).encode(),
    }


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def source_dir(root: Path, out: Path) -> str:
    """Where the definitions are, seen from the build folder: relative, so the path holds on
    every machine that has both folders in the same places (a repository's checkout)."""
    return Path(os.path.relpath(root.resolve(), out.resolve())).as_posix()


def write_build(compiled: Compiled, root: Path, out: Path) -> list[str]:
    """Write the build into `out`; returns the relative paths written, manifest last."""
    assert compiled.artifact is not None and compiled.secrets is not None
    files = outputs(compiled, root)
    (out / "providers").mkdir(parents=True, exist_ok=True)
    for rel, data in sorted(files.items()):
        write_atomic(out / rel, data)
    for stale in (out / "providers").glob("*.py"):
        if f"providers/{stale.name}" not in files:
            stale.unlink()
    local = environment_outputs(compiled, root)
    for rel, data in sorted(local.items()):
        write_atomic(out / rel, data)
    write_atomic(out / SECRETS, encode(split.secrets(compiled, digest(files["routing.json"]))), mode=0o600)
    fsync_dir(out / "providers")
    artifact = compiled.artifact
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        relay_version=artifact.relay_version,
        source_hash=artifact.source_hash,
        files={rel: digest(data) for rel, data in files.items()},
        source_dir=source_dir(root, out),
    )
    write_atomic(out / MANIFEST, encode(manifest), always=True)
    fsync_dir(out)
    return [*sorted(files), *sorted(local), SECRETS, MANIFEST]
