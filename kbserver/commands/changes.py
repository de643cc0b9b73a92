"""`kb change ...` and `kb verify`: the change-request workflow from the CLI, acting as a named user."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from approval.review import change_diff
from approval.verify import verify_history
from kbserver.errors import InvalidInput
from kbserver.services import Services

VERBS = (
    "new",
    "edit",
    "submit",
    "comment",
    "approve",
    "reject",
    "request-changes",
    "withdraw",
    "update",
    "merge",
    "list",
    "show",
    "diff",
    "log",
)


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register `kb change VERB` and `kb verify`."""
    change = sub.add_parser("change", help="change requests: propose, review, approve, merge")
    verbs = change.add_subparsers(dest="verb", required=True)
    for verb in VERBS:
        p = verbs.add_parser(verb, parents=[common])
        p.add_argument(
            "--as",
            dest="user",
            required=verb not in ("list", "show", "diff", "log"),
            help="the user acting (their role applies)",
        )
        if verb == "new":
            p.add_argument("title")
        elif verb != "list":
            p.add_argument("number", type=int)
        if verb == "edit":
            p.add_argument("path", help="content path, e.g. docs/kb/red-vpn/vpn-lenta.md")
            p.add_argument("--file", type=Path, help="new text (default: standard input)")
            p.add_argument("--delete", action="store_true", help="delete the file instead")
            p.add_argument("--message", default="")
        if verb in ("comment", "reject", "request-changes", "approve"):
            p.add_argument("--message", "-m", default="")
        if verb == "list":
            p.add_argument("--state")
            p.add_argument("--json", action="store_true")
    p = sub.add_parser(
        "verify", parents=[common], help="report commits on main not merged through the workflow"
    )
    p.add_argument("range", nargs="?", default=None, help="e.g. abc123..main (default: all of main)")


def run(services: Services, args: argparse.Namespace) -> tuple[int, str]:
    """Run one change-request verb; returns (exit code, text to print)."""
    flow = services.workflow
    if args.command == "verify":
        revision = args.range or services.settings.branch
        violations = verify_history(services.repository, revision, services.workflow.records)
        lines = [str(v) for v in violations] or ["every commit on main is an approved change request merge"]
        return (1 if violations else 0), "\n".join(lines)
    if args.verb == "list":
        rows = flow.records.find(args.state)
        if args.json:
            return 0, json.dumps([c.as_json() for c in rows], ensure_ascii=False, indent=2)
        return 0, "\n".join(f"CR-{c.number:<4} {c.state.value:<18} {c.author:<12} {c.title}" for c in rows)
    if args.verb == "show":
        change = flow.records.get(args.number)
        status = flow.status(args.number)
        return 0, (
            f"{change.ref} {change.title}\nstate: {change.state.value}  author: {change.author}\n"
            f"branch: {change.branch}  head: {change.head_commit[:12]}\n"
            f"required: {status.required}  received: {status.received}  missing: {status.missing}"
            + "".join(f"\nnot counted: {n['user']} ({n['role']}): {n['reason']}" for n in status.not_counted)
            + (f"\npolicy: {status.problem}" if status.problem else "")
        )
    if args.verb == "diff":
        change = flow.records.get(args.number)
        files = change_diff(services.repository, change, services.main_commit() or change.base_commit)
        return 0, "\n".join(f["diff"] for f in files)
    if args.verb == "log":
        events = flow.records.events(args.number)
        return 0, "\n".join(
            f"{e['at']}  {e['user'] or '-':<10} {e['action']:<16}"
            f" {e['from_state'] or ''} -> {e['to_state'] or ''}  {e['head_commit'][:12]}"
            for e in events
        )
    user = services.users.get(args.user)
    if args.verb == "new":
        change = flow.create(user, args.title)
        return 0, f"{change.ref} created on branch {change.branch}"
    if args.verb == "edit":
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
    actions = {
        "submit": lambda: flow.submit(user, args.number),
        "comment": lambda: flow.comment(user, args.number, args.message),
        "approve": lambda: flow.approve(user, args.number, args.message),
        "reject": lambda: flow.reject(user, args.number, args.message),
        "request-changes": lambda: flow.request_changes(user, args.number, args.message),
        "withdraw": lambda: flow.withdraw(user, args.number),
        "update": lambda: flow.update(user, args.number),
        "merge": lambda: flow.merge(user, args.number),
    }
    change = actions[args.verb]()
    if args.verb == "merge":
        services.catch_up_index()
        return (
            0,
            f"{change.ref} merged as {change.merged_commit}; the index is at it (`kb build` for the site)",
        )
    return 0, f"{change.ref} is {change.state.value}"
