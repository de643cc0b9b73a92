"""Who writes to the content repository, and which paths and seed files it accepts.

Part of the one package that talks to git (kbserver/repository/): plain values and path rules, no git calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kbserver.errors import Conflict, InvalidInput


class MergeConflict(Conflict):
    """Two lines of history change the same text; details list the files."""

    code = "merge_conflict"


def check_path(path: str) -> None:
    """Refuse a path git would not store as it is written: an empty, `.`, `..` or `.git` segment (so also a
    doubled or trailing `/`), or a control character. InvalidInput names it."""
    parts = path.split("/")
    if any(p in ("", ".", "..") or p.lower() == ".git" for p in parts) or any(ord(c) < 32 for c in path):
        raise InvalidInput(f"{path!r} is not a file path git can store", {"path": path})


# No overrides/: the site's theme customisation is the service's own, never content.
SEED_PATHS = ("docs", "mkdocs.yml", "approvals.yml", "synonyms.txt")


@dataclass(frozen=True)
class Author:
    name: str
    email: str

    def environment(self) -> dict[str, str]:
        """Git's author and committer variables for this person."""
        return {
            "GIT_AUTHOR_NAME": self.name,
            "GIT_AUTHOR_EMAIL": self.email,
            "GIT_COMMITTER_NAME": self.name,
            "GIT_COMMITTER_EMAIL": self.email,
        }


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: str
    email: str
    date: str
    message: str


SERVICE_AUTHOR = Author("KB service", "kb@localhost")


def seed_files(source: Path) -> list[Path]:
    """The files of SEED_PATHS below source; a symbolic link that leaves source is refused, never followed."""
    root = source.resolve()
    found = []
    for name in SEED_PATHS:
        top = source / name
        if not top.exists() and not top.is_symlink():
            continue
        entries = [top] if not top.is_dir() or top.is_symlink() else sorted(top.rglob("*"))
        for entry in entries:
            if entry.is_symlink() and not entry.resolve().is_relative_to(root):
                raise InvalidInput(
                    f"{entry} is a symbolic link out of {source}: the content is never read through it",
                    {"path": entry.relative_to(source).as_posix()},
                )
            if entry.is_file():
                found.append(entry)
    return found
