"""Tables of the state store, in their current shape."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa


class Timestamp(sa.types.TypeDecorator[datetime]):
    """A moment in UTC, read back with its time zone from every database.

    PostgreSQL keeps the zone; SQLite stores the text without it, and SQLAlchemy would even drop the offset of
    a non-UTC time as it writes. So every moment is turned to UTC on the way in, and one read back without a
    zone is UTC (as it was written). The column is `DateTime(timezone=True)` underneath: no migration."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        # A zone-less moment (a report range from a bare date) is taken as UTC: reports name weeks in UTC.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("applied_at", Timestamp(), nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=True),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", Timestamp(), nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("label", sa.String(200), nullable=False, default=""),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("last_used_at", Timestamp(), nullable=True),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("expires_at", Timestamp(), nullable=False),
)

# Failed logins per account and per client address, for the growing delay between attempts (migration 7).
login_throttle = sa.Table(
    "login_throttle",
    metadata,
    # "account:<name>", "address:<ip>", "pair:<ip> <name>"; "known:<ip> <name>" after a login from there
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure_at", Timestamp(), nullable=False, index=True),
    sa.Column("blocked_until", Timestamp(), nullable=True),
)

search_log = sa.Table(
    "search_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("query", sa.String(1000), nullable=False),
    sa.Column("filters", sa.String(1000), nullable=False, default=""),
    sa.Column("results", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True, index=True),
    sa.Column("created_at", Timestamp(), nullable=False, index=True),
    # The content-gap report counts searches with results that nobody opened or linked to a ticket.
    sa.Column("opened_doc_id", sa.String(32), nullable=True),
    sa.Column("linked", sa.Boolean, nullable=False, server_default=sa.false()),
)

change_requests = sa.Table(
    "change_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("branch", sa.String(200), nullable=False, unique=True),
    sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("state", sa.String(24), nullable=False, index=True),
    sa.Column("base_commit", sa.String(40), nullable=False),
    sa.Column("head_commit", sa.String(40), nullable=False),
    sa.Column("merged_commit", sa.String(40), nullable=True),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
)

reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("change_id", sa.Integer, sa.ForeignKey("change_requests.id"), nullable=False, index=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("verdict", sa.String(24), nullable=False),
    sa.Column("head_commit", sa.String(40), nullable=False),
    sa.Column("body", sa.Text, nullable=False, default=""),
    sa.Column("created_at", Timestamp(), nullable=False),
)

