"""`relay build` output: deterministic, secret-free outside secrets.json, atomic, manifest last."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from compiler.emit import write as emit
from compiler.emit.write import write_build
from compiler.pipeline import compile_dir
from compiler.resolve.endpoints import rate_limit_family, urls
from runtime.artifact import FORMAT_VERSION, Artifact, Manifest
from runtime.server.loader import load
from tests.compiler.conftest import write_files

SECRET_A = "sk-ant-test-0123456789abcdefSECRET"
SECRET_B = "gsk_test_fedcba9876543210SECRET"
CLIENT = "relay-client-key-SECRET-42"
DEFS = {
    "server.yaml": "version: 1\nserver:\n  auth: {keys: ['${RELAY_T_CLIENT}']}\n  default_chain: main\n",
    "providers.yaml": """version: 1
providers:
  anthropic:
    api: anthropic
    base_url: https://api.anthropic.com
    keys: ['${RELAY_T_A}', {key: '${RELAY_T_B}', name: backup, limits: {rpm: 5}, account: team}, '${RELAY_T_UNSET:-}']
    limits: {rpm: 50, tpm: 30000}
    headers: {X-Team: relay}
  groq:
    api: openai
    base_url: https://api.groq.com/openai/v1/
    keys: ['${RELAY_T_B}']
    headers: {x-a: "1", x-b: "2"}
  ollama-remote:
    api: ollama
    base_url: https://ollama.example.com
    headers: {x-very-long-header-name-for-testing: "a value long enough to push this line past the limit"}
  local:
    api: ollama
    base_url: http://localhost:11434/v1
  sim:
    api: simulated
    simulate: {rpm: 3}
""",
    "chains.yaml": """version: 1
models:
  m: {capabilities: [tools], providers: {anthropic: claude-x, groq: llama-x, local: "llama3:8b", sim: demo, ollama-remote: x}}
chains:
  main:
    match: ["claude-*"]
    steps: [anthropic/m, groq/m, local/m, sim/m, ollama-remote/m]
