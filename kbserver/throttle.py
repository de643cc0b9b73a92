"""Login throttling: a growing delay between failed logins, per account and per client address.

The counts live in the state store, so that every `kb serve` worker sees the same ones. An attempt is
counted as failed when it is admitted, and given back when it succeeds: parallel guesses cannot all slip
in before the first failure is written. A throttled attempt is refused (429) without looking at the
password, and is not counted, so hammering a locked account does not lock it for longer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from kbserver.errors import TooManyRequests
from kbserver.store.schema import login_throttle

FORGET_AFTER = timedelta(minutes=15)  # failures older than this no longer count


@dataclass(frozen=True)
class Rule:
    """How many failures in a row go without a wait, and how long the wait that doubles after them grows."""

    free: int
    longest: timedelta

    def delay(self, failures: int) -> timedelta | None:
        """The wait after this many failures in a row (None: no wait): 1 s after the free ones, then
        doubling."""
        if failures < self.free:
            return None
        return min(self.longest, timedelta(seconds=2 ** min(failures - self.free, 30)))


# A guesser at one address is slowed on the account it guesses, and on every account from that address;
# the real user, at another address, is not slowed by either.
PAIR = Rule(free=5, longest=timedelta(minutes=5))  # one account, from one address
ADDRESS = Rule(free=20, longest=timedelta(minutes=15))  # any account: a desk behind one NAT shares it
# One account, from any address: many addresses guessing together. An address the user logged in from
# before is exempt, and for the others the wait stays short: guessing is slowed to two tries a minute, and
# the real user, wherever they are, is held off for 30 seconds at most.
ACCOUNT = Rule(free=50, longest=timedelta(seconds=30))
KNOWN_FOR = timedelta(days=30)  # how long an address stays known for an account after a login from it


def _key(kind: str, value: str) -> str:
    return f"{kind}:{value}"[:200]  # the column's width; names and addresses are far shorter


def _pair(name: str, address: str) -> str:
    return _key("pair", f"{address} {name}")


def _known(name: str, address: str) -> str:
    return _key("known", f"{address} {name}")


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class LoginThrottle:
    """The failed-login counts of the state store."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        # A no-op update on conflict: the statement writes, so SQLite takes its write lock and PostgreSQL
        # locks the row before the counts are read; concurrent attempts on one key queue here.
        insert = dialect.insert(login_throttle)
        self._touch = insert.on_conflict_do_update(
            index_elements=[login_throttle.c.key], set_={"failures": login_throttle.c.failures}
        )
        self._seen = insert.on_conflict_do_update(
            index_elements=[login_throttle.c.key], set_={"last_failure_at": insert.excluded.last_failure_at}
        )

    def admit(self, name: str, address: str, now: datetime | None = None) -> None:
        """Let one login attempt in, counted as failed until `succeeded`; TooManyRequests while the account
        or the address must wait."""
        now = now or _now()
        account = _key("account", name)
        rules = {_pair(name, address): PAIR, _key("address", address): ADDRESS, account: ACCOUNT}
        with self.engine.begin() as conn:
            for key in sorted(rules):  # one order everywhere, so two attempts never wait on each other
                conn.execute(self._touch, {"key": key, "failures": 0, "last_failure_at": now})
            known = _known(name, address)
            if conn.scalar(sa.select(login_throttle.c.key).where(login_throttle.c.key == known)):
                del rules[account]
            rows = conn.execute(sa.select(login_throttle).where(login_throttle.c.key.in_(rules))).all()
            waits = [_aware(r.blocked_until) - now for r in rows if r.blocked_until is not None]
            wait = max(waits, default=timedelta(0))
            if wait > timedelta(0):
                seconds = math.ceil(wait.total_seconds())
                raise TooManyRequests(
                    f"too many failed logins; try again in {seconds} s", {"retry_after": seconds}, seconds
                )
            for row in rows:
                recent = now - _aware(row.last_failure_at) <= FORGET_AFTER
                failures = (row.failures if recent else 0) + 1
                delay = rules[row.key].delay(failures)
                conn.execute(
                    login_throttle.update()
                    .where(login_throttle.c.key == row.key)
                    .values(
                        failures=failures,
                        last_failure_at=now,
                        blocked_until=None if delay is None else now + delay,
                    )
                )
            forgotten = login_throttle.c.last_failure_at < now - FORGET_AFTER
            outdated = login_throttle.c.last_failure_at < now - KNOWN_FOR
            kept = login_throttle.c.key.startswith("known:")
            conn.execute(login_throttle.delete().where((forgotten & ~kept) | outdated))

    def succeeded(self, name: str, address: str, now: datetime | None = None) -> None:
        """The attempt was right: the account's failures are forgotten, the address gets its try back, and
        becomes known for the account."""
        forgotten = [_pair(name, address), _key("account", name)]
        with self.engine.begin() as conn:
            conn.execute(login_throttle.delete().where(login_throttle.c.key.in_(forgotten)))
            conn.execute(  # last_failure_at is, for a known address, the last login from it
                self._seen, {"key": _known(name, address), "failures": 0, "last_failure_at": now or _now()}
            )
            conn.execute(
                login_throttle.update()
                .where(login_throttle.c.key == _key("address", address))
                .values(
                    failures=sa.case((login_throttle.c.failures > 0, login_throttle.c.failures - 1), else_=0),
                    blocked_until=None,
                )
            )
