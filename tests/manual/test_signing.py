"""Signing the manual (PAdES) and `kb manual verify`: signature, approval record and text, each checked."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kbserver.cli import main
from kbserver.manual import build_manual, cover_for
from kbserver.manual.chapters import load_chapters
from kbserver.manual.check import verify_manual
from kbserver.manual.document import manual_html
from kbserver.manual.pdf import render_pdf
from kbserver.repository import SERVICE_AUTHOR
from kbserver.services import Services
from tests.manual.conftest import History


def make_certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A throw-away EC key and a self-signed certificate for signing documents, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, True, False, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = folder / f"{name}.key", folder / f"{name}.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


@pytest.fixture
def signing(tmp_path: Path, manual_services: Services, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The desk's signing key and certificate, configured as the CLI reads them."""
    key, cert = make_certificate(tmp_path, "Mesa Global TI")
    monkeypatch.setenv("KB_MANUAL_SIGNING_KEY", str(key))
    monkeypatch.setenv("KB_MANUAL_SIGNING_CERT", str(cert))
    monkeypatch.setenv("KB_MANUAL_ID", manual_services.settings.manual_id)
    return key, cert


def _common(services: Services) -> list[str]:
    s = services.settings
    return ["--repo", str(s.repo), "--data-dir", str(s.data_dir), "--database-url", s.database_url]


def test_signed_manual_verifies_and_altered_bytes_do_not(
    manual_services: Services,
    history: History,
    signing: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "manual.pdf"
    assert main(["manual", "build", "--out", str(out), *_common(manual_services)]) == 0
    assert "version 3" in capsys.readouterr().out
    assert main(["manual", "verify", str(out), *_common(manual_services)]) == 0
    said = capsys.readouterr().out
    assert "signature: by Common Name: Mesa Global TI" in said and "ok:" in said
    data = bytearray(out.read_bytes())
    middle = len(data) // 2
    data[middle] = (data[middle] + 1) % 256
    altered = tmp_path / "altered.pdf"
    altered.write_bytes(bytes(data))
    assert main(["manual", "verify", str(altered), *_common(manual_services)]) == 1
    assert "altered after signing" in capsys.readouterr().out
    appended = tmp_path / "appended.pdf"
    appended.write_bytes(out.read_bytes() + b"\n% more\n")
    assert main(["manual", "verify", str(appended), *_common(manual_services)]) == 1
    assert "added to the file after it was signed" in capsys.readouterr().out


def test_unsigned_or_foreign_signature_fails_when_a_certificate_is_configured(
    manual_services: Services, history: History, signing: tuple[Path, Path], tmp_path: Path
) -> None:
    repo = manual_services.repository
    built = build_manual(
        repo, "main", cover_for(manual_services.settings, repo, "main"), manual_services.workflow.records
    )
    records, branch = manual_services.workflow.records, "main"
    assert verify_manual(built.pdf, repo, branch, records, None).ok  # unsigned, and no certificate asked for
    found = verify_manual(built.pdf, repo, branch, records, signing[1])
    assert found.problems == ["the file is not signed, and a signing certificate is configured"]
    from kbserver.manual.signing import sign_pdf

    other_key, other_cert = make_certificate(tmp_path, "Someone Else")
    forged = sign_pdf(built.pdf, other_key, other_cert, "forged")
    found = verify_manual(forged, repo, branch, records, signing[1])
    assert found.problems == [
        "the signer (Common Name: Someone Else) is not the configured signing certificate"
    ]


def test_record_or_text_that_does_not_match_the_repository_fails(
    manual_services: Services, history: History
) -> None:
    repo, records = manual_services.repository, manual_services.workflow.records
    cover = cover_for(manual_services.settings, repo, "main")
    built = build_manual(repo, "main", cover, records)
    commit, date = built.commit, built.record.current.date
    chapters = load_chapters(repo, commit)
    page = manual_html(cover, built.record, chapters)
    forged_record = dict(built.attached)
    forged_record["approvals"] = [dict(a, name="Otra Persona") for a in built.attached["approvals"]]
    forged = render_pdf(page, forged_record, repo, commit, date)
    found = verify_manual(forged, repo, "main", records)
    assert found.problems == ["the attached approval record does not match the repository: approvals"]
    forged_trailers = dict(built.attached, trailers=[["Change-Request", "CR-3"]])
    found = verify_manual(render_pdf(page, forged_trailers, repo, commit, date), repo, "main", records)
    assert found.problems == [f"the attached trailers are not those of commit {commit[:12]}"]
    other_text = page.replace("Cobertura ampliada.", "Cobertura reducida.")
    found = verify_manual(render_pdf(other_text, built.attached, repo, commit, date), repo, "main", records)
    assert len(found.problems) == 1 and found.problems[0].startswith(
        f"the text does not match commit {commit[:12]}"
    )
    assert verify_manual(built.pdf, repo, "main", records).ok


def test_a_version_kb_verify_rejects_fails_verification(
    manual_services: Services, history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = manual_services.repository
    path = "docs/procedures/03-escalado.md"
    text = (repo.read(repo.resolve("main"), path) or b"") + b"\nCambio sin aprobar.\n"
    repo.commit_files("main", {path: text}, "hotfix", SERVICE_AUTHOR, repo.head("main"))
    out = tmp_path / "draft.pdf"
    assert main(["manual", "build", "--draft", "--out", str(out), *_common(manual_services)]) == 0
    capsys.readouterr()
    assert main(["manual", "verify", str(out), "--json", *_common(manual_services)]) == 1
    said = capsys.readouterr().out
    assert "kb verify rejects this version" in said and "committed around the workflow" in said
