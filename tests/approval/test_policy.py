"""The approval policy: default rules, path globs, the policy file's own minimum, and bad files."""

from __future__ import annotations

import pytest

from approval.policy import DEFAULT_POLICY, lint_policy, parse_policy, policy_in_force
from kbserver.errors import ContentError


def test_default_rules() -> None:
    policy = parse_policy(None)
    assert policy.required(["docs/procedures/03-escalado.md"]) == {"approver": 1}
    assert policy.required(["docs/scripts/cierre-encuesta.md"]) == {"lead": 1, "approver": 1}
    assert policy.required(["docs/kb/red-vpn/vpn-lenta.md"]) == {"lead": 1}
    assert policy.required(["approvals.yml"]) == {"admin": 1, "approver": 1}
    assert policy.required(["mkdocs.yml"]) == {"admin": 1, "approver": 1}
    assert policy.required(["synonyms.txt"]) == {"admin": 1, "approver": 1}
    assert policy.required(["docs/assets/logo.png"]) == {"lead": 1}
    mixed = policy.required(["docs/kb/correo/buzon-lleno.md", "docs/procedures/01-alcance-horario.md"])
    assert mixed == {"lead": 1, "approver": 1}


def test_globs_and_counts() -> None:
    policy = parse_policy(
        "rules:\n"
        "  - paths: ['docs/kb/*/index.md']\n    approvals: {admin: 1}\n"
        "  - paths: ['docs/kb/**']\n    approvals: {lead: 2}\n"
        "default: {}\n"
    )
    assert policy.required(["docs/kb/mfa/index.md"]) == {"admin": 1, "lead": 2}
    assert policy.required(["docs/kb/mfa/llave-fido2.md"]) == {"lead": 2}
    assert policy.required(["docs/kbx/file.md"]) == {"lead": 1}  # never fewer than one sign-off


def test_the_policy_file_can_never_need_less_than_admin_and_approver() -> None:
    weak = parse_policy("rules:\n  - paths: ['approvals.yml']\n    approvals: {lead: 1}\n")
    assert weak.required(["approvals.yml"]) == {"lead": 1, "admin": 1, "approver": 1}


@pytest.mark.parametrize(
    "text",
    [
        "rules: 3",
        "rules:\n  - approvals: {lead: 1}",
        "rules:\n  - paths: ['docs/**']\n    approvals: {chef: 1}",
        "rules:\n  - paths: ['docs/**']\n    approvals: {lead: -1}",
        "rules:\n  - paths: ['docs/**']\n    approvals: {lead: one}",
        "rules:\n  - paths: ['docs/**']\n    approvals: {lead: yes}",
        "rules: [",
        "rules: []\nrule: {}",
        "default: !!python/name:os.system {}",
    ],
)
def test_a_bad_policy_file_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ContentError, match=r"approvals\.yml"):
        parse_policy(text)


def test_default_text_is_the_default_policy() -> None:
    assert parse_policy(DEFAULT_POLICY) == parse_policy(None)


def test_starter_content_ships_the_default_policy() -> None:
    from kbserver.resources import starter_content

    assert parse_policy((starter_content() / "approvals.yml").read_text()) == parse_policy(None)


def test_site_config_and_synonyms_need_admin_and_approver_whatever_the_file_says() -> None:
    weak = parse_policy("rules:\n  - paths: ['**']\n    approvals: {lead: 1}\ndefault: {}\n")
    for path in ("mkdocs.yml", "synonyms.txt", "approvals.yml"):
        assert weak.required([path]) == {"lead": 1, "admin": 1, "approver": 1}
    assert weak.required(["docs/kb/x.md"]) == {"lead": 1}
    assert parse_policy("rules: []\ndefault: {}\n").required(["mkdocs.yml"]) == {"admin": 1, "approver": 1}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("rules:\n  - paths: ['docs/**']\n    approvals: {lead: one}\n", 2, "'lead': 'one'"),
        ("# a comment\nrules:\n  - paths: ['a']\n    approvals: {lead: 1}\n  - paths: []\n", 5, "rule 2"),
        ("rules: []\napprovers: {lead: 1}\n", 2, "unknown key 'approvers'"),
        ("rules:\n  - paths: ['a'\n", 3, "invalid YAML"),
    ],
)
def test_lint_names_the_line_of_a_bad_policy(text: str, line: int, words: str) -> None:
    [finding] = lint_policy(text)
    assert (finding.path, finding.line, finding.rule) == ("approvals.yml", line, "approval-policy")
    assert words in finding.message


def test_a_policy_that_cannot_be_read_falls_back_to_the_hard_minimum() -> None:
    policy, problem = policy_in_force("approvals: {lead: one}\n")
    assert policy.required(["docs/kb/x.md"]) == {"admin": 1, "approver": 1}
    assert problem and "approvals.yml:1" in problem and "admin and a client approver" in problem
    assert policy_in_force(None) == (parse_policy(None), None)


def test_a_policy_of_zero_approvals_still_needs_one_sign_off() -> None:
    zero = parse_policy("rules:\n  - paths: ['docs/**']\n    approvals: {lead: 0}\ndefault: {}\n")
    assert zero.required(["docs/kb/red-vpn/vpn-no-conecta.md"]) == {"lead": 1}
    assert zero.required(["other.txt"]) == {"lead": 1}
    assert zero.required(["approvals.yml"]) == {"admin": 1, "approver": 1}
