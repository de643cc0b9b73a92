"""One typed settings object, read from KB_* environment variables and built once."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The checkout, for tests and benchmarks only: the service finds its own files with kbserver.resources.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything the service and the CLI can be configured with."""

    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore")

    repo: Path = Field(Path("var/content"), description="The content repository the service owns (bare git).")
    data_dir: Path = Field(Path("var/data"), description="Index, built site and local state.")
    database_url: str = Field(
        "", description="SQLAlchemy URL of the state store; empty means SQLite in the data dir."
    )
    public_read: bool = Field(False, description="Let anyone read the site and search without logging in.")
    host: str = Field("127.0.0.1", description="Address `kb serve` listens on.")
    port: int = Field(8000, description="Port `kb serve` listens on.")
    branch: str = Field("main", description="The approved branch that operators see.")
    session_hours: int = Field(12, description="How long a browser login lasts.")
    secure_cookies: bool = Field(False, description="Mark cookies Secure (set when served over HTTPS).")
    log_level: str = Field("info", description="Log level of the service.")
    search_threads: int = Field(
        4, ge=1, le=64, description="Threads that run searches; each holds its own Whoosh searcher in memory."
    )
    ticket_pattern: str = Field(
        r"^(INC|RITM|REQ|CHG|PRB)\d{7}$",
        description="Regex a ticket reference must match (ServiceNow by default).",
    )
    ticket_url: str = Field(
        "https://{instance}.service-now.com/nav_to.do?uri=task.do?sysparm_query=number={ticket}",
        description="Link to a ticket; {ticket} and {instance} are filled in.",
    )
    ticket_instance: str = Field("example", description="The ticketing system instance named in ticket_url.")
    comment_retention_days: int = Field(
        365, ge=1, description="Feedback, flag and deviation comments older than this are deleted."
    )
    site_autobuild: bool = Field(True, description="Rebuild the site in the background when main moves.")

    @property
    def resolved_database_url(self) -> str:
        """The state store URL, defaulting to SQLite inside the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'state.db').resolve()}"

    @property
    def site_root(self) -> Path:
        """Where built sites live; `current` points at the one being served."""
        return self.data_dir / "site"
