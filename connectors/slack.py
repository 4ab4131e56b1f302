"""The Slack channel (Events API + interactivity), verifying every request before reading it.

`POST /webhooks/slack/webhook` is both the Event Subscriptions and the Interactivity request
URL of the Slack app (apps/slack/manifest.yml). For each request, in this order:

1. channel not configured (embedded default) -> 503, nothing read;
2. the v0 signature over the raw body and a timestamp within 5 minutes (slack_events) -> 401;
3. the body: `url_verification` answered with its challenge (only now, after step 2);
4. an event from a workspace that is not ours -> 200, ignored;
5. each event id / client message id / button trigger id is claimed once in the shared store,
   so retries of every `X-Slack-Retry-Reason` and replays within the signature window make
   one user message -> duplicates get 200 and nothing else;
6. 200 at once (Slack wants an answer within 3 seconds); the message is handled in the
   background: users.info (cached) gives the e-mail, the assistant answers in the DM, in the
   user's thread when they wrote in one, with Block Kit buttons.

The verified principal is (slack, team id, user id) plus, when Slack returned a confirmed one,
`principal.email`. Mentions in channels get a fixed pointer to the direct message and never
reach the assistant, so nobody's records are shown in front of colleagues.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import (Any, Awaitable, Callable, Dict, FrozenSet, Iterable, List, Optional, Text,
                    Tuple)

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage

from .background import BackgroundTasks
from .dedup import Ingestion, SharedStore, store_from_credentials
from .message_metadata import MetadataRidesAlong
from .principal import conversation_id, new_message_id, principal_key, principal_metadata
from .references import ConversationReferences
from .slack_events import (
    MAX_TEXT_LENGTH,
    InvalidPayload,
    SlackMessage,
    SlackUnauthenticated,
    buttons_blocks,
    custom_blocks,
    fallback_text,
    image_blocks,
    message_from_event,
    message_from_interaction,
    parse_body,
    url_verification_challenge,
    verify_request,
)

logger = logging.getLogger(__name__)
# slack_sdk logs request parameters (message text) at DEBUG: never let it.
logging.getLogger("slack_sdk").setLevel(logging.INFO)

CHANNEL = "slack"
DEFAULT_API_URL = "https://slack.com/api/"
MAX_BODY_BYTES = 128 * 1024
# Within Slack's 3 seconds: an event is acknowledged once handled, or 503 (Slack retries).
ACK_WITHIN_SECONDS = 2.5
EMAIL_CACHE_SECONDS = 3600
EMAIL_CACHE_SIZE = 10_000
RETRY_REASONS = frozenset({"http_timeout", "too_many_redirects", "connection_failed",
                           "ssl_error", "http_error", "unknown_error"})
NOTICE_DM_ONLY = ("I can only help in a direct message, so that your records stay private. "
                  "Open a direct message with me (or my Messages tab) and ask again there.")
NOTICE_TOO_LONG = ("That message is too long for me: please keep it under "
                   f"{MAX_TEXT_LENGTH} characters.")


_FAILED = object()  # users.info failed: do not cache, try again next time


def _status(status: int, message: Text) -> HTTPResponse:
    return response.json({"error": message}, status=status)


class SlackDirectory:
    """users.info → the user's e-mail, cached per process for an hour.

    Only an e-mail Slack itself reports as confirmed, for a live human account that is a full
    member of the workspace the event came from, is returned: not a guest (`is_restricted`,
    `is_ultra_restricted`), not someone from another organisation (`is_stranger`, or a
    `team_id` other than the event's). The e-mail is what `bot.identity` may match to an
    employee when no explicit mapping exists. `enabled=False` (SLACK_EMAIL_IDENTITY=0) turns
    the e-mail route off: people are then known by their Slack id alone.
    """

    def __init__(self, client: AsyncWebClient, clock: Callable[[], float] = time.monotonic,
                 enabled: bool = True) -> None:
        self._client = client
        self._clock = clock
        self.enabled = enabled
        self._cache: Dict[Tuple[Text, Text], Tuple[float, Optional[Text]]] = {}
        self._pending: Dict[Tuple[Text, Text], "asyncio.Future[Optional[Text]]"] = {}

    async def email(self, team_id: Text, user_id: Text) -> Optional[Text]:
        if not self.enabled:
            return None
        key = (team_id, user_id)
        cached = self._cache.get(key)
        if cached and cached[0] > self._clock():
            return cached[1]
        pending = self._pending.get(key)
        if pending is not None:  # a lookup for this user is under way: share its answer
            return await asyncio.shield(pending)
        future: "asyncio.Future[Optional[Text]]" = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            email = await self._lookup(team_id, user_id)
            if email is not _FAILED:
                if len(self._cache) >= EMAIL_CACHE_SIZE:
                    self._cache.clear()
                self._cache[key] = (self._clock() + EMAIL_CACHE_SECONDS, email)
            result = None if email is _FAILED else email
            future.set_result(result)
            return result
        finally:
            if not future.done():
                future.set_result(None)
            del self._pending[key]

    async def _lookup(self, team_id: Text, user_id: Text) -> Any:
        try:
            result = await self._client.users_info(user=user_id)
        except Exception as error:  # no e-mail is safe: the user is then matched by id only
            logger.warning("slack.users_info.failed error=%s", type(error).__name__)
            return _FAILED
        user = result.get("user") or {}
        profile = user.get("profile") or {}
        candidate = profile.get("email")
        full_member = (user.get("team_id") == team_id and not user.get("is_restricted")
                       and not user.get("is_ultra_restricted") and not user.get("is_stranger"))
        if (isinstance(candidate, str) and "@" in candidate and len(candidate) <= 254
                and user.get("is_email_confirmed") is True and full_member
                and not user.get("deleted") and not user.get("is_bot")):
            return candidate.strip().lower()
        return None


class SlackOutput(MetadataRidesAlong, OutputChannel):
    """Replies into one Slack conversation (and thread); a message's metadata rides on its
    posts (connectors/message_metadata.py)."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    def __init__(self, client: AsyncWebClient, channel_id: Text,
                 thread_ts: Optional[Text] = None) -> None:
        self._client = client
        self._channel_id = channel_id
        self._thread_ts = thread_ts

    async def _post(self, **content: Any) -> None:
        if self._thread_ts:
            content["thread_ts"] = self._thread_ts
        if self._metadata is not None:
            content["metadata"] = self._metadata
        try:
            await self._client.chat_postMessage(channel=self._channel_id, **content)
        except Exception as error:
            logger.error("slack.send.failed error=%s", type(error).__name__)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for part in text.strip().split("\n\n"):
            await self._post(text=part)

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        await self._post(text=text, blocks=buttons_blocks(text, buttons))

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._post(text="image", blocks=image_blocks(image))

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any],
                               **kwargs: Any) -> None:
        blocks = custom_blocks(json_message)
        if blocks is None:
            logger.warning("slack.custom.unsupported keys=%s", sorted(json_message)[:5])
            return
        await self._post(text=fallback_text(json_message), blocks=blocks)


