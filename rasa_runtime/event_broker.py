"""The event broker named by one URL (EVENT_BROKER_URL), for endpoints.yml.

Rasa picks its broker by `type`; this small factory lets one environment variable choose,
like the tracker store's URL, and returns Rasa's own brokers:

- `off` (or empty): no broker (what the benchmark's `--no-broker` compares against);
- an SQL URL (`sqlite:///var/rasa_events.db`, `postgresql://user:pw@host:5432/rasa_events`):
  Rasa's `SQLEventBroker` (its `events` table), on SQLite in WAL mode with
  `synchronous=NORMAL` as the tracker store is (each event is one small commit on the event
  loop; a full sync per commit would cost milliseconds a message);
- `amqp://user:pw@host:5672/vhost`: Rasa's `PikaEventBroker`, publishing to the fanout
  exchange `exchange` and declaring the durable `queue` the insight consumer reads, so that
  events published before the consumer first starts are kept too. The exchange is declared
  durable, as the insight consumer declares it (`DurablePikaEventBroker`): Rasa declares it
  transient, and RabbitMQ refuses a second declaration that differs, so whichever of Rasa and
  the consumer started second failed (Rasa with "Cannot connect to event broker", found by
  the production benchmark, issue 27); a durable exchange also keeps its binding to the
  durable queue across a RabbitMQ restart.
"""
from __future__ import annotations

from asyncio import AbstractEventLoop
from typing import Any, Optional, Text
from urllib.parse import unquote, urlparse

import sqlalchemy
from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.pika import PikaEventBroker
from rasa.core.brokers.sql import SQLEventBroker
from rasa.utils.endpoints import EndpointConfig

OFF = ("", "off", "none")


class WalSQLEventBroker(SQLEventBroker):
    """Rasa's SQL event broker (same table, same rows); SQLite files in WAL mode."""

    def __init__(self, **kwargs: Any) -> None:
        try:
            super().__init__(**kwargs)
        except sqlalchemy.exc.DBAPIError:
            # Rasa's constructor creates the `events` table (check, then CREATE). Two workers
            # starting together both see no table and one CREATE fails ("table events already
            # exists" on SQLite, a duplicate type on PostgreSQL), which stopped a two-worker
            # stack. The table now exists: a second construction finds it; any other error
            # raises again.
            super().__init__(**kwargs)
        if self.engine.dialect.name == "sqlite":
            @sqlalchemy.event.listens_for(self.engine, "connect")
            def _pragmas(connection: Any, _record: Any) -> None:
                cursor = connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA busy_timeout=5000")
                cursor.close()

            self.engine.dispose()  # reconnect with the pragmas


def sql_broker_arguments(url: str) -> dict[str, Any]:
    """Rasa's SQLEventBroker takes the URL's parts, not the URL."""
    parsed = sqlalchemy.engine.make_url(url)
    return {"dialect": parsed.drivername, "host": parsed.host, "port": parsed.port,
            "db": parsed.database or "events.db", "username": parsed.username,
            "password": parsed.password}


def pika_broker_arguments(url: str, queue: str, exchange: str) -> dict[str, Any]:
    parsed = urlparse(url)
    return {"host": url, "username": unquote(parsed.username or "guest"),
            "password": unquote(parsed.password or "guest"), "port": parsed.port or 5672,
            "queues": [queue], "exchange_name": exchange, "raise_on_failure": False}


class DurablePikaEventBroker(PikaEventBroker):
    """Rasa's pika broker (same connection, queues, messages), its fanout exchange durable."""

    async def _set_up_exchange(self, channel: Any) -> Any:
        import aio_pika

        exchange = await channel.declare_exchange(
            self.exchange_name, type=aio_pika.ExchangeType.FANOUT, durable=True)
        for queue_name in self.queues:
            await self._bind_queue(queue_name, channel, exchange)
        return exchange


class ConfiguredEventBroker(EventBroker):
    """Not a broker itself: `from_endpoint_config` returns the one the URL names."""

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: Optional[AbstractEventLoop] = None
    ) -> Optional[EventBroker]:
        url = (broker_config.url or "").strip()
        if url.lower() in OFF:
            return None
        options = broker_config.kwargs
        if url.startswith(("amqp://", "amqps://")):
            arguments = pika_broker_arguments(url, str(options.get("queue") or "helpdesk-insight"),
                                              str(options.get("exchange") or "rasa-exchange"))
            broker = DurablePikaEventBroker(**arguments, event_loop=event_loop)
            await broker.connect()
            return broker
        return WalSQLEventBroker(**sql_broker_arguments(url))

    def publish(self, event: dict[Text, Any]) -> None:  # pragma: no cover - never instantiated
        raise NotImplementedError
