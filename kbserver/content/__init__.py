"""The content model: one parser for every source, safe rendering and lint.

The names below load on first use, so that a module importing one part (the site build's hooks import only
the sanitiser) does not import them all."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kbserver.content.corpus import Corpus
    from kbserver.content.lint import lint_corpus
    from kbserver.content.model import Document, Finding, Kind
    from kbserver.content.parser import parse_document
    from kbserver.content.render import render_html

_WHERE = {
    "Corpus": "corpus",
    "lint_corpus": "lint",
    "Document": "model",
    "Finding": "model",
    "Kind": "model",
    "parse_document": "parser",
    "render_html": "render",
}
__all__ = ["Corpus", "Document", "Finding", "Kind", "lint_corpus", "parse_document", "render_html"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
