"""One relay for the faces' end-to-end tests: the shipped example chains (chains/), plus a
provider on the fake upstream (`fakeup`, with an rpm limit so its window moves) in a
chain `fake`, with an admin key set so a wrong key can be tried, and the usage store in
the test's own folder (never the user's home)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.procs import REPO, FakeUpstream, Relay, build, fake_upstream, relay_run, write_defs

ADMIN_KEY = "faces-admin-key-0123456789abcdef"
ENV = {"RELAY_ADMIN_KEY": ADMIN_KEY, "FAKE_UP_KEY": "test-upstream-key-faces"}

EXTRA = """\
version: 1
providers:
  fakeup:
    api: openai
    base_url: {url}/v1
    keys: ["${{FAKE_UP_KEY}}"]
    limits: {{rpm: 30}}
    timeouts: {{first_byte: 5s, stream_idle: 5s}}
chains:
  fake:
    steps: [fakeup/fake-model, sim-steady/demo]
"""

SERVER = """\
version: 1
server:
  listen: 127.0.0.1:8787
  default_chain: free
  admin:
    keys: ["${{RELAY_ADMIN_KEY}}"]
  usage: {{store: "{usage}"}}
"""


@contextmanager
def faces_stack(root: Path, usage: bool = True) -> Iterator[tuple[Relay, FakeUpstream]]:
    """`usage=False` runs with the usage store off, as a relay without history."""
    chains = root / "chains"
    chains.mkdir(parents=True)
    for name in ("providers.yaml", "models.yaml", "chains.yaml"):
        shutil.copy(REPO / "chains" / name, chains / name)
    with fake_upstream() as fake:
        write_defs(
            chains,
            {
                "server.yaml": SERVER.format(usage=f"sqlite:///{root}/usage.sqlite" if usage else "off"),
                "fake.yaml": EXTRA.format(url=fake.url),
            },
        )
        result = build(chains, root / "generated", ENV)
        assert result.returncode == 0, result.stdout + result.stderr
        with relay_run(root / "generated", env=ENV) as relay:
            yield relay, fake
