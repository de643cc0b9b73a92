"""What a merge commit says about its change request: the message the service writes and how it is read back.

Nothing a user typed can stand as a trailer. The title goes on the subject line only, made single-line; names
and e-mails in trailer values lose every character that could end the line or the value (line breaks,
controls, `<`, `>`, parentheses). Readers take only the final trailer block, as `git interpret-trailers`
does (the repository asks git itself for it), so text higher up in a message never counts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from kbserver.errors import InvalidInput

# Characters that end or break a line, or reorder how it reads: control, format (bidi overrides, zero-width),
# surrogate, line and paragraph separators.
_UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}
# What git itself strips from the ends of an identity (ident.c, crud()); stripped here first so that the
# e-mail in a trailer is the one git records as the commit's author.
_CRUD = "".join(chr(c) for c in range(33)) + ".,:;<>\"\\'"
_CHANGE = re.compile(r"CR-([1-9][0-9]*)\Z")
_PERSON = re.compile(r"(?P<name>[^<>()]*) <(?P<email>[^<>\s]*)>(?: \((?P<role>[a-z]+)\))?\Z")


def unsafe_characters(text: str, allow: str = "") -> list[str]:
    """The characters of text that may not appear in a single-line value (those in allow excepted)."""
    return [c for c in text if c not in allow and unicodedata.category(c) in _UNSAFE]


def check_single_line(text: str, what: str) -> str:
    """text if it is one line without control characters; InvalidInput naming what otherwise."""
    bad = unsafe_characters(text)
    if bad:
        raise InvalidInput(
            f"{what} must be a single line without control characters (found U+{ord(bad[0]):04X})",
            {"field": what},
        )
    return text


def check_text(text: str, what: str) -> str:
    """text if it is storable: no control character but line breaks and tabs, no lone surrogate."""
    bad = [c for c in text if c not in "\n\t\r" and unicodedata.category(c) in ("Cc", "Cs")]
    if bad:
        raise InvalidInput(f"{what} contains a control character or a lone surrogate (U+{ord(bad[0]):04X})")
    return text


def _one_line(text: str) -> str:
    return " ".join("".join(" " if unicodedata.category(c) in _UNSAFE else c for c in text).split())


def ident_name(name: str, fallback: str) -> str:
    """A display name as it may appear in an identity or a trailer: one line, no `<>()`."""
    cleaned = _one_line(re.sub(r"[<>()]", " ", name)).strip(_CRUD)
    return cleaned or fallback


def ident_email(email: str) -> str:
    """An e-mail as git records it in an identity, and as trailers and the four-eyes check compare it."""
    cleaned = "".join(
        c for c in email if not c.isspace() and c not in "<>()" and unicodedata.category(c) not in _UNSAFE
    )
    return cleaned.strip(_CRUD)


def same_email(a: str, b: str) -> bool:
    """Whether two e-mails name the same mailbox, as the four-eyes check compares them."""
    return ident_email(a).lower() == ident_email(b).lower() != ""


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    role: str = ""

    def trailer_value(self) -> str:
        """`Name <email>`, with ` (role)` when there is one."""
        value = f"{ident_name(self.name, 'unknown')} <{ident_email(self.email)}>"
        return f"{value} ({self.role})" if self.role else value


def merge_message(
    number: int, title: str, opener: Person, approvers: Iterable[Person], reviewers: Iterable[Person]
) -> str:
    """The merge commit's message: a one-line subject, a blank line, then only the service's trailers."""
    subject = f"Merge CR-{number}: {_one_line(title)[:200]}"
    lines = [subject, "", f"Change-Request: CR-{number}", f"Opened-by: {opener.trailer_value()}"]
    lines += [f"Approved-by: {p.trailer_value()}" for p in approvers]
    lines += [f"Reviewed-by: {p.trailer_value()}" for p in reviewers]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class MergeTrailers:
    """The final trailer block of a merge commit, as far as the workflow wrote it."""

    number: int
    opener: Person | None
    approvals: list[Person]
    malformed: list[str]


def read_merge(trailers: list[tuple[str, str]]) -> MergeTrailers | None:
    """The change request a final trailer block names, with its approvals; None unless exactly one."""
    numbers = [_CHANGE.match(v) for k, v in trailers if k.lower() == "change-request"]
    if len(numbers) != 1 or numbers[0] is None:
        return None
    opener: Person | None = None
    approvals: list[Person] = []
    malformed: list[str] = []
    for key, value in trailers:
        found = _PERSON.match(value)
        if key.lower() == "approved-by":
            if found and found["role"]:
                approvals.append(Person(found["name"], found["email"], found["role"]))
            else:
                malformed.append(value)
        elif key.lower() == "opened-by" and found:
            opener = Person(found["name"], found["email"])
    return MergeTrailers(int(numbers[0].group(1)), opener, approvals, malformed)
