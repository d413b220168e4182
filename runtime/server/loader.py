"""Loads one `relay build` output folder into an immutable `Snapshot`.

The manifest is the commit point: it is written last and lists a hash of every other
file, so a folder caught mid-build (new routing.json, old manifest) fails verification
and is refused instead of serving a half-written set. Generated provider modules are
imported under names unique to the build, so a reload never reuses stale code.

The committed files are environment-free (see `runtime.artifact`); `secrets.json` names
the routing.json it completes and carries what this machine's environment adds, which is
laid over it here (`runtime.server.overlay`), so the rest of the runtime reads one effective
artifact (`provider.enabled`, `key.fingerprint`, a base_url from `${VAR}`) and never
knows the difference. The snapshot's `redactor` knows every secret of the build.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TypeVar, cast

import msgspec

from runtime.artifact import FORMAT_VERSION, Artifact, Manifest, ModuleOverride, Provider, Secrets
from runtime.routes import Router
from runtime.routing.ratelimit import RateInfo
from runtime.server.browser import Guard
from runtime.server.chain_needs import ChainNeeds, needs_by_chain
from runtime.server.outbound import Outbound, outbound_by_provider
from runtime.server.overlay import OverlayError, apply
from runtime.server.redact import Redactor
from runtime.upstream.provider_module import ProviderModule

T = TypeVar("T")


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
    guard: Guard
    """What a page in a browser may make this build do (`server.hosts`, `server.cors`)."""
    needs: Mapping[str, ChainNeeds]
    """Per chain, what a request on it has to work out (`runtime.server.chain_needs`)."""
    outbound: Mapping[str, Outbound]
    """Per provider, its URLs and each key's headers (`runtime.server.outbound`)."""
    client_keys: tuple[bytes, ...] = field(default=())
    admin_keys: tuple[bytes, ...] = field(default=())
    redactor: Redactor = field(default_factory=lambda: Redactor(()))
    """Removes this build's secrets from upstream text before it reaches a client or the log."""
    source_dir: Path | None = None
    """The definitions folder the build came from (the manifest's `source_dir`), absolute;
    None when the build does not say. What the editor (`/admin/definitions`) edits."""

    def key_value(self, key_id: str) -> str | None:
        return self.secrets.keys.get(key_id)

    def client_key_ok(self, presented: str) -> bool:
        return _any_equal(presented, self.client_keys)

    def admin_key_ok(self, presented: str) -> bool:
        return _any_equal(presented, self.admin_keys)

    def client_key_name(self, presented: str | None) -> str | None:
        """The variable the presented client key came from (routing rules' `client_key`);
        every configured key is compared, so the time says nothing about which matched."""
        if presented is None:
            return None
        candidate, found = presented.encode(), None
        for key, name in zip(self.client_keys, self.secrets.client_key_names, strict=False):
            if hmac.compare_digest(candidate, key):
                found = name
        return found


def _any_equal(presented: str, known: tuple[bytes, ...]) -> bool:
    """Constant time in the presented value and in which configured key matches."""
    candidate = presented.encode()
    ok = False
    for key in known:
        ok |= hmac.compare_digest(candidate, key)
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


class _Resolved:
    """A generated module seen through this build's environment: the URLs and static
    headers it holds as written (`${VAR}` in a base_url or header) replaced by their values."""

    def __init__(self, module: ProviderModule, values: ModuleOverride) -> None:
        self._module = module
        self.NAME = module.NAME
        self.API = module.API
        self.FORMAT_VERSION = module.FORMAT_VERSION
        self.MESSAGES_URL = values.messages_url
        self.COUNT_TOKENS_URL = values.count_tokens_url
        self.CHAT_URL = values.chat_url
        self.RESPONSES_URL = values.responses_url
        self.MODELS_URL = values.models_url
        self.STATIC_HEADERS = values.static_headers

    def auth_headers(self, key: str) -> list[tuple[str, str]]:
        return self._module.auth_headers(key)

    def parse_rate_limits(self, headers: Mapping[str, str], now: float) -> RateInfo:
        return self._module.parse_rate_limits(headers, now)


def _load_modules(
    root: Path, providers: dict[str, Provider], tag: str, overrides: Mapping[str, ModuleOverride]
) -> dict[str, ProviderModule]:
    modules: dict[str, ProviderModule] = {}
    for name, provider in providers.items():
        module = _import_module(
            root / "providers" / f"{provider.module}.py", f"relay_gen_{tag}_{provider.module}"
        )
        if getattr(module, "FORMAT_VERSION", None) != FORMAT_VERSION:
            raise LoadError(f"providers/{provider.module}.py is from another relay version; rebuild")
        values = overrides.get(name)
        modules[name] = module if values is None else _Resolved(module, values)
    return modules


def _secrets(root: Path, manifest: Manifest) -> tuple[Secrets, bytes]:
    path = root / manifest.secrets_file
    if not path.exists():
        raise LoadError(
            f"{path} is missing: run `relay build` on this machine (it writes the keys and every "
            "value taken from the environment there, next to the committed files)"
        )
    data = _read(path)
    secrets = _decode(data, Secrets, path)
    _check_version(secrets.format_version, str(path))
    return secrets, data


def _effective(routing: bytes, secrets: Secrets, root: Path) -> Artifact:
    """routing.json with this environment's values laid over it."""
    path = root / "routing.json"
    if not secrets.overrides:
        return _decode(routing, Artifact, path)
    try:
        document = apply(msgspec.json.decode(routing), secrets.overrides)
        return msgspec.convert(document, Artifact)
    except msgspec.DecodeError:
        raise LoadError(f"{path} is not valid JSON; rebuild it") from None
    except (OverlayError, msgspec.ValidationError) as exc:
        raise LoadError(f"secrets.json does not fit {path} ({exc}); rebuild") from None


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
    secrets, secrets_bytes = _secrets(root, manifest)
    if secrets.routing != manifest.files["routing.json"]:
        raise LoadError(f"{root}/secrets.json belongs to another build (a build in progress?); will retry")
    artifact = _effective(contents["routing.json"], secrets, root)
    _check_version(artifact.format_version, str(root / "routing.json"))
    tag = hashlib.sha256(manifest_bytes + b"\0" + secrets_bytes).hexdigest()[:12]
    modules = _load_modules(root, artifact.providers, tag, secrets.modules)
    known = [*secrets.keys.values(), *secrets.client_keys, *secrets.admin_keys, *secrets.redact]
    return Snapshot(
        artifact=artifact,
        secrets=secrets,
        modules=modules,
        manifest_hash=tag,
        router=Router(artifact),
        guard=Guard(artifact.server),
        client_keys=tuple(k.encode() for k in secrets.client_keys),
        admin_keys=tuple(k.encode() for k in secrets.admin_keys),
        redactor=Redactor(known),
        source_dir=(root / manifest.source_dir).resolve() if manifest.source_dir else None,
        needs=needs_by_chain(artifact),
        outbound=outbound_by_provider(artifact, modules, secrets),
    )
