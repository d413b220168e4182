"""Diagnostic formats, byte for byte."""

from __future__ import annotations

import json

from compiler.diagnostics import Diagnostic, exit_code, ordered, pointer
from compiler.emit.report import as_github, as_json, as_text, text_line

ERROR = Diagnostic(
    "R201", "error", "unknown provider 'x'", "c.yaml", 4, 7, "/chains/free/steps/1", "did you mean 'y'?"
)
WARNING = Diagnostic("R208", "warning", "provider 'z' is used by no chain", "p.yaml", 2, 3, "/providers/z")


def test_text_line() -> None:
    assert text_line(ERROR) == (
        "c.yaml:4:7: error R201 unknown provider 'x' [/chains/free/steps/1] hint: did you mean 'y'?"
    )
    assert text_line(WARNING) == "p.yaml:2:3: warning R208 provider 'z' is used by no chain [/providers/z]"


def test_colour_only_when_asked() -> None:
    assert "\x1b[31merror\x1b[0m" in text_line(ERROR, colour=True)
    assert "\x1b" not in as_text([ERROR, WARNING])


def test_summary_and_json() -> None:
    assert as_text([ERROR, WARNING]).splitlines()[-1] == "1 error, 1 warning, 0 info"
    assert json.loads(as_json([WARNING]))["summary"] == {"error": 0, "warning": 1, "info": 0}


def test_github_escapes_properties_and_body() -> None:
    odd = Diagnostic("R008", "info", "50% done\nnext", "a,b:c.yaml", 1, 1, "")
    assert (
        as_github([odd]).splitlines()[0]
        == "::notice file=a%2Cb%3Ac.yaml,line=1,col=1,title=R008::50%25 done%0Anext"
    )


def test_pointer_escapes() -> None:
    assert pointer(["models", "meta/llama~3", 0]) == "/models/meta~1llama~03/0"
    assert pointer([]) == ""


def test_exit_codes_and_order() -> None:
    io = Diagnostic("R002", "error", "cannot read", "x.yaml", 1, 1, "")
    assert [exit_code([]), exit_code([WARNING]), exit_code([ERROR, WARNING]), exit_code([ERROR, io])] == [
        0,
        0,
        1,
        2,
    ]
    assert ordered([WARNING, ERROR, ERROR]) == [ERROR, WARNING]
