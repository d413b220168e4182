"""Render one Python module per provider from `templates/provider.py.j2`.

Values enter the source only through the `py` filter (a double-quoted literal, the form
ruff format keeps) and the docstring only through `doc`, so no definition text can change
the module's code. Output is already ruff-format clean; a test holds it to that.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jinja2

from compiler.resolve.endpoints import urls
from compiler.resolve.providers import ProviderPlan
from runtime.artifact import FORMAT_VERSION

TEMPLATES = Path(__file__).resolve().parent / "templates"


def py_literal(value: str | None) -> str:
    return "None" if value is None else json.dumps(value, ensure_ascii=False)


def doc_text(value: str) -> str:
    return "".join(c if c.isprintable() and c not in '"\\' else "?" for c in value)


HEADERS_LHS = "STATIC_HEADERS: tuple[tuple[str, str], ...] = "
LINE_LENGTH = 110


def headers_source(headers: tuple[tuple[str, str], ...]) -> str:
    """The assignment as ruff format writes it: one line when it fits and has one pair at most."""
    pairs = [f"({py_literal(name)}, {py_literal(value)})" for name, value in headers]
    inline = HEADERS_LHS + ("()" if not pairs else f"({pairs[0]},)")
    if len(pairs) <= 1 and len(inline) <= LINE_LENGTH:
        return inline
    return HEADERS_LHS + "(\n" + "".join(f"    {pair},\n" for pair in pairs) + ")"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,  # renders Python source, not HTML; values go through `py`
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["py"] = py_literal
    env.filters["doc"] = doc_text
    return env


def render_provider(plan: ProviderPlan) -> str:
    provider = plan.provider
    return (
        environment()
        .get_template("provider.py.j2")
        .render(
            name=provider.name,
            api=provider.api,
            auth=plan.auth,
            family=provider.rate_limit_family,
            format_version=FORMAT_VERSION,
            sources=[plan.source],
            urls=urls(provider.api, provider.base_url, provider.cloud),
            static_headers=headers_source(provider.headers),
        )
    )
