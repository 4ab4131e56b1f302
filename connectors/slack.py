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
from .dedup import SharedStore, store_from_credentials
from .principal import conversation_id, principal_metadata
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
DEDUP_TTL_SECONDS = 2 * 3600  # retries come within ~5 minutes; replays within the 5-minute window
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

    Only an e-mail Slack itself reports as confirmed, for a live human account, is returned;
    the e-mail is what `bot.identity` may match to an employee when no explicit mapping exists.
    """

    def __init__(self, client: AsyncWebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self._cache: Dict[Tuple[Text, Text], Tuple[float, Optional[Text]]] = {}
        self._pending: Dict[Tuple[Text, Text], "asyncio.Future[Optional[Text]]"] = {}

    async def email(self, team_id: Text, user_id: Text) -> Optional[Text]:
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
            email = await self._lookup(user_id)
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

    async def _lookup(self, user_id: Text) -> Any:
        try:
            result = await self._client.users_info(user=user_id)
        except Exception as error:  # no e-mail is safe: the user is then matched by id only
            logger.warning("slack.users_info.failed error=%s", type(error).__name__)
            return _FAILED
        user = result.get("user") or {}
        profile = user.get("profile") or {}
        candidate = profile.get("email")
        if (isinstance(candidate, str) and "@" in candidate and len(candidate) <= 254
                and user.get("is_email_confirmed") is True
                and not user.get("deleted") and not user.get("is_bot")):
            return candidate.strip().lower()
        return None


class SlackOutput(OutputChannel):
    """Replies into one Slack conversation (and thread)."""

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
        return cls(SignatureVerifier(secret), client, teams, store_from_credentials(credentials))

    @classmethod
    def disabled(cls) -> "SlackInput":
        return cls(None, None, frozenset(), None)

    def __init__(self, verifier: Optional[SignatureVerifier], client: Optional[AsyncWebClient],
                 team_ids: Iterable[Text], store: Optional[SharedStore],
                 directory: Optional[SlackDirectory] = None) -> None:
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

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        self._background.spawn(coroutine)

    async def _first_time(self, message: SlackMessage) -> bool:
        """Claim every id of the message; any one already claimed makes it a duplicate."""
        first = True
        for key in message.dedup_keys:
            if not await self.store.claim(f"{CHANNEL}:{message.team_id}:{key}", DEDUP_TTL_SECONDS):
                first = False
        return first

    async def _handle(self, message: SlackMessage,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        try:
            private = message.kind == "dm" or (message.kind == "action"
                                               and message.channel_id.startswith("D"))
            output = SlackOutput(self.client, message.channel_id, message.thread_ts)
            if not private:
                await output.send_text_message("", NOTICE_DM_ONLY)
                return
            if len(message.text) > MAX_TEXT_LENGTH:
                await output.send_text_message("", NOTICE_TOO_LONG)
                return
            metadata = principal_metadata(CHANNEL, message.team_id, message.user_id)
            email = await self.directory.email(message.team_id, message.user_id)
            if email:
                metadata["principal"]["email"] = email
            sender = conversation_id(CHANNEL, message.team_id, message.user_id)
            await self.references.remember(sender, {"channel": message.channel_id,
                                                    "thread_ts": message.thread_ts})
            await on_new_message(UserMessage(message.text, output, sender, input_channel=CHANNEL,
                                             message_id=message.message_id, metadata=metadata))
        except Exception as error:  # type only: messages and trackers hold personal data
            logger.error("slack.message.failed error=%s", type(error).__name__)

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
                first = await self._first_time(message)
            except Exception as error:  # store down: let Slack retry later rather than guess
                logger.error("slack.store.failed error=%s", type(error).__name__)
                return _status(503, "try again later")
            if not first:
                logger.info("slack.duplicate kind=%s", message.kind)
                return response.empty(status=200)
            self._spawn(self._handle(message, on_new_message))
            return response.empty(status=200)

        @blueprint.listener("before_server_stop")
        async def close(*_: Any) -> None:
            await self.drain()

        return blueprint
