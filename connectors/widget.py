"""The intranet web-widget channel: a message counts only with a valid signed session token.

The intranet (in the demo, the web app's development sign-in) mints an HS256 JWT whose subject
is the employee's intranet user id. This channel verifies it before looking at the body, derives
the conversation id from it, and attaches the verified principal to the message metadata. The
client cannot choose a sender id or metadata, unlike Rasa's stock `rest`/`socketio` channels.

A session the web app opened after Entra ID sign-in carries `idp` = "entra" and `tid`; its
principal is (widget, "entra:<tid>", <object id>), accepted only when `tid` is the configured
`entra_tenant_id` (no tenant configured: no such token is accepted).
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

from .principal import conversation_id, new_message_id, principal_key, principal_metadata

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


ENTRA_IDP = "entra"
ENTRA_TENANT_PREFIX = "entra:"  # as bot.identity.ENTRA_TENANT_PREFIX


@dataclass(frozen=True)
class VerifiedSession:
    issuer: Text
    subject: Text
    tenant: Text = ""  # the principal's tenant: the issuer, or "entra:<tid>"

    @property
    def principal_tenant(self) -> Text:
        return self.tenant or self.issuer


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
    # The sender is sending this message (the same message id) again after a failure: it is
    # answered from the conversation if it was handled already (`replies_to`).
    retry: bool = False


def bearer_token(authorization: Optional[Text]) -> Text:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("missing bearer token")
    return token.strip()


def verify_session_token(
    token: Text, secret: Text, issuer: Text, audience: Text, now: Optional[float] = None,
    entra_tenant: Text = "",
) -> VerifiedSession:
    """Check signature (HS256 only), issuer, audience, subject, then the time claims.

    A session sends every message with the same token: what does not depend on the clock is
    worked out once per token (`_verified_session`, cached), the validity window at every call.
    """
    genuine = _verified_session(token, secret, issuer, audience, entra_tenant)
    current = time.time() if now is None else now
    if not (genuine.not_before - LEEWAY_SECONDS <= current
            < genuine.expires_at + LEEWAY_SECONDS):
        raise InvalidToken("outside validity window")
    if genuine.issued_at > current + LEEWAY_SECONDS:
        raise InvalidToken("issued in the future")
    return genuine.session


@functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)
def _verified_session(token: Text, secret: Text, issuer: Text, audience: Text,
                      entra_tenant: Text = "") -> _GenuineToken:
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
    tenant = claims["iss"]
    if "idp" in claims:
        tid = claims.get("tid")
        if claims["idp"] != ENTRA_IDP or not entra_tenant or not isinstance(tid, str) \
                or tid.lower() != entra_tenant.lower():
            raise InvalidToken("identity provider or tenant not accepted")
        tenant = ENTRA_TENANT_PREFIX + entra_tenant.lower()
    not_before, issued_at, expires_at = (float(value) for value in times)
    return _GenuineToken(VerifiedSession(issuer=claims["iss"], subject=subject, tenant=tenant),
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
    retry = body.get("retry", False)
    if not isinstance(retry, bool) or (retry and message_id is None):
        raise InvalidMessage("retry must be true or false, and true only with a message_id")
    return IncomingMessage(text=text.strip(), message_id=message_id, retry=retry)


# --- a message sent again: answered once -------------------------------------------------------
# The web app sends a message again, with its message id and `retry`, when the first attempt
# failed on the way (Rasa restarting, a worker killed, the web app itself restarted while Rasa
# handled it). If Rasa did handle it, the conversation holds the user message with that id:
# the sender gets the replies that followed it instead of a second handling (a second ticket,
# a second booking, the form answered twice).
REPLAYED_KEYS = ("text", "buttons", "image", "custom")


def replies_to(events: Any, message_id: Text, recipient_id: Text
               ) -> Optional[list[Dict[Text, Any]]]:
    """The bot messages that answered the user message `message_id` (up to the next user
    message), as the collecting output channel gave them; None if there is no such message."""
    found, replies = False, []
    for event in events:
        kind = getattr(event, "type_name", None)
        if kind == "user":
            if found:
                break
            found = getattr(event, "message_id", None) == message_id
        elif found and kind == "bot":
            message = {"recipient_id": recipient_id, "text": event.text}
            message.update({key: value for key, value in (event.data or {}).items()
                            if key in REPLAYED_KEYS and value})
            replies.append({key: value for key, value in message.items()
                            if value is not None})
    return replies if found else None


async def answered_before(agent: Any, sender_id: Text, message_id: Text
                          ) -> Optional[list[Dict[Text, Any]]]:
    """`replies_to` in the stored conversation, read under the conversation's lock (so an
    attempt still being handled finishes first); None when the agent has no stores."""
    lock_store = getattr(agent, "lock_store", None)
    tracker_store = getattr(agent, "tracker_store", None)
    if lock_store is None or tracker_store is None:
        return None
    async with lock_store.lock(sender_id):
        tracker = await tracker_store.retrieve(sender_id)
    if tracker is None:
        return None
    return replies_to(tracker.events, message_id, sender_id)


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
            push_secret=credentials.get("push_secret") or None,
            principal_key=principal_key(credentials.get("principal_key")),
            entra_tenant=str(credentials.get("entra_tenant_id") or "").strip().lower(),
        )

    def __init__(self, secret: Text, issuer: Text, audience: Text,
                 push_url: Optional[Text] = None, *, push_secret: Optional[Text] = None,
                 principal_key: Optional[bytes] = None, entra_tenant: Text = "") -> None:
        self.entra_tenant = entra_tenant
        self.secret = secret
        self.issuer = issuer
        self.audience = audience
        self.push_url = push_url
        self.push_secret = push_secret
        self.principal_key = principal_key

    def get_output_channel(self) -> Optional[OutputChannel]:
        """Where messages go that Rasa sends outside a request (None: not configured)."""
        if not self.push_url:
            return None
        return WidgetPushOutput(self.push_url, push_key(self.secret))

    def _signing_key(self) -> bytes:
        if not self.principal_key:
            raise RuntimeError("widget channel: no principal_key to sign principals with")
        return self.principal_key

    def verify(self, request: Request) -> VerifiedSession:
        token = bearer_token(request.headers.get("Authorization"))
        return verify_session_token(token, self.secret, self.issuer, self.audience,
                                    entra_tenant=self.entra_tenant)

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
            except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
                return _error(400, "body is not valid UTF-8 JSON")
            except InvalidMessage as error:
                return _error(400, str(error))
            collector = CollectingOutputChannel()
            sender = conversation_id(CHANNEL, session.principal_tenant, session.subject)
            message_id = message.message_id or new_message_id()
            if message.retry:
                try:
                    replayed = await answered_before(getattr(request.app.ctx, "agent", None),
                                                     sender, message_id)
                except Exception as error:  # the stores are down: the sender tries again
                    logger.error("widget.retry.failed error=%s", type(error).__name__)
                    return _error(503, "the assistant could not handle this message")
                if replayed is not None:
                    logger.info("widget.retry.answered_before")
                    return response.json(replayed)
            try:
                metadata = principal_metadata(
                    self._signing_key(), CHANNEL, session.principal_tenant, session.subject,
                    sender_id=sender, message_id=message_id, text=message.text)
                await on_new_message(
                    UserMessage(message.text, collector, sender, input_channel=CHANNEL,
                                message_id=message_id, metadata=metadata)
                )
            except Exception as error:  # log the type only: messages may hold personal data
                logger.error("widget.message.failed error=%s", type(error).__name__)
                return _error(500, "the assistant could not handle this message")
            return response.json(collector.messages)

        return blueprint
