"""Build the MkDocs Material site from a commit, into a new folder, and swap it in when complete."""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from kbserver.content import parse_document
from kbserver.errors import Conflict, ContentError
from kbserver.repository import ContentRepository
from kbserver.settings import PROJECT_ROOT

log = logging.getLogger(__name__)
THEME_OVERRIDES = PROJECT_ROOT / "overrides"
KEEP_BUILDS = 2
LANGUAGE_FOLDER = re.compile(r"[a-z]{2}(-[a-z]{2})?")  # /en/, /pt-br/: nothing else becomes a folder


class _LenientLoader(yaml.SafeLoader):
    """Reads mkdocs.yml without running its tags (!!python/name:, !ENV): they become None."""


_LenientLoader.add_multi_constructor("", lambda _loader, _suffix, _node: None)


def alternate_languages(config: Path) -> list[tuple[str, str]]:
    """(folder, language) of each `extra.alternate` entry of a mkdocs.yml that links to a folder below the
    root, such as `{link: /en/, lang: en}`; the root entry is the main build."""
    extra = _read_config(config).get("extra")
    entries = extra.get("alternate") if isinstance(extra, dict) else None
    found = []
    for entry in entries if isinstance(entries, list) else []:
        link = str(entry.get("link", "")) if isinstance(entry, dict) else ""
        language = str(entry.get("lang", "")) if isinstance(entry, dict) else ""
        folder = link.strip("/")
        if folder and LANGUAGE_FOLDER.fullmatch(folder) and LANGUAGE_FOLDER.fullmatch(language):
            found.append((folder, language))
    return found


def _read_config(config: Path) -> dict[str, Any]:
    try:
        loaded = yaml.load(config.read_text(encoding="utf-8"), Loader=_LenientLoader)  # a SafeLoader
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"{config.name} cannot be read: {exc}") from exc
    return loaded if isinstance(loaded, dict) else {}


def _section_title(folder: Path) -> str:
    """A folder's title in the navigation: its index page's title (front matter, else its first # heading),
    else the folder's name."""
    index = folder / "index.md"
    if index.is_file():
        title = parse_document(str(index), index.read_bytes()).title
        if title != "index":  # the parser's fallback: the file's name
            return title
    return folder.name.replace("-", " ").replace("_", " ").capitalize()


def _section(folder: Path, prefix: str) -> list[Any]:
    # MkDocs' own order: the index page first, then pages and folders together by name.
    items: list[Any] = [prefix + "index.md"] if (folder / "index.md").is_file() else []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            inner = _section(entry, f"{prefix}{entry.name}/")
            if inner:
                items.append({_section_title(entry): inner})
        elif entry.suffix == ".md" and entry.name != "index.md":
            items.append(prefix + entry.name)
    return items


def add_section_titles(config: Path) -> None:
    """Give mkdocs.yml a `nav:` that names each folder after its index page ("VPN y red"), not after the
    folder ("Red vpn") as MkDocs would. Pages keep their own titles and the order MkDocs gives them. A
    mkdocs.yml with its own `nav:`, or with `exclude_docs:`, is left alone."""
    loaded = _read_config(config)
    if "nav" in loaded or "exclude_docs" in loaded:
        return  # a nav of its own; or excluded files, which a generated nav must not name
    docs = config.parent / str(loaded.get("docs_dir") or "docs")
    if not docs.is_dir():
        return
    nav = yaml.safe_dump({"nav": _section(docs, "")}, allow_unicode=True, sort_keys=False)
    with config.open("a", encoding="utf-8") as handle:
        handle.write("\n# Written by the site build: folders are named after their index pages.\n" + nav)


class Site:
    """The built sites below root: `builds/<name>/{site,COMMIT}` and a `current` link to one of them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.builds = self.root / "builds"
        self.current = self.root / "current"

    def served_dir(self) -> Path | None:
        """The folder of HTML being served, or None before the first build."""
        target = self.current / "site"
        return target.resolve() if target.is_dir() else None

    def served_commit(self) -> str | None:
        """The commit the served site was built from."""
        marker = self.current / "COMMIT"
        return marker.read_text().strip() if marker.is_file() else None

    @contextmanager
    def _lock(self, wait: bool) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError as exc:
                raise Conflict("another site build is running") from exc
            yield

    def build(self, repo: ContentRepository, commit: str, wait: bool = True) -> Path:
        """Build the site of commit with mkdocs --strict and serve it; the old site stays until then."""
        with self._lock(wait):
            if self.served_commit() == commit:
                return self.current.resolve()
            self.builds.mkdir(parents=True, exist_ok=True)
            self._remove_leftovers()
            started = time.monotonic()
            work = Path(tempfile.mkdtemp(prefix=".build-", dir=self.builds))
            try:
                source = work / "source"
                repo.export(commit, source)
                if not (source / "overrides").exists() and THEME_OVERRIDES.is_dir():
                    shutil.copytree(THEME_OVERRIDES, source / "overrides")
                add_section_titles(source / "mkdocs.yml")
                output = work / "site"
                self._run_mkdocs(source, output)
                shutil.rmtree(source)
                (work / "COMMIT").write_text(commit + "\n")
                final = self.builds / f"{commit[:12]}-{time.time_ns()}"
                os.rename(work, final)
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
            link = self.root / f".current-{os.getpid()}"
            link.unlink(missing_ok=True)
            link.symlink_to(final.relative_to(self.root))
            os.replace(link, self.current)  # atomic: readers see the old site or the new one
            self._prune(keep=final)
            log.info("site: built %s in %.1f s", commit[:12], time.monotonic() - started)
            return final

    def _run_mkdocs(self, source: Path, output: Path) -> None:
        self._mkdocs(source, source / "mkdocs.yml", output)
        for folder, language in alternate_languages(source / "mkdocs.yml"):
            # The same content again, with the theme's words in another language, e.g. /en/.
            config = source / f"mkdocs.{folder}.yml"
            config.write_text(f"INHERIT: mkdocs.yml\ntheme:\n  language: {language}\n")
            self._mkdocs(source, config, output / folder)

    @staticmethod
    def _mkdocs(source: Path, config: Path, output: Path) -> None:
        # No --quiet: MkDocs counts --strict warnings only when they are logged.
        command = [sys.executable, "-m", "mkdocs", "build", "--strict"]
        command += ["-f", str(config), "-d", str(output)]
        env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
        result = subprocess.run(command, capture_output=True, text=True, cwd=source, env=env, check=False)
        if result.returncode != 0:
            lines = [ln for ln in (result.stderr + result.stdout).splitlines() if ln.strip()]
            raise ContentError("the site build failed", {"output": lines[-30:]})

    def _remove_leftovers(self) -> None:
        # A build killed half-way leaves a .build-* folder; it was never served, so it can go.
        for leftover in self.builds.glob(".build-*"):
            shutil.rmtree(leftover, ignore_errors=True)

    def _prune(self, keep: Path) -> None:
        done = sorted((p for p in self.builds.iterdir() if not p.name.startswith(".")), key=os.path.getmtime)
        for old in done[:-KEEP_BUILDS]:
            if old != keep:
                shutil.rmtree(old, ignore_errors=True)
