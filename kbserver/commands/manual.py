"""`kb manual build` and `kb manual verify`: the procedures manual as one signed, versioned PDF."""

from __future__ import annotations

import argparse
from pathlib import Path

from kbserver.commands.actions import Result, Verbs, verb
from kbserver.commands.output import json_text
from kbserver.errors import Conflict, InvalidInput, NotFound
from kbserver.manual import BuiltManual, build_manual, cover_for
from kbserver.manual.check import ManualCheck, verify_manual
from kbserver.manual.signing import sign_pdf
from kbserver.services import Services
from kbserver.settings import Settings


def add_parser(sub: Verbs[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Register `kb manual build` and `kb manual verify`."""
    verbs = sub.add_parser("manual", help="the procedures manual as a signed PDF").add_subparsers(
        dest="verb", required=True
    )
    p = verb(verbs, "build", build_pdf, parents=[common], help="build the manual's PDF at a commit of main")
    p.add_argument("--ref", help="branch or commit (default: the approved branch)")
    p.add_argument("--out", type=Path, help="the PDF to write (default: <document>-v<version>.pdf)")
    p.add_argument(
        "--draft", action="store_true", help="build even if kb verify rejects it (marked as a draft)"
    )
    p = verb(verbs, "verify", verify, parents=[common], help="check a manual's signature, record and text")
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true")


def signing_files(settings: Settings) -> tuple[Path, Path] | None:
    """The signing key and certificate, when both are configured; InvalidInput when only one is."""
    key, cert = settings.manual_signing_key, settings.manual_signing_cert
    if key is None and cert is None:
        return None
    if key is None or cert is None:
        raise InvalidInput("KB_MANUAL_SIGNING_KEY and KB_MANUAL_SIGNING_CERT must be set together")
    for path in (key, cert):
        if not path.is_file():
            raise NotFound(f"signing file {path} does not exist")
    return key, cert


def build(services: Services, ref: str, draft: bool = False) -> tuple[BuiltManual, bytes]:
    """The manual at ref and its PDF, signed when a key is configured; Conflict if kb verify rejects it."""
    repo, settings = services.repository, services.settings
    commit = repo.resolve(ref)
    built = build_manual(repo, commit, cover_for(settings, repo, commit), services.workflow.records)
    if not built.record.verified and not draft:
        raise Conflict(
            f"kb verify rejects version {built.version} of the manual; pass --draft to print it anyway",
            built.record.violations,
        )
    files = signing_files(settings)
    pdf = built.pdf
    if files:
        reason = f"{settings.manual_id} version {built.version} ({built.commit[:12]})"
        pdf = sign_pdf(pdf, files[0], files[1], reason)
    return built, pdf


def build_pdf(services: Services, args: argparse.Namespace) -> Result:
    """`kb manual build`: write the manual's PDF, signed when a key is configured."""
    settings = services.settings
    built, pdf = build(services, args.ref or settings.branch, args.draft)
    out = args.out or Path(f"{settings.manual_id}-v{built.version}.pdf")
    out.write_bytes(pdf)
    signed = "signed" if signing_files(settings) else "unsigned"
    draft = "" if built.record.verified else " DRAFT (kb verify rejects it)"
    return 0, f"{out}: version {built.version} at {built.commit[:12]}, {signed}{draft}"


def verify(services: Services, args: argparse.Namespace) -> Result:
    """`kb manual verify FILE`: its signature, approval record and text; exit 1 if any does not hold."""
    settings = services.settings
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise NotFound(f"cannot read {args.file}: {exc.strerror}") from exc
    found = verify_manual(
        data, services.repository, settings.branch, services.workflow.records, settings.manual_signing_cert
    )
    return (0 if found.ok else 1), _report(found, args.json)


def _report(found: ManualCheck, as_json: bool) -> str:
    if as_json:
        return json_text(found.as_json())
    record = found.record or {}
    lines = [
        f"document {record.get('document', '?')} version {record.get('version', '?')}"
        f" at {str(record.get('commit', '?'))[:12]}",
        f"signature: {'by ' + found.signature.signer if found.signature.signed else 'none'}",
    ]
    lines += [f"problem: {p}" for p in found.problems]
    lines.append("ok: signature, approval record and text match" if found.ok else "FAILED")
    return "\n".join(lines)
