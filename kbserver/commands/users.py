"""`kb user`: add, list, disable and enable, set a password, issue, list and revoke API tokens."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path

from kbserver.users import Role, User, UserStore

INITIAL_PASSWORD_FILE = "initial-admin-password"


def ensure_first_admin(users: UserStore, data_dir: Path) -> str | None:
    """On an empty store, create `admin` with a random password; returns it (shown once)."""
    if users.count():
        return None
    password = secrets.token_urlsafe(12)
    users.add("admin", Role.ADMIN.value, password, "Administrador")
    path = data_dir / INITIAL_PASSWORD_FILE
    path.touch(mode=0o600)
    path.write_text(password + "\n")
    return password


def user_table(users: list[User]) -> str:
    """Users as an aligned text table."""
    rows = [("NAME", "ROLE", "STATE", "DISPLAY NAME", "EMAIL")]
    rows += [
        (u.name, u.role.value, "disabled" if u.disabled else "active", u.display_name, u.email) for u in users
    ]
    return _table(rows)


def token_table(tokens: list[dict[str, object]]) -> str:
    """API tokens as an aligned text table."""
    rows = [("ID", "LABEL", "CREATED", "LAST USED")]
    rows += [
        (str(t["id"]), str(t["label"]), str(t["created_at"])[:19], str(t["last_used_at"] or "never")[:19])
        for t in tokens
    ]
    return _table(rows)


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )
