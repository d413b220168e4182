"""The `relay` command: exit codes, output formats, help, and `run` handing over to the runtime."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from compiler import cli
from tests.compiler.conftest import SIMULATED, write_files

runner = CliRunner()
BROKEN = {"d.yaml": "version: 1\nproviders:\n  local: {api: simulatd}\nchains:\n  c: {steps: [local/x]}\n"}
NEEDS_KEY = {
    "d.yaml": SIMULATED.replace("simulated\n", "simulated\n    keys: ['${RELAY_T_CLI_KEY}']\n"),
}


def relay(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(cli.app, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    return write_files(tmp_path / "clean", {"d.yaml": SIMULATED})


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    return write_files(tmp_path / "broken", BROKEN)


def test_check_clean_exits_0(clean: Path) -> None:
    status, output = relay("check", str(clean))
    assert status == 0
    assert output.splitlines()[-1] == "0 errors, 0 warnings, 1 info"
    assert "\x1b[" not in output


def test_check_errors_exit_1_with_located_text(broken: Path) -> None:
    status, output = relay("check", str(broken))
    assert status == 1
    assert (
        f"{broken}/d.yaml:3:16: error R103 'simulatd' is not allowed here [/providers/local/api] hint: did you mean"
        in output
    )


def test_check_json(broken: Path) -> None:
    status, output = relay("check", str(broken), "--format", "json")
    body = json.loads(output)
    assert status == 1 and body["summary"] == {"error": 1, "warning": 0, "info": 0}
    assert body["diagnostics"][0] | {"file": "-", "hint": "-"} == {
        "code": "R103", "severity": "error", "file": "-", "line": 3, "col": 16,
        "pointer": "/providers/local/api", "message": "'simulatd' is not allowed here", "hint": "-",
    }  # fmt: skip


def test_check_github(broken: Path) -> None:
    _, output = relay("check", str(broken), "--format", "github")
    assert output.startswith(
        f"::error file={broken}/d.yaml,line=3,col=16,title=R103::'simulatd' is not allowed"
    )


@pytest.mark.parametrize("args", [[], ["check"], ["check", ".", "--format", "xml"], ["frobnicate"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert runner.invoke(cli.app, args).exit_code == 2


def test_missing_folder_exits_2(tmp_path: Path) -> None:
    status, output = relay("check", str(tmp_path / "nope"))
    assert status == 2 and "R001" in output


def test_missing_env_warns_in_check_fails_in_build_and_strict(tmp_path: Path) -> None:
    defs = write_files(tmp_path / "defs", NEEDS_KEY)
    out = tmp_path / "out"
    assert relay("check", str(defs))[0] == 0
    assert relay("check", str(defs), "--strict")[0] == 1
    status, output = relay("build", str(defs), "-o", str(out))
    assert status == 1 and "error R203" in output and not out.exists()
    status, output = relay("build", str(defs), "-o", str(out), env={"RELAY_T_CLI_KEY": "k-SECRET-VALUE-123"})
    assert status == 0 and "wrote 9 files" in output and "SECRET" not in output
    assert (out / "manifest.json").exists()


def test_build_into_unwritable_place_exits_2(clean: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    status, output = relay("build", str(clean), "-o", str(blocker))
    assert status == 2 and "cannot write the build" in output


def test_explain(clean: Path) -> None:
    status, output = relay("explain", "main", "--dir", str(clean))
    assert status == 0 and output.startswith("main → chain main\n  why: exact chain name")
    status, output = relay("explain", "other", "--dir", str(clean))
    assert status == 1 and "no chain" in output


RULES = SIMULATED + (
    "  other:\n    steps: [local/other]\n"
    "rules:\n"
    "  agent:\n    when: {headers: {x-agent: 'rev*'}}\n    chain: other\n"
    "  search:\n    when: {tool_types: [web_search]}\n    chain: other\n"
)


def test_explain_request_shows_which_rule_fires_and_why(tmp_path: Path) -> None:
    defs = write_files(tmp_path / "rules", {"d.yaml": RULES})
    sample = tmp_path / "req.json"
    sample.write_text('{"model": "m", "tools": [{"type": "web_search_20250305", "name": "web_search"}]}')
    status, output = relay("explain", "--request", str(sample), "--dir", str(defs))
    assert status == 0, output
    assert "  agent: no, headers.x-agent does not hold (headers={'x-agent': 'rev*'})\n" in output
    assert "  search: MATCHES (tool_types=['web_search']) → chain other\n" in output
    assert "m → chain other\n  why: rule 'search'\n" in output
    status, output = relay(
        "explain", "--request", str(sample), "--header", "X-Agent: reviewer", "--dir", str(defs)
    )
    assert status == 0 and "agent: MATCHES" in output and "search:" not in output
    sample.write_text('{"model": "main"}')
    status, output = relay("explain", "--request", str(sample), "--dir", str(defs))
    assert "no rule matches: the model name decides\nmain → chain main\n  why: exact chain name" in output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "give a MODEL or --request"),
        (("main", "--request", "x.json"), "give a MODEL or --request"),
        (("--request", "missing.json"), "cannot read"),
        (("--request", "REQ", "--header", "no-colon"), "expected 'name: value'"),
    ],
)
def test_explain_usage_errors_exit_2(clean: Path, tmp_path: Path, args: tuple[str, ...], says: str) -> None:
    sample = tmp_path / "req.json"
    sample.write_text('{"model": "main"}')
    argv = [str(sample) if a == "REQ" else str(tmp_path / a) if a.endswith(".json") else a for a in args]
    status, output = relay("explain", *argv, "--dir", str(clean))
    assert status == 2 and says in output


def test_explain_request_that_is_not_a_request_exits_2(clean: Path, tmp_path: Path) -> None:
    sample = tmp_path / "req.json"
    for text, says in (("[1]", "not a JSON object"), ("{}", "has no model")):
        sample.write_text(text)
        status, output = relay("explain", "--request", str(sample), "--dir", str(clean))
        assert status == 2 and says in output


def test_explain_on_broken_definitions_shows_diagnostics(broken: Path) -> None:
    status, output = relay("explain", "c", "--dir", str(broken))
    assert status == 1 and "R103" in output


@pytest.mark.parametrize(
    ("args", "tail"),
    [
        ([], ["generated"]),
        (
            ["out", "--listen", "0.0.0.0:9000", "--workers", "4"],
            ["out", "--listen", "0.0.0.0:9000", "--workers", "4"],
        ),
    ],
)
def test_run_execs_the_runtime(monkeypatch: pytest.MonkeyPatch, args: list[str], tail: list[str]) -> None:
    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(os, "execv", lambda path, argv: calls.append((path, argv)))
    assert runner.invoke(cli.app, ["run", *args]).exit_code == 0
    assert calls == [(sys.executable, [sys.executable, "-m", "runtime.server.serve", *tail])]


def test_help_names_every_command() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "compiler", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    for command in ("check", "build", "explain", "run"):
        assert command in proc.stdout


def test_subprocess_check_examples_passes() -> None:
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-m", "compiler", "check", "chains"], cwd=repo, capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_version() -> None:
    status, output = relay("--version")
    assert status == 0 and output.startswith("relay ") and output.strip() != "relay"


def test_schema_prints_the_committed_schema() -> None:
    from compiler.schema import SCHEMA_PATH

    status, output = relay("schema")
    assert status == 0 and output == SCHEMA_PATH.read_text(encoding="utf-8")