# Append-only: nothing in the API or the CLI updates or deletes these rows.
change_events = sa.Table(
    "change_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("change_id", sa.Integer, sa.ForeignKey("change_requests.id"), nullable=False, index=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("from_state", sa.String(24), nullable=True),
    sa.Column("to_state", sa.String(24), nullable=True),
    sa.Column("head_commit", sa.String(40), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default=""),
    sa.Column("created_at", Timestamp(), nullable=False),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("doc_id", sa.String(32), nullable=False, index=True),
    sa.Column("commit", sa.String(40), nullable=False),
    sa.Column("ticket", sa.String(64), nullable=False, default="", index=True),  # "" when there is none
    sa.Column("helpful", sa.Boolean, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sa.Column("week", sa.String(10), nullable=True),  # the Monday of created_at's week (migration 5)
    sa.UniqueConstraint("user_id", "doc_id", "ticket", name="uq_feedback_user_doc_ticket"),
    # Covering indexes: the reports read these columns only, so the table itself is not visited.
    sa.Index("ix_feedback_week_ticket", "week", "ticket", "created_at", "helpful", "outcome"),
    sa.Index("ix_feedback_doc_commit", "doc_id", "commit", "created_at", "helpful", "ticket", "outcome"),
)

flags = sa.Table(
    "flags",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("doc_id", sa.String(32), nullable=False, index=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("reason", sa.String(24), nullable=False),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("ticket", sa.String(64), nullable=True),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("change_id", sa.Integer, sa.ForeignKey("change_requests.id"), nullable=True, index=True),
    sa.Column("resolution", sa.Text, nullable=True),
    sa.Column("resolved_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("closed_at", Timestamp(), nullable=True),
)

deviations = sa.Table(
    "deviations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("script_id", sa.String(32), nullable=False, index=True),
    sa.Column("step", sa.String(200), nullable=False),
    sa.Column("ticket", sa.String(64), nullable=True),
    sa.Column("justification", sa.Text, nullable=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("review_comment", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("reviewed_at", Timestamp(), nullable=True),
)

# ServiceNow (migration 8). The outbox carries each link of a document to a ticket to the instance: at least
# once, made idempotent by `key`; the step flags let a retry skip what an earlier try already did.
servicenow_outbox = sa.Table(
    "servicenow_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),  # ticket, document and commit
    sa.Column("ticket", sa.String(64), nullable=False),
    sa.Column("doc_id", sa.String(32), nullable=False),
    sa.Column("commit", sa.String(40), nullable=False),
    sa.Column("page", sa.String(500), nullable=False),  # the document's path on the site
    sa.Column("state", sa.String(16), nullable=False),  # pending, delivered, dead
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),  # a worker is delivering it
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("task_sys_id", sa.String(32), nullable=True),
    sa.Column("note_tried", sa.Boolean, nullable=False),  # a work note may have been written
    sa.Column("noted", sa.Boolean, nullable=False),
    sa.Column("attached", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_servicenow_outbox_due", "state", "next_attempt_at"),
)

# The desk's incidents as last pulled (by sys_updated_on), for the KPIs over every ticket.
servicenow_incidents = sa.Table(
    "servicenow_incidents",
    metadata,
    sa.Column("sys_id", sa.String(32), primary_key=True),
    sa.Column("number", sa.String(40), nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("short_description", sa.Text, nullable=False),
    sa.Column("assignment_group", sa.String(200), nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("week", sa.String(10), nullable=True, index=True),  # the Monday of resolved_at
    sa.Column("reassignment_count", sa.Integer, nullable=False),
    sa.Column("close_code", sa.String(80), nullable=False),
    sa.Column("left_desk", sa.Boolean, nullable=False),  # seen assigned outside the desk's groups
    sa.Column("satisfaction", sa.Float, nullable=True),
    sa.Column("updated_on", sa.DateTime(timezone=True), nullable=False),
)

# ServiceNow's Attached Knowledge (m2m_kb_task) rows: which article each task has attached.
servicenow_attachments = sa.Table(
    "servicenow_attachments",
    metadata,
    sa.Column("sys_id", sa.String(32), primary_key=True),
    sa.Column("task_sys_id", sa.String(32), nullable=False, index=True),
    sa.Column("article", sa.String(64), nullable=False),  # our id for a mirrored article, else its number
)

# Watermarks of the pulls and the stub kb_knowledge record of each mirrored article.
servicenow_state = sa.Table(
    "servicenow_state",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Append-only: how commits on main that `kb verify` rejects came to be published anyway. `baseline` is main's
# head when the service first ran (the history it found is trusted as it was); `accept` is an admin's
# decision, with the reason. Nothing updates or deletes these rows.
publication_events = sa.Table(
    "publication_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("commit", sa.String(40), nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("created_at", Timestamp(), nullable=False),
)

# Read confirmations (migration 9). Each version of a chapter or chat script on main whose text changed, as
# operators and leads are asked to confirm it; the latest row of a document also holds its current path,
# title, audience and status. Rebuilt from git's first-parent history (version_scan holds how far it got).
document_versions = sa.Table(
    "document_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("doc_id", sa.String(32), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),  # 1, 2, ... per document
    sa.Column("commit", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("path", sa.String(500), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("audience", sa.String(16), nullable=False),  # "L1", "L2" or "L1,L2"
    sa.Column("asks", sa.Boolean, nullable=False),  # false for the seed: nobody confirms the first content
    sa.Column("latest", sa.Boolean, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),  # of the latest row: on main and not retired
    sa.Column("digest", sa.String(64), nullable=False),  # of the title and body: what counts as a change
    sa.Column("published_at", Timestamp(), nullable=False),  # the commit's date
    sa.UniqueConstraint("doc_id", "seq", name="uq_document_versions_doc_seq"),
)

# Append-only: who confirmed having read which version of a document, and when.
read_confirmations = sa.Table(
    "read_confirmations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("doc_id", sa.String(32), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("commit", sa.String(40), nullable=False),
    sa.Column("confirmed_at", Timestamp(), nullable=False),
    sa.UniqueConstraint("user_id", "doc_id", "seq", name="uq_read_confirmations_user_doc_seq"),
    # Covering: the report reads each person's last confirmation per document from the index alone.
    sa.Index("ix_read_confirmations_latest", "user_id", "doc_id", "seq", "confirmed_at"),
)

version_scan = sa.Table(
    "version_scan",
    metadata,
    sa.Column("branch", sa.String(200), primary_key=True),
    sa.Column("commit", sa.String(40), nullable=False),  # main's commit the versions were read up to
)
