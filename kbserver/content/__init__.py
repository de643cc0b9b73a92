"""The content model: one parser for every source, safe rendering and lint."""

from kbserver.content.corpus import Corpus
from kbserver.content.lint import lint_corpus
from kbserver.content.model import Document, Finding, Kind
from kbserver.content.parser import parse_document
from kbserver.content.render import render_html

__all__ = ["Corpus", "Document", "Finding", "Kind", "lint_corpus", "parse_document", "render_html"]
