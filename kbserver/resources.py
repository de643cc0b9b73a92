"""The files the package ships (console pages, the site's theme, the starter content), found through
importlib.resources, so that an installed wheel finds them wherever it is installed, not in a checkout."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def packaged(name: str) -> Path:
    """The folder or file at name ("theme", "console/static", ...) inside the installed kbserver package.

    MkDocs, Jinja2 and Starlette's static files read folders from the file system, so the package must be
    installed as files (as pip installs a wheel), not imported from a zip archive.
    """
    found = files("kbserver").joinpath(*name.split("/"))
    if not isinstance(found, Path) or not found.exists():
        raise RuntimeError(
            f"kbserver/{name} is missing from the installed package: reinstall it from a wheel"
        )
    return found


def starter_content() -> Path:
    """The starter content that `kb init` seeds: docs/, mkdocs.yml, approvals.yml and synonyms.txt."""
    return packaged("starter")


def theme_overrides() -> Path:
    """The site's Material theme overrides (MkDocs' custom_dir): the service's own, never content."""
    return packaged("theme")


def console_static() -> Path:
    """The console's stylesheet and scripts, served at /app/static."""
    return packaged("console/static")


def console_templates() -> Path:
    """The console's Jinja2 templates."""
    return packaged("console/templates")
