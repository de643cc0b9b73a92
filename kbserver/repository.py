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

from kbserver.errors import Conflict, InvalidInput, NotFound, RepositoryError


class MergeConflict(Conflict):
    """Two lines of history change the same text; details list the files."""

    code = "merge_conflict"


def check_path(path: str) -> None:
    """Refuse a path git would not store as it is written: an empty, `.`, `..` or `.git` segment (so also a
    doubled or trailing `/`), or a control character. InvalidInput names it."""
    parts = path.split("/")
    if any(p in ("", ".", "..") or p.lower() == ".git" for p in parts) or any(ord(c) < 32 for c in path):
        raise InvalidInput(f"{path!r} is not a file path git can store", {"path": path})


# No overrides/: the site's theme customisation is the service's own, never content.
SEED_PATHS = ("docs", "mkdocs.yml", "approvals.yml", "synonyms.txt")


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


def _seed_files(source: Path) -> list[Path]:
    """The files of SEED_PATHS below source; a symbolic link that leaves source is refused, never followed."""
    root = source.resolve()
    found = []
    for name in SEED_PATHS:
        top = source / name
        if not top.exists() and not top.is_symlink():
            continue
        entries = [top] if not top.is_dir() or top.is_symlink() else sorted(top.rglob("*"))
        for entry in entries:
            if entry.is_symlink() and not entry.resolve().is_relative_to(root):
                raise InvalidInput(
                    f"{entry} is a symbolic link out of {source}: the content is never read through it",
                    {"path": entry.relative_to(source).as_posix()},
                )
            if entry.is_file():
                found.append(entry)
    return found


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
        files: dict[str, bytes | None] = {}
        for file in _seed_files(source):  # before anything is created: a refused link leaves nothing behind
            rel = file.relative_to(source).as_posix()
            if "__pycache__" not in rel:
                files[rel] = file.read_bytes()
        git.Repo.init(path, bare=True, initial_branch=branch).close()
        repo = cls(path)
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

    def move_branch(self, name: str, commit: str, expected: str) -> None:
        """Point an existing branch at commit, if it still points at expected."""
        with self._repo() as repo:
            try:
                repo.git.update_ref(f"refs/heads/{name}", commit, expected)
            except git.GitCommandError as exc:
                raise Conflict(f"branch {name} moved", {"head": self.head(name)}) from exc

    def delete_branch(self, name: str, expected: str) -> None:
        """Delete a branch, if it still points at expected."""
        with self._repo() as repo:
            try:
                repo.git.update_ref("-d", f"refs/heads/{name}", expected)
            except git.GitCommandError as exc:
                raise Conflict(f"branch {name} moved", {"head": self.head(name)}) from exc

    def branches(self, prefix: str) -> dict[str, str]:
        """Branches whose name starts with prefix, with the commit each points at."""
        with self._repo() as repo:
            out = repo.git.for_each_ref("--format=%(refname:lstrip=2) %(objectname)", f"refs/heads/{prefix}")
        return dict(line.split(" ", 1) for line in str(out).splitlines() if " " in line)

    def author_emails(self, base: str, head: str) -> set[str]:
        """The author e-mail of every commit in head that base does not have (git's base..head)."""
        with self._repo() as repo:
            out = repo.git.log("--format=%ae", f"{base}..{head}")
        return {line for line in str(out).splitlines() if line}

    def trailer_history(
        self, revision: str, limit: int | None = None
    ) -> list[tuple[str, list[str], list[tuple[str, str]]]]:
        """(sha, parents, final trailer block) of the first-parent history of revision, newest first.

        Git parses the trailers (`git interpret-trailers` rules): only the message's last paragraph counts,
        and only when it is made of trailers.
        """
        with self._repo() as repo:
            count = [f"--max-count={limit}"] if limit else []
            out = repo.git.log(
                "--first-parent", *count, "--format=%H%x00%P%x00%(trailers:only,unfold)%x1e", revision
            )
        history = []
        for record in str(out).split("\x1e"):
            if record.strip():
                sha, parents, block = record.strip("\n").split("\x00", 2)
                trailers = [
                    (key.strip(), value.strip())
                    for key, sep, value in (line.partition(":") for line in block.splitlines())
                    if sep
                ]
                history.append((sha, parents.split(), trailers))
        return history

    def merged_file(self, ours: str, theirs: str, path: str) -> bytes | None:
        """A file as the clean merge of two commits would hold it (None if absent); MergeConflict if none."""
        with self._repo() as repo:
            tree = self._merge_tree(repo, ours, theirs)
            try:
                return bytes(repo.git.cat_file("blob", f"{tree}:{path}", stdout_as_string=False))
            except git.GitCommandError:
                return None

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
            tree = self._merge_tree(repo, expected_head, other, branch)
            who = author.environment()
            sha = repo.git.commit_tree(tree, "-p", expected_head, "-p", other, "-m", message, env=who)
            try:
                repo.git.update_ref(f"refs/heads/{branch}", sha, expected_head)
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
