"""The handoff queue: request, position and wait, claim, transcript, transfer, end.

Every function takes the `Database` (a unit-of-work factory) and does its work in short units
of work; the Rasa side effects (pausing, sending the agent's words, resuming) are the caller's
job (actions and the console), so nothing here talks to Rasa.

Concurrency, on SQLite and PostgreSQL alike:
- A request inserts a row whose `open_conversation_id` is UNIQUE: of any number of concurrent
  requests for one conversation exactly one inserts; the others find that row and return it.
- A claim is one conditional `UPDATE ... WHERE id = :id AND status = 'waiting' AND assignee IS
  NULL`; the agent whose statement changed a row (rowcount 1) won, everybody else gets
  `AlreadyClaimed`.
- Writes on SQLite start with BEGIN IMMEDIATE (`begin_write_transaction`): a transaction that
  reads first and writes later can otherwise fail at once with "database is locked".

Reads of personal data (the transcript, the employee's context, the queue) are audited under
the agent's console principal; the employee's own request is audited under theirs.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.access import identify_caller
from bot.audit import record_access
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditOutcome, Department, Employee, utcnow
from bot.tickets.models import ServiceLine
from bot.tickets.references import begin_write_transaction
from bot.tickets.sla import as_utc

from .accounts import ConsoleAgent, count_online
from .errors import (
    AlreadyClaimed,
    HandoffClosed,
    HandoffNotFound,
    InvalidHandoffInput,
    NotAssignee,
    NotEligible,
)
from .models import (
    OPEN_STATUSES,
    EntryKind,
    Handoff,
    HandoffEntry,
    HandoffReason,
    HandoffStatus,
)
from .routing import average_handling_minutes, estimate_wait_minutes, is_material_change

RECORD_TYPE = "handoff"
QUEUE_RECORD_TYPE = "handoff_queue"
MAX_TEXT = 2000
HISTORY_FOR_ESTIMATE = 20


# --- views handed to actions and the console (no ORM objects leak out) -----------------------

@dataclass(frozen=True)
class QueuePlace:
    handoff_id: int
    skill: ServiceLine
    status: HandoffStatus
    position: int | None  # None once claimed
    wait_minutes: int | None  # None: nobody online (or claimed)
    created: bool = False  # False: the conversation already had this open handoff


@dataclass(frozen=True)
class QueueItem:
    id: int
    skill: ServiceLine
    department_code: str
    reason: HandoffReason
    status: HandoffStatus
    assignee: str | None
    requested_at: dt.datetime
    position: int | None
    headline: str  # the last message quoted in the summary (PII-minimised), else its reason


@dataclass(frozen=True)
class EntryView:
    id: int
    kind: EntryKind
    author: str | None
    body: str
    at: dt.datetime
    delivery_failed: bool = False


@dataclass(frozen=True)
class EmployeeContext:
    name: str
    employee_number: str
    department: str
    grade: str


@dataclass(frozen=True)
class HandoffView:
    id: int
    conversation_id: str
    channel: str
    skill: ServiceLine
    department_code: str
    reason: HandoffReason
    status: HandoffStatus
    assignee: str | None
    summary: str
    requested_at: dt.datetime
    claimed_at: dt.datetime | None
    ended_at: dt.datetime | None
    ticket_reference: str | None
    employee: EmployeeContext
    employee_principal: Principal
    position: int | None
    entries: tuple[EntryView, ...]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class NewHandoff:
    conversation_id: str
    skill: ServiceLine
    reason: HandoffReason
    summary: str
    feed_since: float  # Rasa timestamp of the message that asked


def _entry_view(entry: HandoffEntry) -> EntryView:
    return EntryView(entry.id, entry.kind, entry.author, entry.body, as_utc(entry.at),
                     entry.delivery_failed)


def _system(session: Session, handoff: Handoff, text: str, now: dt.datetime,
            author: str | None = None) -> None:
    session.add(HandoffEntry(handoff_id=handoff.id, at=now, kind=EntryKind.SYSTEM,
                             author=author, body=text, delivery_failed=False))


def _position(session: Session, handoff: Handoff) -> int | None:
    if handoff.status is not HandoffStatus.WAITING:
        return None
    ahead = session.scalar(
        select(func.count(Handoff.id)).where(
            Handoff.status == HandoffStatus.WAITING,
            Handoff.skill == handoff.skill,
            or_(Handoff.requested_at < handoff.requested_at,
                and_(Handoff.requested_at == handoff.requested_at, Handoff.id < handoff.id)),
        )
    ) or 0
    return ahead + 1


def _handling_minutes(session: Session, skill: ServiceLine) -> float:
    rows = session.execute(
        select(Handoff.claimed_at, Handoff.ended_at)
        .where(Handoff.skill == skill, Handoff.claimed_at.is_not(None),
               Handoff.ended_at.is_not(None))
        .order_by(Handoff.ended_at.desc()).limit(HISTORY_FOR_ESTIMATE)
    ).all()
    return average_handling_minutes(as_utc(ended) - as_utc(claimed) for claimed, ended in rows)


def _place(session: Session, handoff: Handoff, now: dt.datetime,
           created: bool = False) -> QueuePlace:
    position = _position(session, handoff)
    wait = None
    if position is not None:
        online = count_online(session, handoff.skill, handoff.department_code, now)
        wait = estimate_wait_minutes(position, online, _handling_minutes(session, handoff.skill))
    return QueuePlace(handoff.id, handoff.skill, handoff.status, position, wait, created)


def _open_for(session: Session, conversation_id: str) -> Handoff | None:
    return session.scalar(select(Handoff).where(Handoff.open_conversation_id == conversation_id))


# --- the employee's side (called by actions) ---------------------------------------------------

def request_handoff(db: Database, principal: Principal, new: NewHandoff,
                    now: dt.datetime | None = None) -> QueuePlace:
    """Queue the conversation for a person; a conversation already queued keeps its place."""
    summary = (new.summary or "").strip()[:4000]
    employee = identify_caller(db, principal, RECORD_TYPE)
    moment = now or utcnow()
    try:
        with db.unit_of_work() as session:
            begin_write_transaction(session)
            existing = _open_for(session, new.conversation_id)
            if existing is not None:
                if existing.employee_id != employee.id:  # a conversation id is per employee
                    raise InvalidHandoffInput("conversation belongs to someone else")
                return _place(session, existing, moment)
            department = session.get_one(Employee, employee.id).department.code
            handoff = Handoff(
                conversation_id=new.conversation_id, open_conversation_id=new.conversation_id,
                channel=principal.channel, tenant=principal.tenant, subject=principal.subject,
                employee_id=employee.id, department_code=department, skill=new.skill,
                reason=new.reason, status=HandoffStatus.WAITING, summary=summary,
                feed_since=float(new.feed_since), requested_at=moment, version=1,
            )
            session.add(handoff)
            session.flush()
            _system(session, handoff, f"Asked for a person ({new.skill.value} queue).", moment)
            record_access(session, principal=principal, actor=employee,
                          subject_employee_id=employee.id, record_type=RECORD_TYPE,
                          outcome=AuditOutcome.ALLOWED, action="create")
            place = _place(session, handoff, moment, created=True)
            handoff.told_position, handoff.told_wait_minutes = place.position, place.wait_minutes
            return place
    except IntegrityError:
        # PostgreSQL: a concurrent request inserted first; its row is the one to report.
        with db.unit_of_work() as session:
            existing = _open_for(session, new.conversation_id)
            if existing is None:
                raise
            return _place(session, existing, moment)


def open_handoff_place(db: Database, conversation_id: str,
                       now: dt.datetime | None = None) -> QueuePlace | None:
    """The conversation's open handoff and its place in the queue, if any."""
    with db.unit_of_work() as session:
        handoff = _open_for(session, conversation_id)
        return _place(session, handoff, now or utcnow()) if handoff else None


