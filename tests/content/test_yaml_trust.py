"""Content YAML has no anchors or aliases, and the content's nav links only pages and http(s): each is a lint
finding with its file and line, and refusing a "billion laughs" document takes no time (issue 11)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import pytest

from approval.policy import lint_policy
from kbserver.content import parse_document
from kbserver.content.checks import lint_directory
from kbserver.siteconfig import read_site_config
from tests.content.test_lint_trust import _content, _found

ARTICLE = "---\nid: KB-0500\ntitle: T\nlang: es\nowner: a\naudience: [L1]\nreview_by: 2030-01-01\n"
SELF_ALIAS_FRONT_MATTER = ARTICLE + "tags: &a [x, *a]\n---\n\nTexto.\n"
RECURSIVE_NAV = "site_name: Sitio\nnav: &a\n  - index.md\n  - T: *a\n"
ALIAS_POLICY = "default: &d {lead: 1}\nrules:\n  - paths: ['docs/**']\n    approvals: *d\n"


def billion_laughs(entry: str, levels: int = 9) -> list[str]:
    """Lines of a list nested `levels` deep by aliases, 9 wide: 9**levels entries in a few hundred bytes."""
    lines = [f"  - L0: &l0 [{', '.join([entry] * 9)}]"]
    for n in range(1, levels + 1):
        lines.append(f"  - L{n}: &l{n} [{', '.join([f'{{T: *l{n - 1}}}'] * 9)}]")
    return lines


@contextmanager
def at_most(seconds: float) -> Iterator[None]:
    """Fail the block if it runs longer than seconds (the old code walked a bomb for hours, not seconds)."""

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_anchors_and_aliases_are_lint_errors_with_their_file_and_line(tmp_path: Path) -> None:
    root = _content(tmp_path)
    (root / "docs" / "kb" / "red" / "a.md").write_text(SELF_ALIAS_FRONT_MATTER)
    (root / "mkdocs.yml").write_text(RECURSIVE_NAV)
    (root / "approvals.yml").write_text(ALIAS_POLICY)
    found = _found(root)
    assert ("docs/kb/red/a.md", 8, "front-matter-yaml") in found
    assert ("mkdocs.yml", 2, "site-config") in found
    assert ("approvals.yml", 1, "approval-policy") in found
    messages = [f.message for f in lint_directory(root) if f.rule in ("front-matter-yaml", "site-config")]
    assert all("anchor &a is not allowed" in m for m in messages), messages


def test_a_billion_laughs_document_is_refused_at_once() -> None:
    front_matter = "---\ntags:\n" + "\n".join(billion_laughs("lol")) + "\n---\n\nTexto.\n"
    config = "site_name: Sitio\nnav:\n" + "\n".join(billion_laughs("a.md")) + "\n"
    policy = "rules:\n  - paths:\n" + "\n".join("    " + ln for ln in billion_laughs("'docs/**'")) + "\n"
    started = time.monotonic()
    with at_most(20):  # generous for a slow machine; refusing takes milliseconds
        document = parse_document("docs/kb/red/bomb.md", front_matter)
        site = read_site_config(config)
        refused = lint_policy(policy)
    assert time.monotonic() - started < 20
    assert [f.rule for f in document.findings] == ["front-matter-yaml"] and document.raw_meta == {}
    assert [(f.line, f.rule) for f in site.findings] == [(3, "site-config")] and site.values == {}
    assert [(f.line, f.rule) for f in refused] == [(3, "approval-policy")]


NAV = """site_name: Sitio
nav:
  - index.md
  - javascript:alert(1)//a.md
  - Foo: javascript:alert(5)//b.md
  - Red:
      - kb/red/a.md
      - Vb: VBScript:msgbox(1).md
      - Back: kb\\red\\a.md
      - Up: ../../etc/passwd.md
      - Ctl: "kb/red/a\\tb.md"
      - Web: https://example.com/x
      - Bad web: "https://example.com/\\x01"
  - Data: data:text/html,x.md
"""


def test_nav_targets_other_than_pages_and_http_links_are_refused_with_their_line(tmp_path: Path) -> None:
    config = read_site_config(NAV)
    assert sorted(f.line for f in config.findings) == [4, 5, 8, 9, 10, 11, 13, 14]
    assert all(f.rule == "site-config" and "nav must list" in f.message for f in config.findings)
    assert "nav" not in config.values  # the build uses its own navigation instead
    root = _content(tmp_path)
    (root / "mkdocs.yml").write_text(NAV)
    assert {line for path, line, _rule in _found(root) if path == "mkdocs.yml"} == {
        4,
        5,
        8,
        9,
        10,
        11,
        13,
        14,
    }


@pytest.mark.parametrize(
    "target", ["index.md", "kb/red/a.md", "./kb/red vpn/a b.md", "https://example.com/a?b=c#d"]
)
def test_pages_and_http_links_stay_in_the_nav(target: str) -> None:
    config = read_site_config(f"nav:\n  - Inicio: {target!r}\n")
    assert config.findings == [] and config.values["nav"] == [{"Inicio": target}]
