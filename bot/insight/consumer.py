"""The insight consumer: reads Rasa's event broker and writes conversation facts.

Run with the services runtime:
`python -m bot.insight.consumer [--once] [--interval 2] [--heartbeat FILE]`; FILE is touched
after each poll that did not fail, so that a health check can read its age (a stuck or
failing consumer goes stale), as the ticket worker's does.
EVENT_BROKER_URL names the broker Rasa publishes to (`rasa_runtime/event_broker.py`):

- an SQL URL: Rasa's SQL event broker's `events` table, read in id order from the position
  kept in `insight_offsets`;
- `amqp://...`: Rasa's pika broker; the consumer reads its own durable queue
  (EVENT_BROKER_QUEUE) bound to Rasa's exchange, and acknowledges a batch only after the
  facts it gave are committed.

Nothing is lost while the consumer is down: the table keeps every event, and RabbitMQ keeps
the durable queue's messages until they are acknowledged. Nothing is counted twice: each
batch's facts, the position reached and the keys of the events it processed are committed in
one transaction, and an event whose key is already recorded is skipped (a redelivery after a
crash between commit and acknowledgement).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol

from sqlalchemy import create_engine, delete, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.identity import Principal, find_employee
from bot.storage.database import Database
from bot.redaction import logs as log_redaction
from bot.redaction import redact

from bot import metrics
from .events import UNKNOWN, ConversationState, Outcome, event_key, interpret
from .models import (InsightConversation, InsightFact, InsightOffset, InsightProcessedEvent,
                     UnansweredQuestion)

log = logging.getLogger("bot.insight.consumer")
BATCH = 500
# A redelivery comes within minutes (an unacknowledged batch after a restart); the keys of
# processed events are kept a week, then pruned, so the table does not grow without end.
KEEP_PROCESSED_KEYS = dt.timedelta(days=7)
PRUNE_EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class BrokerEvent:
    body: bytes
    position: int | None = None  # the SQL broker's row id; None on RabbitMQ


class EventSource(Protocol):
    name: str

    def fetch(self, after: int, limit: int) -> list[BrokerEvent]: ...
    def acknowledge(self) -> None: ...
    def lag(self, after: int) -> int: ...
    def close(self) -> None: ...


class SqlBrokerSource:
    """Rasa's SQL event broker's `events` table (id, sender_id, data)."""

    def __init__(self, url: str) -> None:
        self.name = f"sql:{make_url(url).render_as_string(hide_password=True)}"[:200]
        self.engine: Engine = create_engine(services_url(url), pool_pre_ping=True)

    def _exists(self) -> bool:
        from sqlalchemy import inspect
        return inspect(self.engine).has_table("events")

    def fetch(self, after: int, limit: int) -> list[BrokerEvent]:
        if not self._exists():
            return []  # Rasa creates the table when it starts
        with self.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, data FROM events WHERE id > :after ORDER BY id LIMIT :limit"),
                {"after": after, "limit": limit}).all()
        return [BrokerEvent(str(row.data).encode("utf-8"), int(row.id)) for row in rows]

    def acknowledge(self) -> None:
        """Nothing to do: the position is committed with the facts."""

    def lag(self, after: int) -> int:
        if not self._exists():
            return 0
        with self.engine.connect() as connection:
            return int(connection.execute(
                text("SELECT count(*) FROM events WHERE id > :after"), {"after": after}).scalar())

    def close(self) -> None:
        self.engine.dispose()


class RabbitSource:
    """A durable queue bound to the fanout exchange Rasa's pika broker publishes to."""

    def __init__(self, url: str, queue: str, exchange: str) -> None:
        self.name = f"amqp:{queue}"
        self.queue = queue
        self._url, self._exchange = url, exchange
        self._connection = None
        self._last_tag: int | None = None
        self._open()

    def _open(self) -> None:
        import pika

        self._connection = pika.BlockingConnection(pika.URLParameters(self._url))
        self._channel = self._connection.channel()
        self._channel.exchange_declare(self._exchange, exchange_type="fanout", durable=True)
        self._channel.queue_declare(self.queue, durable=True)
        self._channel.queue_bind(self.queue, self._exchange)
        self._last_tag = None

    def _using_channel(self, operation):  # type: ignore[no-untyped-def]
        """Run `operation()` on the channel, opening a new connection first if the last one
        broke (RabbitMQ restarted: issue 27; the consumer used to fail on the dead channel
        every poll until it was restarted). A failure closes the connection and raises: the
        deliveries not yet acknowledged come again on the next connection, and applying an
        event twice counts it once (the processed-event keys)."""
        import pika.exceptions

        if self._connection is None or not self._connection.is_open:
            self._open()
        try:
            return operation()
        except pika.exceptions.AMQPError:
            self.close()
            self._connection = None
            raise

    def fetch(self, after: int, limit: int) -> list[BrokerEvent]:
        def read() -> list[BrokerEvent]:
            events = []
            while len(events) < limit:
                method, _properties, body = self._channel.basic_get(self.queue, auto_ack=False)
                if method is None:
                    break
                self._last_tag = method.delivery_tag
                events.append(BrokerEvent(body))
            return events

        return self._using_channel(read)

    def acknowledge(self) -> None:
        if self._last_tag is None:
            return
        tag, self._last_tag = self._last_tag, None
        if self._connection is None or not self._connection.is_open:
            return  # read on a connection that broke: delivered again on the next one
        self._using_channel(lambda: self._channel.basic_ack(tag, multiple=True))

    def lag(self, after: int) -> int:
        declared = self._using_channel(
            lambda: self._channel.queue_declare(self.queue, durable=True, passive=True))
        return int(declared.method.message_count)

    def close(self) -> None:
        try:
            if self._connection is not None and self._connection.is_open:
                self._connection.close()
        except Exception:  # a broken connection may fail to close; it is dropped either way
            log.info("insight.consumer.close_failed")


