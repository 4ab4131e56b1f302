"""Local stand-ins for the platforms: Bot Framework's OpenID/JWKS documents, the Bot Connector,
Slack's Web API, the action server and the web app's widget push (one aiohttp server in a
background thread), and an HTTP client for MSAL.

Every call is recorded; `Recorder.wait_for(n)` blocks on a condition variable (no sleeps).
Keys are generated here, per test session; nothing is fetched from the internet.
"""
from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlsplit

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from slack_sdk.signature import Clock

APP_ID = "6f1a0c1e-2b3d-4e5f-8a9b-0c1d2e3f4a5b"
TENANT_ID = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
FOREIGN_TENANT_ID = "11111111-2222-4333-8444-555555555555"
ISSUER = "https://api.botframework.com"
SIGNING_KID = "bf-signing-key"
UNENDORSED_KID = "bf-webchat-key"
WEAK_KID = "bf-weak-key"
SLACK_SIGNING_SECRET = "e3b0c44298fc1c149afbf4c8996fb924"
SLACK_BOT_TOKEN = "xoxb-1111-2222-test-token"
SLACK_TEAM_ID = "T0HELPDESK"
SLACK_BOT_USER = "U0HELPBOT"
NOTIFY_ACTIONS = ("action_satisfaction_offer", "action_ticket_notify", "action_records_notify")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def public_jwk(key: rsa.RSAPrivateKey, kid: str, endorsements: List[str]) -> Dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "use": "sig", "endorsements": endorsements})
    return jwk


@dataclass
class Keys:
    """The signing keys of this session: Microsoft's (in the JWKS) and an attacker's."""

    signing: rsa.RSAPrivateKey = field(default_factory=rsa_key)
    unendorsed: rsa.RSAPrivateKey = field(default_factory=rsa_key)
    weak: rsa.RSAPrivateKey = field(default_factory=lambda: rsa_key(1024))
    attacker: rsa.RSAPrivateKey = field(default_factory=rsa_key)
    ec_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def jwks(self) -> Dict[str, Any]:
        ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec_key.public_key()))
        ec_jwk.update({"kid": "bf-ec-key", "use": "sig", "endorsements": ["msteams"]})
        return {"keys": [
            public_jwk(self.signing, SIGNING_KID, ["msteams", "skype", "webchat"]),
            public_jwk(self.unendorsed, UNENDORSED_KID, ["webchat", "directline"]),
            public_jwk(self.weak, WEAK_KID, ["msteams"]),  # too short: must be ignored
            ec_jwk,  # not RSA: must be ignored
        ]}

    def public_pem(self) -> bytes:
        return self.signing.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class Recorder:
    """Calls seen by a fake, with a condition to wait on."""

    def __init__(self) -> None:
        self.calls: List[Dict[str, Any]] = []
        self._condition = threading.Condition()

    def add(self, call: Dict[str, Any]) -> None:
        with self._condition:
            self.calls.append(call)
            self._condition.notify_all()

    def clear(self) -> None:
        with self._condition:
            self.calls.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> List[Dict[str, Any]]:
        with self._condition:
            if not self._condition.wait_for(lambda: len(self.calls) >= count, timeout):
                raise AssertionError(f"expected {count} calls, saw {len(self.calls)}")
            return list(self.calls)


