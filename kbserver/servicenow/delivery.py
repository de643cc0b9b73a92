"""Delivering outbox entries: a work note on the ticket and, when mirroring, its Attached Knowledge record.

Each step first checks whether an earlier try already did it (a try may have reached ServiceNow and then timed
out), so an entry delivered twice still leaves one note and one attachment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from kbserver.errors import KBError
from kbserver.servicenow.client import ServiceNowClient, ServiceNowError
from kbserver.servicenow.outbox import Entry, Outbox
from kbserver.store.database import writing
from kbserver.store.schema import servicenow_state

log = logging.getLogger(__name__)
Describe = Callable[[str], dict[str, Any] | None]  # doc id -> its title and site path, from the index


@dataclass(frozen=True)
class DeliveryOptions:
    link_base: str  # the service's public address, ending in "/"
    mirror: bool  # keep a stub kb_knowledge record per article and attach it to the ticket
    knowledge_base: str  # sys_id of the knowledge base the stubs go to ("" lets the instance choose)


class NoSuchTicket(KBError):
    status = 404
    code = "not_found"


def marker(entry: Entry) -> str:
    """The tag a work note carries, by which a later try finds it."""
    return f"[kb-link {entry.key}]"


def work_note(entry: Entry, title: str, options: DeliveryOptions) -> str:
    """The work note's text: the article, its version and its link."""
    link = options.link_base + entry.page.lstrip("/")
    return (
        f"Knowledge article used: {entry.doc_id} {title}\n"
        f"Version: {entry.commit[:12]} (commit {entry.commit})\n"
        f"Link: {link}\n"
        f"{marker(entry)}"
    )


class Delivery:
    """Writes one entry to ServiceNow, step by step, recording each step in the outbox."""

    def __init__(
        self, client: ServiceNowClient, outbox: Outbox, describe: Describe, options: DeliveryOptions
    ) -> None:
        self.client, self.outbox, self.describe, self.options = client, outbox, describe, options

    def deliver(self, entry: Entry, steps: dict[str, Any] | None = None) -> None:
        """Resolve the ticket, add the work note, attach the article; raise on the first step that fails,
        leaving in steps what was done (or tried) by then, for the outbox's record of the failure."""
        about = self.describe(entry.doc_id) or {}
        title = str(about.get("title") or entry.doc_id)
        if not entry.page:  # taken in from the feedback (see outbox): its page as the index has it now
            entry = replace(entry, page=str(about.get("url") or ""))
        # Steps done are written to the outbox with the delivery or the failure, not each on its own: a step
        # lost in a crash is only done again, as each is idempotent. The work note is, by its marker: a try
        # that may have written it is known from the failure's record, or, after a crash, from the lease the
        # crashed worker left (see Outbox.claim), and is looked for before writing again.
        steps = {} if steps is None else steps
        sys_id = entry.task_sys_id
        if sys_id is None:
            task = self.client.first("task", f"number={entry.ticket}", ("sys_id", "sys_class_name"))
            if task is None:
                raise NoSuchTicket(f"ServiceNow has no ticket {entry.ticket}")
            sys_id = steps["task_sys_id"] = str(task["sys_id"])
        if not entry.noted:
            written = entry.note_tried and self.client.first(
                "sys_journal_field",
                f"element_id={sys_id}^element=work_notes^valueLIKE{marker(entry)}",
                ("sys_id",),
            )
            if not written:
                steps["note_tried"] = True
                self.client.update("task", sys_id, {"work_notes": work_note(entry, title, self.options)})
            steps["noted"] = True
        if self.options.mirror and not entry.attached:
            stub = self._stub(entry, title)
            query = f"task={sys_id}^kb_knowledge={stub}"
            if self.client.first("m2m_kb_task", query, ("sys_id",)) is None:
                self.client.create("m2m_kb_task", {"task": sys_id, "kb_knowledge": stub})
            steps["attached"] = True
        self.outbox.delivered(entry.id, **steps)

    def _stub(self, entry: Entry, title: str) -> str:
        """The sys_id of the article's stub kb_knowledge record, found or created once."""
        key = f"stub:{entry.doc_id}"
        with self.outbox.engine.connect() as conn:
            known = conn.scalar(sa.select(servicenow_state.c.value).where(servicenow_state.c.key == key))
        if known:
            return str(known)
        prefix = f"{entry.doc_id}: "
        found = self.client.first("kb_knowledge", f"short_descriptionSTARTSWITH{prefix}", ("sys_id",))
        if found is None:
            link = self.options.link_base + entry.page.lstrip("/")
            values = {
                "short_description": f"{prefix}{title}"[:160],
                "text": f'<p>Kept in the desk\'s knowledge base: <a href="{link}">{link}</a></p>',
                "workflow_state": "published",
            }
            if self.options.knowledge_base:
                values["kb_knowledge_base"] = self.options.knowledge_base
            found = self.client.create("kb_knowledge", values)
        sys_id = str(found["sys_id"])
        with writing(self.outbox.engine) as conn:
            conn.execute(servicenow_state.delete().where(servicenow_state.c.key == key))
            conn.execute(servicenow_state.insert().values(key=key, value=sys_id))
        return sys_id


