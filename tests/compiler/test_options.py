"""Every option the schema accepts has an effect, or the compiler says it is not served yet.

The walker sets each option of `schemas/relay.schema.json` in turn on a small definition
set and compares the build with the one without it. An option passes when it changes a
field of the artifact that the runtime reads (checked mechanically: the field is accessed
somewhere in runtime/), or the generated provider module (which the runtime calls), or
draws a "not served yet" / "no effect" diagnostic (R215 / R220). A new option in the
schema fails `test_every_schema_option_has_a_variant` until it gets a row in VARIANTS.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import msgspec.inspect as mi
import pytest

from compiler.diagnostics import Part, pointer
from compiler.emit.render import render_provider
from compiler.emit.split import differences, plain
from compiler.pipeline import Compiled, compile_dir
from compiler.schema import schema
from runtime.artifact import Artifact
from tests.compiler.conftest import write_files

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
ENV = {"W_KEY": "w-upstream-key-0123456789", "W_KEY2": "w-upstream-key-9876543210", "W_CLIENT": "c" * 20}
BASE: dict[str, Any] = {
    "version": 1,
    "providers": {
        "up": {"api": "openai", "base_url": "https://api.example.com/v1", "keys": ["${W_KEY}"]},
        "sim": {"api": "simulated"},
    },
    "models": {"m": {"providers": {"up": "up-m", "sim": "sim-m"}}},
    "chains": {"main": {"steps": ["up/m", "sim/m"]}, "other": {"steps": ["sim/m"]}},
}
KEYED = {"key": "${W_KEY}"}

VARIANTS: dict[str, tuple[list[Part], Any]] = {
    ".chains.*.affinity.return_after": (["chains", "main", "affinity"], {"return_after": "5m"}),
    ".chains.*.match[]": (["chains", "main", "match"], ["gpt-*"]),
    ".chains.*.retry_wait": (["chains", "main", "retry_wait"], "3s"),
    ".chains.*.queue.max_depth": (["chains", "main", "queue"], {"max_depth": 3}),
    ".chains.*.queue.max_wait": (["chains", "main", "queue"], {"max_wait": "5s"}),
    ".chains.*.queue.retry_after_max": (["chains", "main", "queue"], {"retry_after_max": "60s"}),
    ".chains.*.steps[]": (["chains", "main", "steps"], ["sim/m", "up/m"]),
    ".chains.*.steps[].use": (["chains", "main", "steps"], [{"use": "sim/m"}, "up/m"]),
    ".chains.*.steps[].weight": (["chains", "main", "steps"], [{"use": "up/m", "weight": 3}, "sim/m"]),
    ".chains.*.strategy": (["chains", "main", "strategy"], "round-robin"),
    ".models.*.capabilities[]": (["models", "m", "capabilities"], ["tools"]),
    ".models.*.context": (["models", "m", "context"], 1000),
    ".models.*.cost.input": (["models", "m", "cost"], {"input": 1, "output": 0}),
    ".models.*.cost.output": (["models", "m", "cost"], {"input": 0, "output": 1}),
    ".models.*.providers.*": (["models", "m", "providers", "up"], "up-other"),
    ".models.*.providers.*.id": (["models", "m", "providers", "up"], {"id": "up-other"}),
    ".models.*.providers.*.cost.input": (
        ["models", "m", "providers", "up"],
        {"id": "up-m", "cost": {"input": 2, "output": 0}},
    ),
    ".models.*.providers.*.cost.output": (
        ["models", "m", "providers", "up"],
        {"id": "up-m", "cost": {"input": 0, "output": 2}},
    ),
    **{
        f".models.*.cost.{kind}": (["models", "m", "cost"], {"input": 1, "output": 1, kind: 0.1})
        for kind in ("cache_read", "cache_write")
    },
    **{
        f".models.*.providers.*.cost.{kind}": (
            ["models", "m", "providers", "up"],
            {"id": "up-m", "cost": {"input": 1, "output": 1, kind: 0.1}},
        )
        for kind in ("cache_read", "cache_write")
    },
    **{
        f".references.*.{field}": (
            ["references", "main"],
            {"input": 3, "output": 15, "date": "2026-11-01", field: value},
        )
        for field, value in (
            ("input", 2),
            ("output", 10),
            ("cache_read", 0.3),
            ("cache_write", 3.75),
            ("date", "2026-10-01"),
            ("source", "https://example.com/pricing"),
        )
    },
    **{
        f".rules.*.when.{option}": (["rules", "r"], {"when": when, "chain": "other"})
        for option, when in (
            ("model[]", {"model": ["gpt-*"]}),
            ("input_tokens.above", {"input_tokens": {"above": 10}}),
            ("input_tokens.below", {"input_tokens": {"below": 10}}),
            ("thinking", {"thinking": True}),
            ("tools", {"tools": True}),
            ("tool_types[]", {"tool_types": ["web_search"]}),
            ("images", {"images": True}),
            ("stream", {"stream": False}),
            ("headers.*", {"headers": {"x-team": "a*"}}),
        )
    },
    ".rules.*.chain": (["rules", "r"], {"when": {}, "chain": "other"}),
    ".providers.*.api": (["providers", "up", "api"], "anthropic"),
    ".providers.*.api_version": (["providers", "up", "api_version"], "2024-06-01"),
    ".providers.*.auth": (["providers", "up", "auth"], "x-api-key"),
    ".providers.*.base_url": (["providers", "up", "base_url"], "https://api2.example.com/v1"),
    ".providers.*.breaker.failures": (["providers", "up", "breaker"], {"failures": 2}),
    ".providers.*.breaker.open_for": (["providers", "up", "breaker"], {"open_for": "1m"}),
    ".providers.*.breaker.window": (["providers", "up", "breaker"], {"window": "1m"}),
    ".providers.*.credentials_file": (["providers", "up", "credentials_file"], "/etc/relay/sa.json"),
    ".providers.*.deployment.*": (["providers", "up", "deployment"], {"m": "dep"}),
    ".providers.*.headers.*": (["providers", "up", "headers"], {"x-team": "relay"}),
    ".providers.*.health.interval": (["providers", "up", "health"], {"interval": "30s"}),
    ".providers.*.keys[]": (["providers", "up", "keys"], ["${W_KEY}", "${W_KEY2}"]),
    ".providers.*.keys[].key": (["providers", "up", "keys"], [{"key": "${W_KEY2}"}]),
    ".providers.*.keys[].name": (["providers", "up", "keys"], [{**KEYED, "name": "main"}]),
    ".providers.*.keys[].account": (["providers", "up", "keys"], [{**KEYED, "account": "team"}]),
    **{
        f".providers.*.keys[].limits.{m}": (["providers", "up", "keys"], [{**KEYED, "limits": {m: 7}}])
        for m in ("rpm", "rpd", "tpm", "tpd", "concurrency")
    },
    **{
        f".providers.*.limits.{m}": (["providers", "up", "limits"], {m: 7})
        for m in ("rpm", "rpd", "tpm", "tpd", "concurrency")
    },
    ".providers.*.project": (["providers", "up", "project"], "p"),
    ".providers.*.rate_limit_headers": (["providers", "up", "rate_limit_headers"], "cerebras"),
    ".providers.*.region": (["providers", "up", "region"], "eu"),
    ".providers.*.simulate.call_tools": (["providers", "sim", "simulate"], {"call_tools": True}),
    ".providers.*.simulate.failure_rate": (["providers", "sim", "simulate"], {"failure_rate": 0.5}),
    ".providers.*.simulate.latency": (["providers", "sim", "simulate"], {"latency": "1s"}),
    ".providers.*.simulate.rpm": (["providers", "sim", "simulate"], {"rpm": 3}),
    ".providers.*.simulate.tokens_per_s": (["providers", "sim", "simulate"], {"tokens_per_s": 5}),
    **{
        f".providers.*.timeouts.{t}": (["providers", "up", "timeouts"], {t: "7s"})
        for t in ("connect", "first_byte", "stream_idle", "total")
    },
    ".server.admin.keys[]": (["server", "admin", "keys"], ["${W_CLIENT}"]),
    ".server.allow_direct": (["server", "allow_direct"], True),
    ".server.auth.keys[]": (["server", "auth", "keys"], ["${W_CLIENT}"]),
    ".server.default_chain": (["server", "default_chain"], "other"),
    ".server.listen": (["server", "listen"], "127.0.0.1:9999"),
    ".server.log.format": (["server", "log", "format"], "text"),
    ".server.log.level": (["server", "log", "level"], "debug"),
    ".server.log.prompts": (["server", "log", "prompts"], True),
    ".server.max_body_bytes": (["server", "max_body_bytes"], 4096),
    ".server.max_body_memory": (["server", "max_body_memory"], 4096),
    ".server.keepalive": (["server", "keepalive"], "5s"),
    ".server.drain": (["server", "drain"], "5s"),
    ".server.hosts[]": (["server", "hosts"], ["relay.example.com"]),
    ".server.cors.origins[]": (["server", "cors"], {"origins": ["https://chat.example.com"]}),
    **{
        f".server.connections.{c}": (["server", "connections"], {c: v})
        for c, v in (("header_timeout", "5s"), ("body_timeout", "5s"), ("max", 100))
    },
    ".server.state": (["server", "state"], "redis://127.0.0.1:6379/0"),
    ".server.usage.store": (["server", "usage"], {"store": "off"}),
    ".server.usage.retention": (["server", "usage"], {"retention": "7d"}),
    ".server.usage.queue": (["server", "usage"], {"queue": 100}),
    ".server.response_model.anthropic": (["server", "response_model"], {"anthropic": "served"}),
    ".server.response_model.openai": (["server", "response_model"], {"openai": "served"}),
    **{
        f".server.webhooks[].{field}": (
            ["server", "webhooks"],
            [{"url": "https://hooks.example.com/relay", "events": ["chain_exhausted"], **extra}],
        )
        for field, extra in (
            ("url", {}),
            ("events[]", {"events": ["breaker_opened", "key_marked_bad"]}),
            ("secret", {"secret": "${W_CLIENT}"}),
        )
    },
    **{
        f".server.timeouts.{t}": (["server", "timeouts"], {t: "7s"})
        for t in ("connect", "first_byte", "stream_idle", "total")
    },
}
EXEMPT = {
    ".version": "the one allowed value is 1: there is nothing to vary",
    ".rules.*.when.client_key[]": "needs server.auth.keys as well: tests/compiler/test_rules.py",
}
NOT_SERVED = {"R215", "R220"}
PROVENANCE = {("Artifact", "source_hash")}
"""Changes with every edit of the definitions: not an effect of the option."""
PENDING: set[tuple[str, str]] = set()
"""Fields the runtime will read once work in progress lands; they only have to reach the artifact."""
INFORMATIONAL = {
    ("Artifact", "sources"): "provenance for people reading routing.json",
    ("Provider", "rate_limit_family"): "for review; the generated module imports the parser",
    ("Server", "client_key_fingerprints"): "for review; the runtime compares the keys themselves",
    ("Cloud", "api_version"): "for review; compiled into the provider module's URLs",
    ("Cloud", "project"): "for review; compiled into the provider module's URLs",
    **{
        ("Price", kind): "read by Price.cost in artifact.py, the arithmetic the compiler's estimate shares"
        for kind in ("output", "cache_read", "cache_write")
    },
}
"""Artifact fields the runtime does not read, each with the reason it exists."""


def schema_options(node: dict[str, Any], path: str = "", seen: frozenset[str] = frozenset()) -> Iterator[str]:
    """Every leaf option of the schema as a path: `*` for any name, `[]` for list items."""
    defs = schema().get("$defs", {})
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from schema_options(defs[name], path, seen | {name})
        return
    if "anyOf" in node:
        for sub in node["anyOf"]:
            yield from schema_options(sub, path, seen)
        return
    if node.get("type") == "object":
        for name, sub in node.get("properties", {}).items():
            yield from schema_options(sub, f"{path}.{name}", seen)
        if isinstance(node.get("additionalProperties"), dict):
            yield from schema_options(node["additionalProperties"], f"{path}.*", seen)
        return
    if node.get("type") == "array":
        yield from schema_options(node.get("items", {}), f"{path}[]", seen)
        return
    yield path


def with_option(location: list[Part], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    node = data
    for part in location[:-1]:
        node = node.setdefault(part, {})
    node[location[-1]] = value
    return data


def build(tmp_path: Path, name: str, data: dict[str, Any]) -> Compiled:
    root = write_files(tmp_path / name, {"d.yaml": json.dumps(data)})
    result = compile_dir(root, ENV, "check")
    assert result.artifact is not None, [d for d in result.diagnostics if d.severity == "error"]
    return result


def fields_at(path: str) -> tuple[str, str] | None:
    """The struct field a JSON pointer into the artifact ends in, as (struct, field)."""
    kind: Any = mi.type_info(Artifact)
    last = None
    for part in [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]:
        while isinstance(kind, mi.UnionType):
            kind = next(t for t in kind.types if not isinstance(t, mi.NoneType))
        if isinstance(kind, mi.StructType):
            field = next(f for f in kind.fields if f.name == part)
            last, kind = (kind.cls.__name__, field.name), field.type
        elif isinstance(kind, mi.DictType):
            kind = kind.value_type
        elif isinstance(kind, mi.VarTupleType):
            kind = kind.item_type
    return last


@cache
def runtime_source() -> str:
    return "\n".join(p.read_text() for p in RUNTIME.rglob("*.py") if p.name != "artifact.py")


def read_by_runtime(struct_field: tuple[str, str]) -> bool:
    return bool(re.search(rf"\.{struct_field[1]}\b", runtime_source()))


def artifact_fields() -> Iterator[tuple[str, str]]:
    seen: set[type] = set()

    def walk(kind: Any) -> Iterator[tuple[str, str]]:
        if isinstance(kind, mi.StructType) and kind.cls not in seen:
            seen.add(kind.cls)
            for field in kind.fields:
                yield (kind.cls.__name__, field.name)
                yield from walk(field.type)
        for attr in ("types", "value_type", "item_type"):
            inner = getattr(kind, attr, None)
            for sub in inner if isinstance(inner, tuple) else [inner] if inner is not None else []:
                yield from walk(sub)

    yield from walk(mi.type_info(Artifact))


def test_every_schema_option_has_a_variant() -> None:
    options = set(schema_options(schema()))
    assert len(options) > 60
    assert sorted(options - set(VARIANTS) - set(EXEMPT)) == [], "add a row to VARIANTS"
    assert sorted(set(VARIANTS) - options) == []


def test_every_artifact_field_is_read_by_the_runtime_or_explained() -> None:
    unread = {f for f in artifact_fields() if not read_by_runtime(f)}
    assert sorted(unread - set(INFORMATIONAL) - PENDING) == []
    assert sorted(set(INFORMATIONAL) - unread) == [], "read now: remove it from INFORMATIONAL"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    return build(tmp_path_factory.mktemp("base"), "base", BASE)


@pytest.mark.parametrize("option", sorted(VARIANTS))
def test_option_has_an_effect_or_is_reported(option: str, base: Compiled, tmp_path: Path) -> None:
    location, value = VARIANTS[option]
    variant = build(tmp_path, "variant", with_option(location, value))
    assert base.artifact is not None and variant.artifact is not None
    changed = {
        field
        for path, _ in differences(plain(base.artifact), plain(variant.artifact), [])
        if (field := fields_at(path)) is not None and field not in PROVENANCE
    }
    modules = {
        n
        for n, p in variant.plans.items()
        if n in base.plans and render_provider(p) != render_provider(base.plans[n])
    }
    reported = {d.code for d in variant.diagnostics} - {d.code for d in base.diagnostics}
    read = {f for f in changed if read_by_runtime(f) or f in PENDING}
    assert read or modules or reported & NOT_SERVED, (
        f"{option} changes nothing the runtime reads ({sorted(changed)}) and is not reported as "
        "not served: implement it, or have the compiler say R215"
    )


def test_the_walker_notices_an_option_without_effect(base: Compiled, tmp_path: Path) -> None:
    """The check can fail: the same set built twice changes nothing and reports nothing."""
    again = build(tmp_path, "again", BASE)
    assert base.artifact is not None and again.artifact is not None
    assert list(differences(plain(base.artifact), plain(again.artifact), [])) == []
    assert pointer(["a/b"]) == "/a~1b" and fields_at("/providers/up/limits/rpm") == ("Limits", "rpm")
