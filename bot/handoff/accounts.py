"""Agent console accounts: who may use the console, their skills and departments, sessions.

Production signs people in with Entra ID (`entra_sign_in`, issue 24): the account is the one
linked to the person's tenant id and object id, and the roles are those the Entra app roles in
the ID token grant for that session. Local passwords (`sign_in`) are a development fallback,
off in production settings (`CONSOLE_LOCAL_SIGNIN`, docs/security.md).

- Passwords are hashed with argon2id (argon2-cffi's defaults: 64 MiB, t=3, p=4) and rehashed
  on sign-in when the parameters change. An unknown username costs the same hash check as a
  known one, and every failure looks the same (`SignInFailed`), so usernames cannot be probed.
- Sign-in attempts are throttled per (account, address), per address and per account, each
  counted atomically before any password is hashed (`signin_throttle`), and at most two
  argon2 hashes run at once per process.
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
import threading
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.audit import record_access
from bot.identity import Principal
from bot.roles import Role, UnknownRole, effective_roles, format_roles, parse_roles
from bot.storage.concurrency import begin_write_transaction
from bot.storage.database import Database
from bot.storage.models import AuditOutcome
from bot.storage.times import as_utc, utcnow
from bot.tickets.agent import CONSOLE_CHANNEL, CONSOLE_TENANT, AgentRef
from bot.tickets.enums import ServiceLine

from . import signin_throttle
from .errors import InvalidHandoffInput, SignInBusy, SignInFailed
from .models import Agent, AgentSession

log = logging.getLogger(__name__)

SESSION_LIFETIME = dt.timedelta(hours=8)
PRESENCE_WINDOW = dt.timedelta(seconds=90)
# Password hashes running at once in one process: argon2id at 64 MiB each; the rest wait.
MAX_CONCURRENT_HASHES = 2
HASH_WAIT_SECONDS = 5.0
MIN_PASSWORD_LENGTH = 12
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

_hasher = PasswordHasher()
_hash_slots = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)
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
    roles: frozenset[Role] = frozenset({Role.AGENT})

    def can(self, *roles: Role) -> bool:
        """Whether the account holds (or is implied) any of these roles."""
        return not effective_roles(self.roles).isdisjoint(roles)

    @property
    def principal(self) -> Principal:
        return Principal(CONSOLE_CHANNEL, CONSOLE_TENANT, self.username)

    @property
    def ticket_agent(self) -> AgentRef:
        """Supervisors and admins oversee every team's tickets; an agent works their own
        skills and departments, as in the handoff queue (docs/tickets.md)."""
        if self.can(Role.SUPERVISOR):
            return AgentRef(self.username)
        return AgentRef(self.username, self.skills, self.departments)

    def works(self, skill: ServiceLine, department_code: str) -> bool:
        return skill in self.skills and (not self.departments
                                         or department_code in self.departments)


@dataclass(frozen=True)
class SignedIn:
    agent: ConsoleAgent
    token: str  # goes into the cookie; never stored or logged
    csrf_token: str
    expires_at: dt.datetime


# The password "hash" of an account that signs in with Entra ID only: argon2 cannot parse it,
# so no password ever matches (InvalidHashError → False).
NO_PASSWORD = "!entra-only"


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


def _view(agent: Agent, granted_roles: str | None = None) -> ConsoleAgent:
    """The account as the console sees it; `granted_roles`: the session's roles from the
    identity provider, instead of the account's own."""
    roles = parse_roles(agent.roles if granted_roles is None else granted_roles)
    return ConsoleAgent(agent.id, agent.username, agent.display_name,
                        parse_skills(agent.skills), _departments(agent.departments), roles)


def _roles(value: str) -> frozenset[Role]:
    try:
        return parse_roles(value)
    except UnknownRole as error:
        raise InvalidHandoffInput(str(error)) from None


def create_agent(session: Session, username: str, display_name: str, password: str | None,
                 skills: str, departments: str = "", demo: bool = False,
                 roles: str = "agent", entra: tuple[str, str] | None = None) -> Agent:
    """Add a local account (in the caller's unit of work).

    An account that works conversations or tickets (`agent`, `supervisor`, `admin`) needs at
    least one skill; a knowledge editor or data protection officer may have none.
    """
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise InvalidHandoffInput("usernames are 3-64 lower-case letters, digits, '.', '_', '-'")
    held = _roles(roles)
    if not held:
        raise InvalidHandoffInput("an account needs at least one role")
    if Role.AGENT in effective_roles(held) and not parse_skills(skills):
        raise InvalidHandoffInput("an agent needs at least one skill")
    if password is None and entra is None:
        raise InvalidHandoffInput("an account needs a password or an Entra ID user")
    tenant_id, object_id = _entra_ids(*entra) if entra is not None else (None, None)
    agent = Agent(username=username, display_name=display_name.strip()[:100],
                  password_hash=hash_password(password) if password is not None
                  else NO_PASSWORD, entra_tenant_id=tenant_id, entra_object_id=object_id,
                  skills=",".join(sorted(s.value for s in parse_skills(skills))),
                  departments=",".join(sorted(_departments(departments))),
                  roles=format_roles(held), active=True,
                  demo=demo)
    session.add(agent)
    session.flush()
    return agent


