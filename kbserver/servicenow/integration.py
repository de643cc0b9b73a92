"""The ServiceNow integration as the service runs it: built from the settings, or None when it is off."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import sqlalchemy as sa

from kbserver.servicenow.client import ServiceNowClient
from kbserver.servicenow.config import ServiceNowConfig
from kbserver.servicenow.delivery import Delivery, DeliveryOptions, Describe, OutboxWorker
from kbserver.servicenow.incidents import IncidentPull
from kbserver.servicenow.outbox import Outbox, begin_intake
from kbserver.servicenow.process import DeliveryProcess
from kbserver.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class ServiceNow:
    """The connector, the outbox and its worker, and the periodic incident pull: run by the service in a
    process of its own (start), and by that process (run_here)."""

    settings: Settings
    config: ServiceNowConfig
    client: ServiceNowClient
    outbox: Outbox
    worker: OutboxWorker
    incidents: IncidentPull
    pull_seconds: float
    _stop: threading.Event = field(default_factory=threading.Event)
    _puller: threading.Thread | None = None
    _process: DeliveryProcess | None = None

    @classmethod
    def open(cls, settings: Settings, engine: sa.Engine, describe: Describe) -> ServiceNow | None:
        """The integration for the settings; None without KB_SERVICENOW_URL."""
        config = ServiceNowConfig.from_settings(settings)
        if config is None:
            return None
        client = ServiceNowClient(config)
        outbox = Outbox(engine, settings.servicenow_max_attempts, settings.servicenow_retry_seconds)
        options = DeliveryOptions(
            settings.link_base, settings.servicenow_mirror_articles, settings.servicenow_knowledge_base
        )
        worker = OutboxWorker(Delivery(client, outbox, describe, options), rate=settings.servicenow_rate)
        pull = IncidentPull(client, engine, config.desk_groups)
        return cls(settings, config, client, outbox, worker, pull, settings.servicenow_pull_minutes * 60)

    def start(self) -> None:
        """Start the background work (delivering the outbox and, if set, the periodic pull) in a process of
        its own."""
        begin_intake(self.outbox.engine)
        if self._process is None:
            self._process = DeliveryProcess(self.settings)
        self._process.start()

    def wake(self) -> None:
        """A new link waits: deliver it now rather than at the next poll (once started)."""
        if self._process is not None:
            self._process.wake()

    def stop(self) -> None:
        """Stop the background work; what is left waits in the store."""
        if self._process is not None:
            self._process.stop()
        self._stop.set()
        self.worker.stop()
        if self._puller is not None:
            self._puller.join(30)

    def run_here(self) -> None:
        """The background work on threads of this process (the delivery process's)."""
        self.worker.start()
        if self.pull_seconds > 0 and (self._puller is None or not self._puller.is_alive()):
            self._stop.clear()
            self._puller = threading.Thread(target=self._pull_loop, name="servicenow-pull", daemon=True)
            self._puller.start()

    def _pull_loop(self) -> None:
        while not self._stop.is_set():
            try:
                done = self.incidents.pull()
                log.info("ServiceNow: pulled %s", done.as_json())
            except Exception as exc:  # the instance or the store away for a while: the next pull catches up
                log.warning("ServiceNow: incident pull failed: %s", getattr(exc, "message", exc))
            self._stop.wait(self.pull_seconds)

    def close(self) -> None:
        """Stop the background work and close the connections; what is left waits in the store."""
        self.stop()
        self.client.close()
