"""The policy's path patterns read as CODEOWNERS lines; the patterns written before still mean the same."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from approval.policy import lint_policy, parse_policy
from kbserver.resources import starter_content

MARK = {"lead": 3}  # a count no default or minimum gives: the rule matched


def _matches(pattern: str, path: str) -> bool:
    policy = parse_policy(f"rules:\n  - paths: [{json.dumps(pattern)}]\n    approvals: {{lead: 3}}\n")
    return policy.required([path]).get("lead") == MARK["lead"]


@pytest.mark.parametrize(
    ("pattern", "path", "matched"),
    [
        ("docs/kb/", "docs/kb/red-vpn/vpn-lenta.md", True),
        ("docs/kb/", "docs/kb/index.md", True),
        ("docs/kb/", "docs/kbx/index.md", False),
        ("docs/kb/", "docs/procedures/01-alcance-horario.md", False),
        ("*.md", "docs/kb/red-vpn/vpn-lenta.md", True),
        ("*.md", "docs/index.md", True),
        ("*.md", "docs/assets/logo.png", False),
        ("docs/**/index.md", "docs/index.md", True),
        ("docs/**/index.md", "docs/kb/index.md", True),
        ("docs/**/index.md", "docs/kb/mfa/index.md", True),
        ("docs/**/index.md", "docs/kb/mfa/llave-fido2.md", False),
        ("/docs/scripts/", "docs/scripts/cierre-encuesta.md", True),
        ("scripts/", "docs/scripts/cierre-encuesta.md", True),  # a folder of that name anywhere
        ("**/descargas/*.txt", "docs/kb/red-vpn/descargas/ip.txt", True),
    ],
)
def test_patterns_match_what_codeowners_would(pattern: str, path: str, matched: bool) -> None:
    assert _matches(pattern, path) is matched


def _old_glob(pattern: str) -> re.Pattern[str]:
    """The policy's own glob before CODEOWNERS patterns: anchored, `**` crosses folders, `*` does not."""
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    tokens = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(tokens.get(p, re.escape(p)) for p in parts) + r"\Z")


OLD_PATTERNS = [  # the starter's approvals.yml, and what the tests wrote before
    *(
        p
        for rule in yaml.safe_load((starter_content() / "approvals.yml").read_text())["rules"]
        for p in rule["paths"]
    ),
    "docs/kb/*/index.md",
    "docs/**",
    "**",
]
PATHS = [
    *(
        p.relative_to(starter_content()).as_posix()
        for p in sorted(starter_content().rglob("*"))
        if p.is_file()
    ),
    "docs/kb/red-vpn/descargas/synonyms.txt",  # a download that shares a configuration file's name
    "docs/kb/mfa/index.md",
    "docs/kb/a/b/c/d.md",
    "docs/kbx/file.md",
]


@pytest.mark.parametrize("pattern", OLD_PATTERNS)
def test_the_patterns_written_before_keep_their_meaning(pattern: str) -> None:
    assert len(PATHS) > 20
    assert [p for p in PATHS if _matches(pattern, p)] == [p for p in PATHS if _old_glob(pattern).match(p)]


def test_the_starter_policy_still_asks_what_it_asked() -> None:
    policy = parse_policy((starter_content() / "approvals.yml").read_text())
    assert policy.required(["docs/kb/red-vpn/descargas/synonyms.txt"]) == {"lead": 1}  # not the site's file
    assert policy.required(["synonyms.txt"]) == {"admin": 1, "approver": 1}


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("!docs/kb/borradores/", "cannot be negated"),
        ("#docs", "matches no file"),
        ("docs/[", "matches no file"),
        ("docs\\", "not a valid pattern"),
    ],
)
def test_a_pattern_that_is_no_set_of_files_is_a_lint_finding(pattern: str, words: str) -> None:
    [finding] = lint_policy(f"rules:\n  - paths: [{json.dumps(pattern)}]\n    approvals: {{lead: 1}}\n")
    assert (finding.path, finding.line, finding.rule) == ("approvals.yml", 2, "approval-policy")
    assert words in finding.message
