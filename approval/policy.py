"""The approval policy: which roles must sign off which paths, read from `approvals.yml` on main."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache

import yaml

from kbserver.errors import ContentError

POLICY_FILE = "approvals.yml"
ROLES = ("operator", "lead", "approver", "admin")
# Whatever the file says, a change to the policy itself needs an admin and a client approver.
POLICY_MINIMUM = {"admin": 1, "approver": 1}

DEFAULT_POLICY = """\
# Who must sign off what. Every rule whose paths match a changed file applies; counts are per role.
# This file is read from main, never from the change request being judged.
rules:
  - paths: ["docs/procedures/**"]
    approvals: {approver: 1}
  - paths: ["docs/scripts/**"]
    approvals: {lead: 1, approver: 1}
  - paths: ["docs/kb/**"]
    approvals: {lead: 1}
  - paths: ["approvals.yml"]
    approvals: {admin: 1, approver: 1}
# Files no rule matches (mkdocs.yml, synonyms.txt, ...).
default: {lead: 1}
"""


@cache
def _glob(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


@dataclass(frozen=True)
class Rule:
    paths: tuple[str, ...]
    approvals: Mapping[str, int]

    def matches(self, path: str) -> bool:
        """Whether one of the rule's globs matches path (`**` crosses folders, `*` does not)."""
        return any(_glob(p).match(path) for p in self.paths)


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]
    default: Mapping[str, int] = field(default_factory=dict)

    def required(self, paths: Iterable[str]) -> dict[str, int]:
        """Approvals needed per role for a change touching paths: the largest count any rule asks."""
        need: dict[str, int] = {}
        for path in paths:
            rules = [r.approvals for r in self.rules if r.matches(path)] or [self.default]
            if path == POLICY_FILE:
                rules.append(POLICY_MINIMUM)
            for approvals in rules:
                for role, count in approvals.items():
                    need[role] = max(need.get(role, 0), count)
        return need


def _counts(value: object, where: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ContentError(f"{POLICY_FILE}: {where} must map roles to counts, e.g. {{lead: 1}}")
    out = {}
    for role, count in value.items():
        if role not in ROLES or not isinstance(count, int) or count < 0:
            raise ContentError(f"{POLICY_FILE}: {where}: {role!r}: {count!r} is not a role with a count >= 0")
        out[str(role)] = count
    return out


def parse_policy(text: str | bytes | None) -> Policy:
    """The policy in text; the built-in default when there is no file."""
    data = yaml.safe_load(text if text else DEFAULT_POLICY)
    if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
        raise ContentError(f"{POLICY_FILE} must have a list of rules")
    rules = []
    for n, rule in enumerate(data.get("rules", []), start=1):
        if not isinstance(rule, dict) or not isinstance(rule.get("paths"), list) or not rule["paths"]:
            raise ContentError(f"{POLICY_FILE}: rule {n} needs a non-empty list of paths")
        rules.append(Rule(tuple(str(p) for p in rule["paths"]), _counts(rule.get("approvals"), f"rule {n}")))
    return Policy(tuple(rules), _counts(data.get("default", {"lead": 1}), "default"))