""",
}
ENV = {"RELAY_T_A": SECRET_A, "RELAY_T_B": SECRET_B, "RELAY_T_CLIENT": CLIENT}


def build(root: Path, out: Path, env: dict[str, str] = ENV) -> list[str]:
    result = compile_dir(root, env, "build")
    assert result.artifact is not None, result.diagnostics
    return write_build(result, root, out)


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    return write_files(tmp_path / "defs", DEFS)


def test_same_input_same_bytes_wherever_it_lives(defs: Path, tmp_path: Path) -> None:
    """Wherever the definitions and the build folder live, beside each other as before."""
    build(defs, tmp_path / "one")
    moved = shutil.copytree(defs, tmp_path / "elsewhere" / "defs")
    build(moved, tmp_path / "elsewhere" / "two")
    one, two = tree(tmp_path / "one"), tree(tmp_path / "elsewhere" / "two")
    # the manifest names the definitions relative to the build (`relay run` warns when they
    # changed since; the editor edits them), so no byte names this machine's paths
    assert one == two


def test_no_secret_outside_secrets_file(defs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(defs, out)
    for rel, data in tree(out).items():
        if rel != "secrets.json":
            for secret in (SECRET_A, SECRET_B, CLIENT, "SECRET"):
                assert secret.encode() not in data, f"{secret} leaked into {rel}"
    secrets = json.loads((out / "secrets.json").read_bytes())
    assert secrets["keys"] == {"anthropic#0": SECRET_A, "anthropic#backup": SECRET_B, "groq#0": SECRET_B}
    assert secrets["client_keys"] == [CLIENT]
    assert stat.S_IMODE((out / "secrets.json").stat().st_mode) == 0o600
    assert "secrets.json" in (out / ".gitignore").read_text().splitlines()


def test_artifact_contents(defs: Path, tmp_path: Path) -> None:
    """What the runtime serves: routing.json with secrets.json laid over it by the loader."""
    out = tmp_path / "out"
    build(defs, out)
    artifact = load(out).artifact
    keys = artifact.providers["anthropic"].keys
    assert [k.id for k in keys] == ["anthropic#0", "anthropic#backup"]
    assert keys[0].fingerprint == "sha256:" + hashlib.sha256(SECRET_A.encode()).hexdigest()[:8]
    assert (keys[1].limits.rpm, keys[1].limits.tpm) == (5, 30000)
    assert (keys[0].account, keys[1].account) == (keys[0].fingerprint, "team")  # default: its own account
    assert artifact.providers["anthropic"].headers == (("x-team", "relay"),)
    assert artifact.server.auth_required and len(artifact.server.client_key_fingerprints) == 1
    assert [s.model for s in artifact.chains["main"].steps] == [
        "claude-x",
        "llama-x",
        "llama3:8b",
        "demo",
        "x",
    ]
    assert artifact.sources == ("chains.yaml", "providers.yaml", "server.yaml")


def test_committed_routing_is_the_build_without_environment(defs: Path, tmp_path: Path) -> None:
    import msgspec

    build(defs, tmp_path / "out")
    committed = msgspec.json.decode((tmp_path / "out" / "routing.json").read_bytes(), type=Artifact)
    assert committed.providers["anthropic"].keys == () and not committed.providers["anthropic"].enabled
    assert not committed.server.auth_required and committed.server.client_key_fingerprints == ()
    keyless = compile_dir(defs, {}, "check")
    assert keyless.artifact is not None
    assert committed.providers["sim"] == keyless.artifact.providers["sim"]


def test_manifest_is_written_last_and_hashes_every_file(
    defs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import msgspec

    order: list[str] = []
    real = emit.write_atomic

    def recording(path: Path, data: bytes, mode: int = 0o644, always: bool = False) -> None:
        order.append(path.name)
        real(path, data, mode, always)

    monkeypatch.setattr(emit, "write_atomic", recording)
    out = tmp_path / "out"
    build(defs, out)
    assert order[-1] == "manifest.json"
    manifest = msgspec.json.decode((out / "manifest.json").read_bytes(), type=Manifest)
    local = ("manifest.json", "secrets.json", "lint.env.json", "lint.env.txt")
    files = {rel: data for rel, data in tree(out).items() if rel not in local}
    assert manifest.files == {
        rel: "sha256:" + hashlib.sha256(data).hexdigest() for rel, data in files.items()
    }


def test_stale_provider_modules_are_removed(defs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(defs, out)
    (defs / "chains.yaml").write_text(
        DEFS["chains.yaml"].replace(", local/m", "").replace('local: "llama3:8b", ', "")
    )
    (defs / "providers.yaml").write_text(
        DEFS["providers.yaml"].replace(
            "  local:\n    api: ollama\n    base_url: http://localhost:11434/v1\n", ""
        )
    )
    build(defs, out)
    assert sorted(p.name for p in (out / "providers").iterdir()) == [
        "anthropic.py",
        "groq.py",
        "ollama_remote.py",
        "sim.py",
    ]


def test_failed_write_keeps_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "routing.json"
    target.write_bytes(b"old")

    def broken_replace(src: str, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        emit.write_atomic(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["routing.json"]


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"gen_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("name", "auth", "family", "chat", "messages"),
    [
        ("anthropic", [("x-api-key", "K")], "anthropic", None, "https://api.anthropic.com/v1/messages"),
        (
            "groq",
            [("authorization", "Bearer K")],
            "groq",
            "https://api.groq.com/openai/v1/chat/completions",
            None,
        ),
        (
            "local",
            [("authorization", "Bearer K")],
            "none",
            "http://localhost:11434/v1/chat/completions",
            None,
        ),
        ("sim", [], "none", None, None),
    ],
)
def test_generated_modules_follow_the_protocol(
    defs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    auth: list[tuple[str, str]],
    family: str,
    chat: str | None,
    messages: str | None,
) -> None:
    import runtime.routing.ratelimit

    calls: list[tuple[object, float]] = []

    def parser(headers: object, now: float) -> runtime.routing.ratelimit.RateInfo:
        calls.append((headers, now))
        return runtime.routing.ratelimit.EMPTY

    monkeypatch.setattr(runtime.routing.ratelimit, f"parse_{family}", parser)
    out = tmp_path / "out"
    build(defs, out)
    module = load_module(out / "providers" / f"{name}.py")
    assert (name, FORMAT_VERSION) == (module.NAME, module.FORMAT_VERSION)
    assert module.auth_headers("K") == auth
    assert (chat, messages) == (module.CHAT_URL, module.MESSAGES_URL)
    assert isinstance(module.STATIC_HEADERS, tuple)
    assert module.parse_rate_limits({"a": "b"}, 5.0) is runtime.routing.ratelimit.EMPTY and calls == [
        ({"a": "b"}, 5.0)
    ]


def test_generated_modules_are_ruff_format_clean(defs: Path, tmp_path: Path) -> None:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    build(defs, tmp_path / "out")
    proc = subprocess.run(
        [ruff, "format", "--check", "--line-length", "110", str(tmp_path / "out" / "providers")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("api", "base", "expected"),
    [
        (
            "anthropic",
            "https://api.z.ai/api/anthropic/",
            ("https://api.z.ai/api/anthropic/v1/messages", None),
        ),
        ("anthropic", "https://api.anthropic.com/v1", ("https://api.anthropic.com/v1/messages", None)),
        ("openai", "https://openrouter.ai/api/v1", (None, "https://openrouter.ai/api/v1/chat/completions")),
        ("ollama", "http://127.0.0.1:11434", (None, "http://127.0.0.1:11434/v1/chat/completions")),
        ("ollama", "http://127.0.0.1:11434/v1/", (None, "http://127.0.0.1:11434/v1/chat/completions")),
        ("bedrock", "https://x", (None, None)),
    ],
)
def test_urls(api: str, base: str, expected: tuple[str | None, str | None]) -> None:
    found = urls(api, base)  # type: ignore[arg-type]
    assert (found.messages, found.chat) == expected


@pytest.mark.parametrize(
    ("setting", "api", "base", "family"),
    [
        ("auto", "anthropic", "https://api.anthropic.com", "anthropic"),
        ("auto", "openai", "https://api.groq.com/openai/v1", "groq"),
        ("auto", "openai", "https://api.cerebras.ai/v1", "cerebras"),
        ("auto", "openai", "https://openrouter.ai/api/v1", "openrouter"),
        ("auto", "openai", "https://api.openai.com/v1", "openai"),
        ("auto", "openai", "https://llm.internal/v1", "openai"),
        ("auto", "anthropic", "https://api.z.ai/api/anthropic", "anthropic"),
        ("auto", "ollama", "http://localhost:11434", "none"),
        ("auto", "simulated", "", "none"),
        ("cerebras", "openai", "https://proxy.example", "cerebras"),
    ],
)
def test_rate_limit_family(setting: str, api: str, base: str, family: str) -> None:
    assert rate_limit_family(setting, api, base) == family  # type: ignore[arg-type]


def test_the_manifest_names_the_definitions_relative_to_the_build(defs: Path, tmp_path: Path) -> None:
    """`relay run` knows which folder it was built from (the editor edits that folder), by a
    relative path, so a build committed next to its sources is the same on every machine."""
    out = tmp_path / "deep" / "out"
    build(defs, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert (out / manifest["source_dir"]).resolve() == defs.resolve()
    assert not Path(manifest["source_dir"]).is_absolute()
    assert load(out).source_dir == defs.resolve()
