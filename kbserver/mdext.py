"""A Python-Markdown extension for the site build: raw HTML in content is shown as text, never run."""

from __future__ import annotations

from typing import Any

from markdown import Markdown
from markdown.extensions import Extension


class EscapeHtmlExtension(Extension):  # type: ignore[misc]
    """Drop Python-Markdown's raw-HTML handling, so `<script>` in a page is escaped like any text."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


def makeExtension(**kwargs: Any) -> EscapeHtmlExtension:
    """Entry point Python-Markdown looks up by module name."""
    return EscapeHtmlExtension(**kwargs)
