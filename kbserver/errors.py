"""Domain errors: one base class, translated once at the HTTP edge and in the CLI."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class KBError(Exception):
    """Base of every error the domain raises on purpose."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.retry_after = retry_after  # seconds, for the Retry-After header of a 429 or 503

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


class TooManyRequests(KBError):
    """Too many attempts (failed logins): try again after retry_after seconds."""

    status = 429
    code = "too_many_requests"


class ServiceUnavailable(KBError):
    """The service cannot do this now (its disk is full), but will once the cause is gone."""

    status = 503
    code = "service_unavailable"


class StorageFull(ServiceUnavailable):
    code = "storage_full"


_NO_SPACE_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_SQLITE_FULL = 13
_LOW_SPACE = 1 << 20  # bytes: below this a disk is as good as full
_NO_SPACE_TEXT = ("no space left on device", "disk quota exceeded", "database or disk is full")


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    error: BaseException | None = exc
    while error is not None and all(error is not e for e in chain):
        chain.append(error)
        error = error.__cause__ or error.__context__ or getattr(error, "orig", None)
    return chain


def _no_space(error: BaseException) -> bool:
    return (
        (isinstance(error, OSError) and error.errno in _NO_SPACE_ERRNOS)
        or (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF == _SQLITE_FULL  # and its extended codes
        or getattr(error, "sqlstate", None) == "53100"  # PostgreSQL: disk_full
        or any(text in str(error).lower() for text in _NO_SPACE_TEXT)
    )


def _no_room(place: Path) -> bool:
    try:
        found = os.statvfs(place)
    except OSError:
        return False
    return found.f_bavail * found.f_frsize < _LOW_SPACE


def storage_full(exc: BaseException, places: Iterable[Path] = ()) -> StorageFull | None:
    """The domain error for a write that failed because a disk is full, else None.

    SQLite, PostgreSQL, git and the file system each report it in their own shape; they are recognised
    here, once, by their error codes or the system's message. Some say only that a write failed (git:
    "couldn't write '....lock'"); such a failure counts as a full disk when one of places has no room."""
    said = any(_no_space(error) for error in _causes(exc))
    if not said and not any(_no_room(place) for place in places):
        return None
    return StorageFull(
        "the server's disk is full, so nothing was saved; try again once an administrator has freed space",
        retry_after=60,
    )


class MissingSystemLibrary(ServiceUnavailable):
    """An optional feature needs a system library that is not installed (the message names the package)."""

    code = "missing_system_library"
