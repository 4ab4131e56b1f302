"""Bot Connector token rules, one by one, without HTTP (keys served by an in-process fetcher)."""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Dict, List

import pytest

from connectors.teams_auth import (
    BOT_FRAMEWORK_ISSUER,
    CLOCK_SKEW_SECONDS,
    Forbidden,
    InvalidActivity,
    KeysUnavailable,
    OpenIdKeys,
    Unauthenticated,
    VerifiedToken,
    bearer_token,
    check_activity,
    check_document_url,
    check_times,
    parse_jwks,
    verify_token,
)
from connectors.teams_client import JsonFetcher

from . import fakes

SERVICE_URL = "https://smba.trafficmanager.net/uk/"
METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
JWKS_URL = "https://login.botframework.com/v1/.well-known/keys"


class Documents:
    """Serves the OpenID metadata and JWKS from memory; counts fetches; can fail."""

    def __init__(self, jwks: Dict[str, Any], algorithms: List[str] | None = None) -> None:
        self.jwks = jwks
        self.algorithms = algorithms or ["RS256"]
        self.jwks_uri = JWKS_URL
        self.fetches: List[str] = []
        self.fail = False

    async def __call__(self, url: str) -> Any:
        self.fetches.append(url)
        if self.fail:
            raise ConnectionError("unreachable")
        if url == METADATA_URL:
            return {"issuer": BOT_FRAMEWORK_ISSUER, "jwks_uri": self.jwks_uri,
                    "id_token_signing_alg_values_supported": self.algorithms}
        if url == self.jwks_uri:
            return self.jwks
        raise AssertionError(f"unexpected fetch {url}")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def documents(keys: fakes.Keys) -> Documents:
    return Documents(keys.jwks())


@pytest.fixture
def key_set(documents: Documents, clock: Clock) -> OpenIdKeys:
    return OpenIdKeys(METADATA_URL, documents, clock=clock)


def token(keys: fakes.Keys, **kwargs: Any) -> str:
    kwargs.setdefault("service_url", SERVICE_URL)
    key = kwargs.pop("key", keys.signing)
    return fakes.mint_token(key, **kwargs)


async def verify(key_set: OpenIdKeys, raw: str, **kwargs: Any) -> VerifiedToken:
    return await verify_token(f"Bearer {raw}", key_set, fakes.APP_ID, **kwargs)


# --- rules 1-4 --------------------------------------------------------------------------------

async def test_a_genuine_token_gives_its_claims_and_the_keys_endorsements(
        keys: fakes.Keys, key_set: OpenIdKeys) -> None:
    verified = await verify(key_set, token(keys))
    assert verified.claims["serviceurl"] == SERVICE_URL
    assert verified.endorsements == {"msteams", "skype", "webchat"}


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "bearer x.y.z", "Basic abc",
                                    "Bearer a b", "Token x.y.z", "Bearer " + "a" * 20_000])
def test_the_authorization_header_must_be_a_bearer_token(header: str | None) -> None:
    with pytest.raises(Unauthenticated):
        bearer_token(header)


async def test_only_algorithms_the_metadata_advertises_are_accepted(
        keys: fakes.Keys, key_set: OpenIdKeys) -> None:
    await verify(key_set, token(keys))  # loads the metadata: RS256 only
    for algorithm in ("RS384", "RS512", "PS256", "ES256", "HS256"):
        with pytest.raises(Unauthenticated, match="algorithm"):
            forged = (token(keys, algorithm=algorithm) if algorithm.startswith(("RS", "PS"))
                      else fakes.unsigned_token(fakes.valid_claims(SERVICE_URL), alg=algorithm))
            await verify(key_set, forged)


@pytest.mark.parametrize("algorithm", ["RS256", "RS384", "RS512"])
async def test_the_whole_rs256_family_works_when_advertised(
        keys: fakes.Keys, clock: Clock, algorithm: str) -> None:
    documents = Documents(keys.jwks(), ["RS256", "RS384", "RS512", "HS256", "none"])
    key_set = OpenIdKeys(METADATA_URL, documents, clock=clock)
    await verify(key_set, token(keys, algorithm=algorithm))
    assert key_set.algorithms == {"RS256", "RS384", "RS512"}  # never HS256 or none


