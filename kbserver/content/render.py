"""Safe HTML from the content model: raw HTML is escaped, never passed through."""

from __future__ import annotations

from markdown_it.token import Token

from kbserver.content.parser import heading_anchor, markdown

_MD = markdown()


def render_html(body: str) -> str:
    """Render a document body to HTML, with heading anchors that match the site's."""
    tokens = _MD.parse(body)
    seen: set[str] = set()
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            inline: Token = tokens[i + 1]
            title = "".join(c.content for c in inline.children or [] if c.type in ("text", "code_inline"))
            token.attrSet("id", heading_anchor(title, seen))
    return str(_MD.renderer.render(tokens, _MD.options, {}))
