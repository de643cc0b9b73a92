"""Review material: per-file diffs, changed front-matter fields, rendered pages; retiring a page."""

from __future__ import annotations

import re
from typing import Any

from approval.model import ChangeRequest
from kbserver.content import parse_document, render_html
from kbserver.errors import InvalidInput, NotFound
from kbserver.repository import ContentRepository


def change_diff(repo: ContentRepository, change: ChangeRequest, main: str) -> list[dict[str, Any]]:
    """Per changed file: the unified diff, the changed front-matter fields and the new page as HTML."""
    base = repo.merge_base(main, change.head_commit)
    files = []
    for path in repo.changed_files(main, change.head_commit):
        old, new = repo.read(base, path), repo.read(change.head_commit, path)
        entry: dict[str, Any] = {
            "path": path,
            "status": "added" if old is None else "deleted" if new is None else "modified",
            "diff": repo.unified_diff(main, change.head_commit, path),
            "old_text": old.decode("utf-8", "replace") if old is not None else None,
            "new_text": new.decode("utf-8", "replace") if new is not None else None,
            "fields": [],
            "html": None,
        }
        if path.endswith(".md"):
            before = parse_document(path, old).raw_meta if old is not None else {}
            after_doc = parse_document(path, new) if new is not None else None
            after = after_doc.raw_meta if after_doc else {}
            entry["fields"] = [
                {"field": k, "old": _plain(before.get(k)), "new": _plain(after.get(k))}
                for k in sorted(set(before) | set(after))
                if before.get(k) != after.get(k)
            ]
            entry["html"] = (
                render_html(after_doc.body, path, repo.paths(change.head_commit)) if after_doc else None
            )
        files.append(entry)
    return files


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def retired_text(source: bytes | None, path: str) -> bytes:
    """The document with `status: retired` in its front matter."""
    if source is None:
        raise NotFound(f"{path} does not exist on the change request's branch")
    text = source.decode("utf-8")
    if not text.startswith("---\n"):
        raise InvalidInput(f"{path} has no front matter to mark as retired")
    end = text.index("\n---", 4)
    front = text[4:end]
    front = re.sub(r"^status:.*$", "status: retired", front, flags=re.M)
    if "status: retired" not in front:
        front += "\nstatus: retired"
    return ("---\n" + front + text[end:]).encode()
