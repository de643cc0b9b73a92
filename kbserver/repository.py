"""The content repository: the one module that talks to git.

The service owns a bare repository. It never writes into a working tree that a person edits: commits
are built from blobs with a private index file, and refs move by compare-and-swap.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import git
from gitdb.base import IStream

from kbserver.errors import Conflict, NotFound, RepositoryError


class MergeConflict(Conflict):
    """Two lines of history change the same text; details list the files."""

    code = "merge_conflict"


SEED_PATHS = ("docs", "mkdocs.yml", "overrides", "approvals.yml", "synonyms.txt")


@dataclass(frozen=True)
class Author:
    name: str
    email: str

    def environment(self) -> dict[str, str]:
        """Git's author and committer variables for this person."""
        return {
            "GIT_AUTHOR_NAME": self.name,
            "GIT_AUTHOR_EMAIL": self.email,
            "GIT_COMMITTER_NAME": self.name,
            "GIT_COMMITTER_EMAIL": self.email,
        }


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: str
    email: str
    date: str
    message: str


SERVICE_AUTHOR = Author("KB service", "kb@localhost")


class ContentRepository:
    """A bare git repository of content, addressed by path."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _repo(self) -> Iterator[git.Repo]:
        try:
            repo = git.Repo(self.path)
        except (git.NoSuchPathError, git.InvalidGitRepositoryError) as exc:
            raise RepositoryError(
                f"{self.path} is not a content repository (run `kb init {self.path}`)"
            ) from exc
        try:
            yield repo
        finally:
            repo.close()

    @classmethod
    def create(cls, path: Path, source: Path, branch: str = "main") -> ContentRepository:
        """Create a bare repository at path, seeded with the content of source on branch."""
        path = Path(path)
        if path.exists() and any(path.iterdir()):
            raise Conflict(f"{path} already exists and is not empty")
        if not (source / "docs").is_dir():
            raise NotFound(f"{source} has no docs/ folder to seed the content from")
        git.Repo.init(path, bare=True, initial_branch=branch).close()
        repo = cls(path)
        files: dict[str, bytes | None] = {}
        for name in SEED_PATHS:
            top = source / name
            candidates = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
            for file in candidates:
                rel = file.relative_to(source).as_posix()
                if "__pycache__" not in rel:
                    files[rel] = file.read_bytes()
        repo.commit_files(branch, files, "Seed the knowledge base", SERVICE_AUTHOR, expected_head=None)
        return repo

    def resolve(self, ref: str) -> str:
        """The commit sha a branch name or revision points at."""
        with self._repo() as repo:
            try:
                return str(repo.rev_parse(ref).hexsha)
            except (git.BadName, ValueError) as exc:
                raise NotFound(f"no such revision: {ref}") from exc

    def head(self, branch: str) -> str | None:
        """The commit a branch points at, or None when the branch does not exist."""
        with self._repo() as repo:
            ref = f"refs/heads/{branch}"
            try:
                return str(repo.git.rev_parse("--verify", "--quiet", ref))
            except git.GitCommandError:
                return None

    def files(self, commit: str, prefix: str = "docs/") -> Iterator[tuple[str, bytes]]:
        """Every file below prefix at a commit, as (path, content)."""
        with self._repo() as repo:
            tree = repo.commit(commit).tree
            top = prefix.rstrip("/")
            try:
                tree = tree / top if top else tree
            except KeyError:
                return
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

    def changed_since(self, path: str, commit: str, ref: str) -> bool:
        """Whether path differs between commit and ref."""
        with self._repo() as repo:
            try:
                return bool(repo.git.diff("--name-only", commit, ref, "--", path).strip())
            except git.GitCommandError as exc:
                raise NotFound(f"cannot compare {path} with {commit}: unknown commit") from exc

    def deleted_files(self, ref: str, prefix: str = "docs/") -> Iterator[tuple[str, bytes]]:
        """Files below prefix that the history of ref deleted, with their last content."""
        with self._repo() as repo:
            out = repo.git.log("--diff-filter=D", "--format=@%H", "--name-only", ref, "--", prefix)
            commit = ""
            for line in out.splitlines():
                if line.startswith("@"):
                    commit = line[1:]
                elif line.strip():
                    try:
                        blob = repo.commit(commit).parents[0].tree / line.strip()
                    except (KeyError, IndexError):
                        continue
                    yield line.strip(), blob.data_stream.read()

    def diff_paths(self, old: str, new: str, prefix: str = "docs/") -> list[tuple[str, str]]:
        """(status, path) of files below prefix that differ between two commits; a rename is D + A."""
        with self._repo() as repo:
            try:
                out = repo.git.diff("--name-status", "--no-renames", old, new, "--", prefix)
            except git.GitCommandError as exc:
                raise NotFound(f"cannot diff {old}..{new}") from exc
        return [(line[0], line.split("\t", 1)[1]) for line in out.splitlines() if "\t" in line]

    def last_changes(
        self, ref: str, prefix: str = "docs/", since: str | None = None
    ) -> dict[str, tuple[str, str]]:
        """For each file below prefix changed up to ref (after since): the sha and date of its last commit."""
        revision = f"{since}..{ref}" if since else ref
        with self._repo() as repo:
            out = repo.git.log("--format=@%H %aI", "--name-only", "--no-renames", revision, "--", prefix)
        found: dict[str, tuple[str, str]] = {}
        current = ("", "")
        for line in out.splitlines():
            if line.startswith("@"):
                sha, _, date = line[1:].partition(" ")
                current = (sha, date)
            elif line.strip():
                found.setdefault(line.strip(), current)
        return found

    def log(self, ref: str, path: str | None = None, limit: int = 50) -> list[CommitInfo]:
        """Commits of ref, newest first, optionally only those touching path."""
        with self._repo() as repo:
            paths = [path] if path else []
            return [
                CommitInfo(
                    c.hexsha,
                    str(c.author.name),
                    str(c.author.email),
                    c.authored_datetime.isoformat(),
                    str(c.message).strip(),
                )
                for c in repo.iter_commits(ref, paths=paths, max_count=limit)
            ]

    def create_branch(self, name: str, commit: str) -> None:
        """Create a branch at commit; it must not exist yet."""
        with self._repo() as repo:
            try:
                repo.git.update_ref(f"refs/heads/{name}", commit, "0" * 40)
            except git.GitCommandError as exc:
                if self.head(name) is None:
                    raise  # not a clash of names: git could not write (a full disk); the caller tells which
                raise Conflict(f"branch {name} already exists") from exc

    def changed_files(self, base: str, head: str) -> list[str]:
        """Files the branch at head changed since it left base (three-dot diff)."""
        with self._repo() as repo:
            out = repo.git.diff("--name-only", "--no-renames", f"{base}...{head}")
        return [line for line in out.splitlines() if line]

    def unified_diff(self, base: str, head: str, path: str) -> str:
        """The unified diff of one file on a branch since it left base."""
        with self._repo() as repo:
            return str(repo.git.diff("--no-renames", f"{base}...{head}", "--", path))

    def merge_base(self, a: str, b: str) -> str:
        """The best common ancestor of two commits."""
        with self._repo() as repo:
            return str(repo.git.merge_base(a, b))

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ancestor is in the history of descendant."""
        with self._repo() as repo:
            try:
                repo.git.merge_base("--is-ancestor", ancestor, descendant)
                return True
            except git.GitCommandError:
                return False

    def merge(self, branch: str, expected_head: str, other: str, message: str, author: Author) -> str:
        """Merge other into branch as a merge commit, if branch is still at expected_head and merges cleanly.

        Raises MergeConflict (with the conflicting files) without touching any ref when it does not.
        """
        with self._repo() as repo:
            try:
                tree = repo.git.merge_tree(
                    "--write-tree", "--name-only", "--no-messages", expected_head, other
                )
            except git.GitCommandError as exc:
                lines = str(exc.stdout).strip().strip("'").split("\n")
                files = [ln.strip() for ln in lines[1:] if ln.strip()]
                raise MergeConflict(
                    f"{other[:12]} does not merge cleanly into {branch}", {"files": files}
                ) from exc
            who = author.environment()
            sha = repo.git.commit_tree(
                tree.splitlines()[0], "-p", expected_head, "-p", other, "-m", message, env=who
            )
            try:
                repo.git.update_ref(f"refs/heads/{branch}", sha, expected_head)
            except git.GitCommandError as exc:
                raise Conflict(
                    f"branch {branch} moved during the merge", {"head": self.head(branch)}
                ) from exc
            return str(sha)

    def first_parent_history(self, revision: str) -> list[tuple[str, list[str], str]]:
        """(sha, parents, message) of the first-parent history of a ref or range, newest first."""
        with self._repo() as repo:
            out = repo.git.log("--first-parent", "--format=%H%x00%P%x00%B%x1e", revision)
        history = []
        for record in out.split("\x1e"):
            if record.strip():
                sha, parents, body = record.strip("\n").split("\x00", 2)
                history.append((sha, parents.split(), body))
        return history

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
            parents = ["-p", expected_head] if expected_head else []
            who = author.environment()
            sha = repo.git.commit_tree(tree, *parents, "-m", message, env=who)
            old = expected_head or "0" * 40
            try:
                repo.git.update_ref(f"refs/heads/{branch}", sha, old)
            except git.GitCommandError as exc:
                current = self.head(branch)
                raise Conflict(
                    f"branch {branch} moved: expected {expected_head}, found {current}",
                    {"head": current},
                ) from exc
            return str(sha)
