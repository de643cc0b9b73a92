"""The layers: the domain and the API never import the CLI (kbserver/cli.py and kbserver/commands/)."""

from __future__ import annotations

import ast
from pathlib import Path

from kbserver.settings import PROJECT_ROOT

CLI = ("kbserver.cli", "kbserver.commands")
DOMAIN = [
    "approval",
    "kbserver/api",
    "kbserver/console",
    "kbserver/content",
    "kbserver/feedback",
    "kbserver/manual",
    "kbserver/repository",
    "kbserver/search",
    "kbserver/servicenow",
    "kbserver/store",
]


def _module(path: Path) -> tuple[str, str]:
    """The module's dotted name and the package its relative imports start from."""
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        name = ".".join(parts[:-1])
        return name, name
    name = ".".join(parts)
    return name, name.rpartition(".")[0]


def _imported(source: str, package: str) -> list[str]:
    """Every module the source imports, at the top or inside a function, relative imports made absolute."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                levels = package.split(".")
                base = ".".join(levels[: len(levels) - node.level + 1])
                module = ".".join(filter(None, [base, node.module]))
            else:
                module = node.module or ""
            found += [module] + [
                f"{module}.{alias.name}" for alias in node.names
            ]  # `from kbserver import cli`
    return found


def _uses_cli(name: str) -> bool:
    return any(name == layer or name.startswith(layer + ".") for layer in CLI)


def test_the_domain_and_the_api_do_not_import_the_cli() -> None:
    files = [path for folder in DOMAIN for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))]
    files += [p for p in sorted((PROJECT_ROOT / "kbserver").glob("*.py")) if p.name != "cli.py"]
    assert len(files) > 50
    wrong = [
        f"{path.relative_to(PROJECT_ROOT)} imports {name}"
        for path in files
        for name in _imported(path.read_text(), _module(path)[1])
        if _uses_cli(name)
    ]
    assert wrong == []


def test_the_check_sees_every_way_of_importing() -> None:
    source = (
        "import kbserver.commands.lint\n"
        "from kbserver import cli\n"
        "from ..commands import reports\n"
        "from . import votes\n"
        "def later():\n    from kbserver.commands.lint import lint_draft\n"
    )
    found = [name for name in _imported(source, "kbserver.feedback") if _uses_cli(name)]
    assert found == [
        "kbserver.commands.lint",
        "kbserver.cli",
        "kbserver.commands",
        "kbserver.commands.reports",
        "kbserver.commands.lint",
        "kbserver.commands.lint.lint_draft",
    ]
    assert "kbserver.feedback.votes" in _imported(source, "kbserver.feedback")
