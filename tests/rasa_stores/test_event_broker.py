"""endpoints.yml's event broker (rasa_runtime/event_broker.py): off, Rasa's SQL event broker,
or Rasa's pika broker to RabbitMQ (127.0.0.1:5672, guest; each test declares its own exchange
and queue and deletes them: it never touches a queue it did not create); and the caching
tracker store publishes each new event exactly once, without re-reading the tracker."""
from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Optional

import aio_pika
import pytest
import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.pika import PikaEventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_runtime.event_broker import WalSQLEventBroker
from rasa_runtime.tracker_store import CachingSQLTrackerStore

from .test_endpoints_stores import configure

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/%2F"


async def _broker(monkeypatch: pytest.MonkeyPatch, **env: str) -> EventBroker | None:
    endpoints = configure(monkeypatch, **env)
    return await EventBroker.create(endpoints.event_broker)


async def test_off_means_no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    assert await _broker(monkeypatch, EVENT_BROKER_URL="off") is None


async def test_an_sql_url_is_rasas_sql_broker_in_wal_mode(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    broker = await _broker(monkeypatch, EVENT_BROKER_URL=f"sqlite:///{path}")
    assert isinstance(broker, WalSQLEventBroker)
    broker.publish({"sender_id": "s1", "event": "action", "name": "action_listen"})
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT sender_id, data FROM events")).all()
        mode = connection.execute(sa.text("PRAGMA journal_mode")).scalar()
    engine.dispose()
    assert [(r.sender_id, json.loads(r.data)["name"]) for r in rows] == [("s1", "action_listen")]
    assert mode == "wal"



async def _clean_up(connection: aio_pika.abc.AbstractConnection, broker: Optional[EventBroker],
                   name: str) -> None:
    """Close Rasa's broker, delete the test's queue and exchange, close the connection."""
    if broker is not None:
        await broker.close()
    channel = await connection.channel()
    await channel.queue_delete(name)
    await channel.exchange_delete(name)
    await connection.close()

async def test_an_amqp_url_publishes_to_rabbitmq_and_keeps_the_queue(
        monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"insight-test-{uuid.uuid4().hex[:12]}"
    broker = await _broker(monkeypatch, EVENT_BROKER_URL=RABBITMQ, EVENT_BROKER_QUEUE=name,
                           EVENT_BROKER_EXCHANGE=name)
    connection = await aio_pika.connect(RABBITMQ)
    try:
        assert isinstance(broker, PikaEventBroker)
        broker.publish({"sender_id": "s1", "event": "user", "text": "hi"})
        channel = await connection.channel()
        queue = await channel.declare_queue(name, durable=True, passive=True)
        message = None
        for _attempt in range(100):  # the broker publishes on its own task
            message = await queue.get(no_ack=True, fail=False)
            if message is not None:
                break
            await asyncio.sleep(0.05)
        assert message is not None and json.loads(message.body)["sender_id"] == "s1"
    finally:
        await _clean_up(connection, broker, name)


async def test_rasa_s_broker_starts_after_the_insight_consumer_declared_the_exchange(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The consumer declares the fanout exchange durable (bot/insight/consumer.py); Rasa's own
    broker declared it transient, which RabbitMQ refuses once it exists otherwise: Rasa did not
    start when the consumer had started first (the production benchmark's stack)."""
    name = f"insight-test-{uuid.uuid4().hex[:12]}"
    connection = await aio_pika.connect(RABBITMQ)
    broker = None
    try:
        channel = await connection.channel()
        await channel.declare_exchange(name, type=aio_pika.ExchangeType.FANOUT, durable=True)
        broker = await _broker(monkeypatch, EVENT_BROKER_URL=RABBITMQ, EVENT_BROKER_QUEUE=name,
                               EVENT_BROKER_EXCHANGE=name)
        assert isinstance(broker, PikaEventBroker) and broker.is_ready()
    finally:
        await _clean_up(connection, broker, name)


class Recorder(EventBroker):
    def __init__(self) -> None:
        self.published: list[dict] = []

    def publish(self, event: dict) -> None:
        self.published.append(event)


async def test_the_caching_store_publishes_each_new_event_once(tmp_path: Path) -> None:
    recorder = Recorder()
    store = CachingSQLTrackerStore(domain=Domain.empty(), host=f"sqlite:///{tmp_path / 't.db'}",
                                   event_broker=recorder)
    tracker = DialogueStateTracker.from_events("s1", [
        ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")])
    await store.save(tracker)
    kept = await store.retrieve("s1")
    kept.update(UserUttered("hello", {"name": "greet", "confidence": 1.0}))
    kept.update(ActionExecuted("utter_greet"))
    await store.save(kept)
    await store.save(kept)  # nothing new
    assert [(e["sender_id"], e["event"], e.get("name")) for e in recorder.published] == [
        ("s1", "action", "action_session_start"), ("s1", "session_started", None),
        ("s1", "action", "action_listen"), ("s1", "user", None),
        ("s1", "action", "utter_greet")]


def test_a_worker_losing_the_race_to_create_the_table_still_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two Rasa workers start together: both see no `events` table, one CREATE fails. Made
    deterministic by letting this process's first check see no table after another
    "worker" created it."""
    arguments = {"dialect": "sqlite", "db": str(tmp_path / "events.db")}
    WalSQLEventBroker(**arguments)  # the other worker: the table exists now
    dialect = type(sa.create_engine("sqlite://").dialect)
    checks: list[str] = []
    real_has_table = dialect.has_table

    def first_check_misses(self, connection, table_name, *args, **kwargs):  # type: ignore[no-untyped-def]
        checks.append(table_name)
        if len(checks) == 1:
            return False
        return real_has_table(self, connection, table_name, *args, **kwargs)

    monkeypatch.setattr(dialect, "has_table", first_check_misses)
    broker = WalSQLEventBroker(**arguments)
    assert len(checks) >= 2  # the CREATE that failed, then the second construction
    with broker.engine.connect() as connection:
        assert sa.inspect(connection).has_table("events")
