"""The search index: the only module that writes to Whoosh.

An index lives in `generations/<name>/` with the commit it reflects in `COMMIT`; `current` links to the one
being read. Catching up applies `git diff` to the current generation under one writer lock; a full rebuild
writes a new generation and swaps the link, so readers never see a half-written index.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import re
import shutil
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index

from kbserver.content import Document, parse_document
from kbserver.content.model import kind_for_path
from kbserver.errors import KBError
from kbserver.filelock import held
from kbserver.repository import ContentRepository
from kbserver.search.analysis import vocabulary
from kbserver.search.schema import KEYWORD_REPEAT, SCHEMA_VERSION, TITLE_REPEAT, build_schema
from kbserver.search.typos import add_words, write_table

log = logging.getLogger(__name__)
SYNONYMS_FILE = "synonyms.txt"
PARALLEL_FROM = 500
COMMIT_ID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")  # SHA-1, or SHA-256 repositories
META_PATH = "__meta__"  # a stored record of the commit, committed atomically with the index
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CatchUp:
    """What a catch-up did: `current`, `updated` or `rebuilt`, and how many files it indexed or removed."""

    action: str
    commit: str
    changed: int
    seconds: float


def document_fields(doc: Document, commit: str, changed: tuple[str, str]) -> dict[str, object]:
    """The index fields of a document: its own language's text fields, filters and stored display data."""
    meta = doc.meta
    assert meta is not None
    lang = meta.lang
    body_parts, sections = [doc.intro] if doc.intro else [], []
    offset = len(doc.intro) + 2 if doc.intro else 0
    for section in doc.sections:
        sections.append([section.anchor, section.title, offset, offset + len(section.text)])
        body_parts.append(section.text)
        offset += len(section.text) + 2
    keywords = " ".join([*meta.tags, *getattr(meta, "symptoms", []), getattr(meta, "product", None) or ""])
    headings = " ".join(s.title for s in doc.sections)
    body = "\n\n".join(body_parts)
    return {
        "path": doc.path,
        "id": meta.id,
        "kind": doc.kind.value if doc.kind else "",
        "lang": lang,
        "status": meta.status,
        "category": doc.category or "",
        "owner": meta.owner.lower(),
        "audience": ",".join(meta.audience),
        "tags": ",".join(t.lower() for t in meta.tags),
        "translation_of": meta.translation_of or "",
        "title": meta.title,
        "url": doc.url,
        "updated": changed[1],
        "changed": changed[0],  # the commit that last changed this document: feedback is keyed to it
        "commit": commit,
        "sections": json.dumps(sections, ensure_ascii=False),
        "body": body,
        "title_fold": meta.title,
        f"title_{lang}": meta.title,
        # Separate lines, so that no word pair runs from one part into the next.
        f"text_{lang}": "\n".join(
            [*[meta.title] * TITLE_REPEAT, *[keywords] * KEYWORD_REPEAT, headings, body]
        ),
    }


def _words_of(fields: dict[str, object]) -> str:
    """The text whose words make the vocabulary: the all-text field holds title, keywords and body."""
    return str(fields["text_" + str(fields["lang"])])


def _read_commit(marker: Path) -> str | None:
    """The commit id in a generation's marker file; None when it is missing or damaged (then: rebuild)."""
    try:
        text = marker.read_bytes().decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if COMMIT_ID.fullmatch(text) else None