class PlatformFakes:
    """One aiohttp server: /openid + /keys, /connector/v3/..., /slack/api/<method>."""

    def __init__(self, keys: Keys) -> None:
        self.keys = keys
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.openid_fetches = Recorder()
        self.jwks_fetches = Recorder()
        self.connector = Recorder()
        self.slack = Recorder()
        self.actions = Recorder()
        self.pushes = Recorder()  # the web app's /internal/widget/push, as the widget signs it
        self.push_status = 200
        self.slack_users: Dict[str, Dict[str, Any]] = {}
        # When set, users.info answers only once the test sets the event: lets a test observe
        # the channel's state while a message is still being handled.
        self.users_info_gate: Optional[threading.Event] = None
        self._loop = asyncio.new_event_loop()
        self._runner: Optional[web.AppRunner] = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/openid"

    @property
    def service_url(self) -> str:
        return f"{self.base_url}/connector/"

    @property
    def slack_api_url(self) -> str:
        return f"{self.base_url}/slack/api/"

    def outbound_calls(self) -> int:
        """Calls to the platforms' message APIs (key fetches are not outbound messages)."""
        return len(self.connector.calls) + len(self.slack.calls)

    def clear(self) -> None:
        self.connector.clear()
        self.slack.clear()
        self.actions.clear()
        self.pushes.clear()
        self.push_status = 200
        self.users_info_gate = None

    async def _openid(self, _: web.Request) -> web.Response:
        self.openid_fetches.add({})
        return web.json_response({
            "issuer": ISSUER,
            "authorization_endpoint": "https://invalid.example/unused",
            "jwks_uri": f"{self.base_url}/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        })

    async def _jwks(self, _: web.Request) -> web.Response:
        self.jwks_fetches.add({})
        return web.json_response(self.keys.jwks())

    async def _activities(self, request: web.Request) -> web.Response:
        self.connector.add({
            "path": request.path,
            "conversation": request.match_info["conversation"],
            "authorization": request.headers.get("Authorization"),
            "activity": await request.json(),
        })
        return web.json_response({"id": f"reply-{len(self.connector.calls)}"})

    async def _slack(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = {k: v[0] for k, v in parse_qs(await request.text()).items()}
        params.update({k: v for k, v in request.query.items()})
        call = {"method": method, "authorization": request.headers.get("Authorization"),
                "params": params}
        self.slack.add(call)
        if method == "users.info":
            gate = self.users_info_gate
            if gate is not None:
                await asyncio.get_running_loop().run_in_executor(None, gate.wait, 20)
            user = self.slack_users.get(params.get("user", ""))
            if user is None:
                return web.json_response({"ok": False, "error": "user_not_found"})
            return web.json_response({"ok": True, "user": user})
        if method == "chat.postMessage":
            return web.json_response({"ok": True, "channel": params.get("channel"),
                                      "ts": f"{time.time():.6f}"})
        return web.json_response({"ok": False, "error": "unknown_method"})

    @property
    def action_url(self) -> str:
        return f"{self.base_url}/actions/webhook"

    @property
    def push_url(self) -> str:
        return f"{self.base_url}/internal/widget/push"

    async def _push(self, request: web.Request) -> web.Response:
        """The web app's end of the widget's output channel: records, answers `push_status`."""
        self.pushes.add({"headers": dict(request.headers), "body": json.loads(await request.read()),
                         "status": self.push_status})
        return web.json_response({"stored": self.push_status == 200}, status=self.push_status)

    async def _action(self, request: web.Request) -> web.Response:
        """A stand-in action server: answers with whose balance it was asked for.

        The real action (actions/leave.py, services runtime) maps the same principal to the
        employee's records; this one shows which principal the channel handed over."""
        call = await request.json()
        self.actions.add(call)
        principal = (call["tracker"]["latest_message"].get("metadata") or {}).get("principal")
        if call["next_action"] == "action_leave_balance":
            who = "nobody" if not principal else f"{principal['channel']}:{principal['subject']}"
            return web.json_response({"events": [], "responses": [
                {"text": f"Leave balance of {who}"}]})
        if call["next_action"] in NOTIFY_ACTIONS:  # what the relay runs: one line each
            return web.json_response({"events": [], "responses": [
                {"text": f"{call['next_action']} in {call['sender_id']}"}]})
        return web.json_response({"events": [], "responses": []})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/openid", self._openid)
        app.router.add_get("/keys", self._jwks)
        app.router.add_post("/connector/v3/conversations/{conversation}/activities",
                            self._activities)
        app.router.add_route("*", "/slack/api/{method}", self._slack)
        app.router.add_post("/actions/webhook", self._action)
        app.router.add_post("/internal/widget/push", self._push)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def start(self) -> "PlatformFakes":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


class FakeHttpResponse:
    def __init__(self, status_code: int, body: Dict[str, Any]) -> None:
        self.status_code = status_code
        self.text = json.dumps(body)
        self.headers: Dict[str, str] = {"Content-Type": "application/json"}

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}")


class FakeMsalHttp:
    """MSAL's `http_client`: answers tenant discovery and the client-credentials grant.

    Records each request (URL and form fields, with the secret replaced) so tests can check
    the authority (our tenant, not botframework.com), the scope and MSAL's token caching.
    """

    def __init__(self, tenant_id: str = TENANT_ID, token: str = "msal-app-token") -> None:
        self.tenant_id = tenant_id
        self.token = token
        self.requests = Recorder()
        self.fail = False

    def _authority(self, url: str) -> str:
        return urlsplit(url).path.strip("/").split("/")[0]

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> FakeHttpResponse:
        self.requests.add({"method": "GET", "url": url})
        if "/discovery/instance" in url:  # MSAL's instance metadata (authority aliases)
            return FakeHttpResponse(200, {"metadata": [{
                "preferred_network": "login.microsoftonline.com",
                "preferred_cache": "login.windows.net",
                "aliases": ["login.microsoftonline.com", "login.windows.net"]}]})
        tenant = self._authority(url)
        base = f"https://login.microsoftonline.com/{tenant}"
        return FakeHttpResponse(200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "issuer": f"https://login.microsoftonline.com/{tenant}/v2.0",
        })

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None,
             **_: Any) -> FakeHttpResponse:
        form = dict(data or {})
        if "client_secret" in form:
            form["client_secret"] = "<redacted>"
        self.requests.add({"method": "POST", "url": url, "form": form})
        if self.fail:
            return FakeHttpResponse(401, {"error": "invalid_client"})
        return FakeHttpResponse(200, {"token_type": "Bearer", "expires_in": 3599,
                                      "access_token": self.token})

    def close(self) -> None:
        pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- forging Bot Framework requests ------------------------------------------------------------

USER_OBJECT_ID = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"


