"""The baseline: SQLite FTS5 over the same corpus, with accents removed by its tokenizer."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path


def build_fts5(path: Path, docs: list[tuple[str, str]]) -> sqlite3.Connection:
    """An FTS5 table of title, tags, body and lang."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(title, tags, body, lang UNINDEXED,"
        " tokenize = 'unicode61 remove_diacritics 2')"
    )
    rows = []
    for _, text in docs:
        _, front, body = text.split("---", 2)
        title = re.search(r"^title: (.*)$", front, re.M)
        tags = re.search(r"^tags: \[(.*)\]$", front, re.M)
        lang = re.search(r"^lang: (\w+)$", front, re.M)
        rows.append(
            (
                title.group(1) if title else "",
                tags.group(1) if tags else "",
                body,
                lang.group(1) if lang else "",
            )
        )
    db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)", rows)
    db.commit()
    return db


def search_fts5(db: sqlite3.Connection, text: str, filters: dict[str, list[str]]) -> int:  # type: ignore[type-arg]
    """Run one query like the mix does (words OR'ed and ranked, phrases quoted); returns the hit count."""
    match = text if text.startswith('"') else " OR ".join(f'"{w}"' for w in text.split())
    sql = "SELECT rowid FROM docs WHERE docs MATCH ?"
    args: list[str] = [match]
    if filters.get("lang"):
        sql += " AND lang = ?"
        args.append(filters["lang"][0])
    sql += " ORDER BY bm25(docs, 6.0, 3.0, 1.0) LIMIT 10"
    return len(db.execute(sql, args).fetchall())
