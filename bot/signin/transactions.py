"""Sign-ins in flight: the MSAL flow kept between the redirect to Entra ID and the callback.

`start` stores the flow under the SHA-256 of its `state`, bound to the browser: a random value
goes into a cookie (the caller sets it) and only its SHA-256 is stored. `claim` finds the
flow by the callback's `state` *and* that cookie, and deletes it in the same unit of work, so a
callback is honoured once (a replayed callback, or one opened in another browser — login CSRF —
finds nothing). Ten minutes at most; expired rows are deleted as new sign-ins start.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from bot.storage.database import Database
from bot.storage.times import as_utc, utcnow

from .models import OidcSignIn

LIFETIME = dt.timedelta(minutes=10)
PURPOSES = ("employee", "console")
MAX_STATE_LENGTH = 200


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class PendingSignIn:
    purpose: str
    flow: dict[str, Any]
    return_to: str


def start(db: Database, flow: dict[str, Any], purpose: str, return_to: str = "",
          now: dt.datetime | None = None) -> str:
    """Keep `flow`; the browser binding to put in the cookie."""
    if purpose not in PURPOSES:
        raise ValueError("unknown purpose")
    moment = now or utcnow()
    binding = secrets.token_urlsafe(32)
    with db.unit_of_work() as session:
        session.execute(delete(OidcSignIn).where(OidcSignIn.expires_at <= moment))
        session.add(OidcSignIn(state_hash=_digest(flow["state"]), binding_hash=_digest(binding),
                               purpose=purpose, flow=json.dumps(flow),
                               return_to=return_to[:200], created_at=moment,
                               expires_at=moment + LIFETIME))
    return binding


def claim(db: Database, state: Any, binding: Any,
          now: dt.datetime | None = None) -> PendingSignIn | None:
    """The sign-in this callback belongs to, deleted as it is read; None if there is none
    (unknown or reused state, another browser, expired)."""
    if not isinstance(state, str) or not state or len(state) > MAX_STATE_LENGTH:
        return None
    moment = now or utcnow()
    with db.unit_of_work() as session:
        row = session.scalar(select(OidcSignIn).where(OidcSignIn.state_hash == _digest(state)))
        if row is None:
            return None
        # Deleted whatever follows: a state is tried once, by this browser or another.
        deleted = session.execute(delete(OidcSignIn).where(
            OidcSignIn.state_hash == row.state_hash)).rowcount
        if deleted != 1:  # another request claimed it at the same moment
            return None
        if not isinstance(binding, str) or not binding or len(binding) > MAX_STATE_LENGTH \
                or not secrets.compare_digest(row.binding_hash, _digest(binding)) \
                or as_utc(row.expires_at) <= moment:
            return None
        return PendingSignIn(row.purpose, json.loads(row.flow), row.return_to)
