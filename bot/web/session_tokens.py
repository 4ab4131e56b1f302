"""Widget session tokens: short-lived HS256 JWTs that name the signed-in employee.

In production the department's intranet mints these after its own single sign-on; the development
sign-in page of this web app stands in for it. The Rasa `widget` channel verifies the same token
independently, so both sides must agree on this contract:

    header  {"alg": "HS256", "typ": "JWT"}
    claims  iss = WIDGET_TOKEN_ISSUER, aud = WIDGET_TOKEN_AUDIENCE,
            sub = the widget subject (ChannelIdentity.subject, e.g. "alice.hughes"),
            iat, nbf, exp (integer seconds since the epoch), jti (uuid4 hex)

Only HS256 is accepted (never the algorithm the token names), every claim above except `jti`
is required, and clocks may differ by `LEEWAY_SECONDS` at most.
"""
from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from ..config import Settings

ALGORITHM = "HS256"
LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ("exp", "iat", "nbf", "sub", "iss", "aud")
MAX_SUBJECT_LENGTH = 200  # ChannelIdentity.subject is a VARCHAR(200)


class InvalidSessionToken(Exception):
    """The token is missing, malformed, forged, expired or meant for someone else.

    The message says why, for tests and debugging; never show it to the user or log the token.
    """


@dataclass(frozen=True)
class Claims:
    """The verified claims of a session token."""

    subject: str
    issuer: str
    audience: str | list[str]
    issued_at: int
    not_before: int
    expires_at: int
    token_id: str | None


def _epoch_seconds(now: float | dt.datetime | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, dt.datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return now.timestamp()
    return float(now)


def mint(settings: Settings, subject: str, now: float | dt.datetime | None = None) -> str:
    """A signed session token for `subject`, valid for `settings.widget_token_ttl_seconds`."""
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_LENGTH:
        raise ValueError("subject must be a non-empty string of at most 200 characters")
    issued = int(_epoch_seconds(now))
    claims = {
        "iss": settings.widget_token_issuer,
        "aud": settings.widget_token_audience,
        "sub": subject,
        "iat": issued,
        "nbf": issued,
        "exp": issued + settings.widget_token_ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.require_widget_secret(), algorithm=ALGORITHM)


def _int_claim(payload: dict[str, Any], name: str) -> int:
    value = payload[name]
    # bool is an int in Python; a JSON true is not a time.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidSessionToken(f"claim {name} is not a number")
    return int(value)


def verify(settings: Settings, token: str, now: float | dt.datetime | None = None) -> Claims:
    """The claims of a genuine, current token meant for us; `InvalidSessionToken` otherwise.

    PyJWT checks the signature (HS256 only), presence of the required claims, issuer and
    audience; the time checks are done here so that `now` can be injected.
    """
    if not isinstance(token, str) or not token:
        raise InvalidSessionToken("no token")
    try:
        payload = jwt.decode(
            token,
            settings.require_widget_secret(),
            algorithms=[ALGORITHM],
            audience=settings.widget_token_audience,
            issuer=settings.widget_token_issuer,
            options={
                "require": list(REQUIRED_CLAIMS),
                "verify_signature": True,
                "verify_iss": True,
                "verify_aud": True,
                "verify_sub": True,
                "verify_jti": True,
                # Checked below against the injectable clock, with the same leeway.
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as error:
        raise InvalidSessionToken(f"{type(error).__name__}: {error}") from None
    except (ValueError, TypeError) as error:  # defensive: malformed input PyJWT did not wrap
        raise InvalidSessionToken(f"malformed token: {type(error).__name__}") from None

    current = _epoch_seconds(now)
    expires_at = _int_claim(payload, "exp")
    not_before = _int_claim(payload, "nbf")
    issued_at = _int_claim(payload, "iat")
    if expires_at <= current - LEEWAY_SECONDS:
        raise InvalidSessionToken("token has expired")
    if not_before > current + LEEWAY_SECONDS:
        raise InvalidSessionToken("token is not valid yet (nbf)")
    if issued_at > current + LEEWAY_SECONDS:
        raise InvalidSessionToken("token was issued in the future (iat)")

    subject = payload["sub"]
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_LENGTH:
        raise InvalidSessionToken("claim sub is not a usable subject")
    token_id = payload.get("jti")
    return Claims(
        subject=subject,
        issuer=payload["iss"],
        audience=payload["aud"],
        issued_at=issued_at,
        not_before=not_before,
        expires_at=expires_at,
        token_id=token_id if isinstance(token_id, str) else None,
    )
