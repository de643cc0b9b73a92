"""`kb user`: add, list, disable and enable, set a password, issue, list and revoke API tokens."""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

from kbserver.commands.actions import Result, Verbs, verb
from kbserver.commands.output import json_text, table
from kbserver.errors import KBError
from kbserver.services import Services
from kbserver.users import Role, User, UserStore

INITIAL_PASSWORD_FILE = "initial-admin-password"


def add_parser(sub: Verbs[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Register `kb user VERB`."""
    user = sub.add_parser("user", help="users and roles").add_subparsers(dest="action", required=True)
    p = verb(user, "add", add, parents=[common], help="create a user")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=["operator", "lead", "approver", "admin"])
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--display-name", default="")
    p.add_argument("--email", default="")
    p = verb(user, "list", list_users, parents=[common], help="list users")
    p.add_argument("--json", action="store_true")
    p = verb(user, "disable", disable, parents=[common], help="disable a user, ending sessions and tokens")
    p.add_argument("name")
    p = verb(user, "enable", enable, parents=[common], help="let a disabled user log in again")
    p.add_argument("name")
    p = verb(
        user,
        "passwd",
        passwd,
        parents=[common],
        help="set a user's password from standard input; ends sessions and tokens",
    )
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", required=True)
    p = verb(user, "token", token, parents=[common], help="print a new API token for a user")
    p.add_argument("name")
    p.add_argument("--label", default="")
    p = verb(user, "tokens", tokens, parents=[common], help="list a user's API tokens (ids, never secrets)")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p = verb(user, "revoke", revoke, parents=[common], help="revoke one API token of a user, by its id")
    p.add_argument("name")
    p.add_argument("token_id", type=int, help="the id `kb user tokens NAME` shows")


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


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise KBError("no password on standard input")
    return password


def add(services: Services, args: argparse.Namespace) -> Result:
    """`kb user add`."""
    password = _read_password() if args.password_stdin else None
    created = services.users.add(args.name, args.role, password, args.display_name, args.email)
    return 0, f"Created user {created.name} ({created.role.value})"


def list_users(services: Services, args: argparse.Namespace) -> Result:
    """`kb user list`: a table, or JSON."""
    found = services.users.list()
    return 0, json_text([u.as_json() for u in found]) if args.json else user_table(found)


def disable(services: Services, args: argparse.Namespace) -> Result:
    """`kb user disable`."""
    services.users.disable(args.name)
    return 0, f"Disabled {args.name}; their sessions and tokens are revoked"


def enable(services: Services, args: argparse.Namespace) -> Result:
    """`kb user enable`."""
    services.users.enable(args.name)
    return 0, f"Enabled {args.name}"


def passwd(services: Services, args: argparse.Namespace) -> Result:
    """`kb user passwd`."""
    services.users.set_password(args.name, _read_password())
    return 0, f"Password of {args.name} changed; their sessions and API tokens are ended"


def token(services: Services, args: argparse.Namespace) -> Result:
    """`kb user token`: the token alone on standard output, for scripts; how to end it on standard error."""
    token_id, secret = services.users.new_token(args.name, args.label)
    revoke_it = f"kb user revoke {args.name} {token_id}"
    print(f"API token {token_id} of {args.name}; `{revoke_it}` ends it", file=sys.stderr)
    return 0, secret


def tokens(services: Services, args: argparse.Namespace) -> Result:
    """`kb user tokens`: a table, or JSON."""
    found = services.users.tokens(args.name)
    return 0, json_text(found) if args.json else token_table(found)


def revoke(services: Services, args: argparse.Namespace) -> Result:
    """`kb user revoke`."""
    services.users.revoke_token(args.name, args.token_id)
    return 0, f"API token {args.token_id} of {args.name} revoked"


def user_table(users: list[User]) -> str:
    """Users as an aligned text table."""
    return table(
        ("name", "role", "state", "display name", "email"),
        [
            (u.name, u.role.value, "disabled" if u.disabled else "active", u.display_name, u.email)
            for u in users
        ],
    )


def token_table(found: list[dict[str, object]]) -> str:
    """API tokens as an aligned text table."""
    return table(
        ("id", "label", "created", "last used"),
        [
            (t["id"], t["label"], str(t["created_at"])[:19], str(t["last_used_at"] or "never")[:19])
            for t in found
        ],
    )
