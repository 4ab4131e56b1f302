"""The insight consumer on RabbitMQ (127.0.0.1:5672, guest): a consumer that dies before
acknowledging loses nothing and counts nothing twice. Each test uses its own exchange and
queue and deletes them; no shared queue is read or purged."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pika
import pytest
from sqlalchemy import func, select

from bot.insight.consumer import RabbitSource, consume_once, drain
from bot.insight.models import FactKind, InsightFact
from bot.storage.database import Database
from tests.insight_support import Script, answered, fallback, handed_off

URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


@pytest.fixture
def names() -> Iterator[str]:
    name = f"insight-test-{uuid.uuid4().hex[:12]}"
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(URL))
    channel = connection.channel()
    channel.queue_delete(name)
    channel.exchange_delete(name)
    connection.close()


def publish(name: str, events: list[dict], url: str = URL) -> None:
    """As Rasa's pika broker does: JSON bodies to a fanout exchange."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.exchange_declare(name, exchange_type="fanout", durable=True)
    channel.queue_declare(name, durable=True)
    channel.queue_bind(name, name)
    for event in events:
        channel.basic_publish(name, "", json.dumps(event).encode(),
                              pika.BasicProperties(delivery_mode=2))
    connection.close()


def test_a_consumer_killed_before_its_ack_loses_and_doubles_nothing(
        demo_db: Database, names: str) -> None:
    scripts = [answered(Script(f"w-{n}", "alice.hughes", 1_700_000_000.0 + n).session())
               for n in range(20)]
    scripts += [fallback(Script("w-f", "daniel.evans", 1_700_000_100.0).session()),
                handed_off(Script("w-h", "alice.hughes", 1_700_000_200.0).session())]
    events = [e for s in scripts for e in s.events]
    publish(names, events)
    first = RabbitSource(URL, names, names)
    consume_once(demo_db, first, limit=50)  # committed and acknowledged
    first.fetch(0, 40)  # read, then "killed" before committing or acknowledging
    first.close()
    second = RabbitSource(URL, names, names)
    consume_once(demo_db, second, limit=30)
    second._last_tag = None  # committed, but "killed" before the acknowledgement
    second.close()
    third = RabbitSource(URL, names, names)
    try:
        drain(demo_db, third)
        assert third.lag(0) == 0
    finally:
        third.close()
    with demo_db.unit_of_work() as session:
        kinds = dict(session.execute(select(InsightFact.kind, func.count())
                                     .group_by(InsightFact.kind)).all())
    assert kinds[FactKind.CONVERSATION_STARTED] == 22
    assert kinds[FactKind.ANSWERED] == 20
    assert kinds[FactKind.FALLBACK] == 1 and kinds[FactKind.HANDED_OFF] == 1
    assert kinds[FactKind.INTENT] == 22


def test_the_consumer_rides_out_a_rabbitmq_restart(demo_db: Database) -> None:
    """RabbitMQ restarted under a running consumer (issue 27): the same source opens a new
    connection and every event is counted once. A RabbitMQ node of the test's own
    (benchmarks/throwaway.py), since it is restarted."""
    import tempfile
    import time
    from pathlib import Path

    from benchmarks.throwaway import RabbitMQ

    def started() -> int:
        with demo_db.unit_of_work() as session:
            return session.scalar(select(func.count()).select_from(InsightFact).where(
                InsightFact.kind == FactKind.CONVERSATION_STARTED))

    scripts = [answered(Script(f"r-{n}", "alice.hughes", 1_700_000_000.0 + n).session())
               for n in range(8)]
    with tempfile.TemporaryDirectory(prefix="insight-rabbitmq-") as root:
        server = RabbitMQ(Path(root))
        server.start()
        source = None
        try:
            publish("restart", [e for s in scripts[:4] for e in s.events], server.url)
            source = RabbitSource(server.url, "restart", "restart")
            drain(demo_db, source)
            assert started() == 4
            server.restart()
            publish("restart", [e for s in scripts[4:] for e in s.events], server.url)
            deadline = time.monotonic() + 60
            while started() < 8 and time.monotonic() < deadline:
                try:
                    drain(demo_db, source)  # the first try meets the dead connection
                except pika.exceptions.AMQPError:
                    continue
            assert started() == 8
            assert source.lag(0) == 0
        finally:
            if source is not None:
                source.close()
            server.stop()
    with demo_db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(InsightFact).where(
            InsightFact.kind == FactKind.ANSWERED)) == 8
