"""The shared store behind event de-duplication: in memory, in the host-local SQLite file
(two store instances on one file standing in for two Rasa workers), and in a real Redis
server shared by two store instances (standing in for two Rasa replicas)."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from connectors.dedup import InMemoryStore, RedisStore, SQLiteStore, store_from_credentials
from connectors.references import ConversationReferences

from .fakes import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_claim_is_granted_once_until_it_expires() -> None:
    clock = Clock()
    store = InMemoryStore(clock)
    assert await store.claim("event:Ev1", 60)
    assert not await store.claim("event:Ev1", 60)
    assert await store.claim("event:Ev2", 60)
    clock.now += 59
    assert not await store.claim("event:Ev1", 60)
    clock.now += 1
    assert await store.claim("event:Ev1", 60)


async def test_values_expire_and_expired_entries_are_swept() -> None:
    clock = Clock()
    store = InMemoryStore(clock)
    await store.put("ref:x", "value", 10)
    assert await store.get("ref:x") == "value"
    for number in range(100):
        await store.claim(f"event:{number}", 5)
    clock.now += 61
    await store.claim("event:new", 5)  # triggers the sweep
    assert await store.get("ref:x") is None
    assert len(store._entries) == 1


async def test_concurrent_claims_grant_exactly_one() -> None:
    store = InMemoryStore()
    results = await asyncio.gather(*(store.claim("event:same", 60) for _ in range(100)))
    assert results.count(True) == 1


async def test_references_round_trip_and_tolerate_junk() -> None:
    store = InMemoryStore()
    references = ConversationReferences(store, "slack")
    await references.remember("slack-abc", {"channel": "D1", "thread_ts": None})
    assert await references.recall("slack-abc") == {"channel": "D1", "thread_ts": None}
    assert await references.recall("slack-other") is None
    await store.put("ref:slack:slack-junk", "{not json", 60)
    assert await references.recall("slack-junk") is None


@pytest.mark.parametrize("kind", ["", None, "in_memory", "IN_MEMORY", "memory"])
def test_the_store_defaults_to_memory(kind: object) -> None:
    assert isinstance(store_from_credentials({"store_type": kind}), InMemoryStore)


def test_an_unknown_store_type_is_refused() -> None:
    with pytest.raises(ValueError):
        store_from_credentials({"store_type": "sqlite"})


async def test_two_workers_sharing_the_host_file_grant_each_event_once(tmp_path: Path) -> None:
    clock = Clock()
    first = SQLiteStore(str(tmp_path / "locks.db"), prefix="test:", clock=clock)
    second = SQLiteStore(f"sqlite:///{tmp_path / 'locks.db'}", prefix="test:", clock=clock)
    claims = [store.claim("slack:T0:event:Ev1", 60) for store in (first, second) for _ in range(50)]
    assert (await asyncio.gather(*claims)).count(True) == 1
    clock.now += 59
    assert not await second.claim("slack:T0:event:Ev1", 60)
    clock.now += 1
    assert await second.claim("slack:T0:event:Ev1", 60)  # expired: claimable again, once
    assert not await first.claim("slack:T0:event:Ev1", 60)


async def test_host_file_values_are_shared_replaced_and_expire(tmp_path: Path) -> None:
    clock = Clock()
    first = SQLiteStore(str(tmp_path / "locks.db"), clock=clock)
    second = SQLiteStore(str(tmp_path / "locks.db"), clock=clock)
    await first.put("ref:slack:x", '{"channel": "D1"}', 10)
    await second.put("ref:slack:x", '{"channel": "D2"}', 10)
    assert await first.get("ref:slack:x") == '{"channel": "D2"}'
    assert await first.get("ref:slack:absent") is None
    clock.now += 61
    await first.claim("event:new", 5)  # the sweep deletes what expired
    assert await second.get("ref:slack:x") is None
    rows = first._execute("SELECT count(*) FROM channel_claims", ()).fetchone()[0]
    assert rows == 1


def test_the_host_file_store_is_chosen_with_the_host_lock_store(tmp_path: Path) -> None:
    store = store_from_credentials({
        "store_type": "rasa_runtime.lock_store.SQLiteLockStore",
        "store_host": str(tmp_path / "locks.db"), "store_port": "6379"})
    assert isinstance(store, SQLiteStore) and store.path == tmp_path / "locks.db"
    with pytest.raises(ValueError, match="LOCK_STORE_HOST"):
        store_from_credentials({"store_type": "rasa_runtime.lock_store.SQLiteLockStore",
                                "store_host": ""})


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed here: the Redis de-duplication tests need it")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:  # blocks until Redis says it is ready: no polling
            if "Ready to accept connections" in line:
                break
        else:
            pytest.fail("redis-server exited before it was ready")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_two_replicas_sharing_redis_grant_each_event_once(redis_port: int) -> None:
    first = RedisStore("127.0.0.1", redis_port, 0, None, prefix="test:")
    second = RedisStore("127.0.0.1", redis_port, 0, None, prefix="test:")
    claims = [store.claim("slack:T0:event:Ev-redis", 60)
              for store in (first, second) for _ in range(50)]
    assert (await asyncio.gather(*claims)).count(True) == 1
    await first.put("ref:slack:x", '{"channel": "D1"}', 60)
    assert await second.get("ref:slack:x") == '{"channel": "D1"}'
    assert await second.get("ref:slack:absent") is None


async def test_redis_claims_expire(redis_port: int) -> None:
    store = RedisStore("127.0.0.1", redis_port, 0, None, prefix="test-expiry:")
    assert await store.claim("event:short", 1)
    client = store._client()
    ttl = await client.ttl("test-expiry:event:short")
    assert 0 < ttl <= 1
    await client.delete("test-expiry:event:short")  # what expiry does, without waiting for it
    assert await store.claim("event:short", 1)


def test_redis_is_chosen_from_the_lock_store_settings(redis_port: int) -> None:
    store = store_from_credentials({"store_type": "redis", "store_host": "127.0.0.1",
                                    "store_port": str(redis_port), "store_db": "2",
                                    "store_password": ""})
    assert isinstance(store, RedisStore)
    assert store._options["db"] == 2 and store._options["password"] is None
