"""Documentation that cannot drift: every setting and every CLI command is in the README."""

from __future__ import annotations

import re

from kbserver.cli import _parser
from kbserver.settings import PROJECT_ROOT, Settings

README = (PROJECT_ROOT / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [f"KB_{name.upper()}" for name in Settings.model_fields if f"`KB_{name.upper()}`" not in README]
    assert missing == []


def test_every_cli_command_is_documented() -> None:
    parser = _parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices  # type: ignore[union-attr]
    assert commands
    missing = [name for name in commands if not re.search(rf"`kb {name}\b", README)]
    assert missing == []


def test_quick_start_commands() -> None:
    assert "make serve" in README and "make test" in README
