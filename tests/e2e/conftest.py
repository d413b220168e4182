"""Fixtures for end-to-end tests: one fake upstream per module, a relay per definition set."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.e2e.procs import REPO, FakeUpstream, Relay, build, fake_upstream, relay_run, served, write_defs

UPSTREAM_KEYS = {
    "UP_KEY_A": "test-upstream-key-a",
    "UP_KEY_B": "test-upstream-key-b",
    "UP_KEY_O": "test-upstream-key-o",
}

BASIC = """\
version: 1
providers:
  anth_a:
    api: anthropic
    base_url: {url}
    keys: ["${{UP_KEY_A}}"]
    timeouts: {{first_byte: 2s, stream_idle: 2s}}
  anth_b:
    api: anthropic
    base_url: {url}
    keys: ["${{UP_KEY_B}}"]
    timeouts: {{first_byte: 2s, stream_idle: 2s}}
  oai_a:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_O}}"]
    timeouts: {{first_byte: 2s, stream_idle: 2s}}
  oai_b:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_B}}"]
    timeouts: {{first_byte: 2s, stream_idle: 2s}}
chains:
  claude:
    match: ["claude-*"]
    steps: [anth_a/claude-up-a, anth_b/claude-up-b]
  free:
    steps: [oai_a/llama-up-a, oai_b/llama-up-b]
"""


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with fake_upstream() as upstream:
        yield upstream


RelayFactory = Callable[..., AbstractContextManager[Relay]]


@pytest.fixture
def start_relay(tmp_path: Path) -> RelayFactory:
    """Build a definition set with `relay build` and serve it with `relay run`."""

    def start(
        defs: dict[str, str], *args: str, env: dict[str, str] | None = None
    ) -> AbstractContextManager[Relay]:
        full_env = {**UPSTREAM_KEYS, **(env or {})}
        chains = write_defs(tmp_path / "chains", defs)
        out = tmp_path / "generated"
        result = build(chains, out, full_env)
        assert result.returncode == 0, result.stdout + result.stderr
        return relay_run(out, *args, env=full_env)

    return start


@pytest.fixture(scope="module")
def basic_relay(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    """One relay for the many tests that only script the upstream."""
    with served(tmp_path_factory.mktemp("basic"), BASIC.format(url=fake.url), UPSTREAM_KEYS) as relay:
        yield relay


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    """The shipped chains/, built with no keys and served: the README's main job."""
    out = tmp_path_factory.mktemp("examples") / "generated"
    result = build(REPO / "chains", out)
    assert result.returncode == 0, result.stdout + result.stderr
    with relay_run(out) as relay:
        yield relay