class SearchIndex:
    """Generations of a Whoosh index below root, each pinned to a commit."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.current = self.root / "current"

    def generation(self) -> Path | None:
        """The folder of the generation being read, or None."""
        return self.current.resolve() if self.current.is_dir() else None

    def commit(self) -> str | None:
        """The commit the current generation reflects."""
        generation = self.generation()
        return _read_commit(generation / "COMMIT") if generation else None

    def _healthy(self, generation: Path) -> bool:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                ix = whoosh_index.open_dir(str(generation / "index"))
                with ix.searcher() as searcher:
                    searcher.doc_count()
                ix.close()
                schema = generation / "SCHEMA"
                current = schema.is_file() and schema.read_text().strip() == SCHEMA_VERSION
                return current and _read_commit(generation / "COMMIT") is not None
            except Exception:  # a damaged index raises many kinds of error; all mean "rebuild"
                gc.collect()  # Whoosh leaves the damaged file open; close it here, quietly
                return False

    def catch_up(self, repo: ContentRepository, commit: str, progress: Progress | None = None) -> CatchUp:
        """Bring the index to commit: by git diff when it can, by a full rebuild when it must."""
        started = time.monotonic()
        with held(self.root / ".lock"):  # one writer at a time, across processes
            generation = self.generation()
            if generation is None or not self._healthy(generation):
                log.warning(
                    "search index %s: rebuilding from git", "missing" if generation is None else "corrupt"
                )
                count = self._rebuild(repo, commit, progress)
                return CatchUp("rebuilt", commit, count, time.monotonic() - started)
            indexed = self.commit()
            if indexed == commit:
                return CatchUp("current", commit, 0, time.monotonic() - started)
            try:
                changes = repo.diff_paths(indexed or "", commit)
            except KBError:
                log.warning("search index: commit %s is unknown; rebuilding from git", indexed)
                count = self._rebuild(repo, commit, progress)
                return CatchUp("rebuilt", commit, count, time.monotonic() - started)
            count = self._apply(repo, generation, indexed or "", commit, changes)
            return CatchUp("updated", commit, count, time.monotonic() - started)

    def rebuild(self, repo: ContentRepository, commit: str, progress: Progress | None = None) -> CatchUp:
        """Build a new generation from scratch and swap it in."""
        started = time.monotonic()
        with held(self.root / ".lock"):  # one writer at a time, across processes
            count = self._rebuild(repo, commit, progress)
        return CatchUp("rebuilt", commit, count, time.monotonic() - started)

    def _documents(self, repo: ContentRepository, commit: str, paths: set[str] | None) -> Iterator[Document]:
        # A catch-up reads only the changed files; a rebuild walks the whole tree once.
        if paths is None:
            files: Iterable[tuple[str, bytes | None]] = repo.files(commit)
        else:
            files = ((path, repo.read(commit, path)) for path in sorted(paths))
        for path, content in files:
            if kind_for_path(path) is None or content is None:
                continue
            doc = parse_document(path, content)
            if doc.meta is None:
                log.warning("search index: %s is skipped: %s", path, "; ".join(str(f) for f in doc.findings))
                continue
            yield doc

    def _rebuild(self, repo: ContentRepository, commit: str, progress: Progress | None) -> int:
        generations = self.root / "generations"
        generations.mkdir(parents=True, exist_ok=True)
        for leftover in generations.glob(".new-*"):
            shutil.rmtree(leftover, ignore_errors=True)  # a rebuild killed half-way; never served
        work = generations / f".new-{time.time_ns()}"
        (work / "index").mkdir(parents=True)
        updated = repo.last_changes(commit)
        # The documents are parsed as they are written, not all first: the writer's processes start on the
        # first batch while this one parses the rest (a tenth of a 10,000-document build's time).
        total = sum(1 for path in repo.paths(commit) if kind_for_path(path) is not None)
        docs = self._documents(repo, commit, None)
        counts: Counter[str] = Counter()
        ix = whoosh_index.create_in(str(work / "index"), build_schema())
        # Two processes, each writing its own segment: about 1.8x faster than one on two cores.
        many = total >= PARALLEL_FROM
        # compound=False: segments stay separate files that readers read through the page cache, instead of
        # each searcher copying a compound file into its own memory (hundreds of MB per searcher at 10,000
        # documents). Mapping the separate files was tried: no faster (in-process A/B, 1,000 and 10,000
        # documents).
        writer = ix.writer(limitmb=256, procs=2 if many else 1, multisegment=many, compound=False)
        n = 0
        for n, doc in enumerate(docs, start=1):
            fields = document_fields(doc, commit, updated.get(doc.path, ("", "")))
            counts.update(vocabulary(_words_of(fields)))
            writer.add_document(**fields)
            if progress:
                progress(n, max(n, total))
        writer.add_document(path=META_PATH, status="meta", commit=commit)
        writer.commit()
        ix.close()
        write_table(work, counts)
        self._write_meta(work, repo, commit)
        final = generations / f"{commit[:12]}-{time.time_ns()}"
        os.rename(work, final)
        link = self.root / f".current-{os.getpid()}"
        link.unlink(missing_ok=True)
        link.symlink_to(final.relative_to(self.root))
        os.replace(link, self.current)
        for old in generations.iterdir():
            if old != final and not old.name.startswith("."):
                shutil.rmtree(old, ignore_errors=True)  # open readers keep their files until they close
        return n

    def _apply(
        self,
        repo: ContentRepository,
        generation: Path,
        since: str,
        commit: str,
        changes: list[tuple[str, str]],
    ) -> int:
        indexed = {path for status, path in changes if status != "D"}
        updated = repo.last_changes(commit, since=since) if indexed else {}
        ix = whoosh_index.open_dir(str(generation / "index"))
        writer = ix.writer(timeout=30, compound=False)
        try:
            for _status, path in changes:
                writer.delete_by_term("path", path)
            words: set[str] = set()
            for doc in self._documents(repo, commit, indexed):
                fields = document_fields(doc, commit, updated.get(doc.path, ("", "")))
                words |= vocabulary(_words_of(fields))
                writer.add_document(**fields)
            writer.update_document(path=META_PATH, status="meta", commit=commit)
            writer.commit()
            add_words(generation, words)
        except BaseException:
            writer.cancel()
            raise
        finally:
            ix.close()
        self._write_meta(generation, repo, commit)
        return len(changes)

    def _write_meta(self, generation: Path, repo: ContentRepository, commit: str) -> None:
        synonyms = repo.read(commit, SYNONYMS_FILE) or b""
        files = [
            ("synonyms.txt", synonyms),
            ("SCHEMA", SCHEMA_VERSION.encode()),
            ("COMMIT", (commit + "\n").encode()),
        ]
        for name, data in files:
            tmp = generation / f".{name}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, generation / name)  # COMMIT last: it moves only once the index holds the commit
