"""Agent console accounts: local users with argon2id password hashes, and their sessions.

Demo and small deployments use these local accounts; production should sign agents in with the
department's identity provider over OpenID Connect (see docs/handoff.md) and keep this table
for the agent's skills and departments only.

- Passwords are hashed with argon2id (argon2-cffi's defaults: 64 MiB, t=3, p=4) and rehashed
  on sign-in when the parameters change. An unknown username costs the same hash check as a
  known one, and every failure looks the same (`SignInFailed`), so usernames cannot be probed.
- Five failures in a row lock the account for 15 minutes.
- A session is a random 256-bit token in an HttpOnly, SameSite=Strict cookie; only its SHA-256
  is stored, with its own CSRF token. Sessions last 8 hours; signing out deletes the row.
- Presence: an agent is online while one of their sessions was seen in the last 90 seconds
  (the console's live stream refreshes it every 20 seconds).

Run `python -m bot.handoff.accounts add USERNAME --name "Sam Patel" --skills hr,payroll` to add
a local account (the password is read from the terminal, never from the command line).
"""
from __future__ import annotations

import argparse
import datetime as dt
import getpass
import hashlib
import logging
import re
import secrets
import sys
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import utcnow
from bot.tickets.agent import CONSOLE_CHANNEL, CONSOLE_TENANT, AgentRef
from bot.tickets.models import ServiceLine
from bot.tickets.sla import as_utc

from .errors import InvalidHandoffInput, SignInFailed
from .models import Agent, AgentSession

log = logging.getLogger(__name__)

SESSION_LIFETIME = dt.timedelta(hours=8)
PRESENCE_WINDOW = dt.timedelta(seconds=90)
MAX_FAILED_SIGNINS = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$")

_hasher = PasswordHasher()
# Checked against when the username is unknown, so that both cases cost one argon2 verify.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class ConsoleAgent:
    """A signed-in agent, as the console and the handoff services see them."""

    id: int
    username: str
    display_name: str
    skills: frozenset[ServiceLine]
    departments: frozenset[str]  # empty: every department

    @property
    def principal(self) -> Principal:
        return Principal(CONSOLE_CHANNEL, CONSOLE_TENANT, self.username)

    @property
    def ticket_agent(self) -> AgentRef:
        return AgentRef(self.username)

    def works(self, skill: ServiceLine, department_code: str) -> bool:
        return skill in self.skills and (not self.departments
                                         or department_code in self.departments)


@dataclass(frozen=True)
class SignedIn:
    agent: ConsoleAgent
    token: str  # goes into the cookie; never stored or logged
    csrf_token: str
    expires_at: dt.datetime


