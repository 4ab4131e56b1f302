"""Reading the console's article editor as a browser would: the values the form was filled with
(shared by tests/web and tests/system)."""
from __future__ import annotations

import re
from html import unescape


def editor_form(html: str) -> dict[str, str]:
    """The editor's fields, as the page filled them in (inputs, text areas, the topic, and the
    version the edit is based on)."""
    values = dict(re.findall(r'<input id="kb-[a-z_]+" name="([a-z_]+)"[^>]*value="([^"]*)"',
                             html))
    values.update(re.findall(r'name="([a-z_]+)"[^>]*class="input textarea"[^>]*>([^<]*)'
                             r"</textarea>", html))
    values["topic"] = re.search(r'<option value="([a-z_]+)" selected>', html).group(1)
    values["based_on"] = re.search(r'name="based_on" value="(\d+)"', html).group(1)
    return {key: unescape(value) for key, value in values.items()}


def csrf_token(html: str) -> str:
    return html.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
