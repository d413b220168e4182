"""The README is a front page that fits on a screen, and every relative link and anchor in
it, in docs/ and in the package READMEs leads somewhere: a moved section or a renamed
heading fails here instead of leaving a reader at a dead link."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PAGES = sorted([README, *REPO.glob("docs/*.md"), *REPO.glob("*/README.md"), *REPO.glob("*/*/README.md")])
README_LINES = 120
ROW_CHARS = 120
PENDING: frozenset[str] = frozenset()
"""Pages the README's map names that are being written on other branches: a link to one
of them may dangle until it lands, and then it must leave this set."""

FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def prose(text: str) -> str:
    """The text without code blocks and code spans, where brackets are not links."""
    return CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def broken(page: Path) -> list[str]:
    problems = []
    for target in LINK.findall(prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        rel = dest.relative_to(REPO).as_posix() if dest.is_relative_to(REPO) else str(dest)
        if not dest.exists():
            if rel not in PENDING:
                problems.append(f"{target}: no file {rel}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{target}: no heading #{anchor} in {rel}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    assert broken(page) == []


def test_pending_pages_leave_the_pending_set_once_they_exist() -> None:
    assert sorted(p for p in PENDING if (REPO / p).exists()) == []


def test_the_readme_fits_on_a_screen() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_LINES
    assert [row for row in lines if row.startswith("|") and len(row) > ROW_CHARS] == []


def test_the_readme_has_no_internal_history() -> None:
    """Issue numbers and commit hashes mean nothing to a newcomer."""
    text = prose(README.read_text(encoding="utf-8"))
    assert re.findall(r"\bissues? \d+|#\d+\b|\bR\d{3}\b", text, re.I) == []
    assert [
        h for h in re.findall(r"\b[0-9a-f]{7,40}\b", text) if re.search(r"[a-f]", h) and re.search(r"\d", h)
    ] == []


def test_the_readme_maps_every_docs_page() -> None:
    text = README.read_text(encoding="utf-8")
    assert [p.name for p in sorted(REPO.glob("docs/*.md")) if f"(docs/{p.name})" not in text] == []


def test_the_slugs_follow_github() -> None:
    assert slug("`server.webhooks`") == "serverwebhooks"
    assert slug("Failover: what each upstream answer means") == "failover-what-each-upstream-answer-means"
    assert slug("Cloud providers: Bedrock, Vertex AI, Azure") == "cloud-providers-bedrock-vertex-ai-azure"
    assert slug("How a requested model resolves") == "how-a-requested-model-resolves"
