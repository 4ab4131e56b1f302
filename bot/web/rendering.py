"""HTML pages from `templates/*.html` with `string.Template`; every value is escaped.

Values are escaped with `html.escape` unless wrapped in `Safe` (HTML this package built itself
from escaped parts). Templates are read once, on first use.
"""
from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from string import Template

from aiohttp import web

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


class Safe(str):
    """A fragment of HTML that is already escaped."""


def escape(value: object) -> str:
    return value if isinstance(value, Safe) else html.escape(str(value), quote=True)


@lru_cache(maxsize=None)
def _template(name: str) -> Template:
    return Template((TEMPLATES_DIR / name).read_text(encoding="utf-8"))


def render(name: str, **values: object) -> Safe:
    """Fill `templates/<name>` with escaped `values` (all placeholders must be given)."""
    return Safe(_template(name).substitute({k: escape(v) for k, v in values.items()}))


def page(
    title: str, body: Safe, *, scripts: tuple[str, ...] = (), status: int = 200
) -> web.Response:
    """A complete HTML page: `body` inside the shared layout."""
    script_tags = Safe("".join(
        f'\n  <script src="{escape(src)}" defer></script>' for src in scripts
    ))
    document = render("layout.html", title=title, scripts=script_tags, body=body)
    return web.Response(text=document, content_type="text/html", charset="utf-8", status=status)