def hmac_token(secret: bytes, claims: Dict[str, Any], alg: str = "HS256") -> str:
    """HMAC-signed by hand: PyJWT itself refuses to use a PEM public key as an HMAC secret."""
    import hashlib
    import hmac

    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    header = fakes.b64url(json.dumps({"alg": alg, "typ": "JWT",
                                      "kid": fakes.SIGNING_KID}).encode())
    body = fakes.b64url(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), digest).digest()
    return f"{header}.{body}.{fakes.b64url(signature)}"


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
async def test_hmac_signed_with_the_public_key_is_refused(keys: fakes.Keys, key_set: OpenIdKeys,
                                                          alg: str) -> None:
    """The classic key-confusion forgery: HMAC with the RSA public key as the secret."""
    forged = hmac_token(keys.public_pem(), fakes.valid_claims(SERVICE_URL), alg)
    with pytest.raises(Unauthenticated, match="algorithm"):
        await verify(key_set, forged)


@pytest.mark.parametrize("change", [
    {"key": "attacker"}, {"kid": None}, {"kid": ""}, {"kid": "x" * 300},
    {"kid": "unknown-kid"}, {"kid": fakes.WEAK_KID, "key": "weak"},
    {"iss": "https://api.botframework.com/"}, {"iss": "https://sts.windows.net/tenant/"},
    {"drop": ("iss",)}, {"aud": "another-app"}, {"aud": [fakes.APP_ID, "another-app"]},
    {"aud": fakes.APP_ID.upper()}, {"drop": ("aud",)}, {"drop": ("exp",)},
    {"drop": ("serviceurl",)}, {"exp": "tomorrow"}, {"nbf": "yesterday"},
], ids=lambda change: json.dumps(change, default=str)[:60])
async def test_each_broken_rule_is_unauthenticated(keys: fakes.Keys, key_set: OpenIdKeys,
                                                   change: Dict[str, Any]) -> None:
    change = dict(change)
    if "key" in change:
        change["key"] = getattr(keys, change["key"])
    with pytest.raises(Unauthenticated):
        await verify(key_set, token(keys, **change))


async def test_a_tampered_payload_is_refused(keys: fakes.Keys, key_set: OpenIdKeys) -> None:
    head, _, signature = token(keys).split(".")
    other = token(keys, aud="another-app").split(".")[1]
    genuine_other = token(keys, serviceurl="https://attacker.example/").split(".")[1]
    for body in (other, genuine_other):
        with pytest.raises(Unauthenticated):
            await verify(key_set, f"{head}.{body}.{signature}")


@pytest.mark.parametrize("offset, accepted", [
    (-CLOCK_SKEW_SECONDS, True), (-CLOCK_SKEW_SECONDS - 1, False), (0, True)])
def test_expiry_allows_five_minutes_of_skew(offset: int, accepted: bool) -> None:
    now = 2_000_000_000.0
    claims = {"exp": now + offset}
    if accepted:
        check_times(claims, now)
    else:
        with pytest.raises(Unauthenticated, match="expired"):
            check_times(claims, now)


@pytest.mark.parametrize("offset, accepted", [
    (CLOCK_SKEW_SECONDS, True), (CLOCK_SKEW_SECONDS + 1, False), (0, True)])
def test_not_before_allows_five_minutes_of_skew(offset: int, accepted: bool) -> None:
    now = 2_000_000_000.0
    claims = {"exp": now + 3600, "nbf": now + offset}
    if accepted:
        check_times(claims, now)
    else:
        with pytest.raises(Unauthenticated, match="not yet valid"):
            check_times(claims, now)


@pytest.mark.parametrize("claims", [{}, {"exp": True}, {"exp": None}, {"exp": "1"},
                                    {"exp": 4e9, "nbf": False}, {"exp": 4e9, "nbf": "0"}])
def test_time_claims_must_be_numbers(claims: Dict[str, Any]) -> None:
    with pytest.raises(Unauthenticated):
        check_times(claims, 2_000_000_000.0)


async def test_expired_and_future_tokens_are_refused_end_to_end(keys: fakes.Keys,
                                                                key_set: OpenIdKeys) -> None:
    now = time.time()
    for change in ({"exp": int(now) - CLOCK_SKEW_SECONDS - 60},
                   {"nbf": int(now) + CLOCK_SKEW_SECONDS + 60}):
        with pytest.raises(Unauthenticated):
            await verify(key_set, token(keys, **change), now=now)
    await verify(key_set, token(keys, exp=int(now) - 60), now=now)  # inside the skew


# --- keys: cache and refresh -------------------------------------------------------------------

