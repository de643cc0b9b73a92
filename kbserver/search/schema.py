"""The Whoosh schema: per-language text fields weighted title > tags > headings > body."""

from __future__ import annotations

from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

from kbserver.search.analysis import LANGS, folding_analyzer, language_analyzer

SCHEMA_VERSION = "3"  # bump on any change below: an index of another version is rebuilt
WEIGHTS = {"title": 6.0, "kw": 2.5, "body": 1.0}  # title > tags, symptoms and headings > body


def build_schema() -> Schema:
    """The index schema; each document fills the text fields of its own language."""
    fields = {
        "path": ID(stored=True, unique=True),
        "id": ID(stored=True),
        "kind": ID(stored=True),
        "lang": ID(stored=True),
        "status": ID(stored=True),
        "category": ID(stored=True),
        "owner": ID(stored=True),
        "audience": KEYWORD(stored=True, commas=True),
        "tags": KEYWORD(stored=True, commas=True, lowercase=True),
        "translation_of": ID(stored=True),
        "title": STORED(),
        "url": ID(stored=True),
        "updated": STORED(),
        "changed": STORED(),
        "commit": STORED(),
        "sections": STORED(),
        "fold": TEXT(analyzer=folding_analyzer(), phrase=True),
        "title_fold": TEXT(analyzer=folding_analyzer(), phrase=False),
    }
    for lang in LANGS:
        analyzer = language_analyzer(lang)
        for name in WEIGHTS:
            # Weights are applied as query-time boosts (see query.py), not as field_boost.
            fields[f"{name}_{lang}"] = TEXT(analyzer=analyzer, stored=(name == "body"), phrase=False)
    return Schema(**fields)
