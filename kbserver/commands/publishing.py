"""`kb publishing`: which commit of main operators see, the unverified commits holding the rest back, and an
admin's acceptance or a lead's revert of them."""

from __future__ import annotations

import argparse

from approval.publishing import open_revert
from kbserver.commands.actions import Result, Verbs, verb
from kbserver.commands.output import json_text, table
from kbserver.services import Services


def add_parser(sub: Verbs[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Register `kb publishing status|accept|revert`."""
    verbs = sub.add_parser(
        "publishing", help="what is published, and unverified commits on main"
    ).add_subparsers(dest="verb", required=True)
    p = verb(verbs, "status", status, parents=[common], help="the published commit and the held ones")
    p.add_argument("--json", action="store_true")
    p = verb(verbs, "accept", accept, parents=[common], help="publish held commits up to COMMIT (admins)")
    p.add_argument("commit")
    p.add_argument("--as", dest="user", required=True, help="the admin accepting")
    p.add_argument("--reason", required=True, help="why: kept as the audit record (10 to 2000 characters)")
    p = verb(verbs, "revert", revert, parents=[common], help="open a change request undoing a held commit")
    p.add_argument("commit")
    p.add_argument("--as", dest="user", required=True, help="the lead or admin opening it")


def _state(services: Services, as_json: bool) -> Result:
    state = services.publication(fresh=True)
    held = [h.as_json() for h in state.held]
    if as_json:
        return 0, json_text(
            {"main": state.main, "published": state.published, "waiting": state.waiting, "held": held}
        )
    head = f"main {(state.main or '-')[:12]}, published {(state.published or '-')[:12]}"
    if not state.held:
        return 0, f"{head}: everything on main is published"
    rows = [(h.commit[:12], h.author, h.date, "; ".join(h.reasons)) for h in state.held]
    held_back = f"{head}; {state.waiting} commit(s) held back by:\n"
    return 1, held_back + table(("commit", "author", "date", "why kb verify rejects it"), rows)


def status(services: Services, args: argparse.Namespace) -> Result:
    """The published commit; exit 1 while unverified commits hold main back."""
    return _state(services, args.json)


def accept(services: Services, args: argparse.Namespace) -> Result:
    """Accept the held commits up to args.commit, with the reason."""
    services.publisher.accept(services.users.get(args.user), args.commit, args.reason)
    services.catch_up_index()
    return _state(services, False)


def revert(services: Services, args: argparse.Namespace) -> Result:
    """Open the change request that undoes a held commit."""
    change = open_revert(services.publisher, services.workflow, services.users.get(args.user), args.commit)
    return 0, f"{change.ref} opened on {change.branch}: review and merge it as any other change request"
