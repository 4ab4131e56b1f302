"""endpoints.yml builds the right stores from environment variables alone.

Embedded default: SQLite tracker store and the host-local SQLite lock store (its own tests:
test_host_lock_store.py); one process may use Rasa's in-memory lock store. Production:
PostgreSQL tracker store and Redis lock store, against the local servers (CI has them; a test fails, naming the
server, when one is unreachable).
"""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import pytest
import redis

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from .throwaway_postgres import throwaway_database

ROOT = Path(__file__).resolve().parents[2]
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 14


def configure(monkeypatch: pytest.MonkeyPatch, **overrides: str) -> AvailableEndpoints:
    env = {
        "ACTION_ENDPOINT_URL": "http://127.0.0.1:5055/webhook",
        # endpoints.yml expands it into the action endpoint's header; Rasa refuses to read
        # the file when it is unset (as it is on a fresh CI machine)
        "ACTION_SERVER_TOKEN": "test-action-server-token",
        "TRACKER_STORE_URL": "sqlite:///unused.db",
        "LOCK_STORE_TYPE": "in_memory",
        "LOCK_STORE_HOST": "127.0.0.1",
        "LOCK_STORE_PORT": "6379",
        "LOCK_STORE_DB": "0",
        "LOCK_STORE_PASSWORD": "",
        "EVENT_BROKER_URL": "off",
        "EVENT_BROKER_QUEUE": "unused",
        "EVENT_BROKER_EXCHANGE": "unused",
        **overrides,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))


@pytest.fixture
def postgres_tracker_url() -> Iterator[str]:
    with throwaway_database() as url:
        yield url


def conversation(sender_id: str) -> DialogueStateTracker:
    metadata = {"principal": {"channel": "widget", "tenant": "helpdesk-intranet",
                              "subject": "alice.hughes"}}
    return DialogueStateTracker.from_events(sender_id, [
        ActionExecuted("action_listen"),
        UserUttered("how much leave do I have left?", {"name": "leave_balance", "confidence": 1.0},
                    metadata=metadata),
        ActionExecuted("action_leave_balance"),
        SlotSet("requested_slot", None),
    ])


async def round_trip(store: TrackerStore) -> DialogueStateTracker:
    sender_id = f"widget-{uuid.uuid4().hex}"
    await store.save(conversation(sender_id))
    restored = await store.retrieve(sender_id)
    assert restored is not None
    return restored


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_tracker_store_keeps_events_and_verified_metadata(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    url = (f"sqlite:///{tmp_path / 'tracker.db'}" if backend == "sqlite"
           else request.getfixturevalue("postgres_tracker_url"))
    endpoints = configure(monkeypatch, TRACKER_STORE_URL=url)
    store = TrackerStore.create(endpoints.tracker_store, Domain.empty())
    assert isinstance(store, SQLTrackerStore)
    assert store.engine.dialect.name == backend
    restored = await round_trip(store)
    user = [e for e in restored.events if isinstance(e, UserUttered)]
    assert [e.text for e in user] == ["how much leave do I have left?"]
    assert user[0].metadata["principal"]["subject"] == "alice.hughes"
    assert restored.latest_action_name == "action_leave_balance"


def test_one_process_may_use_the_in_memory_lock_store(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoints = configure(monkeypatch, LOCK_STORE_TYPE="in_memory")
    assert isinstance(LockStore.create(endpoints.lock_store), InMemoryLockStore)


@pytest.fixture
def redis_lock_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisLockStore]:
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    try:
        client.ping()
    except redis.ConnectionError as error:
        raise RuntimeError(f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT}") from error
    endpoints = configure(monkeypatch, LOCK_STORE_TYPE="redis", LOCK_STORE_HOST=REDIS_HOST,
                          LOCK_STORE_PORT=str(REDIS_PORT), LOCK_STORE_DB=str(REDIS_DB))
    store = LockStore.create(endpoints.lock_store)
    assert isinstance(store, RedisLockStore)
    yield store
    client.flushdb()
    client.close()


def test_two_replicas_share_one_queue_per_conversation(
    redis_lock_store: RedisLockStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What lets several Rasa replicas run: a second replica's message waits for the first."""
    replica_b = LockStore.create(AvailableEndpoints.read_endpoints(
        str(ROOT / "endpoints.yml")).lock_store)
    conversation_id = f"widget-{uuid.uuid4().hex}"
    ticket_a = redis_lock_store.issue_ticket(conversation_id)
    ticket_b = replica_b.issue_ticket(conversation_id)
    assert not replica_b.get_lock(conversation_id).is_locked(ticket_a)
    assert replica_b.get_lock(conversation_id).is_locked(ticket_b)  # B waits for A
    redis_lock_store.finish_serving(conversation_id, ticket_a)
    assert not replica_b.get_lock(conversation_id).is_locked(ticket_b)  # now B's turn
    replica_b.cleanup(conversation_id, ticket_b)  # the last one out removes the lock
    assert redis_lock_store.get_lock(conversation_id) is None


async def test_the_lock_context_manager_works_against_redis(
    redis_lock_store: RedisLockStore,
) -> None:
    conversation_id = f"widget-{uuid.uuid4().hex}"
    async with redis_lock_store.lock(conversation_id, wait_time_in_seconds=0.01):
        assert redis_lock_store.get_lock(conversation_id) is not None
    assert redis_lock_store.get_lock(conversation_id) is None


def test_the_redis_lock_store_uses_the_configured_database_and_prefix(
    redis_lock_store: RedisLockStore,
) -> None:
    assert redis_lock_store.red.connection_pool.connection_kwargs["db"] == REDIS_DB
    assert redis_lock_store.key_prefix.startswith("helpdesk")
