"""OpenID Connect sign-in against Entra ID (single tenant): the authorisation code flow with
PKCE through MSAL, and every rule of the ID token checked here.

MSAL (`msal.ConfidentialClientApplication`) builds the authorisation request (state, nonce,
PKCE `S256` challenge; `initiate_auth_code_flow`) and redeems the code with the client secret
and the PKCE verifier (`acquire_token_by_auth_code_flow`, which refuses a response whose
`state` differs from the flow's). Since MSAL 1.38 it no longer validates the ID token ("the
application's responsibility", msal issue #911), so `IdTokenRules.check` does, rule by rule:

1. a JWS signed with an algorithm of our list (RS256, the one Entra ID uses) that the
   provider's discovery document advertises — never `none`, never HMAC, never the algorithm
   the token merely names (OpenID Connect Core 1.0 §3.1.3.7 items 6-8; RFC 8725 §3.1);
2. by a key of the provider's JWKS (`jwks_uri` of the discovery document, https only) named by
   the header's `kid`; the set is refreshed when an hour old and, for a `kid` not in it (a
   rotated key), at most once a minute, and every refresh replaces the whole set (so a key the
   provider withdrew is trusted an hour at most) (Microsoft identity platform, "Signing key
   rollover");
3. `iss` equals `https://<authority host>/<our tenant id>/v2.0` exactly, and so must the
   discovery document's `issuer` (OIDC Core §3.1.3.7 item 2; OpenID Connect Discovery §4.3);
4. `aud` is exactly our client id, a single string (§3.1.3.7 items 3-5);
5. `exp` is in the future, `nbf` (when present) and `iat` are not, with two minutes of clock
   skew, and `iat` is at most ten minutes old: a token straight from the token endpoint is
   new (§3.1.3.7 items 9-10);
6. `nonce` equals SHA-256 of the flow's nonce (MSAL sends the hash; §3.1.3.7 item 11), so an
   ID token minted for another sign-in is refused;
7. `tid` is our tenant (single tenant: a user of any other organisation is refused, even one
   our app registration would let in), and `oid`, the user's object id in it, is a GUID
   (Microsoft identity platform, "ID token claims reference": `oid` + `tid` identify the user
   across applications; `sub` is pairwise per application, so it is not used).

The verified identity is (`tid`, `oid`): the same pair Teams reports for the same person
(`from.aadObjectId` in our tenant), which is how one person is one employee in both channels
(`bot.identity`). Nothing here logs a token, a code or a claim value; refusals carry a short
fixed reason for the audit trail.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import re
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import msal
import msal.exceptions
import requests
import requests.adapters
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from signing_keys import rsa_signing_keys

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256",)
CLOCK_SKEW_SECONDS = 120
MAX_TOKEN_AGE_SECONDS = 600
KEY_MAX_AGE_SECONDS = 3600
UNKNOWN_KID_REFRESH_SECONDS = 60
FAILED_FETCH_RETRY_SECONDS = 10
HTTP_TIMEOUT_SECONDS = 10.0
MAX_TOKEN_LENGTH = 16 * 1024
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PUBLIC_CLOUD = "https://login.microsoftonline.com"


class SignInRefused(Exception):
    """The provider's answer does not sign anyone in. `reason` is short, fixed text (for the
    audit trail and logs): never a claim value, a code or a token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailable(Exception):
    """Entra ID (its discovery document, keys or token endpoint) could not be reached."""


def is_guid(value: Any) -> bool:
    return isinstance(value, str) and GUID.match(value.lower()) is not None


