"""Hot reload and graceful shutdown of a real `relay run`."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import anthropic
import httpx
import pytest

from tests.e2e.conftest import BASIC, UPSTREAM_KEYS, RelayFactory
from tests.e2e.procs import FakeUpstream, Relay, build, stop, wait_until, write_defs
from tests.e2e.sse import anthropic_tool_stream, stream_body

pytestmark = pytest.mark.e2e


def _reloads(relay: Relay) -> int:
    return int(httpx.get(relay.url + "/ready", timeout=5).json()["reloads"])


def _rebuild(relay: Relay, chains: Path, text: str) -> None:
    write_defs(chains, {"r.yaml": text})
    result = build(chains, relay.generated, UPSTREAM_KEYS)
    assert result.returncode == 0, result.stderr


def _variant(url: str, i: int) -> str:
    """Definition sets that differ in routing, so every rebuild is a real new artifact."""
    return BASIC.format(url=url).replace("first_byte: 2s", f"first_byte: {2 + i % 2}s", 1) + (
        f"  extra{i}:\n    steps: [oai_b/llama-extra-{i}]\n"
    )


def test_twenty_reloads_under_load_fail_no_request(
    fake: FakeUpstream, start_relay: RelayFactory, tmp_path: Path
) -> None:
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}) as relay:
        stop_load = threading.Event()
        results: list[int] = []

        def load() -> None:
            with httpx.Client(timeout=10) as client:
                for _ in range(5000):  # bounded; stopped by the event long before
                    if stop_load.is_set():
                        return
                    body = {"model": "free", "messages": [{"role": "user", "content": "x"}]}
                    try:
                        results.append(client.post(relay.url + "/v1/chat/completions", json=body).status_code)
                    except httpx.HTTPError:
                        results.append(-1)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        try:
            for i in range(20):
                before = _reloads(relay)
                _rebuild(relay, tmp_path / "chains", _variant(fake.url, i))
                wait_until(lambda before=before: _reloads(relay) > before, f"reload {i + 1}")
        finally:
            stop_load.set()
            for thread in threads:
                thread.join(30)
        assert _reloads(relay) == 20
        assert len(results) > 100 and set(results) == {200}, {s: results.count(s) for s in set(results)}
        assert (
            httpx.post(
                relay.url + "/v1/chat/completions",
                timeout=10,
                json={"model": "extra19", "messages": [{"role": "user", "content": "x"}]},
            ).status_code
            == 200
        )


def test_broken_artifact_is_refused_and_the_old_one_keeps_serving(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}) as relay:
        manifest = relay.generated / "manifest.json"
        manifest.write_text(
            manifest.read_text().replace('"routing.json": "sha256:', '"routing.json": "sha256:00')
        )
        wait_until(lambda: "reload refused" in relay.output(), "refusal logged", timeout=10)
        fake.script({})
        client = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
        assert client.messages.create(
            model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        ).content
        assert _reloads(relay) == 0


def test_cooldowns_survive_a_reload(fake: FakeUpstream, start_relay: RelayFactory, tmp_path: Path) -> None:
    rate = {
        "status": 429,
        "headers": {"retry-after": "60"},
        "body": {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
    }
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}) as relay:
        client = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
        fake.script(rate, {})
        client.messages.create(model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "x"}])
        _rebuild(relay, tmp_path / "chains", _variant(fake.url, 1))
        wait_until(lambda: _reloads(relay) == 1, "reload")
        fake.script({})
        raw = client.messages.with_raw_response.create(
            model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
        assert raw.headers["x-relay-provider"] == "anth_b"
        assert "anth_a/claude-up-a: rate limited" in raw.headers["x-relay-skipped"]


def test_sighup_reloads_when_polling_is_off(
    fake: FakeUpstream, start_relay: RelayFactory, tmp_path: Path
) -> None:
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}, env={"RELAY_RELOAD_POLL": "0"}) as relay:
        _rebuild(relay, tmp_path / "chains", _variant(fake.url, 3))
        assert _reloads(relay) == 0
        relay.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: _reloads(relay) == 1, "reload on SIGHUP")
        assert relay.proc.poll() is None


def test_sigterm_lets_a_running_stream_finish_then_exits_0(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    frames = anthropic_tool_stream("claude-up-a")
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}) as relay:
        fake.script({"frames": frames, "frame_delay": 0.2})
        body = stream_body("claude-x")
        with httpx.stream("POST", relay.url + "/v1/messages", json=body, timeout=20) as resp:
            parts = resp.iter_raw()
            data = next(parts)
            relay.proc.send_signal(signal.SIGTERM)
            data += b"".join(parts)
        assert data.endswith(b'data: {"type": "message_stop"}\n\n')
        assert stop(relay.proc) == 0