def hash_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidHandoffInput(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_skills(value: str) -> frozenset[ServiceLine]:
    skills = set()
    for part in filter(None, (p.strip().lower() for p in (value or "").split(","))):
        try:
            skills.add(ServiceLine(part))
        except ValueError:
            raise InvalidHandoffInput(f"unknown skill {part!r}") from None
    return frozenset(skills)


def _departments(value: str) -> frozenset[str]:
    return frozenset(p.strip().upper() for p in (value or "").split(",") if p.strip())


def _view(agent: Agent) -> ConsoleAgent:
    return ConsoleAgent(agent.id, agent.username, agent.display_name,
                        parse_skills(agent.skills), _departments(agent.departments))


def create_agent(session: Session, username: str, display_name: str, password: str,
                 skills: str, departments: str = "", demo: bool = False) -> Agent:
    """Add a local account (in the caller's unit of work)."""
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise InvalidHandoffInput("usernames are 3-64 lower-case letters, digits, '.', '_', '-'")
    if not parse_skills(skills):
        raise InvalidHandoffInput("an agent needs at least one skill")
    agent = Agent(username=username, display_name=display_name.strip()[:100],
                  password_hash=hash_password(password),
                  skills=",".join(sorted(s.value for s in parse_skills(skills))),
                  departments=",".join(sorted(_departments(departments))), active=True,
                  demo=demo, failed_signins=0)
    session.add(agent)
    session.flush()
    return agent


def sign_in(db: Database, username: str, password: str, *, allow_demo: bool,
            now: dt.datetime | None = None) -> SignedIn:
    """Check the password and open a session; `SignInFailed` for every kind of refusal."""
    moment = now or utcnow()
    name = (username or "").strip().lower()[:64]
    with db.unit_of_work() as session:
        agent = session.scalar(select(Agent).where(Agent.username == name))
        stored = agent.password_hash if agent is not None else _DUMMY_HASH
        try:
            matches = _hasher.verify(stored, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            matches = False
        refused = (
            agent is None or not matches or not agent.active or (agent.demo and not allow_demo)
            or (agent.locked_until is not None and as_utc(agent.locked_until) > moment)
        )
        if agent is not None and not matches:
            failures = agent.failed_signins + 1
            agent.failed_signins = 0 if failures >= MAX_FAILED_SIGNINS else failures
            if failures >= MAX_FAILED_SIGNINS:
                agent.locked_until = moment + LOCKOUT
                log.warning("console.signin.locked agent_id=%s", agent.id)
        if not refused:
            agent.failed_signins = 0
            agent.locked_until = None
            if _hasher.check_needs_rehash(agent.password_hash):
                agent.password_hash = _hasher.hash(password)
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            expires = moment + SESSION_LIFETIME
            session.add(AgentSession(token_hash=token_hash(token), csrf_token=csrf,
                                     agent_id=agent.id, created_at=moment, expires_at=expires,
                                     last_seen_at=moment))
            result = SignedIn(_view(agent), token, csrf, expires)
    if refused:
        log.info("console.signin.refused")
        raise SignInFailed("sign-in refused")
    log.info("console.signin agent_id=%s", result.agent.id)
    return result


@dataclass(frozen=True)
class ActiveSession:
    agent: ConsoleAgent
    csrf_token: str


def session_for(db: Database, token: str | None, *, touch: bool = True,
                now: dt.datetime | None = None) -> ActiveSession | None:
    """The agent behind a session token (None: unknown, expired or agent disabled)."""
    if not token or len(token) > 200:
        return None
    moment = now or utcnow()
    with db.unit_of_work() as session:
        row = session.execute(
            select(AgentSession, Agent).join(Agent, AgentSession.agent_id == Agent.id)
            .where(AgentSession.token_hash == token_hash(token))
        ).first()
        if row is None:
            return None
        agent_session, agent = row
        if as_utc(agent_session.expires_at) <= moment or not agent.active:
            return None
        if touch:
            agent_session.last_seen_at = moment
        return ActiveSession(_view(agent), agent_session.csrf_token)


def touch(db: Database, token: str, now: dt.datetime | None = None) -> None:
    """Mark the session as seen (presence)."""
    with db.unit_of_work() as session:
        session.execute(update(AgentSession).where(AgentSession.token_hash == token_hash(token))
                        .values(last_seen_at=now or utcnow()))


def sign_out(db: Database, token: str | None) -> None:
    if not token:
        return
    with db.unit_of_work() as session:
        session.execute(delete(AgentSession).where(AgentSession.token_hash == token_hash(token)))


def online_agents(session: Session, now: dt.datetime) -> list[ConsoleAgent]:
    """Agents with a live session seen within the presence window."""
    agents = session.scalars(
        select(Agent).join(AgentSession, AgentSession.agent_id == Agent.id)
        .where(Agent.active.is_(True), AgentSession.expires_at > now,
               AgentSession.last_seen_at >= now - PRESENCE_WINDOW)
        .group_by(Agent.id)
    ).all()
    return [_view(agent) for agent in agents]


def count_online(session: Session, skill: ServiceLine, department_code: str | None,
                 now: dt.datetime) -> int:
    return sum(1 for agent in online_agents(session, now)
               if skill in agent.skills and (department_code is None or not agent.departments
                                             or department_code in agent.departments))


def forget_expired_sessions(db: Database, now: dt.datetime | None = None) -> int:
    with db.unit_of_work() as session:
        return session.execute(delete(AgentSession)
                               .where(AgentSession.expires_at <= (now or utcnow()))).rowcount


def agent_count(db: Database) -> int:
    with db.unit_of_work() as session:
        return session.scalar(select(func.count(Agent.id))) or 0


def main(argv: list[str] | None = None) -> int:
    from bot.config import Settings

    parser = argparse.ArgumentParser(prog="python -m bot.handoff.accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a local console account")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="display name shown to employees")
    add.add_argument("--skills", required=True, help="comma-separated: hr,payroll,pensions,"
                                                     "finance,access")
    add.add_argument("--departments", default="", help="comma-separated codes; empty: all")
    args = parser.parse_args(argv)
    password = getpass.getpass("Password (12 characters or more): ")
    db = Database(Settings.from_env().database_url)
    try:
        with db.unit_of_work() as session:
            create_agent(session, args.username, args.name, password, args.skills,
                         args.departments)
    except InvalidHandoffInput as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    print(f"added {args.username}")
    return 0


def display_names(db: Database) -> dict[str, str]:
    """username → display name of every account (for transcripts)."""
    with db.unit_of_work() as session:
        return dict(session.execute(select(Agent.username, Agent.display_name)).all())


if __name__ == "__main__":
    sys.exit(main())