class OutboxWorker:
    """A background thread that delivers due entries until stopped; several may run against one store."""

    def __init__(
        self, delivery: Delivery, idle_seconds: float = 2.0, batch: int = 50, rate: float | None = None
    ) -> None:
        self.delivery = delivery
        self.idle_seconds = idle_seconds
        self.batch = batch
        # At most `rate` entries a second: each costs a few milliseconds of this process's CPU (HTTP calls,
        # store writes), and at full speed a backlog took the GIL from the requests operators wait on.
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self.lease_seconds = max(60.0, 8 * delivery.client.config.timeout)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start delivering in the background."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="servicenow-outbox", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """A new entry is waiting: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the entry being delivered; the rest wait in the outbox for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> int:
        """Deliver the entries due now; returns how many were tried."""
        outbox = self.delivery.outbox
        entries = outbox.claim(self.batch, self.lease_seconds)
        for n, entry in enumerate(entries):
            if self.interval:
                self._stop.wait(max(0.0, self._next - time.monotonic()))
                self._next = max(self._next, time.monotonic()) + self.interval
            if self._stop.is_set():
                for left in entries[n:]:
                    outbox.release(left.id)
                break
            steps: dict[str, Any] = {}
            try:
                self.delivery.deliver(entry, steps)
            except ServiceNowError as exc:
                if exc.http_status == 429:
                    # The instance throttles this integration as a whole: every entry waits as long as it
                    # asks, and waiting is not a failed try (nothing goes dead for being throttled).
                    seconds = exc.retry_after if exc.retry_after is not None else outbox.first_delay
                    outbox.progress(entry.id, **steps, last_error=exc.message)
                    for left in entries[n:]:
                        outbox.release(left.id)
                    outbox.postpone(seconds)
                    log.warning("ServiceNow: throttled, waiting %s s: %s", seconds, exc.message)
                    break
                state = outbox.failed(entry.id, exc.message, exc.retry_after, **steps)
                log.warning("ServiceNow: %s not delivered (%s): %s", entry.key, state.value, exc.message)
            except KBError as exc:
                state = outbox.failed(entry.id, exc.message, **steps)
                log.warning("ServiceNow: %s not delivered (%s): %s", entry.key, state.value, exc.message)
            except Exception as exc:  # a bug must not stop every later delivery
                log.exception("ServiceNow: delivering %s failed", entry.key)
                outbox.failed(entry.id, f"{type(exc).__name__}: {exc}", **steps)
        return len(entries)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_once()
                wait = 0.0 if worked else self._idle_wait()
            except Exception:  # the store unreachable for a moment: try again later
                log.exception("ServiceNow: outbox worker")
                wait = self.idle_seconds
            if wait:
                self._wake.wait(wait)
                self._wake.clear()

    def _idle_wait(self) -> float:
        due = self.delivery.outbox.next_due()
        if due is None:
            return self.idle_seconds
        return min(self.idle_seconds, max(0.01, (due - datetime.now(UTC)).total_seconds()))


def deliver_all(worker: OutboxWorker, deadline: float) -> None:
    """Deliver until nothing is due or the deadline (monotonic seconds) passes (`kb servicenow deliver`), at
    full speed: no operator's request shares this process."""
    worker.interval = 0.0
    while time.monotonic() < deadline and worker.run_once():
        pass
