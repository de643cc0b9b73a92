"""`python -m kbserver.sitebuild PARENT_PID TEMPLATE_CACHE CONFIG OUTPUT [CONFIG OUTPUT ...]`: MkDocs builds
(`--strict`) in a child that dies with the service. Killing `kb serve` (even with SIGKILL) must not leave a
build running as the service's user.

The builds of one commit (the site and each alternate language) run in this one process, one after the
other: MkDocs, Material and the hooks are imported once, and the Jinja templates are compiled once into
TEMPLATE_CACHE, a folder of the service's own that `kbserver/sitehooks.py` gives each build's environment."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h
TEMPLATE_CACHE = "KB_SITE_TEMPLATE_CACHE"


def main(argv: list[str]) -> None:
    """Ask the kernel to kill this process when its parent ends, then run each build."""
    parent, cache, pairs = int(argv[0]), argv[1], argv[2:]
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        sys.exit("the service ended before its site build started")  # it died before prctl took effect
    if not pairs or len(pairs) % 2:
        sys.exit(
            "usage: python -m kbserver.sitebuild PARENT_PID TEMPLATE_CACHE CONFIG OUTPUT [CONFIG OUTPUT ...]"
        )
    os.environ[TEMPLATE_CACHE] = cache
    # No --quiet: MkDocs counts --strict warnings only when they are logged, and the service quotes them.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    logging.getLogger("mkdocs").addHandler(handler)
    logging.getLogger("mkdocs").setLevel(logging.INFO)

    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    for config, output in zip(pairs[::2], pairs[1::2], strict=True):
        try:
            build(load_config(config, site_dir=output, strict=True))
        except MkDocsException as error:
            print(f"ERROR   -  {error}", flush=True)
            sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
