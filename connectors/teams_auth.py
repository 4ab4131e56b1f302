"""Bot Framework request authentication: the Bot Connector service's JWT, checked in full.

The rules are Microsoft's "Authentication with the Bot Connector API" (Connector to bot) and
what its SDKs enforce (botframework-connector `ChannelValidation`, `JwtTokenExtractor`,
`EndorsementsValidator`):

1. `Authorization: Bearer <JWT>`;
2. signed with an RS256-family algorithm (never the algorithm the token merely claims, never
   `none` or HMAC) by a key from the JWKS that the OpenID metadata document points to;
3. `iss` == https://api.botframework.com; `aud` == our Microsoft App ID (a single string);
4. `exp` (required) and `nbf` (when present) hold with five minutes' clock skew;
5. the `serviceurl` claim equals the activity's `serviceUrl` (otherwise a stolen token could
   make us post our own bearer token to any URL);
6. the signing key's `endorsements` contain the activity's `channelId`, and that channel is
   one we serve (msteams) — stricter than the SDK, which lets an empty channelId pass;
7. the activity belongs to our Azure AD tenant (`conversation.tenantId` and
   `channelData.tenant.id`, every one present must match, at least one must be present).

Failures of 1–4 are 401 (`Unauthenticated`); 5–7 are 403 (`Forbidden`): the token is genuine
but not for this activity. Nothing here logs a token, a claim value or message text.

Keys: fetched with aiohttp (never blocking the event loop), cached, refreshed when an hour old
(each refresh replaces the whole set, so a key Microsoft removed from the JWKS is trusted an
hour at most), and refreshed early for an unknown `kid` at most once every 5 minutes (as
Microsoft's SDKs allow a new key to appear), so a flood of made-up kids costs Microsoft one
fetch per 5 minutes at most. A failed fetch is retried at most once a minute.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, FrozenSet, Mapping, Optional, Sequence, Text
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from signing_keys import rsa_signing_keys

logger = logging.getLogger(__name__)

BOT_FRAMEWORK_OPENID_METADATA_URL = (
    "https://login.botframework.com/v1/.well-known/openidconfiguration"
)
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
RS256_FAMILY = ("RS256", "RS384", "RS512")
CLOCK_SKEW_SECONDS = 5 * 60
KEY_MAX_AGE_SECONDS = 3600
UNKNOWN_KID_REFRESH_SECONDS = 5 * 60
FAILED_FETCH_RETRY_SECONDS = 60
MAX_TOKEN_LENGTH = 16 * 1024
MAX_KID_LENGTH = 256


class Unauthenticated(Exception):
    """The request does not carry a valid Bot Connector token (HTTP 401)."""


class Forbidden(Exception):
    """A genuine token, but not for this activity, channel or tenant (HTTP 403)."""


class InvalidActivity(Exception):
    """The (authenticated) body is not a Bot Framework activity we can read (HTTP 400)."""


class KeysUnavailable(Exception):
    """No signing keys could be fetched yet: we cannot tell genuine from forged (HTTP 503)."""


@dataclass(frozen=True)
class SigningKey:
    kid: Text
    public_key: RSAPublicKey
    endorsements: FrozenSet[Text]


@dataclass(frozen=True)
class VerifiedToken:
    claims: Mapping[Text, Any]
    endorsements: FrozenSet[Text]


@dataclass(frozen=True)
class VerifiedActivity:
    """An activity whose token, service URL, channel and tenant were all checked."""

    activity: Mapping[Text, Any]
    service_url: Text
    channel_id: Text
    tenant_id: Text


FetchJson = Callable[[Text], Awaitable[Any]]


def is_loopback_http(url: Text) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def check_document_url(url: Text) -> None:
    """Keys only over https (plain http is tolerated on loopback, for local test servers)."""
    parts = urlsplit(url)
    if not (parts.scheme == "https" and parts.hostname) and not is_loopback_http(url):
        raise ValueError("OpenID metadata and JWKS URLs must be https")


def parse_jwks(document: Any) -> Dict[Text, SigningKey]:
    """RSA signing keys by kid (`signing_keys`' rules), each with its endorsements (the
    channels it may sign for)."""
    keys: Dict[Text, SigningKey] = {}
    for kid, (public_key, entry) in rsa_signing_keys(document).items():
        endorsements = entry.get("endorsements") or []
        if not isinstance(endorsements, list):
            endorsements = []
        keys[kid] = SigningKey(kid, public_key,
                               frozenset(e for e in endorsements if isinstance(e, str)))
    return keys


class OpenIdKeys:
    """The Bot Connector's signing keys, from its OpenID metadata document, cached."""

    def __init__(self, metadata_url: Text, fetch_json: FetchJson,
                 clock: Callable[[], float] = time.monotonic) -> None:
        check_document_url(metadata_url)
        self.metadata_url = metadata_url
        self._fetch_json = fetch_json
        self._clock = clock
        self._keys: Dict[Text, SigningKey] = {}
        self._algorithms: FrozenSet[Text] = frozenset(RS256_FAMILY)
        self._fetched_at: Optional[float] = None
        self._attempted_at: Optional[float] = None
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    @property
    def algorithms(self) -> FrozenSet[Text]:
        """RS256-family algorithms the metadata allows (all three until metadata was read)."""
        return self._algorithms

    def _may_refresh(self, now: float, unknown_kid: bool) -> bool:
        if self._attempted_at is not None and now - self._attempted_at < FAILED_FETCH_RETRY_SECONDS:
            return False
        if self._fetched_at is None:
            return True
        age = now - self._fetched_at
        return age >= KEY_MAX_AGE_SECONDS or (unknown_kid and age >= UNKNOWN_KID_REFRESH_SECONDS)

    async def _refresh(self) -> None:
        self.fetch_count += 1
        self._attempted_at = self._clock()
        metadata = await self._fetch_json(self.metadata_url)
        if not isinstance(metadata, dict) or not isinstance(metadata.get("jwks_uri"), str):
            raise ValueError("OpenID metadata has no jwks_uri")
        jwks_uri = metadata["jwks_uri"]
        check_document_url(jwks_uri)
        advertised = metadata.get("id_token_signing_alg_values_supported")
        algorithms = frozenset(RS256_FAMILY)
        if isinstance(advertised, list):
            algorithms = frozenset(a for a in advertised if a in RS256_FAMILY)
        keys = parse_jwks(await self._fetch_json(jwks_uri))
        if not keys or not algorithms:
            raise ValueError("no usable RS256-family signing keys")
        self._keys, self._algorithms = keys, algorithms
        self._fetched_at = self._clock()
        self._attempted_at = None
        logger.info("msteams.keys.refreshed count=%d", len(keys))

    async def key(self, kid: Text) -> Optional[SigningKey]:
        """The key for `kid`, refreshing the set when it is stale or (5-minutely) for a new kid."""
        found = self._keys.get(kid)
        if found is not None and not self._may_refresh(self._clock(), unknown_kid=False):
            return found
        async with self._lock:  # one refresh at a time; the others wait and reuse its result
            if self._may_refresh(self._clock(), unknown_kid=found is None):
                try:
                    await self._refresh()
                except Exception as error:  # network, JSON or content: keep the old keys
                    logger.warning("msteams.keys.refresh_failed error=%s", type(error).__name__)
            if not self._keys:
                raise KeysUnavailable("no signing keys")
            return self._keys.get(kid)


