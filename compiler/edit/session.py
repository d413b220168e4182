"""One editor request: read the definitions, check or preview a draft, or save it and build.

A request names the definitions folder and the build folder (the running relay's, from its
manifest) and carries the draft: whole files as text (the YAML view) and structured
edits (`operations`), applied in that order over the files on disk. Drafts are compiled in
memory, never written before a save; a save writes only when the build succeeds and the
files are still those the editor loaded (the source hash as an ETag). The answer is an
HTTP status and a JSON body, which the runtime passes on as it is.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from compiler.diagnostics import Diagnostic, has_errors
from compiler.edit.hide import hide
from compiler.edit.operations import apply
from compiler.edit.outline import outline
from compiler.edit.roundtrip import EditError
from compiler.emit.report import as_records
from compiler.emit.write import write_atomic, write_build
from compiler.pipeline import Compiled, compile_prepared, prepare_sources, source_hash
from compiler.source.files import MAX_BYTES, SUFFIXES, Source, find_files, load_bytes, read_capped

Answer = tuple[int, dict[str, Any]]


class Refused(Exception):
    """A request the editor answers with an error status; the message says what to do."""

    def __init__(self, status: int, kind: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.kind, self.extra = status, kind, extra

    def answer(self) -> Answer:
        return self.status, {"error": {"type": self.kind, "message": str(self)}, **self.extra}


def bad(message: str, param: str | None = None) -> Refused:
    extra = {} if param is None else {"param": param}
    return Refused(400, "invalid_request_error", message, **extra)


def safe_rel(name: object) -> str:
    """A definition file's path relative to the folder: `/`-separated, inside it, visible
    to the compiler (no hidden parts) and YAML by name; anything else is a 400."""
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name or len(name) > 255:
        raise bad(f"{name!r} is not a definition file's path", "files")
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("", ".", "..") or part.startswith(".") for part in path.parts):
        raise bad(f"{name!r} is outside the definitions folder; give a path relative to it", "files")
    if path.suffix not in SUFFIXES:
        raise bad(f"{name!r} is not a YAML file: definition files end in .yaml or .yml", "files")
    return path.as_posix()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Folder:
    """The definitions folder as it is on disk now."""

    root: Path
    raw: dict[str, bytes]
    _shown: dict[str, str] | None = field(default=None, repr=False)

    @classmethod
    def read(cls, root: Path) -> Folder:
        if not root.is_dir():
            raise Refused(
                404, "not_found_error", f"the definitions folder {root} is not there; edit it where it is"
            )
        raw: dict[str, bytes] = {}
        for path in find_files(root):
            data, _ = read_capped(path)
            raw[path.relative_to(root).as_posix()] = data if data is not None else b""
        return cls(root, raw)

    @property
    def etag(self) -> str:
        return source_hash([Source(rel, rel, data, None) for rel, data in self.raw.items()])

    def texts(self) -> dict[str, str]:
        return {rel: data.decode("utf-8", "replace") for rel, data in self.raw.items()}

    def shown(self) -> dict[str, str]:
        """The texts as the editor may show them: literal secrets hidden (`hide`)."""
        if self._shown is None:
            texts = self.texts()
            self._shown = hide(texts, compile_texts(texts, {}, "check").diagnostics)
        return self._shown

    def read_only(self, out: Path) -> str | None:
        """Why a save cannot write here, or None."""
        for folder in (self.root, out):
            if not os.access(folder, os.W_OK):
                return f"{folder} is read-only here"
        for rel in self.raw:
            if not os.access(self.root / rel, os.W_OK):
                return f"{self.root / rel} is read-only here"
        return None


def draft(folder: Folder, request: Mapping[str, Any]) -> dict[str, str]:
    """Every file's text once the request's files and edits are applied."""
    texts = folder.texts()
    files = request.get("files", {})
    if not isinstance(files, dict):
        raise bad("`files` must map relative paths to their full text", "files")
    for name, text in files.items():
        rel = safe_rel(name)
        if not isinstance(text, str) or len(text.encode()) > MAX_BYTES:
            raise bad(f"{rel}: the draft must be text of at most {MAX_BYTES // (1024 * 1024)} MiB", "files")
        texts[rel] = text
    edits = request.get("edits", [])
    if not isinstance(edits, list):
        raise bad("`edits` must be a list of edits", "edits")
    try:
        texts.update(apply(texts, edits))
    except EditError as exc:
        raise bad(str(exc), "edits") from None
    return texts


def compile_texts(texts: Mapping[str, str], env: Mapping[str, str], mode: str) -> Compiled:
    sources: list[Source] = []
    diags: list[Diagnostic] = []
    for rel in sorted(texts):
        source, found = load_bytes(texts[rel].encode(), rel, rel)
        sources.append(source)
        diags.extend(found)
    return compile_prepared(prepare_sources(sources, diags), env, "build" if mode == "build" else "check")


def report(result: Compiled) -> dict[str, Any]:
    records = as_records(result.diagnostics)
    counts = {s: sum(1 for d in result.diagnostics if d.severity == s) for s in ("error", "warning", "info")}
    return {"ok": not has_errors(result.diagnostics), "diagnostics": records, "summary": counts}


def diff(folder: Folder, texts: Mapping[str, str], result: Compiled) -> tuple[list[str], str]:
    """The files `texts` changes and their unified diff, both sides with secrets hidden."""
    raw = folder.texts()
    changed = sorted(rel for rel, text in texts.items() if raw.get(rel) != text)
    before, texts = folder.shown(), hide(texts, result.diagnostics)
    parts = [
        "".join(
            difflib.unified_diff(
                before.get(rel, "").splitlines(True),
                texts[rel].splitlines(True),
                f"a/{rel}" if rel in before else "/dev/null",
                f"b/{rel}",
            )
        )
        for rel in changed
    ]
    return changed, "".join(parts)


def read(folder: Folder, out: Path) -> Answer:
    reason = folder.read_only(out)
    files = [
        {"path": rel, "sha256": _digest(data), "text": text}
        for (rel, data), text in zip(folder.raw.items(), folder.shown().values(), strict=True)
    ]
    return 200, {
        "dir": str(folder.root),
        "etag": folder.etag,
        "writable": reason is None,
        "read_only_reason": reason,
        "files": files,
        "outline": outline(folder.shown()),
    }


def stale(folder: Folder, request: Mapping[str, Any]) -> None:
    etag = request.get("etag")
    if not isinstance(etag, str) or not etag:
        raise bad("a save needs the `etag` of the files it was made from (GET /admin/definitions)", "etag")
    if etag == folder.etag:
        return
    given = request.get("bases")
    bases: dict[str, Any] = given if isinstance(given, dict) else {}
    now = {rel: _digest(data) for rel, data in folder.raw.items()}
    changed = sorted(rel for rel in set(now) | set(bases) if now.get(rel) != bases.get(rel))
    what = ", ".join(changed) if bases and changed else "the files"
    raise Refused(
        409,
        "conflict_error",
        f"the definitions changed since you loaded them ({what}); nothing was saved: reload, then edit again",
        changed=changed if bases else [],
        etag=folder.etag,
    )


def targets(folder: Folder, changed: list[str]) -> dict[str, Path]:
    """Where each changed file goes, every one checked before anything is written: inside the
    folder after symlinks resolve, and not a link itself (a rename would replace the link)."""
    root = folder.root.resolve()
    found: dict[str, Path] = {}
    for rel in changed:
        target = folder.root / rel
        parent = target.parent
        while not parent.exists():
            parent = parent.parent
        if not parent.resolve().is_relative_to(root) or target.is_symlink():
            raise bad(f"{rel} leads outside the definitions folder", "files")
        found[rel] = target
    return found


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """One save at a time over the folder, across a relay's workers: an advisory lock on the
    folder itself (no lock file is written into it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        raise Refused(404, "not_found_error", f"the definitions folder {folder} is not there") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def save(folder: Folder, out: Path, texts: Mapping[str, str], env: Mapping[str, str]) -> Answer:
    result = compile_texts(texts, env, "build")
    changed, patch = diff(folder, texts, result)
    reason = folder.read_only(out)
    if reason is not None:
        raise Refused(
            403,
            "permission_error",
            f"cannot save: {reason}; download the diff and apply it where the definitions are kept",
            diff=patch,
        )
    if result.artifact is None:
        raise Refused(
            422, "invalid_request_error", "the build refused the draft; nothing was written", **report(result)
        )
    paths = targets(folder, changed)
    try:
        for rel, target in paths.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, texts[rel].encode())
        write_build(result, folder.root, out)
    except OSError as exc:
        for rel, target in paths.items():
            if rel in folder.raw:
                write_atomic(target, folder.raw[rel])
            else:
                target.unlink(missing_ok=True)
        raise Refused(
            500, "api_error", f"cannot save: {exc.strerror or exc}; the files were restored"
        ) from None
    written = Folder.read(folder.root)
    return 200, {"etag": written.etag, "written": changed, "diff": patch, **report(result)}


