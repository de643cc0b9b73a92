"""`kb import servicenow FILE`: a kb_knowledge list export (XML and JSON) becomes one change request whose
files pass lint; retired articles stay retired, hostile HTML does not survive, and what cannot be converted is
reported with its number."""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import yaml

from kbserver.cli import main
from kbserver.content import parse_document
from kbserver.content.checks import lint_commit
from kbserver.repository import ContentRepository
from kbserver.resources import starter_content

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
VPN_HTML = (
    "<h1>Configurar la VPN</h1><p>Abra el cliente y siga la tabla.</p>"
    "<table><tr><th>Campo</th><th>Valor</th></tr>"
    "<tr><td>Servidor</td><td>vpn.acme.example | puerto 443</td></tr>"
    "<tr><td>Protocolo</td><td>IKEv2</td></tr></table>"
    f'<p><img src="data:image/png;base64,{PNG}" alt="Pantalla del cliente"></p>'
    '<p>Ver también <a href="/kb_view.do?sysparm_article=KB0010002">la red wifi</a>, '
    '<a href="https://learn.example.com/vpn">la guía del fabricante</a> y '
    '<a href="sys_attachment.do?sys_id=0123">el PDF</a>.</p>'
    '<p><img src="/sys_attachment.do?sys_id=4567" alt="esquema"></p>'
)
HOSTILE_HTML = (
    '<p onclick="steal()">Conéctese a <b>Corp-WiFi</b>.<script>alert("x")</script></p>'
    '<iframe src="https://evil.example/"></iframe><a href="javascript:alert(1)">pulse aquí</a> '
    '<a href="JaVaScRiPt&#x3A;alert(2)">o aquí</a> <img src="x" onerror="alert(3)">'
    "<p>Escriba &lt;script&gt;alert(4)&lt;/script&gt; tal cual y [esto](javascript:alert(5)).</p>"
    '<form action="https://evil.example"><input name="password"></form>'
    '<p>Vuelva a <a href="kb_view.do?sys_kb_id=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1">la VPN</a>.</p>'
)
ARTICLES = [  # number, sys_id, title, html, category, author, valid_to, state, version, language
    (
        "KB0010001",
        "a" * 31 + "1",
        "Configurar la VPN",
        VPN_HTML,
        "Red y VPN",
        "marta.sanz",
        "2027-06-30",
        "published",
        "2.0",
        "es",
    ),
    (
        "KB0010001",
        "b" * 31 + "1",
        "Configurar la VPN (antigua)",
        "<p>Vieja</p>",
        "Red y VPN",
        "marta.sanz",
        "2026-01-01",
        "outdated",
        "1.0",
        "es",
    ),
    (
        "KB0010002",
        "a" * 31 + "2",
        "Red wifi corporativa",
        HOSTILE_HTML,
        "Red y VPN",
        "Pablo Ortiz",
        "2027-01-31",
        "published",
        "1.0",
        "es",
    ),
    (
        "KB0010003",
        "a" * 31 + "3",
        "Fax server setup",
        "<p>Use the <em>fax</em> queue.</p>",
        "Legacy",
        "",
        "",
        "retired",
        "1.0",
        "en",
    ),
    ("KB0010004", "a" * 31 + "4", "Wiki article", "", "Legacy", "", "", "published", "1.0", "en"),
]


def _xml() -> str:
    rows = []
    for number, sys_id, title, html, category, author, valid_to, state, version, lang in ARTICLES:
        rows.append(
            "<kb_knowledge>"
            f"<number>{number}</number><sys_id>{sys_id}</sys_id>"
            f"<short_description>{escape(title)}</short_description><text>{escape(html)}</text>"
            f'<kb_category display_value="{category}">c0ffee00c0ffee00c0ffee00c0ffee00</kb_category>'
            f'<author display_value="{author}">{"d" * 32 if author else ""}</author>'
            f"<valid_to>{valid_to}</valid_to><workflow_state>{state}</workflow_state>"
            f"<version>{version}</version><language>{lang}</language>"
            f"<article_type>{'wiki' if not html else 'html'}</article_type>"
            "</kb_knowledge>"
        )
    return '<?xml version="1.0" encoding="UTF-8"?><xml>' + "".join(rows) + "</xml>"


def _json() -> str:
    records = []
    for number, sys_id, title, html, category, author, valid_to, state, version, lang in ARTICLES:
        records.append(
            {
                "number": number,
                "sys_id": sys_id,
                "short_description": title,
                "text": html,
                "kb_category": {"display_value": category, "value": "c0ffee00" * 4},
                "author": {"display_value": author, "value": "d" * 32 if author else ""},
                "valid_to": valid_to,
                "workflow_state": state,
                "version": version,
                "language": lang,
                "article_type": "wiki" if not html else "html",
            }
        )
    return json.dumps({"records": records})


@pytest.fixture
def kb(tmp_path: Path) -> tuple[ContentRepository, list[str]]:
    repo, data = tmp_path / "content", tmp_path / "data"
    common = ["--repo", str(repo), "--data-dir", str(data)]
    assert main(["init", str(repo), "--from", str(starter_content())]) == 0
    assert main(["user", "add", "ines", "--role", "lead", *common]) == 0
    return ContentRepository(repo), common