def bearer_token(authorization: Optional[Text]) -> Text:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme != "Bearer" or not token or " " in token or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("missing bearer token")
    return token


def check_times(claims: Mapping[Text, Any], now: float,
                skew: int = CLOCK_SKEW_SECONDS) -> None:
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        raise Unauthenticated("exp missing or not a number")
    if now > exp + skew:
        raise Unauthenticated("expired")
    if nbf is not None:
        if isinstance(nbf, bool) or not isinstance(nbf, (int, float)):
            raise Unauthenticated("nbf not a number")
        if now < nbf - skew:
            raise Unauthenticated("not yet valid")


async def verify_token(
    authorization: Optional[Text],
    keys: OpenIdKeys,
    app_id: Text,
    issuer: Text = BOT_FRAMEWORK_ISSUER,
    now: Optional[float] = None,
) -> VerifiedToken:
    """Rules 1-4. Needs nothing from the body, so it runs before the body is parsed."""
    token = bearer_token(authorization)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise Unauthenticated("malformed token") from error
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in keys.algorithms:
        raise Unauthenticated("algorithm not allowed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH:
        raise Unauthenticated("missing kid")
    key = await keys.key(kid)
    if key is None:
        raise Unauthenticated("unknown kid")
    try:
        claims = jwt.decode(
            token,
            key.public_key,
            algorithms=[algorithm],
            audience=app_id,
            issuer=issuer,
            options={
                "require": ["exp", "iss", "aud", "serviceurl"],
                "verify_exp": False,  # checked by check_times against the given clock
                "verify_nbf": False,
                "verify_iat": False,
                "strict_aud": True,  # aud must be exactly our app id, not a list holding it
            },
        )
    except jwt.PyJWTError as error:
        raise Unauthenticated(type(error).__name__) from error
    check_times(claims, time.time() if now is None else now)
    return VerifiedToken(claims=claims, endorsements=key.endorsements)


def activity_tenants(activity: Mapping[Text, Any]) -> Sequence[Any]:
    conversation = activity.get("conversation")
    channel_data = activity.get("channelData")
    found = []
    if isinstance(conversation, dict) and "tenantId" in conversation:
        found.append(conversation["tenantId"])
    if isinstance(channel_data, dict) and isinstance(channel_data.get("tenant"), dict):
        if "id" in channel_data["tenant"]:
            found.append(channel_data["tenant"]["id"])
    return found


def check_activity(token: VerifiedToken, activity: Any, tenant_id: Text,
                   channels: FrozenSet[Text] = frozenset({"msteams"})) -> VerifiedActivity:
    """Rules 5-7: bind the verified token to this activity, channel and tenant."""
    if not isinstance(activity, dict):
        raise InvalidActivity("body is not an activity object")
    service_url = activity.get("serviceUrl")
    if not isinstance(service_url, str) or not service_url:
        raise Forbidden("activity has no serviceUrl")
    if token.claims.get("serviceurl") != service_url:
        raise Forbidden("serviceurl claim does not match the activity")
    channel_id = activity.get("channelId")
    if not isinstance(channel_id, str) or channel_id not in channels:
        raise Forbidden("channel not served")
    if channel_id not in token.endorsements:
        raise Forbidden("channel not endorsed by the signing key")
    tenants = activity_tenants(activity)
    if not tenants:
        raise Forbidden("activity names no tenant")
    expected = tenant_id.lower()
    if any(not isinstance(t, str) or t.lower() != expected for t in tenants):
        raise Forbidden("foreign tenant")
    return VerifiedActivity(activity, service_url, channel_id, expected)
