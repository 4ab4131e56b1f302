"""Microsoft's and Slack's endpoints, faked on one local HTTPS server, for the running stack.

Served on https://127.0.0.1:<port> with a certificate from a throwaway CA (platform_keys.py,
run in the Rasa runtime), in a background thread with its own event loop, so a synchronous test
can drive the stack over HTTP and wait here for what the stack sent:

    GET  /botframework/openid                         Bot Framework OpenID metadata
    GET  /botframework/keys                           its JWKS (one RSA key, endorsed: msteams)
    GET  /<tenant>/v2.0/.well-known/openid-configuration   Entra ID tenant discovery (MSAL)
    POST /<tenant>/oauth2/v2.0/token                  client-credentials grant -> app token
    POST /connector/v3/conversations/<id>/activities  Bot Connector (the activity's serviceUrl)
    GET|POST /slack/api/<method>                      Slack Web API: users.info, chat.postMessage

Every call is recorded; `Recorder.wait_for` blocks on a condition variable with a timeout
(no sleeping). Nothing is fetched from the internet.
"""
from __future__ import annotations

import asyncio
import json
import secrets
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"

Call = dict[str, Any]


class Recorder:
    """Calls seen by one fake endpoint, with a condition to wait on."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._condition = threading.Condition()

    def add(self, call: Call) -> None:
        with self._condition:
            self.calls.append(call)
            self._condition.notify_all()

    def snapshot(self) -> list[Call]:
        with self._condition:
            return list(self.calls)

    def wait_for(self, matches: Callable[[Call], bool], timeout: float = 60.0) -> Call:
        """The first recorded call that `matches`, waiting up to `timeout` seconds for it."""
        def found() -> Call | None:
            return next((call for call in self.calls if matches(call)), None)

        with self._condition:
            if not self._condition.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"no matching call within {timeout:.0f} s; "
                                     f"{len(self.calls)} other call(s) recorded")
            return found()


class PlatformFakes:
    """The fake Bot Framework, Entra ID, Bot Connector and Slack Web API, over TLS."""

    def __init__(self, workdir: Path, *, app_id: str, app_password: str, tenant_id: str,
                 slack_bot_token: str) -> None:
        self.app_id = app_id
        self.tenant_id = tenant_id
        self._app_password = app_password
        self.slack_bot_token = slack_bot_token
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.base_url = f"https://127.0.0.1:{self.port}"
        material = subprocess.run(
            [str(RASA_PYTHON), str(Path(__file__).with_name("platform_keys.py")),
             str(workdir), self.service_url, app_id],
            check=True, capture_output=True, text=True, timeout=120).stdout
        keys = json.loads(material)
        self.jwks: dict[str, Any] = keys["jwks"]
        self.genuine_token: str = keys["tokens"]["genuine"]
        self.forged_token: str = keys["tokens"]["forged"]
        self.ca_file = workdir / "ca.pem"
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._tls.load_cert_chain(workdir / "server.pem", workdir / "server-key.pem")

        self.key_fetches = Recorder()
        self.token_requests = Recorder()
        self.connector = Recorder()
        self.slack = Recorder()
        self.issued_tokens: set[str] = set()
        self.slack_users: dict[str, dict[str, Any]] = {}
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # -- what the stack is configured with ---------------------------------------------------

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/botframework/openid"

    @property
    def authority_host(self) -> str:
        return self.base_url

    @property
    def service_url(self) -> str:
        return f"{self.base_url}/connector/"

    @property
    def slack_api_url(self) -> str:
        return f"{self.base_url}/slack/api/"

    def outbound(self) -> tuple[int, int, int]:
        """How many app tokens, Bot Connector posts and Slack API calls were seen so far."""
        return (len(self.token_requests.snapshot()), len(self.connector.snapshot()),
                len(self.slack.snapshot()))

    # -- Bot Framework ---------------------------------------------------------------------------

    async def _openid(self, _: web.Request) -> web.Response:
        self.key_fetches.add({"document": "openid"})
        return web.json_response({
            "issuer": "https://api.botframework.com",
            "authorization_endpoint": "https://invalid.example/unused",
            "jwks_uri": f"{self.base_url}/botframework/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        })

    async def _keys(self, _: web.Request) -> web.Response:
        self.key_fetches.add({"document": "jwks"})
        return web.json_response(self.jwks)

    # -- Entra ID (MSAL) -------------------------------------------------------------------------

    async def _tenant_discovery(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        base = f"{self.base_url}/{tenant}"
        return web.json_response({
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
        })

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: v[0] for k, v in parse_qs(await request.text()).items()}
        secret_ok = secrets.compare_digest(form.pop("client_secret", ""), self._app_password)
        call = {"tenant": request.match_info["tenant"], "secret_ok": secret_ok, "form": form}
        if not secret_ok or form.get("client_id") != self.app_id:
            self.token_requests.add({**call, "token": None})
            return web.json_response({"error": "invalid_client"}, status=401)
        token = "fake-entra-app-token-" + secrets.token_urlsafe(16)
        self.issued_tokens.add(token)
        self.token_requests.add({**call, "token": token})
        return web.json_response({"token_type": "Bearer", "expires_in": 3599,
                                  "ext_expires_in": 3599, "access_token": token})

    # -- Bot Connector ---------------------------------------------------------------------------

    async def _activities(self, request: web.Request) -> web.Response:
        self.connector.add({
            "path": request.path,
            "conversation": request.match_info["conversation"],
            "authorization": request.headers.get("Authorization"),
            "activity": await request.json(),
        })
        return web.json_response({"id": f"reply-{time.time_ns()}"})

    # -- Slack Web API ---------------------------------------------------------------------------

    async def _slack(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = {k: v[0] for k, v in parse_qs(await request.text()).items()}
        params.update(request.query)
        self.slack.add({"method": method, "authorization": request.headers.get("Authorization"),
                        "params": params})
        if request.headers.get("Authorization") != f"Bearer {self.slack_bot_token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "users.info":
            user = self.slack_users.get(str(params.get("user")))
            if user is None:
                return web.json_response({"ok": False, "error": "user_not_found"})
            return web.json_response({"ok": True, "user": user})
        if method == "chat.postMessage":
            return web.json_response({"ok": True, "channel": params.get("channel"),
                                      "ts": f"{time.time():.6f}"})
        return web.json_response({"ok": False, "error": "unknown_method"})

    # -- life cycle ------------------------------------------------------------------------------

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/botframework/openid", self._openid)
        app.router.add_get("/botframework/keys", self._keys)
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration",
                           self._tenant_discovery)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        app.router.add_post("/connector/v3/conversations/{conversation}/activities",
                            self._activities)
        app.router.add_route("*", "/slack/api/{method}", self._slack)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, self._socket, ssl_context=self._tls).start()

    def start(self) -> "PlatformFakes":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._socket.close()
