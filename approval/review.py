"""Review material: per-file diffs, changed front-matter fields, rendered pages; retiring a page."""

from __future__ import annotations

import re
from typing import Any

from approval.model import ChangeRequest
from kbserver.content import parse_document, render_html
from kbserver.content.parser import split_front_matter
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
    """The document with `status: retired` in its front matter, split as the content model splits it."""
    if source is None:
        raise NotFound(f"{path} does not exist on the change request's branch")
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path} is not UTF-8 text") from exc
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    front, body, _line = split_front_matter(text.removeprefix("\ufeff"))
    meta = parse_document(path, source).raw_meta
    if front is None or not meta:
        # Also a front matter that is never closed: the content model reads the whole file as its YAML.
        raise InvalidInput(f"{path} has no readable front matter to mark as retired; fix it in the editor")
    if re.search(r"^status\s*:", front, flags=re.M):
        front = re.sub(r"^status\s*:.*$", "status: retired", front, flags=re.M)
    else:
        front = front + ("" if front.endswith("\n") else "\n") + "status: retired\n"
    retired = bom + "---\n" + front + ("" if front.endswith("\n") else "\n") + "---\n" + body
    if parse_document(path, retired).raw_meta.get("status") != "retired":
        raise InvalidInput(f"{path}: its status field could not be set to retired; edit it in the editor")
    return retired.encode()
