"""The README and docs/ hold together: every relative link points to a file that exists, and
every `#anchor` into a Markdown page names one of its headings (as GitHub spells them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: [text](target) and ![alt](target), outside code spans
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text("utf-8"))
    return {_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def _links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text("utf-8"))
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


def test_docs_exist() -> None:
    assert len(PAGES) > 1, "no pages in docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in _links(page):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        missing_anchor = anchor and dest.suffix == ".md" and anchor not in _anchors(dest)
        if not dest.exists() or missing_anchor:
            broken.append(target)
    assert not broken, f"{page.name}: links to nothing: {broken}"


def test_the_readme_is_a_users_page_of_about_200_lines() -> None:
    """What it is, the two commands, connecting, the keys, the everyday tasks, where data
    lives, when things go wrong; architecture, benchmarks and every detail live in docs/."""
    text = PAGES[0].read_text("utf-8")
    assert len(text.splitlines()) <= 220, "move detail into docs/ and link to it"
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert {"Two commands to start", "Connecting", "Keys", "Exit codes"} <= set(headings)
