"""The client's ServiceNow: the connector, the outbox that carries links to tickets, and the incident pull."""
