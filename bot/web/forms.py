"""Reading what a request carries without letting malformed input become a 500.

aiohttp decodes a form with the charset its `Content-Type` names: an unknown charset raises
`LookupError`, bytes that are not in that charset `UnicodeDecodeError`, and a malformed
multipart body `ValueError` (and the same for a JSON body). Each of those is the client's mistake, answered with a 400 that
says so. Path and query numbers are read here too: ASCII digits only (Python's `int()` also
accepts "١٢", "1_0" and " 7 "), and small enough for a database integer.
"""
from __future__ import annotations

import hmac

import aiohttp
from aiohttp import web
from multidict import MultiDictProxy

FORM_UNREADABLE = ("The form could not be read: send it as UTF-8 "
                   "(application/x-www-form-urlencoded or multipart/form-data).")
MAX_ID_DIGITS = 15  # far below 2**63, so any value fits a BIGINT (and SQLite's INTEGER)


async def read_form(request: web.Request) -> MultiDictProxy:
    """The request's form fields; a 400 when its charset or encoding cannot be decoded."""
    try:
        return await request.post()
    except (LookupError, UnicodeDecodeError, ValueError, AssertionError):
        # AssertionError: aiohttp's multipart reader asserts on some malformed part headers.
        raise web.HTTPBadRequest(text=FORM_UNREADABLE) from None


async def read_json(request: web.Request) -> object:
    """The request's JSON body; `ValueError` when its charset, encoding or syntax is bad
    (an unknown charset is a `LookupError` inside aiohttp; a deeply nested document a
    `RecursionError`), so the caller answers 400 for all of them alike."""
    try:
        return await request.json()
    except (LookupError, ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise ValueError("the body is not valid JSON") from error


async def form_text(request: web.Request, name: str) -> str:
    """One text field of the form, "" when absent or a file."""
    value = (await read_form(request)).get(name)
    return value if isinstance(value, str) else ""


def small_id(text: str | None) -> int | None:
    """A positive database id written in ASCII digits, else None."""
    if not text or len(text) > MAX_ID_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value > 0 else None


def small_count(text: str | None, default: int) -> int:
    """A non-negative counter (e.g. `Last-Event-ID`) in ASCII digits, else `default`."""
    if not text or len(text) > MAX_ID_DIGITS or not (text.isascii() and text.isdigit()):
        return default
    return int(text)


async def read_capped(stream: aiohttp.StreamReader, limit: int) -> bytes | None:
    """The whole stream, however the client split it across reads; None past `limit` bytes."""
    body = bytearray()
    async for chunk in stream.iter_chunked(64 * 1024):
        body.extend(chunk)
        if len(body) > limit:
            return None
    return bytes(body)


def same_secret(offered: str, expected: str) -> bool:
    """Constant-time comparison of two header or form values of any characters.

    `hmac.compare_digest` raises TypeError on non-ASCII str; aiohttp decodes headers as UTF-8
    with surrogate escapes, so both sides are compared as bytes (surrogates passed through).
    """
    return hmac.compare_digest(offered.encode("utf-8", "surrogatepass"),
                               expected.encode("utf-8", "surrogatepass"))
