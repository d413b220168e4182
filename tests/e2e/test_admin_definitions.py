"""The editor endpoints end to end (docs/admin-api.md, /admin/definitions*): a real `relay
run` of a copy of chains/, its own build; a save rebuilds and the next request follows it."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.procs import REPO, Relay, build, relay_run, served, served_by, served_copy, wait_until

pytestmark = pytest.mark.e2e

MOVE = {"op": "move_step", "chain": "free", "from": 4, "to": 0}


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    with served_copy(tmp_path_factory.mktemp("editor")) as running:
        yield running


def post(relay: Relay, action: str, body: Any, **kw: Any) -> httpx.Response:
    return httpx.post(f"{relay.url}/admin/definitions/{action}", json=body, timeout=60, **kw)


def test_read_check_preview_save_then_the_next_request_follows(relay: Relay) -> None:
    chains = relay.generated.parent / "chains"
    read = httpx.get(relay.url + "/admin/definitions", timeout=60).json()
    assert read["writable"] and read["source_dir"] == str(chains.resolve())
    assert read["etag"] == read["built_etag"]
    assert served_by(relay, "free", "before") == "sim-burst"

    broken = {"files": {"chains.yaml": "version: 1\nchains:\n  free:\n    steps: [a/b\n"}}
    checked = post(relay, "check", broken).json()
    assert not checked["ok"] and checked["diagnostics"][0]["file"] == "chains.yaml"
    assert checked["diagnostics"][0]["code"] == "R008"

    preview = post(relay, "preview", {"edits": [MOVE]}).json()
    assert preview["ok"] and preview["changed"] == ["chains.yaml"]
    removed_added = [
        line for line in preview["diff"].splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert sorted(removed_added) == ["+      - sim-steady/demo", "-      - sim-steady/demo"]
    assert (chains / "chains.yaml").read_text() == (REPO / "chains" / "chains.yaml").read_text()

    bases = {f["path"]: f["sha256"] for f in read["files"]}
    saved = post(relay, "save", {"edits": [MOVE], "etag": read["etag"], "bases": bases})
    assert saved.status_code == 200, saved.text
    assert saved.json()["built_etag"] == saved.json()["etag"]
    assert served_by(relay, "free", "after") == "sim-steady"
    text = (chains / "chains.yaml").read_text()
    assert text.count("#") == (REPO / "chains" / "chains.yaml").read_text().count("#")

    stale = post(relay, "save", {"edits": [MOVE], "etag": read["etag"], "bases": bases})
    assert stale.status_code == 409 and stale.json()["changed"] == ["chains.yaml"]
    assert (chains / "chains.yaml").read_text() == text


@pytest.mark.parametrize(
    ("action", "body", "says"),
    [
        ("check", {"files": {"../escape.yaml": "version: 1\n"}}, "outside the definitions folder"),
        ("check", {"files": {"notes.md": "# hi"}}, "not a YAML file"),
        ("check", {"dir": "/etc"}, "unknown field 'dir'"),
        ("preview", [1, 2], "must be a JSON object"),
        ("save", {"edits": [MOVE]}, "etag"),
        (
            "preview",
            {
                "edits": [
                    {
                        "op": "set_provider",
                        "provider": "groq",
                        "fields": {"keys": ["gsk_live_0123456789abcdef"]},
                    }
                ]
            },
            "R204",
        ),
    ],
)
def test_bad_input_is_a_clear_400(relay: Relay, action: str, body: Any, says: str) -> None:
    answer = post(relay, action, body)
    assert answer.status_code == 400 and says in answer.json()["error"]["message"]
    assert "gsk_live" not in answer.text
    assert not (relay.generated.parent / "escape.yaml").exists()


def test_a_body_that_is_not_json_is_a_400(relay: Relay) -> None:
    json_type = {"content-type": "application/json"}
    answer = httpx.post(
        relay.url + "/admin/definitions/check", content=b"{nope", headers=json_type, timeout=30
    )
    assert answer.status_code == 400 and "not valid JSON" in answer.json()["error"]["message"]
    untyped = httpx.post(relay.url + "/admin/definitions/check", content=b"{nope", timeout=30)
    assert untyped.status_code == 415  # no browser form can reach the editor (docs/security.md)


def test_wrong_methods_are_405(relay: Relay) -> None:
    assert httpx.get(relay.url + "/admin/definitions/save", timeout=30).status_code == 405
    assert httpx.post(relay.url + "/admin/definitions", timeout=30).status_code == 405


ADMIN_KEY = "editor-admin-key-0123456789abcdef"
GUARDED = """\
version: 1
server:
  admin: {keys: ["${RELAY_ADMIN_KEY}"]}
