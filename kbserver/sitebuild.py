"""`python -m kbserver.sitebuild PARENT_PID build ...`: MkDocs' command line, in a child that dies with the
service. Killing `kb serve` (even with SIGKILL) must not leave a build running as the service's user."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def main(argv: list[str]) -> None:
    """Ask the kernel to kill this process when its parent ends, then run mkdocs with the other arguments."""
    parent, args = int(argv[0]), argv[1:]
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        sys.exit("the service ended before its site build started")  # it died before prctl took effect
    from mkdocs.__main__ import cli

    cli.main(args=args, prog_name="mkdocs")


if __name__ == "__main__":
    main(sys.argv[1:])
