"""Names made from titles (branches, new documents, imported files): plain ASCII, accents kept as letters."""

from __future__ import annotations

import re
import unicodedata

# Letters that have no ASCII base letter to decompose into, written as people would spell them in ASCII.
_SPELLED = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "þ": "th", "ð": "d"})


def slug(text: str, fallback: str, length: int | None = None) -> str:
    """Lower-case ASCII words joined by hyphens, at most length characters; an accented letter or ñ keeps its
    base letter (`Contraseña olvidada` -> `contrasena-olvidada`); fallback when no letter or digit is left."""
    plain = unicodedata.normalize("NFKD", text.lower().translate(_SPELLED))
    words = re.sub(r"[^a-z0-9]+", "-", plain.encode("ascii", "ignore").decode()).strip("-")
    return words[:length].rstrip("-") or fallback
