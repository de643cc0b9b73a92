"""Ticket references in the client's ticketing system: a configurable pattern and a link template."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kbserver.errors import InvalidInput
from kbserver.settings import Settings


@dataclass(frozen=True)
class TicketSystem:
    """Checks ticket references and turns them into links."""

    pattern: str
    url: str
    instance: str

    @classmethod
    def from_settings(cls, settings: Settings) -> TicketSystem:
        """The ticket system the settings describe."""
        return cls(settings.ticket_pattern, settings.ticket_url, settings.ticket_instance)

    def check(self, ref: str) -> str:
        """The reference, upper-cased, if it matches the pattern; InvalidInput naming the pattern if not."""
        value = ref.strip().upper()
        # ASCII only, checked before upper-casing ('ı'.upper() is 'I'), and \d matched as ASCII digits:
        # 'INC١٢٣٤٥٦٧' or full-width digits would name a ticket the ticketing system never finds.
        if not ref.isascii():
            raise InvalidInput(f"ticket {ref!r} must be ASCII letters and digits", {"pattern": self.pattern})
        if not re.fullmatch(self.pattern, value, re.ASCII):
            raise InvalidInput(
                f"ticket {ref!r} does not match the pattern {self.pattern}", {"pattern": self.pattern}
            )
        return value

    def link(self, ref: str) -> str:
        """The URL of a ticket in the ticketing system."""
        return self.url.replace("{instance}", self.instance).replace("{ticket}", ref)

    def as_json(self, ref: str | None) -> dict[str, str] | None:
        """A ticket reference with its link, as every API response carries it."""
        return {"ref": ref, "url": self.link(ref)} if ref else None
