"""The dashboard in Debian's headless Chromium against a real `relay run` and a fake
upstream: the Live page shows the example chains, traffic moves the counts and the feed,
an upstream answering 429 shows as cooling, the test console streams an answer and names
the provider, a wrong admin key gets a message; no console errors. Screenshots land in
$RELAY_TEST_ARTIFACTS/ui (default /tmp/relay-test-artifacts/ui)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.fake_upstream import whole_answer
from tests.e2e.procs import FakeUpstream, Relay, openai_client
from tests.faces import fixtures
from tests.faces.browser import Tab, tab
from tests.faces.stack import ADMIN_KEY, faces_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Relay, FakeUpstream]]:
    with faces_stack(tmp_path_factory.mktemp("faces")) as pair:
        yield pair


@pytest.fixture
def page(browser: Any) -> Iterator[Tab]:
    with tab(browser) as opened:
        yield opened


def signed_in(t: Tab, relay: Relay, page: str = "live") -> None:
    t.page.goto(f"{relay.url}/ui#{page}")
    t.page.wait_for_selector("#key-overlay", state="visible")
    t.page.fill("#key-input", ADMIN_KEY)
    t.page.click("#key-form button")
    t.page.wait_for_selector("#key-overlay", state="hidden")
    t.page.wait_for_selector("#conn.ok")  # the state was read with the key
    assert all("401" in e for e in t.errors), t.errors
    t.errors.clear()  # the tries without a key before it was typed; anything after counts


def text(t: Tab, selector: str) -> str:
    return str(t.page.inner_text(selector))


def test_a_wrong_admin_key_gets_a_message_and_a_second_chance(
    stack: tuple[Relay, FakeUpstream], page: Tab
) -> None:
    relay, _ = stack
    page.page.goto(f"{relay.url}/ui")
    page.page.wait_for_selector("#key-overlay", state="visible")
    assert "asks for an admin key" in text(page, "#key-message")
    page.page.fill("#key-input", "not-the-admin-key-at-all")
    page.page.click("#key-form button")
    page.page.wait_for_selector("#key-message:has-text('refused')")
    page.shot("wrong-key")
    assert text(page, "#conn") == "admin key needed"
    page.page.fill("#key-input", ADMIN_KEY)
    page.page.click("#key-form button")
    page.page.wait_for_selector("article.chain")
    assert all("401" in e for e in page.errors), page.errors


def test_a_401_for_a_request_sent_before_the_key_was_typed_keeps_the_key(
    stack: tuple[Relay, FakeUpstream], page: Tab
) -> None:
    """A poll sent without a key whose 401 lands after the key was typed (a slow answer, a
    busy machine) once threw the new key away: the page went back to asking for it and
    never refreshed again. Here every keyless state read is held until after sign-in."""
    relay, _ = stack
    held: list[Any] = []

    def hold_keyless(route: Any) -> None:
        if "authorization" in route.request.headers:
            route.continue_()
        else:
            held.append(route)

    page.page.route("**/admin/state", hold_keyless)
    signed_in(page, relay)  # the event stream's 401 asks for the key
    assert held, "the first state read went out without a key"
    with page.page.expect_response(
        lambda r: r.url.endswith("/admin/state") and "authorization" in r.request.headers
    ) as again:
        for route in held:
            route.continue_()  # the relay refuses them: 401, late
    assert again.value.status == 200
    assert page.page.evaluate("() => sessionStorage.getItem('relay.adminKey')") == ADMIN_KEY
    assert page.page.is_hidden("#key-overlay")
    assert text(page, "#conn").startswith("live")
    assert all("401" in e for e in page.errors), page.errors


def test_live_shows_the_example_chains_and_traffic_moves_counts_and_feed(
    stack: tuple[Relay, FakeUpstream], page: Tab
) -> None:
    relay, _ = stack
    signed_in(page, relay)
    names = page.page.eval_on_selector_all("article.chain", "els => els.map(e => e.dataset.chain)")
    assert {"claude", "free", "fake"} <= set(names)
    assert "no key set (GROQ_API_KEY)" in text(page, "article[data-chain=free]")
    client = openai_client(relay)
    for i in range(3):
        client.chat.completions.create(model="fake", messages=[{"role": "user", "content": f"count {i}"}])
    page.page.wait_for_selector("#seen:has-text('3')")
    page.page.wait_for_selector("#live-providers .win:has-text('3/30 rpm')")
    page.shot("live-after-traffic")
    page.page.click("nav a[data-page=requests]")
    page.page.wait_for_selector("#feed tbody tr[data-id]")
    assert len(page.page.query_selector_all("#feed tbody tr[data-id]")) == 3
    page.page.click("#feed tbody tr[data-id]")
    assert "fakeup/fake-model" in text(page, "#request-detail")
    page.shot("requests")
    assert page.errors == []


@pytest.mark.parametrize("fmt", ["chat", "responses"])
def test_the_test_console_streams_an_answer_and_names_the_provider(
    stack: tuple[Relay, FakeUpstream], page: Tab, fmt: str
) -> None:
    relay, fake = stack
    signed_in(page, relay, "console")
    fake.script({"text": "streamed from the fake upstream", "match": {"stream": True}})
    page.page.select_option("#console-format", fmt)
    page.page.fill("#console-model", "fake")
    page.page.fill("#console-prompt", "hello")
    page.page.click("#console-send")
    page.page.wait_for_selector("#console-meta[data-provider]", state="attached")
    assert page.page.get_attribute("#console-meta", "data-provider") == "fakeup"
    assert "streamed from the fake upstream" in text(page, "#console-out")
    meta = text(page, "#console-meta")
    assert "fake" in meta and "latency" in meta and "3 out" in meta
    page.shot(f"console-{fmt}")
    assert page.errors == []


def test_chains_page_explains_a_model_name_from_the_served_artifact(
    stack: tuple[Relay, FakeUpstream], page: Tab
) -> None:
    relay, _ = stack
    signed_in(page, relay, "chains")
    assert "sha256:" in text(page, "#artifact")
    page.page.fill("#explain-model", "claude-sonnet-4-6")
    page.page.click("#explain-form button")
    page.page.wait_for_selector("#explain-out:has-text('chain claude')")
    page.shot("chains")
    assert page.errors == []


def test_usage_shows_totals_charts_and_tables_from_the_usage_store(
    stack: tuple[Relay, FakeUpstream], page: Tab
) -> None:
    relay, fake = stack
    big = whole_answer("openai", "fake-up", "big")  # millions of tokens: wide y-axis labels
    big["usage"] = {"prompt_tokens": 5_000_000, "completion_tokens": 3, "total_tokens": 5_000_003}
    fake.script({"body": big})
    client = openai_client(relay)
    for _ in range(2):
        client.chat.completions.create(model="fake", messages=[{"role": "user", "content": "for usage"}])
    signed_in(page, relay, "usage")
    deadline = time.monotonic() + 15
    while "requests" not in text(page, "#usage-totals"):  # rows are written in batches, off the hot path
        assert time.monotonic() < deadline, text(page, "#usage-message")
        page.page.click("#usage-refresh")
        page.page.wait_for_selector("#usage-message:not(:empty), #usage-totals:not(:empty)", state="attached")
    page.page.wait_for_selector("#usage-chart .uplot")
    for split in ("provider", "chain"):  # over time per group: requests, success rate, latency
        for what in ("requests", "success", "latency"):
            page.page.wait_for_selector(f"#usage-{split}-{what} .uplot")
    assert "fakeup" in text(page, "#usage-provider-requests")
    assert "fakeup" in text(page, "#usage-providers")
    assert "fake" in text(page, "#usage-chains")
    assert "saved" in text(page, "#usage-totals")
    assert "this relay's store: " in text(page, "#usage-store") and "usage.sqlite" in text(
        page, "#usage-store"
    )
    left, label = page.page.evaluate(
        """() => {
          const ctx = document.createElement("canvas").getContext("2d");
          ctx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
          const over = document.querySelector("#usage-tokens-chart .u-over");
          return [parseFloat(over.style.left), ctx.measureText("5,000,000").width];
        }"""
    )
    assert left >= label + 10, (left, label)  # the y axis holds its longest label and the ticks
    page.shot("usage")
    assert page.errors == []


# Last: it leaves fakeup cooling for 40 s.
def test_an_upstream_answering_429_shows_as_cooling(stack: tuple[Relay, FakeUpstream], page: Tab) -> None:
    relay, fake = stack
    signed_in(page, relay)
    fake.script(
        {"status": 429, "headers": {"retry-after": "40"}, "body": {"error": {"message": "slow down"}}}
    )
    answer = httpx.post(
        relay.url + "/v1/chat/completions",
        json={"model": "fake", "messages": [{"role": "user", "content": "x"}]},
        timeout=20,
    )
    assert answer.headers["x-relay-provider"] == "sim-steady"
    step = "article[data-chain=fake] .step:first-child"
    page.page.wait_for_selector(f"{step}.st-cooling")
    assert "cooling" in text(page, step)
    first = text(page, f"{step} [data-until]")
    # Countdowns tick locally: the text changes between fetches.
    page.page.wait_for_selector(f"{step} [data-until]:not(:has-text('{first}'))")
    page.shot("cooling")
    assert page.errors == []


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("degraded", "State backend degraded"),
        ("no chains", "This relay serves 0 chains"),
        ("unreachable", "relay is not reachable"),
    ],
)
def test_bad_days_get_a_sentence_not_a_blank_page(
    stack: tuple[Relay, FakeUpstream], page: Tab, case: str, expected: str
) -> None:
    """Rendering only: the page's own files from the real relay, the API's answer replaced
    by a doc-shaped fixture (or refused), since a real relay cannot be made to serve 0 chains."""
    relay, _ = stack
    state = fixtures.state()
    if case == "degraded":
        state["state_backend"] = {"backend": "redis", "degraded": True}
    if case == "no chains":
        state["chains"] = []
    if case == "unreachable":
        page.page.route("**/admin/**", lambda route: route.abort())
    else:
        body = json.dumps(state)
        page.page.route(
            "**/admin/state",
            lambda route: route.fulfill(status=200, content_type="application/json", body=body),
        )
        page.page.route(
            "**/admin/events",
            lambda route: route.fulfill(status=200, content_type="text/event-stream", body=""),
        )
    page.page.goto(f"{relay.url}/ui")
    page.page.wait_for_selector(f"body:has-text('{expected}')")
    page.shot(f"bad-day-{case.replace(' ', '-')}")
    if case != "unreachable":  # an aborted fetch is a console error by design of the test
        assert page.errors == []
