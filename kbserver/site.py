"""Build the MkDocs Material site from a commit, into a new folder, and swap it in when complete."""

from __future__ import annotations

import html
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from kbserver.content import parse_document
from kbserver.content.assets import asset_problem
from kbserver.errors import Conflict, ContentError
from kbserver.filelock import held
from kbserver.repository import ContentRepository
from kbserver.siteconfig import CONFIG_FILE, LANGUAGE, build_config, log_refusals, read_site_config

log = logging.getLogger(__name__)
KEEP_BUILDS = 2
LANGUAGE_FOLDER = LANGUAGE  # /en/, /pt-br/: nothing else becomes a folder


def _section_title(folder: Path) -> str:
    """A folder's title in the navigation, HTML-escaped: its index page's title (front matter, else its
    first # heading), else the folder's name."""
    index = folder / "index.md"
    if index.is_file():
        title = parse_document(str(index), index.read_bytes()).title
        if title != "index":  # the parser's fallback: the file's name
            return html.escape(title)
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


def section_nav(docs: Path) -> list[Any]:
    """A `nav:` that names each folder after its index page ("VPN y red"), not after the folder ("Red vpn")
    as MkDocs would. Pages keep their own titles and the order MkDocs gives them."""
    return _section(docs, "") if docs.is_dir() else []


def drop_unpublished(docs: Path) -> list[str]:
    """Remove from an exported docs/ every file the site does not publish (scripts, HTML, SVG...)."""
    dropped = []
    for file in sorted(p for p in docs.rglob("*") if p.is_file()):
        rel = file.relative_to(docs.parent).as_posix()
        if asset_problem(rel):
            file.unlink()
            dropped.append(rel)
    return dropped


class Superseded(Conflict):
    """A site build stopped because a newer commit is to be published."""


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

    def build(
        self,
        repo: ContentRepository,
        commit: str,
        wait: bool = True,
        superseded: Callable[[], bool] | None = None,
    ) -> Path:
        """Build the site of commit with mkdocs --strict and serve it; the old site stays until then. A build
        that `superseded()` says is no longer wanted (main moved on) stops early with Superseded."""
        with held(self.root / ".lock", wait, busy="another site build is running"):
            if self.served_commit() == commit:
                return self.current.resolve()
            self.builds.mkdir(parents=True, exist_ok=True)
            self._remove_leftovers()
            started = time.monotonic()
            work = Path(tempfile.mkdtemp(prefix=".build-", dir=self.builds))
            try:
                source = work / "source"
                self._export(repo, commit, source)
                output = work / "site"
                self._run_mkdocs(work, source, output, superseded)
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
            seconds = time.monotonic() - started
            log.info(
                "site: built %s in %.1f s",
                commit[:12],
                seconds,
                extra={"commit": commit, "seconds": round(seconds, 3)},
            )
            return final

    @staticmethod
    def _export(repo: ContentRepository, commit: str, source: Path) -> None:
        links = repo.symlinks(commit, prefix="")
        if links:  # a link could point anywhere on the server; lint refuses them, so this is a bypass
            raise ContentError(
                f"the content of {commit[:12]} has symbolic links, which are never published: "
                + ", ".join(links),
                {"paths": links},
            )
        repo.export(commit, source)
        for path in drop_unpublished(source / "docs"):
            log.warning(
                "site: %s is not published: the site serves only pages, images, PDFs and downloads", path
            )

    def _run_mkdocs(
        self, work: Path, source: Path, output: Path, superseded: Callable[[], bool] | None
    ) -> None:
        own = source / CONFIG_FILE
        content = read_site_config(own.read_text(encoding="utf-8", errors="replace") if own.is_file() else "")
        log_refusals(content)
        nav = section_nav(source / "docs")
        builds = [("", None), *content.alternate_languages()]  # the same content again for /en/...
        pairs = []
        for folder, language in builds:
            config = work / f"mkdocs{'.' + folder if folder else ''}.yml"
            settings = build_config(content, source / "docs", nav, language)
            config.write_text(yaml.safe_dump(settings, allow_unicode=True, sort_keys=False), encoding="utf-8")
            pairs += [str(config), str(output / folder if folder else output)]
        self._mkdocs(work, pairs, superseded)

    def _mkdocs(self, work: Path, pairs: list[str], superseded: Callable[[], bool] | None) -> None:
        # Every language of the commit in one child (kbserver/sitebuild.py), which dies with this process, so
        # stopping the service never leaves a build running.
        templates = self.root / ".templates"
        templates.mkdir(exist_ok=True)
        command = [sys.executable, "-m", "kbserver.sitebuild", str(os.getpid()), str(templates), *pairs]
        env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
        with tempfile.TemporaryFile(mode="w+") as out:
            child = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, cwd=work, env=env, text=True
            )
            while True:
                try:
                    returncode = child.wait(timeout=0.25)
                    break
                except subprocess.TimeoutExpired:
                    if superseded is not None and superseded():
                        child.kill()
                        child.wait()
                        raise Superseded("a newer commit is to be published: this build stopped") from None
            out.seek(0)
            printed = out.read()
        if returncode != 0:
            lines = [ln for ln in printed.splitlines() if ln.strip()]
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