def agents_available(db: Database, skill: ServiceLine, department_code: str | None,
                     now: dt.datetime | None = None) -> int:
    with db.unit_of_work() as session:
        return count_online(session, skill, department_code, now or utcnow())


# --- the agent's side (called by the console) ---------------------------------------------------

def _load(session: Session, handoff_id: int, lock: bool = False) -> Handoff:
    query = select(Handoff).where(Handoff.id == handoff_id)
    if lock:
        query = query.with_for_update()
    handoff = session.scalar(query)
    if handoff is None:
        raise HandoffNotFound(RECORD_TYPE)
    return handoff


def _audit(session: Session, agent: ConsoleAgent, subject_id: int | None, action: str,
           outcome: AuditOutcome = AuditOutcome.ALLOWED, reason: str | None = None,
           record_type: str = RECORD_TYPE) -> None:
    record_access(session, principal=agent.principal, actor=None, subject_employee_id=subject_id,
                  record_type=record_type, outcome=outcome, action=action, reason=reason)


def _refuse(db: Database, agent: ConsoleAgent, subject_id: int | None, action: str,
            error: Exception) -> Exception:
    """Audit a refused attempt in its own unit of work; the caller raises the error."""
    with db.unit_of_work() as session:
        _audit(session, agent, subject_id, action, AuditOutcome.REFUSED, type(error).__name__)
    return error


