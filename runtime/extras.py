"""The optional parts of relay (pip extras), and which settings of a build need which.

The base install serves every provider that speaks HTTP with keys; the heavy libraries that only
some definitions use are extras, so a newcomer's virtualenv is a third of the full one. Both
sides ask this one table: the compiler to point at the exact setting that needs a missing extra
(R246), `relay run` to refuse a build made elsewhere in one line instead of a worker's
ImportError mid-request. Whether a module is installed is asked with `find_spec`, which imports
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec

from runtime.artifact import Provider, Server


class MissingExtra(Exception):
    """A build needs an extra this install lacks; the message names the `pip install` line."""


@dataclass(frozen=True, slots=True)
class Extra:
    name: str
    """The pip extra: `relay[name]`."""
    module: str
    """The top-level module it brings; present means installed."""

    @property
    def install(self) -> str:
        return f"pip install 'relay[{self.name}]'"

    def installed(self) -> bool:
        try:
            return find_spec(self.module) is not None
        except ImportError:  # the parent package of a dotted name (`google` of google.auth) is absent
            return False


BEDROCK = Extra("bedrock", "botocore")
VERTEX = Extra("vertex", "google.auth")
POSTGRES = Extra("postgres", "psycopg")
REDIS = Extra("redis", "redis")
TUI = Extra("tui", "textual")
ALL = (BEDROCK, VERTEX, POSTGRES, REDIS, TUI)

_BY_CREDENTIALS = {"aws-chain": BEDROCK, "google-adc": VERTEX, "google-service-account": VERTEX}


def for_provider(provider: Provider) -> Extra | None:
    """Keys sign with relay's own code; only credentials from a cloud's chain need its library."""
    return None if provider.cloud is None else _BY_CREDENTIALS.get(provider.cloud.credentials)


def for_server(server: Server) -> list[tuple[str, Extra]]:
    """(setting, extra) for each server setting whose value needs an extra."""
    needs: list[tuple[str, Extra]] = []
    if server.state != "memory":
        needs.append(("server.state", REDIS))
    if server.usage.store.startswith(("postgresql:", "postgres:")):
        needs.append(("server.usage.store", POSTGRES))
    return needs


def missing(providers: list[Provider], server: Server) -> list[str]:
    """One line per setting that needs an extra not installed here, with the line that fixes it."""
    lines = [
        f"provider {p.name} ({p.cloud.credentials if p.cloud else p.api}) needs relay[{extra.name}]: "
        f"{extra.install}"
        for p in providers
        if (extra := for_provider(p)) is not None and not extra.installed()
    ]
    lines += [
        f"{setting} needs relay[{extra.name}]: {extra.install}"
        for setting, extra in for_server(server)
        if not extra.installed()
    ]
    return lines
