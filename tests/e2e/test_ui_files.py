"""`/ui`: the dashboard's files are public even when client keys are required (the data is
behind the admin key), typed, revalidated by ETag, and only the shipped files: no path a
client sends reaches the file system."""

from __future__ import annotations

import httpx
import pytest

from runtime.server.ui import FILES
from tests.e2e.conftest import BASIC, RelayFactory
from tests.e2e.procs import FakeUpstream

pytestmark = pytest.mark.e2e

AUTHED = BASIC.replace(
    "version: 1\n", 'version: 1\nserver:\n  auth:\n    keys: ["${{UI_TEST_CLIENT_KEY}}"]\n'
)
ENV = {"UI_TEST_CLIENT_KEY": "relay-client-key-ui-0123"}


def test_ui_files_are_public_typed_revalidated_and_only_the_shipped_ones(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    assert {"index.html", "app.js", "style.css", "uplot.min.js", "uplot.min.css", "uplot.LICENSE"} <= set(
        FILES
    )
    with start_relay({"r.yaml": AUTHED.format(url=fake.url)}, env=ENV) as relay:
        for path, kind in [
            ("/ui", "text/html"),
            ("/ui/", "text/html"),
            ("/ui/app.js", "text/javascript"),
            ("/ui/style.css", "text/css"),
            ("/ui/uplot.LICENSE", "text/plain"),
        ]:
            resp = httpx.get(relay.url + path)
            assert resp.status_code == 200, path
            assert resp.headers["content-type"].startswith(kind), path
            assert resp.headers["x-content-type-options"] == "nosniff"
            assert "script-src 'self'" in resp.headers["content-security-policy"]
        page = httpx.get(relay.url + "/ui")
        again = httpx.get(relay.url + "/ui", headers={"if-none-match": page.headers["etag"]})
        assert (again.status_code, again.content) == (304, b"")
        assert "/ui/app.js" in page.text
        for sneaky in [
            "/ui/../README.md",
            "/ui/%2e%2e/artifact.py",
            "/ui/static/app.js",
            "/ui/..%2fui.py",
            "/ui//etc/passwd",
        ]:
            # 404 from the file table, or 401 where the client normalised the path out of /ui.
            assert httpx.get(relay.url + sneaky).status_code in (401, 404), sneaky
        # Everything else still wants a client key, and the admin API an admin key.
        assert httpx.get(relay.url + "/v1/models").status_code == 401
        assert httpx.get(relay.url + "/uix").status_code == 401
        assert httpx.post(relay.url + "/ui/app.js").status_code == 405
