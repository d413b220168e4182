"""What the structured editor shows of a draft: its chains, providers and models as written
(names, steps, settings), read from the YAML itself, so it works while the draft does not
compile yet. Key values are never part of it: a provider shows how many keys it names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compiler.edit.roundtrip import EditError, load

CHAIN_SHOWN = ("strategy", "match", "queue")
PROVIDER_SHOWN = ("api", "base_url", "limits", "headers")


def plain(value: Any) -> Any:
    """A parsed YAML value as JSON (ruamel's commented types are dicts and lists)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _entries(document: Any, section: str) -> Mapping[str, Any]:
    found = document.get(section) if isinstance(document, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def outline(files: Mapping[str, str]) -> dict[str, Any]:
    """`{"chains": {...}, "providers": {...}, "models": [...], "unreadable": [...]}`."""
    chains: dict[str, Any] = {}
    providers: dict[str, Any] = {}
    models: list[str] = []
    unreadable: list[str] = []
    for rel in sorted(files):
        try:
            document = load(files[rel], rel)
        except EditError:
            unreadable.append(rel)
            continue
        for name, chain in _entries(document, "chains").items():
            if isinstance(chain, Mapping):
                shown = {k: plain(chain[k]) for k in CHAIN_SHOWN if k in chain}
                chains[str(name)] = {"file": rel, "steps": plain(chain.get("steps", [])), **shown}
        for name, provider in _entries(document, "providers").items():
            if isinstance(provider, Mapping):
                keys = provider.get("keys")
                shown = {k: plain(provider[k]) for k in PROVIDER_SHOWN if k in provider}
                providers[str(name)] = {
                    "file": rel,
                    "keys": len(keys) if isinstance(keys, list) else 0,
                    **shown,
                }
        models.extend(str(name) for name in _entries(document, "models"))
    return {"chains": chains, "providers": providers, "models": sorted(models), "unreadable": unreadable}
