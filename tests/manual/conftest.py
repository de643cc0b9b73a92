"""A content repository with a short history of merged change requests, for building the manual."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader

from kbserver.services import Services
from kbserver.settings import Settings

PEOPLE = [
    ("lead1", "lead"),
    ("lead2", "lead"),
    ("appr1", "approver"),
    ("appr2", "approver"),
    ("op1", "operator"),
]
NEW_CHAPTER = """---
id: PROC-09
title: Gestión de incidentes mayores
lang: es
owner: carmen.vidal
tags: [incidentes]
audience: [L1, L2]
review_by: 2027-06-30
version: "1.0"
order: 9
---

## Declaración

Un incidente mayor se declara cuando **más de 50 usuarios** no pueden trabajar.

!!! warning "Aviso"
    Avise al responsable de guardia antes de 10 minutos.

| Paso | Quién |
| --- | --- |
| Declarar | Líder L2 |
| Comunicar | Responsable del servicio |

Véase el [protocolo de escalado](03-escalado.md#cuando-escalar).
"""


@dataclass
class History:
    """The merges the fixture made, by what they changed."""

    seed: str
    escalation: str  # CR-1: PROC-03 changed, approved by appr1
    article: str  # CR-2: an article only
    new_chapter: str  # CR-3: PROC-09 added and PROC-01 changed, approved by appr2


def merge_change(services: Services, title: str, changes: dict[str, bytes], approver: str) -> str:
    """lead1 proposes changes, approver signs them off, lead1 merges; returns the merge commit."""
    flow = services.workflow
    lead = services.users.get("lead1")
    change = flow.create(lead, title)
    flow.write(lead, change.number, changes, change.head_commit, title)
    flow.submit(lead, change.number)
    flow.approve(services.users.get(approver), change.number, "ok")
    merged = services.merge(lead, change.number)
    assert merged.merged_commit
    return merged.merged_commit


def append(services: Services, path: str, text: str) -> bytes:
    """The file at main with text appended."""
    current = services.repository.read(services.main_commit() or "", path)
    assert current is not None
    return current + text.encode()


@pytest.fixture
def manual_settings(settings: Settings) -> Settings:
    """Test settings naming the desk, the client and the manual, without background builds."""
    return settings.model_copy(
        update={
            "desk_name": "Mesa Global TI",
            "client_name": "Acme Seguros",
            "manual_id": "MP-ACME-01",
            "site_autobuild": False,
            "manual_autobuild": False,
        }
    )


@pytest.fixture
def manual_services(manual_settings: Settings) -> Iterator[Services]:
    """The service's parts with the people above."""
    opened = Services.open(manual_settings)
    for name, role in PEOPLE:
        opened.users.add(name, role, None, display_name=name.title(), email=f"{name}@desk.example")
    yield opened
    opened.close()


@pytest.fixture
def history(manual_services: Services) -> History:
    """Three merged change requests: two change the procedures, one an article only."""
    services = manual_services
    seed = services.main_commit() or ""
    escalation = merge_change(
        services,
        "Escalado: plazo de 15 minutos",
        {
            "docs/procedures/03-escalado.md": append(
                services, "docs/procedures/03-escalado.md", "\nPlazo nuevo.\n"
            )
        },
        "appr1",
    )
    article = merge_change(
        services,
        "VPN: consejo nuevo",
        {"docs/kb/red-vpn/vpn-lenta.md": append(services, "docs/kb/red-vpn/vpn-lenta.md", "\nConsejo.\n")},
        "lead2",
    )
    new_chapter = merge_change(
        services,
        "Incidentes mayores",
        {
            "docs/procedures/09-incidentes-mayores.md": NEW_CHAPTER.encode(),
            "docs/procedures/01-alcance-horario.md": append(
                services, "docs/procedures/01-alcance-horario.md", "\nCobertura ampliada.\n"
            ),
        },
        "appr2",
    )
    return History(seed, escalation, article, new_chapter)


def pages(data: bytes) -> list[str]:
    """The text of each page of a PDF, read back with pypdf."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def save(tmp_path: Path, name: str, data: bytes) -> Path:
    """data written to a file in tmp_path."""
    path = tmp_path / name
    path.write_bytes(data)
    return path
