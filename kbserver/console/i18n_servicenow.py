"""The console's words for knowledge gaps and ticket KPIs, Spanish and English (merged into i18n.MESSAGES)."""

from __future__ import annotations

SERVICENOW_MESSAGES: dict[str, dict[str, str]] = {
    "es": {
        "nav.gaps": "Huecos",
        "gaps.title": "Huecos de conocimiento desde los tickets",
        "gaps.intro": (
            "Incidencias resueltas sin artículo adjunto ni enlazado cuya mejor respuesta en la búsqueda "
            "contiene menos del {coverage} de sus palabras (pesadas por lo raras que son), agrupadas por "
            "descripciones parecidas. Del {since} al {until}."
        ),
        "gaps.min": "Tickets mínimos",
        "gaps.tickets": "Tickets",
        "gaps.words": "Palabras comunes",
        "gaps.examples": "Ejemplos",
        "gaps.closest": "Lo más cercano",
        "gaps.nohit": "la búsqueda no encuentra nada",
        "gaps.coverage": "{coverage} de las palabras",
        "gaps.propose": "Proponer un artículo",
        "gaps.proposed": "Propuesto en",
        "gaps.shown": "Se muestran {shown} de {total} grupos.",
        "reports.tickets": "KPI de la mesa por semana (todos los tickets de ServiceNow)",
        "reports.closed": "Tickets cerrados por semana (ServiceNow)",
    },
    "en": {
        "nav.gaps": "Gaps",
        "gaps.title": "Knowledge gaps from tickets",
        "gaps.intro": (
            "Resolved incidents with no article attached or linked whose best search hit holds less than "
            "{coverage} of their words (weighed by rarity), grouped by similar descriptions. "
            "From {since} to {until}."
        ),
        "gaps.min": "Smallest cluster",
        "gaps.tickets": "Tickets",
        "gaps.words": "Shared words",
        "gaps.examples": "Examples",
        "gaps.closest": "Closest",
        "gaps.nohit": "the search finds nothing",
        "gaps.coverage": "{coverage} of the words",
        "gaps.propose": "Propose an article",
        "gaps.proposed": "Proposed in",
        "gaps.shown": "Showing {shown} of {total} clusters.",
        "reports.tickets": "Desk KPIs per week (every ServiceNow ticket)",
        "reports.closed": "Tickets closed per week (ServiceNow)",
    },
}
