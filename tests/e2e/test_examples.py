"""The README's main job: the shipped example chains, built with no keys, serve and fail over."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import anthropic
import openai
import pytest

from tests.e2e.procs import REPO, Relay, build, relay_run

pytestmark = pytest.mark.e2e


def test_free_chain_fails_over_from_the_exhausted_simulated_step(examples: Relay) -> None:
    client = openai.OpenAI(base_url=examples.url + "/v1", api_key="any", max_retries=0)
    served = []
    for _ in range(4):
        raw = client.chat.completions.with_raw_response.create(
            model="free", messages=[{"role": "user", "content": "hi"}]
        )
        served.append(raw.headers["x-relay-provider"])
        assert raw.parse().choices[0].message.content
    assert served == ["sim-burst"] * 3 + ["sim-steady"]
    assert "sim-burst/relay-demo" in raw.headers["x-relay-skipped"]
    assert "groq/llama-3.3-70b-versatile: disabled" in raw.headers["x-relay-skipped"]


def test_claude_code_style_stream_is_served_by_the_claude_chain(examples: Relay) -> None:
    client = anthropic.Anthropic(base_url=examples.url, api_key="any", max_retries=0)
    with client.messages.stream(
        model="claude-sonnet-5-5", max_tokens=64, messages=[{"role": "user", "content": "hello"}]
    ) as stream:
        message = stream.get_final_message()
    assert message.model == "claude-sonnet-5-5" and message.stop_reason == "end_turn"
    assert "sim-steady" in message.content[0].text  # type: ignore[union-attr]


def quickstart() -> str:
    """The README's Quickstart, exactly as a newcomer copies it."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Quickstart") :]
    return section[section.index("```python\n") + 10 : section.index("```\n", section.index("```python"))]


@pytest.mark.slow
def test_the_quickstart_shows_the_failover_every_time_it_is_run(tmp_path: Path) -> None:
    """Run twice, a minute apart (sim-burst's window), it prints the same: its messages are
    new each time, so affinity cannot pin a repeated conversation to sim-steady."""
    result = build(REPO / "chains", tmp_path / "generated")
    assert result.returncode == 0, result.stdout + result.stderr
    with relay_run(tmp_path / "generated") as relay:
        code = quickstart().replace("http://127.0.0.1:8787", relay.url)
        assert code != quickstart()
        runs = []
        for attempt in range(2):
            if attempt:
                time.sleep(61)  # sim-burst's rpm window, the wait the README asks for
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            runs.append([line.split(" | ")[0] for line in done.stdout.splitlines()])
    assert runs == [["sim-burst"] * 3 + ["sim-steady"]] * 2
