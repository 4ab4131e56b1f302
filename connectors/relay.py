"""The relay: the one way the services reach a conversation from outside Rasa, for six things.

An agent's words, the hand-back, the console's notices and the satisfaction offer (the web
app), ticket notifications (the ticket worker) and records notifications (the action server)
reach the employee in the channel they last wrote from. Rasa's HTTP API could do that, but
whoever holds its admin credential can do anything else too: append a user message carrying
any principal (and so read anyone's records), set slots, replace a tracker. This channel knows
six kinds of delivery, and each caller holds its own key, good for its own kinds only:

    POST /webhooks/relay/<caller>                 caller: console | tickets | records
    X-Relay-Timestamp: <unix seconds>
    X-Relay-Signature: v1=<hex HMAC-SHA256(key of <caller>,
                            "helpdesk relay v1" LF <caller> LF <timestamp> LF <body>)>
    {"id": <16-64 of A-Z a-z 0-9 _ ->, "conversation_id": <widget|msteams|slack>-<32 hex>,
     "kind": <kind>, ...the kind's fields, no others}

| kind | caller | fields | what happens in the conversation |
| --- | --- | --- | --- |
| agent_message | console | text, author | a bot message; `handoff_author` in its metadata |
| notice | console | text | a bot message |
| hand_back | console | text | resume, `action_handoff_resume`, a bot message, `action_listen` |
| satisfaction_offer | console | - | runs `action_satisfaction_offer`, then `action_listen` |
| ticket_notify | tickets | - | runs `action_ticket_notify`, then `action_listen` |
| records_notify | records | - | runs `action_records_notify`, then `action_listen` |

Nothing else can be said through it: no user message, so no principal and no intent; no slot;
no other event or action. What the three actions say is theirs to decide (they answer only
from their outboxes, for this conversation or its verified owner: docs/security.md).

Each rule, in the order applied, with its source:

1. `<caller>` is one of the three, else 404. The key is the caller's own; two callers never
   share one (refused at start-up), so a key opens one caller's kinds only.
2. A body over 16 KiB: 413 (the largest delivery, 4,000 characters of text, is far below).
3. The timestamp is 1-12 ASCII digits, within 60 s before and 30 s after this server's clock;
   the signature is `v1=` and 64 lower-case hex digits, equal (`hmac.compare_digest`) to the
   HMAC of this caller's key over the label, the caller, the timestamp and the raw body. Else
   401, before the body is parsed. The same construction as Slack's request signing
   (https://api.slack.com/authentication/verifying-requests-from-slack: "v0:" timestamp ":"
   body, five minutes) and our widget push (connectors/widget.py); the caller inside the MAC
   keeps a signature from being moved to another caller's path, and the window is short
   because both ends are ours, on synchronised clocks.
4. The body is UTF-8 JSON (no deeper than Python's recursion limit), an object whose keys are
   exactly `id`, `conversation_id`, `kind` and that kind's fields, each a string: `text` 1-4,000
   characters, not blank, no NUL (PostgreSQL cannot store one, and the message would then be
   delivered but not saved); `author` 1-100 characters, no control characters; any lone
   surrogate refused (it cannot be sent on). Else 400. A known kind that is not this caller's:
   403 (a genuine key, not for this).
5. The id was not seen in the last 91 s (the whole window of rule 3, plus a second): else 409.
   Claimed in the channels' shared store (connectors/dedup.py: the lock store's Redis, or the
   host's lock file), so every Rasa worker and replica sees it; a replay inside the window is
   refused there, a replay after it by rule 3.
6. Rasa's agent has loaded (`request.app.ctx.agent`, where `rasa.core.channels.channel.register`
   puts it and Rasa's own twilio_voice channel reads it): else 503.
7. Under the conversation's lock from Rasa's lock store, as Rasa's `POST .../tracker/events`
   and `.../execute` routes take it (rasa/server.py 3.6.21; `LockError` after Rasa's wait:
   503): the conversation exists in the tracker store (Rasa's `ensure_conversation_exists`:
   `tracker_store.exists`), else 404; its latest user message came through a channel that can
   send outside a request (Rasa's `_get_output_channel` with `output_channel=latest`:
   `get_output_channel()` of the input channel with that name), else 409: where Rasa would
   fall back to a collecting channel (saved, shown to nobody), the relay says so.
8. Delivered, then saved, never the other way round: a message's events are applied to the
   tracker, sent through that output channel (`MessageProcessor.execute_side_effects`), and
   only then saved (`tracker_store.save`), as Rasa's `append_events` does; an action runs
   through `Agent.execute_action`, which sends the action's messages before it saves the
   tracker. An exception from the output channel (the widget's push refused or unreachable)
   or the store leaves the tracker unsaved: 503, and the caller may try again with a new id.
   200 `{"delivered": <kind>}` otherwise.
9. Every delivery leaves the conversation listening, as a turn ends: a message changes no
   action, the hand-back appends `action_listen` itself, and after one of the three actions
   the relay appends it (and saves again, under the same lock). Rasa's `execute` route leaves the action as the conversation's
   last event, and the employee's next message was then predicted from a state the policies
   never see in training (a user message right after `action_satisfaction_offer`, with no
   `action_listen` between): "how much leave do I have left?" after a hand-back got the
   fallback. Found by tests/system/test_handoff_end_to_end.py.

Nothing here logs a text, an author, an id or a key: the caller, the kind and the outcome only.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, FrozenSet, List, Mapping, Optional, Text

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.lock_store import LockError
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed, Event

from .dedup import SharedStore, store_from_credentials

logger = logging.getLogger(__name__)

CHANNEL = "relay"
LABEL = b"helpdesk relay v1"
TIMESTAMP_HEADER = "X-Relay-Timestamp"
SIGNATURE_HEADER = "X-Relay-Signature"
MAX_BODY_BYTES = 16 * 1024
MAX_AGE_SECONDS = 60
MAX_AHEAD_SECONDS = 30
REPLAY_MEMORY_SECONDS = MAX_AGE_SECONDS + MAX_AHEAD_SECONDS + 1
MAX_TEXT = 4000
MAX_AUTHOR = 100
MIN_KEY_LENGTH = 32
TIMESTAMP = re.compile(r"\A[0-9]{1,12}\Z")
SIGNATURE = re.compile(r"\Av1=[0-9a-f]{64}\Z")
DELIVERY_ID = re.compile(r"\A[A-Za-z0-9_-]{16,64}\Z")
CONVERSATION_ID = re.compile(r"\A(?:widget|msteams|slack)-[0-9a-f]{32}\Z")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

HANDOFF_RESUME_ACTION = "action_handoff_resume"
LISTEN_ACTION = "action_listen"
# What each caller may ask for, and what each kind carries besides id, conversation and kind.
KINDS: Dict[Text, FrozenSet[Text]] = {
    "console": frozenset({"agent_message", "notice", "hand_back", "satisfaction_offer"}),
    "tickets": frozenset({"ticket_notify"}),
    "records": frozenset({"records_notify"}),
}
FIELDS: Dict[Text, FrozenSet[Text]] = {
    "agent_message": frozenset({"text", "author"}),
    "notice": frozenset({"text"}),
    "hand_back": frozenset({"text"}),
    "satisfaction_offer": frozenset(),
    "ticket_notify": frozenset(),
    "records_notify": frozenset(),
}
ACTIONS: Dict[Text, Text] = {
    "satisfaction_offer": "action_satisfaction_offer",
    "ticket_notify": "action_ticket_notify",
    "records_notify": "action_records_notify",
}
ENVELOPE = frozenset({"id", "conversation_id", "kind"})


class Refused(Exception):
    """A request the relay will not carry out: its HTTP status and a one-line reason."""

    def __init__(self, status: int, reason: Text) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Delivery:
    """A verified, well-formed request: what to do, in which conversation."""

    id: Text
    conversation_id: Text
    kind: Text
    text: Optional[Text] = None
    author: Optional[Text] = None


def signature(key: bytes, caller: Text, timestamp: Text, body: bytes) -> Text:
    """`v1=` and the hex HMAC-SHA256 of the label, caller, timestamp and body (rule 3)."""
    message = b"\n".join([LABEL, caller.encode("ascii"), timestamp.encode("ascii"), body])
    return "v1=" + hmac.new(key, message, hashlib.sha256).hexdigest()


def verify(key: bytes, caller: Text, timestamp: Optional[Text], given: Optional[Text],
           body: bytes, now: float) -> None:
    """Rule 3: raise `Refused(401)` unless `given` signs exactly this body, recently."""
    if not timestamp or not given:
        raise Refused(401, "missing signature headers")
    if not TIMESTAMP.match(timestamp):
        raise Refused(401, "malformed timestamp")
    if not SIGNATURE.match(given):
        raise Refused(401, "malformed signature")
    age = now - int(timestamp)
    if age > MAX_AGE_SECONDS:
        raise Refused(401, "stale timestamp")
    if age < -MAX_AHEAD_SECONDS:
        raise Refused(401, "timestamp in the future")
    expected = signature(key, caller, timestamp, body)
    if not hmac.compare_digest(expected.encode("ascii"), given.encode("ascii")):
        raise Refused(401, "signature mismatch")


def _text(value: Any, name: Text, limit: int, controls: bool) -> Text:
    if not isinstance(value, str) or not value.strip():
        raise Refused(400, f"{name} must be a non-blank string")
    if len(value) > limit:
        raise Refused(400, f"{name} is longer than {limit} characters")
    if "\x00" in value or (not controls and CONTROL.search(value)):
        raise Refused(400, f"{name} holds a control character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused(400, f"{name} is not valid Unicode") from None
    return value


def parse(caller: Text, body: bytes) -> Delivery:
    """Rule 4: the body as a `Delivery` of one of `caller`'s kinds, or `Refused`."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refused(400, "body is not UTF-8 JSON") from None
    if not isinstance(payload, dict):
        raise Refused(400, "body must be a JSON object")
    kind = payload.get("kind")
    if not isinstance(kind, str) or kind not in FIELDS:
        raise Refused(400, f"kind must be one of {', '.join(sorted(FIELDS))}")
    expected = ENVELOPE | FIELDS[kind]
    if set(payload) != expected:
        raise Refused(400, f"a {kind} has exactly the fields {', '.join(sorted(expected))}")
    if kind not in KINDS[caller]:
        raise Refused(403, f"{caller} may not send a {kind}")
    delivery_id, conversation = payload["id"], payload["conversation_id"]
    if not isinstance(delivery_id, str) or not DELIVERY_ID.match(delivery_id):
        raise Refused(400, "id must be 16-64 letters, digits, '-' or '_'")
    if not isinstance(conversation, str) or not CONVERSATION_ID.match(conversation):
        raise Refused(400, "conversation_id is not a conversation of ours")
    return Delivery(
        delivery_id, conversation, kind,
        text=_text(payload["text"], "text", MAX_TEXT, True) if "text" in payload else None,
        author=(_text(payload["author"], "author", MAX_AUTHOR, False)
                if "author" in payload else None))


