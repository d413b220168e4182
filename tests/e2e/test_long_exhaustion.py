"""Claude Code rides out an exhausted chain: it retries only when `retry-after` is at most
60 s, so `queue.retry_after_max` caps what relay announces (the queue still holds a retry up
to `max_wait` when a step recovers within it). The exhaustion here lasts seconds (the upstream's 429 says 8 s, the cap is
2 s); the logic is the one a five-minute exhaustion with a 60 s cap goes through.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.claude_code import CLAUDE, INSTALL_HINT, run_claude
from tests.e2e.conftest import UPSTREAM_KEYS
from tests.e2e.procs import FakeUpstream, Relay, served

pytestmark = pytest.mark.e2e

DEFS = """\
version: 1
providers:
  up:
    api: anthropic
    base_url: {url}
    keys: ["${{UP_KEY_A}}"]
chains:
  claude:
    match: ["claude-*"]
    steps: [up/model-up]
    queue: {{max_wait: 1s, retry_after_max: 2s}}
"""


def exhausted(seconds: int = 8) -> dict[str, object]:
    """A 429 whose counter says the key is out for `seconds` from now: a stated limit that
    holds for every request (a bare retry-after refuses one request only, docs/availability.md)."""
    reset = (
        (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds").replace("+00:00", "Z")
    )
    return {
        "status": 429,
        "headers": {
            "retry-after": str(seconds),
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": reset,
        },
        "body": {"type": "error", "error": {"type": "rate_limit_error", "message": "exhausted"}},
    }


@pytest.fixture
def relay(fake: FakeUpstream, tmp_path: Path) -> Iterator[Relay]:
    with served(tmp_path / "relay", DEFS.format(url=fake.url), UPSTREAM_KEYS) as relay:
        yield relay


def test_the_exhausted_answer_announces_at_most_the_cap(relay: Relay, fake: FakeUpstream) -> None:
    fake.script(exhausted())
    body = {"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    first = httpx.post(relay.url + "/v1/messages", json=body, timeout=20)
    assert first.status_code == 429 and first.headers["retry-after"] == "2", first.headers
    again = httpx.post(relay.url + "/v1/messages", json=body, timeout=20)  # out for ~8 s: no wait helps
    assert again.status_code == 429 and again.headers["retry-after"] == "2"
    assert len(fake.requests()) == 1  # the cooling key is not called again


@pytest.mark.skipif(CLAUDE is None, reason=INSTALL_HINT)
def test_claude_code_rides_out_the_exhaustion_and_answers(
    relay: Relay, fake: FakeUpstream, tmp_path: Path
) -> None:
    fake.script(
        {**exhausted(), "match": {"stream": True}}, {"match": {"stream": True}, "text": "after the wait"}
    )
    result = run_claude(relay.url, tmp_path, "hello", env={"CLAUDE_CODE_MAX_RETRIES": "10"})
    assert result["is_error"] is False, result
    assert result["result"] == "after the wait"
    generations = [r for r in fake.requests() if r["path"].endswith("/messages")]
    assert len(generations) == 2  # the 429, then the answer once the key recovered
