"""`GET /metrics` of a real `relay run`, read with prometheus-client's own parser: counts by
chain, provider, format and status, bounded labels, admin access, and exact totals across
two workers sharing state through a real `redis-server`."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import BASIC, RelayFactory
from tests.e2e.procs import FakeUpstream, Relay, anthropic_client, openai_client, wait_until
from tests.routing.redis_server import RedisServer, running_redis

pytestmark = pytest.mark.e2e

ADMIN_KEY = "admin-key-0123456789abcdef"
CLIENT_KEY = "client-key-0123456789abcdef"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(relay: Relay, **headers: str) -> Samples:
    resp = httpx.get(relay.url + "/metrics", headers=headers, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def _chat(relay: Relay, model: str = "free") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(relay.url + "/v1/chat/completions", json=body, timeout=10)


DIRECT = BASIC + "server:\n  allow_direct: true\n"


@pytest.fixture
def relay(fake: FakeUpstream, start_relay: RelayFactory) -> Iterator[Relay]:
    fake.script()
    with start_relay({"relay.yaml": DIRECT.format(url=fake.url)}) as served:
        yield served


def test_requests_attempts_tokens_and_latency_are_counted(fake: FakeUpstream, relay: Relay) -> None:
    for _ in range(3):
        openai_client(relay).chat.completions.create(
            model="free", messages=[{"role": "user", "content": "hi"}]
        )
    for _ in range(2):
        anthropic_client(relay).messages.create(
            model="claude-x", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
    fake.script({"status": 503, "body": {"error": {"message": "busy"}}})
    openai_client(relay).chat.completions.create(model="free", messages=[{"role": "user", "content": "hi"}])

    got = scrape(relay)
    ok_free = value(
        got,
        "relay_requests_total",
        chain="free",
        provider="oai_a",
        format="openai",
        status="200",
        outcome="ok",
        route="",
    )
    ok_free += value(
        got,
        "relay_requests_total",
        chain="free",
        provider="oai_b",
        format="openai",
        status="200",
        outcome="ok",
        route="",
    )
    assert ok_free == 4
    assert (
        value(
            got,
            "relay_requests_total",
            chain="claude",
            provider="anth_a",
            format="anthropic",
            status="200",
            outcome="ok",
            route="",
        )
        == 2
    )
    failed = {
        dict(ls)["outcome"]: v
        for (n, ls), v in got.items()
        if n == "relay_attempts_total" and ("provider", "oai_a") in ls and ("outcome", "ok") not in ls
    }
    assert failed == {"overloaded": 1}
    assert total(got, "relay_attempts_total", outcome="ok") == 6
    assert value(got, "relay_tokens_total", provider="anth_a", model="claude-up-a", kind="input") == 20
    assert value(got, "relay_tokens_total", provider="anth_a", model="claude-up-a", kind="output") == 6
    assert value(got, "relay_request_latency_seconds_count", chain="free") == 4
    assert value(got, "relay_overhead_seconds_count") == 6
    assert ("relay_in_flight", frozenset()) in got
    wait_until(  # the usage writer's rows, counted at the next flush after it wrote them
        lambda: total(scrape(relay), "relay_usage_rows_total", result="written") == 6, "usage rows counted"
    )


def test_made_up_model_names_never_become_labels(fake: FakeUpstream, relay: Relay) -> None:
    assert _chat(relay, "oai_a/made-up-0").status_code == 200
    wait_until(  # the usage writer takes rows every 0.2 s: its series is there before comparing
        lambda: total(scrape(relay), "relay_usage_rows_total", result="written") == 1, "usage row counted"
    )
    assert _chat(relay, "no-such-chain-0").status_code == 404
    before = scrape(relay)
    for i in range(1, 6):
        assert _chat(relay, f"oai_a/made-up-{i}").status_code == 200
    assert _chat(relay, "no-such-chain-at-all").status_code == 404
    after = scrape(relay)
    assert set(after) == set(before), set(after) ^ set(before)
    assert not [k for k in after if any("made-up" in v or "no-such" in v for _, v in k[1])]
    assert (
        value(
            after,
            "relay_requests_total",
            chain="other",
            provider="oai_a",
            format="openai",
            status="200",
            outcome="ok",
            route="",
        )
        == 6
    )
    assert value(after, "relay_tokens_total", provider="oai_a", model="other", kind="output") > 0


def test_every_finished_request_is_counted_once_with_its_true_outcome(
    fake: FakeUpstream, relay: Relay
) -> None:
    """Issue 18: 404s for unknown models were not counted, and a stream broken after its
    content counted as a plain 200."""
    for _ in range(2):
        assert _chat(relay, "no-such-chain").status_code == 404
    fake.script({"error_after_text": "partial", "drop": True, "pause": 0})
    body = {"model": "free", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.stream("POST", relay.url + "/v1/chat/completions", json=body, timeout=10) as resp:
        assert resp.status_code == 200 and b"error" in resp.read()
    assert _chat(relay).status_code == 200
    labels = {"chain": "free", "format": "openai", "status": "200"}
    wait_until(lambda: total(scrape(relay), "relay_requests_total") == 4, "all four counted")
    got = scrape(relay)
    assert (
        value(
            got,
            "relay_requests_total",
            chain="other",
            provider="none",
            format="openai",
            status="404",
            outcome="error",
            route="",
        )
        == 2
    )
    assert total(got, "relay_requests_total", outcome="broken", **labels) == 1
    assert total(got, "relay_requests_total", outcome="ok", **labels) == 1


SECURED = (
    BASIC
    + """\
