"""The extras table (`runtime.extras`) against pyproject.toml and the artifact's settings."""

from __future__ import annotations

import tomllib
from pathlib import Path

from runtime import extras
from runtime.artifact import Cloud, Provider, Server, UsageStore

REPO = Path(__file__).resolve().parents[2]


def test_every_extra_in_the_table_is_a_pip_extra_that_brings_its_module() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(declared) == {e.name for e in extras.ALL} | {"all", "test"}
    for extra in extras.ALL:
        (requirement,) = declared[extra.name]
        assert requirement.split("[")[0].split(">")[0].replace("-", ".") in extra.module.replace("-", ".")
    assert declared["all"] == ["relay[" + ",".join(e.name for e in extras.ALL) + "]"]


def test_ci_installs_every_extra() -> None:
    """requirements/all.txt is what CI installs: every optional part is exercised there."""
    assert [e.module for e in extras.ALL if not e.installed()] == []


def _provider(api: str, credentials: str | None) -> Provider:
    cloud = None if credentials is None else Cloud(credentials=credentials)  # type: ignore[arg-type]
    return Provider(
        name="p",
        api=api,
        base_url="https://x.invalid",
        module="p",
        rate_limit_family="openai",
        cloud=cloud,  # type: ignore[arg-type]
    )


def test_only_credentials_from_a_cloud_chain_need_the_cloud_library() -> None:
    assert extras.for_provider(_provider("openai", None)) is None
    assert extras.for_provider(_provider("bedrock", "keys")) is None
    assert extras.for_provider(_provider("bedrock", "aws-chain")) is extras.BEDROCK
    assert extras.for_provider(_provider("vertex", "google-adc")) is extras.VERTEX
    assert extras.for_provider(_provider("vertex", "google-service-account")) is extras.VERTEX
    assert extras.for_provider(_provider("azure", "entra-id")) is None


def test_redis_state_and_a_postgresql_store_need_their_extras() -> None:
    assert extras.for_server(Server()) == []
    assert extras.for_server(Server(usage=UsageStore(store="sqlite:///tmp/u.db"))) == []
    both = Server(state="redis://127.0.0.1:6379/0", usage=UsageStore(store="postgresql://h/db"))
    assert extras.for_server(both) == [
        ("server.state", extras.REDIS),
        ("server.usage.store", extras.POSTGRES),
    ]


def test_a_dotted_module_whose_parent_is_absent_is_not_installed() -> None:
    assert not extras.Extra("x", "no_such_parent_pkg.child").installed()
