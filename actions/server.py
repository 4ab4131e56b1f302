"""The action server: rasa-sdk's own app, behind a guard that runs before any action.

    python scripts/action_server.py [--actions actions] [--port 5055]   (or -m actions.server)

rasa-sdk has no authentication of its own. Every `POST /webhook` (and `GET /actions`) must
carry `Authorization: Bearer <ACTION_SERVER_TOKEN>`, the credential Rasa sends from
endpoints.yml; then the principal of the tracker's latest user message must carry a valid
proof from the connector that verified it (`bot.principal_proof`): signed with
HELPDESK_PRINCIPAL_KEY, for this conversation and this message, issued at most ten minutes
ago. A refused call runs nothing, gets 401 or 403 with a one-line reason, and is audited.

Two actions run on an old message by design, through the notification senders' `execute`
(docs/security.md, "Deliveries"): `action_records_notify` needs the proof but not its age (it
says only the notices of the principal the proof names, in the conversation the proof binds),
and `action_ticket_notify` needs none (it says only what the outbox holds for tickets raised
from this very conversation, an id recorded in a verified turn).

rasa-sdk's error handler echoes the whole request (the tracker: personal data) into the log
and the answer; ours logs the exception's type only.
"""
from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import os
import time
import zlib
from functools import partial
from typing import Any

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.handlers import ErrorHandler
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

from bot.actions_metrics import instrument_action_server
from bot.audit import record_refused_call
from bot.config import Settings
from bot.principal_proof import DEFAULT_MAX_AGE_SECONDS, ProofRefused, verify
from bot.records.notifications import NOTIFY_ACTION as RECORDS_NOTIFY_ACTION
from bot.tickets.notifications import NOTIFY_ACTION as TICKETS_NOTIFY_ACTION

from . import policy, services

logger = logging.getLogger(__name__)

GUARDED_PATHS = frozenset({"/webhook", "/actions"})
MAX_BODY_BYTES = 8 * 1024 * 1024
# Deliveries on an old message (see the module docstring): how much proof each needs.
NO_PRINCIPAL_ACTIONS = frozenset({TICKETS_NOTIFY_ACTION})
ANY_AGE_ACTIONS = frozenset({RECORDS_NOTIFY_ACTION})


class Guard:
    """The checks, with the two secrets; `refusal` answers None (go on) or the response."""

    def __init__(self, token: str, principal_key: str,
                 max_age: float = DEFAULT_MAX_AGE_SECONDS) -> None:
        if len(token) < 32 or len(principal_key) < 32:
            raise ValueError("ACTION_SERVER_TOKEN and HELPDESK_PRINCIPAL_KEY must each be at "
                             "least 32 characters")
        self._token = f"Bearer {token}".encode("utf-8")
        self._key = principal_key.encode("utf-8")
        self.max_age = max_age

    def credential_ok(self, authorization: str | None) -> bool:
        offered = (authorization or "").encode("utf-8", "surrogatepass")
        return hmac.compare_digest(offered, self._token)

    def check_call(self, call: Any, now: float | None = None) -> str:
        """The action name, once the call's principal holds for it; `ProofRefused` else."""
        if not isinstance(call, dict):
            raise ProofRefused("body is not an action call")
        action = call.get("next_action")
        if not isinstance(action, str) or not action or len(action) > 200:
            raise ProofRefused("no action name")
        if action in NO_PRINCIPAL_ACTIONS:
            return action
        verify(call.get("tracker"), self._key, now=time.time() if now is None else now,
               max_age=None if action in ANY_AGE_ACTIONS else self.max_age)
        return action


def _sender(call: Any) -> str:
    tracker = call.get("tracker") if isinstance(call, dict) else None
    sender = tracker.get("sender_id") if isinstance(tracker, dict) else None
    return sender if isinstance(sender, str) else ""


def _action(call: Any) -> str:
    action = call.get("next_action") if isinstance(call, dict) else None
    return action if isinstance(action, str) else ""


async def _refuse(status: int, reason: str, call: Any) -> HTTPResponse:
    """Audit the refusal (its own unit of work, off the loop) and answer."""
    logger.warning("action_call.refused status=%s reason=%s", status, reason)
    try:
        await asyncio.to_thread(record_refused_call, services.database(), reason=reason,
                                action=_action(call), sender_id=_sender(call))
    except Exception as error:  # the refusal stands even if the audit store is down
        logger.error("action_call.audit_failed error=%s", type(error).__name__)
    return response.json({"error": f"refused: {reason}"}, status=status)


class BadBody(ValueError):
    """A body that is not an action call rasa-sdk can read: answered 400, never passed on."""