async def test_keys_are_fetched_once_and_cached(keys: fakes.Keys, key_set: OpenIdKeys,
                                                documents: Documents) -> None:
    for _ in range(20):
        await verify(key_set, token(keys))
    assert documents.fetches == [METADATA_URL, JWKS_URL]


async def test_unknown_kids_refresh_the_keys_at_most_once_every_five_minutes(
        keys: fakes.Keys, key_set: OpenIdKeys, documents: Documents, clock: Clock) -> None:
    await verify(key_set, token(keys))
    assert key_set.fetch_count == 1
    for second in range(0, 297, 3):  # a flood of made-up kids, 99 in under five minutes
        clock.now += 3
        with pytest.raises(Unauthenticated, match="unknown kid"):
            await verify(key_set, token(keys, kid=f"forged-{second}"))
    assert key_set.fetch_count == 1, "an unknown kid forced a refresh within five minutes"
    clock.now += 5
    with pytest.raises(Unauthenticated, match="unknown kid"):
        await verify(key_set, token(keys, kid="forged-late"))
    assert key_set.fetch_count == 2
    with pytest.raises(Unauthenticated, match="unknown kid"):
        await verify(key_set, token(keys, kid="forged-later"))
    assert key_set.fetch_count == 2


async def test_a_new_key_is_picked_up_within_five_minutes(
        keys: fakes.Keys, key_set: OpenIdKeys, documents: Documents, clock: Clock) -> None:
    await verify(key_set, token(keys))
    rotated = fakes.rsa_key()
    documents.jwks = {"keys": documents.jwks["keys"]
                      + [fakes.public_jwk(rotated, "rotated", ["msteams"])]}
    clock.now += 5 * 60
    verified = await verify(key_set, token(keys, key=rotated, kid="rotated"))
    assert verified.endorsements == {"msteams"}


async def test_a_key_removed_from_the_jwks_is_dropped_at_the_next_refresh(
        keys: fakes.Keys, key_set: OpenIdKeys, documents: Documents, clock: Clock) -> None:
    await verify(key_set, token(keys))
    documents.jwks = {"keys": [k for k in documents.jwks["keys"]
                               if k["kid"] != fakes.SIGNING_KID]}
    clock.now += 3600  # the hourly refresh
    with pytest.raises(Unauthenticated, match="unknown kid"):
        await verify(key_set, token(keys))
    assert key_set.fetch_count == 2


async def test_keys_older_than_an_hour_are_refreshed(keys: fakes.Keys, key_set: OpenIdKeys,
                                                     clock: Clock) -> None:
    await verify(key_set, token(keys))
    clock.now += 3600
    await verify(key_set, token(keys))
    assert key_set.fetch_count == 2


async def test_concurrent_unknown_kids_cause_one_fetch(keys: fakes.Keys, key_set: OpenIdKeys,
                                                       documents: Documents) -> None:
    forged = [token(keys, kid=f"forged-{i}") for i in range(50)]
    results = await asyncio.gather(*(verify(key_set, t) for t in forged), return_exceptions=True)
    assert all(isinstance(r, Unauthenticated) for r in results)
    assert documents.fetches == [METADATA_URL, JWKS_URL]


async def test_unreachable_keys_mean_503_and_a_retry_at_most_each_minute(
        keys: fakes.Keys, key_set: OpenIdKeys, documents: Documents, clock: Clock) -> None:
    documents.fail = True
    for _ in range(10):
        with pytest.raises(KeysUnavailable):
            await verify(key_set, token(keys))
    assert key_set.fetch_count == 1
    documents.fail = False
    clock.now += 61
    await verify(key_set, token(keys))
    assert key_set.fetch_count == 2


async def test_a_failed_refresh_keeps_the_old_keys(keys: fakes.Keys, key_set: OpenIdKeys,
                                                   documents: Documents, clock: Clock) -> None:
    await verify(key_set, token(keys))
    documents.fail = True
    clock.now += 24 * 3600
    await verify(key_set, token(keys))  # stale but still the best we have
    assert key_set.fetch_count == 2


async def test_a_plain_http_jwks_uri_is_refused(keys: fakes.Keys, documents: Documents,
                                                clock: Clock) -> None:
    documents.jwks_uri = "http://attacker.example/keys"
    key_set = OpenIdKeys(METADATA_URL, documents, clock=clock)
    with pytest.raises(KeysUnavailable):
        await verify(key_set, token(keys))


@pytest.mark.parametrize("url", ["http://login.botframework.com/v1/x", "ftp://x/y", "/relative",
                                 "https://", "http://10.0.0.1/openid"])