def services_url(url: str) -> str:
    """The broker's URL as the services runtime's SQLAlchemy 2 wants it (psycopg 3)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgresql+psycopg2", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def open_source(settings: Settings) -> EventSource | None:
    url = settings.event_broker_url.strip()
    if url.lower() in ("", "off"):
        return None
    if url.startswith(("amqp://", "amqps://")):
        return RabbitSource(url, settings.event_broker_queue, settings.event_broker_exchange)
    return SqlBrokerSource(url)


class DepartmentDirectory:
    """The department of the employee a message's verified principal belongs to (cached)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._known: dict[tuple[str, str, str], str] = {}

    def __call__(self, metadata: Mapping[str, Any] | None) -> str:
        principal = Principal.from_metadata(metadata)
        if principal is None:
            return UNKNOWN
        key = (principal.channel, principal.tenant, principal.subject)
        if key not in self._known:
            employee = find_employee(self.session, principal)
            self._known[key] = employee.department_code if employee else UNKNOWN
        return self._known[key]


_STATE_FIELDS = [f.name for f in fields(ConversationState) if f.name != "new"]


def _load_state(session: Session, sender_id: str) -> ConversationState | None:
    row = session.execute(select(InsightConversation).where(
        InsightConversation.sender_id == sender_id, InsightConversation.current.is_(True))
    ).scalar_one_or_none()
    if row is None:
        return None
    values = {name: getattr(row, name) for name in _STATE_FIELDS}
    for name in ("started_at", "last_event_at"):  # SQLite gives naive UTC times back
        values[name] = _aware(values[name])
    return ConversationState(**values)


def _save_state(session: Session, state: ConversationState, current: bool) -> None:
    row = session.get(InsightConversation, state.key)
    if row is None:
        row = InsightConversation(key=state.key, day=state.started_at.date())
        session.add(row)
    for name in _STATE_FIELDS:
        setattr(row, name, getattr(state, name))
    row.current = current


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def apply_batch(session: Session, events: Iterable[BrokerEvent]) -> int:
    """Turn a batch of broker events into facts in `session`; returns how many were new."""
    departments = DepartmentDirectory(session)
    states: dict[str, ConversationState | None] = {}
    touched: dict[str, ConversationState] = {}
    finished: list[ConversationState] = []
    bodies: list[tuple[str, dict[str, Any]]] = []
    for event in events:
        try:
            body = json.loads(event.body)
        except ValueError:
            log.warning("insight.event_unreadable")
            continue
        if isinstance(body, dict) and body.get("sender_id"):
            bodies.append((event_key(body), body))
    seen = set(session.execute(select(InsightProcessedEvent.event_key).where(
        InsightProcessedEvent.event_key.in_({key for key, _body in bodies}))).scalars())
    applied = 0
    for key, body in bodies:
        if key in seen:
            continue  # a redelivery: already counted
        seen.add(key)
        session.add(InsightProcessedEvent(event_key=key))
        sender = str(body["sender_id"])
        if sender not in states:
            states[sender] = _load_state(session, sender)
        outcome = interpret(states[sender], body, departments)
        _record(session, key, outcome)
        if outcome.finished is not None and outcome.finished is not outcome.state:
            finished.append(outcome.finished)
            touched.pop(outcome.finished.key, None)
        if outcome.state is not None:
            outcome.state.started_at = _aware(outcome.state.started_at)
            outcome.state.last_event_at = _aware(outcome.state.last_event_at)
            states[sender] = outcome.state
            touched[outcome.state.key] = outcome.state
        applied += 1
    for state in finished:
        _save_state(session, state, current=False)
    session.flush()
    for state in touched.values():
        _save_state(session, state, current=True)
    return applied


