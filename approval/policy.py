"""The approval policy: which roles must sign off which paths, read from `approvals.yml` on main."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pathspec
import yaml

from kbserver.content.model import Finding
from kbserver.content.yamltext import compose_yaml, load_yaml, yaml_problem
from kbserver.errors import ContentError

POLICY_FILE = "approvals.yml"
ROLES = ("operator", "lead", "approver", "admin")
# Whatever approvals.yml says, a change to one of these files needs an admin and a client approver: the policy
# itself, the site's configuration and the search synonyms change what every operator sees.
# Whatever the policy says, every change needs at least this: one sign-off by someone who did not write it.
APPROVAL_FLOOR = {"lead": 1}
POLICY_MINIMUM = {"admin": 1, "approver": 1}
PROTECTED_FILES = (POLICY_FILE, "mkdocs.yml", "synonyms.txt")

DEFAULT_POLICY = """\
# Who must sign off what. Every rule whose paths match a changed file applies; counts are per role.
# This file is read from main, never from the change request being judged.
# Paths are patterns as in CODEOWNERS (and .gitignore): "docs/kb/" is all below docs/kb/, "*.md" every page
# at any depth, "docs/**/index.md" every index.md below docs/, "/x" only x at the root; * stays within a
# folder, ** crosses folders. approvals.yml, mkdocs.yml and synonyms.txt alone name the files at the root.
# There is no negation (!): list what a rule covers.
rules:
  - paths: ["docs/procedures/**"]
    approvals: {approver: 1}
  - paths: ["docs/scripts/**"]
    approvals: {lead: 1, approver: 1}
  - paths: ["docs/kb/**"]
    approvals: {lead: 1}
  # These always need an admin and a client approver, whatever this file says.
  - paths: ["approvals.yml", "mkdocs.yml", "synonyms.txt"]
    approvals: {admin: 1, approver: 1}
# Files no rule matches.
default: {lead: 1}
"""


@cache
def _paths(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    # A bare name of one of the protected files names that file at the root, as it always has here (CODEOWNERS
    # would also match a download of that name below docs/).
    lines = ["/" + p if p in PROTECTED_FILES else p for p in patterns]
    return pathspec.GitIgnoreSpec.from_lines(lines)


@dataclass(frozen=True)
class Rule:
    paths: tuple[str, ...]
    approvals: Mapping[str, int]

    def matches(self, path: str) -> bool:
        """Whether one of the rule's patterns matches path, as a CODEOWNERS line would."""
        return _paths(self.paths).match_file(path)


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]
    default: Mapping[str, int] = field(default_factory=dict)

    def required(self, paths: Iterable[str]) -> dict[str, int]:
        """Approvals needed per role for a change touching paths: the largest count any rule asks."""
        need: dict[str, int] = {}
        for path in paths:
            rules = [r.approvals for r in self.rules if r.matches(path)] or [self.default]
            if path in PROTECTED_FILES:
                rules.append(POLICY_MINIMUM)
            for approvals in rules:
                for role, count in approvals.items():
                    need[role] = max(need.get(role, 0), count)
        need = {role: count for role, count in need.items() if count > 0}
        # A rule or default of zero approvals would let an author publish alone: never fewer than one.
        return need or dict(APPROVAL_FLOOR)


# What applies while the policy on main cannot be read: the hard minimum, for every change.
FALLBACK_POLICY = Policy((), POLICY_MINIMUM)


def _problem(message: str, line: int = 1) -> ContentError:
    return ContentError(f"{POLICY_FILE}:{line}: {message}", {"line": line})


def _lines(text: str) -> dict[str, int]:
    """The line of each top-level key and of each rule ("rule 1", ...), to point findings at."""
    try:
        node = compose_yaml(text)
    except yaml.YAMLError:
        return {}
    found: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            found[str(key.value)] = key.start_mark.line + 1
            if key.value == "rules" and isinstance(value, yaml.SequenceNode):
                for n, item in enumerate(value.value, start=1):
                    found[f"rule {n}"] = item.start_mark.line + 1
    return found


def _counts(value: object, where: str, line: int) -> dict[str, int]:
    if not isinstance(value, dict):
        raise _problem(f"{where} must map roles to counts, e.g. {{lead: 1}}", line)
    out = {}
    for role, count in value.items():
        # bool is an int in Python: `lead: yes` is not a count.
        if role not in ROLES or not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise _problem(f"{where}: {role!r}: {count!r} is not a role with a count >= 0", line)
        out[str(role)] = count
    return out


def _check_pattern(pattern: str, where: str, line: int) -> None:
    """Refuse a pattern CODEOWNERS would not read as a set of files (negation, a comment, an empty class)."""
    if pattern.startswith("!"):
        raise _problem(f"{where}: {pattern!r}: a path cannot be negated (as in CODEOWNERS)", line)
    try:
        spec = pathspec.GitIgnoreSpec.from_lines([pattern])
    except ValueError as exc:
        raise _problem(f"{where}: {pattern!r} is not a valid pattern: {exc}", line) from exc
    if all(p.include is None for p in spec.patterns):
        raise _problem(f"{where}: {pattern!r} matches no file (a comment, a blank or an unclosed '[')", line)


def parse_policy(text: str | bytes | None) -> Policy:
    """The policy in text; the built-in default when there is no file. A bad file raises ContentError."""
    source = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    source = source or DEFAULT_POLICY
    try:
        data: Any = load_yaml(source)
    except yaml.YAMLError as exc:
        line, message = yaml_problem(exc)
        raise _problem(message, line + 1) from exc
    lines = _lines(source)
    if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
        raise _problem("the file must be a mapping with a list of rules", lines.get("rules", 1))
    for key in data:
        if key not in ("rules", "default"):
            raise _problem(f"unknown key {key!r} (allowed: rules, default)", lines.get(str(key), 1))
    rules = []
    for n, rule in enumerate(data.get("rules") or [], start=1):
        line = lines.get(f"rule {n}", 1)
        if not isinstance(rule, dict) or not isinstance(rule.get("paths"), list) or not rule["paths"]:
            raise _problem(f"rule {n} needs a non-empty list of paths", line)
        unknown = sorted(str(k) for k in rule if k not in ("paths", "approvals"))
        if unknown:
            raise _problem(f"rule {n}: unknown key {unknown[0]!r} (allowed: paths, approvals)", line)
        if not all(isinstance(p, str) and p for p in rule["paths"]):
            raise _problem(f"rule {n}: every path must be a pattern such as 'docs/kb/'", line)
        for pattern in rule["paths"]:
            _check_pattern(pattern, f"rule {n}", line)
        rules.append(Rule(tuple(rule["paths"]), _counts(rule.get("approvals"), f"rule {n}", line)))
    default = _counts(data.get("default", {"lead": 1}), "default", lines.get("default", 1))
    return Policy(tuple(rules), default)


def lint_policy(text: str | bytes | None) -> list[Finding]:
    """The problems of a policy file as lint findings (file, line, rule); empty when it is valid."""
    try:
        parse_policy(text)
    except ContentError as exc:
        line = exc.details["line"] if isinstance(exc.details, dict) else 1
        message = exc.message.split(": ", 1)[-1]
        return [Finding(POLICY_FILE, int(line), "approval-policy", message)]
    return []


def policy_in_force(text: str | bytes | None) -> tuple[Policy, str | None]:
    """The policy to apply and, when the file on main cannot be used, why the hard minimum applies instead."""
    try:
        return parse_policy(text), None
    except ContentError as exc:
        return FALLBACK_POLICY, (
            f"{exc.message}; until it is fixed, every change needs an admin and a client approver"
        )
