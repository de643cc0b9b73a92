"""The content model: three kinds of document, their front matter and their structure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Kind(StrEnum):
    ARTICLE = "article"
    SCRIPT = "script"
    PROCEDURE = "procedure"


FOLDERS: dict[Kind, str] = {
    Kind.ARTICLE: "docs/kb/",
    Kind.SCRIPT: "docs/scripts/",
    Kind.PROCEDURE: "docs/procedures/",
}
ID_PATTERNS: dict[Kind, str] = {
    Kind.ARTICLE: r"^KB-\d{4,}$",
    Kind.SCRIPT: r"^SCR-\d{4,}$",
    Kind.PROCEDURE: r"^PROC-\d{2,}$",
}
ID_PREFIXES: dict[Kind, str] = {Kind.ARTICLE: "KB-", Kind.SCRIPT: "SCR-", Kind.PROCEDURE: "PROC-"}
PAGE_NAMES = {"index.md", "tags.md", "README.md"}
PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def kind_for_path(path: str) -> Kind | None:
    """The kind a file holds, from its folder; None for navigation pages and other files."""
    if not path.endswith(".md") or path.rsplit("/", 1)[-1] in PAGE_NAMES:
        return None
    for kind, folder in FOLDERS.items():
        if path.startswith(folder):
            return kind
    return None


class Variable(BaseModel):
    """A placeholder a chat script declares for the user's details."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    description: str = ""
    required: bool = True


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class CommonMeta(BaseModel):
    """Front matter every kind shares."""

    model_config = ConfigDict(extra="forbid")
    id: str
    title: str = Field(min_length=1)
    lang: Literal["es", "en"]
    owner: str = Field(min_length=1)
    tags: list[str] = []
    audience: list[Literal["L1", "L2"]] = Field(min_length=1)
    review_by: date
    status: Literal["active", "retired"] = "active"
    translation_of: str | None = None
    source_commit: str | None = Field(None, pattern=r"^[0-9a-f]{7,40}$")
    # Keys MkDocs and Material read from front matter are allowed through unchanged.
    hide: list[str] | None = None
    search: dict[str, Any] | None = None
    description: str | None = None
    # What an import kept of a third party's front matter (their id, keys of their tool): never read here.
    meta: dict[str, Any] | None = None

    _audience = field_validator("audience", "tags", mode="before")(_as_list)


class ArticleMeta(CommonMeta):
    product: str | None = None
    symptoms: list[str] = []


class ScriptMeta(CommonMeta):
    channel: Literal["chat", "phone", "email"] = "chat"
    variables: list[Variable] = []


class ProcedureMeta(CommonMeta):
    version: str
    order: int = Field(ge=0)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value


Metadata = ArticleMeta | ScriptMeta | ProcedureMeta
META_MODELS: dict[Kind, type[CommonMeta]] = {
    Kind.ARTICLE: ArticleMeta,
    Kind.SCRIPT: ScriptMeta,
    Kind.PROCEDURE: ProcedureMeta,
}


@dataclass(frozen=True)
class Finding:
    """One lint or parse problem, reported as `path:line: rule: message`."""

    path: str
    line: int
    rule: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}: {self.rule}: {prefix}{self.message}"

    def as_json(self) -> dict[str, Any]:
        """The finding as a JSON object."""
        return {
            "path": self.path,
            "line": self.line,
            "rule": self.rule,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class Section:
    level: int
    title: str
    anchor: str
    line: int
    end_line: int
    text: str


@dataclass(frozen=True)
class Link:
    href: str
    line: int

    @property
    def is_internal(self) -> bool:
        """A relative link into the content, not a URL, mail address or absolute path."""
        return not (re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", self.href) or self.href.startswith("/"))


@dataclass(frozen=True)
class Placeholder:
    name: str
    line: int


@dataclass(frozen=True)
class Step:
    """A step of a chat script: a level-2 section, and the steps it sends the operator to."""

    anchor: str
    title: str
    line: int
    targets: tuple[tuple[str, int], ...]


@dataclass
class Document:
    """A parsed Markdown file, whatever it was read from."""

    path: str
    kind: Kind | None
    meta: Metadata | None
    raw_meta: dict[str, Any]
    title: str
    body: str
    body_line: int
    sections: list[Section] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    placeholders: list[Placeholder] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    intro: str = ""
    meta_lines: dict[str, int] = field(default_factory=dict)

    @property
    def doc_id(self) -> str | None:
        """The front-matter id, even when the rest of the front matter is invalid."""
        value = self.meta.id if self.meta else self.raw_meta.get("id")
        return value if isinstance(value, str) else None

    @property
    def category(self) -> str | None:
        """The article's category: its folder below docs/kb/."""
        if self.kind is not Kind.ARTICLE:
            return None
        parts = self.path[len(FOLDERS[Kind.ARTICLE]) :].split("/")
        return parts[0] if len(parts) > 1 else None

    @property
    def url(self) -> str:
        """The page's address on the site (directory URLs, as MkDocs builds them)."""
        rel = self.path.removeprefix("docs/")
        if rel.endswith("index.md"):
            return "/" + rel[: -len("index.md")]
        return "/" + rel[: -len(".md")] + "/"

    def line_of_key(self, key: str) -> int:
        """The line of a front-matter key, or 1 when the key is absent."""
        return self.meta_lines.get(key, 1)