def _record(session: Session, key: str, outcome: Outcome) -> None:
    state = outcome.state
    if state is None:
        return
    for fact in outcome.facts:
        session.add(InsightFact(
            event_key=key, kind=fact.kind, conversation_key=state.key, at=fact.at,
            day=fact.at.date(), channel=state.channel, department_code=state.department_code,
            intent=fact.intent[:100], score=fact.score, detail=fact.detail[:100]))
    if outcome.unanswered_text:
        session.add(UnansweredQuestion(
            event_key=key, at=outcome.facts[0].at, day=outcome.facts[0].at.date(),
            channel=state.channel, department_code=state.department_code,
            intent=outcome.unanswered_intent,
            redacted_text=" ".join(redact(outcome.unanswered_text).split())[:500]))


def consume_once(db: Database, source: EventSource, limit: int = BATCH) -> int:
    """Read one batch, commit its facts with the position reached, then acknowledge it.

    Returns how many events the batch held (redeliveries included; 0: nothing to read)."""
    with db.unit_of_work() as session:
        after = _position(session, source)
    events = source.fetch(after, limit)
    if not events:
        return 0
    with db.unit_of_work() as session:
        apply_batch(session, events)
        positions = [e.position for e in events if e.position is not None]
        if positions:
            offset = session.get(InsightOffset, source.name)
            if offset is None:
                offset = InsightOffset(source=source.name, position=0)
                session.add(offset)
            offset.position = max(positions)
            offset.updated_at = dt.datetime.now(dt.timezone.utc)
    source.acknowledge()
    metrics.EVENTS_CONSUMED.inc(len(events))
    return len(events)


def drain(db: Database, source: EventSource) -> int:
    """Consume until the source has nothing more; returns the number of events read."""
    total = 0
    while count := consume_once(db, source):
        total += count
    return total


def prune_processed_keys(db: Database, now: dt.datetime) -> int:
    """Forget the keys of events processed more than KEEP_PROCESSED_KEYS ago."""
    with db.unit_of_work() as session:
        result = session.execute(delete(InsightProcessedEvent).where(
            InsightProcessedEvent.processed_at < now - KEEP_PROCESSED_KEYS))
        return int(result.rowcount or 0)


def _position(session: Session, source: EventSource) -> int:
    offset = session.get(InsightOffset, source.name)
    return offset.position if offset else 0


def run(settings: Settings, interval: float, once: bool, heartbeat: Path | None = None) -> int:
    db = Database(settings.database_url)
    source = open_source(settings)
    if source is None:
        log.info("insight.consumer.off")
        return 0
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    if settings.metrics_port:
        metrics.serve(settings.metrics_host, settings.metrics_port)
    pruned_at = 0.0
    try:
        while not stopping.is_set():
            try:
                if time.monotonic() - pruned_at >= PRUNE_EVERY_SECONDS:
                    prune_processed_keys(db, dt.datetime.now(dt.timezone.utc))
                    pruned_at = time.monotonic()
                count = consume_once(db, source)
                with db.unit_of_work() as session:
                    metrics.BROKER_LAG.set(source.lag(_position(session, source)))
                if heartbeat:
                    heartbeat.touch()
            except Exception as error:  # keep going; the type only (no personal data)
                log.error("insight.consumer.failed error=%s", type(error).__name__)
                metrics.CONSUMER_ERRORS.inc()
                count = 0
            if once and count == 0:
                return 0
            if count < BATCH:
                stopping.wait(interval)  # a polling period, not synchronisation
    finally:
        source.close()
        db.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.insight.consumer", description=__doc__)
    parser.add_argument("--once", action="store_true", help="consume until empty, then exit")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between polls")
    parser.add_argument("--heartbeat", type=Path, help="file touched after each good poll")
    args = parser.parse_args(argv)
    log_redaction.install()  # every record of this process redacted (bot/privacy)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return run(Settings.from_env(), args.interval, args.once, args.heartbeat)


if __name__ == "__main__":
    sys.exit(main())
