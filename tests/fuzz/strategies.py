"""Hypothesis strategies for malformed HTTP requests, shared by both runtimes' fuzz suites.

Pure Hypothesis (no aiohttp, no Sanic): each runtime's suite turns a `FuzzRequest` into a real
request against its own in-process server. What they generate: odd paths and ids (huge,
negative, non-ASCII digits, percent garbage), query strings, header values of any printable
characters (non-ASCII included), Content-Types with unknown, empty or exotic charsets and
boundaries, and bodies: raw bytes, JSON nested to any depth, forms in other encodings,
truncated multipart, and sizes around each endpoint's limit.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

# Characters drawn from a fixed palette rather than all of Unicode (Hypothesis draws from a
# short list several times faster): printable ASCII, Latin-1, other scripts' digits, right-to-
# left and zero-width marks, combining accents, CJK, emoji, the replacement character and the
# highest code points. Never CR, LF or NUL in headers (HTTP clients refuse to send them, so no
# server can receive them) and no lone surrogates (not encodable).
PALETTE = ([chr(c) for c in range(0x20, 0x7F)]
           + list("\t¡£§«±µ¿ÀÉßéñÿ") + list("٠١٢٣٤٥٦٧٨٩०१२३४५٫")
           + ["\u200b", "\u200e", "\u200f", "\u202e", "\u0301", "\u0338", "\ufeff",
              "\ufffd", "\uffff", "\U0010ffff", "\U0001f600", "中", "文", "한", "Ж", "Ω",
              "\u2028", "\u00a0", "\u3000"])
HEADER_PALETTE = [c for c in PALETTE if c not in "\u2028"]
HEADER_TEXT = st.text(st.sampled_from(HEADER_PALETTE), max_size=40)
ASCII_TEXT = st.text(st.sampled_from([chr(c) for c in range(0x20, 0x7F)]), max_size=24)
CHARSETS = ("utf-8", "UTF-8", "latin-1", "utf-16", "utf-32", "bogus", "", "utf-7", "cp1252",
            "x-user-defined", "ascii", "\"utf-8\"", "utf-8; charset=latin-1")
ENCODINGS = ("utf-8", "latin-1", "utf-16", "cp1252", "utf-32")
FORM_FIELDS = ("username", "password", "csrf_token", "text", "status", "priority", "visibility",
               "skill", "category", "subject", "submission", "note", "q")
QUERY_FIELDS = ("status", "category", "priority", "assignee", "breached", "q", "page", "after",
                "done", "token", "state", "code", "error", "session_state")


@dataclass
class FuzzRequest:
    method: str
    path: str            # already percent-encoded
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # Set by the suite when it wants the server's own credentials attached (cookie, CSRF,
    # signature, bearer token): generated garbage alone never gets past the first check.
    authenticated: bool = False
    signed: bool = False


def path_segment(valid: list[str]) -> st.SearchStrategy[str]:
    """A path parameter: a value that exists, or something that is not one."""
    return st.one_of(
        st.sampled_from(valid) if valid else st.just("1"),
        st.integers(min_value=-10, max_value=10**40).map(str),
        st.sampled_from(["١٢", "1_0", " 7", "0x1f", "1e3", "९", "00000000000000000001",
                         "-0", "NaN", "..", "%00", "%ff%fe"]),
        HEADER_TEXT.filter(bool).map(lambda text: quote(text, safe="")),
    )


def query_string() -> st.SearchStrategy[str]:
    pairs = st.lists(st.tuples(st.one_of(st.sampled_from(QUERY_FIELDS), ASCII_TEXT),
                               HEADER_TEXT), max_size=4)
    return st.one_of(
        st.just(""),
        pairs.map(lambda items: urlencode(items)),
        st.sampled_from(["%", "%zz", "a=%ff%fe", "page=99999999999999999999999",
                         "after=-1", "after=١٢", "status=&status=open", "q=" + "x" * 5000]),
    )


def json_values(max_leaves: int = 12) -> st.SearchStrategy[object]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(),
                        st.floats(allow_nan=False, allow_infinity=False), HEADER_TEXT)
    return st.recursive(scalars, lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(HEADER_TEXT, st.sampled_from(
            ["text", "id", "recipient_id", "message", "type", "event", "name", "tracker",
             "next_action", "sender_id", "metadata", "principal", "buttons", "title",
             "payload"])), children, max_size=5)), max_leaves=max_leaves)


@st.composite
def bodies(draw: st.DrawFn, limit: int = 64 * 1024) -> tuple[bytes, str | None]:
    """(body, Content-Type or None)."""
    charset = draw(st.sampled_from(CHARSETS))
    kind = draw(st.sampled_from(
        ["empty", "bytes", "json", "json-encoded", "deep", "form", "form-encoded", "multipart",
         "large", "text"]))
    if kind == "empty":
        return b"", draw(st.sampled_from([None, "application/json",
                                          "application/x-www-form-urlencoded"]))
    if kind == "bytes":
        return draw(st.binary(max_size=160)), draw(st.one_of(
            st.none(), st.sampled_from([f"application/json; charset={charset}",
                                        f"application/x-www-form-urlencoded; charset={charset}",
                                        "application/octet-stream"]), HEADER_TEXT))
    if kind in ("json", "json-encoded"):
        text = json.dumps(draw(json_values()), ensure_ascii=draw(st.booleans()))
        encoding = "utf-8" if kind == "json" else draw(st.sampled_from(ENCODINGS))
        return text.encode(encoding, "replace"), draw(st.sampled_from(
            ["application/json", f"application/json; charset={charset}", "text/json"]))
    if kind == "deep":
        depth = draw(st.integers(min_value=100, max_value=100_000))
        opener = draw(st.sampled_from(["[", '{"a":']))
        closer = "]" if opener == "[" else "}"
        return (opener * depth + closer * depth).encode(), "application/json"
    if kind in ("form", "form-encoded"):
        fields = draw(st.lists(st.tuples(st.one_of(st.sampled_from(FORM_FIELDS), ASCII_TEXT),
                                         HEADER_TEXT), max_size=6))
        encoding = "utf-8" if kind == "form" else draw(st.sampled_from(ENCODINGS))
        body = "&".join(f"{quote(k, encoding=encoding, errors='replace')}="
                        f"{quote(v, encoding=encoding, errors='replace')}" for k, v in fields)
        if draw(st.booleans()):
            body += draw(st.sampled_from(["&%ff=%fe", "&a=%", "&=&", "&x=%C3%28"]))
        return body.encode("ascii"), f"application/x-www-form-urlencoded; charset={charset}"
    if kind == "multipart":
        boundary = draw(st.one_of(st.just("b0undary"), ASCII_TEXT))
        field_name = draw(st.sampled_from(FORM_FIELDS))
        value = draw(st.binary(max_size=64))
        body = (f"--b0undary\r\nContent-Disposition: form-data; name=\"{field_name}\"\r\n"
                f"Content-Type: text/plain; charset={charset}\r\n\r\n").encode() + value
        if draw(st.booleans()):
            body += b"\r\n--b0undary--\r\n"
        return body, f"multipart/form-data; boundary={boundary}"
    if kind == "large":
        size = draw(st.integers(min_value=limit // 2, max_value=limit * 2))
        return b'{"text": "' + b"a" * size + b'"}', "application/json"
    return draw(HEADER_TEXT).encode("utf-8"), f"text/plain; charset={charset}"


def free_headers(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    """Values of any characters for the headers an endpoint reads."""
    return st.dictionaries(st.sampled_from(names), st.one_of(
        HEADER_TEXT, st.sampled_from(["١٢٣٤٥٦٧٨٩٠", "1_700_000_000", " 1700000000", "v1=é",
                                      "Bearer", "Bearer ", "Bearer é", "v0=" + "g" * 64])),
        max_size=len(names))
