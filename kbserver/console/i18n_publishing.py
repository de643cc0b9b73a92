"""The console's words for publishing (unverified commits on main), in Spanish and English (merged into
i18n.MESSAGES)."""

from __future__ import annotations

PUBLISHING_MESSAGES: dict[str, dict[str, str]] = {
    "es": {
        "publishing.title": "Publicación",
        "publishing.banner": (
            "{count} commit(s) de main no pasan kb verify: ni ellos ni lo posterior se publican. "
            "Los operadores ven {published}."
        ),
        "publishing.review": "Revisar",
        "publishing.current": "Todo main está publicado: los operadores ven {published}.",
        "publishing.held": "Commits sin verificar",
        "publishing.waiting": "{waiting} commit(s) de main esperan a que se resuelvan.",
        "publishing.commit": "Commit",
        "publishing.author": "Autor",
        "publishing.date": "Fecha",
        "publishing.reasons": "Por qué no se verifica",
        "publishing.accept": "Aceptar y publicar",
        "publishing.reason": "Motivo (queda en el registro de auditoría)",
        "publishing.revert": (
            "O reviértalo con una solicitud de cambio: al fusionarla se publica de nuevo desde ella."
        ),
        "publishing.admin_only": "Solo un administrador puede aceptar commits sin verificar.",
        "publishing.events": "Registro",
        "publishing.action.baseline": "línea base",
        "publishing.action.accept": "aceptado",
        "publishing.action.revert": "reversión abierta",
        "publishing.revert_button": "Revertir con una solicitud de cambio",
    },
    "en": {
        "publishing.title": "Publishing",
        "publishing.banner": (
            "{count} commit(s) on main fail kb verify: they and everything after them are not published. "
            "Operators see {published}."
        ),
        "publishing.review": "Review",
        "publishing.current": "All of main is published: operators see {published}.",
        "publishing.held": "Unverified commits",
        "publishing.waiting": "{waiting} commit(s) on main wait for them to be resolved.",
        "publishing.commit": "Commit",
        "publishing.author": "Author",
        "publishing.date": "Date",
        "publishing.reasons": "Why it does not verify",
        "publishing.accept": "Accept and publish",
        "publishing.reason": "Reason (kept in the audit record)",
        "publishing.revert": (
            "Or revert it through a change request: once merged, publishing goes on from its merge."
        ),
        "publishing.admin_only": "Only an admin can accept unverified commits.",
        "publishing.events": "Record",
        "publishing.action.baseline": "baseline",
        "publishing.action.accept": "accepted",
        "publishing.action.revert": "revert opened",
        "publishing.revert_button": "Revert through a change request",
    },
}
