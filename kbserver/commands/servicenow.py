"""`kb servicenow`: check the connection, pull incidents, deliver and inspect the outbox."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from kbserver.errors import InvalidInput
from kbserver.servicenow.delivery import deliver_all
from kbserver.servicenow.integration import ServiceNow
from kbserver.services import Services


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register `kb servicenow check|pull|deliver|outbox|retry`."""
    actions = sub.add_parser("servicenow", help="the ServiceNow integration").add_subparsers(
        dest="action", required=True
    )
    actions.add_parser("check", parents=[common], help="log in and read what the integration needs")
    p = actions.add_parser(
        "pull", parents=[common], help="pull the desk's incidents changed since the last pull"
    )
    p.add_argument("--json", action="store_true")
    p = actions.add_parser("deliver", parents=[common], help="deliver the outbox's due links now")
    p.add_argument("--seconds", type=float, default=60, help="stop after this long (default 60)")
    p = actions.add_parser("outbox", parents=[common], help="list outbox entries")
    p.add_argument("--state", choices=["pending", "delivered", "dead"])
    p.add_argument("--json", action="store_true")
    p = actions.add_parser("retry", parents=[common], help="send a dead outbox entry again")
    p.add_argument("entry_id", type=int)


def _integration(services: Services) -> ServiceNow:
    if services.servicenow is None:
        raise InvalidInput("the ServiceNow integration is off: set KB_SERVICENOW_URL")
    return services.servicenow


def check(integration: ServiceNow) -> list[str]:
    """Read one record of each table the integration uses; raises on the first refusal."""
    client, groups = integration.client, integration.config.desk_groups
    auth = "OAuth client credentials" if integration.config.oauth else "basic auth"
    lines = [f"{integration.config.url}: logged in with {auth}"]
    client.first("task", "", ("sys_id",))
    lines.append("task: readable")
    found = {str(g["name"]) for g in client.records("sys_user_group", f"nameIN{','.join(groups)}", ("name",))}
    missing = [g for g in groups if g not in found]
    if not groups:
        lines.append("desk groups: none set (KB_SERVICENOW_DESK_GROUPS): nothing will be pulled")
    else:
        lines.append(f"desk groups found: {', '.join(sorted(found)) or 'none'}")
        if missing:
            raise InvalidInput(f"assignment groups not found in ServiceNow: {', '.join(missing)}")
    for table in ("sys_journal_field", "m2m_kb_task", "kb_knowledge"):
        client.first(table, "", ("sys_id",))
        lines.append(f"{table}: readable")
    return lines


def run(services: Services, args: argparse.Namespace) -> tuple[int, str]:
    """Run a `kb servicenow` action; returns (exit code, text to print)."""
    integration = _integration(services)
    if args.action == "check":
        return 0, "\n".join(check(integration))
    if args.action == "pull":
        done = integration.incidents.pull()
        if args.json:
            return 0, json.dumps(done.as_json())
        pulled = (
            f"{done.incidents} incident(s), {done.attachments} attachment(s), {done.surveys} survey result(s)"
        )
        return 0, f"pulled {pulled}"
    if args.action == "deliver":
        deliver_all(integration.worker, time.monotonic() + args.seconds)
        counts = integration.outbox.counts()
        return (1 if counts["dead"] else 0), ", ".join(f"{n} {state}" for state, n in counts.items())
    if args.action == "retry":
        entry = integration.outbox.retry(args.entry_id)
        return 0, f"outbox entry {entry['id']} ({entry['key']}) will be sent again"
    entries = integration.outbox.entries(args.state)
    if args.json:
        return 0, json.dumps(entries, indent=2)
    lines = [
        f"{e['id']:>6}  {e['state']:<9} {e['ticket']:<12} {e['document_id']:<9} {e['commit'][:12]}  "
        f"tries {e['attempts']}  {e['last_error'] or ''}"
        for e in entries
    ]
    return 0, "\n".join(lines) or "(no entries)"
