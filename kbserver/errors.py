"""Domain errors: one base class, translated once at the HTTP edge and in the CLI."""

from __future__ import annotations

from typing import Any


class KBError(Exception):
    """Base of every error the domain raises on purpose."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_json(self) -> dict[str, Any]:
        """The error body every HTTP error shares."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(KBError):
    status = 422
    code = "invalid_input"


class NotAuthenticated(KBError):
    status = 401
    code = "not_authenticated"


class Forbidden(KBError):
    status = 403
    code = "forbidden"


class NotFound(KBError):
    status = 404
    code = "not_found"


class Conflict(KBError):
    status = 409
    code = "conflict"


class ContentError(KBError):
    """Content that cannot be parsed or built."""

    status = 422
    code = "content_error"


class RepositoryError(KBError):
    """The content repository is missing or not usable."""

    status = 503
    code = "repository_error"
