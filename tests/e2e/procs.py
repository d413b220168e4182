"""Real processes for end-to-end tests: the fake upstream and `relay run` under Granian.

Readiness is a condition polled with a deadline (a port answering, `/ready` saying so),
never a fixed sleep; every process is stopped and reaped by its fixture.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_KEY_VARS = (
    "ANTHROPIC_API_KEY",
    "ZAI_API_KEY",
    "GROQ_API_KEY",
    "CEREBRAS_API_KEY",
    "OPENROUTER_API_KEY",
    "RELAY_API_KEY",
)


STATE_HOME = tempfile.mkdtemp(prefix="relay-e2e-state-")
"""$XDG_STATE_HOME of every relay the tests start: the default usage store lands here, not in
the home folder of whoever runs the suite."""
atexit.register(shutil.rmtree, STATE_HOME, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    check: Callable[[], bool],
    what: str,
    timeout: float = 20.0,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = (
                log.read_text(errors="replace")
                if log
                else (proc.stdout.read().decode() if proc.stdout else "")
            )
            raise RuntimeError(f"{what}: process exited with {proc.returncode}:\n{out[-3000:]}")
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what}: not ready after {timeout}s")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in EXAMPLE_KEY_VARS}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["XDG_STATE_HOME"] = STATE_HOME
    env.update(extra or {})
    return env


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@contextmanager
def fake_upstream() -> Iterator[FakeUpstream]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.fake_upstream", str(port)],
        cwd=REPO,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    fake = FakeUpstream(f"http://127.0.0.1:{port}")
    try:
        wait_until(lambda: _answers(fake.url + "/_stats"), "fake upstream", proc=proc)
        yield fake
    finally:
        stop(proc)


class FakeUpstream:
    def __init__(self, url: str) -> None:
        self.url = url

    def script(self, *steps: dict[str, Any]) -> None:
        httpx.post(self.url + "/_script", json=list(steps), timeout=5).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        return list(httpx.get(self.url + "/_requests", timeout=5).json())

    def stats(self) -> dict[str, int]:
        return dict(httpx.get(self.url + "/_stats", timeout=5).json())


def build(chains: Path, out: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compiler", "build", str(chains), "-o", str(out)],
        cwd=REPO,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def write_defs(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


class Relay:
    def __init__(self, proc: subprocess.Popen[bytes], url: str, generated: Path, log: Path) -> None:
        self.proc = proc
        self.url = url
        self.generated = generated
        self.log = log

    def output(self) -> str:
        """Everything the relay printed so far: its log file, which never fills up like a pipe."""
        return self.log.read_text(errors="replace")


@contextmanager
def relay_run(generated: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Relay]:
    relay = _start_relay(generated, args, env)
    try:
        yield relay
    finally:
        stop(relay.proc)


PORT_TRIES = 3
"""`free_port` closes the port it found, so another process of a parallel test can take it
before relay binds it; relay then refuses ("the port is in use") and the next port is tried."""


def _serving(relay: Relay) -> bool:
    """Whether this relay (its own line says it claimed the port) answers `/ready`."""
    return f" on {relay.url} with ".encode() in relay.log.read_bytes() and _answers(relay.url + "/ready")


def _start_relay(generated: Path, args: tuple[str, ...], env: dict[str, str] | None) -> Relay:
    """A started relay that answers `/ready` on the port it said it claimed: an answer from
    whatever else took the port must not pass for this relay's."""
    for _ in range(PORT_TRIES):
        port = free_port()
        log = generated.parent / f"relay-{port}.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "compiler",
                    "run",
                    str(generated),
                    "--listen",
                    f"127.0.0.1:{port}",
                    *args,
                ],
                cwd=REPO,
                env=clean_env(env),
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        relay = Relay(proc, f"http://127.0.0.1:{port}", generated, log)
        try:
            wait_until(
                functools.partial(_serving, relay),
                "relay run",
                proc=proc,
                log=log,
            )
            return relay
        except RuntimeError:
            stop(proc)
            if b"the port is in use" not in log.read_bytes():
                raise
        except BaseException:
            stop(proc)
            raise
    raise RuntimeError(f"relay run: {PORT_TRIES} ports in a row were taken before relay bound them")


@contextmanager
def served(root: Path, defs: str, env: dict[str, str] | None = None) -> Iterator[Relay]:
    """Write one definition file, `relay build` it and `relay run` the result."""
    chains = write_defs(root / "chains", {"relay.yaml": defs})
    result = build(chains, root / "generated", env)
    assert result.returncode == 0, result.stdout + result.stderr
    with relay_run(root / "generated", env=env) as relay:
        yield relay


@contextmanager
def served_copy(root: Path, folder: Path = REPO / "chains") -> Iterator[Relay]:
    """`relay run` of a build of a copy of `folder` (the example chains by default), for tests
    that edit the definitions the relay was built from."""
    shutil.copytree(folder, root / "chains")
    result = build(root / "chains", root / "generated")
    assert result.returncode == 0, result.stdout + result.stderr
    with relay_run(root / "generated") as relay:
        yield relay


def served_by(relay: Relay, model: str, conversation: str) -> str:
    """`x-relay-provider` of one answer; a new conversation each time, since conversation
    affinity keeps a known one where it began."""
    body = {"model": model, "messages": [{"role": "user", "content": conversation}]}
    answer = httpx.post(relay.url + "/v1/chat/completions", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.headers["x-relay-provider"]


@contextmanager
def served_on_fake(
    root: Path, defs: str, env: dict[str, str] | None = None
) -> Iterator[tuple[Relay, FakeUpstream]]:
    """A fake upstream of its own and a relay serving `defs`, a template whose `{url}` is the fake's."""
    with fake_upstream() as fake, served(root, defs.format(url=fake.url), env) as relay:
        yield relay, fake


def anthropic_client(relay: Relay, **kw: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=relay.url, api_key="unused-client-key", max_retries=0, **kw)


def openai_client(relay: Relay) -> openai.OpenAI:
    return openai.OpenAI(base_url=relay.url + "/v1", api_key="unused-client-key", max_retries=0)


def stream_raw(relay: Relay, body: dict[str, Any], path: str = "/v1/messages") -> bytes:
    """Every byte of a streamed answer, exactly as the relay sent it."""
    with httpx.stream("POST", relay.url + path, json=body, timeout=20) as resp:
        return b"".join(resp.iter_raw())