@pytest.mark.parametrize("kind", ["xml", "json"])
def test_an_export_becomes_one_change_request_that_lints_clean(
    kind: str, kb: tuple[ContentRepository, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, common = kb
    export = tmp_path / f"kb_knowledge.{kind}"
    export.write_text(_xml() if kind == "xml" else _json())
    main_before = content.resolve("main")
    capsys.readouterr()
    argv = ["import", "servicenow", str(export), "--as", "ines", "--instance", "https://acme.service-now.com"]
    code = main([*argv, "--json", *common])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert content.resolve("main") == main_before  # never a commit to main
    assert out["change_request"] == 1
    numbers = {d["number"]: d for d in out["documents"]}
    assert sorted(numbers) == ["KB0010001", "KB0010002", "KB0010003"]
    left_out = {(n["number"], n["reason"]) for n in out["not_converted"]}
    assert ("KB0010004", "wiki markup is not converted") in left_out
    assert any(n == "KB0010001" and "older version" in r for n, r in left_out)

    branch = out["branch"]
    head = content.resolve(branch)
    vpn_path, wifi_path = numbers["KB0010001"]["path"], numbers["KB0010002"]["path"]
    assert vpn_path == "docs/kb/red-y-vpn/configurar-la-vpn.md"
    assert numbers["KB0010003"]["path"].startswith("docs/kb/legacy/")
    vpn = parse_document(vpn_path, content.read(head, vpn_path) or b"")
    assert vpn.meta is not None and vpn.meta.title == "Configurar la VPN"
    assert vpn.meta.owner == "marta.sanz" and vpn.meta.review_by.isoformat() == "2027-06-30"
    assert vpn.meta.meta == {"servicenow": "KB0010001"} and vpn.meta.status == "active"
    assert "| Servidor | vpn.acme.example \\| puerto 443 |" in vpn.body  # the table, its pipe escaped
    assert "(../red-y-vpn/red-wifi-corporativa.md)" in vpn.body or "(red-wifi-corporativa.md)" in vpn.body
    assert "[la guía del fabricante](https://learn.example.com/vpn)" in vpn.body
    assert "(https://acme.service-now.com/sys_attachment.do?sys_id=0123)" in vpn.body
    assert "[esquema](https://acme.service-now.com/sys_attachment.do?sys_id=4567)" in vpn.body
    image = "docs/kb/red-y-vpn/configurar-la-vpn-image-1.png"
    assert "![Pantalla del cliente](configurar-la-vpn-image-1.png)" in vpn.body
    assert (content.read(head, image) or b"").startswith(b"\x89PNG")
    fax = parse_document(
        numbers["KB0010003"]["path"], content.read(head, numbers["KB0010003"]["path"]) or b""
    )
    assert fax.meta is not None and fax.meta.status == "retired" and fax.meta.lang == "en"

    wifi_text = (content.read(head, wifi_path) or b"").decode()
    wifi = yaml.safe_load(wifi_text.split("---")[1])
    assert wifi["owner"] == "Pablo Ortiz" and wifi["meta"] == {"servicenow": "KB0010002"}
    lowered = wifi_text.lower()
    for hostile in ("<script", "onclick", "onerror", "javascript:", "<iframe", "<form", "<input", "alert(3)"):
        assert hostile not in lowered.replace("&lt;script", "").replace("javascript:alert(5)", ""), hostile
    assert "](javascript" not in lowered and "&lt;script>alert(4)&lt;/script>" in wifi_text
    assert "[la VPN](configurar-la-vpn.md)" in wifi_text  # a link by sys_id to another imported article
    notes = {(n["number"], n["note"]) for n in out["notes"]}
    assert ("KB0010002", "removed <form>, <iframe>, <input>, <script>") in notes

    errors = [f for f in lint_commit(content, branch) if f.severity == "error"]
    assert errors == []


def test_nothing_importable_exits_non_zero_with_the_report(
    kb: tuple[ContentRepository, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, common = kb
    export = tmp_path / "wiki.json"
    export.write_text(
        json.dumps({"records": [{"number": "KB0020001", "short_description": "x", "wiki": "=x="}]})
    )
    capsys.readouterr()
    assert main(["import", "servicenow", str(export), "--as", "ines", *common]) == 1
    out = capsys.readouterr().out
    assert "KB0020001    NOT IMPORTED: no text" in out and "no change request was opened" in out
    assert content.branches("change/") == {}
    bad = tmp_path / "bad.xml"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><kb_knowledge/></xml>')
    assert main(["import", "servicenow", str(bad), "--as", "ines", *common]) == 2
    assert "DTD" in capsys.readouterr().err
    bad.write_text("number,short_description\nKB1,x\n")
    assert main(["import", "servicenow", str(bad), "--as", "ines", *common]) == 2
    assert "not a ServiceNow export" in capsys.readouterr().err
