"""Backups of the content repository as one `git bundle` of every ref, and the repository made again from one.

Part of the one package that talks to git (kbserver/repository/).
"""

from __future__ import annotations

from pathlib import Path

import git

from kbserver.errors import Conflict, InvalidInput


def refs(path: Path) -> dict[str, str]:
    """Every ref of the repository at path (branches, tags, notes, anything under refs/), with its commit."""
    out = str(git.Git(path).for_each_ref("--format=%(objectname) %(refname)"))
    return _refs(out)


def _refs(listing: str) -> dict[str, str]:
    """`<sha> <ref>` lines (for-each-ref, bundle list-heads) as {ref: sha}, refs under refs/ only."""
    pairs = (line.split(" ", 1) for line in listing.splitlines() if line.strip())
    return {ref: sha for sha, ref in pairs if ref.startswith("refs/")}


def head(path: Path) -> str:
    """The ref HEAD names (refs/heads/main): restored as it was, so that a clone checks out that branch."""
    return str(git.Git(path).symbolic_ref("HEAD"))


def write_bundle(path: Path, dest: Path) -> dict[str, str]:
    """Write every ref of the repository at path, with all it reaches, into the bundle dest; returns the refs
    the bundle holds (a ref moved during the backup is in it as git read it)."""
    git.Git(path).bundle("create", str(dest), "--all")
    return _refs(str(git.Git(path).bundle("list-heads", str(dest))))


def restore_bundle(path: Path, bundle: Path, head_ref: str) -> dict[str, str]:
    """A bare repository at path with every ref of bundle and HEAD naming head_ref; returns its refs."""
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        raise Conflict(f"{path} is not empty: a backup is restored into an empty place only")
    try:
        git.Git().bundle("verify", str(bundle.resolve()))
    except git.GitCommandError as exc:
        raise InvalidInput(f"the content bundle cannot be read: {exc.stderr.strip()}") from exc
    repo = git.Repo.init(path, bare=True)
    try:
        # A mirror of the bundle's refs: `+refs/*:refs/*` takes branches, tags and any other ref as they are.
        repo.git.fetch("--quiet", "--no-tags", str(bundle.resolve()), "+refs/*:refs/*")
        repo.git.symbolic_ref("HEAD", head_ref)
    finally:
        repo.close()
    return refs(path)
