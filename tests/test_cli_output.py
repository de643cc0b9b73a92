"""The CLI's one table printer and one action table."""

from __future__ import annotations

import argparse

from kbserver.cli import _parser
from kbserver.commands.output import table


def test_a_table_aligns_its_columns_under_a_header() -> None:
    text = table(("name", "display name"), [("lucia", "Lucía Pérez"), ("ana", None)])
    assert text.splitlines() == ["NAME   DISPLAY NAME", "lucia  Lucía Pérez", "ana"]
    assert table(("query",), [("x" * 60,)], width=40).splitlines()[1] == "x" * 40
    assert table(("name",), []) == "(no rows)"


def _leaves(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> dict[tuple[str, ...], object]:
    """Every command line a parser accepts (as its verbs), with the action its parser carries."""
    found: dict[tuple[str, ...], object] = {}
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        return {words: parser.get_default("run")}
    for name, child in subparsers[0].choices.items():
        found.update(_leaves(child, (*words, name)))
    return found


def test_every_verb_carries_the_function_that_runs_it() -> None:
    leaves = _leaves(_parser())
    assert ("user", "add") in leaves and ("change", "merge") in leaves and ("init",) in leaves
    assert [words for words, action in leaves.items() if not callable(action)] == []
