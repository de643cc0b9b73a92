"""Logging: one configuration for the CLI, `kb serve` and every worker, at the settings' level and format,
with the id of the request being served on every line written while it is served."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from kbserver.errors import InvalidInput

FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s%(request_tag)s"
FORMATS = ("text", "json")
# uvicorn's own names, so that KB_LOG_LEVEL=trace means what it means to uvicorn.
LEVELS = {"critical": 50, "error": 40, "warning": 30, "info": 20, "debug": 10, "trace": 5}

# Set by the HTTP edge for each request (kbserver/api/requestid.py); asyncio tasks and the threads a
# request hands work to copy it, so a line written anywhere on the request's behalf carries it.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

# What every LogRecord has; anything else on a record was passed as `extra=` and goes into the JSON line.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "request_tag",
    "color_message",  # uvicorn's copy of the message with terminal colours
}


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a line is written (tests and uvicorn may swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being served in the thread that writes it, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = REQUEST_ID.get()
        record.request_id = request_id
        record.request_tag = f" request_id={request_id}" if request_id else ""
        return True


class HideQueryStrings(logging.Filter):
    """Drops the query string from uvicorn's access lines: a search's text is what an operator typed about a
    caller (names, hosts, ticket numbers), and has no place in a log kept for months."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn logs (client, method, path with query, http version, status).
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str) and "?" in args[2]:
            path = args[2].split("?", 1)[0]
            record.args = (args[0], args[1], f"{path}?[query hidden]", *args[3:])
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, process, request id, message, the record's
    `extra=` fields (durations, commits), the access log's parts, and the traceback if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["request_id"] = request_id
        line.update((k, v) for k, v in record.__dict__.items() if k not in _STANDARD and k not in line)
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            line["http"] = {"client": client, "method": method, "path": path, "version": version}
            line["http"]["status"] = status
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def level_number(name: str) -> int:
    """The logging level of a KB_LOG_LEVEL value; an unknown name is refused."""
    try:
        return LEVELS[name.strip().lower()]
    except KeyError:
        raise InvalidInput(
            f"KB_LOG_LEVEL: unknown level {name!r}", {"levels": sorted(LEVELS, key=LEVELS.__getitem__)}
        ) from None


def formatter(name: str) -> logging.Formatter:
    """The formatter of a KB_LOG_FORMAT value (`text` or `json`); an unknown name is refused."""
    chosen = name.strip().lower()
    if chosen not in FORMATS:
        raise InvalidInput(f"KB_LOG_FORMAT: unknown format {name!r}", {"formats": list(FORMATS)})
    return JsonFormatter() if chosen == "json" else logging.Formatter(FORMAT)


def configure_logging(level: str, log_format: str = "text") -> None:
    """Send every logger's lines (the service's and uvicorn's) to standard error at level, as text (time,
    level, process, logger, message, request id) or as one JSON object per line. Calling it again replaces
    the earlier configuration."""
    number = level_number(level)
    chosen = formatter(log_format)
    logging.addLevelName(LEVELS["trace"], "TRACE")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StandardError)]:
        root.removeHandler(handler)
    handler = _StandardError()
    handler.setFormatter(chosen)
    handler.addFilter(RequestIdFilter())  # on the handler: it sees the records of every logger
    root.addHandler(handler)
    root.setLevel(number)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        # uvicorn's loggers propagate to the root handler above instead of keeping their own format.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(number)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideQueryStrings) for f in access.filters):
        access.addFilter(HideQueryStrings())
