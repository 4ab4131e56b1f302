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

A session that began with Entra ID sign-in (bot/signin/entra.py, minted by this web app) also
carries `idp` = "entra" and `tid` = the tenant id, and `sub` is the user's object id: its
principal is (widget, "entra:<tid>", <oid>), which the directory maps to the same employee as
Teams' (msteams, tid, oid). Such a token is accepted only when `tid` is the configured
ENTRA_TENANT_ID (here and in the widget channel).
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from ..config import Settings
from ..identity import Principal, entra_widget_tenant

ALGORITHM = "HS256"
LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ("exp", "iat", "nbf", "sub", "iss", "aud")
MAX_SUBJECT_LENGTH = 200  # ChannelIdentity.subject is a VARCHAR(200)
VERIFIED_TOKENS_KEPT = 4096  # sessions active at once, with room
ENTRA_IDP = "entra"


class InvalidSessionToken(Exception):
    """The token is missing, malformed, forged, expired or meant for someone else.

    The message says why, for tests and debugging; never show it to the user or log the token.
    """


@dataclass(frozen=True)
class Claims:
    """The verified claims of a session token."""

    subject: str
    issuer: str
    audience: str | tuple[str, ...]
    issued_at: int
    not_before: int
    expires_at: int
    token_id: str | None
    entra_tenant: str | None = None  # the tenant id of an Entra ID session

    @property
    def tenant(self) -> str:
        """The principal's tenant: the token issuer, or "entra:<tid>" for Entra ID sign-in."""
        return entra_widget_tenant(self.entra_tenant) if self.entra_tenant else self.issuer

    @property
    def principal(self) -> Principal:
        return Principal("widget", self.tenant, self.subject)


def _epoch_seconds(now: float | dt.datetime | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, dt.datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return now.timestamp()
    return float(now)


def mint(settings: Settings, subject: str, now: float | dt.datetime | None = None, *,
         entra_tenant: str | None = None) -> str:
    """A signed session token for `subject`, valid for `settings.widget_token_ttl_seconds`;
    with `entra_tenant`, for the Entra ID user `subject` (object id) of that tenant."""
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_LENGTH:
        raise ValueError("subject must be a non-empty string of at most 200 characters")
    issued = int(_epoch_seconds(now))
    claims: dict[str, Any] = {
        "iss": settings.widget_token_issuer,
        "aud": settings.widget_token_audience,
        "sub": subject,
        "iat": issued,
        "nbf": issued,
        "exp": issued + settings.widget_token_ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if entra_tenant is not None:
        claims.update(idp=ENTRA_IDP, tid=entra_tenant.lower())
    return jwt.encode(claims, settings.require_widget_secret(), algorithm=ALGORITHM)


def verify(settings: Settings, token: str, now: float | dt.datetime | None = None) -> Claims:
    """The claims of a genuine, current token meant for us; `InvalidSessionToken` otherwise.

    Every message of a session carries the same token: what does not depend on the clock is
    worked out once per token (`_genuine_claims`, cached), the time claims at every call.
    """
    if not isinstance(token, str) or not token:
        raise InvalidSessionToken("no token")
    claims = _genuine_claims(
        token,
        settings.require_widget_secret(),
        settings.widget_token_audience,
        settings.widget_token_issuer,
        settings.entra_tenant_id,
    )
    current = _epoch_seconds(now)
    if claims.expires_at <= current - LEEWAY_SECONDS:
        raise InvalidSessionToken("token has expired")
    if claims.not_before > current + LEEWAY_SECONDS:
        raise InvalidSessionToken("token is not valid yet (nbf)")
    if claims.issued_at > current + LEEWAY_SECONDS:
        raise InvalidSessionToken("token was issued in the future (iat)")
    return claims


@functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)
def _genuine_claims(token: str, secret: str, audience: str, issuer: str,
                    entra_tenant: str = "") -> Claims:
    """The claims of a token signed with `secret` for `audience` by `issuer`, times unchecked.

    PyJWT checks the signature (HS256 only), presence of the required claims, issuer and
    audience. Keyed by the exact token and what it is checked against; an exception is never
    cached, so only genuine tokens are kept (forged ones cannot fill the cache), and `Claims`
    is immutable.
    """
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={
                "require": list(REQUIRED_CLAIMS),
                "verify_signature": True,
                "verify_iss": True,
                "verify_aud": True,
                "verify_sub": True,
                "verify_jti": True,
                # Checked by `verify` against the injectable clock, with the same leeway.
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as error:
        raise InvalidSessionToken(f"{type(error).__name__}: {error}") from None
    except (ValueError, TypeError) as error:  # defensive: malformed input PyJWT did not wrap
        raise InvalidSessionToken(f"malformed token: {type(error).__name__}") from None

    subject = payload["sub"]
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_LENGTH:
        raise InvalidSessionToken("claim sub is not a usable subject")
    audience_claim = payload["aud"]
    token_id = payload.get("jti")
    signed_in_by = payload.get("idp")
    if signed_in_by is not None:
        tid = payload.get("tid")
        if signed_in_by != ENTRA_IDP or not entra_tenant or not isinstance(tid, str) \
                or tid.lower() != entra_tenant.lower():
            raise InvalidSessionToken("identity provider or tenant not accepted")
    return Claims(
        subject=subject,
        issuer=payload["iss"],
        # A list would be shared by every caller of the cached claims.
        audience=tuple(audience_claim) if isinstance(audience_claim, list) else audience_claim,
        issued_at=_int_claim(payload, "iat"),
        not_before=_int_claim(payload, "nbf"),
        expires_at=_int_claim(payload, "exp"),
        token_id=token_id if isinstance(token_id, str) else None,
        entra_tenant=entra_tenant.lower() if signed_in_by is not None else None,
    )


def _int_claim(payload: dict[str, Any], name: str) -> int:
    value = payload[name]
    # bool is an int in Python; a JSON true is not a time, nor is NaN or infinity.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidSessionToken(f"claim {name} is not a number")
    return int(value)
