"""Whether a build is older than its definitions, for `relay run` to say so before serving.

A build records where its definitions were (the manifest's `source_dir`, relative to the build
folder, which the dashboard's editor reads too) and their hash (the manifest's `source_hash`).
Compared by content, so a touched or re-checked-out file is not a change.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from compiler.emit.write import MANIFEST
from compiler.pipeline import source_hash
from compiler.source.files import load_dir
from runtime.artifact import Manifest


def stale_sources(build: Path) -> Path | None:
    """The definitions folder `build` was made from, if they changed since; None when
    unchanged or unknown (a build from before relay recorded it, a folder since moved)."""
    try:
        manifest = msgspec.json.decode((build / MANIFEST).read_bytes(), type=Manifest)
    except (OSError, msgspec.DecodeError):
        return None  # `relay run` itself says what is wrong with the build
    root = (build / manifest.source_dir).resolve() if manifest.source_dir else None
    if root is None or not root.is_dir():
        return None
    sources, _ = load_dir(root)
    return root if source_hash(sources) != manifest.source_hash else None
