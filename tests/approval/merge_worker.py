"""A process that merges every approved change request; the kill test SIGKILLs it at random points."""

from __future__ import annotations

import sys

from approval.model import State
from kbserver.services import Services
from kbserver.settings import Settings


def main() -> None:
    services = Services.open(Settings())
    lead = services.users.get("lead1")
    print("ready", flush=True)
    for change in services.workflow.records.find(State.APPROVED.value):
        services.workflow.merge(lead, change.number)
        services.catch_up_index()
    print("done", flush=True)
    services.close()


if __name__ == "__main__":
    sys.exit(main())
