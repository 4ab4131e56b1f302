"""The intranet web-widget channel: a message counts only with a valid signed session token.

The intranet (in the demo, the web app's development sign-in) mints an HS256 JWT whose subject
is the employee's intranet user id. This channel verifies it before looking at the body, derives
the conversation id from it, and attaches the verified principal to the message metadata. The
client cannot choose a sender id or metadata, unlike Rasa's stock `rest`/`socketio` channels.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import math
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Optional, Text

import aiohttp
import jwt
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    OutputChannel,
    UserMessage,
)

from .principal import conversation_id, principal_metadata

logger = logging.getLogger(__name__)

CHANNEL = "widget"
MAX_TEXT_LENGTH = 2000
MAX_BODY_BYTES = 16 * 1024
LEEWAY_SECONDS = 30
VERIFIED_TOKENS_KEPT = 4096  # sessions active at once per Rasa worker, with room
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class InvalidToken(Exception):
    """The bearer token is missing, malformed, forged or expired."""


class InvalidMessage(Exception):
    """The body is not a well-formed widget message."""


@dataclass(frozen=True)
class VerifiedSession:
    issuer: Text
    subject: Text


@dataclass(frozen=True)
class _GenuineToken:
    """What a token's signature vouches for, kept per token; its times are checked per call."""

    session: VerifiedSession
    not_before: float
    issued_at: float
    expires_at: float


@dataclass(frozen=True)
class IncomingMessage:
    text: Text
    message_id: Optional[Text]


def bearer_token(authorization: Optional[Text]) -> Text:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("missing bearer token")
    return token.strip()


def verify_session_token(
    token: Text, secret: Text, issuer: Text, audience: Text, now: Optional[float] = None
) -> VerifiedSession:
    """Check signature (HS256 only), issuer, audience, subject, then the time claims.

    A session sends every message with the same token: what does not depend on the clock is
    worked out once per token (`_verified_session`, cached), the validity window at every call.
    """
    genuine = _verified_session(token, secret, issuer, audience)
    current = time.time() if now is None else now
    if not (genuine.not_before - LEEWAY_SECONDS <= current
            < genuine.expires_at + LEEWAY_SECONDS):
        raise InvalidToken("outside validity window")
    if genuine.issued_at > current + LEEWAY_SECONDS:
        raise InvalidToken("issued in the future")
    return genuine.session


@functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)
def _verified_session(token: Text, secret: Text, issuer: Text, audience: Text) -> _GenuineToken:
    """The session a genuine token names, with its nbf, iat and exp; `InvalidToken` otherwise.

    Keyed by the exact token and the expected secret, issuer and audience; only tokens whose
    signature verified are kept (an exception is never cached), so forged or garbage tokens
    cannot fill the cache, and a kept entry is immutable.
    """
    options = {
        "require": ["exp", "iat", "nbf", "sub", "iss", "aud"],
        # Checked by the caller against its clock, at every message.
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
    }
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], audience=audience, issuer=issuer,
            options=options,
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(type(error).__name__) from error
    times = tuple(claims[name] for name in ("nbf", "iat", "exp"))
    if not all(_is_time(value) for value in times):
        raise InvalidToken("time claim is not a number")
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject or len(subject) > 200:
        raise InvalidToken("bad subject")
    not_before, issued_at, expires_at = (float(value) for value in times)
    return _GenuineToken(VerifiedSession(issuer=claims["iss"], subject=subject),
                         not_before=not_before, issued_at=issued_at, expires_at=expires_at)


def _is_time(value: Any) -> bool:
    """A finite number (a JSON `true` is a bool, hence an int, to Python; NaN is not a time)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def parse_incoming(body: Any) -> IncomingMessage:
    """Translate the widget's JSON body into a neutral message, or refuse it."""
    if not isinstance(body, dict):
        raise InvalidMessage("body must be a JSON object")
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidMessage("text is required")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidMessage(f"text is longer than {MAX_TEXT_LENGTH} characters")
    message_id = body.get("message_id")
    if message_id is not None and (
        not isinstance(message_id, str) or not MESSAGE_ID.match(message_id)
    ):
        raise InvalidMessage("message_id must be 1-64 letters, digits, '-' or '_'")
    return IncomingMessage(text=text.strip(), message_id=message_id)


