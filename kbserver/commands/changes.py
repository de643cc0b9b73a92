"""`kb change ...` and `kb verify`: the change-request workflow from the CLI, acting as a named user."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from approval.model import ChangeRequest
from approval.review import change_diff
from approval.verify import verify_history
from approval.workflow import Workflow
from kbserver.commands.actions import Result, ServicesAction, Verbs, verb
from kbserver.commands.output import json_text, table
from kbserver.errors import InvalidInput
from kbserver.services import Services
from kbserver.users import User

READ_ONLY = ("list", "show", "diff", "log")  # the verbs that need no --as


def add_parser(sub: Verbs[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Register `kb change VERB` and `kb verify`."""
    change = sub.add_parser("change", help="change requests: propose, review, approve, merge")
    verbs = change.add_subparsers(dest="verb", required=True)
    for name, action in ACTIONS.items():
        p = verb(verbs, name, action, parents=[common])
        p.add_argument(
            "--as", dest="user", required=name not in READ_ONLY, help="the user acting (their role applies)"
        )
        if name == "new":
            p.add_argument("title")
        elif name != "list":
            p.add_argument("number", type=int)
        if name == "edit":
            p.add_argument("path", help="content path, e.g. docs/kb/red-vpn/vpn-lenta.md")
            p.add_argument("--file", type=Path, help="new text (default: standard input)")
            p.add_argument("--delete", action="store_true", help="delete the file instead")
            p.add_argument("--message", default="")
        if name in ("comment", "reject", "request-changes", "approve"):
            p.add_argument("--message", "-m", default="")
        if name == "list":
            p.add_argument("--state")
            p.add_argument("--json", action="store_true")
    p = verb(
        sub, "verify", verify, parents=[common], help="report commits on main not merged through the workflow"
    )
    p.add_argument("range", nargs="?", default=None, help="e.g. abc123..main (default: all of main)")


def verify(services: Services, args: argparse.Namespace) -> Result:
    """`kb verify`: every commit on main not merged through the workflow; exit 1 if there is one."""
    revision = args.range or services.settings.branch
    violations = verify_history(services.repository, revision, services.workflow.records)
    lines = [str(v) for v in violations] or ["every commit on main is an approved change request merge"]
    return (1 if violations else 0), "\n".join(lines)


def _list(services: Services, args: argparse.Namespace) -> Result:
    rows = services.workflow.records.find(args.state)
    if args.json:
        return 0, json_text([c.as_json() for c in rows])
    return 0, table(
        ("change", "state", "author", "title"), [(c.ref, c.state.value, c.author, c.title) for c in rows]
    )


def _show(services: Services, args: argparse.Namespace) -> Result:
    flow = services.workflow
    change = flow.records.get(args.number)
    status = flow.status(args.number)
    return 0, (
        f"{change.ref} {change.title}\nstate: {change.state.value}  author: {change.author}\n"
        f"branch: {change.branch}  head: {change.head_commit[:12]}\n"
        f"required: {status.required}  received: {status.received}  missing: {status.missing}"
        + "".join(f"\nnot counted: {n['user']} ({n['role']}): {n['reason']}" for n in status.not_counted)
        + (f"\npolicy: {status.problem}" if status.problem else "")
    )


def _diff(services: Services, args: argparse.Namespace) -> Result:
    change = services.workflow.records.get(args.number)
    files = change_diff(services.repository, change, services.main_commit() or change.base_commit)
    return 0, "\n".join(f["diff"] for f in files)


def _log(services: Services, args: argparse.Namespace) -> Result:
    events = services.workflow.records.events(args.number)
    rows = [
        (
            e["at"],
            e["user"] or "-",
            e["action"],
            f"{e['from_state'] or ''} -> {e['to_state'] or ''}",
            e["head_commit"][:12],
        )
        for e in events
    ]
    return 0, table(("at", "user", "action", "state", "head"), rows)


def _new(services: Services, args: argparse.Namespace) -> Result:
    change = services.workflow.create(services.users.get(args.user), args.title)
    return 0, f"{change.ref} created on branch {change.branch}"


def _edit(services: Services, args: argparse.Namespace) -> Result:
    flow, user = services.workflow, services.users.get(args.user)
    change = flow.records.get(args.number)
    if args.delete:
        content = None
    else:
        try:
            text = args.file.read_text() if args.file else sys.stdin.read()
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"the new text of {args.path} is not UTF-8") from exc
        if not text:
            raise InvalidInput("no text: pass --file or pipe the new text on standard input")
        content = text.encode()
    change = flow.write(user, args.number, {args.path: content}, change.head_commit, args.message)
    return 0, f"{change.ref} head is now {change.head_commit[:12]}"


# What each review verb asks of the workflow, for the user acting on change request args.number.
TRANSITIONS: dict[str, Callable[[Workflow, User, argparse.Namespace], ChangeRequest]] = {
    "submit": lambda flow, user, args: flow.submit(user, args.number),
    "comment": lambda flow, user, args: flow.comment(user, args.number, args.message),
    "approve": lambda flow, user, args: flow.approve(user, args.number, args.message),
    "reject": lambda flow, user, args: flow.reject(user, args.number, args.message),
    "request-changes": lambda flow, user, args: flow.request_changes(user, args.number, args.message),
    "withdraw": lambda flow, user, args: flow.withdraw(user, args.number),
    "update": lambda flow, user, args: flow.update(user, args.number),
    "merge": lambda flow, user, args: flow.merge(user, args.number),
}


def _transition(services: Services, args: argparse.Namespace) -> Result:
    change = TRANSITIONS[args.verb](services.workflow, services.users.get(args.user), args)
    if args.verb == "merge":
        services.catch_up_index()
        return (
            0,
            f"{change.ref} merged as {change.merged_commit}; the index is at it (`kb build` for the site)",
        )
    return 0, f"{change.ref} is {change.state.value}"


ACTIONS: dict[str, ServicesAction] = {
    "new": _new,
    "edit": _edit,
    **dict.fromkeys(TRANSITIONS, _transition),
    "list": _list,
    "show": _show,
    "diff": _diff,
    "log": _log,
}
