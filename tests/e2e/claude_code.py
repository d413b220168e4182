"""Running the real Claude Code CLI headless, privately, against a relay on loopback.

Each run gets its own HOME and working folder, only the environment it needs, retries off
and bounded timeouts, and a dead proxy for everything but loopback, so nothing it does can
leave the machine: non-essential traffic (telemetry, updates, error reports) is switched
off, and anything else would hit 127.0.0.1:9 and fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

_SCHEMA = {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}
CLAUDE_CODE_TOOLS = [
    {"name": "Bash", "input_schema": _SCHEMA},
    *({"name": f"Tool{i}", "input_schema": _SCHEMA} for i in range(23)),
]


def claude_code_body(**extra: Any) -> dict[str, Any]:
    """The shape of every request Claude Code 2.1.197 sends (captured; the system prompt and
    the 24 tools' descriptions are stand-ins), for tests that do not run the CLI."""
    return {
        "model": "claude-opus-4-8",
        "max_tokens": 64000,
        "stream": True,
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "metadata": {"user_id": "u"},
        "system": [{"type": "text", "text": "You are Claude Code. " * 2000}],
        "tools": CLAUDE_CODE_TOOLS,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}],
        **extra,
    }


CLAUDE = shutil.which("claude")
INSTALL_HINT = "Claude Code CLI not found: npm install -g @anthropic-ai/claude-code (bash .ci/run does)"
RUN_TIMEOUT = 60.0
"""Seconds one `claude -p` may take; a run well within it takes 1 to 3 s here."""


def claude_env(base_url: str, home: Path) -> dict[str, str]:
    dead_proxy = "http://127.0.0.1:9"
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "unused-client-key",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",
        "API_TIMEOUT_MS": "30000",
        "HTTPS_PROXY": dead_proxy,
        "HTTP_PROXY": dead_proxy,
        "NO_PROXY": "127.0.0.1,localhost",
    }


def run_claude(
    base_url: str, workdir: Path, prompt: str, *args: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """`claude -p PROMPT --output-format json` in `workdir`; its JSON result. `env` adds to
    (or overrides) the private environment, e.g. CLAUDE_CODE_MAX_RETRIES."""
    assert CLAUDE is not None, INSTALL_HINT
    home = workdir.parent / f"{workdir.name}-home"
    home.mkdir(exist_ok=True)
    done = subprocess.run(
        [CLAUDE, "-p", prompt, "--output-format", "json", "--no-session-persistence", *args],
        cwd=workdir,
        env={**claude_env(base_url, home), **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"claude exited {done.returncode} without a JSON result:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(lines[-1])
    return result