def events_for(delivery: Delivery) -> List[Event]:
    """The events a message kind appends (kinds that run an action append none here)."""
    if delivery.kind == "agent_message":
        return [BotUttered(delivery.text, metadata={"handoff_author": delivery.author})]
    if delivery.kind == "notice":
        return [BotUttered(delivery.text)]
    if delivery.kind == "hand_back":
        # The hand-back's last action is action_handoff_resume (so the policies see a clean
        # hand-back, not the earlier action_handoff_request), and action_listen makes the
        # employee's next message start a normal turn.
        return [ConversationResumed(), ActionExecuted(HANDOFF_RESUME_ACTION),
                BotUttered(delivery.text), ActionExecuted(LISTEN_ACTION)]
    return []


def latest_output_channel(input_channels: List[InputChannel],
                          channel_name: Optional[Text]) -> Optional[OutputChannel]:
    """The output channel of the input channel the employee last wrote from (rule 7)."""
    for channel in input_channels:
        if channel_name and channel.name() == channel_name:
            output = channel.get_output_channel()
            if output is not None:
                return output
    return None


def _keys(credentials: Mapping[Text, Any]) -> Dict[Text, bytes]:
    keys = {}
    for caller in KINDS:
        value = str(credentials.get(f"{caller}_key") or "")
        if len(value) < MIN_KEY_LENGTH:
            raise ValueError(f"relay channel: {caller}_key (RELAY_{caller.upper()}_KEY) must "
                             f"be at least {MIN_KEY_LENGTH} characters")
        keys[caller] = value.encode("utf-8")
    if len(set(keys.values())) != len(keys):
        raise ValueError("relay channel: each caller needs a key of its own")
    return keys


