"""Loads one `relay build` output folder into an immutable `Snapshot`.

The manifest is the commit point: it is written last and lists a hash of every other
file, so a folder caught mid-build (new routing.json, old manifest) fails verification
and is refused instead of serving a half-written set. Generated provider modules are
imported under names unique to the manifest hash, so a reload never reuses stale code.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TypeVar, cast

import msgspec

from runtime.artifact import FORMAT_VERSION, Artifact, Manifest, Provider, Secrets
from runtime.provider_module import ProviderModule
from runtime.routes import Router

T = TypeVar("T")

ROOT_ENV = "RELAY_GENERATED_DIR"
"""How `relay run` tells each worker which build folder to serve."""


class LoadError(Exception):
    """The folder does not hold a usable artifact; the message says what to do."""


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Everything a request needs from the build, captured once per load."""

    artifact: Artifact
    secrets: Secrets
    modules: dict[str, ProviderModule]
    manifest_hash: str
    router: Router
    client_keys: tuple[bytes, ...] = field(default=())

    def key_value(self, key_id: str) -> str | None:
        return self.secrets.keys.get(key_id)

    def client_key_ok(self, presented: str) -> bool:
        """Constant time in the presented value and in which configured key matches."""
        candidate = presented.encode()
        ok = False
        for known in self.client_keys:
            ok |= hmac.compare_digest(candidate, known)
        return ok


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read {path}: {exc.strerror}; run `relay build` to create it") from None


def _check_version(found: int, what: str) -> None:
    if found != FORMAT_VERSION:
        raise LoadError(
            f"{what} has format version {found}, this relay reads version {FORMAT_VERSION}: "
            "rebuild it with this relay's `relay build`"
        )


def _decode(data: bytes, type_: type[T], path: Path) -> T:
    try:
        return msgspec.json.decode(data, type=type_)
    except msgspec.ValidationError as exc:
        raise LoadError(f"{path} is not a valid relay artifact ({exc}); rebuild it") from None
    except msgspec.DecodeError:
        raise LoadError(f"{path} is not valid JSON; rebuild it") from None


def _import_module(path: Path, unique: str) -> ProviderModule:
    spec = importlib.util.spec_from_file_location(unique, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"cannot import {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # generated code that fails to import is a broken artifact
        raise LoadError(f"{path} failed to import ({type(exc).__name__}: {exc}); rebuild it") from None
    return cast(ProviderModule, module)


def _load_modules(root: Path, providers: dict[str, Provider], tag: str) -> dict[str, ProviderModule]:
    modules: dict[str, ProviderModule] = {}
    for name, provider in providers.items():
        module = _import_module(
            root / "providers" / f"{provider.module}.py", f"relay_gen_{tag}_{provider.module}"
        )
        if getattr(module, "FORMAT_VERSION", None) != FORMAT_VERSION:
            raise LoadError(f"providers/{provider.module}.py is from another relay version; rebuild")
        modules[name] = module
    return modules


def manifest_stamp(root: Path) -> tuple[int, int, int] | None:
    """A cheap change detector for the watcher: (inode, size, mtime) of the manifest."""
    try:
        st = os.stat(root / "manifest.json")
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def load(root: Path) -> Snapshot:
    """Load and verify `root`; raises LoadError with an actionable message."""
    manifest_bytes = _read(root / "manifest.json")
    manifest = _decode(manifest_bytes, Manifest, root / "manifest.json")
    _check_version(manifest.format_version, str(root / "manifest.json"))
    contents: dict[str, bytes] = {}
    for rel, digest in sorted(manifest.files.items()):
        data = _read(root / rel)
        if _sha256(data) != digest:
            raise LoadError(f"{root / rel} does not match manifest.json (a build in progress?); will retry")
        contents[rel] = data
    if "routing.json" not in contents:
        raise LoadError(f"{root}/manifest.json lists no routing.json; rebuild")
    artifact = _decode(contents["routing.json"], Artifact, root / "routing.json")
    _check_version(artifact.format_version, str(root / "routing.json"))
    secrets_path = root / manifest.secrets_file
    secrets = (
        _decode(_read(secrets_path), Secrets, secrets_path)
        if secrets_path.exists()
        else Secrets(format_version=FORMAT_VERSION, keys={})
    )
    tag = hashlib.sha256(manifest_bytes).hexdigest()[:12]
    modules = _load_modules(root, artifact.providers, tag)
    return Snapshot(
        artifact=artifact,
        secrets=secrets,
        modules=modules,
        manifest_hash=tag,
        router=Router(artifact),
        client_keys=tuple(k.encode() for k in secrets.client_keys),
    )
