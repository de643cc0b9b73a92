"""Where each operator and lead stands on each changed chapter and chat script: confirmed, pending or overdue.

Who is asked. A document's `audience` names desk levels; the users' roles stand for them: `L1` is the
operators, `L2` the L2 leads (admins and client approvers are in no audience). A disabled user is asked
nothing.

What they are asked. Everyone in the audience confirms the document's current version, having read what
changed since the version they confirmed last. Someone who never confirmed it starts from the version that
was current when their account was made (new people learn the manual as it stands, and are asked about the
changes after that), and from the seed at the earliest. Their clock runs from the first change they have not
confirmed (or from their account's creation, if later): `KB_ACK_DAYS` later they are overdue.

The report reads three things, each in one indexed query: the documents' versions, the users, and each
person's last confirmation per document; the rest is arithmetic in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlalchemy as sa

from kbserver.collector import collector_paused
from kbserver.store.schema import document_versions, read_confirmations, users

AUDIENCE_ROLES = {"L1": "operator", "L2": "lead"}
State = Literal["confirmed", "pending", "overdue"]


@dataclass(frozen=True)
class Version:
    """One version of a chapter or script (for the latest one: as the document stands now)."""

    doc_id: str
    seq: int
    commit: str
    kind: str
    path: str
    title: str
    audience: tuple[str, ...]
    asks: bool
    active: bool
    published_at: datetime

    @property
    def roles(self) -> set[str]:
        """The user roles this version's audience asks."""
        return {AUDIENCE_ROLES[level] for level in self.audience if level in AUDIENCE_ROLES}


@dataclass(frozen=True)
class Person:
    """An operator or lead who may be asked."""

    id: int
    name: str
    display_name: str
    role: str
    created_at: datetime


@dataclass(slots=True)  # tens of thousands per report: not frozen, whose init costs a call per field
class Standing:
    """One person's standing on one document."""

    document: Version  # its current version
    person: Person
    state: State
    since: Version | None  # the version their reading starts from (None: the document is new to them)
    confirmed_seq: int  # the last version they confirmed (0: none)
    confirmed_at: datetime | None
    asked_at: datetime | None  # when the first change they have not confirmed reached them
    due_at: datetime | None


class Versions:
    """Every version of the tracked documents, by document, oldest first."""

    def __init__(self, rows: list[Version]) -> None:
        self.by_doc: dict[str, list[Version]] = {}
        for row in sorted(rows, key=lambda v: (v.doc_id, v.seq)):
            self.by_doc.setdefault(row.doc_id, []).append(row)

    def current(self) -> list[Version]:
        """The latest version of each document that is on main and active, by id."""
        return [found[-1] for _, found in sorted(self.by_doc.items()) if found[-1].active]

    def known_at(self, doc_id: str, joined: datetime) -> int:
        """The newest version nobody asks someone who joined at `joined` to confirm: the seed, or the last
        one published before they joined (to the second: git's dates have no fraction)."""
        return self.known_by_joining(doc_id, {joined: joined.replace(microsecond=0)})[joined]

    def known_by_joining(self, doc_id: str, floors: dict[datetime, datetime]) -> dict[datetime, int]:
        """known_at for each moment people joined, given each moment to the second."""
        found = self.by_doc.get(doc_id, [])
        known = {}
        for joined, floor in floors.items():
            known[joined] = 0
            for version in found:
                if not version.asks or version.published_at < floor:
                    known[joined] = version.seq
        return known


def load_versions(conn: sa.Connection, doc_id: str | None = None) -> Versions:
    """The tracked documents' versions (one document's with doc_id)."""
    t = document_versions
    columns = ("doc_id", "seq", "commit", "kind", "path", "title", "audience", "asks", "active", "latest")
    query = sa.select(*(t.c[name] for name in columns), t.c.published_at)
    if doc_id is not None:
        query = query.where(t.c.doc_id == doc_id)
    rows = []
    for r in conn.execute(query):
        audience = tuple(a for a in r.audience.split(",") if a)
        active = bool(r.active and r.latest)  # only the latest row's status is kept current
        rows.append(
            Version(r.doc_id, r.seq, r.commit, r.kind, r.path, r.title, audience, r.asks, active, r[-1])
        )
    return Versions(rows)


