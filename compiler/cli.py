"""The `relay` command: check, build, explain and run; `status` and `top` read a running relay.

Thin shell over `pipeline`, `emit` and `runtime.explain`: parse arguments, read the environment,
print, choose the exit code (0 clean or warnings only, 1 errors in the definitions, 2 usage
or I/O problems). `run` replaces this process with the runtime so the server never imports
the compiler or its dependencies.
"""

from __future__ import annotations

import asyncio
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from compiler.diagnostics import exit_code
from compiler.emit.report import as_github, as_json, as_text
from compiler.pipeline import Compiled, compile_dir

app = typer.Typer(
    help="relay: compile LLM provider chains from YAML, then serve them.\n\n"
    "Typical use: `relay check chains/` in CI, `relay build chains/` then `relay run`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def show_version(value: bool) -> None:
    if value:
        from compiler.pipeline import relay_version

        typer.echo(f"relay {relay_version()}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=show_version, is_eager=True, help="Print relay's version and exit."
        ),
    ] = False,
) -> None:
    """relay: compile LLM provider chains from YAML, then serve them."""


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"


DirArg = Annotated[
    Path, typer.Argument(metavar="DIR", help="Folder of *.yaml / *.yml definitions, read recursively.")
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Treat every warning (missing env vars too) as an error.")
]


def use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def show(result: Compiled, fmt: Format = Format.text) -> None:
    if fmt is Format.json:
        sys.stdout.write(as_json(result.diagnostics))
    elif fmt is Format.github:
        sys.stdout.write(as_github(result.diagnostics))
    else:
        sys.stdout.write(as_text(result.diagnostics, use_colour()))


@app.command()
def check(
    directory: DirArg,
    fmt: Annotated[
        Format,
        typer.Option("--format", help="text for people, json for tools, github for workflow annotations."),
    ] = Format.text,
    strict: StrictOpt = False,
) -> None:
    """Validate definitions and report every problem with file:line:col. Writes nothing.

    Missing environment variables are warnings here (CI has no secrets; --strict makes them
    errors). Exit 0 when clean or warnings only, 1 on errors, 2 when DIR cannot be read.

    Example: relay check chains/ --format github
    """
    result = compile_dir(directory, os.environ, "check", strict)
    show(result, fmt)
    raise typer.Exit(exit_code(result.diagnostics))


