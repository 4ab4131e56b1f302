"""Messages Rasa pushes to the web widget outside a request: agent replies, queue updates,
ticket notifications.

Contract with `connectors/widget.py` (the widget's output channel, Rasa runtime):

    POST {WIDGET_PUSH_URL}                       (the web app's /internal/widget/push)
    X-Helpdesk-Timestamp: <unix seconds>
    X-Helpdesk-Signature: v1=<hex HMAC-SHA256(push key, "<timestamp>." + raw body)>
    {"id": "<1-64 of A-Za-z0-9_->", "recipient_id": "<Rasa sender id>",
     "message": {"text"?, "buttons"?, "image"?, "custom"?, "author"?}}

The push key is derived from the widget token secret both sides already hold:
HMAC-SHA256(WIDGET_TOKEN_SECRET, "helpdesk widget push v1") — a separate key for a separate
purpose, without another secret to distribute. The web app checks the signature and a
five-minute timestamp window before it parses the body; a replayed push has the same id and is
stored once. Messages wait in `widget_outbox` for the employee's browser (server-sent events)
and are deleted after a day.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from bot.storage.concurrency import insert_ignoring_duplicates
from bot.storage.database import Database
from bot.storage.times import utcnow

from .models import WidgetOutboxMessage

PUSH_KEY_LABEL = b"helpdesk widget push v1"
TIMESTAMP_HEADER = "X-Helpdesk-Timestamp"
SIGNATURE_HEADER = "X-Helpdesk-Signature"
MAX_SKEW_SECONDS = 300
MAX_BODY_BYTES = 32 * 1024
RETENTION = dt.timedelta(days=1)
PUSH_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class InvalidPush(Exception):
    """Unsigned, badly signed, stale or malformed push (the reason is for logs and tests)."""


def push_key(widget_token_secret: str) -> bytes:
    return hmac.new(widget_token_secret.encode("utf-8"), PUSH_KEY_LABEL, hashlib.sha256).digest()


def signature(key: bytes, timestamp: str, body: bytes) -> str:
    mac = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(key: bytes, timestamp: str | None, signed: str | None, body: bytes,
           now: float | None = None) -> None:
    """Raise `InvalidPush` unless the body was signed with `key` within the time window."""
    if not timestamp or not signed:
        raise InvalidPush("unsigned")
    if len(body) > MAX_BODY_BYTES:
        raise InvalidPush("too large")
    if len(timestamp) > 12 or not (timestamp.isascii() and timestamp.isdigit()):
        raise InvalidPush("bad timestamp")  # int() would take "١٢", "1_0", " 7" or raise
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_SKEW_SECONDS:
        raise InvalidPush("stale")
    offered = signed.strip().encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(signature(key, timestamp, body).encode("ascii"), offered):
        raise InvalidPush("bad signature")


@dataclass(frozen=True)
class Push:
    push_id: str
    conversation_id: str
    message: dict[str, Any]


def _button(value: Any) -> dict[str, str] | None:
    if isinstance(value, dict) and isinstance(value.get("title"), str) \
            and isinstance(value.get("payload"), str) and value["title"] and value["payload"]:
        return {"title": value["title"], "payload": value["payload"]}
    return None


def parse(body: bytes) -> Push:
    """The push in a verified body; only text, buttons, image, custom and author are kept."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested too deep (found by tests/fuzz)
        raise InvalidPush("not JSON") from None
    if not isinstance(data, dict):
        raise InvalidPush("not an object")
    push_id, recipient, message = data.get("id"), data.get("recipient_id"), data.get("message")
    if not isinstance(push_id, str) or not PUSH_ID.match(push_id):
        raise InvalidPush("bad id")
    if not isinstance(recipient, str) or not recipient or len(recipient) > 200:
        raise InvalidPush("bad recipient")
    if not isinstance(message, dict):
        raise InvalidPush("bad message")
    kept: dict[str, Any] = {}
    if isinstance(message.get("text"), str) and message["text"]:
        kept["text"] = message["text"][:4000]
    if isinstance(message.get("buttons"), list):
        buttons = [b for b in map(_button, message["buttons"]) if b]
        if buttons:
            kept["buttons"] = buttons
    if isinstance(message.get("image"), str):
        kept["image"] = message["image"]
    if message.get("custom") is not None:
        kept["custom"] = message["custom"]
    if isinstance(message.get("author"), str) and message["author"]:
        kept["author"] = message["author"][:100]
    if not kept.keys() - {"author"}:
        raise InvalidPush("empty message")
    return Push(push_id, recipient, kept)


def store(db: Database, push: Push, now: dt.datetime | None = None) -> bool:
    """Keep the message for the browser; False when this push id was already stored."""
    moment = now or utcnow()
    with db.unit_of_work() as session:
        table = WidgetOutboxMessage.__table__
        stored = session.execute(
            insert_ignoring_duplicates(session, table, [table.c.push_id])
            .values(push_id=push.push_id, conversation_id=push.conversation_id,
                    created_at=moment, payload=json.dumps(push.message))
            .returning(table.c.id)).all()
        session.execute(delete(WidgetOutboxMessage)
                        .where(WidgetOutboxMessage.created_at < moment - RETENTION))
    return bool(stored)


def latest_id(db: Database, conversation_id: str) -> int:
    with db.unit_of_work() as session:
        return session.scalar(select(func.max(WidgetOutboxMessage.id)).where(
            WidgetOutboxMessage.conversation_id == conversation_id)) or 0


def messages_after(db: Database, conversation_id: str,
                   after_id: int) -> list[tuple[int, dict[str, Any]]]:
    with db.unit_of_work() as session:
        rows = session.execute(
            select(WidgetOutboxMessage.id, WidgetOutboxMessage.payload)
            .where(WidgetOutboxMessage.conversation_id == conversation_id,
                   WidgetOutboxMessage.id > after_id)
            .order_by(WidgetOutboxMessage.id).limit(100)).all()
    return [(row_id, json.loads(payload)) for row_id, payload in rows]


def outbox_marker(db: Database) -> int:
    with db.unit_of_work() as session:
        return session.scalar(select(func.max(WidgetOutboxMessage.id))) or 0


def widget_conversation_id(issuer: str, subject: str) -> str:
    """Rasa's sender id of a widget employee (as `connectors/principal.conversation_id`)."""
    digest = hashlib.sha256(f"widget\n{issuer}\n{subject}".encode()).hexdigest()
    return f"widget-{digest[:32]}"
