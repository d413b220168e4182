"""The deployment files do what they say. This machine cannot pull base images, so the
Dockerfile is read instruction by instruction and its steps are replayed in a clean
virtualenv: COPY from what git tracks, each RUN script, then the CMD, with the image's
paths (/app, /opt/relay) mapped into a temporary folder; the HEALTHCHECK then has to pass
against the relay that CMD started. compose.yaml, the systemd unit and the workflow example
are parsed and must name files and commands that exist."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from ruamel.yaml import YAML

from tests.compiler.test_generated import git
from tests.e2e.procs import REPO, free_port, stop, wait_until

pytestmark = [pytest.mark.e2e]

CLIENT_KEY = "deploy-client-key-0123456789"


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_the_dockerfile_keeps_to_a_slim_base_a_non_root_user_and_a_healthcheck() -> None:
    steps = instructions(REPO / "Dockerfile")
    words = [w for w, _ in steps]
    assert re.fullmatch(r"python:3\.\d+-slim", dict(steps)["FROM"])
    assert dict(steps)["USER"] not in ("root", "0")
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")
    assert dict(steps)["EXPOSE"] == "8787"
    assert "/app/deploy/healthcheck.py" in dict(steps)["HEALTHCHECK"]
    assert "healthcheck.py" in (REPO / "deploy" / "healthcheck.py").name
    for word, args in steps:
        if word == "COPY":
            *sources, _ = args.split()
            assert all((REPO / s).exists() for s in sources), args


IMAGE_PATHS = ("/opt/relay", "/app", "/var/lib/relay")


def _mapped(text: str, root: Path) -> str:
    for path in IMAGE_PATHS:
        text = text.replace(path, str(root / path.lstrip("/")))
    return text


def _replay(root: Path) -> list[str]:
    """COPY and RUN steps into `root`; the CMD, mapped, to run."""
    app = root / "app"
    tracked = {
        p for p in git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0") if p
    }
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    cmd: list[str] = []
    image_env: dict[str, str] = {}
    for word, args in instructions(REPO / "Dockerfile"):
        if word == "COPY":
            *sources, dest = args.split()
            base = app / dest
            for source in sources:
                if (REPO / source).is_file():
                    files = {source: base / Path(source).name if dest.endswith("/") else base}
                else:
                    inside = sorted(p for p in tracked if p.startswith(source + "/"))
                    files = {rel: base / Path(rel).relative_to(source) for rel in inside}
                for rel, out in files.items():
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(REPO / rel, out)
        elif word == "RUN":
            argv = shlex.split(args)
            if argv[0] == "useradd":  # the image's user and its state folder: the folder only here
                owned = args.split("&&")[1:]
                assert all(shlex.split(c)[:4] == ["install", "-d", "-o", "relay"] for c in owned), args
                for command in owned:
                    Path(_mapped(shlex.split(command)[-1], root)).mkdir(parents=True)
                continue
            assert argv[:2] == ["sh", argv[1]] and argv[1].startswith("deploy/"), f"unproved RUN step: {args}"
            done = subprocess.run(
                [_mapped(a, root) for a in argv],
                cwd=app,
                env=env,
                capture_output=True,
                text=True,
                timeout=850,
            )
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        elif word == "ENV":
            image_env.update(dict(pair.split("=", 1) for pair in shlex.split(args)))
        elif word == "CMD":
            cmd = [_mapped(a, root) for a in json.loads(args)]
    (root / "image.env").write_text(json.dumps({k: _mapped(v, root) for k, v in image_env.items()}))
    return cmd


@contextmanager
def _started(
    cmd: list[str], root: Path, extra: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    log = root / f"start-{extra['RELAY_PORT']}.log"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "RELAY_API_KEY")}
    image_env = json.loads((root / "image.env").read_text())
    env.update(image_env, TMPDIR=str(root), **extra)
    env["PATH"] = image_env["PATH"].replace("$PATH", os.environ["PATH"])
    env["RELAY_CHAINS"] = str(root / "app" / "chains")  # the image's default, /app/chains, mapped
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, cwd=root / "app", env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield proc, log
    finally:
        stop(proc)


def _healthy(root: Path, port: int) -> bool:
    check = [str(root / "opt" / "relay" / "bin" / "python"), str(root / "app" / "deploy" / "healthcheck.py")]
    env = {**os.environ, "RELAY_PORT": str(port)}
    return subprocess.run(check, env=env, capture_output=True, timeout=10).returncode == 0


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_dockerfile_steps_build_and_serve_in_a_clean_virtualenv(tmp_path: Path) -> None:
    cmd = _replay(tmp_path)
    assert cmd[:1] == ["sh"] and cmd[1].endswith("/app/deploy/start.sh")
    assert not list(tmp_path.glob("app/**/secrets.json"))  # the image holds no keys
    state = tmp_path / "var" / "lib" / "relay"

    port = free_port()
    assert not _healthy(tmp_path, port)
    with _started(cmd, tmp_path, {"RELAY_PORT": str(port)}) as (proc, log):
        wait_until(lambda: _healthy(tmp_path, port), "HEALTHCHECK", timeout=60, proc=proc, log=log)
        assert "loopback only" in log.read_text()
        body = {"model": "free", "messages": [{"role": "user", "content": "hi"}]}
        assert (
            httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body, timeout=10).status_code
            == 200
        )
        assert "relay_requests_total" in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert list((state / "relay" / "usage").glob("*.sqlite"))  # the usage store is in the image's volume

    port = free_port()
    with _started(cmd, tmp_path, {"RELAY_PORT": str(port), "RELAY_API_KEY": CLIENT_KEY}) as (proc, log):
        wait_until(lambda: _healthy(tmp_path, port), "HEALTHCHECK with keys", timeout=60, proc=proc, log=log)
        assert f"http://0.0.0.0:{port}" in log.read_text()
        body = {"model": "free", "messages": [{"role": "user", "content": "hi"}]}
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        assert httpx.post(url, json=body, timeout=10).status_code == 401
        assert httpx.post(url, json=body, headers={"x-api-key": CLIENT_KEY}, timeout=10).status_code == 200


def test_compose_names_files_that_exist_and_its_chains_check(tmp_path: Path) -> None:
    compose = YAML(typ="safe").load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) >= {"relay", "redis", "postgres"}
    assert services["postgres"]["profiles"] == ["postgres"] and "profiles" not in services["redis"]
    assert (REPO / services["relay"]["build"] / "Dockerfile").is_file()
    assert services["relay"]["depends_on"]["redis"]["condition"] == "service_healthy"
    chains = tmp_path / "chains"
    shutil.copytree(REPO / "chains", chains)
    for volume in services["relay"]["volumes"]:
        host, inside, *_ = volume.split(":")
        if not host.startswith("."):  # a named volume
            assert host in compose["volumes"], volume
            continue
        assert (REPO / host).is_file(), volume
        if inside.startswith("/app/chains/"):
            shutil.copy2(REPO / host, chains / Path(inside).name)
    for volume in compose.get("volumes", {}):
        assert any(v.startswith(f"{volume}:") for s in services.values() for v in s.get("volumes", ()))
    check = subprocess.run(
        [sys.executable, "-m", "compiler", "check", str(chains), "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert '"redis://redis:6379/0"' not in check.stdout  # checked, and nothing secret printed either


def test_the_systemd_unit_runs_relay_as_its_own_user() -> None:
    unit = (REPO / "deploy" / "relay.service").read_text()
    settings = [line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#")]
    values = dict(settings)
    assert values["User"] == "relay" and values["Type"] == "exec"
    assert " build " in values["ExecStartPre"] and " run " in values["ExecStart"]
    assert values["KillSignal"] == "SIGTERM"
    assert [v for k, v in settings if k == "ExecReload"][-1].startswith("/bin/kill -HUP")


def test_the_workflow_example_runs_relay_check_with_github_annotations() -> None:
    flow = YAML(typ="safe").load((REPO / ".github" / "workflows" / "relay-check.yml").read_text())
    runs = [step.get("run", "") for step in flow["jobs"]["check"]["steps"]]
    assert "relay check chains/ --format github" in runs
    done = subprocess.run(
        [sys.executable, "-m", "compiler", "check", "chains/", "--format", "github"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # the examples without keys: each optional provider is an annotation on its line
    assert any(
        line.startswith("::notice file=chains/providers.yaml,line=") for line in done.stdout.splitlines()
    )
