"""An article's Markdown body as HTML, for the employee's page and the console's preview.

markdown-it-py with its `js-default` preset: CommonMark with raw HTML switched off (any HTML an
editor types is shown as text) and links checked (no `javascript:` or `data:` addresses).
"""
from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt

from .rendering import Safe


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("js-default")


def article_html(markdown: str) -> Safe:
    return Safe(_parser().render(markdown))