def _audit_signin(session: Session, name: str, allowed: bool, reason: str | None) -> None:
    """Every sign-in, allowed or refused, in the audit trail. A username that is not one (a
    password typed into the wrong box, say) is not written down."""
    shown = name if USERNAME.match(name) else "(not a username)"
    record_access(session, principal=Principal(CONSOLE_CHANNEL, CONSOLE_TENANT, shown),
                  actor=None, subject_employee_id=None, record_type="console_account",
                  action="sign_in", outcome=AuditOutcome.ALLOWED if allowed
                  else AuditOutcome.REFUSED, reason=reason)


def sign_in(db: Database, username: str, password: str, *, allow_demo: bool,
            address: str = "unknown", now: dt.datetime | None = None) -> SignedIn:
    """Check the password and open a session; `SignInFailed` for every kind of refusal,
    `SignInBusy` when the password hashes already running leave no room for one more.

    The attempt first claims its slots in the throttles (`signin_throttle`, committed at once so
    parallel attempts see them); only then is the password hashed, outside any transaction.
    """
    moment = now or utcnow()
    name = (username or "").strip().lower()[:64]
    try:
        with db.unit_of_work() as session:
            begin_write_transaction(session)
            if not signin_throttle.claim_all(session, name, address, moment):
                raise _Throttled()
    except _Throttled:
        log.info("console.signin.throttled")
        with db.unit_of_work() as session:
            _audit_signin(session, name, False, "too many attempts (throttled)")
        raise SignInFailed("sign-in refused") from None
    with db.unit_of_work() as session:
        agent = session.scalar(select(Agent).where(Agent.username == name))
        stored = agent.password_hash if agent is not None else _DUMMY_HASH
        usable = agent is not None and agent.active and (allow_demo or not agent.demo)
    matches = _verify(stored, password or "")
    with db.unit_of_work() as session:
        begin_write_transaction(session)
        if not (matches and usable):
            signin_throttle.failed(session, name, address, moment)
            _audit_signin(session, name, False, "unknown account or wrong password"
                          if not matches else "account inactive, or a demo account")
            result = None
        else:
            signin_throttle.succeeded(session, name, address)
            _audit_signin(session, name, True, None)
            agent = session.scalar(select(Agent).where(Agent.username == name))
            if _hasher.check_needs_rehash(agent.password_hash):
                agent.password_hash = _hasher.hash(password)
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            expires = moment + SESSION_LIFETIME
            session.add(AgentSession(token_hash=token_hash(token), csrf_token=csrf,
                                     agent_id=agent.id, created_at=moment, expires_at=expires,
                                     last_seen_at=moment))
            result = SignedIn(_view(agent), token, csrf, expires)
    if result is None:
        log.info("console.signin.refused")
        raise SignInFailed("sign-in refused")
    log.info("console.signin agent_id=%s", result.agent.id)
    return result


def _entra_ids(tenant_id: str, object_id: str) -> tuple[str, str]:
    ids = (tenant_id or "").strip().lower(), (object_id or "").strip().lower()
    if not all(GUID.match(value) for value in ids):
        raise InvalidHandoffInput("the Entra tenant id and object id are GUIDs")
    return ids


def link_entra_user(db: Database, username: str, tenant_id: str, object_id: str) -> None:
    """Let the Entra ID user (tenant id, object id) sign in as `username`."""
    ids = _entra_ids(tenant_id, object_id)
    with db.unit_of_work() as session:
        agent = session.scalar(select(Agent).where(Agent.username == username.strip().lower()))
        if agent is None:
            raise InvalidHandoffInput(f"no account {username!r}")
        agent.entra_tenant_id, agent.entra_object_id = ids


