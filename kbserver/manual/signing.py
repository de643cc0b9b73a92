"""PAdES signatures on the manual (pyHanko): sign with the desk's key, check what a file's signature covers.

The signature is invisible and added as an incremental update, so the signed file is still the PDF/A the
renderer wrote, and its text is unchanged. It is PAdES baseline B-B: no time-stamp authority is called
(the service reaches no network); the signing time is the signer's own claim.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from kbserver.errors import InvalidInput

FIELD = "ManualApproval"


@dataclass(frozen=True)
class SignatureCheck:
    """What a file's signature proves: present, intact, covering the whole file, by a trusted certificate."""

    signed: bool
    intact: bool = False
    whole_file: bool = False
    trusted: bool = False
    signer: str = ""
    signed_at: str = ""

    @property
    def ok(self) -> bool:
        """Whether the signature holds: intact, covering every byte, from a trusted certificate."""
        return self.signed and self.intact and self.whole_file and self.trusted


def sign_pdf(data: bytes, key_file: Path, cert_file: Path, reason: str) -> bytes:
    """data signed (PAdES B-B) with the PEM key and certificate (its chain may follow it in cert_file)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter

    signer = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
        str(key_file), str(cert_file), ca_chain_files=(str(cert_file),)
    )
    if signer is None:
        raise InvalidInput(f"cannot read the signing key {key_file} or its certificate {cert_file}")
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD, subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256", reason=reason
    )
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)), meta, signer=signer)
    return bytes(out.getvalue())


def check_signature(data: bytes, cert_file: Path | None) -> SignatureCheck:
    """Whether data carries an intact signature over all of it, by the certificate in cert_file."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        signatures = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures
    except Exception:  # pyHanko refuses a damaged file in many ways; a damaged file is simply not signed
        return SignatureCheck(signed=False)
    if not signatures:
        return SignatureCheck(signed=False)
    roots = []
    if cert_file is not None:
        from pyhanko.keys import load_certs_from_pemder

        roots = list(load_certs_from_pemder([str(cert_file)]))  # type: ignore[no-untyped-call]
    last = signatures[-1]
    try:
        status = validate_pdf_signature(last, ValidationContext(trust_roots=roots, allow_fetching=False))
    except Exception:
        return SignatureCheck(signed=True)
    subject = status.signing_cert.subject.human_friendly if status.signing_cert else ""
    return SignatureCheck(
        signed=True,
        intact=bool(status.intact and status.valid),
        whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        trusted=bool(status.trusted) and bool(roots),
        signer=subject,
        signed_at=status.signer_reported_dt.isoformat() if status.signer_reported_dt else "",
    )
