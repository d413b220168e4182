"""The Chains page's editor in Debian's headless Chromium against a real `relay run` of a
copy of chains/ (docs/admin-api.md, /admin/definitions*): reorder the `free` chain, see
exactly that in the diff with every comment kept, save, and the next request follows the
new order; add a provider by environment reference; a YAML error shows on its line; a
stale save is refused with 409. Screenshots land in $RELAY_TEST_ARTIFACTS/ui."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.procs import REPO, Relay, served_by, served_copy
from tests.faces.browser import Tab, tab

pytestmark = pytest.mark.e2e

ORIGINAL = (REPO / "chains" / "chains.yaml").read_text()


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    with served_copy(tmp_path_factory.mktemp("editor-ui")) as running:
        yield running


@pytest.fixture
def page(browser: Any, relay: Relay) -> Iterator[Tab]:
    with tab(browser) as opened:
        opened.page.goto(f"{relay.url}/ui#chains")
        opened.page.wait_for_selector("#ed-steps li")
        yield opened


def chains_file(relay: Relay) -> Path:
    return relay.generated.parent / "chains" / "chains.yaml"


def steps(t: Tab) -> list[str]:
    return list(t.page.eval_on_selector_all("#ed-steps li span", "els => els.map(e => e.textContent)"))


def changed_lines(diff: str) -> list[str]:
    return [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_a_yaml_error_shows_its_diagnostic_on_its_line(relay: Relay, page: Tab) -> None:
    p = page.page
    p.select_option("#ed-file", "chains.yaml")
    lines = ORIGINAL.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.strip() == "strategy: failover")
    lines[at] = lines[at].replace("strategy", "stratgy")
    p.fill("#ed-yaml", "".join(lines))
    row = at + 1
    p.wait_for_selector(f"#ed-gutter span[data-line='{row}'].diag-error")
    diag = p.inner_text(f"#ed-diags li.error[data-line='{row}']")
    assert "R101" in diag and "stratgy" in diag and "strategy" in diag  # the hint: did you mean
    page.shot("editor-yaml-error")
    p.fill("#ed-yaml", "version: 1\nchains: {free: [\n")
    p.wait_for_selector("#ed-diags li.error:has-text('R008')")
    assert chains_file(relay).read_text() == ORIGINAL  # a draft is never written
    p.click("#ed-discard")
    p.wait_for_selector("#ed-check.good")
    assert page.errors == []


def test_reorder_free_preview_save_and_the_next_request_follows(relay: Relay, page: Tab) -> None:
    p = page.page
    assert served_by(relay, "free", "before the edit") == "sim-burst"
    assert steps(page)[4] == "sim-steady/demo"
    for index in (4, 3, 2, 1):  # sim-steady up to the front, one click at a time
        p.click(f"#ed-steps li[data-index='{index}'] button[data-move='-1']")
        p.wait_for_selector(f"#ed-steps li[data-index='{index - 1}'] span:text-is('sim-steady/demo')")
    assert steps(page) == [
        "sim-steady/demo",
        "groq/llama-70b",
        "cerebras/llama-70b",
        "openrouter/llama-70b",
        "sim-burst/demo",
    ]
    p.click("#ed-preview")
    p.wait_for_selector("#ed-result.good")
    diff = p.inner_text("#ed-diff")
    assert sorted(changed_lines(diff)) == ["+      - sim-steady/demo", "-      - sim-steady/demo"]
    draft = p.eval_on_selector("#ed-yaml", "el => el.value")
    comments = [line for line in ORIGINAL.splitlines() if line.lstrip().startswith("#")]
    assert all(line in draft.splitlines() for line in comments)
    assert p.eval_on_selector("#ed-file", "el => el.value") == "chains.yaml"
    assert "chains.yaml (changed)" in p.inner_text("#ed-file")
    page.shot("editor-reorder-preview")
    p.click("#ed-save")
    p.wait_for_selector("#ed-result.good:has-text('saved chains.yaml')")
    assert served_by(relay, "free", "after the edit") == "sim-steady"
    saved = chains_file(relay).read_text()
    assert (
        saved == draft
        and sum(a != b for a, b in zip(saved.splitlines(), ORIGINAL.splitlines(), strict=True)) == 5
    )
    assert page.errors == []


def test_add_a_provider_by_environment_reference(relay: Relay, page: Tab) -> None:
    p = page.page
    providers = relay.generated.parent / "chains" / "providers.yaml"
    before = providers.read_text()
    p.fill("#ed-prov-name", "mistral")
    p.select_option("#ed-prov-api", "openai")
    p.fill("#ed-prov-url", "https://api.mistral.ai/v1")
    p.fill("#ed-prov-keys", "sk-live-not-a-name-0123456789")
    p.click("#ed-prov-apply")
    p.wait_for_selector("#ed-result.badtext:has-text('NAME of an environment variable')")
    p.fill("#ed-prov-keys", "MISTRAL_API_KEY")
    p.fill("#ed-prov-limits", "rpm=5")
    p.click("#ed-prov-apply")
    p.wait_for_selector("#ed-diff:has-text('mistral:')")
    added = changed_lines(p.inner_text("#ed-diff"))
    assert added == [
        "+",
        "+  mistral:",
        "+    api: openai",
        "+    base_url: https://api.mistral.ai/v1",
        '+    keys: ["${MISTRAL_API_KEY:-}"]',
        "+    limits: {rpm: 5}",
    ]
    p.click("#ed-save")
    p.wait_for_selector("#ed-result.good:has-text('saved providers.yaml')")
    assert providers.read_text() == before + "\n".join(line[1:] for line in added) + "\n"
    assert "sk-live" not in providers.read_text()
    page.shot("editor-provider")
    assert page.errors == []


def test_a_stale_save_is_refused_with_409_and_says_what_changed(relay: Relay, page: Tab) -> None:
    p = page.page
    p.click("#ed-steps li[data-index='1'] button[data-move='-1']")
    p.wait_for_selector("#ed-status:has-text('unsaved')")
    file = chains_file(relay)
    elsewhere = file.read_text() + "# edited by someone else meanwhile\n"
    file.write_text(elsewhere)
    with p.expect_response("**/admin/definitions/save") as answer:
        p.click("#ed-save")
    assert answer.value.status == 409
    p.wait_for_selector("#ed-result.conflict:has-text('chains.yaml')")
    assert file.read_text() == elsewhere
    page.shot("editor-stale")
    assert all("409" in e for e in page.errors), page.errors  # the browser logs the refused fetch


def test_a_read_only_folder_is_said_and_the_diff_offered_for_download(relay: Relay, browser: Any) -> None:
    """The relay's answers as they come, but for `writable` (a read-only mount cannot be made
    here without privileges): the page must say so, keep Save off and offer the diff."""
    with tab(browser) as t:

        def read_only(route: Any) -> None:
            answer = route.fetch()
            body = answer.json()
            body.update(writable=False, read_only_reason=f"{body['source_dir']} is read-only here")
            route.fulfill(response=answer, json=body)

        t.page.route("**/admin/definitions", read_only)
        t.page.goto(f"{relay.url}/ui#chains")
        t.page.wait_for_selector("#ed-readonly:has-text('read-only')")
        assert t.page.is_disabled("#ed-save")
        t.page.click("#ed-steps li[data-index='1'] button[data-move='1']")
        t.page.wait_for_selector("#ed-download:not([hidden])")
        href = t.page.get_attribute("#ed-download", "href") or ""
        assert href.startswith("data:text/x-diff") and "%2B%2B%2B%20b%2Fchains.yaml" in href
        t.shot("editor-read-only")
        assert t.errors == []
