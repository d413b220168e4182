"""The URLs and headers the loader lays out per provider and key are what each request
used to work out from the provider's module, the key's value and the request's format."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from runtime.artifact import Key, Provider, Secrets
from runtime.errors import WireFormat
from runtime.routing.ratelimit import RateInfo
from runtime.server.loader import load
from runtime.server.outbound import key_slot, outbound
from runtime.server.service import with_query
from runtime.upstream.provider_module import ProviderModule
from tests.routing.routing_helpers import key, provider
from tests.runtime.test_loader import build

FORMATS: tuple[WireFormat, ...] = ("anthropic", "openai", "responses")


@dataclass
class Module:
    """A generated provider module's surface, any values."""

    MESSAGES_URL: str | None
    CHAT_URL: str | None
    RESPONSES_URL: str | None
    STATIC_HEADERS: tuple[tuple[str, str], ...]
    auth: str
    NAME: str = "p"
    API: str = "openai"
    FORMAT_VERSION: int = 0
    COUNT_TOKENS_URL: str | None = None
    MODELS_URL: str | None = None

    def auth_headers(self, key: str) -> list[tuple[str, str]]:
        if self.auth == "none":
            return []
        if self.auth == "bearer":
            return [("authorization", "Bearer " + key)]
        return [(self.auth, key)]

    def parse_rate_limits(self, headers: Mapping[str, str], now: float) -> RateInfo:
        raise AssertionError("not asked here")


class Case(NamedTuple):
    """One request's provider, key and format, with what decides its URL's query string."""

    prov: Provider
    module: ProviderModule
    secrets: Secrets
    key: Key | None
    target: WireFormat
    query: str = ""
    same: bool = False


def per_request(c: Case) -> tuple[str, list[tuple[str, str]]]:
    """What `Service.open` and `request_headers` computed on every request before."""
    if c.prov.api == "simulated":
        url = f"simulated:{c.target}"
    else:
        module = c.module
        urls = {
            "anthropic": module.MESSAGES_URL,
            "openai": module.CHAT_URL,
            "responses": module.RESPONSES_URL,
        }
        url = urls[c.target] or ""
        if c.same:
            url = with_query(url, c.query)
    headers: list[tuple[str, str]] = []
    headers.extend(c.module.STATIC_HEADERS)
    if c.key is not None:
        value = c.secrets.keys.get(c.key.id)
        if value is not None:
            headers.extend(c.module.auth_headers(value))
    return url, headers


def laid_out(c: Case) -> tuple[str, list[tuple[str, str]]]:
    """What they compute now, on the loaded `Outbound` (`Service.open`'s lines)."""
    out = outbound(c.prov, c.module, c.secrets)
    url = out.urls[c.target]
    if c.query and out.query and c.same:
        url = with_query(url, c.query)
    return url, list(out.headers[key_slot(c.key)])


text = st.text("abc/:?=&", max_size=6)
modules = st.builds(
    Module,
    MESSAGES_URL=st.none() | text,
    CHAT_URL=st.none() | text,
    RESPONSES_URL=st.none() | text,
    STATIC_HEADERS=st.lists(st.tuples(text, text), max_size=2).map(tuple),
    auth=st.sampled_from(["none", "bearer", "x-api-key"]),
)


@given(
    modules,
    st.sampled_from(["openai", "anthropic", "simulated"]),
    st.lists(st.booleans(), max_size=3),
    st.sampled_from(FORMATS),
    text,
    st.booleans(),
)
def test_laid_out_urls_and_headers_are_the_per_request_ones(
    module: Module, api: str, has_value: list[bool], target: WireFormat, query: str, same: bool
) -> None:
    keys = tuple(key("p", f"k{i}") for i in range(len(has_value)))
    prov = msgspec.structs.replace(provider("p", keys), api=api)
    secrets = Secrets(
        format_version=1, routing="", keys={k.id: f"v{i}" for i, k in enumerate(keys) if has_value[i]}
    )
    for k in keys or (None,):
        case = Case(prov, module, secrets, k, target, query, same)
        assert laid_out(case) == per_request(case)


def test_a_loaded_build_lays_out_every_provider_and_key(tmp_path: Path) -> None:
    build(tmp_path / "artifact")
    snap = load(tmp_path / "artifact")
    assert snap.outbound.keys() == snap.artifact.providers.keys()
    for name, prov in snap.artifact.providers.items():
        module = snap.modules[name]
        for k in prov.keys or (None,):
            for target in FORMATS:
                url, headers = per_request(Case(prov, module, snap.secrets, k, target))
                assert snap.outbound[name].urls[target] == url
                assert list(snap.outbound[name].headers[key_slot(k)]) == headers
