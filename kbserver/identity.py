"""What a user's name, display name and e-mail may be."""

from __future__ import annotations

import re
import unicodedata

from kbserver.errors import InvalidInput

NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")  # whole names only (fullmatch): "admin\n" is not one
EMAIL_RE = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+")


def check_name(name: str) -> str:
    """name, if it is a user name; InvalidInput if not."""
    if not NAME_RE.fullmatch(name):
        raise InvalidInput(f"invalid user name {name!r}: use 2-64 of a-z, 0-9, '.', '_' or '-'")
    return name


def one_line(field: str, value: str, limit: int) -> str:
    """value, if it is one line of at most limit characters; InvalidInput naming the field if not."""
    # Display names and e-mails go into commit authors and merge trailers: a line break or a control
    # character there could forge a trailer, and '<' or '>' an identity ("Name <email>").
    for char in value:
        category = unicodedata.category(char)
        if (category[0] == "C" and char not in "\u200c\u200d") or category in ("Zl", "Zp") or char in "<>":
            raise InvalidInput(
                f"the {field} must be one line without control characters or '<' '>': {value!r}",
                {"field": field},
            )
    if len(value) > limit:
        raise InvalidInput(f"the {field} must have at most {limit} characters", {"field": field})
    return value


def check_profile(display_name: str, email: str) -> None:
    """InvalidInput unless the display name and e-mail are single lines (the e-mail shaped like one)."""
    one_line("display name", display_name, 200)
    one_line("e-mail", email, 320)
    if email and not EMAIL_RE.fullmatch(email):
        raise InvalidInput(f"not an e-mail address: {email!r}", {"field": "email"})