class SlackProactiveOutput(OutputChannel):
    """For Rasa's HTTP API (`output_channel=latest`): the sender's latest verified DM/thread."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    def __init__(self, client: AsyncWebClient, references: ConversationReferences) -> None:
        self._client = client
        self._references = references

    async def _output(self, recipient_id: Text) -> Optional[SlackOutput]:
        reference = await self._references.recall(recipient_id)
        if reference is None or not isinstance(reference.get("channel"), str):
            logger.warning("slack.proactive.no_reference")
            return None
        return SlackOutput(self._client, reference["channel"], reference.get("thread_ts"))

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        output = await self._output(recipient_id)
        if output:
            await output.send_text_message(recipient_id, text)

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        output = await self._output(recipient_id)
        if output:
            await output.send_text_with_buttons(recipient_id, text, buttons)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        output = await self._output(recipient_id)
        if output:
            await output.send_image_url(recipient_id, image)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any],
                               **kwargs: Any) -> None:
        output = await self._output(recipient_id)
        if output:
            await output.send_custom_json(recipient_id, json_message)


def _team_ids(value: Any) -> FrozenSet[Text]:
    return frozenset(t.strip() for t in str(value or "").split(",") if t.strip())


class SlackInput(InputChannel):
    """Slack Events API and Block Kit interactivity for one organisation's workspace(s)."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        secret = str(credentials.get("signing_secret") or "")
        token = str(credentials.get("bot_token") or "")
        teams = _team_ids(credentials.get("team_ids"))
        if not (secret or token or teams):
            logger.warning("slack.disabled reason=no credentials: every request gets 503")
            return cls.disabled()
        if not (secret.strip() and token.strip() and teams):
            raise ValueError("slack channel: set signing_secret, bot_token and team_ids "
                             "together (or none of them to switch the channel off)")
        client = AsyncWebClient(token=token, base_url=str(credentials.get("api_url")
                                                          or DEFAULT_API_URL), timeout=10)
        email_identity = str(credentials.get("email_identity") or "1").strip().lower()
        directory = SlackDirectory(client, enabled=email_identity not in ("0", "false", "off",
                                                                         "no"))
        return cls(SignatureVerifier(secret), client, teams, store_from_credentials(credentials),
                   directory, principal_key=principal_key(credentials.get("principal_key")))

    @classmethod
    def disabled(cls) -> "SlackInput":
        return cls(None, None, frozenset(), None)

    def __init__(self, verifier: Optional[SignatureVerifier], client: Optional[AsyncWebClient],
                 team_ids: Iterable[Text], store: Optional[SharedStore],
                 directory: Optional[SlackDirectory] = None, *,
                 principal_key: Optional[bytes] = None) -> None:
        self.principal_key = principal_key
        self.verifier = verifier
        self.client = client
        self.team_ids = frozenset(team_ids)
        self.store = store
        self.directory = directory or (SlackDirectory(client) if client else None)
        self.references = ConversationReferences(store, CHANNEL) if store else None
        self._background = BackgroundTasks()

    @property
    def enabled(self) -> bool:
        return bool(self.verifier and self.client and self.team_ids and self.store)

    def get_output_channel(self) -> Optional[OutputChannel]:
        if not self.enabled:
            return None
        return SlackProactiveOutput(self.client, self.references)

    async def drain(self) -> None:
        """Wait for every message being handled in the background (tests, shutdown)."""
        await self._background.drain()

    def _spawn(self, coroutine: Awaitable[Any]) -> "asyncio.Future[Any]":
        return self._background.spawn(coroutine)

    def _keys(self, message: SlackMessage) -> List[Text]:
        return [f"{CHANNEL}:{message.team_id}:{key}" for key in message.dedup_keys]

    async def _handle_once(self, message: SlackMessage,
                           on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> bool:
        """Handle, then mark every id done; a failure leaves the lease to expire (retried)."""
        handled = await self._handle(message, on_new_message)
        if handled:
            await Ingestion(self.store).finish(self._keys(message))
        return handled

    async def _handle(self, message: SlackMessage,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> bool:
        """True once the message is handled (answered, or told why not); False on a failure."""
        try:
            private = message.kind == "dm" or (message.kind == "action"
                                               and message.channel_id.startswith("D"))
            output = SlackOutput(self.client, message.channel_id, message.thread_ts)
            if not private:
                await output.send_text_message("", NOTICE_DM_ONLY)
                return True
            if len(message.text) > MAX_TEXT_LENGTH:
                await output.send_text_message("", NOTICE_TOO_LONG)
                return True
            if not self.principal_key:
                raise RuntimeError("no principal_key to sign principals with")
            email = await self.directory.email(message.team_id, message.user_id)
            sender = conversation_id(CHANNEL, message.team_id, message.user_id)
            message_id = message.message_id or new_message_id()
            metadata = principal_metadata(self.principal_key, CHANNEL, message.team_id,
                                          message.user_id, email=email, sender_id=sender,
                                          message_id=message_id, text=message.text)
            await self.references.remember(sender, {"channel": message.channel_id,
                                                    "thread_ts": message.thread_ts})
            await on_new_message(UserMessage(message.text, output, sender, input_channel=CHANNEL,
                                             message_id=message_id, metadata=metadata))
            return True
        except Exception as error:  # type only: messages and trackers hold personal data
            logger.error("slack.message.failed error=%s", type(error).__name__)
            return False

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint(f"{self.url_prefix()}_webhook", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.enabled else "disabled"})

        @blueprint.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.enabled:
                return _status(503, "this channel is not configured")
            body = request.body or b""
            if len(body) > MAX_BODY_BYTES:
                return _status(413, "request too large")
            try:
                verify_request(self.verifier, body,
                               request.headers.get("X-Slack-Request-Timestamp"),
                               request.headers.get("X-Slack-Signature"))
            except SlackUnauthenticated as error:
                logger.info("slack.rejected status=401 reason=%s", error)
                return _status(401, "invalid signature")
            try:
                payload = parse_body(body, request.headers.get("Content-Type"))
                challenge = url_verification_challenge(payload)
                if challenge is not None:
                    return response.json({"challenge": challenge})
                message = (message_from_interaction(payload)
                           or message_from_event(payload))
            except InvalidPayload as error:
                logger.info("slack.rejected status=400 reason=%s", error)
                return _status(400, "unreadable payload")
            retry = request.headers.get("X-Slack-Retry-Reason")
            if retry is not None:
                logger.info("slack.retry reason=%s num=%s",
                            retry if retry in RETRY_REASONS else "other",
                            str(request.headers.get("X-Slack-Retry-Num"))[:4])
            if message is None:
                return response.empty(status=200)
            if message.team_id not in self.team_ids:
                logger.warning("slack.foreign_team ignored")
                return response.empty(status=200)
            try:
                state = await Ingestion(self.store).begin(self._keys(message))
            except Exception as error:  # store down: let Slack retry later rather than guess
                logger.error("slack.store.failed error=%s", type(error).__name__)
                return _status(503, "try again later")
            if state == Ingestion.DONE:
                logger.info("slack.duplicate kind=%s", message.kind)
                return response.empty(status=200)
            if state == Ingestion.BUSY:  # another worker has it: Slack's next retry will see
                logger.info("slack.in_progress kind=%s", message.kind)
                return _status(503, "this event is being handled; retry later")
            # Acknowledged only once handled (at least once: a crash before this answer leaves
            # the lease to expire, and Slack's retry is handled); Slack waits 3 s at most.
            task = self._spawn(self._handle_once(message, on_new_message))
            try:
                handled = await asyncio.wait_for(asyncio.shield(task), ACK_WITHIN_SECONDS)
            except asyncio.TimeoutError:
                logger.info("slack.slow kind=%s: answered 503, still handling", message.kind)
                return _status(503, "still handling this event; retry later")
            if not handled:
                return _status(503, "this event could not be handled; retry later")
            return response.empty(status=200)

        @blueprint.listener("before_server_stop")
        async def close(*_: Any) -> None:
            await self.drain()

        return blueprint
