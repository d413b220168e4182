"""Settings that need an optional part of relay (a pip extra) not installed where relay builds.

The same install that builds is the one that serves, so a missing extra is an error here, at the
setting that needs it, with the `pip install` line that fixes it; `relay run` asks the same
table (`runtime.extras`) for builds made elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping

import runtime.extras as extras
from compiler import codes
from compiler.context import Context
from runtime.artifact import Provider, Server

_SETTING_PATH = {"server.state": ["server", "state"], "server.usage.store": ["server", "usage", "store"]}


def check_extras(ctx: Context, providers: Mapping[str, Provider], server: Server) -> None:
    for name, provider in sorted(providers.items()):
        extra = extras.for_provider(provider)
        if extra is not None and not extra.installed():
            ctx.report(
                codes.MISSING_EXTRA,
                ["providers", name, "api"],
                f"provider {name!r} has no keys, so its credentials come from "
                f"{provider.cloud.credentials if provider.cloud else provider.api}, which needs "
                f"relay[{extra.name}] ({extra.module}), not installed here",
                f"{extra.install}, or give the provider keys:",
            )
    for setting, extra in extras.for_server(server):
        if not extra.installed():
            ctx.report(
                codes.MISSING_EXTRA,
                _SETTING_PATH[setting],
                f"{setting} needs relay[{extra.name}] ({extra.module}), not installed here",
                extra.install,
            )
