"""`kb report`: a report as a table for people, or as JSON or CSV for scripts."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from kbserver.commands.actions import Result, Verbs, verb
from kbserver.commands.output import json_text, table
from kbserver.feedback.catalog import ACK_REPORTS, REPORTS, as_csv, flat, report
from kbserver.services import Services


def add_parser(sub: Verbs[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Register `kb report NAME`."""
    names = (*REPORTS, *ACK_REPORTS)
    p = verb(sub, "report", run, parents=[common], help="reports: " + ", ".join(names))
    p.add_argument("name", choices=names)
    p.add_argument("--from", dest="since", type=datetime.fromisoformat, help="start (ISO date)")
    p.add_argument("--to", dest="until", type=datetime.fromisoformat, help="end, exclusive (ISO date)")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true")
    output.add_argument("--csv", action="store_true")


def run(services: Services, args: argparse.Namespace) -> Result:
    """`kb report NAME`, on an index caught up to main (reports name documents by their titles)."""
    services.catch_up_index()
    return 0, render(report(services, args.name, args.since, args.until), args.json, args.csv)


def render(rows: list[dict[str, Any]], as_json: bool, as_csv_text: bool) -> str:
    """The rows as JSON, CSV or an aligned table (cells cut at 40 characters)."""
    if as_json:
        return json_text(rows)
    if not rows:
        return "(no rows)"
    if as_csv_text:
        return as_csv(rows)
    flat_rows = [flat(r) for r in rows]
    columns = list(flat_rows[0])
    return table(columns, [[r[c] for c in columns] for r in flat_rows], width=40)
