"""`kb servicenow`: check the connection, pull incidents, deliver and inspect the outbox, knowledge gaps."""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from typing import Any

from kbserver.commands.actions import Result, Verbs, verb
from kbserver.commands.output import json_text, table
from kbserver.errors import InvalidInput
from kbserver.servicenow.delivery import deliver_all
from kbserver.servicenow.integration import ServiceNow
from kbserver.servicenow.proposals import gaps, propose
from kbserver.services import Services


def add_parser(sub: Verbs[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Register `kb servicenow check|pull|deliver|outbox|retry|gaps|propose`."""
    actions = sub.add_parser("servicenow", help="the ServiceNow integration").add_subparsers(
        dest="action", required=True
    )
    verb(actions, "check", check, parents=[common], help="log in and read what the integration needs")
    p = verb(
        actions, "pull", pull, parents=[common], help="pull the desk's incidents changed since the last pull"
    )
    p.add_argument("--json", action="store_true")
    p = verb(actions, "deliver", deliver, parents=[common], help="deliver the outbox's due links now")
    p.add_argument("--seconds", type=float, default=60, help="stop after this long (default 60)")
    p = verb(actions, "outbox", outbox, parents=[common], help="list outbox entries")
    p.add_argument("--state", choices=["pending", "delivered", "dead"])
    p.add_argument("--json", action="store_true")
    p = verb(actions, "retry", retry, parents=[common], help="send a dead outbox entry again")
    p.add_argument("entry_id", type=int)
    p = verb(
        actions,
        "gaps",
        list_gaps,
        parents=[common],
        help="clusters of resolved tickets that no article answers well",
    )
    _range(p)
    p.add_argument("--min-tickets", type=int, default=2, help="smallest cluster shown (default 2)")
    p.add_argument("--json", action="store_true")
    p = verb(
        actions,
        "propose",
        propose_gap,
        parents=[common],
        help="open a change request with a new article drafted from a gap",
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


def check(services: Services, _args: argparse.Namespace) -> Result:
    """`kb servicenow check`: read a record of each table the integration uses; raise on the first refusal."""
    integration = _integration(services)
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
    for name in ("sys_journal_field", "m2m_kb_task", "kb_knowledge"):
        client.first(name, "", ("sys_id",))
        lines.append(f"{name}: readable")
    return 0, "\n".join(lines)


def pull(services: Services, args: argparse.Namespace) -> Result:
    """`kb servicenow pull`: the desk's incidents changed since the last pull."""
    done = _integration(services).incidents.pull()
    if args.json:
        return 0, json_text(done.as_json())
    surveys = f"{done.surveys} survey result(s)"
    return 0, f"pulled {done.incidents} incident(s), {done.attachments} attachment(s), {surveys}"


def deliver(services: Services, args: argparse.Namespace) -> Result:
    """`kb servicenow deliver`: the outbox's due links, for up to --seconds; exit 1 if an entry is dead."""
    integration = _integration(services)
    deliver_all(integration.worker, time.monotonic() + args.seconds)
    counts = integration.outbox.counts()
    return (1 if counts["dead"] else 0), ", ".join(f"{n} {state}" for state, n in counts.items())


def retry(services: Services, args: argparse.Namespace) -> Result:
    """`kb servicenow retry ID`: send a dead outbox entry again."""
    entry = _integration(services).outbox.retry(args.entry_id)
    return 0, f"outbox entry {entry['id']} ({entry['key']}) will be sent again"


def outbox(services: Services, args: argparse.Namespace) -> Result:
    """`kb servicenow outbox`: the entries as a table, or JSON."""
    entries = _integration(services).outbox.entries(args.state)
    if args.json:
        return 0, json_text(entries)
    columns = ("id", "state", "ticket", "document", "commit", "tries", "last error")
    rows = [
        (e["id"], e["state"], e["ticket"], e["document_id"], e["commit"][:12], e["attempts"], e["last_error"])
        for e in entries
    ]
    return 0, table(columns, rows)


# gaps and propose read the incidents pulled already: the instance is not asked.


def list_gaps(services: Services, args: argparse.Namespace) -> Result:
    """`kb servicenow gaps`: clusters of resolved tickets that no article answers well, as a table or JSON."""
    services.catch_up_index()
    found = gaps(services, args.since, args.until, max(1, args.min_tickets))
    return 0, json_text(found) if args.json else gap_table(found)


def propose_gap(services: Services, args: argparse.Namespace) -> Result:
    """`kb servicenow propose CLUSTER`: open a change request with an article drafted from the gap."""
    services.catch_up_index()
    done = propose(services, args.cluster, args.user, args.since, args.until, args.title, args.category)
    if args.json:
        return 0, json_text(done)
    return 0, (
        f"CR-{done['change_request']} opened on branch {done['branch']}: "
        f"{done['document_id']} {done['path']}, drafted from {done['tickets']} ticket(s); "
        f"review and submit it (`kb change submit {done['change_request']} --as {args.user}`)"
    )


def gap_table(clusters: list[dict[str, Any]]) -> str:
    """The clusters for people: count, id, words, the closest article, a proposal, and up to three examples
    (one a row, under their cluster)."""
    columns = ("tickets", "gap", "words", "closest", "proposed", "examples")
    rows: list[tuple[object, ...]] = []
    for c in clusters:
        closest = c["closest"]
        near = f"{closest['id']} ({closest['coverage']:.0%})" if closest else "no hit"
        proposed = f"CR-{c['change_request']}" if c["change_request"] else None
        examples: list[str | None] = [
            f"{e['number']}: {e['short_description'][:90]}" for e in c["examples"][:3]
        ]
        examples = examples or [None]
        rows.append((c["tickets"], c["id"], ", ".join(c["words"])[:40], near, proposed, examples[0]))
        rows += [(None, None, None, None, None, example) for example in examples[1:]]
    return table(columns, rows)
