"""The content repository's history: read-only queries over commits, diffs and trailers.

Part of the one package that talks to git (kbserver/repository/). ContentRepository adds reads of files,
branches and the writes on top of it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import git

from kbserver.errors import KBError, NotFound, RepositoryError
from kbserver.repository.identity import CommitInfo

_COAUTHOR_EMAIL = re.compile(r"<([^<>\x00]*)>")  # the e-mail of "Name <e-mail>"


class History:
    """A bare git repository addressed by path, and what its history says."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._handles = threading.local()

    @contextmanager
    def _repo(self) -> Iterator[git.Repo]:
        """This thread's handle on the repository, kept open between calls.

        GitPython reads objects through one `git cat-file --batch` process per handle (GitCmdObjectDB), so a
        handle that stays open reads every blob and tree through that one process instead of starting a git
        process per read. Its pipe serves one reader at a time, hence one handle per thread. A handle that
        failed in an unexpected way is dropped, so that the next call starts a fresh reader."""
        repo: git.Repo | None = getattr(self._handles, "repo", None)
        if repo is None:
            try:
                repo = git.Repo(self.path, odbt=git.GitCmdObjectDB)
            except (git.NoSuchPathError, git.InvalidGitRepositoryError) as exc:
                raise RepositoryError(
                    f"{self.path} is not a content repository (run `kb init {self.path}`)"
                ) from exc
            self._handles.repo = repo
        try:
            yield repo
        except (KBError, git.GitCommandError):
            raise  # a refusal or a failed git command: the reader is fine
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop this thread's git reader (the others stop when the repository object is dropped)."""
        repo = getattr(self._handles, "repo", None)
        self._handles.repo = None
        if repo is not None:
            repo.close()

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

    def author_emails(self, base: str, head: str) -> set[str]:
        """The e-mails of everyone who wrote a commit in head that base does not have (git's base..head): its
        author and each `Co-authored-by:` of its trailers, so that no co-author counts as a reviewer of it."""
        with self._repo() as repo:
            out = repo.git.log(
                "--format=%ae%x00%(trailers:key=Co-authored-by,valueonly,unfold,separator=%x00)%x1e",
                f"{base}..{head}",
            )
        emails = set()
        for record in str(out).split("\x1e"):
            author, _, coauthors = record.strip("\n").partition("\x00")
            emails |= {author} | set(_COAUTHOR_EMAIL.findall(coauthors))
        return {e for e in emails if e}

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

    def count_commits(self, base: str | None, head: str) -> int:
        """How many commits head has that base has not (every commit of head when base is None)."""
        with self._repo() as repo:
            return int(repo.git.rev_list("--count", f"{base}..{head}" if base else head))

    def path_history(
        self, revision: str, prefix: str
    ) -> list[tuple[str, list[str], str, str, list[tuple[str, str]], list[str]]]:
        """(sha, parents, committer date, subject, final trailer block, changed paths) of each first-parent
        commit of revision whose change against its first parent touches prefix, newest first."""
        with self._repo() as repo:
            try:
                out = repo.git.log(
                    "--first-parent",
                    "--diff-merges=first-parent",
                    "--name-only",
                    "--no-renames",
                    "--format=%x1e%H%x00%P%x00%cI%x00%s%x00%(trailers:only,unfold)%x1f",
                    revision,
                    "--",
                    prefix,
                )
            except git.GitCommandError as exc:
                raise NotFound(f"no such revision: {revision}") from exc
        history = []
        for record in str(out).split("\x1e"):
            if not record.strip():
                continue
            header, _, names = record.partition("\x1f")
            sha, parents, date, subject, block = header.split("\x00", 4)
            trailers = [
                (key.strip(), value.strip())
                for key, sep, value in (line.partition(":") for line in block.splitlines())
                if sep
            ]
            paths = [line for line in names.splitlines() if line.strip()]
            history.append((sha, parents.split(), date, subject, trailers, paths))
        return history

    def first_parent_changes(
        self, revision: str, prefixes: tuple[str, ...]
    ) -> list[tuple[str, list[str], str, list[tuple[str, str]]]]:
        """(sha, parents, committer date, [(status, path)]) of each first-parent commit of revision whose
        change against its first parent touches one of prefixes, oldest first; a rename is D + A."""
        with self._repo() as repo:
            try:
                out = repo.git.log(
                    "--first-parent",
                    "--diff-merges=first-parent",
                    "--name-status",
                    "--no-renames",
                    "--reverse",
                    "--format=%x1e%H%x00%P%x00%cI%x1f",
                    revision,
                    "--",
                    *prefixes,
                )
            except git.GitCommandError as exc:
                raise NotFound(f"no such revision: {revision}") from exc
        history = []
        for record in str(out).split("\x1e"):
            if not record.strip():
                continue
            header, _, names = record.partition("\x1f")
            sha, parents, date = header.split("\x00", 2)
            changes = [(line[0], line.split("\t", 1)[1]) for line in names.splitlines() if "\t" in line]
            history.append((sha, parents.split(), date, changes))
        return history
