"""The Microsoft Teams channel (Bot Framework), verifying every activity before reading it.

`POST /webhooks/msteams/webhook` is the bot's messaging endpoint in its Azure Bot resource.
For each request, in this order:

1. channel not configured (embedded default) -> 503, nothing read;
2. the Bot Connector JWT (teams_auth rules 1-4) -> 401 on any failure, body still unread;
3. the body as JSON, then the token bound to it: serviceUrl, endorsed channel, our tenant
   (rules 5-7) -> 403; a body that is not an activity -> 400;
4. a redelivered activity (same conversation and activity id) -> 202, handled once;
5. 202 at once, and the message is handled in the background: the bot's replies are posted
   to the verified serviceUrl with an MSAL token (Bot Framework wants a quick answer).

The verified principal is (msteams, our tenant id, the sender's Azure AD object id), both
lower case. Group chats and channels get a fixed pointer to the one-to-one chat and never
reach the assistant, so nobody's records are shown in front of colleagues.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable, Dict, FrozenSet, Iterable, List, Optional, Text

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage

from .background import BackgroundTasks
from .dedup import Ingestion, SharedStore, store_from_credentials
from .message_metadata import MetadataRidesAlong
from .principal import conversation_id, new_message_id, principal_key, principal_metadata
from .references import ConversationReferences
from .teams_auth import (
    BOT_FRAMEWORK_ISSUER,
    BOT_FRAMEWORK_OPENID_METADATA_URL,
    Forbidden,
    InvalidActivity,
    KeysUnavailable,
    OpenIdKeys,
    Unauthenticated,
    check_activity,
    verify_token,
)
from .teams_cards import (
    MAX_TEXT_LENGTH,
    TeamsMessage,
    buttons_content,
    custom_content,
    image_content,
    message_activity,
    parse_message,
    text_content,
)
from .teams_client import (
    BOT_FRAMEWORK_SCOPE,
    DEFAULT_AUTHORITY_HOST,
    BotConnector,
    JsonFetcher,
    MsalTokenSource,
)

logger = logging.getLogger(__name__)

CHANNEL = "msteams"
MAX_BODY_BYTES = 256 * 1024
# The Bot Connector waits 15 s: an activity is acknowledged once handled, or 503.
ACK_WITHIN_SECONDS = 10.0
NOTICE_PERSONAL_ONLY = ("I can only help in a one-to-one chat, so that your records stay "
                        "private. Please open a chat with me and ask again there.")
NOTICE_NO_IDENTITY = ("I can't tell which Microsoft 365 account this is, so I can't help "
                      "with personal records. Please contact your HR business partner.")
NOTICE_TOO_LONG = ("That message is too long for me: please keep it under "
                   f"{MAX_TEXT_LENGTH} characters.")


def _status(status: int, message: Text) -> HTTPResponse:
    return response.json({"error": message}, status=status)


class TeamsOutput(MetadataRidesAlong, OutputChannel):
    """Replies into one verified Teams conversation (a message's metadata rides on its
    activities: connectors/message_metadata.py)."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    def __init__(self, connector: BotConnector, reference: Dict[Text, Any],
                 reply_to_id: Optional[Text] = None) -> None:
        self._connector = connector
        self._reference = reference
        self._reply_to_id = reply_to_id
        self.sent: List[Dict[Text, Any]] = []

    async def _send(self, content: Dict[Text, Any]) -> None:
        activity = message_activity(self._reference, **content)
        if self._reply_to_id:
            activity["replyToId"] = self._reply_to_id
        if self._metadata is not None:
            activity["channelData"] = {**activity.get("channelData", {}),
                                       "metadata": self._metadata}
        self.sent.append(activity)
        await self._connector.send(self._reference, activity)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for part in text.strip().split("\n\n"):
            await self._send(text_content(part))

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        await self._send(buttons_content(text, buttons))

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._send(image_content(image))

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any],
                               **kwargs: Any) -> None:
        content = custom_content(json_message)
        if content is None:
            logger.warning("msteams.custom.unsupported keys=%s", sorted(json_message)[:5])
            return
        await self._send(content)


