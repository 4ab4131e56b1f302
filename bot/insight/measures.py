"""The service's measures, from the facts, the handoff queue and the tickets (one read-only
unit of work). The console's dashboard and `python -m bot.cli report` both show `report()`.

Definitions (docs/insight.md):
- a *conversation* is one Rasa session of one employee, counted on the day it started;
- *contained*: it reached an answer and was neither handed to a person nor turned into a ticket;
- handoff, fallback and "did you mean" rates: the share of conversations with at least one;
- *abandoned*: quiet for `abandon_after` while the assistant still waited for the employee (a
  request unanswered, a form open, or a question asked) and never handed off;
- time to first agent reply: from the handoff request to the agent's first reply;
- SLA attainment: of the tickets resolved in the period, the share resolved without breaching
  their resolution SLA; breaches are counted by category and by the team (assignee) that held
  the ticket;
- CSAT: the scores given in the period (1 to 5), their mean and distribution.
Department, channel and intent filters apply to conversation measures and ratings; department
and channel also to handoffs; the ticket measures take the department of the requester.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from bot.handoff.models import EntryKind, Handoff, HandoffEntry
from bot.storage.models import Department, Employee
from bot.tickets.models import Ticket

from .models import (FactKind, InsightConversation, InsightFact, SatisfactionRequest,
                     UnansweredQuestion)

GRANULARITIES = ("day", "week")


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date  # inclusive
    department: str | None = None
    channel: str | None = None
    intent: str | None = None
    granularity: str = "day"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the end date is before the start date")
        if (self.end - self.start).days > 366:
            raise ValueError("a report covers at most 366 days")
        if self.granularity not in GRANULARITIES:
            raise ValueError("granularity must be day or week")


@dataclass
class Rates:
    conversations: int = 0
    contained: int = 0
    handed_off: int = 0
    with_fallback: int = 0
    with_did_you_mean: int = 0
    abandoned: int = 0
    tickets_raised: int = 0

    def rate(self, count: int) -> float | None:
        return round(count / self.conversations, 4) if self.conversations else None

    def as_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = asdict(self)
        for name in ("contained", "handed_off", "with_fallback", "with_did_you_mean",
                     "abandoned"):
            values[f"{name}_rate"] = self.rate(getattr(self, name))
        return values


@dataclass
class Report:
    filters: dict[str, Any]
    totals: dict[str, Any]
    periods: list[dict[str, Any]]
    by_department: list[dict[str, Any]]
    by_channel: list[dict[str, Any]]
    by_intent: list[dict[str, Any]]
    messages: dict[str, int]
    agent_reply: dict[str, Any]
    tickets: dict[str, Any]
    csat: dict[str, Any]
    comments: list[dict[str, Any]] = field(default_factory=list)
    unanswered: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def period_start(day: dt.date, granularity: str) -> dt.date:
    return day - dt.timedelta(days=day.weekday()) if granularity == "week" else day


def _percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (the value below which `share` of the values fall)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(share * 1000) * len(ordered) // 1000))
    return round(ordered[rank - 1], 1)


def _window(filters: Filters) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(filters.start, dt.time.min, dt.timezone.utc)
    end = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min, dt.timezone.utc)
    return start, end


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def report(session: Session, filters: Filters, now: dt.datetime,
           abandon_after: dt.timedelta) -> Report:
    conversations = _conversations(session, filters)
    keys = set(conversations)
    facts_by_conversation = _facts(session, filters, keys)
    totals, periods = Rates(), defaultdict(Rates)
    departments, channels = defaultdict(Rates), defaultdict(Rates)
    intents: dict[str, Counter[str]] = defaultdict(Counter)
    messages: Counter[str] = Counter()
    for key, row in conversations.items():
        kinds = facts_by_conversation.get(key, [])
        kind_set = {kind for kind, _intent in kinds}
        quiet = now - _aware(row.last_event_at) >= abandon_after
        flags = {
            "contained": row.answered and not row.handed_off and not row.ticket_raised,
            "handed_off": FactKind.HANDED_OFF in kind_set,
            "with_fallback": FactKind.FALLBACK in kind_set,
            "with_did_you_mean": FactKind.DID_YOU_MEAN in kind_set,
            "abandoned": quiet and row.awaiting_reply and not row.handed_off,
            "tickets_raised": FactKind.TICKET_RAISED in kind_set,
        }
        for bucket in (totals, periods[period_start(row.day, filters.granularity)],
                       departments[row.department_code], channels[row.channel]):
            bucket.conversations += 1
            for name, value in flags.items():
                setattr(bucket, name, getattr(bucket, name) + int(bool(value)))
        for kind, intent in kinds:
            if kind == FactKind.INTENT:
                messages["user_messages"] += 1
                intents[intent]["messages"] += 1
            elif kind == FactKind.FALLBACK:
                messages["fallback_messages"] += 1
            elif kind == FactKind.DID_YOU_MEAN:
                messages["did_you_mean_offers"] += 1
            elif kind == FactKind.ANSWERED:
                intents[intent]["answered"] += 1
            elif kind == FactKind.HANDED_OFF and intent:
                intents[intent]["handed_off"] += 1
            elif kind == FactKind.TICKET_RAISED and intent:
                intents[intent]["tickets_raised"] += 1
    csat, comments, csat_by_intent = _csat(session, filters)
    for intent, scores in csat_by_intent.items():
        intents[intent]["ratings"] = len(scores)
        intents[intent]["csat_mean_x100"] = round(100 * statistics.fmean(scores))
    day_list = [filters.start + dt.timedelta(days=n)
                for n in range((filters.end - filters.start).days + 1)]
    period_keys = sorted({period_start(day, filters.granularity) for day in day_list})
    return Report(
        filters={"from": filters.start.isoformat(), "to": filters.end.isoformat(),
                 "department": filters.department, "channel": filters.channel,
                 "intent": filters.intent, "granularity": filters.granularity},
        totals=totals.as_dict(),
        periods=[{"period": key.isoformat(), **periods[key].as_dict()} for key in period_keys],
        by_department=[{"department": name, **rates.as_dict()}
                       for name, rates in sorted(departments.items())],
        by_channel=[{"channel": name, **rates.as_dict()}
                    for name, rates in sorted(channels.items())],
        by_intent=[{"intent": name, "messages": c["messages"], "answered": c["answered"],
                    "handed_off": c["handed_off"], "tickets_raised": c["tickets_raised"],
                    "ratings": c["ratings"],
                    "csat_mean": (c["csat_mean_x100"] / 100) if c["ratings"] else None}
                   for name, c in sorted(intents.items())],
        messages={name: messages[name] for name in
                  ("user_messages", "fallback_messages", "did_you_mean_offers")},
        agent_reply=_agent_reply(session, filters),
        tickets=_tickets(session, filters),
        csat=csat,
        comments=comments,
        unanswered=_unanswered(session, filters),
    )


def _conversations(session: Session, filters: Filters) -> dict[str, InsightConversation]:
    query = select(InsightConversation).where(InsightConversation.day >= filters.start,
                                              InsightConversation.day <= filters.end)
    if filters.department:
        query = query.where(InsightConversation.department_code == filters.department)
    if filters.channel:
        query = query.where(InsightConversation.channel == filters.channel)
    if filters.intent:
        query = query.where(InsightConversation.key.in_(
            select(InsightFact.conversation_key).where(InsightFact.kind == FactKind.INTENT,
                                                       InsightFact.intent == filters.intent)))
    return {row.key: row for row in session.execute(query).scalars()}


def _facts(session: Session, filters: Filters,
           keys: set[str]) -> dict[str, list[tuple[FactKind, str]]]:
    found: dict[str, list[tuple[FactKind, str]]] = defaultdict(list)
    if not keys:
        return found
    start = filters.start - dt.timedelta(days=1)  # a conversation may run past midnight
    rows = session.execute(
        select(InsightFact.conversation_key, InsightFact.kind, InsightFact.intent)
        .where(InsightFact.day >= start))
    for key, kind, intent in rows:
        if key in keys:
            found[key].append((kind, intent))
    return found


def _csat(session: Session, filters: Filters) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                       dict[str, list[int]]]:
    start, end = _window(filters)
    query = select(SatisfactionRequest).where(
        SatisfactionRequest.rated_at >= start, SatisfactionRequest.rated_at < end,
        SatisfactionRequest.score.is_not(None))
    if filters.department:
        query = query.where(SatisfactionRequest.department_code == filters.department)
    if filters.channel:
        query = query.where(SatisfactionRequest.channel == filters.channel)
    if filters.intent:
        query = query.where(SatisfactionRequest.intent == filters.intent)
    rows = list(session.execute(query.order_by(SatisfactionRequest.rated_at)).scalars())
    asked = select(func.count()).select_from(SatisfactionRequest).where(
        SatisfactionRequest.asked_at >= start, SatisfactionRequest.asked_at < end)
    if filters.department:
        asked = asked.where(SatisfactionRequest.department_code == filters.department)
    if filters.channel:
        asked = asked.where(SatisfactionRequest.channel == filters.channel)
    if filters.intent:
        asked = asked.where(SatisfactionRequest.intent == filters.intent)
    scores = [int(row.score) for row in rows if row.score is not None]
    distribution = Counter(scores)
    by_intent: dict[str, list[int]] = defaultdict(list)
    by_subject: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_intent[row.intent].append(int(row.score or 0))
        by_subject[row.subject.value].append(int(row.score or 0))
    csat = {
        "asked": int(session.execute(asked).scalar_one()),
        "ratings": len(scores),
        "mean": round(statistics.fmean(scores), 2) if scores else None,
        "satisfied_share": (round(sum(1 for s in scores if s >= 4) / len(scores), 4)
                            if scores else None),
        "distribution": {str(score): distribution[score] for score in range(1, 6)},
        "by_subject": {name: {"ratings": len(values), "mean": round(statistics.fmean(values), 2)}
                       for name, values in sorted(by_subject.items())},
    }
    comments = [{"at": _aware(row.rated_at).isoformat(timespec="minutes"),
                 "score": row.score, "subject": row.subject.value, "intent": row.intent,
                 "department": row.department_code, "comment": row.comment}
                for row in reversed(rows) if row.comment][:50]
    return csat, comments, by_intent


def _agent_reply(session: Session, filters: Filters) -> dict[str, Any]:
    start, end = _window(filters)
    first_reply = (select(HandoffEntry.handoff_id, func.min(HandoffEntry.at).label("first_at"))
                   .where(HandoffEntry.kind == EntryKind.AGENT)
                   .group_by(HandoffEntry.handoff_id).subquery())
    query = (select(Handoff.requested_at, first_reply.c.first_at)
             .join(first_reply, first_reply.c.handoff_id == Handoff.id, isouter=True)
             .where(Handoff.requested_at >= start, Handoff.requested_at < end))
    if filters.department:
        query = query.where(Handoff.department_code == filters.department)
    if filters.channel:
        query = query.where(Handoff.channel == filters.channel)
    handoffs, waits = 0, []
    for requested_at, first_at in session.execute(query):
        handoffs += 1
        if first_at is not None:
            waits.append((_aware(first_at) - _aware(requested_at)).total_seconds())
    return {"handoffs": handoffs, "replied": len(waits),
            "median_seconds": _percentile(waits, 0.5), "p90_seconds": _percentile(waits, 0.9)}


def _tickets(session: Session, filters: Filters) -> dict[str, Any]:
    start, end = _window(filters)

    def scoped(query: Any) -> Any:
        if filters.department:
            query = (query.join(Employee, Employee.id == Ticket.requester_id)
                     .join(Department, Department.id == Employee.department_id)
                     .where(Department.code == filters.department))
        if filters.channel:
            query = query.where(Ticket.channel == filters.channel)
        return query

    created = session.execute(scoped(
        select(Ticket.category, func.count()).where(Ticket.created_at >= start,
                                                    Ticket.created_at < end)
    ).group_by(Ticket.category)).all()
    resolved_rows = session.execute(scoped(
        select(Ticket.category, Ticket.assignee, Ticket.response_breached,
               Ticket.resolution_breached)
        .where(and_(Ticket.resolved_at >= start, Ticket.resolved_at < end)))).all()
    by_category: dict[str, Counter[str]] = defaultdict(Counter)
    by_team: dict[str, Counter[str]] = defaultdict(Counter)
    for category, count in created:
        by_category[category.value]["created"] += count
    for category, assignee, response_breached, resolution_breached in resolved_rows:
        for bucket in (by_category[category.value], by_team[assignee or "unassigned"]):
            bucket["resolved"] += 1
            bucket["within_sla"] += int(not resolution_breached)
            bucket["response_breaches"] += int(bool(response_breached))
            bucket["resolution_breaches"] += int(bool(resolution_breached))
    resolved = len(resolved_rows)
    within = sum(1 for row in resolved_rows if not row.resolution_breached)

    def rows(groups: dict[str, Counter[str]], label: str) -> list[dict[str, Any]]:
        return [{label: name, "created": c["created"], "resolved": c["resolved"],
                 "within_sla": c["within_sla"], "response_breaches": c["response_breaches"],
                 "resolution_breaches": c["resolution_breaches"],
                 "sla_attainment": round(c["within_sla"] / c["resolved"], 4) if c["resolved"]
                 else None}
                for name, c in sorted(groups.items())]

    return {"created": sum(count for _c, count in created), "resolved": resolved,
            "within_sla": within,
            "sla_attainment": round(within / resolved, 4) if resolved else None,
            "by_category": rows(by_category, "category"),
            "by_team": [{k: v for k, v in row.items() if k != "created"}
                        for row in rows(by_team, "team")]}


def _unanswered(session: Session, filters: Filters, limit: int = 20) -> list[dict[str, Any]]:
    query = (select(UnansweredQuestion.redacted_text, func.count().label("times"))
             .where(UnansweredQuestion.day >= filters.start,
                    UnansweredQuestion.day <= filters.end,
                    UnansweredQuestion.intent == "nlu_fallback"))
    if filters.department:
        query = query.where(UnansweredQuestion.department_code == filters.department)
    if filters.channel:
        query = query.where(UnansweredQuestion.channel == filters.channel)
    query = (query.group_by(UnansweredQuestion.redacted_text)
             .order_by(func.count().desc(), UnansweredQuestion.redacted_text).limit(limit))
    return [{"question": text, "times": int(times)} for text, times in session.execute(query)]
