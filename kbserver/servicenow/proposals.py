"""Knowledge gaps from tickets for the API, the console and `kb servicenow gaps|propose`; a cluster proposed
as a new article's change request, quoting its tickets, through the importer's path (never a commit to main).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kbserver.content.importer import ImportOptions
from kbserver.content.opening import REVIEW_DAYS, check_import, open_change
from kbserver.content.slug import slug
from kbserver.errors import Conflict, InvalidInput, NotFound
from kbserver.servicenow.gaps import GapRules, Range, find_gaps, record_proposal

if TYPE_CHECKING:
    from kbserver.services import Services

EXAMPLES_IN_DRAFT = 10
DEFAULT_CATEGORY = {"es": "sin-clasificar", "en": "unsorted"}
DRAFT = {
    "es": (
        "*Borrador abierto desde {count} tickets de ServiceNow resueltos sin artículo, "
        "del {first} al {last}. Escriba la solución y quite este aviso.*\n\n"
        "## Síntomas\n\nAsí lo describieron los tickets:\n\n{quotes}\n\n"
        "## Solución\n\n1. \n\n"
        "## Tickets\n\n{numbers}\n"
    ),
    "en": (
        "*Draft opened from {count} ServiceNow tickets resolved with no article, from {first} to {last}. "
        "Write the solution and remove this note.*\n\n"
        "## Symptoms\n\nHow the tickets described it:\n\n{quotes}\n\n"
        "## Solution\n\n1. \n\n"
        "## Tickets\n\n{numbers}\n"
    ),
}
_MARKUP = re.compile(r"([\\`*_{}\[\]()#+!|>-])")


def rules(services: Services) -> GapRules:
    """The gap rules from the settings."""
    s = services.settings
    return GapRules(coverage=s.servicenow_gap_coverage, similarity=s.servicenow_gap_similarity)


def span(services: Services, since: datetime | None, until: datetime | None) -> Range:
    """The range asked for; without a start, the last KB_SERVICENOW_GAP_DAYS days before its end."""
    if since is None:
        end = until or datetime.now(UTC)
        try:
            since = end - timedelta(days=services.settings.servicenow_gap_days)
        except OverflowError:  # an end in the first days of year 1
            since = datetime.min.replace(tzinfo=end.tzinfo)
    return since, until


def gaps(
    services: Services, since: datetime | None, until: datetime | None, min_tickets: int = 1
) -> list[dict[str, Any]]:
    """The gap clusters of the range with at least min_tickets tickets, the largest first."""
    found = find_gaps(
        services.engine, services.search, span(services, since, until), rules(services), _state(services)
    )
    return [c for c in found if c["tickets"] >= min_tickets]


def _state(services: Services) -> Any:
    def state(number: int) -> str | None:
        try:
            return services.workflow.records.get(number).state.value
        except NotFound:
            return None

    return state


def propose(
    services: Services,
    cluster_id: str,
    user_name: str,
    since: datetime | None = None,
    until: datetime | None = None,
    title: str | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    """Open a change request with a new article drafted from the cluster that holds ticket cluster_id."""
    user = services.users.get(user_name)
    found = next((c for c in gaps(services, since, until) if cluster_id in c["numbers"]), None)
    if found is None:
        raise NotFound(f"no knowledge gap holds the ticket {cluster_id} in this range")
    if found["change_request"] is not None:
        raise Conflict(
            f"this gap is proposed already in CR-{found['change_request']}",
            {"change_request": found["change_request"]},
        )
    lang = found["lang"]
    title = " ".join((title or found["title"]).split())[:160]
    if len(title) < 3:
        raise InvalidInput("the article needs a title of 3 to 160 characters")
    folder = slug(category or found["closest_category"] or DEFAULT_CATEGORY[lang], "")
    if not folder:
        raise InvalidInput("the category must hold letters or digits")
    options = ImportOptions(
        owner=user.name,
        audience=["L1"],
        review_by=date.today() + timedelta(days=REVIEW_DAYS),
        lang=lang,
        category=folder,
    )
    source = f"{folder}/{slug(title, 'articulo')}.md"
    result = check_import(services, [(source, draft(found, title).encode())], options)
    if result.errors or not result.plan.documents:
        raise InvalidInput(
            "the drafted article does not pass lint",
            {"findings": [f.as_json() for f in result.findings]},
        )
    change_title = {"es": "Nuevo artículo desde tickets: ", "en": "New article from tickets: "}[lang]
    message = f"Draft an article from {found['tickets']} ticket(s) resolved with no article ({found['id']})"
    result = open_change(services, result, user.name, (change_title + title)[:200], message)
    assert result.change is not None
    record_proposal(services.engine, found["numbers"], result.change)
    document = result.plan.documents[0]
    return {
        "change_request": result.change,
        "branch": result.branch,
        "document_id": document.doc_id,
        "path": document.path,
        "cluster": found["id"],
        "tickets": found["tickets"],
    }


def draft(cluster: dict[str, Any], title: str) -> str:
    """The new article's Markdown: title and gap in the front matter, the tickets quoted, room for the fix."""
    lang = cluster["lang"]
    quotes = "\n>\n".join(
        f"> **{e['number']}**: {quoted(e['short_description'])}"
        for e in cluster["examples"][:EXAMPLES_IN_DRAFT]
    )
    body = DRAFT[lang].format(
        count=cluster["tickets"],
        first=cluster["first_resolved"].date().isoformat(),
        last=cluster["last_resolved"].date().isoformat(),
        quotes=quotes,
        numbers=", ".join(cluster["numbers"][:50]) + (" …" if len(cluster["numbers"]) > 50 else ""),
    )
    front = f"---\ntitle: {_yaml_text(title)}\nservicenow_gap: {cluster['id']}\n---\n\n"
    return front + body


def quoted(text: str) -> str:
    """A ticket's words as plain text in Markdown: no markup, no HTML, no link of theirs survives."""
    flat = " ".join(text.split())
    return _MARKUP.sub(r"\\\1", flat).replace("&", "&amp;").replace("<", "&lt;")


def _yaml_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
