"""A set of parsed documents, read from a folder or from a commit of the content repository."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kbserver.content.model import Document
from kbserver.content.parser import parse_document


@dataclass
class Corpus:
    """All documents below docs/, plus the names of every other file there (images, attachments)."""

    documents: dict[str, Document] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)

    @classmethod
    def from_files(cls, files: Iterable[tuple[str, bytes]]) -> Corpus:
        """Parse (path, content) pairs; paths are relative to the content root (docs/...)."""
        corpus = cls()
        for path, content in files:
            corpus.files.add(path)
            if path.endswith(".md"):
                corpus.documents[path] = parse_document(path, content)
        return corpus

    @classmethod
    def from_directory(cls, root: Path) -> Corpus:
        """Parse every file below root/docs."""
        docs = root / "docs"
        paths = sorted(p for p in docs.rglob("*") if p.is_file())
        return cls.from_files((p.relative_to(root).as_posix(), p.read_bytes()) for p in paths)

    def by_id(self) -> dict[str, list[Document]]:
        """Documents grouped by their front-matter id."""
        ids: dict[str, list[Document]] = {}
        for doc in self.documents.values():
            if doc.doc_id:
                ids.setdefault(doc.doc_id, []).append(doc)
        return ids