@dataclass(frozen=True)
class EntraConfig:
    """One app registration in one tenant (single tenant), from ENTRA_* variables."""

    tenant_id: str
    client_id: str
    client_secret: str
    redirect_uri: str
    authority_host: str = PUBLIC_CLOUD
    # A CA bundle for the provider's TLS certificate: only for a private CA or a local test
    # fake; empty = the system's trust store.
    ca_bundle: str = ""

    @property
    def authority(self) -> str:
        return f"{self.authority_host.rstrip('/')}/{self.tenant_id}"

    @property
    def issuer(self) -> str:
        return f"{self.authority}/v2.0"

    @property
    def discovery_url(self) -> str:
        return f"{self.authority}/v2.0/.well-known/openid-configuration"

    def tls_context(self) -> ssl.SSLContext:
        """For httpx: the same trust, as a context."""
        return ssl.create_default_context(cafile=self.ca_bundle or None)


@dataclass(frozen=True)
class VerifiedUser:
    """Who Entra ID signed in, after every rule held."""

    tenant_id: str  # lower case
    object_id: str  # lower case
    name: str  # display name, for the page only (never logged)
    roles: frozenset[str] = field(default_factory=frozenset)  # app role values, as sent


def nonce_hash(nonce: str) -> str:
    """What MSAL puts in the authorisation request, and so what the ID token must carry."""
    return hashlib.sha256(nonce.encode("ascii")).hexdigest()


def _https_url(value: Any) -> str:
    if not isinstance(value, str):
        raise SignInRefused("discovery document lacks an endpoint")
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise SignInRefused("provider endpoint is not https")
    return value


Fetch = Callable[[str], Any]


class ProviderMetadata:
    """The discovery document and the signing keys, cached (rule 2 and 3)."""

    def __init__(self, config: EntraConfig, fetch: Fetch,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, RSAPublicKey] = {}
        self._algorithms: frozenset[str] = frozenset()
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self.fetch_count = 0

    def _may_refresh(self, now: float, unknown_kid: bool) -> bool:
        if self._failed_at is not None and now - self._failed_at < FAILED_FETCH_RETRY_SECONDS:
            return False
        if self._fetched_at is None:
            return True
        age = now - self._fetched_at
        return age >= KEY_MAX_AGE_SECONDS or (unknown_kid and age >= UNKNOWN_KID_REFRESH_SECONDS)

    def _refresh(self) -> None:
        self.fetch_count += 1
        document = self._fetch(self.config.discovery_url)
        if not isinstance(document, dict):
            raise SignInRefused("discovery document is not an object")
        if document.get("issuer") != self.config.issuer:
            raise SignInRefused("discovery document names another issuer")
        jwks_uri = _https_url(document.get("jwks_uri"))
        advertised = document.get("id_token_signing_alg_values_supported")
        algorithms = frozenset(a for a in (advertised if isinstance(advertised, list) else [])
                               if a in ALGORITHMS)
        keys = parse_jwks(self._fetch(jwks_uri))
        if not algorithms or not keys:
            raise SignInRefused("provider offers no usable signing keys")
        self._keys, self._algorithms = keys, algorithms
        self._fetched_at = self._clock()
        self._failed_at = None
        log.info("entra.keys.refreshed count=%d", len(keys))

    def key(self, kid: str) -> tuple[RSAPublicKey | None, frozenset[str]]:
        """The key named `kid` and the algorithms allowed, refreshing as rule 2 says."""
        with self._lock:
            now = self._clock()
            found = self._keys.get(kid)
            if self._may_refresh(now, unknown_kid=found is None):
                try:
                    self._refresh()
                except (SignInRefused, ProviderUnavailable, ValueError) as error:
                    self._failed_at = now
                    log.warning("entra.keys.refresh_failed error=%s", type(error).__name__)
                    if not self._keys:
                        raise ProviderUnavailable("no signing keys") from None
            return self._keys.get(kid), self._algorithms


def parse_jwks(document: Any) -> dict[str, RSAPublicKey]:
    """RSA signing keys by kid (`signing_keys`' rules)."""
    try:
        return {kid: key for kid, (key, _entry) in rsa_signing_keys(document).items()}
    except ValueError:
        raise SignInRefused("JWKS has no key list") from None


