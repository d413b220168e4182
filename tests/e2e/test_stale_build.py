"""`relay run` says so when the definitions changed since the build it is about to serve."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.conftest import BASIC, UPSTREAM_KEYS
from tests.e2e.procs import FakeUpstream, build, relay_run, write_defs

pytestmark = pytest.mark.e2e


def test_relay_run_warns_when_the_sources_changed_since_the_build(fake: FakeUpstream, tmp_path: Path) -> None:
    chains = write_defs(tmp_path / "chains", {"relay.yaml": BASIC.format(url=fake.url)})
    out = tmp_path / "generated"
    assert build(chains, out, UPSTREAM_KEYS).returncode == 0
    os.utime(chains / "relay.yaml")  # touched, not changed: no warning
    with relay_run(out, env=UPSTREAM_KEYS) as relay:
        assert "changed since" not in relay.output()
    (chains / "relay.yaml").write_text(BASIC.format(url=fake.url).replace("claude-up-b", "claude-up-c"))
    with relay_run(out, env=UPSTREAM_KEYS) as relay:
        output = relay.output()
    assert f"relay run: {chains} changed since {out} was built; serving the old build" in output, output
