"""What a change request's branch is made of: its name, the paths it may write, whom its commits name."""

from __future__ import annotations

import re

from approval.trailers import ident_email, ident_name
from kbserver.errors import InvalidInput
from kbserver.repository import Author, check_path
from kbserver.users import User

# What a change request may write: content below docs/ (no empty, `.`-led or hidden segment) and the three
# configuration files at the root.
CONTENT_PATH = re.compile(
    r"(docs(/[A-Za-z0-9_-][A-Za-z0-9._-]*)+|approvals\.yml|synonyms\.txt|mkdocs\.yml)\Z"
)


def author_of(user: User) -> Author:
    """The identity git records for user's commits: the one the four-eyes check compares with approvers'."""
    return Author(
        ident_name(user.display_name, user.name), ident_email(user.email) or f"{user.name}@localhost"
    )


def check_content_path(path: str) -> None:
    """Refuse (InvalidInput) a path a change request may not write, or that git would not store as written."""
    if not CONTENT_PATH.match(path):
        raise InvalidInput(
            f"{path!r} is not a content path (docs/..., approvals.yml, synonyms.txt, mkdocs.yml)",
            {"path": path},
        )
    check_path(path)
