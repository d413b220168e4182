"""`relay status` (a subprocess, as a user runs it) and `relay top` (Textual's headless
pilot) against a real `relay run` with the example chains and a fake upstream."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from textual.widgets import DataTable

from console.client import AdminClient
from console.top import RelayTop
from tests.e2e.procs import REPO, FakeUpstream, Relay, clean_env, free_port
from tests.faces.browser import ARTIFACTS
from tests.faces.stack import ADMIN_KEY, faces_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Relay, FakeUpstream]]:
    with faces_stack(tmp_path_factory.mktemp("terminal"), usage=False) as pair:
        yield pair


def relay_cli(*args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = clean_env({"COLUMNS": "220"})
    env.pop("RELAY_ADMIN_KEY", None)
    if key is not None:
        env["RELAY_ADMIN_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "compiler", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def chat(relay: Relay, model: str = "fake") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(relay.url + "/v1/chat/completions", json=body, timeout=20)


def test_status_shows_chains_steps_keys_and_windows(stack: tuple[Relay, FakeUpstream]) -> None:
    relay, _ = stack
    chat(relay).raise_for_status()
    done = relay_cli("status", "--url", relay.url, key=ADMIN_KEY)
    assert done.returncode == 0, done.stderr
    for expected in (
        "Chains",
        "free (failover)",
        "fakeup/fake-model",
        "disabled: no key set (GROQ_API_KEY)",
        "/30 rpm",
    ):
        assert expected in done.stdout, (expected, done.stdout)


def test_status_watch_refreshes_until_stopped(stack: tuple[Relay, FakeUpstream]) -> None:
    relay, _ = stack
    env = clean_env({"COLUMNS": "220", "RELAY_ADMIN_KEY": ADMIN_KEY})
    proc = subprocess.Popen(
        [sys.executable, "-m", "compiler", "status", "--url", relay.url, "--watch", "0.3"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stopper = threading.Timer(30, proc.terminate)  # bounded: a silent process is ended, its output ends
    stopper.start()
    try:
        assert proc.stdout is not None
        seen = 0
        while seen < 2 and (line := proc.stdout.readline()):
            seen += line.startswith("Chains")
        assert seen == 2
    finally:
        stopper.cancel()
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize(
    ("where", "key", "message"),
    [
        ("relay", "wrong-admin-key-0123456789", "refused the admin key (401)"),
        ("relay", None, "refused the admin key (401)"),
        ("nowhere", ADMIN_KEY, "relay is not reachable at http://127.0.0.1:"),
    ],
)
def test_status_says_what_is_wrong_in_one_line(
    stack: tuple[Relay, FakeUpstream], where: str, key: str | None, message: str
) -> None:
    url = stack[0].url if where == "relay" else f"http://127.0.0.1:{free_port()}"
    done = relay_cli("status", "--url", url, key=key)
    assert done.returncode == 1
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


async def until(pilot: object, check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await pilot.pause(0.05)  # type: ignore[attr-defined]


def cells(app: RelayTop, table: str) -> list[str]:
    widget = app.query_one(table, DataTable)
    return [str(cell) for row in range(widget.row_count) for cell in widget.get_row_at(row)]


def test_top_shows_state_feed_and_answers_its_keys(stack: tuple[Relay, FakeUpstream]) -> None:
    relay, fake = stack

    async def scenario() -> None:
        app = RelayTop(AdminClient(relay.url, ADMIN_KEY), refresh_s=0.5)
        async with app.run_test(size=(220, 60)) as pilot:
            await until(pilot, lambda: app.state is not None, "state")
            await until(pilot, lambda: "usage" in str(app.query_one("#usage").render()), "usage line")
            assert str(app.query_one("#usage").render()) == "usage store not available"
            chains = cells(app, "#chains")
            assert "fake" in chains and "fakeup/fake-model" in chains and "free" in chains
            assert any("no key set (GROQ_API_KEY)" in c for c in chains)
            fake.script(
                {"status": 429, "headers": {"retry-after": "40"}, "body": {"error": {"message": "slow"}}}
            )
            await asyncio.to_thread(chat, relay)
            await asyncio.to_thread(chat, relay, "free")
            await until(pilot, lambda: len(app.feed) >= 2, "two requests in the feed")
            await until(pilot, lambda: any(c.startswith("cooling") for c in cells(app, "#chains")), "cooling")
            await pilot.pause(1.1)  # the feed table redraws on the next one-second tick
            assert {"fake", "free"} <= set(cells(app, "#feed"))
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "relay-top.svg").write_text(app.export_screenshot())

            await pilot.press("f")
            assert app.chain_filter == "claude"
            assert "free" not in cells(app, "#chains")
            await pilot.press("p")
            assert app.paused
            await asyncio.to_thread(chat, relay, "free")
            await until(pilot, lambda: app.held == 1, "a held request while paused")
            await pilot.press("r")
            await until(pilot, lambda: bool(app.last_reload), "reload outcome")
            assert app.last_reload.startswith("reload: unchanged"), app.last_reload
            await pilot.press("q")

    asyncio.run(scenario())
