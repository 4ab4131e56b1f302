"""Outbound Bot Framework calls: an MSAL app token, and activities posted to the Bot Connector.

Single-tenant bots (the only kind Azure lets us create now) must get their token from their own
tenant, `https://login.microsoftonline.com/<tenant id>`, not from the multi-tenant
`botframework.com` tenant that Rasa's stock channel hard-codes. MSAL caches the token and
renews it before expiry; its calls are synchronous, so they run in a worker thread, and one
MSAL application per channel instance (so per process) holds the cache.

Callers pass only service URLs taken from verified activities (see `teams_auth`).
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any, Dict, Mapping, Optional, Protocol, Text
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)
# MSAL's DEBUG output includes token-cache events: keep it out of the logs.
logging.getLogger("msal").setLevel(logging.INFO)

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
REQUEST_TIMEOUT_SECONDS = 15


class TokenUnavailable(Exception):
    """MSAL could not get an app token (wrong secret, tenant, network...)."""


class TokenSource(Protocol):
    async def token(self) -> Text:
        """A bearer token for the Bot Connector service."""


class MsalTokenSource:
    """Client-credentials tokens for our app from our own tenant, cached by MSAL."""

    def __init__(self, app_id: Text, app_password: Text, tenant_id: Text,
                 authority_host: Text = DEFAULT_AUTHORITY_HOST,
                 scope: Text = BOT_FRAMEWORK_SCOPE, http_client: Any = None) -> None:
        self._app_id = app_id
        self._app_password = app_password
        self._authority_host = authority_host.rstrip("/")
        self._authority = f"{self._authority_host}/{tenant_id}"
        self._scope = scope
        self._http_client = http_client  # tests pass a fake; None means MSAL's own (requests)
        self._app: Any = None
        self._lock = threading.Lock()

    def _acquire(self) -> Text:
        import msal

        with self._lock:
            if self._app is None:  # creating it performs tenant discovery: keep it off the loop
                options: Dict[Text, Any] = {}
                if self._http_client is not None:
                    options["http_client"] = self._http_client
                if self._authority_host != DEFAULT_AUTHORITY_HOST:
                    # A host the operator configured (sovereign cloud, local test fake): MSAL's
                    # instance discovery would ask login.microsoftonline.com to vouch for it.
                    # Well-known Microsoft hosts skip that check anyway.
                    options["instance_discovery"] = False
                self._app = msal.ConfidentialClientApplication(
                    self._app_id, client_credential=self._app_password,
                    authority=self._authority, **options)
            app = self._app
        # MSAL >= 1.23 answers from its cache until shortly before the token expires.
        result = app.acquire_token_for_client(scopes=[self._scope])
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            error = result.get("error") if isinstance(result, dict) else None
            raise TokenUnavailable(str(error or "no access token"))
        return token

    async def token(self) -> Text:
        return await asyncio.to_thread(self._acquire)


class SessionPerLoop:
    """One aiohttp session for the running event loop (a session must not cross loops)."""

    def __init__(self) -> None:
        self._session: Optional[aiohttp.ClientSession] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def get(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS))
            self._loop = loop
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def activities_url(service_url: Text, conversation_id: Text) -> Text:
    return (f"{service_url.rstrip('/')}/v3/conversations/"
            f"{quote(conversation_id, safe='')}/activities")


class BotConnector:
    """Posts activities to a conversation through the Bot Connector (aiohttp, non-blocking)."""

    def __init__(self, tokens: TokenSource) -> None:
        self._tokens = tokens
        self._sessions = SessionPerLoop()

    async def send(self, reference: Mapping[Text, Any], activity: Mapping[Text, Any]) -> bool:
        """POST one activity; True when the connector accepted it. Errors are logged, not raised."""
        try:
            token = await self._tokens.token()
        except Exception as error:
            logger.error("msteams.token.failed error=%s", type(error).__name__)
            return False
        url = activities_url(reference["serviceUrl"], reference["conversationId"])
        try:
            async with self._sessions.get().post(
                url, json=dict(activity), headers={"Authorization": f"Bearer {token}"}
            ) as response:
                if response.status >= 300:
                    logger.error("msteams.send.failed status=%d", response.status)
                    return False
                return True
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.error("msteams.send.failed error=%s", type(error).__name__)
            return False

    async def close(self) -> None:
        await self._sessions.close()


class JsonFetcher:
    """GETs a small JSON document with aiohttp (OpenID metadata, JWKS)."""

    def __init__(self, max_bytes: int = 1024 * 1024) -> None:
        self._max_bytes = max_bytes
        self._sessions = SessionPerLoop()

    async def __call__(self, url: Text) -> Any:
        async with self._sessions.get().get(url, allow_redirects=False) as response:
            response.raise_for_status()
            body = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                body.extend(chunk)
                if len(body) > self._max_bytes:
                    raise ValueError("document too large")
            return json.loads(bytes(body))

    async def close(self) -> None:
        await self._sessions.close()