def action_call_of(request: Request) -> Any:
    """The call as rasa-sdk's handler will read it.

    Rasa deflate-compresses the body when COMPRESS_ACTION_SERVER_REQUEST is set and says so in
    `Content-Encoding: deflate`; rasa-sdk then inflates `request.body` with `zlib.decompress`
    and no size limit, so a body that is not a whole deflate stream (or inflates beyond the
    request limit) must be refused here, or it becomes rasa-sdk's 500.
    """
    if request.headers.get("Content-Encoding") == "deflate":  # rasa-sdk's own test, exactly
        inflater = zlib.decompressobj()
        try:
            raw = inflater.decompress(request.body, MAX_BODY_BYTES)
        except zlib.error:
            raise BadBody("body is not deflate-compressed") from None
        if inflater.unconsumed_tail:
            raise BadBody("body too large once decompressed")
        if not inflater.eof or inflater.unused_data:
            raise BadBody("body is not one whole deflate stream")
        try:
            return json.loads(raw)
        except ValueError:  # includes a UnicodeDecodeError
            raise BadBody("body is not JSON") from None
    try:
        return request.json  # parsed once; rasa-sdk's handler reads the same object
    except Exception:  # Sanic raises BadRequest (or a decode error) for a non-JSON body
        raise BadBody("body is not JSON") from None


def guard_app(app: Sanic, guard: Guard) -> Sanic:
    """Put the guard in front of rasa-sdk's routes and replace its error handler."""
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES

    @app.on_request
    async def check(request: Request) -> HTTPResponse | None:
        if request.path not in GUARDED_PATHS:
            return None
        if not guard.credential_ok(request.headers.get("Authorization")):
            return await _refuse(401, "no valid credential from Rasa", None)
        if request.path != "/webhook" or request.method != "POST":
            return None
        try:
            call = action_call_of(request)
        except BadBody as bad:
            return await _refuse(400, str(bad), None)
        try:
            guard.check_call(call)
        except ProofRefused as refused:
            return await _refuse(403, str(refused), call)
        return None

    app.error_handler = QuietErrors()  # drops rasa-sdk's handler, which echoes the tracker
    return app


class QuietErrors(ErrorHandler):
    """Errors as one JSON line; the log names the exception's type, never the request."""

    def default(self, request: Request, exception: Exception) -> HTTPResponse:
        status = getattr(exception, "status_code", 500)
        if not isinstance(status, int) or not 400 <= status < 600:
            status = 500
        if status >= 500:
            logger.error("action_server.failed error=%s", type(exception).__name__)
            return response.json({"error": "the action server failed"}, status=status)
        return response.json({"error": str(exception)[:200] or "bad request"}, status=status)


def build_app(executor: ActionExecutor, guard: Guard) -> Sanic:
    return guard_app(create_app(executor, cors_origins=[]), guard)


def _serve_factory(package: str, token: str, key: str) -> Sanic:
    """Module-level (Sanic's AppLoader pickles it to start each worker). The metrics
    middleware goes first, so refused calls are counted and timed too."""
    executor = ActionExecutor()
    executor.register_package(package)
    app = instrument_action_server(create_app(executor, cors_origins=[]), executor)
    # The knowledge index (sentence encoder, library vectors), built off the first policy
    # question's path in each serving process only (Sanic's main process also calls this).
    app.before_server_start(_warm_up_knowledge)
    return guard_app(app, Guard(token, key))


async def _warm_up_knowledge(app: Sanic, loop: Any = None) -> None:
    policy.warm_up_in_background()


def allow_slow_worker_starts() -> None:
    """ACTION_SERVER_START_SECONDS: how long Sanic's manager waits for each worker to report it
    started (Sanic's own 30 s by default). On a busy host a second worker importing the actions
    (the sentence encoder, the back office) took longer and Sanic shut the whole server down
    (the production benchmark, issue 27, at load 13-18)."""
    seconds = os.environ.get("ACTION_SERVER_START_SECONDS")
    if seconds:
        from sanic.worker.manager import WorkerManager

        WorkerManager.THRESHOLD = int(float(seconds) * 10)  # in Sanic's tenths of a second


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--actions", default="actions")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    token, key = settings.require_action_server_token(), settings.require_principal_key()
    loader = AppLoader(factory=partial(_serve_factory, args.actions, token, key))
    allow_slow_worker_starts()
    app = loader.load()
    app.prepare(host=os.environ.get("SANIC_HOST", "127.0.0.1"), port=args.port,
                workers=int(os.environ.get("ACTION_SERVER_SANIC_WORKERS") or 1),
                access_log=False, motd=False)
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
