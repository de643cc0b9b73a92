"""`kb backup` and `kb restore`: one archive of what cannot be rebuilt (the content repository, the state
store and the initial admin password), with a manifest of versions and sha256 checksums. The search index and
the site are derived from git and rebuild themselves, so they are left out."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import shutil
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kbserver import __version__
from kbserver.commands.actions import Result, Verbs, settings_verb
from kbserver.commands.users import INITIAL_PASSWORD_FILE
from kbserver.errors import Conflict, InvalidInput, KBError, RepositoryError
from kbserver.repository import ContentRepository
from kbserver.repository.bundle import head, restore_bundle, write_bundle
from kbserver.repository.gitversion import git_version
from kbserver.settings import Settings
from kbserver.store import backup as store_backup

FORMAT = 1
MANIFEST = "manifest.json"
BUNDLE = "content.bundle"
MEMBERS = {MANIFEST, BUNDLE, INITIAL_PASSWORD_FILE, *store_backup.FILES.values()}


def add_parser(sub: Verbs[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Register `kb backup DEST` and `kb restore ARCHIVE`."""
    p = settings_verb(
        sub,
        "backup",
        _backup,
        parents=[common],
        help="write one archive of the content repository and the state store",
    )
    p.add_argument(
        "dest", type=Path, help="the archive to write, or a folder to write kb-backup-<time>.tar.gz in"
    )
    p = settings_verb(
        sub, "restore", _restore, parents=[common], help="recreate the repository and store from a backup"
    )
    p.add_argument("archive", type=Path, help="an archive that `kb backup` wrote")


def _backup(settings: Settings, args: argparse.Namespace) -> Result:
    archive, manifest = backup(settings, args.dest)
    return 0, f"Backup written to {archive}\n{summary(manifest)}"


def _restore(settings: Settings, args: argparse.Namespace) -> Result:
    manifest = restore(settings, args.archive)
    return 0, (
        f"Restored {settings.repo} and the state store from {args.archive}\n{summary(manifest)}\n"
        "  The search index and the site are rebuilt from git when `kb serve` starts."
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _archive_path(dest: Path) -> Path:
    if dest.is_dir():
        return dest / f"kb-backup-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar.gz"
    if dest.exists():
        raise Conflict(f"{dest} already exists: a backup never overwrites a file")
    if not dest.parent.is_dir():
        raise InvalidInput(f"{dest.parent} is not a folder")
    return dest


def backup(settings: Settings, dest: Path) -> tuple[Path, dict[str, Any]]:
    """Write the archive (dest, or a new file in the folder dest); returns its path and manifest."""
    archive = _archive_path(dest)
    if ContentRepository(settings.repo).head(settings.branch) is None:
        raise RepositoryError(f"{settings.repo} has no branch {settings.branch}: nothing to back up")
    with tempfile.TemporaryDirectory(prefix=".kb-backup-", dir=archive.parent) as work:
        folder = Path(work)
        # The store first, then git: a change request the store knows then has its branch and commits in the
        # bundle; git is the truth at start-up (workflow.reconcile) for anything newer in the bundle.
        store = store_backup.dump(settings.resolved_database_url, folder)
        refs = write_bundle(settings.repo, folder / BUNDLE)
        names = [BUNDLE, store.file]
        password = settings.data_dir / INITIAL_PASSWORD_FILE
        if password.is_file():  # until the admin changes the first password and deletes the file
            shutil.copy(password, folder / INITIAL_PASSWORD_FILE)
            names.append(INITIAL_PASSWORD_FILE)
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": {"kb": __version__, "git": git_version(), "python": platform.python_version()},
            "branch": settings.branch,
            "head": head(settings.repo),
            "refs": refs,
            "store": store.as_json(),
            "files": {
                n: {"sha256": _sha256(folder / n), "bytes": (folder / n).stat().st_size} for n in names
            },
            "derived": "the search index and the site are rebuilt from git at the first start",
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        partial = folder / "archive.partial"
        with tarfile.open(partial, "w:gz") as tar:
            for name in [MANIFEST, *names]:
                tar.add(folder / name, arcname=name)
        partial.chmod(0o600)  # password hashes, API token hashes, perhaps the first admin password
        os.replace(partial, archive)  # whole or not at all
    return archive, manifest


def _extract(archive: Path, folder: Path) -> dict[str, Any]:
    """The archive's files into folder, each checked against the manifest; returns the manifest."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar.getmembers():
                if member.name not in MEMBERS or not member.isfile():
                    raise InvalidInput(f"{archive} holds {member.name!r}, which no kb backup writes")
                source = tar.extractfile(member)
                assert source is not None  # a regular file
                with (folder / member.name).open("wb") as target:
                    shutil.copyfileobj(source, target)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InvalidInput(f"{archive} is not a readable kb backup: {exc}") from exc
    try:
        manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{archive} has no readable {MANIFEST}") from exc
    if manifest.get("format") != FORMAT:
        raise InvalidInput(
            f"{archive} is a backup of format {manifest.get('format')}; this kb reads {FORMAT}"
        )
    for name, entry in manifest["files"].items():
        path = folder / name
        if not path.is_file() or _sha256(path) != entry["sha256"]:
            raise InvalidInput(
                f"{archive}: {name} is missing or differs from its checksum; the archive is damaged"
            )
    return manifest


def _empty(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def restore(settings: Settings, archive: Path) -> dict[str, Any]:
    """Recreate the content repository, the state store and the initial password from archive, into an empty
    repository folder, data dir and store; returns the archive's manifest."""
    for place in (settings.repo, settings.data_dir):
        if not _empty(place):
            raise Conflict(f"{place} is not empty: a backup is restored into an empty place only")
    store_backup.check_empty(settings.resolved_database_url)
    created = [p for p in (settings.repo, settings.data_dir) if not p.exists()]
    try:
        with tempfile.TemporaryDirectory(prefix=".kb-restore-") as work:
            folder = Path(work)
            manifest = _extract(archive, folder)
            store = manifest["store"]
            restored = restore_bundle(settings.repo, folder / BUNDLE, manifest["head"])
            if restored != manifest["refs"]:
                raise KBError("the restored repository's refs differ from the manifest's", restored)
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            store_backup.load(settings.resolved_database_url, folder / store["file"], store["kind"])
            if INITIAL_PASSWORD_FILE in manifest["files"]:
                target = settings.data_dir / INITIAL_PASSWORD_FILE
                target.touch(mode=0o600)
                target.write_bytes((folder / INITIAL_PASSWORD_FILE).read_bytes())
    except BaseException:
        for place in (settings.repo, settings.data_dir):  # leave the places as empty as they were
            if place in created:
                shutil.rmtree(place, ignore_errors=True)
            elif place.is_dir():
                for entry in place.iterdir():
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        raise
    return manifest


def summary(manifest: dict[str, Any]) -> str:
    """What an archive holds, in a few lines for people."""
    store = manifest["store"]
    out = io.StringIO()
    out.write(f"  content: {len(manifest['refs'])} ref(s), HEAD {manifest['head']}\n")
    out.write(f"  state store: {store['kind']} (schema {store['schema_version']}, {store['server']})\n")
    out.write(f"  made by kb {manifest['versions']['kb']} with git {manifest['versions']['git']}")
    out.write(f" on {manifest['created_at']}")
    return out.getvalue()
