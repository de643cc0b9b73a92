"""Filters, facets, highlighting, suggestions, phrases, exclusions and malformed input."""

from __future__ import annotations

import pytest

from kbserver.errors import InvalidInput
from kbserver.search import SearchService


def test_filters_and_facets(starter_search: SearchService) -> None:
    everything = starter_search.search("vpn", facets=True)
    assert starter_search.search("vpn")["facets"] == {}  # counted only when asked
    assert everything["facets"]["kind"]["article"] >= 4 and everything["facets"]["kind"]["script"] >= 1
    assert set(everything["facets"]["lang"]) == {"es", "en"}
    assert everything["facets"]["tag"]["vpn"] >= 3
    scripts = starter_search.search("vpn", {"kind": ["script"]})
    assert {r["kind"] for r in scripts["results"]} == {"script"}
    assert scripts["total"] == everything["facets"]["kind"]["script"]
    english = starter_search.search("vpn lang:en")
    assert {r["lang"] for r in english["results"]} == {"en"}
    tagged = starter_search.search("cuenta", {"tag": ["bloqueo"]})
    assert {r["id"] for r in tagged["results"]} == {"KB-0002", "SCR-0003"}
    assert all("bloqueo" in r["tags"] for r in tagged["results"])
    owned = starter_search.search("owner:carmen.vidal escalado")
    assert owned["results"] and all(r["id"].startswith("PROC-") for r in owned["results"])


def test_result_shape_and_highlighting(starter_search: SearchService) -> None:
    response = starter_search.search("contrasena caducada")
    assert set(response) == {"query", "total", "total_exact", "commit", "suggestion", "results", "facets"}
    assert len(response["commit"]) == 40
    top = response["results"][0]
    assert set(top) == {"id", "kind", "title", "url", "anchor", "snippet", "score", "lang", "tags", "updated"}
    assert top["id"] == "KB-0003" and top["url"] == "/kb/cuentas/contrasena-caducada/"
    assert "<mark>contraseña</mark>" in top["snippet"]
    assert top["updated"] and top["updated"][:4].isdigit()


def test_script_step_and_procedure_section_anchors(starter_search: SearchService) -> None:
    step = starter_search.search("verificacion alternativa responsable", {"kind": ["script"]})["results"][0]
    assert (step["id"], step["anchor"]) == ("SCR-0001", "5-verificacion-alternativa")
    section = starter_search.search("objetivos de sla")["results"][0]
    assert (section["id"], section["anchor"]) == ("PROC-02", "objetivos-de-sla")


def test_exact_ranks_above_fuzzy_and_did_you_mean(starter_search: SearchService) -> None:
    typo = starter_search.search("outlok")
    assert typo["suggestion"] == "outlook"
    assert typo["results"][0]["id"] == "KB-0016"
    exact = starter_search.search("outlook")
    assert exact["suggestion"] is None
    assert exact["results"][0]["score"] > typo["results"][0]["score"]
    assert starter_search.search("impresroa")["suggestion"] == "impresora"


def test_phrases_and_exclusions(starter_search: SearchService) -> None:
    phrase = starter_search.search('"cola atascada"')
    assert [r["id"] for r in phrase["results"]] == ["KB-0021"]
    with_vpn = {r["id"] for r in starter_search.search("vpn", limit=50)["results"]}
    without = {r["id"] for r in starter_search.search("vpn -globalprotect", limit=50)["results"]}
    assert "KB-0011" in with_vpn and "KB-0011" not in without and without


def test_title_suggestions(starter_search: SearchService) -> None:
    titles = [s["title"] for s in starter_search.suggest("restablecer la contr")["suggestions"]]
    assert "Restablecer la contraseña de red" in titles
    assert starter_search.suggest("")["suggestions"] == []


def test_retired_documents_are_not_returned(starter_search: SearchService) -> None:
    assert all(r["id"] != "" for r in starter_search.search("vpn")["results"])


@pytest.mark.parametrize(
    "text",
    [
        '"unbalanced quote',
        "-",
        "- -",
        "\x00\x01 vpn \x7f",
        "kind:",
        '""',
        "((vpn))",
        "vpn*?~^",
        "a" * 999,
        "‮vpn",
    ],
)
def test_malformed_input_is_searched_as_text(starter_search: SearchService, text: str) -> None:
    response = starter_search.search(text)
    assert response["total"] >= 0 and isinstance(response["results"], list)


def test_refused_input_names_the_problem(starter_search: SearchService) -> None:
    with pytest.raises(InvalidInput, match="limit is 1000"):
        starter_search.search("x" * 5000)
    with pytest.raises(InvalidInput, match="unknown kind"):
        starter_search.search("kind:recipe vpn")


def test_a_query_clearly_in_one_language_searches_that_language(starter_search: SearchService) -> None:
    spanish = starter_search.search("impresora no imprime")
    assert spanish["results"] and {r["lang"] for r in spanish["results"]} == {"es"}
    english = starter_search.search("password expired")
    assert english["results"] and {r["lang"] for r in english["results"]} == {"en"}
    shared = starter_search.search("vpn", limit=50)  # a word both languages use: both are searched
    assert {r["lang"] for r in shared["results"]} == {"es", "en"}


def test_a_filter_nothing_passes_finds_nothing(starter_search: SearchService) -> None:
    for text, filters in (("", {"tag": ["no-such-tag"]}), ("vpn", {"owner": ["nobody"]})):
        answer = starter_search.search(text, filters, facets=True)
        assert answer["results"] == [] and answer["total"] == 0
