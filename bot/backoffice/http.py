"""The HTTP side of the vendor adapters: one httpx client per system, OAuth, failure kinds.

Each request's timeout comes from the turn's budget (`resilience.attempt_timeout`). A failure
is classified once, here:
- not sent or not processed (connection refused, 429, 502/503/504) -> `Transient`, with the
  server's `Retry-After` when it gave one: safe to retry a read, and a write that was not
  processed is reported unavailable;
- sent, outcome unknown (a read timeout or a dropped connection after a write was sent) ->
  `OutcomeUnknown` for writes (reconciled by client reference, never guessed), `Transient`
  for reads;
- anything else non-2xx -> `HttpRefused` with the status (a business refusal or a bug:
  never retried).

Tokens: Oracle (HCM and Fusion ERP) use the OAuth 2.0 client credentials grant against the
identity domain's token endpoint; SuccessFactors uses its SAML 2.0 bearer flow (`/oauth/idp`
issues a signed assertion for the technical user, `/oauth/token` exchanges it). Tokens are
cached until a minute before they expire and never logged.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import httpx

from .errors import OutcomeUnknown
from .resilience import Transient, attempt_timeout

RETRYABLE_STATUS = {429, 502, 503, 504}
# httpx logs every request's URL at INFO; ours carry person numbers and record references.
logging.getLogger("httpx").setLevel(logging.WARNING)


class HttpRefused(Exception):
    """A non-2xx answer that retrying will not change (400, 401, 403, 404, 409, 422...)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: treated as "no hint"


class TokenSource:
    """A bearer token for a system, fetched when needed and cached until near expiry."""

    def __init__(self) -> None:
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def token(self, http: httpx.Client) -> str:
        with self._lock:
            if self._token is None or time.monotonic() > self._expires:
                token, lifetime = self._fetch(http)
                self._token, self._expires = token, time.monotonic() + max(0, lifetime - 60)
            return self._token

    def forget(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self, http: httpx.Client) -> tuple[str, float]:
        raise NotImplementedError

    @staticmethod
    def _post_form(http: httpx.Client, url: str, data: dict[str, str], **kwargs: Any) -> httpx.Response:
        try:
            response = http.post(url, data=data, timeout=attempt_timeout(2.0), **kwargs)
        except httpx.TransportError as error:
            raise Transient(f"token endpoint: {type(error).__name__}") from error
        if response.status_code in RETRYABLE_STATUS or response.status_code >= 500:
            raise Transient(f"token endpoint: HTTP {response.status_code}", _retry_after(response))
        if response.status_code != 200:
            raise HttpRefused(response.status_code, "token request refused")
        return response


class ClientCredentials(TokenSource):
    """OAuth 2.0 client credentials (RFC 6749 §4.4): Oracle identity domains' token endpoint
    (`/oauth2/v1/token`), client id and secret by HTTP Basic, the Fusion scope."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, scope: str) -> None:
        super().__init__()
        self.token_url, self.client_id, self.client_secret = token_url, client_id, client_secret
        self.scope = scope

    def _fetch(self, http: httpx.Client) -> tuple[str, float]:
        data = {"grant_type": "client_credentials"}
        if self.scope:
            data["scope"] = self.scope
        body = self._post_form(http, self.token_url, data,
                               auth=(self.client_id, self.client_secret)).json()
        return str(body["access_token"]), float(body.get("expires_in", 3600))


class SamlBearer(TokenSource):
    """SuccessFactors OAuth 2.0 with a SAML 2.0 bearer assertion: `POST /oauth/idp`
    (client_id, user_id, token_url, private_key) returns a Base64 assertion; `POST
    /oauth/token` (company_id, client_id, grant_type=urn:ietf:params:oauth:grant-type:
    saml2-bearer, assertion) returns the access token."""

    GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer"

    def __init__(self, api_url: str, company_id: str, client_id: str, user_id: str,
                 private_key: str) -> None:
        super().__init__()
        self.api_url = api_url.rstrip("/")
        self.company_id, self.client_id, self.user_id = company_id, client_id, user_id
        self.private_key = private_key

    def _fetch(self, http: httpx.Client) -> tuple[str, float]:
        token_url = f"{self.api_url}/oauth/token"
        assertion = self._post_form(http, f"{self.api_url}/oauth/idp", {
            "client_id": self.client_id,
            "user_id": self.user_id,
            "token_url": token_url,
            "private_key": self.private_key,
        }).text.strip()
        body = self._post_form(http, token_url, {
            "company_id": self.company_id,
            "client_id": self.client_id,
            "grant_type": self.GRANT,
            "assertion": assertion,
        }).json()
        return str(body["access_token"]), float(body.get("expires_in", 3600))


class JsonApi:
    """JSON over HTTPS to one system of record, authenticated with a bearer token."""

    def __init__(self, system: str, base_url: str, tokens: TokenSource,
                 attempt_limit: float = 1.0, write_limit: float = 2.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.system = system
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.attempt_limit = attempt_limit
        self.write_limit = write_limit
        self.http = httpx.Client(transport=transport, follow_redirects=False,
                                 limits=httpx.Limits(max_connections=20))

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def _send(self, method: str, path: str, *, write: bool, **kwargs: Any) -> httpx.Response:
        limit = self.write_limit if write else self.attempt_limit
        headers = {"Authorization": f"Bearer {self.tokens.token(self.http)}",
                   "Accept": "application/json", **kwargs.pop("headers", {})}
        try:
            response = self.http.request(method, self._url(path), headers=headers,
                                         timeout=attempt_timeout(limit), **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            raise Transient(f"{type(error).__name__}") from error  # never reached the server
        except httpx.TransportError as error:  # sent: read timeout, connection dropped
            if write:
                raise OutcomeUnknown(self.system, "") from error
            raise Transient(type(error).__name__) from error
        if response.status_code == 401:
            self.tokens.forget()  # expired or revoked: the next attempt fetches a new one
            raise Transient("HTTP 401")
        if response.status_code in RETRYABLE_STATUS or (response.status_code >= 500 and not write):
            raise Transient(f"HTTP {response.status_code}", _retry_after(response))
        if response.status_code >= 500:
            raise OutcomeUnknown(self.system, "")  # a write the server failed part-way
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"detail": response.text[:200]}
            raise HttpRefused(response.status_code, body)
        return response

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._send("GET", path, write=False, params=params).json()

    def get_or_none(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return self.get(path, params)
        except HttpRefused as error:
            if error.status == 404:
                return None
            raise

    def send(self, method: str, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        response = self._send(method, path, write=True, json=body, headers=headers or {})
        return response.json() if response.content else None

    def close(self) -> None:
        self.http.close()