def mint_token(key: Any, *, kid: Optional[str] = SIGNING_KID, algorithm: str = "RS256",
               service_url: str, drop: tuple = (), headers: Optional[Dict[str, Any]] = None,
               now: Optional[float] = None, **overrides: Any) -> str:
    """A Bot Connector style token; every claim and header can be overridden or dropped."""
    now = time.time() if now is None else now
    claims: Dict[str, Any] = {"serviceurl": service_url, "nbf": int(now) - 60,
                              "exp": int(now) + 3600, "iss": ISSUER, "aud": APP_ID}
    claims.update(overrides)
    for name in drop:
        claims.pop(name, None)
    header = dict(headers or {})
    if kid is not None:
        header["kid"] = kid
    with warnings.catch_warnings():  # the weak key is weak on purpose
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm=algorithm, headers=header)


def unsigned_token(claims: Dict[str, Any], alg: str = "none",
                   kid: Optional[str] = SIGNING_KID) -> str:
    header: Dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    return (f"{b64url(json.dumps(header).encode())}."
            f"{b64url(json.dumps(claims).encode())}.")


def valid_claims(service_url: str, **overrides: Any) -> Dict[str, Any]:
    now = int(time.time())
    claims = {"serviceurl": service_url, "nbf": now - 60, "exp": now + 3600, "iss": ISSUER,
              "aud": APP_ID}
    claims.update(overrides)
    return claims


def activity(service_url: str, *, text: str = "how much annual leave do I have left?",
             tenant: Optional[str] = TENANT_ID, channel_data_tenant: Optional[str] = TENANT_ID,
             channel_id: Optional[str] = "msteams", object_id: Optional[str] = USER_OBJECT_ID,
             conversation_type: str = "personal", activity_id: Optional[str] = None,
             conversation: str = "a:1personal-chat-with-alice", kind: str = "message",
             **extra: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {
        "type": kind,
        "id": activity_id or f"activity-{time.time_ns()}",
        "timestamp": "2026-11-26T09:00:00.000Z",
        "serviceUrl": service_url,
        "from": {"id": "29:1alice-teams-user-id", "name": "Alice Hughes"},
        "conversation": {"id": conversation, "conversationType": conversation_type},
        "recipient": {"id": f"28:{APP_ID}", "name": "Helpdesk"},
        "text": text,
        "channelData": {},
    }
    if object_id is not None:
        body["from"]["aadObjectId"] = object_id
    if channel_id is not None:
        body["channelId"] = channel_id
    if tenant is not None:
        body["conversation"]["tenantId"] = tenant
    if channel_data_tenant is not None:
        body["channelData"]["tenant"] = {"id": channel_data_tenant}
    body.update(extra)
    return body


# --- signing Slack requests ---------------------------------------------------------------------

# Slack's published example request ("Verifying requests from Slack",
# https://api.slack.com/authentication/verifying-requests-from-slack).
VECTOR_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VECTOR_TIMESTAMP = "1531420618"
VECTOR_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    b"collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977008"
    b"85554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c4"
    b"47fce8b6703c"
)
VECTOR_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class FixedClock(Clock):
    """A clock for slack-sdk's SignatureVerifier that always reads `now`."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    import hashlib
    import hmac

    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_headers(body: bytes, *, secret: str = SLACK_SIGNING_SECRET,
                  timestamp: Optional[str] = None,
                  content_type: str = "application/json") -> Dict[str, str]:
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": slack_signature(secret, timestamp, body)}


def slack_event(*, text: str = "how much annual leave do I have left?",
                user: str = "U0ALICE", team: str = SLACK_TEAM_ID, channel: str = "D0ALICEDM",
                channel_type: str = "im", event_id: Optional[str] = None,
                client_msg_id: Optional[str] = None, thread_ts: Optional[str] = None,
                event_type: str = "message", **event_extra: Any) -> Dict[str, Any]:
    stamp = time.time_ns()
    event: Dict[str, Any] = {"type": event_type, "user": user, "text": text,
                             "channel": channel, "channel_type": channel_type,
                             "ts": f"{stamp // 10**9}.{stamp % 10**6:06d}", "team": team,
                             "client_msg_id": client_msg_id or f"cm-{stamp}"}
    if thread_ts:
        event["thread_ts"] = thread_ts
    event.update(event_extra)
    return {
        "token": "legacy-verification-token-unused",
        "team_id": team,
        "api_app_id": "A0HELPDESK",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{stamp}",
        "event_time": stamp // 10**9,
        "authorizations": [{"enterprise_id": None, "team_id": team, "user_id": SLACK_BOT_USER,
                            "is_bot": True, "is_enterprise_install": False}],
    }


def raw_rs256(key: rsa.RSAPrivateKey, header: Dict[str, Any], claims: Dict[str, Any]) -> str:
    """RS256 over any header at all (PyJWT refuses to encode e.g. a numeric kid)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signing_input = (f"{b64url(json.dumps({'alg': 'RS256', **header}).encode())}."
                     f"{b64url(json.dumps(claims).encode())}")
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"