class TeamsProactiveOutput(OutputChannel):
    """For Rasa's HTTP API (`output_channel=latest`): agent replies, notifications.

    Sends to the conversation reference remembered from the sender's latest verified
    activity; with none remembered, nothing is sent.
    """

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    def __init__(self, connector: BotConnector, references: ConversationReferences) -> None:
        self._connector = connector
        self._references = references

    async def _output(self, recipient_id: Text) -> Optional[TeamsOutput]:
        reference = await self._references.recall(recipient_id)
        if reference is None:
            logger.warning("msteams.proactive.no_reference")
            return None
        return TeamsOutput(self._connector, reference)

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


class TeamsInput(InputChannel):
    """Microsoft Teams through the Bot Framework, single-tenant."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        app_id = str(credentials.get("app_id") or "").strip()
        password = str(credentials.get("app_password") or "")
        tenant_id = str(credentials.get("tenant_id") or "").strip()
        if not (app_id or password or tenant_id):
            logger.warning("msteams.disabled reason=no credentials: every request gets 503")
            return cls.disabled()
        if not (app_id and password and tenant_id):
            raise ValueError("msteams channel: set app_id, app_password and tenant_id together "
                             "(or none of them to switch the channel off)")
        fetcher = JsonFetcher()
        return cls(
            app_id=app_id,
            tenant_id=tenant_id,
            keys=OpenIdKeys(str(credentials.get("openid_metadata_url")
                                or BOT_FRAMEWORK_OPENID_METADATA_URL), fetcher),
            connector=BotConnector(MsalTokenSource(
                app_id, password, tenant_id,
                authority_host=str(credentials.get("authority_host") or DEFAULT_AUTHORITY_HOST),
                scope=str(credentials.get("oauth_scope") or BOT_FRAMEWORK_SCOPE))),
            store=store_from_credentials(credentials),
            issuer=str(credentials.get("token_issuer") or BOT_FRAMEWORK_ISSUER),
            closers=[fetcher.close],
            principal_key=principal_key(credentials.get("principal_key")),
        )

    @classmethod
    def disabled(cls) -> "TeamsInput":
        return cls(app_id="", tenant_id="", keys=None, connector=None, store=None)

    def __init__(
        self,
        app_id: Text,
        tenant_id: Text,
        keys: Optional[OpenIdKeys],
        connector: Optional[BotConnector],
        store: Optional[SharedStore],
        issuer: Text = BOT_FRAMEWORK_ISSUER,
        channels: Iterable[Text] = (CHANNEL,),
        require_https_service_url: bool = True,
        closers: Iterable[Callable[[], Awaitable[None]]] = (),
        principal_key: Optional[bytes] = None,
    ) -> None:
        self.app_id = app_id
        self.tenant_id = tenant_id.lower()
        self.keys = keys
        self.connector = connector
        self.store = store
        self.issuer = issuer
        self.channels: FrozenSet[Text] = frozenset(channels)
        self.require_https_service_url = require_https_service_url
        self.references = ConversationReferences(store, CHANNEL) if store else None
        self._closers = list(closers)
        self.principal_key = principal_key
        self._background = BackgroundTasks()

    @property
    def enabled(self) -> bool:
        return bool(self.app_id and self.keys and self.connector and self.store)

    def get_output_channel(self) -> Optional[OutputChannel]:
        if not self.enabled:
            return None
        return TeamsProactiveOutput(self.connector, self.references)

    async def drain(self) -> None:
        """Wait for every message being handled in the background (tests, shutdown)."""
        await self._background.drain()

    def _spawn(self, coroutine: Awaitable[Any]) -> "asyncio.Future[Any]":
        return self._background.spawn(coroutine)

    async def verify(self, request: Request) -> Any:
        """Rules 1-7 of teams_auth; returns the verified activity or raises."""
        token = await verify_token(request.headers.get("Authorization"), self.keys,
                                   self.app_id, self.issuer)
        try:
            activity = json.loads(request.body)
        except (ValueError, RecursionError) as error:  # not JSON or UTF-8, or nested too deep
            raise InvalidActivity("body is not JSON") from error
        verified = check_activity(token, activity, self.tenant_id, self.channels)
        if self.require_https_service_url and not verified.service_url.startswith("https://"):
            raise Forbidden("serviceUrl is not https")
        return verified

    async def _handle(self, message: TeamsMessage,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> bool:
        """True once the activity is handled (answered, or told why not); False on a failure."""
        output = TeamsOutput(self.connector, message.reference, message.activity_id)
        try:
            if message.conversation_type != "personal":
                await output.send_text_message("", NOTICE_PERSONAL_ONLY)
                return True
            if message.user_object_id is None:
                await output.send_text_message("", NOTICE_NO_IDENTITY)
                return True
            if len(message.text) > MAX_TEXT_LENGTH:
                await output.send_text_message("", NOTICE_TOO_LONG)
                return True
            sender = conversation_id(CHANNEL, self.tenant_id, message.user_object_id)
            await self.references.remember(sender, message.reference)
            message_id = message.activity_id or new_message_id()
            if not self.principal_key:
                raise RuntimeError("no principal_key to sign principals with")
            await on_new_message(UserMessage(
                message.text,
                output,
                sender,
                input_channel=CHANNEL,
                message_id=message_id,
                metadata=principal_metadata(self.principal_key, CHANNEL, self.tenant_id,
                                            message.user_object_id, sender_id=sender,
                                            message_id=message_id, text=message.text),
            ))
            return True
        except Exception as error:  # type only: messages and trackers hold personal data
            logger.error("msteams.message.failed error=%s", type(error).__name__)
            return False

    async def _handle_once(self, message: TeamsMessage, keys: List[Text],
                           on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> bool:
        """Handle, then mark the activity done; a failure leaves the lease to expire."""
        handled = await self._handle(message, on_new_message)
        if handled and keys:
            await Ingestion(self.store).finish(keys)
        return handled

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint(f"{self.url_prefix()}_webhook", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.enabled else "disabled"})

        @blueprint.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.enabled:
                return _status(503, "this channel is not configured")
            if len(request.body or b"") > MAX_BODY_BYTES:
                return _status(413, "activity too large")
            try:
                verified = await self.verify(request)
                message = parse_message(verified)
            except Unauthenticated as error:
                logger.info("msteams.rejected status=401 reason=%s", error)
                return _status(401, "unauthorized")
            except Forbidden as error:
                logger.info("msteams.rejected status=403 reason=%s", error)
                return _status(403, "forbidden")
            except InvalidActivity as error:
                logger.info("msteams.rejected status=400 reason=%s", error)
                return _status(400, "not a valid activity")
            except KeysUnavailable:
                logger.warning("msteams.rejected status=503 reason=no signing keys")
                return _status(503, "cannot verify requests right now")
            if message is None:
                logger.debug("msteams.ignored type=%s", str(verified.activity.get("type"))[:32])
                return response.empty(status=202)
            keys = ([f"{CHANNEL}:activity:{message.reference['conversationId']}:"
                     f"{message.activity_id}"] if message.activity_id else [])
            try:
                state = await Ingestion(self.store).begin(keys)
            except Exception as error:  # store down: let the connector retry rather than guess
                logger.error("msteams.store.failed error=%s", type(error).__name__)
                return _status(503, "try again later")
            if state == Ingestion.DONE:
                logger.info("msteams.duplicate activity=%s", message.activity_id[:64])
                return response.empty(status=202)
            if state == Ingestion.BUSY:
                logger.info("msteams.in_progress activity=%s", message.activity_id[:64])
                return _status(503, "this activity is being handled; retry later")
            # Acknowledged once handled: a crash before this answer leaves the lease to expire
            # and the Bot Connector's redelivery is handled (at least once, exactly one effect).
            task = self._spawn(self._handle_once(message, keys, on_new_message))
            try:
                handled = await asyncio.wait_for(asyncio.shield(task), ACK_WITHIN_SECONDS)
            except asyncio.TimeoutError:
                logger.info("msteams.slow: answered 503, still handling")
                return _status(503, "still handling this activity; retry later")
            if not handled:
                return _status(503, "this activity could not be handled; retry later")
            return response.empty(status=202)

        @blueprint.listener("before_server_stop")
        async def close(*_: Any) -> None:
            await self.drain()
            if self.connector:
                await self.connector.close()
            for closer in self._closers:
                await closer()

        return blueprint
