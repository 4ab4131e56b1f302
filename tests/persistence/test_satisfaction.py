"""Satisfaction on SQLite and PostgreSQL: asked once per subject, never after "stop" or an
angry message, one score per request, comments redacted."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.handoff.models import Handoff, HandoffReason, HandoffStatus
from bot.identity import Principal
from bot.insight.models import RatingSubject, SatisfactionRequest
from bot.insight.satisfaction import add_comment, offer, rate, reads_angry, score_from_text
from bot.storage.database import Database
from bot.storage.models import Employee
from bot.tickets.enums import ServiceLine
from tests.insight_support import Script, answered, stopped

ALICE = Principal("widget", DEMO_WIDGET_ISSUER, "alice.hughes")


def _session(sender: str = "widget-alice") -> Script:
    return answered(Script(sender, "alice.hughes", 1_700_000_000.0).session())


def _events(script: Script) -> list[dict]:
    return [{k: v for k, v in e.items() if k != "sender_id"} for e in script.events]


def test_an_answered_conversation_is_asked_once(demo_db: Database) -> None:
    script = _session()
    first = offer(demo_db, ALICE, "widget-alice", _events(script), ["thanks"])
    second = offer(demo_db, ALICE, "widget-alice", _events(script), ["bye"])
    assert first is not None and first.subject is RatingSubject.CONVERSATION
    assert second is None
    with demo_db.unit_of_work() as session:
        row = session.execute(select(SatisfactionRequest)).scalar_one()
    assert (row.intent, row.department_code, row.channel) == ("leave_balance", "DDS", "widget")


def test_nothing_answered_nothing_asked(demo_db: Database) -> None:
    script = Script("widget-alice", "alice.hughes", 1.0).session().user("greet").listen()
    assert offer(demo_db, ALICE, "widget-alice", _events(script), ["hi"]) is None


def test_never_after_stop_or_an_angry_message(demo_db: Database) -> None:
    assert offer(demo_db, ALICE, "widget-a", _events(stopped(_session("widget-a"))),
                 ["cancel that"]) is None
    assert offer(demo_db, ALICE, "widget-b", _events(_session("widget-b")),
                 ["this is useless, absolutely terrible and a total waste of my time"]) is None
    assert reads_angry(["this is useless, absolutely terrible and a total waste of my time"])
    assert not reads_angry(["thanks, that's great", "/rate_service"])


def test_an_ended_handoff_is_rated_with_its_agent(demo_db: Database) -> None:
    with demo_db.unit_of_work() as session:
        employee = session.execute(select(Employee).where(Employee.employee_number == "E1001")
                                   ).scalar_one()
        session.add(Handoff(conversation_id="widget-h", channel="widget",
                            tenant=DEMO_WIDGET_ISSUER, subject="alice.hughes",
                            employee_id=employee.id, department_code="DDS",
                            skill=ServiceLine.HR, reason=HandoffReason.REQUESTED,
                            status=HandoffStatus.RESUMED, assignee="sam.patel", summary="-",
                            feed_since=0.0,
                            ended_at=dt.datetime.now(dt.timezone.utc)))
    asked = offer(demo_db, ALICE, "widget-h", [], [])
    assert asked is not None and asked.subject is RatingSubject.HANDOFF
    assert offer(demo_db, ALICE, "widget-h", [], []) is None
    assert rate(demo_db, "widget-h", "5")
    with demo_db.unit_of_work() as session:
        row = session.execute(select(SatisfactionRequest)).scalar_one()
    assert (row.agent, row.score) == ("sam.patel", 5)


def test_one_score_per_request_and_a_redacted_comment(demo_db: Database) -> None:
    assert not rate(demo_db, "widget-alice", "4")  # nothing asked yet
    offer(demo_db, ALICE, "widget-alice", _events(_session()), [])
    assert not rate(demo_db, "widget-alice", "9")
    assert not rate(demo_db, "widget-alice", "four")
    assert rate(demo_db, "widget-alice", "4")
    assert not rate(demo_db, "widget-alice", "1")  # already rated
    assert add_comment(demo_db, "widget-alice", "quick, thanks - call me on 07700 900123")
    assert not add_comment(demo_db, "widget-alice", "again")
    with demo_db.unit_of_work() as session:
        row = session.execute(select(SatisfactionRequest)).scalar_one()
    assert (row.score, row.comment) == (4, "quick, thanks - call me on [phone]")


def test_a_typed_rating_is_read_from_the_words() -> None:
    assert [score_from_text(t) for t in ("I'd give it 4 out of 5", "five stars", "2",
                                         "rating: one", "out of 10", "great")] == [
        4, 5, 2, 1, None, None]
