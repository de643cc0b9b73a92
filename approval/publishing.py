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
from typing import TYPE_CHECKING

import sqlalchemy as sa

from approval.model import ChangeRequest, State
from approval.records import ChangeRecords
from approval.trailers import check_text, same_email
from approval.verify import verify_history
from kbserver.errors import Conflict, Forbidden, InvalidInput, NotFound
from kbserver.repository import ContentRepository
from kbserver.store.schema import publication_events, users
from kbserver.users import Role, User

if TYPE_CHECKING:
    from approval.workflow import Workflow

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


@dataclass(frozen=True)
class Trust:
    """What the publication events say: commits accepted (or the baseline), and held commits whose revert was
    opened as a change request (its number)."""

    accepted: set[str]
    reverts: dict[str, int]
    any: bool  # some event exists (the baseline is recorded)


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
            trust = self._trusted(main)
            found = self._judge(main, self._start(main, latest, trust), trust)
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
        accepted = shas[: matches[0] + 1]
        for sha in accepted:  # four eyes here too: nobody publishes their own unreviewed text
            if any(same_email(user.email, e) for e in self.repo.author_emails(f"{sha}^1", sha)):
                raise Forbidden(f"{sha[:12]} holds a commit of yours: another admin must accept it")
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for sha in accepted:
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

    def _trusted(self, main: str) -> Trust:
        with self.engine.begin() as conn:
            found = self._read_trust(conn)
            if found.any:
                return found
            # First run on this store: the history found is trusted as it is (README: publishing).
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_BASELINE_LOCK)))
                found = self._read_trust(conn)
                if found.any:
                    return found
            conn.execute(
                publication_events.insert().values(
                    commit=main,
                    action="baseline",
                    reason="main's head when the service first ran",
                    created_at=datetime.now(UTC),
                )
            )
            log.info("publishing: baseline recorded at %s", main[:12], extra={"commit": main})
            return Trust({main}, {}, True)

    def _read_trust(self, conn: sa.Connection) -> Trust:
        rows = conn.execute(
            sa.select(publication_events.c.commit, publication_events.c.action, publication_events.c.reason)
        ).all()
        accepted = {row.commit for row in rows if row.action in ("baseline", "accept")}
        reverts: dict[str, int] = {}
        for row in rows:
            if row.action == "revert" and row.reason.startswith("CR-"):
                reverts[row.commit] = int(row.reason.removeprefix("CR-"))
        return Trust(accepted, reverts, bool(rows))

    def _reverted_by(self, trust: Trust) -> dict[str, str]:
        # A held commit whose revert change request is merged: the merge that undid it.
        done = {}
        for sha, number in trust.reverts.items():
            try:
                change = self.records.get(number)
            except NotFound:
                continue
            if change.state is State.MERGED and change.merged_commit:
                done[sha] = change.merged_commit
        return done

    def _start(self, main: str, latest: Publication | None, trust: Trust) -> str | None:
        # Judge only what is new: from the last published commit, or else the newest trusted commit, that main
        # still contains (a history rewritten upstream is judged again from what it kept).
        candidates = [latest.published] if latest is not None and latest.published else []
        candidates += sorted(trust.accepted)
        for sha in candidates:
            if sha == main or self._contains(main, sha):
                return sha
        return None

    def _contains(self, main: str, sha: str) -> bool:
        try:
            return self.repo.is_ancestor(sha, main)
        except NotFound:
            return False

    def _judge(self, main: str, start: str | None, trust: Trust) -> Publication:
        if start == main:
            return Publication(main, main)
        revision = f"{start}..{main}" if start else main
        problems: dict[str, list[str]] = {}
        for violation in verify_history(self.repo, revision, self.records):
            if violation.commit not in trust.accepted:
                problems.setdefault(violation.commit, []).append(violation.reason)
        chain = [sha for sha, _parents, _trailers in reversed(self.repo.trailer_history(revision))]
        reverted = self._reverted_by(trust) if problems else {}
        published, undone_by = start, -1  # undone_by: position of the merge that undoes what is skipped
        for position, sha in enumerate(chain):
            if sha in problems:
                fix = reverted.get(sha)
                if fix is None or fix not in chain[position + 1 :] or fix in problems:
                    held = [self._held(c, problems[c]) for c in chain[position:] if c in problems]
                    return Publication(main, published, held, len(chain) - position)
                undone_by = max(undone_by, chain.index(fix))  # skipped until its revert is merged
            if position >= undone_by:
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


def open_revert(publisher: Publisher, workflow: Workflow, user: User, commit: str) -> ChangeRequest:
    """A change request that undoes a held commit on main: once it is merged (reviewed as any other), the
    commits from the held one to that merge are passed over and publishing goes on from the merge."""
    if not user.has_role(Role.LEAD):
        raise Forbidden("opening a revert needs the role lead or admin")
    held = [h for h in publisher.state(fresh=True).held if h.commit == commit or h.commit.startswith(commit)]
    if len(commit) < 7 or not held:
        raise NotFound(f"{commit[:40]} is not an unverified commit holding back main")
    target = held[0]
    repo, main = publisher.repo, workflow.repo.head(workflow.branch) or ""
    parent = f"{target.commit}^1"
    changes: dict[str, bytes | None] = {}
    moved = []
    for path in repo.changed_files(parent, target.commit):
        if repo.read(main, path) != repo.read(target.commit, path):
            moved.append(path)  # changed again since: undoing it needs a person
        changes[path] = repo.read(parent, path)
    if moved:
        raise Conflict(
            f"files of {target.commit[:12]} changed again on {workflow.branch} since; "
            "undo them by hand in a change request",
            {"files": moved},
        )
    change = workflow.create(user, f"Revertir {target.commit[:12]}: {target.subject}"[:200])
    message = f"Revert {target.commit} (committed around the workflow)"
    change = workflow.write(user, change.number, changes, change.head_commit, message)
    with publisher.engine.begin() as conn:
        conn.execute(
            publication_events.insert().values(
                commit=target.commit,
                action="revert",
                user_id=user.id,
                reason=f"CR-{change.number}",
                created_at=datetime.now(UTC),
            )
        )
    log.warning("publishing: %s opened CR-%d to revert %s", user.name, change.number, target.commit[:12])
    return change