# --- proactive messages: Rasa → web app → the employee's browser ---------------------------------
# Contract: bot/handoff/widget_push.py (services runtime). The push key is derived from the token
# secret, so no further secret is needed: HMAC-SHA256(token_secret, PUSH_KEY_LABEL).
PUSH_KEY_LABEL = b"helpdesk widget push v1"
PUSH_TIMEOUT_SECONDS = 10.0
PUSHED_KEYS = ("text", "buttons", "image", "custom")


class PushFailed(Exception):
    """The web app did not accept a pushed message (Rasa's API call then fails too)."""


def push_key(token_secret: Text) -> bytes:
    return hmac.new(token_secret.encode("utf-8"), PUSH_KEY_LABEL, hashlib.sha256).digest()


def push_signature(key: bytes, timestamp: Text, body: bytes) -> Text:
    mac = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def push_body(recipient_id: Text, message: Dict[Text, Any], push_id: Text) -> bytes:
    """One bot message as the web app expects it; `handoff_author` (bot event metadata set by
    the console) names the agent who wrote it."""
    kept = {key: message[key] for key in PUSHED_KEYS if message.get(key)}
    author = message.get("handoff_author")
    if isinstance(author, str) and author:
        kept["author"] = author
    return json.dumps({"id": push_id, "recipient_id": recipient_id, "message": kept},
                      ensure_ascii=False).encode("utf-8")


class WidgetPushOutput(OutputChannel):
    """Sends messages Rasa utters outside a widget request (agent replies through the HTTP API
    with `?output_channel=latest`, ticket notifications) to the web app, signed."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    def __init__(self, push_url: Text, key: bytes) -> None:
        self.push_url = push_url
        self.key = key

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        body = push_body(recipient_id, message, uuid.uuid4().hex)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Helpdesk-Timestamp": timestamp,
            "X-Helpdesk-Signature": push_signature(self.key, timestamp, body),
        }
        try:
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=PUSH_TIMEOUT_SECONDS),
                cookie_jar=aiohttp.DummyCookieJar(),
            ) as session:
                async with session.post(self.push_url, data=body, headers=headers) as answer:
                    status = answer.status
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.warning("widget.push.unreachable error=%s", type(error).__name__)
            raise PushFailed(type(error).__name__) from None
        if status >= 300:
            logger.warning("widget.push.refused status=%s", status)
            raise PushFailed(f"status {status}")

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text, **kwargs})


def _error(status: int, message: Text) -> HTTPResponse:
    return response.json({"error": message}, status=status)


class WidgetInput(InputChannel):
    """`POST /webhooks/widget/webhook` with `Authorization: Bearer <session token>`."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        secret = credentials.get("token_secret") or ""
        if len(secret) < 32:
            raise ValueError("widget channel: token_secret must be at least 32 characters")
        return cls(
            secret=secret,
            issuer=credentials.get("token_issuer") or "helpdesk-intranet",
            audience=credentials.get("token_audience") or "helpdesk-widget",
            push_url=credentials.get("push_url") or None,
        )

    def __init__(self, secret: Text, issuer: Text, audience: Text,
                 push_url: Optional[Text] = None) -> None:
        self.secret = secret
        self.issuer = issuer
        self.audience = audience
        self.push_url = push_url

    def get_output_channel(self) -> Optional[OutputChannel]:
        """Where messages go that Rasa sends outside a request (None: not configured)."""
        if not self.push_url:
            return None
        return WidgetPushOutput(self.push_url, push_key(self.secret))

    def verify(self, request: Request) -> VerifiedSession:
        token = bearer_token(request.headers.get("Authorization"))
        return verify_session_token(token, self.secret, self.issuer, self.audience)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        blueprint = Blueprint("widget_webhook", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                session = self.verify(request)
            except InvalidToken as error:
                logger.info("widget.rejected reason=%s", error)
                return _error(401, "invalid or expired session")
            if len(request.body or b"") > MAX_BODY_BYTES:
                return _error(413, "message too large")
            try:
                message = parse_incoming(json.loads(request.body or b"null"))
            except json.JSONDecodeError:
                return _error(400, "body is not valid JSON")
            except InvalidMessage as error:
                return _error(400, str(error))
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        message.text,
                        collector,
                        conversation_id(CHANNEL, session.issuer, session.subject),
                        input_channel=CHANNEL,
                        message_id=message.message_id,
                        metadata=principal_metadata(CHANNEL, session.issuer, session.subject),
                    )
                )
            except Exception as error:  # log the type only: messages may hold personal data
                logger.error("widget.message.failed error=%s", type(error).__name__)
                return _error(500, "the assistant could not handle this message")
            return response.json(collector.messages)

        return blueprint
