"""Sign-in throttling that holds under parallel attempts, on SQLite and PostgreSQL.

Every attempt first *claims* a slot in three counters, each with one atomic upsert (INSERT ...
ON CONFLICT DO UPDATE ... WHERE ... RETURNING): concurrent claims on one row are serialised by
the database, each sees the count the previous one committed, so twenty parallel guesses can
never all read "0 failures" the way a read-modify-write let them. Only an attempt that won all
three slots may spend an argon2 hash on the password; the others are refused at once. A
successful sign-in gives its slots back.

| scope | key | limit per window | why |
| --- | --- | --- | --- |
| `pair` | account + client address | 5 | the guesses one address may make at one account |
| `address` | client address | 20 | one address trying many accounts |
| `account` | account | 50 | many addresses at one account (a distributed guess) |

A counter that reaches its limit locks for 15 minutes, then starts again: nobody can lock an
account for good, and a stranger at one address exhausts their own `pair` and `address`
counters long before the account's, so the agent, from their own address, still signs in.
Unknown usernames are counted exactly like known ones (no probing by timing or refusal).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, delete, literal, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import SigninThrottle

WINDOW = dt.timedelta(minutes=15)
LOCKOUT = dt.timedelta(minutes=15)
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Limit:
    scope: str
    attempts: int


PAIR = Limit("pair", 5)
ADDRESS = Limit("address", 20)
ACCOUNT = Limit("account", 50)


def keys(username: str, address: str) -> list[tuple[Limit, str]]:
    return [(PAIR, f"{username}|{address}"[:MAX_KEY_LENGTH]),
            (ADDRESS, address[:MAX_KEY_LENGTH]), (ACCOUNT, username[:MAX_KEY_LENGTH])]


def _insert(session: Session):  # noqa: ANN202 - the dialect's INSERT with ON CONFLICT
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SigninThrottle)


def claim(session: Session, limit: Limit, key: str, now: dt.datetime) -> bool:
    """Count one attempt; False (nothing counted) when the counter is locked or full."""
    table = SigninThrottle.__table__
    row = table.c
    expired = or_(and_(row.locked_until.is_not(None), row.locked_until <= now),
                  and_(row.locked_until.is_(None), row.window_started_at <= now - WINDOW))
    statement = _insert(session).values(scope=limit.scope, key=key, attempts=1,
                                        window_started_at=now, locked_until=None)
    statement = statement.on_conflict_do_update(
        index_elements=[row.scope, row.key],
        set_={
            "attempts": case((expired, literal(1)), else_=row.attempts + 1),
            "window_started_at": case((expired, literal(now)), else_=row.window_started_at),
            "locked_until": case((expired, literal(None)), else_=row.locked_until),
        },
        where=or_(expired, and_(row.locked_until.is_(None), row.attempts < limit.attempts)),
    ).returning(row.attempts)
    return session.execute(statement).first() is not None


def claim_all(session: Session, username: str, address: str, now: dt.datetime) -> bool:
    """Claim a slot in every counter, or none (the caller rolls back on False)."""
    return all(claim(session, limit, key, now) for limit, key in keys(username, address))


def failed(session: Session, username: str, address: str, now: dt.datetime) -> None:
    """After a wrong password: lock each counter that is now full."""
    row = SigninThrottle.__table__.c
    for limit, key in keys(username, address):
        session.execute(update(SigninThrottle).where(
            row.scope == limit.scope, row.key == key, row.locked_until.is_(None),
            row.attempts >= limit.attempts).values(locked_until=now + LOCKOUT))


def succeeded(session: Session, username: str, address: str) -> None:
    """A right password gives its slots back: the pair starts again, the others count one less."""
    row = SigninThrottle.__table__.c
    (pair, pair_key), *others = keys(username, address)
    session.execute(delete(SigninThrottle).where(row.scope == pair.scope, row.key == pair_key))
    for limit, key in others:
        session.execute(update(SigninThrottle).where(
            row.scope == limit.scope, row.key == key, row.attempts > 0,
            row.locked_until.is_(None)).values(attempts=row.attempts - 1))
