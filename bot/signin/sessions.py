"""Employee web sessions: recorded when minted, refused once signed out.

A session token (bot/web/session_tokens.py) is a signed JWT; its signature says who, its
`exp` until when. What a signature cannot say is "signed out": `web_sessions` can. Every
request of the web app that acts for an employee (the chat page, each message, the event
stream) asks `is_revoked` (one primary-key read); a signed-out token is refused there, at the
next message, whatever its expiry. Tokens minted elsewhere (an intranet, by the token
contract) get a row when they are signed out.

Rasa's widget channel checks the signature and times itself, not this table: it is reached
only through the web app (it is not published), so the web app's refusal is the one that
counts (docs/security.md).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update

from bot.storage.concurrency import insert_ignoring_duplicates
from bot.storage.database import Database
from bot.storage.times import utcnow

from .models import WebSession

METHODS = ("entra", "development", "intranet")


def _moment(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


def record(db: Database, token_id: str, channel: str, tenant: str, subject: str, method: str,
           expires_at: int, now: dt.datetime | None = None) -> None:
    """A session the web app minted (`expires_at`: the token's exp)."""
    if method not in METHODS:
        raise ValueError("unknown sign-in method")
    moment = now or utcnow()
    with db.unit_of_work() as session:
        session.execute(delete(WebSession).where(WebSession.expires_at <= moment))
        session.add(WebSession(token_id=token_id, channel=channel, tenant=tenant[:200],
                               subject=subject[:200], method=method, created_at=moment,
                               expires_at=_moment(expires_at)))


def is_revoked(db: Database, token_id: str | None) -> bool:
    if not token_id:
        return False
    with db.unit_of_work() as session:
        revoked = session.scalar(select(WebSession.revoked_at)
                                 .where(WebSession.token_id == token_id[:64]))
    return revoked is not None


def revoke(db: Database, token_id: str | None, channel: str, tenant: str, subject: str,
           expires_at: int, now: dt.datetime | None = None) -> None:
    """Sign out: this token is refused from now on (a row is made for a token minted
    elsewhere). A token without an id cannot be revoked: it lasts until it expires."""
    if not token_id:
        return
    moment = now or utcnow()
    with db.unit_of_work() as session:
        changed = session.execute(update(WebSession).where(
            WebSession.token_id == token_id[:64], WebSession.revoked_at.is_(None))
            .values(revoked_at=moment)).rowcount
        if not changed:
            table = WebSession.__table__
            session.execute(insert_ignoring_duplicates(session, table, [table.c.token_id])
                            .values(token_id=token_id[:64], channel=channel,
                                    tenant=tenant[:200], subject=subject[:200],
                                    method="intranet", created_at=moment,
                                    expires_at=_moment(expires_at), revoked_at=moment))


def live_count(db: Database, method: str | None = None) -> int:
    """Sessions minted and not signed out (tests and the battery count them)."""
    with db.unit_of_work() as session:
        query = select(WebSession.token_id).where(WebSession.revoked_at.is_(None))
        if method:
            query = query.where(WebSession.method == method)
        return len(session.scalars(query).all())