def list_queue(db: Database, agent: ConsoleAgent, audit: bool = True) -> list[QueueItem]:
    """Open handoffs: waiting ones of the agent's skills and departments, and the agent's own.

    The items hold no names or messages (department, skill, reason, time, the summary's first
    line); the view is audited once per page or stream (`audit`), not on every live refresh.
    """
    with db.unit_of_work() as session:
        rows = session.scalars(
            select(Handoff).where(Handoff.status.in_(OPEN_STATUSES))
            .order_by(Handoff.requested_at, Handoff.id)
        ).all()
        counters: dict[ServiceLine, int] = {}
        items = []
        for handoff in rows:
            position = None
            if handoff.status is HandoffStatus.WAITING:
                counters[handoff.skill] = position = counters.get(handoff.skill, 0) + 1
            mine = handoff.assignee == agent.username
            if not mine and not agent.works(handoff.skill, handoff.department_code):
                continue
            if handoff.status is HandoffStatus.ASSIGNED and not mine:
                continue
            items.append(QueueItem(handoff.id, handoff.skill, handoff.department_code,
                                   handoff.reason, handoff.status, handoff.assignee,
                                   as_utc(handoff.requested_at), position,
                                   _headline(handoff.summary)))
        if audit:
            _audit(session, agent, None, "read", record_type=QUEUE_RECORD_TYPE)
        return items


def _headline(summary: str, limit: int = 90) -> str:
    """The employee's last (already redacted) message in the summary, else its first line."""
    lines = (summary or "").splitlines()
    messages = [line[2:] for line in lines if line.startswith("- ")]
    text = messages[-1] if messages else (lines[0] if lines else "")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _view(session: Session, handoff: Handoff, include_notes: bool = True) -> HandoffView:
    employee = session.get_one(Employee, handoff.employee_id)
    department = session.get_one(Department, employee.department_id)
    query = select(HandoffEntry).where(HandoffEntry.handoff_id == handoff.id)
    if not include_notes:
        query = query.where(HandoffEntry.kind != EntryKind.NOTE)
    entries = tuple(_entry_view(e) for e in session.scalars(query.order_by(HandoffEntry.id)))
    return HandoffView(
        id=handoff.id, conversation_id=handoff.conversation_id, channel=handoff.channel,
        skill=handoff.skill, department_code=handoff.department_code, reason=handoff.reason,
        status=handoff.status, assignee=handoff.assignee, summary=handoff.summary,
        requested_at=as_utc(handoff.requested_at),
        claimed_at=as_utc(handoff.claimed_at) if handoff.claimed_at else None,
        ended_at=as_utc(handoff.ended_at) if handoff.ended_at else None,
        ticket_reference=handoff.ticket_reference,
        employee=EmployeeContext(f"{employee.given_name} {employee.family_name}",
                                 employee.employee_number, department.name, employee.grade),
        employee_principal=Principal(handoff.channel, handoff.tenant, handoff.subject),
        position=_position(session, handoff), entries=entries,
    )


def _may_read(agent: ConsoleAgent, handoff: Handoff) -> bool:
    return handoff.assignee == agent.username or agent.works(handoff.skill,
                                                              handoff.department_code)


def get_handoff(db: Database, agent: ConsoleAgent, handoff_id: int) -> HandoffView:
    """The whole conversation for an agent: summary, transcript (notes too), employee context."""
    with db.unit_of_work() as session:
        handoff = _load(session, handoff_id)
        allowed = _may_read(agent, handoff)
        if allowed:
            _audit(session, agent, handoff.employee_id, "read")
            view = _view(session, handoff)
        subject = handoff.employee_id
    if not allowed:
        raise _refuse(db, agent, subject, "read", NotEligible(RECORD_TYPE))
    return view