def _answer(status: int, message: Text) -> HTTPResponse:
    return response.json({"error": message} if status >= 300 else {"delivered": message},
                         status=status)


class RelayInput(InputChannel):
    """`POST /webhooks/relay/<caller>`: one of six signed deliveries into a conversation."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(_keys(credentials), store_from_credentials(credentials))

    def __init__(self, keys: Mapping[Text, bytes], store: SharedStore,
                 clock: Callable[[], float] = time.time) -> None:
        self.keys = dict(keys)
        self.store = store
        self.clock = clock

    def get_output_channel(self) -> Optional[OutputChannel]:
        return None  # nobody writes from here: it is never a conversation's latest channel

    async def _deliver(self, request: Request, delivery: Delivery) -> None:
        """Rules 6-9."""
        agent = getattr(request.app.ctx, "agent", None)
        if agent is None or not agent.is_ready():
            raise Refused(503, "the assistant is starting; try again")
        conversation = delivery.conversation_id
        try:
            async with agent.lock_store.lock(conversation):
                if not await agent.tracker_store.exists(conversation):
                    raise Refused(404, "no such conversation")
                tracker = await agent.processor.get_tracker(conversation)
                output = latest_output_channel(
                    getattr(request.app.ctx, "input_channels", None) or [],
                    tracker.get_latest_input_channel())
                if output is None:
                    raise Refused(409, "the conversation's channel cannot be written to")
                try:
                    if delivery.kind in ACTIONS:
                        tracker = await agent.execute_action(
                            conversation, ACTIONS[delivery.kind], output, None, None)
                        # and listens, as a turn ends (rule 9)
                        tracker.update(ActionExecuted(LISTEN_ACTION), agent.domain)
                        await agent.tracker_store.save(tracker)
                    else:
                        events = events_for(delivery)
                        for event in events:
                            tracker.update(event, agent.domain)
                        await agent.processor.execute_side_effects(events, tracker, output)
                        await agent.tracker_store.save(tracker)
                except Exception as error:  # the type only: trackers hold personal data
                    logger.warning("relay.undelivered kind=%s error=%s", delivery.kind,
                                   type(error).__name__)
                    raise Refused(503, "not delivered, and nothing was saved; try again") \
                        from None
        except LockError:
            raise Refused(503, "the conversation is busy; try again") from None

    async def handle(self, request: Request, caller: Text) -> HTTPResponse:
        """Rules 1-9, in order; every refusal is one line of JSON."""
        try:
            key = self.keys.get(caller)
            if key is None:
                raise Refused(404, "no such caller")
            body = request.body or b""
            if len(body) > MAX_BODY_BYTES:
                raise Refused(413, "request too large")
            verify(key, caller, request.headers.get(TIMESTAMP_HEADER),
                   request.headers.get(SIGNATURE_HEADER), body, self.clock())
            delivery = parse(caller, body)
            try:
                fresh = await self.store.claim(f"{CHANNEL}:{caller}:{delivery.id}",
                                               REPLAY_MEMORY_SECONDS)
            except Exception as error:  # the store is away: nothing can be told from a replay
                logger.error("relay.store.failed error=%s", type(error).__name__)
                raise Refused(503, "try again later") from None
            if not fresh:
                raise Refused(409, "this delivery was received before")
            await self._deliver(request, delivery)
        except Refused as refused:
            logger.info("relay.refused caller=%s status=%s reason=%s",
                        caller if caller in self.keys else "unknown", refused.status,
                        refused.reason)
            return _answer(refused.status, refused.reason)
        logger.info("relay.delivered caller=%s kind=%s", caller, delivery.kind)
        return _answer(200, delivery.kind)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        # on_new_message is never called: the relay never makes a user message.
        blueprint = Blueprint(f"{self.url_prefix()}_webhook", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/<caller>", methods=["POST"])
        async def receive(request: Request, caller: Text) -> HTTPResponse:
            return await self.handle(request, caller)

        return blueprint
