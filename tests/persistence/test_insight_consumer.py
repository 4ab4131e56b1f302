"""The insight consumer on SQLite and PostgreSQL: facts from Rasa's SQL event broker table,
exactly once across restarts, and the report's numbers equal to an independent count."""
from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from bot.config import Settings
from bot.insight.consumer import (BrokerEvent, SqlBrokerSource, apply_batch, consume_once, drain,
                                  prune_processed_keys, run)
from bot.insight.measures import Filters, report
from bot.insight.models import FactKind, InsightFact, InsightProcessedEvent, UnansweredQuestion
from bot.storage.database import Database
from tests.insight_support import (Script, abandoned_in_form, answered, fallback, handed_off,
                                   independent_counts, no_article, rated, stopped, ticket)

SUBJECTS = {"alice.hughes": "DDS", "daniel.evans": "MPW"}
ABANDON = dt.timedelta(minutes=30)


def broker_table(path: Path, events: list[dict]) -> str:
    """A table shaped as Rasa's SQLEventBroker writes it (id, sender_id, data)."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, "
                                "sender_id VARCHAR(255), data TEXT)"))
        for event in events:
            connection.execute(text("INSERT INTO events (sender_id, data) VALUES (:s, :d)"),
                               {"s": event["sender_id"], "d": json.dumps(event)})
    engine.dispose()
    return url


def mixed_week(start: float, count: int, seed: int = 7) -> list[dict]:
    """`count` conversations of mixed outcomes over a week, interleaved like real traffic."""
    rng = random.Random(seed)
    scripts = []
    for n in range(count):
        subject = rng.choice(sorted(SUBJECTS))
        s = Script(f"widget-{n:05d}", subject, start + rng.uniform(0, 6.5 * 86400)).session()
        outcome = rng.choice(["answer", "answer+rate", "fallback", "handoff", "ticket",
                              "abandon", "stop", "fallback+answer", "no_article"])
        if outcome in ("answer", "answer+rate"):
            answered(s, rng.choice(["leave_balance", "payslip", "pay_date"]))
            if outcome == "answer+rate":
                rated(s, rng.randint(1, 5))
        elif outcome == "fallback":
            fallback(s, f"question number {rng.randint(1, 3)}")
        elif outcome == "fallback+answer":
            fallback(s)
            answered(s)
        elif outcome == "handoff":
            handed_off(s)
        elif outcome == "no_article":
            no_article(s)
        elif outcome == "ticket":
            ticket(s, f"HR-{n:06d}")
        elif outcome == "abandon":
            abandoned_in_form(s)
        else:
            answered(s)
            stopped(s)
        scripts.append(s)
    events = [e for s in scripts for e in s.events]
    # Each sender's events stay in order (Rasa writes a conversation under its lock); senders
    # interleave by time.
    return sorted(events, key=lambda e: e["timestamp"])


def _counts(session, filters: Filters, now: dt.datetime) -> dict:
    result = report(session, filters, now, ABANDON).as_dict()
    return {**{k: result["totals"][k] for k in ("conversations", "contained", "handed_off",
                                                 "with_fallback", "with_did_you_mean",
                                                 "abandoned", "tickets_raised")},
            "ratings": sum(result["csat"]["distribution"].values()),
            "distribution": result["csat"]["distribution"]}


def test_a_week_of_events_gives_the_independent_counts_once(demo_db: Database,
                                                            tmp_path: Path) -> None:
    start = dt.datetime(2026, 11, 30, 8, tzinfo=dt.timezone.utc).timestamp()
    events = mixed_week(start, 240)
    source = SqlBrokerSource(broker_table(tmp_path / "events.db", events))
    try:
        # Stop part-way (a consumer that dies after some batches), then carry on.
        consume_once(demo_db, source, limit=700)
        consume_once(demo_db, source, limit=350)
        drain(demo_db, source)
        drain(demo_db, source)  # nothing new: nothing counted twice
    finally:
        source.close()
    now = dt.datetime.fromtimestamp(start, dt.timezone.utc) + dt.timedelta(days=9)
    filters = Filters(dt.date(2026, 11, 30), dt.date(2026, 12, 7))
    expected = independent_counts(events, now, ABANDON)
    with demo_db.unit_of_work() as session:
        got = _counts(session, filters, now)
        facts = session.execute(select(func.count()).select_from(InsightFact)).scalar_one()
        unique = session.execute(select(func.count(func.distinct(
            InsightFact.event_key + InsightFact.kind)))).scalar_one()
    assert got["conversations"] == 240
    # The ratings in the report come from the satisfaction table (none here): compare facts.
    expected_without_ratings = {k: v for k, v in expected.items()
                                if k not in ("ratings", "distribution")}
    assert {k: got[k] for k in expected_without_ratings} == expected_without_ratings
    assert facts == unique
    with demo_db.unit_of_work() as session:
        rated_facts = session.execute(select(func.count()).select_from(InsightFact).where(
            InsightFact.kind == FactKind.RATED)).scalar_one()
    assert rated_facts == expected["ratings"] > 0
    for name in ("contained", "handed_off", "with_fallback", "abandoned", "tickets_raised"):
        assert expected[name] > 0, name  # the week exercises every outcome


def test_a_policy_question_without_an_article_is_not_contained(demo_db: Database) -> None:
    start = dt.datetime(2026, 11, 30, 8, tzinfo=dt.timezone.utc).timestamp()
    events = no_article(Script("widget-kb", "alice.hughes", start).session()).events
    with demo_db.unit_of_work() as session:
        apply_batch(session, [BrokerEvent(json.dumps(e).encode()) for e in events])
    with demo_db.unit_of_work() as session:
        kinds = [f.kind for f in session.scalars(select(InsightFact))]
        counts = _counts(session, Filters(dt.date(2026, 11, 30), dt.date(2026, 11, 30)),
                         dt.datetime.fromtimestamp(start, dt.timezone.utc))
    assert FactKind.ANSWERED not in kinds
    assert (counts["conversations"], counts["contained"]) == (1, 0)


def test_a_redelivered_batch_is_not_counted_again(demo_db: Database) -> None:
    s = Script("widget-redelivered", "alice.hughes", 1_700_000_000.0).session()
    fallback(answered(s), "my p60 from 12/04/1980 to jo@x.org")
    batch = [BrokerEvent(json.dumps(e).encode()) for e in s.events]
    with demo_db.unit_of_work() as session:
        first = apply_batch(session, batch)
    with demo_db.unit_of_work() as session:  # the broker delivers it all again after a crash
        again = apply_batch(session, batch)
        facts = session.execute(select(InsightFact.kind)).scalars().all()
        kept = session.execute(select(UnansweredQuestion.redacted_text)).scalars().all()
        processed = session.execute(select(func.count()).select_from(InsightProcessedEvent)
                                    ).scalar_one()
    assert (first, again) == (len(s.events), 0)
    assert processed == len(s.events)
    assert sorted(f.value for f in facts) == sorted([
        "conversation_started", "intent", "answered", "intent", "fallback", "did_you_mean"])
    # bot.privacy's redactor: an e-mail address goes; a date is personal only as a birth date.
    assert kept == ["my p60 from 12/04/1980 to [email]"]


def test_department_and_channel_come_from_the_verified_principal(demo_db: Database) -> None:
    s = answered(Script("widget-dept", "daniel.evans", 1_700_000_000.0).session())
    unknown = answered(Script("widget-nobody", "no.such.person", 1_700_000_100.0).session())
    with demo_db.unit_of_work() as session:
        apply_batch(session, [BrokerEvent(json.dumps(e).encode())
                              for e in s.events + unknown.events])
        rows = session.execute(select(InsightFact.conversation_key, InsightFact.department_code,
                                      InsightFact.channel)
                               .where(InsightFact.kind == FactKind.ANSWERED)).all()
    assert sorted((d, c) for _k, d, c in rows) == [("MPW", "widget"), ("unknown", "widget")]


def test_a_bad_report_window_is_refused() -> None:
    with pytest.raises(ValueError):
        Filters(dt.date(2026, 12, 7), dt.date(2026, 12, 1))
    with pytest.raises(ValueError):
        Filters(dt.date(2025, 1, 1), dt.date(2026, 12, 1))


def test_processed_keys_are_kept_a_week(demo_db: Database) -> None:
    s = answered(Script("widget-prune", "alice.hughes", 1_700_000_000.0).session())
    with demo_db.unit_of_work() as session:
        apply_batch(session, [BrokerEvent(json.dumps(e).encode()) for e in s.events])
    now = dt.datetime.now(dt.timezone.utc)
    assert prune_processed_keys(demo_db, now + dt.timedelta(days=6)) == 0
    assert prune_processed_keys(demo_db, now + dt.timedelta(days=8)) == len(s.events)
    with demo_db.unit_of_work() as session:  # the facts stay
        assert session.execute(select(func.count()).select_from(InsightFact)).scalar_one() > 0


def test_the_heartbeat_is_touched_after_a_good_poll_only(demo_db: Database, tmp_path: Path) -> None:
    """`--heartbeat`: the liveness and readiness probes of kubernetes/ read its age."""
    s = answered(Script("widget-heartbeat", "alice.hughes", 1_700_000_000.0).session())
    broker = broker_table(tmp_path / "events.db", s.events)
    heartbeat = tmp_path / "consumer.alive"
    settings = Settings.from_env({"HELPDESK_DATABASE_URL": demo_db.url, "EVENT_BROKER_URL": broker})
    assert run(settings, interval=0.0, once=True, heartbeat=heartbeat) == 0
    assert heartbeat.exists()
    with demo_db.unit_of_work() as session:  # the poll did its work before the heartbeat
        assert session.execute(select(func.count()).select_from(InsightFact)).scalar_one() > 0

    # A database without the insight tables: every poll fails, so no heartbeat.
    stale = tmp_path / "stale.alive"
    broken = Settings.from_env({"HELPDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
                                "EVENT_BROKER_URL": broker})
    assert run(broken, interval=0.0, once=True, heartbeat=stale) == 0
    assert not stale.exists()