def entries_after(db: Database, agent: ConsoleAgent, handoff_id: int,
                  after_id: int) -> tuple[HandoffStatus, str | None, list[EntryView]]:
    """New transcript lines for a console view that is already open (and audited)."""
    with db.unit_of_work() as session:
        handoff = _load(session, handoff_id)
        if not _may_read(agent, handoff):
            raise NotEligible(RECORD_TYPE)
        entries = session.scalars(
            select(HandoffEntry).where(HandoffEntry.handoff_id == handoff_id,
                                       HandoffEntry.id > after_id)
            .order_by(HandoffEntry.id)).all()
        return handoff.status, handoff.assignee, [_entry_view(e) for e in entries]


@dataclass(frozen=True)
class Claimed:
    handoff_id: int
    conversation_id: str
    skill: ServiceLine


def claim(db: Database, agent: ConsoleAgent, handoff_id: int,
          now: dt.datetime | None = None) -> Claimed:
    """Take a waiting conversation; exactly one of any number of concurrent claims wins."""
    moment = now or utcnow()
    with db.unit_of_work() as session:
        handoff = _load(session, handoff_id)
        eligible = agent.works(handoff.skill, handoff.department_code)
        subject = handoff.employee_id
    if not eligible:
        raise _refuse(db, agent, subject, "claim", NotEligible(RECORD_TYPE))
    with db.unit_of_work() as session:
        begin_write_transaction(session)
        won = session.execute(
            update(Handoff)
            .where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.WAITING,
                   Handoff.assignee.is_(None))
            .values(status=HandoffStatus.ASSIGNED, assignee=agent.username, claimed_at=moment,
                    version=Handoff.version + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won == 1:
            handoff = _load(session, handoff_id)
            _system(session, handoff, f"{agent.display_name} joined the conversation.", moment,
                    agent.username)
            _audit(session, agent, handoff.employee_id, "claim")
            return Claimed(handoff.id, handoff.conversation_id, handoff.skill)
    raise AlreadyClaimed(RECORD_TYPE)


def _own_open(session: Session, agent: ConsoleAgent, handoff_id: int,
              require_assignee: bool = True) -> Handoff:
    handoff = _load(session, handoff_id, lock=True)
    if handoff.status not in OPEN_STATUSES:
        raise HandoffClosed(RECORD_TYPE)
    if require_assignee and handoff.assignee != agent.username:
        raise NotAssignee(RECORD_TYPE)
    return handoff


def _clean(text: str) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise InvalidHandoffInput("type something first")
    if len(cleaned) > MAX_TEXT:
        raise InvalidHandoffInput(f"at most {MAX_TEXT} characters")
    return cleaned


@dataclass(frozen=True)
class Reply:
    entry_id: int
    conversation_id: str
    body: str
    created: bool  # False: this submission was already recorded (a retried POST)


def add_reply(db: Database, agent: ConsoleAgent, handoff_id: int, text: str,
              submission_key: str, now: dt.datetime | None = None) -> Reply:
    """Record the assignee's reply (to be sent by the caller); a repeated key is not doubled."""
    body = _clean(text)
    key = f"reply:{submission_key}"[:64]
    moment = now or utcnow()
    try:
        with db.unit_of_work() as session:
            begin_write_transaction(session)
            handoff = _own_open(session, agent, handoff_id)
            existing = session.scalar(select(HandoffEntry).where(
                HandoffEntry.handoff_id == handoff_id, HandoffEntry.source_key == key))
            if existing is not None:
                return Reply(existing.id, handoff.conversation_id, existing.body, False)
            entry = HandoffEntry(handoff_id=handoff.id, at=moment, kind=EntryKind.AGENT,
                                 author=agent.username, body=body, source_key=key,
                                 delivery_failed=False)
            session.add(entry)
            session.flush()
            _audit(session, agent, handoff.employee_id, "reply")
            return Reply(entry.id, handoff.conversation_id, body, True)
    except (HandoffClosed, NotAssignee) as error:
        raise _refuse(db, agent, None, "reply", error) from None


def mark_delivery(db: Database, entry_id: int, delivered: bool,
                  now: dt.datetime | None = None) -> None:
    with db.unit_of_work() as session:
        entry = session.get(HandoffEntry, entry_id)
        if entry is None:
            return
        if delivered:
            entry.delivered_at, entry.delivery_failed = now or utcnow(), False
        else:
            entry.delivery_failed = True


def add_note(db: Database, agent: ConsoleAgent, handoff_id: int, text: str,
             now: dt.datetime | None = None) -> int:
    """An internal note for other agents; never sent to the employee."""
    body = _clean(text)
    with db.unit_of_work() as session:
        handoff = _load(session, handoff_id)
        allowed = _may_read(agent, handoff)
        if allowed:
            entry = HandoffEntry(handoff_id=handoff.id, at=now or utcnow(), kind=EntryKind.NOTE,
                                 author=agent.username, body=body, delivery_failed=False)
            session.add(entry)
            session.flush()
            _audit(session, agent, handoff.employee_id, "note")
            return entry.id
        subject = handoff.employee_id
    raise _refuse(db, agent, subject, "note", NotEligible(RECORD_TYPE))


@dataclass(frozen=True)
class Transferred:
    handoff_id: int
    conversation_id: str
    skill: ServiceLine
    place: QueuePlace


def transfer(db: Database, agent: ConsoleAgent, handoff_id: int, skill: ServiceLine,
             now: dt.datetime | None = None) -> Transferred:
    """Send the conversation to another skill's queue; it keeps its original place in time.

    The assignee may transfer; so may any agent of the skill while it is still waiting.
    """
    moment = now or utcnow()
    try:
        with db.unit_of_work() as session:
            begin_write_transaction(session)
            handoff = _load(session, handoff_id, lock=True)
            if handoff.status not in OPEN_STATUSES:
                raise HandoffClosed(RECORD_TYPE)
            if handoff.assignee != agent.username and not (
                handoff.status is HandoffStatus.WAITING
                and agent.works(handoff.skill, handoff.department_code)
            ):
                raise NotAssignee(RECORD_TYPE)
            if skill == handoff.skill and handoff.status is HandoffStatus.WAITING:
                raise InvalidHandoffInput("it is already in that queue")
            handoff.skill = skill
            handoff.status = HandoffStatus.WAITING
            handoff.assignee = None
            handoff.claimed_at = None
            handoff.version += 1
            _system(session, handoff, f"{agent.display_name} transferred the conversation to "
                                      f"the {skill.value} queue.", moment, agent.username)
            _audit(session, agent, handoff.employee_id, "transfer")
            session.flush()
            place = _place(session, handoff, moment)
            handoff.told_position, handoff.told_wait_minutes = place.position, place.wait_minutes
            return Transferred(handoff.id, handoff.conversation_id, skill, place)
    except (HandoffClosed, NotAssignee) as error:
        raise _refuse(db, agent, None, "transfer", error) from None


@dataclass(frozen=True)
class Ended:
    handoff_id: int
    conversation_id: str
    status: HandoffStatus
    ticket_reference: str | None


def check_assignee(db: Database, agent: ConsoleAgent, handoff_id: int) -> HandoffView:
    """The open handoff the agent may end (before the caller resumes the conversation)."""
    with db.unit_of_work() as session:
        handoff = _load(session, handoff_id)
        problem: Exception | None = None
        if handoff.status not in OPEN_STATUSES:
            problem = HandoffClosed(RECORD_TYPE)
        elif handoff.assignee != agent.username:
            problem = NotAssignee(RECORD_TYPE)
        else:
            return _view(session, handoff, include_notes=False)
        subject = handoff.employee_id
    raise _refuse(db, agent, subject, "end", problem)


def end_handoff(db: Database, agent: ConsoleAgent, handoff_id: int, status: HandoffStatus,
                ticket_reference: str | None = None, now: dt.datetime | None = None) -> Ended:
    """Close the handoff as handed back or ticketed (the conversation may be queued again)."""
    if status not in (HandoffStatus.RESUMED, HandoffStatus.TICKETED):
        raise InvalidHandoffInput("an agent ends a handoff by handing back or with a ticket")
    moment = now or utcnow()
    try:
        with db.unit_of_work() as session:
            begin_write_transaction(session)
            handoff = _own_open(session, agent, handoff_id)
            handoff.status = status
            handoff.open_conversation_id = None
            handoff.ended_at = moment
            handoff.ticket_reference = ticket_reference
            handoff.version += 1
            text = (f"{agent.display_name} handed the conversation back to the assistant."
                    if status is HandoffStatus.RESUMED else
                    f"{agent.display_name} turned the conversation into ticket "
                    f"{ticket_reference}.")
            _system(session, handoff, text, moment, agent.username)
            _audit(session, agent, handoff.employee_id, "end")
            return Ended(handoff.id, handoff.conversation_id, status, ticket_reference)
    except (HandoffClosed, NotAssignee) as error:
        raise _refuse(db, agent, None, "end", error) from None


def ticket_description(view: HandoffView, limit: int = MAX_TEXT) -> str:
    """The ticket text for a converted conversation: summary, then the exchange (no notes)."""
    lines = [view.summary, "", "Conversation with the helpdesk:"]
    for entry in view.entries:
        if entry.kind is EntryKind.EMPLOYEE:
            lines.append(f"Employee: {entry.body}")
        elif entry.kind is EntryKind.AGENT:
            lines.append(f"Agent ({entry.author}): {entry.body}")
    text = "\n".join(lines).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the feed: employee messages copied from Rasa's tracker store ------------------------------

@dataclass(frozen=True)
class FeedTarget:
    handoff_id: int
    conversation_id: str
    feed_since: float


@dataclass(frozen=True)
class FeedMessage:
    conversation_id: str
    event_id: int
    timestamp: float
    text: str


def feed_targets(db: Database) -> list[FeedTarget]:
    with db.unit_of_work() as session:
        rows = session.execute(
            select(Handoff.id, Handoff.conversation_id, Handoff.feed_since)
            .where(Handoff.status.in_(OPEN_STATUSES))).all()
    return [FeedTarget(*row) for row in rows]


def record_employee_messages(db: Database, targets: list[FeedTarget],
                             messages: list[FeedMessage]) -> int:
    """Copy new employee messages into their open handoffs' transcripts; how many were new.

    Idempotent: `UNIQUE(handoff_id, source_key)` with ON CONFLICT DO NOTHING, so several web
    app processes may copy the same messages at once.
    """
    by_conversation = {t.conversation_id: t for t in targets}
    rows = []
    for message in messages:
        target = by_conversation.get(message.conversation_id)
        if target is None or message.timestamp <= target.feed_since or not message.text:
            continue
        rows.append({
            "handoff_id": target.handoff_id,
            "at": dt.datetime.fromtimestamp(message.timestamp, dt.timezone.utc),
            "kind": EntryKind.EMPLOYEE.value, "author": None, "body": message.text[:MAX_TEXT],
            "source_key": f"evt:{message.event_id}", "delivery_failed": False,
        })
    if not rows:
        return 0
    with db.unit_of_work() as session:
        dialect = session.connection().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        table = HandoffEntry.__table__
        statement = (insert(table)
                     .on_conflict_do_nothing(index_elements=[table.c.handoff_id,
                                                             table.c.source_key])
                     .returning(table.c.id))
        # RETURNING, not rowcount: drivers disagree on rowcount after ON CONFLICT DO NOTHING.
        return sum(len(session.execute(statement, row).all()) for row in rows)


def change_marker(db: Database) -> int:
    """Grows whenever any transcript changes (every state change adds a system entry)."""
    with db.unit_of_work() as session:
        return session.scalar(select(func.max(HandoffEntry.id))) or 0


# --- keeping waiting employees informed ----------------------------------------------------------

@dataclass(frozen=True)
class Announcement:
    handoff_id: int
    conversation_id: str
    position: int
    wait_minutes: int | None


def announcements_due(db: Database, now: dt.datetime | None = None) -> list[Announcement]:
    """Waiting employees whose place or wait changed materially since they were last told.

    Each announcement is claimed with a compare-and-set on the told values, so of several
    processes running this at once only one announces each change.
    """
    moment = now or utcnow()
    due = []
    with db.unit_of_work() as session:
        waiting = session.scalars(
            select(Handoff).where(Handoff.status == HandoffStatus.WAITING)
            .order_by(Handoff.requested_at, Handoff.id)).all()
        places = [(h, _place(session, h, moment)) for h in waiting]
    for handoff, place in places:
        if place.position is None or not is_material_change(
                handoff.told_position, handoff.told_wait_minutes, place.position,
                place.wait_minutes):
            continue
        with db.unit_of_work() as session:
            told = session.execute(
                update(Handoff)
                .where(Handoff.id == handoff.id, Handoff.status == HandoffStatus.WAITING,
                       _same(Handoff.told_position, handoff.told_position),
                       _same(Handoff.told_wait_minutes, handoff.told_wait_minutes))
                .values(told_position=place.position, told_wait_minutes=place.wait_minutes)
                .execution_options(synchronize_session=False)).rowcount
        if told == 1:
            due.append(Announcement(handoff.id, handoff.conversation_id, place.position,
                                    place.wait_minutes))
    return due


def _same(column, value):  # noqa: ANN001, ANN202 - SQL "IS NOT DISTINCT FROM" for both backends
    return column.is_(None) if value is None else column == value
