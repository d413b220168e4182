"""Routing rules through a real `relay run`: each condition sends a request to its rule's
chain (the fake upstream sees that chain's model), the response names the rule in
`x-relay-route`, the admin event and the metrics carry it; no rule matching leaves the
model name to decide. The shipped example routes Claude Code's background, long-context and
thinking turns to three chains, with the simulated providers (no keys).
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.claude_code import claude_code_body
from tests.e2e.conftest import UPSTREAM_KEYS
from tests.e2e.procs import REPO, FakeUpstream, Relay, served, wait_until

pytestmark = pytest.mark.e2e

CLIENT_KEYS = {"TEAM_KEY": "team-key-0123456789abcdef", "OPS_KEY": "ops-key-0123456789abcdef"}
DEFS = """\
version: 1
server:
  auth: {{keys: ["${{TEAM_KEY}}", "${{OPS_KEY}}"]}}
  usage: {{store: "sqlite:///{store}"}}
providers:
  up:
    api: anthropic
    base_url: {url}
    keys: ["${{UP_KEY_A}}"]
chains:
  claude: {{match: ["claude-*"], steps: [up/main-up]}}
  cheap: {{steps: [up/cheap-up]}}
  long: {{steps: [up/long-up]}}
  reasoning: {{steps: [up/reasoning-up]}}
  search: {{steps: [up/search-up]}}
  vision: {{steps: [up/vision-up]}}
  ops: {{steps: [up/ops-up]}}
  agent: {{steps: [up/agent-up]}}
rules:
  background: {{when: {{model: ["claude-haiku-*"]}}, chain: cheap}}
  ops-team: {{when: {{client_key: [OPS_KEY]}}, chain: ops}}
  sub-agent: {{when: {{headers: {{x-agent: "reviewer-*"}}}}, chain: agent}}
  long-context: {{when: {{input_tokens: {{above: 20000}}}}, chain: long}}
  web: {{when: {{tool_types: [web_search]}}, chain: search}}
  pictures: {{when: {{images: true}}, chain: vision}}
  thinking: {{when: {{thinking: true, stream: false}}, chain: reasoning}}
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("usage") / "usage.sqlite"


@pytest.fixture(scope="module")
def relay(fake: FakeUpstream, store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    env = {**UPSTREAM_KEYS, **CLIENT_KEYS}
    with served(tmp_path_factory.mktemp("rules"), DEFS.format(url=fake.url, store=store), env) as relay:
        yield relay


def _send(relay: Relay, body: dict[str, Any], key: str = "TEAM_KEY", **headers: str) -> httpx.Response:
    sent = {"x-api-key": CLIENT_KEYS[key], **headers}
    return httpx.post(relay.url + "/v1/messages", json=body, headers=sent, timeout=20)


def _plain(**extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-x",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "hi"}],
        **extra,
    }


IMAGE = {
    "type": "image",
    "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(b"p" * 300).decode()},
}
CASES: list[tuple[str, dict[str, Any], dict[str, str], str, str | None]] = [
    ("haiku", _plain(model="claude-haiku-4-5"), {}, "cheap-up", "background"),
    ("ops key", _plain(), {"key": "OPS_KEY"}, "ops-up", "ops-team"),
    ("agent header", _plain(), {"x-agent": "reviewer-2"}, "agent-up", "sub-agent"),
    ("long", _plain(messages=[{"role": "user", "content": "word " * 20000}]), {}, "long-up", "long-context"),
    (
        "web search",
        _plain(tools=[{"type": "web_search_20250305", "name": "web_search"}]),
        {},
        "search-up",
        "web",
    ),
    ("image", _plain(messages=[{"role": "user", "content": [IMAGE]}]), {}, "vision-up", "pictures"),
    ("thinking", _plain(thinking={"type": "adaptive"}), {}, "reasoning-up", "thinking"),
    ("thinking, streamed", _plain(thinking={"type": "adaptive"}, stream=True), {}, "main-up", None),
    ("none", _plain(tools=[{"name": "Bash", "input_schema": {"type": "object"}}]), {}, "main-up", None),
]


@pytest.mark.parametrize(("case", "body", "headers", "upstream", "route"), CASES, ids=[c[0] for c in CASES])
def test_the_first_matching_rule_picks_the_chain(
    relay: Relay,
    fake: FakeUpstream,
    case: str,
    body: dict[str, Any],
    headers: dict[str, str],
    upstream: str,
    route: str | None,
) -> None:
    fake.script()
    sent = dict(headers)
    resp = _send(relay, body, sent.pop("key", "TEAM_KEY"), **sent)
    assert resp.status_code == 200, resp.text
    assert [r["body"]["model"] for r in fake.requests()] == [upstream]
    assert resp.headers.get("x-relay-route") == route


def test_the_route_is_a_metrics_label_and_a_usage_column(
    relay: Relay, fake: FakeUpstream, store: Path
) -> None:
    fake.script()
    resp = _send(relay, _plain(model="claude-haiku-4-5"))
    assert resp.status_code == 200
    rid = resp.headers["request-id"]

    def row() -> tuple[str, str | None] | None:
        with sqlite3.connect(store) as conn:
            found = conn.execute("SELECT chain, route FROM usage WHERE request_id = ?", (rid,)).fetchone()
        return None if found is None else (found[0], found[1])

    wait_until(lambda: row() is not None, "the usage row")
    assert row() == ("cheap", "background")
    metrics = httpx.get(
        relay.url + "/metrics", headers={"x-api-key": CLIENT_KEYS["TEAM_KEY"]}, timeout=10
    ).text
    line = next(
        m for m in metrics.splitlines() if m.startswith("relay_requests_total{") and 'route="background"' in m
    )
    assert 'chain="cheap"' in line


def test_the_example_routes_claude_codes_three_kinds_of_turn(examples: Relay) -> None:
    bodies = {
        "background": json.loads((REPO / "docs/requests/claude-code-background.json").read_text()),
        "thinking": json.loads((REPO / "docs/requests/claude-code-thinking.json").read_text()),
        "long-context": claude_code_body(messages=[{"role": "user", "content": "lorem ipsum " * 40_000}]),
    }
    chains = {
        "background": "claude-background",
        "thinking": "claude-reasoning",
        "long-context": "claude-long",
    }
    for route, body in bodies.items():
        resp = httpx.post(examples.url + "/v1/messages", json={**body, "stream": False}, timeout=30)
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-relay-route"] == route and resp.headers["x-relay-chain"] == chains[route]
        assert resp.headers["x-relay-provider"] == "sim-steady"
