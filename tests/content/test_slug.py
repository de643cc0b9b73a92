"""One slug for every name made from a title: a change request's branch, an imported file, a new document."""

from __future__ import annotations

from datetime import date

import pytest

from kbserver.content.importer import ImportOptions, plan_import
from kbserver.content.slug import slug
from kbserver.services import Services


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Contraseña olvidada", "contrasena-olvidada"),
        ("CONTRASEÑA", "contrasena"),
        ("¿Por qué no arranca el portátil?", "por-que-no-arranca-el-portatil"),
        ("Año fiscal: pingüino, acción, Línea", "ano-fiscal-pinguino-accion-linea"),
        ("Configuració de la xarxa · Straße", "configuracio-de-la-xarxa-strasse"),
        ("  ¡¿ — ?!  ", "fallback"),
    ],
)
def test_accents_and_enye_keep_their_letter(title: str, expected: str) -> None:
    assert slug(title, "fallback") == expected


def test_a_cut_slug_never_ends_in_a_hyphen() -> None:
    assert slug("Restablecer la contraseña", "x", 15) == "restablecer-la"  # not "restablecer-la-"
    assert slug("Restablecer la contraseña", "x", 18) == "restablecer-la-con"


def test_a_change_requests_branch_keeps_the_enye(services: Services) -> None:
    lead = services.users.add("lucia", "lead", None)
    change = services.workflow.create(lead, "Restablecer la contraseña del año")
    assert change.branch == "change/1-restablecer-la-contrasena-del-ano"  # was ...-contrasea-del-ao
    assert services.repository.head(change.branch) == change.head_commit


def test_an_imported_file_and_folder_keep_their_letters() -> None:
    options = ImportOptions("lucia", ["L1"], date(2030, 1, 1), "es", "cuentas")
    source = b"# Contrase\xc3\xb1a olvidada\n\nPasos.\n"
    plan = plan_import([("Señales/Contraseña olvidada.md", source)], options, [], 1)
    assert [d.path for d in plan.documents] == ["docs/kb/senales/contrasena-olvidada.md"]
