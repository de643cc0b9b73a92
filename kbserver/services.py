"""The service's parts, built once from the settings and shared by the API and the CLI."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import sqlalchemy as sa

from kbserver.errors import Conflict, KBError
from kbserver.repository import ContentRepository
from kbserver.settings import Settings
from kbserver.site import Site
from kbserver.store import connect, migrate
from kbserver.users import UserStore

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What a request or a command needs: settings, state store, content repository, site."""

    settings: Settings
    engine: sa.Engine
    users: UserStore
    repository: ContentRepository
    site: Site
    _site_thread: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings, migrate_store: bool = True) -> Services:
        """Connect to the state store (migrating it) and open the content repository."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = connect(settings.resolved_database_url)
        if migrate_store:
            migrate(engine)
        return cls(
            settings=settings,
            engine=engine,
            users=UserStore(engine),
            repository=ContentRepository(settings.repo),
            site=Site(settings.site_root),
        )

    def main_commit(self) -> str | None:
        """The commit operators see: the head of the approved branch."""
        return self.repository.head(self.settings.branch)

    def refresh_site_in_background(self) -> None:
        """Rebuild the site if it lags behind main; the old site is served until the new one is ready."""
        if self._site_thread and self._site_thread.is_alive():
            return
        commit = self.main_commit()
        if commit is None or self.site.served_commit() == commit:
            return

        def build() -> None:
            try:
                self.site.build(self.repository, commit, wait=False)
            except Conflict:
                log.info("site: another process is building it")
            except KBError as exc:
                log.error("site: build of %s failed: %s %s", commit[:12], exc.message, exc.details or "")

        self._site_thread = threading.Thread(target=build, name="site-build", daemon=True)
        self._site_thread.start()

    def wait_for_site(self, timeout: float = 120) -> None:
        """Block until a background site build finishes (tests and CLI)."""
        if self._site_thread:
            self._site_thread.join(timeout)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()