def check(folder: Folder, texts: Mapping[str, str], env: Mapping[str, str]) -> Answer:
    result = compile_texts(texts, env, "check")
    return 200, {"etag": folder.etag, "changed": diff(folder, texts, result)[0], **report(result)}


def preview(folder: Folder, out: Path, texts: Mapping[str, str], env: Mapping[str, str]) -> Answer:
    """As check, compiled as a build would be, with the diff and the changed files' new text."""
    result = compile_texts(texts, env, "build")
    changed, patch = diff(folder, texts, result)
    shown = {**folder.shown(), **hide(texts, result.diagnostics)}
    return 200, {
        "etag": folder.etag,
        "changed": changed,
        "diff": patch,
        "files": {rel: shown[rel] for rel in changed},
        "outline": outline(shown),
        "writable": folder.read_only(out) is None,
        **report(result),
    }


def handle(request: Mapping[str, Any], env: Mapping[str, str]) -> Answer:
    """One request, `action` one of read, check, preview, save."""
    try:
        action = request.get("action")
        root, out = Path(str(request["dir"])), Path(str(request["out"]))
        if action == "read":
            return read(Folder.read(root), out)
        if action not in ("check", "preview", "save"):
            raise bad(f"unknown action {action!r}")
        if action != "save":
            folder = Folder.read(root)
            texts = draft(folder, request)
            return check(folder, texts, env) if action == "check" else preview(folder, out, texts, env)
        with locked(root):
            folder = Folder.read(root)
            stale(folder, request)
            return save(folder, out, draft(folder, request), env)
    except Refused as exc:
        return exc.answer()
