"""The Whoosh schema: per language an all-text field with the title's weight built in, and the title alone."""

from __future__ import annotations

from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

from kbserver.search.analysis import LANGS, folding_analyzer, language_analyzer

SCHEMA_VERSION = "6"  # bump on any change below: an index of another version is rebuilt
# In the all-text field the title is written this many times and the keywords (tags, symptoms, product)
# twice: BM25F's field weights as term frequency, saturating together with the body's (see query.py).
TITLE_REPEAT = 2
KEYWORD_REPEAT = 2


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
        "body": STORED(),
        "title_fold": TEXT(analyzer=folding_analyzer(), phrase=False),
    }
    for lang in LANGS:
        analyzer = language_analyzer(lang)
        fields[f"text_{lang}"] = TEXT(analyzer=analyzer, phrase=False)
        fields[f"title_{lang}"] = TEXT(analyzer=analyzer, phrase=False)
    return Schema(**fields)
