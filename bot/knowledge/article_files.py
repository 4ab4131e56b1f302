"""Articles as Markdown files with YAML front matter: parse, validate, write.

The format of `knowledge/articles/*.md` (the starting library, and what `kb-export` writes):

    ---
    topic: annual_leave                 # one id of bot.knowledge.topics
    title: Annual leave
    summary: One or two sentences answering the commonest question.
    source_title: "Holiday entitlement"
    source_url: https://www.gov.uk/holiday-entitlement-rights
    owner: HR Policy (Shared Services)
    effective_from: 2024-04-01
    review_by: 2027-11-30
    version: 1
    departments: all                    # or a list of department codes: [DDS, MPW]
    keywords: [AL, holiday, "carry over"]
    ---
    ## First section heading
    Text of the section ...

The file's name without `.md` is the article's slug, its identity across imports and exports
(`<topic>.md`, or `<topic>--<suffix>.md` for a second article on a topic).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from .topics import TOPICS

FRONT_MATTER_KEYS = ("topic", "title", "summary", "source_title", "source_url", "owner",
                     "effective_from", "review_by", "version", "departments", "keywords")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,118}[a-z0-9]$")
DEPARTMENT_CODE = re.compile(r"^[A-Z0-9]{2,16}$")
SECTION_HEADING = re.compile(r"^## +(.+?)\s*#*\s*$")
MAX_BODY = 50_000
MAX_SECTIONS = 30


class ArticleFormatError(ValueError):
    """An article that cannot be read or is not valid; the message says what and where."""


@dataclass(frozen=True)
class Section:
    heading: str
    body: str


class ArticleContent(BaseModel):
    """What one version of an article says: its front matter and its Markdown body."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    topic: str
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1, max_length=2000)
    source_title: str = Field(min_length=1, max_length=300)
    source_url: str = Field(min_length=1, max_length=1000)
    owner: str = Field(min_length=1, max_length=200)
    effective_from: dt.date
    review_by: dt.date
    version: int = Field(default=1, ge=1, le=100_000)
    departments: tuple[str, ...] = ()  # empty: every department
    keywords: tuple[str, ...] = Field(default=(), max_length=60)
    body: str = Field(min_length=1, max_length=MAX_BODY)

    @field_validator("topic")
    @classmethod
    def _known_topic(cls, value: str) -> str:
        if value not in TOPICS:
            raise ValueError(f"unknown topic {value!r}: use one of the ids in "
                             "shared/kb-topics.md (bot/knowledge/topics.py)")
        return value

    @field_validator("source_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/$.?#][^\s]*$", value):
            raise ValueError("must be a web address starting with https:// or http://")
        return value

    @field_validator("departments", mode="before")
    @classmethod
    def _departments(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("all", "")):
            return ()
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, (list, tuple)):
            raise ValueError("must be `all` or a list of department codes")
        codes = tuple(dict.fromkeys(str(code).strip().upper() for code in value))
        for code in codes:
            if not DEPARTMENT_CODE.match(code):
                raise ValueError(f"{code!r} is not a department code (2 to 16 letters or digits)")
        return codes

    @field_validator("keywords", mode="before")
    @classmethod
    def _keywords(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [part for part in value.split(",")]
        if not isinstance(value, (list, tuple)):
            raise ValueError("must be a list of words or phrases")
        words = tuple(dict.fromkeys(str(word).strip() for word in value if str(word).strip()))
        for word in words:
            if len(word) > 80:
                raise ValueError(f"keyword {word[:20]!r}... is longer than 80 characters")
        return words

    @field_validator("body")
    @classmethod
    def _has_sections(cls, value: str) -> str:
        found = split_sections(value)
        if not any(section.heading for section in found):
            raise ValueError("needs at least one section, a line starting with `## `")
        if len(found) > MAX_SECTIONS:
            raise ValueError(f"has {len(found)} sections; at most {MAX_SECTIONS}")
        for section in found:
            if len(section.heading) > 300:
                raise ValueError("a section heading is longer than 300 characters")
        return value

    @model_validator(mode="after")
    def _review_after_effect(self) -> "ArticleContent":
        if self.review_by < self.effective_from:
            raise ValueError("review_by is before effective_from")
        return self

    @property
    def sections(self) -> list[Section]:
        return split_sections(self.body)


def split_sections(body: str) -> list[Section]:
    """The `## ` sections of a body, in order; text before the first heading has no heading."""
    sections: list[Section] = []
    heading, lines = "", []
    in_fence = False
    for line in body.replace("\r\n", "\n").split("\n"):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else SECTION_HEADING.match(line)
        if match:
            if heading or "\n".join(lines).strip():
                sections.append(Section(heading, "\n".join(lines).strip()))
            heading, lines = match.group(1).strip(), []
        else:
            lines.append(line)
    if heading or "\n".join(lines).strip():
        sections.append(Section(heading, "\n".join(lines).strip()))
    return sections


def describe(error: ValidationError) -> str:
    """Pydantic's errors as one plain sentence per field."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "article"
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def content_from(values: dict[str, Any]) -> ArticleContent:
    """Validate `values` (front matter plus `body`); `ArticleFormatError` says what is wrong."""
    try:
        return ArticleContent(**values)
    except ValidationError as error:
        raise ArticleFormatError(describe(error)) from None


def parse(text: str, name: str = "article") -> ArticleContent:
    """Parse one article file's text; `ArticleFormatError` names the file and the problem."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    match = re.match(r"^---\n(.*?)\n---[ \t]*\n(.*)$", text, re.S)
    if not match:
        raise ArticleFormatError(f"{name}: must start with YAML front matter between `---` lines")
    try:
        front = YAML(typ="safe", pure=True).load(match.group(1))
    except YAMLError as error:
        problem = str(error).splitlines()[0] if str(error) else "invalid YAML"
        raise ArticleFormatError(f"{name}: the front matter is not valid YAML ({problem})") \
            from None
    if not isinstance(front, dict):
        raise ArticleFormatError(f"{name}: the front matter must be `key: value` lines")
    unknown = sorted(set(map(str, front)) - set(FRONT_MATTER_KEYS))
    if unknown:
        raise ArticleFormatError(f"{name}: unknown front matter keys: {', '.join(unknown)}")
    missing = [key for key in FRONT_MATTER_KEYS if key not in front and key != "keywords"]
    if missing:
        raise ArticleFormatError(f"{name}: missing front matter keys: {', '.join(missing)}")
    try:
        return content_from({**front, "body": match.group(2)})
    except ArticleFormatError as error:
        raise ArticleFormatError(f"{name}: {error}") from None


def _yaml_scalar(value: object) -> str:
    """A value YAML reads back exactly: JSON's double-quoted strings are valid YAML."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def render(content: ArticleContent) -> str:
    """The article as a file: front matter in the documented key order, then the body."""
    lines = ["---"]
    for key in FRONT_MATTER_KEYS:
        value = getattr(content, key)
        if key == "departments":
            text = "all" if not value else "[" + ", ".join(value) + "]"
        elif key == "keywords":
            text = "[" + ", ".join(_yaml_scalar(word) for word in value) + "]"
        elif key == "topic":
            text = value
        else:
            text = _yaml_scalar(value)
        lines.append(f"{key}: {text}")
    lines.append("---")
    return "\n".join(lines) + "\n" + content.body.strip() + "\n"


def slug_problem(slug: str) -> str | None:
    if not SLUG.match(slug):
        return ("the file name must be lower-case letters, digits, `_` and `-` "
                "(for example annual_leave.md or annual_leave--dds.md)")
    return None
