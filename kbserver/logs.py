"""Logging: one configuration for the CLI, `kb serve` and every worker, at the settings' level."""

from __future__ import annotations

import logging
import sys

from kbserver.errors import InvalidInput

FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
# uvicorn's own names, so that KB_LOG_LEVEL=trace means what it means to uvicorn.
LEVELS = {"critical": 50, "error": 40, "warning": 30, "info": 20, "debug": 10, "trace": 5}


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a line is written (tests and uvicorn may swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


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


def level_number(name: str) -> int:
    """The logging level of a KB_LOG_LEVEL value; an unknown name is refused."""
    try:
        return LEVELS[name.strip().lower()]
    except KeyError:
        raise InvalidInput(
            f"KB_LOG_LEVEL: unknown level {name!r}", {"levels": sorted(LEVELS, key=LEVELS.__getitem__)}
        ) from None


def configure_logging(level: str) -> None:
    """Send every logger's lines (the service's and uvicorn's) to standard error, with a timestamp, level,
    process and logger name, at level. Calling it again replaces the earlier configuration."""
    number = level_number(level)
    logging.addLevelName(LEVELS["trace"], "TRACE")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StandardError)]:
        root.removeHandler(handler)
    handler = _StandardError()
    handler.setFormatter(logging.Formatter(FORMAT))
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