providers:
  sim: {api: simulated}
chains:
  main:
    steps: [sim/demo]
"""


def test_every_editor_endpoint_needs_the_admin_key_when_one_is_set(tmp_path: Path) -> None:
    with served(tmp_path, GUARDED, {"RELAY_ADMIN_KEY": ADMIN_KEY}) as guarded:
        relay_yaml = guarded.generated.parent / "chains" / "relay.yaml"
        url = guarded.url + "/admin/definitions"
        for key in (None, "not-the-admin-key-0123456789"):
            headers = {} if key is None else {"authorization": f"Bearer {key}"}
            assert httpx.get(url, headers=headers, timeout=30).status_code == 401
            for action in ("check", "preview", "save"):
                answer = httpx.post(
                    f"{url}/{action}",
                    json={"files": {"relay.yaml": "x"}, "etag": "e"},
                    headers=headers,
                    timeout=30,
                )
                assert answer.status_code == 401, action
        assert relay_yaml.read_text() == GUARDED
        read = httpx.get(url, headers={"x-api-key": ADMIN_KEY}, timeout=60)
        assert read.status_code == 200 and read.json()["files"][0]["text"] == GUARDED


def editor_children(relay: Relay) -> list[int]:
    """Live `python -m compiler.edit` processes below this relay (its workers' editor)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if b"compiler.edit" not in argv or stat[0] == "Z":
            continue
        pid = int(entry.name)
        while pid > 1 and pid != relay.proc.pid:
            try:
                pid = int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                break
        if pid == relay.proc.pid:
            found.append(int(entry.name))
    return found


def test_the_editor_child_is_reused_and_replaced_when_it_dies(relay: Relay) -> None:
    assert post(relay, "check", {}).status_code == 200
    first = editor_children(relay)
    assert len(first) == 1  # one per worker, kept between requests
    assert post(relay, "check", {}).status_code == 200
    assert editor_children(relay) == first
    os.kill(first[0], signal.SIGKILL)
    wait_until(lambda: first[0] not in editor_children(relay), "the killed editor to go")
    assert post(relay, "check", {}).status_code == 200  # a fresh child answers
    assert editor_children(relay) not in ([], first)


def test_a_client_that_leaves_mid_request_shifts_no_answer_and_a_save_still_loads(tmp_path: Path) -> None:
    """Was: a client that left while the editor child worked (a closed tab) cancelled the
    request between writing to the child and reading its answer; the answer stayed in the
    pipe and every later request got the one before it (a read answered with a check), and
    a save it left was built but never loaded. Reloads here come only from the save itself
    (no polling), and each cut lands while a fresh child still imports (about a second)."""
    shutil.copytree(REPO / "chains", tmp_path / "chains")
    assert build(tmp_path / "chains", tmp_path / "generated").returncode == 0
    with relay_run(tmp_path / "generated", env={"RELAY_RELOAD_POLL": "0"}) as fresh:
        with pytest.raises(httpx.TimeoutException):
            httpx.post(f"{fresh.url}/admin/definitions/check", json={}, timeout=0.2)
        read = httpx.get(fresh.url + "/admin/definitions", timeout=60)
        assert read.status_code == 200 and "files" in read.json(), read.text[:300]
        assert "diagnostics" in post(fresh, "check", {}).json()

        (child,) = editor_children(fresh)
        os.kill(child, signal.SIGKILL)
        wait_until(lambda: child not in editor_children(fresh), "the killed editor to go")
        bases = {f["path"]: f["sha256"] for f in read.json()["files"]}
        with pytest.raises(httpx.TimeoutException):
            httpx.post(
                f"{fresh.url}/admin/definitions/save",
                json={"edits": [MOVE], "etag": read.json()["etag"], "bases": bases},
                timeout=0.2,
            )

        def loaded() -> bool:  # the files changed, and the build served is theirs
            now = httpx.get(fresh.url + "/admin/definitions", timeout=60).json()
            return bool(now["etag"] != read.json()["etag"] and now["built_etag"] == now["etag"])

        wait_until(loaded, "the save built and loaded")
