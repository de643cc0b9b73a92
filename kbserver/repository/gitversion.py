"""The git the service runs on: its version, and a refusal to start on one too old.

Part of the one package that talks to git (kbserver/repository/).
"""

from __future__ import annotations

import re
import subprocess

from kbserver.errors import RepositoryError

# Merges are made without a working tree by `git merge-tree --write-tree`, which first shipped in git 2.38.
MINIMUM = (2, 38)
NEEDED = f"kb needs git {MINIMUM[0]}.{MINIMUM[1]} or later (for `git merge-tree --write-tree`)"


def git_version() -> str:
    """The version of the git on the PATH (`git version 2.39.5` -> `2.39.5`)."""
    try:
        out = subprocess.run(["git", "version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise RepositoryError(f"git cannot be run ({exc}): {NEEDED} on the PATH") from exc
    words = out.split()
    return words[2] if len(words) > 2 and words[:2] == ["git", "version"] else out.strip()


def require_git() -> str:
    """The version of the git on the PATH; RepositoryError, naming it, when it is older than MINIMUM."""
    found = git_version()
    numbers = re.match(r"(\d+)\.(\d+)", found)
    if numbers is None or (int(numbers[1]), int(numbers[2])) < MINIMUM:
        raise RepositoryError(f"git {found} is too old: {NEEDED}; install a newer git and start again")
    return found
