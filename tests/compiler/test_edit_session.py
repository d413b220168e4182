"""The editor's requests (`python -m compiler.edit`): read, check, preview, save; refusals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.edit.session import Refused, handle, safe_rel
from runtime.server.loader import load

CHAINS = Path(__file__).resolve().parents[2] / "chains"
MOVE = {"op": "move_step", "chain": "free", "from": 4, "to": 0}


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    defs = shutil.copytree(CHAINS, tmp_path / "chains")
    out = tmp_path / "generated"
    out.mkdir()
    return defs, out


def ask(defs: Path, out: Path, **request: Any) -> tuple[int, dict[str, Any]]:
    return handle({"dir": str(defs), "out": str(out), **request}, {})


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_the_module_answers_one_json_request_on_stdin(folders: tuple[Path, Path]) -> None:
    defs, out = folders
    request = json.dumps({"action": "read", "dir": str(defs), "out": str(out)})
    done = subprocess.run(
        [sys.executable, "-m", "compiler.edit"], input=request.encode(), capture_output=True, check=True
    )
    answer = json.loads(done.stdout)
    assert answer["status"] == 200 and answer["body"]["writable"] is True
    assert [f["path"] for f in answer["body"]["files"]] == sorted(p.name for p in CHAINS.glob("*.yaml"))
    garbage = subprocess.run(
        [sys.executable, "-m", "compiler.edit"], input=b"{nope", capture_output=True, check=True
    )
    assert json.loads(garbage.stdout)["status"] == 400


def test_check_and_preview_write_nothing(folders: tuple[Path, Path]) -> None:
    defs, out = folders
    before = snapshot(defs)
    status, checked = ask(defs, out, action="check", files={"chains.yaml": "version: 1\nchains: {free: [\n"})
    assert status == 200 and not checked["ok"]
    assert {(d["file"], d["line"], d["code"]) for d in checked["diagnostics"]} >= {("chains.yaml", 3, "R008")}
    status, preview = ask(defs, out, action="preview", edits=[MOVE])
    assert status == 200 and preview["ok"] and preview["changed"] == ["chains.yaml"]
    assert (
        "+      - sim-steady/demo" in preview["diff"]
        and "# Free tiers first" in preview["files"]["chains.yaml"]
    )
    assert snapshot(defs) == before and not any(out.iterdir())


def test_save_writes_the_files_and_builds(folders: tuple[Path, Path]) -> None:
    defs, out = folders
    _, read = ask(defs, out, action="read")
    status, saved = ask(defs, out, action="save", etag=read["etag"], edits=[MOVE])
    assert status == 200 and saved["written"] == ["chains.yaml"] and saved["etag"] != read["etag"]
    steps = load(out).artifact.chains["free"].steps
    assert [s.provider for s in steps][:2] == ["sim-steady", "groq"]
    assert load(out).source_dir == defs.resolve()
    status, again = ask(
        defs,
        out,
        action="save",
        etag=read["etag"],
        bases={f["path"]: f["sha256"] for f in read["files"]},
        edits=[MOVE],
    )
    assert (
        status == 409 and again["changed"] == ["chains.yaml"] and "chains.yaml" in again["error"]["message"]
    )


def test_a_refused_build_writes_nothing(folders: tuple[Path, Path]) -> None:
    defs, out = folders
    before = snapshot(defs)
    _, read = ask(defs, out, action="read")
    edit = {"op": "add_step", "chain": "free", "step": "nosuch/model"}
    status, refused = ask(defs, out, action="save", etag=read["etag"], edits=[edit])
    assert status == 422 and any(d["code"] == "R201" for d in refused["diagnostics"])
    assert snapshot(defs) == before and not any(out.iterdir())


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({"../outside.yaml": "version: 1\n"}, "outside the definitions folder"),
        ({"/etc/relay.yaml": "version: 1\n"}, "outside the definitions folder"),
        ({".hidden/x.yaml": "version: 1\n"}, "outside the definitions folder"),
        ({"notes.txt": "hello"}, "not a YAML file"),
        ({"chains.yaml": 7}, "must be text"),
    ],
)
def test_bad_drafts_are_a_400(folders: tuple[Path, Path], files: dict[str, Any], says: str) -> None:
    defs, out = folders
    status, body = ask(defs, out, action="check", files=files)
    assert status == 400 and says in body["error"]["message"]
    assert not (defs.parent / "outside.yaml").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only modes")
def test_a_read_only_folder_is_said_and_the_diff_offered(folders: tuple[Path, Path]) -> None:
    defs, out = folders
    defs.chmod(0o555)
    (defs / "chains.yaml").chmod(0o444)
    try:
        _, read = ask(defs, out, action="read")
        assert read["writable"] is False and "read-only" in read["read_only_reason"]
        status, refused = ask(defs, out, action="save", etag=read["etag"], edits=[MOVE])
        assert status == 403 and "download the diff" in refused["error"]["message"]
        assert "+      - sim-steady/demo" in refused["diff"]
    finally:
        defs.chmod(0o755)
        (defs / "chains.yaml").chmod(0o644)


LITERAL = "gsk_live_0123456789abcdefSECRET"


def test_a_literal_secret_on_disk_is_never_shown_and_never_saved(folders: tuple[Path, Path]) -> None:
    defs, out = folders
    providers = defs / "providers.yaml"
    providers.write_text(providers.read_text().replace('"${GROQ_API_KEY:-}"', f'"{LITERAL}", {LITERAL}'))
    status, read = ask(defs, out, action="read")
    assert status == 200 and LITERAL not in json.dumps(read)
    shown = next(f["text"] for f in read["files"] if f["path"] == "providers.yaml")
    assert shown.count("${hidden: a secret was written here") == 2
    edit = {"op": "set_provider", "provider": "groq", "fields": {"limits": {"rpm": 1}}}
    status, preview = ask(defs, out, action="preview", edits=[edit])
    assert status == 200 and LITERAL not in json.dumps(preview)
    assert any(d["code"] == "R204" for d in preview["diagnostics"])
    status, refused = ask(defs, out, action="save", etag=read["etag"], files=preview["files"])
    assert status == 422 and LITERAL not in json.dumps(refused)
    assert any(d["code"] == "R217" for d in refused["diagnostics"])  # the placeholder builds nothing
    assert LITERAL in providers.read_text() and not any(out.iterdir())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*"ab./\\\0~-_ ", "..", ".yaml", ".yml", "yaml", "/x"]), max_size=12).map(
        "".join
    )
)
def test_a_draft_path_is_inside_the_folder_and_yaml_or_refused(name: str) -> None:
    try:
        rel = safe_rel(name)
    except Refused as exc:
        assert exc.status == 400
        return
    root = Path("/defs")
    assert (root / rel).resolve().is_relative_to(root) and rel.endswith((".yaml", ".yml"))
    assert not any(part.startswith(".") for part in Path(rel).parts)


def test_a_save_never_writes_through_a_link_out_of_the_folder(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    defs, out = folders
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "linked.yaml").write_text("version: 1\n")
    (defs / "linked.yaml").symlink_to(outside / "linked.yaml")
    (defs / "sub").symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    for name in ("linked.yaml", "sub/new.yaml"):
        _, read = ask(defs, out, action="read")
        status, body = ask(
            defs, out, action="save", etag=read["etag"], files={name: "version: 1\n# changed\n"}
        )
        assert status == 400 and "outside the definitions folder" in body["error"]["message"], name
    assert snapshot(outside) == before and not any(out.iterdir())
