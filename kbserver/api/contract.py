"""What the OpenAPI document declares beyond the bodies: each route's error answers and response headers."""

from __future__ import annotations

from typing import Any

from kbserver.api.errors import ErrorBody

Responses = dict[int | str, dict[str, Any]]

MEANINGS = {
    400: "the body could not be read (not valid JSON)",
    401: "not logged in, or the API token is unknown or revoked",
    403: "the user's role does not allow this, or a session write lacks its CSRF token",
    404: "what the path names does not exist",
    409: "the state does not allow this now, or someone changed it first",
    422: "the request is invalid: `details` names each field and what is wrong with it",
    429: "too many attempts: try again after Retry-After seconds",
    503: "the service cannot do this now (its disk is full): try again after Retry-After seconds",
}
LIST_HEADERS: dict[str, Any] = {
    "X-Total-Count": {"description": "how many items the whole list holds", "schema": {"type": "integer"}},
    "Link": {
        "description": 'the next page, as `<url>; rel="next"`, while there is one',
        "schema": {"type": "string"},
    },
}


def errors(*statuses: int) -> Responses:
    """The `responses=` entries of a route's error answers, each in the one error shape."""
    return {status: {"model": ErrorBody, "description": MEANINGS[status]} for status in statuses}


def created(what: str) -> Responses:
    """The `responses=` entry of a 201 whose Location header names what was created."""
    location = {"description": f"the path of {what}", "schema": {"type": "string"}, "required": True}
    return {201: {"description": f"{what} created", "headers": {"Location": location}}}


def listed(description: str = "the page asked for") -> Responses:
    """The `responses=` entry of a 200 that answers a page of a list."""
    return {200: {"description": description, "headers": LIST_HEADERS}}
