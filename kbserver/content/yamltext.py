"""The one YAML loader for text from the content repository: front matter, mkdocs.yml, approvals.yml.

Anchors and aliases are refused. An alias can point at its own parent (a structure that never ends, which
recursion or JSON encoding then chokes on), and nested aliases multiply (a "billion laughs" document of a few
hundred bytes stands for billions of values, so walking it never ends). Content has no need for either, so the
loader stops at the first anchor or alias it meets, before building anything: refusing costs one pass over the
text, whatever the document.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent, NodeEvent

REFUSED = "content YAML may not use anchors or aliases (&name, *name): write the value out"


class RefusedYaml(ComposerError):
    """An anchor or alias in content YAML."""


class ContentLoader(yaml.SafeLoader):
    """A SafeLoader that refuses anchors and aliases where it meets them, with their line."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Compose the next node, unless it is an alias or carries an anchor."""
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor is not None):
            kind = "alias *" if isinstance(event, AliasEvent) else "anchor &"
            message = f"{kind}{event.anchor} is not allowed: {REFUSED}"
            raise RefusedYaml(None, None, message, event.start_mark)  # type: ignore[arg-type]
        return super().compose_node(parent, index)


def load_yaml(text: str) -> Any:
    """The value of a YAML document from content; raises yaml.YAMLError (with its line) when refused."""
    return yaml.load(text, Loader=ContentLoader)  # a SafeLoader


def compose_yaml(text: str) -> yaml.Node | None:
    """The node tree of a YAML document from content, with lines; refuses what load_yaml refuses."""
    return yaml.compose(text, Loader=ContentLoader)


def yaml_problem(exc: yaml.YAMLError) -> tuple[int, str]:
    """The 0-based line and the message of a YAML error, to make a finding of."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    message = problem if isinstance(exc, RefusedYaml) else f"invalid YAML: {problem}"
    return (int(mark.line) if mark is not None else 0), message
