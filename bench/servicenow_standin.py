"""The tests' ServiceNow stand-in (tests/servicenow/standin.py) as a process of its own, seeded for the bench.

    python bench/servicenow_standin.py INCIDENTS   (the desk's; the instance holds 5 % more of another group)

prints its port, serves until its standard input closes. It runs apart from the process it is measured
against, so that its work is not counted as the connector's (nor holds that process's GIL). Filtered lists
are kept per query while the tables do not change, and `sys_idIN` and `number=` look rows up by key (as the
instance's indexes do): the stand-in scans every row for every page and every ticket otherwise, on the cores
the service and the connector share here, and the bench would measure that scan instead of the connector.
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servicenow.standin import VIEWS, StandIn, _matches, _parse, _sortable, timestamp

GROUPS = {"grp-desk": "Service Desk", "grp-network": "Network L3"}


class BenchStandIn(StandIn):
    """The stand-in with its filtered lists remembered until a table changes."""

    def __init__(self) -> None:
        super().__init__()
        self._found: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._numbers: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self._sizes: dict[str, int] = {}

    def _list(self, table: str, path: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        rows_table = self.tables.get(VIEWS.get(table, table), {})
        text = query.get("sysparm_query", "")
        key = (table, text)
        if self._sizes.get(table) != len(rows_table):  # a table that grew forgets its lists
            self._found = {k: v for k, v in self._found.items() if k[0] != table}
            self._numbers.pop(table, None)
            self._sizes[table] = len(rows_table)
        found = self._found.get(key)
        if found is None:
            conditions, order = _parse(text)
            rows = list(rows_table.values())
            if conditions and len(conditions[0]) == 1 and conditions[0][0][:2] == ("sys_id", "IN"):
                rows = [rows_table[i] for i in conditions[0][0][2].split(",") if i in rows_table]
            elif len(conditions) == 1 and len(conditions[0]) == 1 and conditions[0][0][:2] == ("number", "="):
                rows = self._numbered(table, rows_table).get(conditions[0][0][2], [])
            found = [r for r in rows if _matches(self, table, r, conditions)]
            for name, descending in reversed(order):
                found.sort(key=lambda r, n=name: _sortable(self._walk(table, r, n)), reverse=descending)
            if table != "sys_journal_field":
                self._found[key] = found
        limit = int(query.get("sysparm_limit") or 10000)
        offset = int(query.get("sysparm_offset") or 0)
        page = [self._fields(table, r, query) for r in found[offset : offset + limit]]
        headers = {"X-Total-Count": str(len(found))}
        if offset + limit < len(found):
            following = {**query, "sysparm_offset": str(offset + limit)}
            headers["Link"] = f'<{self.url}{path}?{urlencode(following)}>;rel="next"'
        return 200, {"result": page}, headers

    def _numbered(self, table: str, rows_table: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """The table's rows by number (kept until it grows), as the instance's index on number finds them."""
        if table not in self._numbers:
            self._numbers[table] = {}
            for row in rows_table.values():
                self._numbers[table].setdefault(str(row.get("number", "")), []).append(row)
        return self._numbers[table]


def seed(standin: StandIn, incidents: int) -> None:
    """The desk's incidents over a year, and among them 5 % more of the network group's, which the desk's pull
    does not read (1 % still open; a third with Attached Knowledge, a tenth with a survey result)."""
    rng = random.Random(7)
    for sys_id, name in GROUPS.items():
        standin.insert("sys_user_group", sys_id=sys_id, name=name)
    article = standin.insert("kb_knowledge", number="KB0010001", short_description="Impresora atascada")
    base = 1_767_225_600  # 2026-01-01 UTC
    desk, n = 0, 0
    while desk < incidents:
        group = "grp-network" if rng.random() < 0.05 else "grp-desk"
        desk += group == "grp-desk"
        n += 1
        opened = base + rng.randrange(365 * 86400)
        resolved = "" if rng.random() < 0.01 else timestamp_at(opened + rng.randrange(60, 3 * 86400))
        row = standin.insert(
            "incident",
            short_description=f"Caso {n}: la impresora de la planta {n % 9} no imprime",
            assignment_group=group,
            state="6" if resolved else "2",
            opened_at=timestamp_at(opened),
            resolved_at=resolved,
            reassignment_count=rng.choice([0, 0, 0, 1, 2]),
            sys_updated_on=resolved or timestamp_at(opened),
        )
        if rng.random() < 0.33:
            standin.insert("m2m_kb_task", task=row["sys_id"], kb_knowledge=article["sys_id"])
        if resolved and rng.random() < 0.1:
            survey = standin.insert("asmt_assessment_instance", trigger_id=row["sys_id"])
            standin.insert("asmt_metric_result", instance=survey["sys_id"], actual_value=rng.randrange(1, 6))


def timestamp_at(seconds: float) -> str:
    """A Table API date-time for seconds since the epoch."""
    return timestamp(datetime.fromtimestamp(seconds, UTC))


def main() -> None:
    standin = BenchStandIn()
    seed(standin, int(sys.argv[1]))
    standin.start()
    print(standin.port, flush=True)
    sys.stdin.read()  # until the bench closes the pipe
    standin.stop()


if __name__ == "__main__":
    main()
