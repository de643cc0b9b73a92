"""The ServiceNow integration as the service runs it: built from the settings, or None when it is off."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from kbserver.servicenow.client import ServiceNowClient
from kbserver.servicenow.config import ServiceNowConfig
from kbserver.servicenow.delivery import Delivery, DeliveryOptions, Describe, OutboxWorker
from kbserver.servicenow.outbox import Outbox
from kbserver.settings import Settings


@dataclass
class ServiceNow:
    """The connector, the outbox and its worker."""

    config: ServiceNowConfig
    client: ServiceNowClient
    outbox: Outbox
    worker: OutboxWorker

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
        worker = OutboxWorker(Delivery(client, outbox, describe, options))
        return cls(config, client, outbox, worker)

    def start(self) -> None:
        """Start the background work: delivering the outbox."""
        self.worker.start()

    def close(self) -> None:
        """Stop the background work and close the connections; what is left waits in the store."""
        self.worker.stop()
        self.client.close()