def test_key_documents_must_be_https(url: str) -> None:
    with pytest.raises(ValueError):
        check_document_url(url)


def test_loopback_http_is_allowed_for_local_test_servers() -> None:
    check_document_url("http://127.0.0.1:8000/openid")


def test_only_strong_rsa_signing_keys_are_kept(keys: fakes.Keys) -> None:
    jwks = keys.jwks()
    jwks["keys"] += [{"kty": "RSA", "kid": "broken", "n": "AQAB", "e": "AQAB"},
                     {**fakes.public_jwk(keys.signing, "encryption", []), "use": "enc"},
                     {"kty": "oct", "kid": "symmetric", "k": "c2VjcmV0"}, "junk", {"kid": 5}]
    assert set(parse_jwks(jwks)) == {fakes.SIGNING_KID, fakes.UNENDORSED_KID}
    with pytest.raises(ValueError):
        parse_jwks({"nokeys": []})


async def test_keys_are_fetched_over_http_without_blocking(keys: fakes.Keys,
                                                           platforms: fakes.PlatformFakes) -> None:
    """The real fetcher (aiohttp) against the local OpenID server."""
    fetcher = JsonFetcher()
    key_set = OpenIdKeys(platforms.metadata_url, fetcher)
    before = len(platforms.jwks_fetches.calls)
    verified = await verify_token(f"Bearer {token(keys)}", key_set, fakes.APP_ID)
    await fetcher.close()
    assert verified.endorsements == {"msteams", "skype", "webchat"}
    assert len(platforms.jwks_fetches.calls) == before + 1


# --- rules 5-7 ---------------------------------------------------------------------------------

def verified_token(endorsements: frozenset = frozenset({"msteams"}),
                   **claims: Any) -> VerifiedToken:
    return VerifiedToken(claims={"serviceurl": SERVICE_URL, **claims}, endorsements=endorsements)


def test_a_matching_activity_is_bound_to_the_token() -> None:
    verified = check_activity(verified_token(), fakes.activity(SERVICE_URL), fakes.TENANT_ID)
    assert (verified.service_url, verified.channel_id, verified.tenant_id) == (
        SERVICE_URL, "msteams", fakes.TENANT_ID)


def test_tenant_ids_compare_case_insensitively() -> None:
    activity = fakes.activity(SERVICE_URL, tenant=fakes.TENANT_ID.upper())
    assert check_activity(verified_token(), activity, fakes.TENANT_ID).tenant_id == fakes.TENANT_ID


@pytest.mark.parametrize("change", [
    {"serviceUrl": "https://attacker.example/"},
    {"serviceUrl": SERVICE_URL.rstrip("/")},
    {"serviceUrl": None},
    {"serviceUrl": ["https://smba.trafficmanager.net/uk/"]},
    {"channelId": "webchat"}, {"channelId": "MSTEAMS"}, {"channelId": None}, {"channelId": ""},
    {"tenant": fakes.FOREIGN_TENANT_ID}, {"channel_data_tenant": fakes.FOREIGN_TENANT_ID},
    {"tenant": None, "channel_data_tenant": None}, {"tenant": 42},
    {"tenant": fakes.FOREIGN_TENANT_ID, "channel_data_tenant": None},
], ids=lambda change: json.dumps(change)[:60])
def test_each_binding_failure_is_forbidden(change: Dict[str, Any]) -> None:
    change = dict(change)
    activity_args = {k: change.pop(k) for k in ("tenant", "channel_data_tenant",
                                                "channel_id") if k in change}
    activity = fakes.activity(SERVICE_URL, **activity_args)
    for name, value in change.items():
        if value is None:
            activity.pop(name, None)
        else:
            activity[name] = value
    with pytest.raises(Forbidden):
        check_activity(verified_token(endorsements=frozenset({"msteams", "webchat"})),
                       activity, fakes.TENANT_ID)


def test_a_channel_the_key_does_not_endorse_is_forbidden() -> None:
    with pytest.raises(Forbidden, match="endorsed"):
        check_activity(verified_token(endorsements=frozenset({"webchat"})),
                       fakes.activity(SERVICE_URL), fakes.TENANT_ID)


@pytest.mark.parametrize("body", [None, [], "activity", 5])
def test_a_body_that_is_not_an_object_is_invalid(body: Any) -> None:
    with pytest.raises(InvalidActivity):
        check_activity(verified_token(), body, fakes.TENANT_ID)
