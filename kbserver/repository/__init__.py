"""The content repository: the one package that talks to git (history.py reads its past, identity.py holds
the authors and path rules; this module reads files and branches and writes commits).

The service owns a bare repository. It never writes into a working tree that a person edits: commits
are built from blobs with a private index file, and refs move by compare-and-swap.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import git
from gitdb.base import IStream

from kbserver.errors import Conflict, InvalidInput, NotFound
from kbserver.repository.history import History
from kbserver.repository.identity import (
    SEED_PATHS,
    SERVICE_AUTHOR,
    Author,
    CommitInfo,
    MergeConflict,
    check_path,
    seed_files,
)
from kbserver.repository.upstream import ZERO, Credentials, Upstream, clone

__all__ = [
    "SEED_PATHS",
    "SERVICE_AUTHOR",
    "Author",
    "CommitInfo",
    "ContentRepository",
    "History",
    "MergeConflict",
    "check_path",
]


class ContentRepository(History):
    """A bare git repository of content: its files, branches and the commits the service writes.

    With an upstream, every ref write is pushed there first (compare-and-swap) and only then made locally."""

    upstream: Upstream | None = None
    on_write: Callable[[str], None] | None = None  # told the name of every ref written

    def use_upstream(self, upstream: Upstream) -> None:
        """Make this repository a mirror of upstream: writes go there first, fetch() reads it."""
        upstream.configure()
        self.upstream = upstream

    def fetch(self) -> bool:
        """Bring the branches to the upstream's; True when there is no upstream or the fetch worked."""
        return self.upstream.fetch() if self.upstream is not None else True

    def current(self, branch: str, expected: str | None) -> None:
        """Fetch when branch is not at expected here (another replica moved it); a no-op without upstream."""
        if self.upstream is not None and expected and self.head(branch) != expected:
            self.upstream.fetch()

    def _set_ref(self, repo: git.Repo, ref: str, new: str | None, old: str | None) -> None:
        """Move ref from old to new (None: absent), if it is still at old: on the upstream first, if any."""
        self._write_ref(repo, ref, new, old)
        if self.on_write is not None:
            self.on_write(ref)

    def _write_ref(self, repo: git.Repo, ref: str, new: str | None, old: str | None) -> None:
        if self.upstream is not None:
            self.upstream.push(ref, new, old)
            # The upstream holds the write: the mirror follows it, whatever a concurrent fetch left here. A
            # fetch holding the ref's lock makes this fail for a moment; the write is done either way.
            for _attempt in range(5):
                try:
                    repo.git.update_ref(*(("-d", ref) if new is None else (ref, new)))
                    return
                except git.GitCommandError:
                    time.sleep(0.05)
            self.upstream.fetch()
            return
        if new is None:
            repo.git.update_ref("-d", ref, old or ZERO)
        else:
            repo.git.update_ref(ref, new, old or ZERO)

    @classmethod
    def create(cls, path: Path, source: Path, branch: str = "main") -> ContentRepository:
        """Create a bare repository at path, seeded with the content of source on branch."""
        path = Path(path)
        if path.exists() and any(path.iterdir()):
            raise Conflict(f"{path} already exists and is not empty")
        if not (source / "docs").is_dir():
            raise NotFound(f"{source} has no docs/ folder to seed the content from")
        files: dict[str, bytes | None] = {}
        for file in seed_files(source):  # before anything is created: a refused link leaves nothing behind
            rel = file.relative_to(source).as_posix()
            if "__pycache__" not in rel:
                files[rel] = file.read_bytes()
        git.Repo.init(path, bare=True, initial_branch=branch).close()
        repo = cls(path)
        repo.commit_files(branch, files, "Seed the knowledge base", SERVICE_AUTHOR, expected_head=None)
        return repo

    @classmethod
    def clone(
        cls, url: str, path: Path, credentials: Credentials, source: Path, branch: str = "main"
    ) -> ContentRepository:
        """A mirror of the upstream at url in path; an upstream without branch is seeded from source."""
        upstream = clone(url, path, credentials, branch)
        repo = cls(path)
        repo.use_upstream(upstream)
        if repo.head(branch) is None:
            files = {
                file.relative_to(source).as_posix(): file.read_bytes()
                for file in seed_files(source)
                if "__pycache__" not in file.parts
            }
            repo.commit_files(branch, files, "Seed the knowledge base", SERVICE_AUTHOR, expected_head=None)
        return repo

    def symlinks(self, commit: str, prefix: str = "docs/") -> list[str]:
        """Paths below prefix that are symbolic links at a commit (git mode 120000)."""
        with self._repo() as repo:
            out = str(
                repo.git.ls_tree("-r", commit, "--", prefix) if prefix else repo.git.ls_tree("-r", commit)
            )
        return [line.split("\t", 1)[1] for line in out.splitlines() if line.startswith("120000 ")]

    def resolve(self, ref: str) -> str:
        """The commit sha a branch name or revision points at."""
        with self._repo() as repo:
            try:
                return str(repo.rev_parse(ref).hexsha)
            except (git.BadName, ValueError) as exc:
                raise NotFound(f"no such revision: {ref}") from exc

    def head(self, branch: str) -> str | None:
        """The commit a branch points at, or None when the branch does not exist.

        Read from the ref files as git wrote them (loose or packed), without a git process: every request
        that needs main's commit asks this."""
        with self._repo() as repo:
            try:
                return git.SymbolicReference.dereference_recursive(repo, f"refs/heads/{branch}")
            except ValueError:
                return None  # no such branch, or a name git would refuse

    def files(self, commit: str, prefix: str = "docs/") -> Iterator[tuple[str, bytes]]:
        """Every file below prefix at a commit, as (path, content)."""
        with self._repo() as repo:
            tree = repo.commit(commit).tree
            top = prefix.rstrip("/")
            try:
                tree = tree / top if top else tree
            except KeyError:
                return
            if not isinstance(tree, git.Tree):
                return  # the prefix is a file or a symlink, not a folder: nothing is below it (lint says so)
            for item in tree.traverse():
                if isinstance(item, git.Blob):
                    yield str(item.path), bytes(item.data_stream.read())

    def paths(self, commit: str, prefix: str = "docs/") -> list[str]:
        """Every file path below prefix at a commit, without reading the files."""
        with self._repo() as repo:
            return str(repo.git.ls_tree("-r", "--name-only", commit, "--", prefix)).splitlines()

    def grep_first(self, commit: str, pattern: str, prefix: str = "docs/") -> dict[str, str]:
        """For each file below prefix at commit, its first line matching the regex pattern (git grep)."""
        with self._repo() as repo:
            try:
                out = repo.git.grep("-m", "1", "-E", "-e", pattern, commit, "--", prefix)
            except git.GitCommandError:
                return {}  # no file matches
        found = {}
        for line in str(out).splitlines():
            _commit, path, text = line.split(":", 2)
            found[path] = text
        return found

    def read(self, commit: str, path: str) -> bytes | None:
        """One file at a commit, or None when it does not exist there."""
        with self._repo() as repo:
            try:
                blob = repo.commit(commit).tree / path
            except KeyError:
                return None
            return bytes(blob.data_stream.read()) if isinstance(blob, git.Blob) else None

    def export(self, commit: str, dest: Path) -> None:
        """Write the whole tree of a commit into dest (for the site build)."""
        with self._repo() as repo:
            buffer = io.BytesIO()
            repo.archive(buffer, commit, format="tar")
        buffer.seek(0)
        with tarfile.open(fileobj=buffer) as archive:
            archive.extractall(dest, filter="data")

    def create_branch(self, name: str, commit: str) -> None:
        """Create a branch at commit; it must not exist yet."""
        with self._repo() as repo:
            try:
                self._set_ref(repo, f"refs/heads/{name}", commit, None)
            except git.GitCommandError as exc:
                if self.head(name) is None:
                    raise  # not a clash of names: git could not write (a full disk); the caller tells which
                raise Conflict(f"branch {name} already exists") from exc

    def move_branch(self, name: str, commit: str, expected: str) -> None:
        """Point an existing branch at commit, if it still points at expected."""
        with self._repo() as repo:
            try:
                self._set_ref(repo, f"refs/heads/{name}", commit, expected)
            except git.GitCommandError as exc:
                raise Conflict(f"branch {name} moved", {"head": self.head(name)}) from exc

    def delete_branch(self, name: str, expected: str) -> None:
        """Delete a branch, if it still points at expected."""
        with self._repo() as repo:
            try:
                self._set_ref(repo, f"refs/heads/{name}", None, expected)
            except git.GitCommandError as exc:
                raise Conflict(f"branch {name} moved", {"head": self.head(name)}) from exc

    def branches(self, prefix: str) -> dict[str, str]:
        """Branches whose name starts with prefix, with the commit each points at."""
        with self._repo() as repo:
            out = repo.git.for_each_ref("--format=%(refname:lstrip=2) %(objectname)", f"refs/heads/{prefix}")
        return dict(line.split(" ", 1) for line in str(out).splitlines() if " " in line)

    def merged_file(self, ours: str, theirs: str, path: str) -> bytes | None:
        """A file as the clean merge of two commits would hold it (None if absent); MergeConflict if none."""
        with self._repo() as repo:
            tree = self._merge_tree(repo, ours, theirs)
            try:
                return bytes(repo.git.cat_file("blob", f"{tree}:{path}", stdout_as_string=False))
            except git.GitCommandError:
                return None

    def merge(self, branch: str, expected_head: str, other: str, message: str, author: Author) -> str:
        """Merge other into branch as a merge commit, if branch is still at expected_head and merges cleanly.

        Raises MergeConflict (with the conflicting files) without touching any ref when it does not.
        """
        with self._repo() as repo:
            tree = self._merge_tree(repo, expected_head, other, branch)
            who = author.environment()
            sha = repo.git.commit_tree(tree, "-p", expected_head, "-p", other, "-m", message, env=who)
            try:
                self._set_ref(repo, f"refs/heads/{branch}", str(sha), expected_head)
            except git.GitCommandError as exc:
                raise Conflict(
                    f"branch {branch} moved during the merge", {"head": self.head(branch)}
                ) from exc
            return str(sha)

    @staticmethod
    def _check_written(repo: git.Repo, old: str, tree: str, changes: Mapping[str, bytes | None]) -> None:
        # The index takes a file where a folder was (or the reverse) by dropping what was there; a deletion of
        # a missing file, or writes of the same text, change nothing. Either way git would not commit what
        # was asked, so nothing is committed.
        listed = str(repo.git.diff_tree("-r", "-z", "--no-renames", "--name-only", old, tree))
        changed = {path for path in listed.split("\x00") if path}  # -z: paths as they are, never quoted
        dropped = sorted(changed - set(changes))
        if dropped:
            raise InvalidInput(
                "a file cannot take the place of a folder, nor a folder of a file", {"paths": dropped[:20]}
            )
        missing = sorted(p for p, content in changes.items() if content is None and p not in changed)
        if missing:
            raise InvalidInput(f"there is no file {missing[0]} to delete", {"paths": missing})
        if not changed:
            raise InvalidInput("nothing to commit: the files already have this text")

    @staticmethod
    def _merge_tree(repo: git.Repo, ours: str, theirs: str, branch: str = "") -> str:
        try:
            out = repo.git.merge_tree("--write-tree", "--name-only", "--no-messages", ours, theirs)
        except git.GitCommandError as exc:
            lines = str(exc.stdout).strip().strip("'").split("\n")
            files = [ln.strip() for ln in lines[1:] if ln.strip()]
            into = branch or ours[:12]
            raise MergeConflict(
                f"{theirs[:12]} does not merge cleanly into {into}", {"files": files}
            ) from exc
        return str(out).splitlines()[0]

    def commit_files(
        self,
        branch: str,
        changes: Mapping[str, bytes | None],
        message: str,
        author: Author,
        expected_head: str | None,
    ) -> str:
        """Commit file writes (bytes) and deletions (None) on branch, if its head is still expected_head."""
        with self._repo() as repo, tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
            if expected_head:
                repo.git.read_tree(expected_head, env=env)
            lines = []
            for path in changes:
                check_path(path)
            folders = {"/".join(p.split("/")[:n]) for p in changes for n in range(1, p.count("/") + 1)}
            clash = sorted(folders & set(changes))
            if clash:  # git would keep the file and silently drop what is asked below it
                raise InvalidInput(f"{clash[0]} cannot be both a file and a folder", {"paths": clash})
            for path, content in changes.items():
                if content is None:
                    lines.append(f"0 {'0' * 40}\t{path}")
                else:
                    stream = repo.odb.store(IStream("blob", len(content), io.BytesIO(content)))
                    lines.append(f"100644 {stream.hexsha.decode()}\t{path}")
            if lines:
                listing = Path(tmp) / "index-info"
                listing.write_text("\n".join(lines) + "\n")
                with listing.open("rb") as stdin:
                    repo.git.update_index("--index-info", istream=stdin, env=env)
            tree = repo.git.write_tree(env=env)
            if expected_head:
                self._check_written(repo, expected_head, tree, changes)
            parents = ["-p", expected_head] if expected_head else []
            who = author.environment()
            sha = repo.git.commit_tree(tree, *parents, "-m", message, env=who)
            try:
                self._set_ref(repo, f"refs/heads/{branch}", str(sha), expected_head)
            except git.GitCommandError as exc:
                current = self.head(branch)
                raise Conflict(
                    f"branch {branch} moved: expected {expected_head}, found {current}",
                    {"head": current},
                ) from exc
            return str(sha)