def load_people(conn: sa.Connection, user_id: int | None = None) -> list[Person]:
    """Active operators and leads (one of them with user_id)."""
    query = sa.select(users.c.id, users.c.name, users.c.display_name, users.c.role, users.c.created_at).where(
        users.c.disabled == sa.false(), users.c.role.in_(sorted(AUDIENCE_ROLES.values()))
    )
    if user_id is not None:
        query = query.where(users.c.id == user_id)
    # Ordered here, not by the database's collation: the report's order is the same on every database.
    return sorted((Person(*row) for row in conn.execute(query)), key=lambda p: p.name)


def last_confirmations(
    conn: sa.Connection, user_id: int | None = None, doc_id: str | None = None, when: bool = True
) -> dict[tuple[int, str], tuple[int, datetime | None]]:
    """(user, document) -> the last version they confirmed and (if when) the time (one index scan, grouped;
    without the time there is no date to parse per row, which is most of the cost)."""
    c = read_confirmations.c
    # As text: SQLAlchemy's date parsing per row cost more than the rest of the report; see _moment.
    moment = sa.type_coerce(sa.func.max(c.confirmed_at), sa.String) if when else sa.null()
    query = sa.select(c.user_id, c.doc_id, sa.func.max(c.seq), moment)
    if user_id is not None:
        query = query.where(c.user_id == user_id)
    if doc_id is not None:
        query = query.where(c.doc_id == doc_id)
    rows = conn.execute(query.group_by(c.user_id, c.doc_id)).all()  # one fetch, not one per row
    if not when:
        return {(u, d): (seq, None) for u, d, seq, _ in rows}
    return {(u, d): (seq, _moment(at)) for u, d, seq, at in rows}


def _moment(value: datetime | str | None) -> datetime | None:
    """A stored Timestamp read as text (SQLite: UTC without its zone) or as a datetime (PostgreSQL)."""
    if value is None or isinstance(value, datetime):
        return value.astimezone(UTC) if value is not None else None
    return datetime.fromisoformat(value + "+00:00")


def standings(
    conn: sa.Connection,
    days: int,
    now: datetime,
    user_id: int | None = None,
    doc_id: str | None = None,
    when: bool = True,
) -> list[Standing]:
    """Every asked person's standing on every current document, by document then name (filtered by user
    or document). People whom no change has reached yet are left out. Without `when`, confirmed_at is None."""
    with collector_paused():  # tens of thousands of standings, without cycles (see collector.py)
        versions = load_versions(conn, doc_id)
        people = load_people(conn, user_id)
        confirmed = last_confirmations(conn, user_id, doc_id, when)
        window = timedelta(days=days)
        out = []
        nothing = (0, None)
        floors = {p.created_at: p.created_at.replace(microsecond=0) for p in people}
        for document in versions.current():
            roles = document.roles
            doc_id, current = document.doc_id, document.seq
            by_seq = {v.seq: v for v in versions.by_doc[doc_id]}
            known = versions.known_by_joining(doc_id, floors)
            for person in people:
                if person.role not in roles:
                    continue
                seq, at = confirmed.get((person.id, doc_id), nothing)
                start = max(seq, known[person.created_at])
                if start >= current and seq < current:
                    continue  # nothing changed since they joined
                since = by_seq.get(start)
                if seq >= current:
                    out.append(Standing(document, person, "confirmed", since, seq, at, None, None))
                    continue
                asked = max(by_seq.get(start + 1, document).published_at, person.created_at)
                due = asked + window
                state: State = "overdue" if now > due else "pending"
                out.append(Standing(document, person, state, since, seq, at, asked, due))
        return out