server:
  auth: {{keys: ["${{RELAY_API_KEY}}"]}}
  admin: {{keys: ["${{RELAY_ADMIN_KEY}}"]}}
"""
)


def test_metrics_need_an_admin_key_when_admin_keys_are_set(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    env = {"RELAY_API_KEY": CLIENT_KEY, "RELAY_ADMIN_KEY": ADMIN_KEY}
    with start_relay({"relay.yaml": SECURED.format(url=fake.url)}, env=env) as relay:
        for headers in ({}, {"x-api-key": CLIENT_KEY}, {"authorization": "Bearer wrong-admin-key-0123456"}):
            resp = httpx.get(relay.url + "/metrics", headers=headers, timeout=10)
            assert resp.status_code == 401, headers
            assert resp.json()["error"]["type"] in ("authentication_error", "invalid_request_error")
        assert (
            "relay_overhead_seconds"
            in httpx.get(relay.url + "/metrics", headers={"x-api-key": ADMIN_KEY}).text
        )
        scrape(relay, authorization=f"Bearer {ADMIN_KEY}")


SHARED = BASIC + "server:\n  state: {state}\n"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path) as server:
        yield server


def test_two_workers_count_every_request_exactly_once(
    fake: FakeUpstream, start_relay: RelayFactory, redis_server: RedisServer, tmp_path: Path
) -> None:
    fake.script()
    runs = tmp_path / "tmp"
    runs.mkdir()
    defs = {"relay.yaml": SHARED.format(url=fake.url, state=redis_server.url)}
    with start_relay(defs, "--workers", "2", env={"TMPDIR": str(runs)}) as relay:
        with ThreadPoolExecutor(16) as pool:
            replies = list(pool.map(lambda _: _chat(relay), range(60)))
        assert [r.status_code for r in replies] == [200] * 60
        (metrics_dir,) = runs.glob("relay-metrics-*")
        # both workers served and wrote their own counts (else this test proves nothing)
        wait_until(lambda: len(list(metrics_dir.glob("counter_*.db"))) == 2, "two workers' counter files")
        # the other worker's counts arrive with its next flush (within a second), then stay exact
        wait_until(lambda: total(scrape(relay), "relay_requests_total", chain="free") == 60, "both flushed")
        for _ in range(6):  # scrapes land on either worker: each one sums both
            got = scrape(relay)
            assert total(got, "relay_requests_total", chain="free") == 60
            assert value(got, "relay_request_latency_seconds_count", chain="free") == 60
    assert not metrics_dir.exists()


LIMITED = DIRECT.replace(
    '    keys: ["${{UP_KEY_O}}"]\n', '    keys: ["${{UP_KEY_O}}"]\n    limits: {{rpm: 5}}\n'
)


def test_state_gauges_show_windows_cooldowns_and_breakers(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    assert "limits" in LIMITED
    fake.script()
    with start_relay({"relay.yaml": LIMITED.format(url=fake.url)}) as relay:
        assert _chat(relay).status_code == 200
        got = scrape(relay)
        assert total(got, "relay_key_window_used", provider="oai_a", window="rpm") == 1
        assert total(got, "relay_key_window_limit", provider="oai_a", window="rpm") == 5
        assert total(got, "relay_key_window_remaining", provider="oai_a", window="rpm") == 4
        assert total(got, "relay_key_status", provider="oai_a", status="ready") == 1
        fake.script({"status": 429, "headers": {"retry-after": "30"}, "body": {"error": {"message": "slow"}}})
        assert _chat(relay).status_code == 200  # oai_b answers
        got = scrape(relay)
        assert total(got, "relay_key_status", provider="oai_a", status="cooling") == 1
        assert 20 < total(got, "relay_key_unavailable_seconds", provider="oai_a") <= 30
        assert value(got, "relay_breaker_state", provider="oai_a") == 0
        assert value(got, "relay_redis_degraded") == 0
        assert value(got, "relay_state_events_total", kind="cooldown_started", provider="oai_a") == 1