class IdTokenRules:
    """Rules 1-7 of the module docstring, for one app registration."""

    def __init__(self, config: EntraConfig, metadata: ProviderMetadata,
                 now: Callable[[], float] = time.time) -> None:
        self.config = config
        self.metadata = metadata
        self._now = now

    def check(self, id_token: Any, nonce: str) -> VerifiedUser:
        if not isinstance(id_token, str) or not id_token or len(id_token) > MAX_TOKEN_LENGTH:
            raise SignInRefused("no ID token")
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise SignInRefused("malformed ID token") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS:
            raise SignInRefused("algorithm not allowed")
        if not isinstance(kid, str) or not kid or len(kid) > 256:
            raise SignInRefused("ID token names no key")
        key, allowed = self.metadata.key(kid)
        if key is None:
            raise SignInRefused("unknown signing key")
        if algorithm not in allowed:
            raise SignInRefused("algorithm not advertised")
        try:
            claims = jwt.decode(
                id_token, key, algorithms=[algorithm], audience=self.config.client_id,
                issuer=self.config.issuer,
                options={"require": ["iss", "aud", "exp", "iat", "nonce", "tid", "oid"],
                         "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                         "strict_aud": True})
        except jwt.InvalidSignatureError:
            raise SignInRefused("bad signature") from None
        except jwt.InvalidIssuerError:
            raise SignInRefused("wrong issuer") from None
        except jwt.InvalidAudienceError:
            raise SignInRefused("wrong audience") from None
        except jwt.MissingRequiredClaimError as error:
            raise SignInRefused(f"claim {error.claim} missing") from None
        except (jwt.PyJWTError, TypeError, ValueError):  # PyJWT raises TypeError for some
            raise SignInRefused("invalid ID token") from None   # claim types (a numeric iss)
        self._check_times(claims)
        if not isinstance(claims.get("nonce"), str) or claims["nonce"] != nonce_hash(nonce):
            raise SignInRefused("wrong nonce")
        tenant, user = claims.get("tid"), claims.get("oid")
        if not is_guid(tenant) or tenant.lower() != self.config.tenant_id.lower():
            raise SignInRefused("other tenant")
        if not is_guid(user):
            raise SignInRefused("no object id")
        roles = claims.get("roles")
        names = frozenset(r for r in roles if isinstance(r, str)) if isinstance(roles, list) \
            else frozenset()
        name = claims.get("name")
        return VerifiedUser(tenant.lower(), user.lower(),
                            name if isinstance(name, str) else "", names)

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = self._now()
        values = {}
        for name in ("exp", "iat", "nbf"):
            value = claims.get(name)
            if value is None and name == "nbf":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or value != value or value in (float("inf"), float("-inf")):
                raise SignInRefused(f"claim {name} is not a time")
            values[name] = float(value)
        if values["exp"] <= now - CLOCK_SKEW_SECONDS:
            raise SignInRefused("expired")
        if values.get("nbf", now) > now + CLOCK_SKEW_SECONDS:
            raise SignInRefused("not valid yet")
        if values["iat"] > now + CLOCK_SKEW_SECONDS:
            raise SignInRefused("issued in the future")
        if values["iat"] < now - MAX_TOKEN_AGE_SECONDS - CLOCK_SKEW_SECONDS:
            raise SignInRefused("issued too long ago")


class _NoTokenCache(msal.TokenCache):
    """Sign-in only: the tokens are not kept (MSAL's default cache would keep every user's)."""

    def add(self, event: Any, now: Any = None) -> None:  # noqa: ARG002
        return None


class EntraSignIn:
    """The flow, one instance per process: `begin` before the redirect, `complete` after."""

    def __init__(self, config: EntraConfig, *, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], float] = time.time) -> None:
        self.config = config
        self.metadata = ProviderMetadata(config, self._fetch_json, clock)
        self.rules = IdTokenRules(config, self.metadata, now)
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()
        self._tls = config.tls_context()

    def _fetch_json(self, url: str) -> Any:
        try:
            answer = httpx.get(url, timeout=HTTP_TIMEOUT_SECONDS, verify=self._tls,
                               follow_redirects=False)
        except httpx.HTTPError as error:
            raise ProviderUnavailable(type(error).__name__) from None
        if answer.status_code != 200:
            raise ProviderUnavailable(f"status {answer.status_code}")
        try:
            return answer.json()
        except ValueError:
            raise SignInRefused("provider document is not JSON") from None

    def _http_client(self) -> requests.Session | None:
        """MSAL's HTTP client: its own (None) unless a CA bundle is configured. requests lets
        REQUESTS_CA_BUNDLE override a session's `verify`, so the bundle goes on every request."""
        if not self.config.ca_bundle:
            return None
        session = requests.Session()
        session.request = functools.partial(  # type: ignore[method-assign]
            session.request, timeout=HTTP_TIMEOUT_SECONDS, verify=self.config.ca_bundle)
        adapter = requests.adapters.HTTPAdapter(max_retries=1)
        session.mount("https://", adapter)
        return session

    def _application(self) -> msal.ConfidentialClientApplication:
        with self._lock:
            if self._app is None:
                try:
                    self._app = msal.ConfidentialClientApplication(
                        self.config.client_id, client_credential=self.config.client_secret,
                        authority=self.config.authority, instance_discovery=False,
                        http_client=self._http_client(), timeout=HTTP_TIMEOUT_SECONDS,
                        token_cache=_NoTokenCache(), exclude_scopes=["offline_access"])
                except ValueError as error:  # discovery failed or answered nonsense
                    raise ProviderUnavailable(type(error).__name__) from None
                except Exception as error:  # requests' connection errors and the like
                    raise ProviderUnavailable(type(error).__name__) from None
            return self._app

    def begin(self) -> dict[str, Any]:
        """A new flow (state, nonce, PKCE verifier, `auth_uri`): keep it, send the user to
        `auth_uri`.

        `response_mode=query`: the callback is a top-level GET, so the browser-binding cookie
        can stay SameSite=Lax and the callback needs no exemption from the Origin check that
        every POST passes. MSAL warns that `form_post` keeps the code out of URLs (RFC 9700
        §4.3.1); here the code is single use, useless without the PKCE verifier and the client
        secret (both only on the server), and the callback page sends no Referer elsewhere."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="response_mode='form_post'")
            flow = self._application().initiate_auth_code_flow(
                scopes=[], redirect_uri=self.config.redirect_uri, response_mode="query",
                prompt="select_account")
        if "auth_uri" not in flow:
            raise ProviderUnavailable("no authorisation URL")
        return flow

    def complete(self, flow: Mapping[str, Any], response: Mapping[str, str]) -> VerifiedUser:
        """Redeem the callback's code (state checked by MSAL) and check the ID token."""
        if response.get("state") != flow.get("state"):
            raise SignInRefused("wrong state")
        if "error" in response:
            raise SignInRefused("provider refused the sign-in")
        if not isinstance(response.get("code"), str) or not response["code"]:
            raise SignInRefused("no code")
        try:
            result = self._application().acquire_token_by_auth_code_flow(
                dict(flow), dict(response))
        except ValueError:
            raise SignInRefused("flow does not match the response") from None
        except RuntimeError:  # MSAL's own nonce check
            raise SignInRefused("wrong nonce") from None
        except msal.exceptions.MsalServiceError as error:  # an HTTP error without a JSON body
            if "HTTP Error: 5" in str(error):
                raise ProviderUnavailable("token endpoint failed") from None
            raise SignInRefused("token endpoint refused the code") from None
        except requests.RequestException as error:
            raise ProviderUnavailable(type(error).__name__) from None
        except Exception:  # MSAL could not even read the answer (a malformed ID token, say)
            raise SignInRefused("token endpoint answered nonsense") from None
        if not isinstance(result, dict):
            raise SignInRefused("token endpoint answered nonsense")
        if "error" in result:
            raise SignInRefused("token endpoint refused the code")
        return self.rules.check(result.get("id_token"), str(flow.get("nonce") or ""))
