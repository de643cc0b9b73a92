"""The console's words for the procedures manual, in Spanish and English (merged into i18n.MESSAGES)."""

from __future__ import annotations

MANUAL_MESSAGES: dict[str, dict[str, str]] = {
    "es": {
        "nav.manual": "Manual",
        "manual.title": "Manual de procedimientos: versiones",
        "manual.version": "Versión",
        "manual.effective": "En vigor desde",
        "manual.change": "Solicitud de cambio",
        "manual.approvers": "Aprobado por",
        "manual.chapters": "Capítulos cambiados",
        "manual.download": "Descargar PDF",
        "manual.old": "Desde la versión",
        "manual.new": "hasta la versión",
        "manual.compare": "Comparar",
        "manual.compared": "Versión {old} frente a versión {new}",
        "manual.same": "Ningún capítulo cambia entre estas versiones.",
        "manual.status.added": "nuevo",
        "manual.status.removed": "retirado",
        "manual.status.changed": "modificado",
    },
    "en": {
        "nav.manual": "Manual",
        "manual.title": "Procedures manual: versions",
        "manual.version": "Version",
        "manual.effective": "Effective",
        "manual.change": "Change request",
        "manual.approvers": "Approved by",
        "manual.chapters": "Chapters changed",
        "manual.download": "Download PDF",
        "manual.old": "From version",
        "manual.new": "to version",
        "manual.compare": "Compare",
        "manual.compared": "Version {old} against version {new}",
        "manual.same": "No chapter differs between these versions.",
        "manual.status.added": "added",
        "manual.status.removed": "removed",
        "manual.status.changed": "changed",
    },
}