@app.command()
def build(
    directory: DirArg,
    out: Annotated[Path, typer.Option("-o", "--out", help="Output folder (created if missing).")] = Path(
        "generated"
    ),
    strict: StrictOpt = False,
) -> None:
    """Compile definitions into OUT: routing.json, providers/*.py, lint report, secrets.json (0600).

    Keys are read from the environment now; rebuild after rotating one and a running relay
    picks the new build up. Nothing is written when there are errors (exit 1).

    Example: relay build chains/ -o generated/ && relay run generated/
    """
    from compiler.emit.write import write_build

    result = compile_dir(directory, os.environ, "build", strict)
    show(result)
    if result.artifact is None:
        raise typer.Exit(exit_code(result.diagnostics) or 1)
    try:
        written = write_build(result, directory, out)
    except OSError as exc:
        typer.echo(f"{out}: cannot write the build: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    providers, chains = len(result.artifact.providers), len(result.artifact.chains)
    typer.echo(f"wrote {len(written)} files to {out}/ ({providers} providers, {chains} chains)")


@app.command()
def explain(
    model: Annotated[
        str | None, typer.Argument(help="A model name as a client would send it, e.g. claude-sonnet-4-6.")
    ] = None,
    directory: Annotated[Path, typer.Option("--dir", help="Definitions folder.")] = Path("chains"),
    request: Annotated[
        Path | None,
        typer.Option(
            "--request", help="A sample request body (JSON): shows which routing rule fires and why."
        ),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option("--header", help="A request header for --request, 'name: value'; repeatable."),
    ] = None,
    client_key: Annotated[
        str | None, typer.Option("--client-key", help="For --request: the client key's variable name.")
    ] = None,
    openai: Annotated[
        bool, typer.Option("--openai", help="For --request: the body is a Chat Completions request.")
    ] = False,
) -> None:
    """Show how a request for MODEL, or a sample request (--request FILE.json), resolves: the
    routing rules tried, the chain, why, and each step with its limits.

    Example: relay explain claude-sonnet-4-6 --dir chains/ ;
    relay explain --request turn.json --header 'x-claude-code-session-id: s1'
    """
    from runtime.explain import explain as explain_model
    from runtime.explain import explain_request

    if (model is None) == (request is None):
        typer.echo("give a MODEL or --request FILE.json (one of them)", err=True)
        raise typer.Exit(2)
    headers: dict[str, str] = {}
    for line in header or []:
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            typer.echo(f"--header {line!r}: expected 'name: value'", err=True)
            raise typer.Exit(2)
        headers[name.strip()] = value.strip()
    body = b""
    if request is not None:
        try:
            body = request.read_bytes()
        except OSError as exc:
            typer.echo(f"{request}: cannot read: {exc.strerror or exc}", err=True)
            raise typer.Exit(2) from None
    result = compile_dir(directory, os.environ, "check")
    if result.artifact is None:
        show(result)
        raise typer.Exit(exit_code(result.diagnostics) or 1)
    if model is not None:
        text, found = explain_model(result.artifact, model)
    else:
        try:
            fmt = "openai" if openai else "anthropic"
            text, found = explain_request(result.artifact, body, fmt, headers, client_key)
        except ValueError as exc:
            typer.echo(f"{request}: {exc}", err=True)
            raise typer.Exit(2) from None
    typer.echo(text, nl=False)
    raise typer.Exit(0 if found else 1)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the definition language, for editors.

    Save it and start each definition file with `# yaml-language-server: $schema=PATH`.

    Example: relay schema > relay.schema.json
    """
    from compiler import schema as definition_schema

    sys.stdout.write(definition_schema.render(definition_schema.schema()))


@app.command()
def run(
    generated: Annotated[Path, typer.Argument(help="A folder written by `relay build`.")] = Path("generated"),
    listen: Annotated[str | None, typer.Option(help="host:port, overriding server.listen.")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (default: the runtime's).")
    ] = None,
) -> None:
    """Serve a build made by `relay build`; rebuild while it runs to reload.

    Replaces this process with `python -m runtime.server.serve GENERATED`.

    Example: relay run generated/ --listen 127.0.0.1:8787
    """
    from compiler.emit.freshness import stale_sources

    changed = stale_sources(generated)
    if changed is not None:
        typer.echo(
            f"relay run: {os.path.normpath(changed)} changed since {generated} was built; serving the old build "
            f"(relay build {os.path.normpath(changed)} -o {generated} rebuilds it, and this relay reloads it)",
            err=True,
        )
    argv = [sys.executable, "-m", "runtime.server.serve", str(generated)]
    argv += ["--listen", listen] if listen else []
    argv += ["--workers", str(workers)] if workers else []
    sys.stdout.flush()
    os.execv(sys.executable, argv)


UrlOpt = Annotated[
    str | None,
    typer.Option("--url", envvar="RELAY_URL", help="The running relay (default http://127.0.0.1:8787)."),
]
AdminKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--admin-key", envvar="RELAY_ADMIN_KEY", help="One of server.admin.keys.", show_default=False
    ),
]


@app.command()
def status(
    url: UrlOpt = None,
    admin_key: AdminKeyOpt = None,
    watch: Annotated[
        float | None, typer.Option("--watch", min=0.2, help="Refresh every N seconds until Ctrl-C.")
    ] = None,
) -> None:
    """Show a running relay's chains, steps and keys with their state and countdowns.

    Reads GET /admin/state (console/, never the compiler). Example: relay status --watch 2
    """
    from console.status import run as show_status

    raise typer.Exit(show_status(url, admin_key, watch))


@app.command()
def top(url: UrlOpt = None, admin_key: AdminKeyOpt = None) -> None:
    """A live terminal view of a running relay: state, request feed, usage.

    Keys: p pause the feed, r reload, f filter by chain, q quit. Example: relay top
    """
    from runtime.extras import TUI

    if not TUI.installed():
        typer.echo(
            f"relay top: needs relay[{TUI.name}] ({TUI.module}), not installed: {TUI.install}", err=True
        )
        raise typer.Exit(2)
    from console.top import run as run_top

    raise typer.Exit(run_top(url, admin_key))


@app.command()
def usage(
    since: Annotated[str, typer.Option(help="How far back: 24h, 7d, 30m, or Unix seconds.")] = "24h",
    by: Annotated[str, typer.Option(help="provider, chain, model, key, hour or day.")] = "provider",
    url: UrlOpt = None,
    admin_key: AdminKeyOpt = None,
) -> None:
    """What a running relay served, cost and saved: requests, tokens, cost, reference cost.

    Example: relay usage --since 7d --by chain
    """
    from console.client import AdminError
    from console.usage import fetch, show

    try:
        data = asyncio.run(fetch(url, admin_key, since, by))
    except AdminError as exc:
        typer.echo(f"relay usage: {exc}", err=True)
        raise typer.Exit(1) from None
    tty = sys.stdout.isatty()  # piped: wide enough that no figure is cut to fit 80 columns
    show(data, Console(no_color=not use_colour(), width=None if tty else 200))


def main() -> None:
    app()
