"""A chapter's HTML made cheap to lay out in print, looking as it did: WeasyPrint's time goes per box.

Three things of the site's HTML cost a long manual's build far more than the text they hold (measured by
instruction counts on a 24-chapter manual, each about a tenth of the chapters' layout):
- a list item's bullet or number is a box of its own, positioned outside the item and measured twice; here it
  is written into the item's first line as text, and manual.css hangs the line by the marker's width;
- a table's automatic layout measures every cell's shortest and longest line first; here each table gets its
  column widths (by the text its columns hold) and manual.css lays tables out fixed;
- the headings' permalinks ("¶") are hidden in print but still styled and laid out; here they are left out,
  and so are the line breaks between blocks (each became an anonymous box holding one collapsed space).
The site's Markdown makes lists and tables only from its own syntax (raw HTML is escaped), so the HTML these
patterns read is regular: no nested tables, no spans.
"""

from __future__ import annotations

import html
import re

_PERMALINK = re.compile(r'<a class="headerlink" href="[^"]*" title="[^"]*">¶</a>')
_TABLE = re.compile(r"<table>(.*?)</table>", re.S)
_ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
_CELL = re.compile(r"<t[hd]\b[^>]*>(.*?)</t[hd]>", re.S)
_TAG = re.compile(r"<[^>]*>")
_BLOCK_SPACE = re.compile(
    r"\s+(?=</?(?:p|ul|ol|li|table|thead|tbody|tfoot|tr|th|td|h[1-6]|div|pre|blockquote|dl|dt|dd|hr|figure)\b)"
)
_WIDE_CELL = 40  # characters: a cell longer than this wraps, whatever the width it is given
_LIST = re.compile(r"<(/?)(ul|ol)\b([^>]*)>|<li\b[^>]*>(?:\s*<p\b[^>]*>)?")
_START = re.compile(r'\bstart="(-?\d+)"')
# A no-break space keeps the marker on the line of the item's first word. Numbers are padded to two digits
# with a figure space (a digit's width), so that every item of a list hangs by the same width (manual.css).
_BULLETS = ("•", "◦", "▪")  # by nesting, as the browser's own stylesheet gives them
_FIGURE_SPACE = "\u2007"


def _column_widths(rows: list[list[str]]) -> list[float]:
    """Percent widths for a table's columns, by the text they hold, much as automatic layout gives them.

    A column gets room for its longest cell up to _WIDE_CELL characters and never less than its longest word,
    so that a column of short codes stays narrow and a column of sentences gets the rest."""
    wants = [3] * max(len(r) for r in rows)
    for row in rows:
        for n, cell in enumerate(row):
            text = " ".join(html.unescape(_TAG.sub("", cell)).split())
            longest_word = max((len(w) for w in text.split()), default=0)
            wants[n] = max(wants[n], min(len(text), _WIDE_CELL), longest_word)
    wants = [want + 2 for want in wants]  # the cell's padding, about two characters
    total = sum(wants)
    return [round(100 * want / total, 1) for want in wants]


def _fixed_tables(body: str) -> str:
    """Each table with a <colgroup> of its column widths."""

    def widths(found: re.Match[str]) -> str:
        rows = [cells for row in _ROW.findall(found.group(1)) if (cells := _CELL.findall(row))]
        if not rows:
            return found.group(0)
        cols = "".join(f'<col style="width: {w}%">' for w in _column_widths(rows))
        return f"<table><colgroup>{cols}</colgroup>{found.group(1)}</table>"

    return _TABLE.sub(widths, body)


def _text_markers(body: str) -> str:
    """Each list item's bullet or number written at the start of its first line (of its first paragraph)."""
    lists: list[int | str] = []  # per open list, innermost last: an <ol>'s next number, a <ul>'s bullet

    def mark(found: re.Match[str]) -> str:
        closing, kind, attributes = found.group(1, 2, 3)
        if kind == "ul" or kind == "ol":
            if closing:
                if lists:
                    lists.pop()
            elif kind == "ul":
                lists.append(_BULLETS[min(len(lists), len(_BULLETS) - 1)])
            else:
                start = _START.search(attributes)
                lists.append(int(start.group(1)) if start else 1)
            return found.group(0)
        if not lists:
            return found.group(0)
        marker = lists[-1]
        if isinstance(marker, str):
            return f"{found.group(0)}{marker}\u00a0"
        lists[-1] = marker + 1
        return found.group(0) + f"{marker}.".rjust(3, _FIGURE_SPACE) + "\u00a0"

    return _LIST.sub(mark, body)


def printable(body: str) -> str:
    """A chapter's sanitised HTML as the manual prints it (see the module's docstring)."""
    return _text_markers(_fixed_tables(_BLOCK_SPACE.sub("", _PERMALINK.sub("", body))))
