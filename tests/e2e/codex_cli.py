"""Running the real Codex CLI headless, privately, against a relay on loopback.

Each run gets its own HOME holding `.codex/config.toml` (the provider block the docs show:
`wire_api = "responses"`, the key from `RELAY_KEY`), retries off, bounded timeouts, and a
dead proxy for everything but loopback, so nothing it does can leave the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

CODEX = shutil.which("codex")
INSTALL_HINT = "Codex CLI not found: npm install -g @openai/codex@0.171.0 (bash .ci/run does)"
RUN_TIMEOUT = 90.0
"""Seconds one `codex exec` may take; a run well within it takes 2 to 5 s here."""

CONFIG = """\
model = "{model}"
model_provider = "relay"

[model_providers.relay]
name = "relay"
base_url = "{base_url}/v1"
env_key = "RELAY_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 30000
"""


def codex_env(home: Path) -> dict[str, str]:
    dead_proxy = "http://127.0.0.1:9"
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CODEX_HOME": str(home / ".codex"),
        "RELAY_KEY": "unused-client-key",
        "HTTPS_PROXY": dead_proxy,
        "HTTP_PROXY": dead_proxy,
        "NO_PROXY": "127.0.0.1,localhost",
    }


def run_codex(base_url: str, workdir: Path, model: str, prompt: str) -> tuple[int, list[dict[str, Any]], str]:
    """`codex exec --json PROMPT` in `workdir`: its exit code, its JSONL events, its stderr."""
    assert CODEX is not None, INSTALL_HINT
    home = workdir.parent / f"{workdir.name}-home"
    (home / ".codex").mkdir(parents=True, exist_ok=True)
    (home / ".codex" / "config.toml").write_text(CONFIG.format(model=model, base_url=base_url))
    done = subprocess.run(
        [CODEX, "exec", "--skip-git-repo-check", "--json", prompt],
        cwd=workdir,
        env=codex_env(home),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, events, done.stderr