class EntraSignInRefused(SignInFailed):
    """The Entra ID user may not use the console; `reason` says why, for the page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def entra_sign_in(db: Database, tenant_id: str, object_id: str, roles: frozenset[Role],
                  now: dt.datetime | None = None) -> SignedIn:
    """Open a console session for the account linked to this Entra ID user, holding `roles`
    (what the ID token's app roles grant: the identity provider decides, for this session).
    `EntraSignInRefused` ("not linked", "inactive", "no role"), audited either way."""
    moment = now or utcnow()
    shown = f"entra:{tenant_id}:{object_id}"
    with db.unit_of_work() as session:
        agent = session.scalar(select(Agent).where(Agent.entra_tenant_id == tenant_id,
                                                   Agent.entra_object_id == object_id))
        refusal = ("not linked" if agent is None else "inactive" if not agent.active
                   else "no role" if not roles else None)
        record_access(session, principal=Principal(CONSOLE_CHANNEL, CONSOLE_TENANT,
                                                   agent.username if agent else shown[:200]),
                      actor=None, subject_employee_id=None, record_type="console_account",
                      action="sign_in", outcome=AuditOutcome.REFUSED if refusal
                      else AuditOutcome.ALLOWED,
                      reason=f"Entra ID: {refusal}" if refusal
                      else f"Entra ID: roles {format_roles(roles)}")
        if refusal is not None:
            log.info("console.entra_signin.refused reason=%s", refusal)
            raise EntraSignInRefused(refusal)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = moment + SESSION_LIFETIME
        granted = format_roles(roles)
        session.add(AgentSession(token_hash=token_hash(token), csrf_token=csrf,
                                 agent_id=agent.id, created_at=moment, expires_at=expires,
                                 last_seen_at=moment, granted_roles=granted))
        result = SignedIn(_view(agent, granted), token, csrf, expires)
    log.info("console.entra_signin agent_id=%s", result.agent.id)
    return result


class _Throttled(Exception):
    """Inside the claiming unit of work: roll every claim of this attempt back."""


def _verify(stored: str, password: str) -> bool:
    """One argon2 verification, at most MAX_CONCURRENT_HASHES at once in this process (each
    costs 64 MiB and a core for ~0.1-0.3 s); `SignInBusy` after HASH_WAIT_SECONDS queued."""
    if not _hash_slots.acquire(timeout=HASH_WAIT_SECONDS):
        log.warning("console.signin.busy")
        raise SignInBusy("too many sign-ins at once")
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    finally:
        _hash_slots.release()


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
        return ActiveSession(_view(agent, agent_session.granted_roles), agent_session.csrf_token)


def touch(db: Database, token: str, now: dt.datetime | None = None) -> None:
    """Mark the session as seen (presence)."""
    with db.unit_of_work() as session:
        session.execute(update(AgentSession).where(AgentSession.token_hash == token_hash(token))
                        .values(last_seen_at=now or utcnow()))


def sign_out(db: Database, token: str | None) -> None:
    if not token:
        return
    with db.unit_of_work() as session:
        username = session.scalar(select(Agent.username).join(AgentSession)
                                  .where(AgentSession.token_hash == token_hash(token)))
        session.execute(delete(AgentSession).where(AgentSession.token_hash == token_hash(token)))
        if username is not None:
            record_access(session, principal=Principal(CONSOLE_CHANNEL, CONSOLE_TENANT, username),
                          actor=None, subject_employee_id=None, record_type="console_account",
                          action="sign_out", outcome=AuditOutcome.ALLOWED)


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
    add = commands.add_parser("add", help="add a console account")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="display name shown to employees")
    add.add_argument("--skills", default="", help="comma-separated: hr,payroll,pensions,"
                                                  "finance,access (needed by agents)")
    add.add_argument("--roles", default="agent",
                     help="comma-separated: " + ",".join(role.value for role in Role)
                     + " (for password sign-in; Entra ID sign-in takes the app roles)")
    add.add_argument("--departments", default="", help="comma-separated codes; empty: all")
    add.add_argument("--entra-tenant", help="Entra ID tenant id (with --entra-object-id: the "
                                            "account signs in with Entra ID, no password)")
    add.add_argument("--entra-object-id", help="the person's object id in that tenant")
    link = commands.add_parser("link", help="let an Entra ID user sign in as an account")
    link.add_argument("username")
    link.add_argument("--entra-tenant", required=True)
    link.add_argument("--entra-object-id", required=True)
    args = parser.parse_args(argv)
    db = Database(Settings.from_env().database_url)
    try:
        if args.command == "link":
            link_entra_user(db, args.username, args.entra_tenant, args.entra_object_id)
            print(f"linked {args.username}")
            return 0
        entra = None
        if args.entra_tenant or args.entra_object_id:
            entra = (args.entra_tenant or "", args.entra_object_id or "")
        password = None if entra else getpass.getpass("Password (12 characters or more): ")
        with db.unit_of_work() as session:
            create_agent(session, args.username, args.name, password, args.skills,
                         args.departments, roles=args.roles, entra=entra)
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
