"""One typed settings object, read from KB_* environment variables and built once."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from kbserver.errors import InvalidInput
from kbserver.repository.upstream import Credentials

# The checkout, for tests and benchmarks only: the service finds its own files with kbserver.resources.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def setting_or_file(given: str, file: str, name: str) -> str:
    """A secret setting's value, or the first line of its file (as container secrets are mounted)."""
    if given or not file:
        return given.strip()
    try:
        return Path(file).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        # Only the file's name is said: never its content.
        raise InvalidInput(
            f"{name}_FILE: cannot read {file} ({type(exc).__name__})", {"setting": f"{name}_FILE"}
        ) from None


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
    log_format: str = Field("text", description="Log lines as `text` or as one `json` object per line.")
    search_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="Threads per process that run searches; each holds its own Whoosh searcher in memory.",
    )
    search_cache: int = Field(
        1024,
        ge=0,
        le=100_000,
        description="Search answers kept per process until the index changes (0: none).",
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
    health_interval: float = Field(
        5.0, gt=0, le=3600, description="Seconds between the background readiness checks behind /readyz."
    )
    metrics_token: str = Field(
        "", description="Bearer token that may read /metrics; empty means only admins may."
    )
    public_url: str = Field(
        "",
        description="The address operators reach the service at, for links sent out; default http://host:port/.",
    )
    # ServiceNow (kbserver/servicenow/): all off while servicenow_url is empty.
    servicenow_url: str = Field("", description="The ServiceNow instance, e.g. https://acme.service-now.com.")
    servicenow_user: str = Field("", description="Integration user for basic auth.")
    servicenow_user_file: str = Field("", description="File holding servicenow_user.")
    servicenow_password: SecretStr = Field(SecretStr(""), description="Its password.")
    servicenow_password_file: str = Field("", description="File holding servicenow_password.")
    servicenow_client_id: str = Field("", description="OAuth client id (client-credentials grant).")
    servicenow_client_id_file: str = Field("", description="File holding servicenow_client_id.")
    servicenow_client_secret: SecretStr = Field(SecretStr(""), description="OAuth client secret.")
    servicenow_client_secret_file: str = Field("", description="File holding servicenow_client_secret.")
    servicenow_desk_groups: str = Field(
        "", description="Assignment groups (names, comma-separated) of the desk."
    )
    servicenow_timeout: float = Field(10.0, gt=0, description="Seconds one ServiceNow request may take.")
    servicenow_mirror_articles: bool = Field(
        False, description="Keep a stub kb_knowledge record per article and attach it (m2m_kb_task)."
    )
    servicenow_knowledge_base: str = Field("", description="sys_id of the knowledge base holding the stubs.")
    servicenow_max_attempts: int = Field(
        10, ge=1, description="Tries before an outbox entry is dead-lettered."
    )
    servicenow_retry_seconds: float = Field(
        30.0, gt=0, description="First retry delay; it doubles per try, up to an hour."
    )
    servicenow_rate: float = Field(
        5.0,
        gt=0,
        le=1000,
        description="Links delivered per second at most, per data directory: a backlog drains without taking"
        " the CPU that operators' requests need (5 a second is 18,000 an hour).",
    )
    servicenow_pull_minutes: float = Field(
        15.0, ge=0, description="Minutes between incident pulls; 0 pulls only on `kb servicenow pull`."
    )
    servicenow_fcr_rule: Literal["desk", "no_reassignment"] = Field(
        "desk",
        description="First-contact resolution: never left the desk's groups, or also never reassigned.",
    )
    # Several replicas (README "Running several replicas"): all off while upstream is empty.
    upstream: str = Field(
        "",
        description="URL of the git repository that is the content's home (path, file://, ssh://, https://).",
    )
    upstream_user: str = Field("", description="User for an https upstream.")
    upstream_password: SecretStr = Field(SecretStr(""), description="Its password or access token.")
    upstream_password_file: str = Field("", description="File holding upstream_password.")
    upstream_ssh_key: Path | None = Field(None, description="Private key for an ssh:// upstream.")
    fetch_interval: float = Field(
        30.0,
        gt=0,
        le=86_400,
        description="Seconds between fetches of the upstream (for pushes made around the service).",
    )
    ready_max_lag: float = Field(
        60.0,
        gt=0,
        description="Seconds the index or site may stay behind the verified main before /readyz fails.",
    )
    servicenow_gap_coverage: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A ticket's best hit is weak below this share of its words (weighed by rarity).",
    )
    servicenow_gap_similarity: float = Field(
        0.4, gt=0, le=1, description="Jaccard similarity of stems at which two tickets share a gap cluster."
    )
    servicenow_gap_days: int = Field(
        30, ge=1, description="Days of resolved tickets the gap report reads when no start is given."
    )
    desk_name: str = Field("Mesa de ayuda TI", description="The desk's name, on the manual's cover.")
    client_name: str = Field("Cliente", description="The client's name, on the manual's cover.")
    manual_id: str = Field("MAN-PROC", description="The procedures manual's document id, on every page.")
    manual_signing_key: Path | None = Field(
        None, description="PEM private key that signs each built manual (PAdES); unset: unsigned."
    )
    manual_signing_cert: Path | None = Field(
        None, description="PEM certificate of the signing key (and its chain after it)."
    )
    manual_autobuild: bool = Field(
        True, description="Build the next manual version in the background when a merge touches procedures."
    )
    ack_days: int = Field(
        7,
        ge=1,
        le=3650,
        description="Days operators and leads have to confirm a changed chapter or script: then overdue.",
    )

    def upstream_credentials(self) -> Credentials:
        """How git authenticates to the upstream, from the settings or their files."""
        password = setting_or_file(
            self.upstream_password.get_secret_value(), self.upstream_password_file, "KB_UPSTREAM_PASSWORD"
        )
        return Credentials(self.upstream_user, password, self.upstream_ssh_key)

    @property
    def resolved_database_url(self) -> str:
        """The state store URL, defaulting to SQLite inside the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'state.db').resolve()}"

    @property
    def link_base(self) -> str:
        """The service's public address, ending in a slash, for links that leave it."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/") + "/"

    @property
    def site_root(self) -> Path:
        """Where built sites live; `current` points at the one being served."""
        return self.data_dir / "site"

    @property
    def manual_root(self) -> Path:
        """Where every built version of the procedures manual is kept."""
        return self.data_dir / "manual"
