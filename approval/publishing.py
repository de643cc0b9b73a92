"""Only signed-off commits are published: `kb verify` turned from a report into a guarantee.

The commit operators see (the search index and the site) is the newest commit of main's first-parent history
up to which every commit verifies: it merges a change request that met the policy in force (verify.py,
checked against the state store). A commit that does not, say one pushed straight to the upstream, holds back
itself and everything after it until an admin accepts it with a reason. Acceptances are rows of an append-only
table, each one its own audit event; so is the baseline, main's head when the service first ran, whose history
is trusted as found.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from approval.records import ChangeRecords
from approval.trailers import check_text
from approval.verify import verify_history
from kbserver.errors import Conflict, Forbidden, InvalidInput, NotFound
from kbserver.repository import ContentRepository
from kbserver.store.schema import publication_events, users
from kbserver.users import Role, User

log = logging.getLogger(__name__)
_BASELINE_LOCK = 4242011  # one replica records the baseline


@dataclass(frozen=True)
class Held:
    """A commit on main that kb verify rejects and no admin accepted: it and what follows are not served."""

    commit: str
    subject: str
    author: str
    date: str
    reasons: list[str]

    def as_json(self) -> dict[str, object]:
        """The commit as the API shows it."""
        return {
            "commit": self.commit,
            "subject": self.subject,
            "author": self.author,
            "date": self.date,
            "reasons": self.reasons,
        }


@dataclass(frozen=True)
class Publication:
    """Main's head, the commit served from it, and the unverified commits holding the rest back."""

    main: str | None
    published: str | None
    held: list[Held] = field(default_factory=list)
    waiting: int = 0  # commits on main after the published one

    @property
    def current(self) -> bool:
        """Whether everything on main is published."""
        return self.main == self.published


class Publisher:
    """Works out the published commit of one branch, and records admins' acceptances."""

    def __init__(
        self, engine: sa.Engine, repo: ContentRepository, records: ChangeRecords, branch: str = "main"
    ) -> None:
        self.engine = engine
        self.repo = repo
        self.records = records
        self.branch = branch
        self._lock = threading.Lock()
        self._latest: Publication | None = None

    def state(self, fresh: bool = False) -> Publication:
        """The publication for main's head now, verified incrementally from the last published commit. While
        main has not moved the last answer stands, unless fresh (an acceptance may have been recorded)."""
        main = self.repo.head(self.branch)
        if main is None:
            return Publication(None, None)
        with self._lock:
            latest = self._latest
            if latest is not None and latest.main == main and not fresh:
                return latest
            trusted = self._trusted(main)
            found = self._judge(main, self._start(main, latest, trusted), trusted)
            if latest is None or found.published != latest.published or found.held != latest.held:
                self._log(found)
            self._latest = found
            return found

    def accept(self, user: User, commit: str, reason: str) -> Publication:
        """An admin publishes the held commits up to and including commit, with a reason (each recorded)."""
        if not user.has_role(Role.ADMIN):
            raise Forbidden("accepting an unverified commit needs the role admin")
        reason = check_text(reason.strip(), "the reason")
        if not 10 <= len(reason) <= 2000:
            raise InvalidInput("say why in 10 to 2000 characters: the reason is the audit record")
        state = self.state()
        shas = [h.commit for h in state.held]
        matches = [
            i for i, sha in enumerate(shas) if sha == commit or (len(commit) >= 7 and sha.startswith(commit))
        ]
        if not matches:
            raise NotFound(
                f"{commit[:40]} is not an unverified commit holding back main",
                {"held": shas},
            )
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for sha in shas[: matches[0] + 1]:
                conn.execute(
                    publication_events.insert().values(
                        commit=sha, action="accept", user_id=user.id, reason=reason, created_at=now
                    )
                )
                log.warning(
                    "publishing: %s accepted unverified commit %s: %s",
                    user.name,
                    sha[:12],
                    reason,
                    extra={"commit": sha, "user": user.name},
                )
        return self.state(fresh=True)

    def events(self, limit: int = 100) -> list[dict[str, object]]:
        """The baselines and acceptances, newest first."""
        query = (
            sa.select(
                publication_events.c.commit,
                publication_events.c.action,
                publication_events.c.reason,
                publication_events.c.created_at,
                users.c.name.label("user"),
            )
            .select_from(publication_events.outerjoin(users, users.c.id == publication_events.c.user_id))
            .order_by(publication_events.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def _trusted(self, main: str) -> set[str]:
        with self.engine.begin() as conn:
            rows = set(conn.scalars(sa.select(publication_events.c.commit)))
            if rows:
                return rows
            # First run on this store: the history found is trusted as it is (README: publishing).
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_BASELINE_LOCK)))
                rows = set(conn.scalars(sa.select(publication_events.c.commit)))
                if rows:
                    return rows
            conn.execute(
                publication_events.insert().values(
                    commit=main,
                    action="baseline",
                    reason="main's head when the service first ran",
                    created_at=datetime.now(UTC),
                )
            )
            log.info("publishing: baseline recorded at %s", main[:12], extra={"commit": main})
            return {main}

    def _start(self, main: str, latest: Publication | None, trusted: set[str]) -> str | None:
        # Judge only what is new: from the last published commit, or else the newest trusted commit, that main
        # still contains (a history rewritten upstream is judged again from what it kept).
        candidates = [latest.published] if latest is not None and latest.published else []
        candidates += sorted(trusted)
        for sha in candidates:
            if sha == main or self._contains(main, sha):
                return sha
        return None

    def _contains(self, main: str, sha: str) -> bool:
        try:
            return self.repo.is_ancestor(sha, main)
        except NotFound:
            return False

    def _judge(self, main: str, start: str | None, trusted: set[str]) -> Publication:
        if start == main:
            return Publication(main, main)
        revision = f"{start}..{main}" if start else main
        problems: dict[str, list[str]] = {}
        for violation in verify_history(self.repo, revision, self.records):
            problems.setdefault(violation.commit, []).append(violation.reason)
        chain = [sha for sha, _parents, _trailers in reversed(self.repo.trailer_history(revision))]
        published = start
        for position, sha in enumerate(chain):
            if sha in problems and sha not in trusted:
                held = [
                    self._held(c, problems[c]) for c in chain[position:] if c in problems and c not in trusted
                ]
                return Publication(main, published, held, len(chain) - position)
            published = sha
        return Publication(main, published)

    def _held(self, sha: str, reasons: list[str]) -> Held:
        info = self.repo.log(sha, limit=1)[0]
        return Held(
            sha,
            info.message.strip().splitlines()[0][:200] if info.message.strip() else "",
            info.author,
            info.date,
            reasons,
        )

    def _log(self, found: Publication) -> None:
        if found.held:
            log.warning(
                "publishing: %d unverified commit(s) on %s hold back %d commit(s); serving %s",
                len(found.held),
                self.branch,
                found.waiting,
                (found.published or "nothing")[:12],
                extra={"held": [h.commit for h in found.held], "published": found.published},
            )


def require_published(state: Publication) -> str:
    """The published commit, or Conflict when nothing on main can be published yet."""
    if state.published is None:
        raise Conflict("no commit on main has been verified for publishing yet")
    return state.published
