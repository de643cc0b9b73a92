"""`kb servicenow`: check the connection, pull incidents, deliver and inspect the outbox, knowledge gaps."""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from typing import Any

from kbserver.commands import gaps
from kbserver.errors import InvalidInput
from kbserver.servicenow.delivery import deliver_all
from kbserver.servicenow.integration import ServiceNow
from kbserver.services import Services


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register `kb servicenow check|pull|deliver|outbox|retry|gaps|propose`."""
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
    p = actions.add_parser(
        "gaps", parents=[common], help="clusters of resolved tickets that no article answers well"
    )
    _range(p)
    p.add_argument("--min-tickets", type=int, default=2, help="smallest cluster shown (default 2)")
    p.add_argument("--json", action="store_true")
    p = actions.add_parser(
        "propose", parents=[common], help="open a change request with a new article drafted from a gap"
    )
    p.add_argument("cluster", help="the gap's id (its first ticket) or any of its tickets")
    p.add_argument("--as", dest="user", required=True, help="the lead opening the change request")
    p.add_argument("--title", help="the article's title (default: the cluster's most typical description)")
    p.add_argument("--category", help="its folder under docs/kb/ (default: the closest article's)")
    _range(p)
    p.add_argument("--json", action="store_true")


def _range(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--from", dest="since", type=datetime.fromisoformat, help="start (default: --to - 30 days)"
    )
    p.add_argument("--to", dest="until", type=datetime.fromisoformat, help="end, exclusive (default: now)")


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
    if args.action in ("gaps", "propose"):  # from the incidents pulled already: the instance is not asked
        services.catch_up_index()
        if args.action == "gaps":
            found = gaps.gaps(services, args.since, args.until, max(1, args.min_tickets))
            return 0, json.dumps(
                found, indent=2, default=str, ensure_ascii=False
            ) if args.json else gaps.table(found)
        proposed = gaps.propose(
            services, args.cluster, args.user, args.since, args.until, args.title, args.category
        )
        if args.json:
            return 0, json.dumps(proposed, indent=2, ensure_ascii=False)
        return 0, (
            f"CR-{proposed['change_request']} opened on branch {proposed['branch']}: "
            f"{proposed['document_id']} {proposed['path']}, drafted from {proposed['tickets']} ticket(s); "
            f"review and submit it (`kb change submit {proposed['change_request']} --as {args.user}`)"
        )
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
