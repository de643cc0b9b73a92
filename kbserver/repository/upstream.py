"""The upstream remote: the git repository that is the content's home when several replicas serve it.

The local bare repository is then a mirror of the upstream's branches. Every ref the service writes is pushed
first, with compare-and-swap (`--force-with-lease` on the exact old value), and only then moved locally; a
fetch brings the mirror back to the upstream (`+refs/heads/*:refs/heads/*`, pruned).

Credentials never sit in the URL: a user and password (or token) come from the environment or a file and reach
git through `http.extraHeader` in GIT_CONFIG_* variables, an SSH key through GIT_SSH_COMMAND. URLs are printed
with any user-information removed.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from kbserver.errors import Conflict, InvalidInput, ServiceUnavailable

log = logging.getLogger(__name__)
REMOTE = "upstream"
ZERO = "0" * 40
TIMEOUT = 60.0  # seconds a fetch or push may take before the upstream counts as unreachable


def redact(url: str) -> str:
    """The URL without its user-information (user, password or token), for logs and messages."""
    parts = urlsplit(url)
    if not parts.netloc or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


@dataclass(frozen=True)
class Credentials:
    """How git authenticates to the upstream; every field is optional."""

    user: str = ""
    password: str = ""  # a password or an access token
    ssh_key: Path | None = None

    def environment(self) -> dict[str, str]:
        """Variables that give git these credentials without putting them on a command line."""
        env: dict[str, str] = {}
        if self.password:
            token = base64.b64encode(f"{self.user or 'git'}:{self.password}".encode()).decode()
            env |= {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {token}",
            }
        if self.ssh_key is not None:
            key = str(self.ssh_key).replace("'", "'\\''")
            env["GIT_SSH_COMMAND"] = f"ssh -i '{key}' -o IdentitiesOnly=yes -o BatchMode=yes"
        return env


class Upstream:
    """Pushes and fetches between a local bare repository and its upstream remote."""

    def __init__(self, local: Path, url: str, credentials: Credentials | None = None) -> None:
        parts = urlsplit(url)
        if parts.password:
            raise InvalidInput(
                "the upstream URL carries a password: give it in KB_UPSTREAM_PASSWORD or "
                "KB_UPSTREAM_PASSWORD_FILE instead",
                {"url": redact(url)},
            )
        self.local = Path(local)
        self.url = url
        self.credentials = credentials or Credentials()
        self.fetched_at = 0.0  # time.monotonic() of the last fetch that succeeded
        self.last_error = ""  # why the last fetch failed ("" once one works again)
        self._fetching = threading.Lock()

    def __repr__(self) -> str:
        return f"Upstream({redact(self.url)!r})"

    def _git(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = os.environ | self.credentials.environment() | {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        try:
            return subprocess.run(
                ["git", "-C", str(self.local), *args],
                capture_output=True,
                text=True,
                env=env,
                timeout=TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise self._unreachable(f"git {args[0]} took longer than {TIMEOUT:.0f} s") from exc

    def _unreachable(self, why: str) -> ServiceUnavailable:
        detail = why.strip().replace(self.url, redact(self.url))
        return ServiceUnavailable(
            "the upstream repository cannot be reached; nothing was changed, try again later",
            {"upstream": redact(self.url), "git": detail[-500:]},
        )

    def configure(self) -> None:
        """Point the local repository's remote `upstream` at the URL (idempotent)."""
        current = self._git("config", "--get", f"remote.{REMOTE}.url")
        if current.returncode == 0 and current.stdout.strip() == self.url:
            return
        for key, value in (
            (f"remote.{REMOTE}.url", self.url),
            (f"remote.{REMOTE}.fetch", "+refs/heads/*:refs/heads/*"),
        ):
            done = self._git("config", key, value)
            if done.returncode != 0:
                raise self._unreachable(done.stderr)

    def fetch(self) -> bool:
        """Bring every local branch to the upstream's (branches deleted there go); False when the upstream
        could not be reached (logged: reads carry on from the last state)."""
        with self._fetching:
            started = time.monotonic()
            try:
                done = self._git("fetch", "--prune", "--no-tags", "--quiet", REMOTE)
                failed = done.stderr if done.returncode != 0 else ""
            except ServiceUnavailable as exc:  # it took too long
                failed = str(exc.details)
            if failed:
                self.last_error = failed.strip().replace(self.url, redact(self.url))[-300:]
                log.warning("upstream: fetch from %s failed: %s", redact(self.url), self.last_error)
                return False
            self.fetched_at, self.last_error = time.monotonic(), ""
            log.debug("upstream: fetched in %.3f s", self.fetched_at - started)
            return True

    def push(self, ref: str, new: str | None, old: str | None) -> None:
        """Move ref on the upstream from old to new (None: absent), only if it is still at old.

        Conflict when it moved there (the mirror is fetched first, so a retry sees the new head);
        ServiceUnavailable when the upstream cannot be reached."""
        lease = f"--force-with-lease={ref}:{old if old and old != ZERO else ''}"
        spec = f"{new}:{ref}" if new else f":{ref}"
        done = self._git("push", "--porcelain", "--quiet", lease, REMOTE, spec)
        if done.returncode == 0:
            return
        rejected = [line for line in done.stdout.splitlines() if line.startswith("!")]
        if rejected:
            self.fetch()
            why = rejected[0].split("\t")[-1]
            raise Conflict(
                f"{ref.removeprefix('refs/heads/')} moved on the upstream repository; "
                "this replica has fetched it, try again",
                {"ref": ref, "upstream": why},
            )
        raise self._unreachable(done.stderr or done.stdout)


def clone(url: str, dest: Path, credentials: Credentials | None = None, branch: str = "main") -> Upstream:
    """A new local mirror of url at dest (a bare repository holding the upstream's branches)."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise Conflict(f"{dest} already exists and is not empty")
    upstream = Upstream(dest, url, credentials)  # refuses a URL with a password before anything is made
    made = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        init = subprocess.run(
            ["git", "init", "--bare", "--quiet", f"--initial-branch={branch}", str(dest)],
            capture_output=True,
            text=True,
            check=False,
        )
        if init.returncode != 0:
            raise InvalidInput(f"cannot create a repository at {dest}", {"git": init.stderr.strip()})
        upstream.configure()
        if not upstream.fetch():
            raise upstream._unreachable(upstream.last_error)
    except BaseException:
        for child in [dest] if made else list(dest.iterdir()):
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    return upstream
