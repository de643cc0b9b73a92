"""New documents: a per-kind template with the front matter filled in and the next free id."""

from __future__ import annotations

from datetime import date, timedelta

from kbserver.content.corpus import Corpus
from kbserver.content.model import ID_PREFIXES, Kind

_BODIES = {
    Kind.ARTICLE: (
        "## Síntomas\n\nDescriba lo que ve el usuario.\n\n## Causa\n\n## Solución\n\n1. Primer paso.\n"
    ),
    Kind.SCRIPT: (
        "## 1. Saludo\n\n> Hola, {{ user_name }}, soy de la mesa de ayuda de TI.\n\n"
        "## 2. Cierre\n\n> Gracias, {{ user_name }}. Su ticket es {{ ticket }}.\n"
    ),
    Kind.PROCEDURE: "## Objetivo\n\n## Alcance\n\n## Procedimiento\n\n1. Primer paso.\n",
}


def next_id(corpus: Corpus, kind: Kind) -> str:
    """One more than the highest id of the kind ever seen in the corpus."""
    prefix = ID_PREFIXES[kind]
    numbers = [
        int(doc.doc_id[len(prefix) :])
        for doc in corpus.documents.values()
        if doc.doc_id and doc.doc_id.startswith(prefix) and doc.doc_id[len(prefix) :].isdigit()
    ]
    width = 2 if kind is Kind.PROCEDURE else 4
    return f"{prefix}{max(numbers, default=0) + 1:0{width}d}"


def new_document(kind: Kind, doc_id: str, title: str, owner: str, today: date) -> str:
    """The Markdown of a new document of kind, ready to edit."""
    review_by = (today + timedelta(days=180)).isoformat()
    front = [
        "---",
        f"id: {doc_id}",
        f"title: {title}",
        "lang: es",
        f"owner: {owner}",
        "tags: []",
        "audience: [L1]",
        f"review_by: {review_by}",
    ]
    if kind is Kind.SCRIPT:
        front += [
            "channel: chat",
            "variables:",
            "  - name: user_name",
            "    description: Nombre del usuario",
            "  - name: ticket",
            "    description: Número de ticket",
        ]
    if kind is Kind.PROCEDURE:
        front += ['version: "1.0"', "order: 99"]
    return "\n".join([*front, "---", "", _BODIES[kind]])
