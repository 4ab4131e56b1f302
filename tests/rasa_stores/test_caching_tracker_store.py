"""`CachingSQLTrackerStore` stores exactly what Rasa's `SQLTrackerStore` stores, and never
hands out a tracker that differs from what the database holds.

On SQLite and PostgreSQL (127.0.0.1:5432; the test fails, naming the server, when it is
unreachable): the rows are the stock store's rows; a restarted process (a new store on the same
database) recovers every conversation; a write by another process is seen; a tracker whose
handling failed before `save` is not reused; a new session reads back as the stock store does.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_runtime.tracker_store import CachingSQLTrackerStore

from .test_endpoints_stores import configure
from .throwaway_postgres import throwaway_database

DOMAIN = Domain.from_dict({"intents": ["greet", "leave_balance"],
                           "slots": {"ticket_reference": {"type": "text",
                                                      "mappings": [{"type": "custom"}]}},
                           "actions": ["action_leave_balance"]})


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    with throwaway_database() as url:
        yield url


def caching(url: str) -> CachingSQLTrackerStore:
    return CachingSQLTrackerStore(domain=DOMAIN, host=url)


def stock(url: str) -> SQLTrackerStore:
    return SQLTrackerStore(domain=DOMAIN, host=url)


def turn(text: str, intent: str, reply: str) -> list[Event]:
    return [UserUttered(text, {"name": intent, "confidence": 1.0},
                        metadata={"principal": {"channel": "widget", "subject": "s"}}),
            ActionExecuted("action_leave_balance"), BotUttered(reply),
            SlotSet("ticket_reference", None), ActionExecuted("action_listen")]


async def handle(store: TrackerStore, sender_id: str, events: list[Event]) -> DialogueStateTracker:
    """What Rasa's processor does with a message: retrieve (or create), update, save."""
    tracker = await store.get_or_create_tracker(sender_id)
    tracker.update_with_events(events, DOMAIN)
    await store.save(tracker)
    return tracker


def stored_rows(store: SQLTrackerStore, sender_id: str) -> list[tuple]:
    with store.session_scope() as session:
        rows = session.query(store.SQLEvent).filter(
            store.SQLEvent.sender_id == sender_id).order_by(store.SQLEvent.id).all()
        return [(r.type_name, r.intent_name, r.action_name, r.data) for r in rows]


def without_timestamps(rows: list[tuple]) -> list[tuple]:
    return [(kind, intent, action) for kind, intent, action, _ in rows]


def dialogue(tracker: DialogueStateTracker | None) -> list[dict]:
    assert tracker is not None
    return [event.as_dict() for event in tracker.events]


async def test_the_endpoints_build_the_caching_store(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    endpoints = configure(monkeypatch, TRACKER_STORE_URL=f"sqlite:///{tmp_path / 't.db'}")
    store = TrackerStore.create(endpoints.tracker_store, DOMAIN)
    assert isinstance(store, CachingSQLTrackerStore)  # not Rasa's silent in-memory fallback
    assert store.cache_size == 500


async def test_it_writes_the_rows_the_stock_store_writes(tracker_url: str) -> None:
    ours, theirs = caching(tracker_url), stock(tracker_url)
    for store, sender in ((ours, "ours"), (theirs, "theirs")):
        await handle(store, sender, turn("hello", "greet", "Hello!"))
        await handle(store, sender, turn("how much leave?", "leave_balance", "You have 3"))
        await handle(store, sender, turn("and now?", "leave_balance", "You have 2"))
    assert without_timestamps(stored_rows(ours, "ours")) == without_timestamps(
        stored_rows(theirs, "theirs"))
    assert len(stored_rows(ours, "ours")) == 16  # initial action_listen + 3 turns of 5


async def test_a_restarted_process_recovers_every_conversation(tracker_url: str) -> None:
    first = caching(tracker_url)
    senders = [f"widget-{i}" for i in range(3)]
    for sender in senders:
        await handle(first, sender, turn("hello", "greet", "Hello!"))
        await handle(first, sender, turn("how much leave?", "leave_balance", "You have 3"))
    expected = {sender: dialogue(await first.retrieve(sender)) for sender in senders}
    first.engine.dispose()
    restarted = caching(tracker_url)
    for sender in senders:
        assert dialogue(await restarted.retrieve(sender)) == expected[sender]
        assert dialogue(await stock(tracker_url).retrieve(sender)) == expected[sender]


async def test_it_reads_the_same_tracker_as_the_stock_store(tracker_url: str) -> None:
    ours = caching(tracker_url)
    await handle(ours, "s", turn("hello", "greet", "Hello!"))
    await handle(ours, "s", turn("how much leave?", "leave_balance", "You have 3"))
    kept = await ours.retrieve("s")
    assert dialogue(kept) == dialogue(await stock(tracker_url).retrieve("s"))
    assert kept is await ours.retrieve("s")  # served from memory the second time


async def test_a_write_by_another_process_is_seen(tracker_url: str) -> None:
    ours, other_worker = caching(tracker_url), caching(tracker_url)
    await handle(ours, "s", turn("hello", "greet", "Hello!"))
    await ours.retrieve("s")  # kept in memory here
    await handle(other_worker, "s", turn("how much leave?", "leave_balance", "You have 3"))
    seen = await ours.retrieve("s")
    assert [e.text for e in seen.events if isinstance(e, UserUttered)] == [
        "hello", "how much leave?"]
    await handle(ours, "s", turn("thanks", "greet", "You're welcome"))
    assert without_timestamps(stored_rows(ours, "s"))[-5][0] == "user"
    assert len(stored_rows(ours, "s")) == 16  # nothing written twice, nothing lost


async def test_another_workers_writes_are_applied_to_the_kept_tracker(
        tracker_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers take turns on one conversation: each brings its kept tracker up to date
    with the other's new rows, and ends with what a fresh read gives."""
    first, second = caching(tracker_url), caching(tracker_url)
    await handle(first, "s", turn("hello", "greet", "Hello!"))
    await handle(second, "s", turn("how much leave?", "leave_balance", "You have 3"))
    kept_by_first = await first.retrieve("s")  # read in full once, then kept
    await second.retrieve("s")
    full_reads: list[str] = []
    for store in (first, second):
        load = store._load
        monkeypatch.setattr(store, "_load", lambda sender, load=load: (
            full_reads.append(sender), load(sender))[1])
    await handle(first, "s", turn("and now?", "leave_balance", "You have 2"))
    await handle(second, "s", [SlotSet("ticket_reference", "PAY-1"),
                               *turn("thanks", "greet", "You're welcome")])
    caught_up = await first.retrieve("s")
    assert caught_up is kept_by_first and full_reads == []
    fresh = await stock(tracker_url).retrieve("s")
    assert dialogue(caught_up) == dialogue(fresh)
    assert caught_up.current_state() == fresh.current_state()
    assert caught_up.get_slot("ticket_reference") is None  # the turn's own SlotSet, applied
    assert len(stored_rows(first, "s")) == 22  # nothing written twice, nothing lost


async def test_a_tracker_whose_handling_failed_is_not_reused(tracker_url: str) -> None:
    ours = caching(tracker_url)
    await handle(ours, "s", turn("hello", "greet", "Hello!"))
    tracker = await ours.retrieve("s")
    tracker.update_with_events(turn("how much leave?", "leave_balance", "boom"), DOMAIN)
    # ... the message's handling fails here: no save
    again = await ours.retrieve("s")
    assert again is not tracker
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["hello"]
    await handle(ours, "s", turn("how much leave?", "leave_balance", "You have 3"))
    assert len(stored_rows(ours, "s")) == 11


@pytest.mark.parametrize("started_by", ["this worker", "another worker"])
async def test_a_new_session_reads_back_as_with_the_stock_store(tracker_url: str,
                                                                started_by: str) -> None:
    ours = caching(tracker_url)
    writer = ours if started_by == "this worker" else caching(tracker_url)
    await handle(ours, "s", turn("hello", "greet", "Hello!"))
    await ours.retrieve("s")  # kept here
    await handle(writer, "s", [ActionExecuted("action_session_start"), SessionStarted(),
                               ActionExecuted("action_listen"),
                               *turn("hello again", "greet", "Hello!")])
    assert dialogue(await ours.retrieve("s")) == dialogue(await stock(tracker_url).retrieve("s"))
    assert [e.text for e in (await ours.retrieve("s")).events
            if isinstance(e, UserUttered)] == ["hello again"]


async def test_only_the_most_recent_conversations_are_kept(tracker_url: str) -> None:
    ours = CachingSQLTrackerStore(domain=DOMAIN, host=tracker_url, cache_size=2)
    for sender in ("a", "b", "c"):
        await handle(ours, sender, turn("hello", "greet", "Hello!"))
        await ours.retrieve(sender)
    assert list(ours._kept) == ["b", "c"]
    assert dialogue(await ours.retrieve("a")) == dialogue(await stock(tracker_url).retrieve("a"))


async def test_a_new_conversation_is_written_without_the_stock_count(
        tracker_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """As Rasa's processor starts one: created (an action_listen saved), a session started,
    the first message; then a second message. The rows are the stock store's rows."""
    stock_saves: list[str] = []
    stock_save = SQLTrackerStore.save

    async def recording_save(self: SQLTrackerStore, tracker: DialogueStateTracker) -> None:
        stock_saves.append(type(self).__name__)
        await stock_save(self, tracker)

    monkeypatch.setattr(SQLTrackerStore, "save", recording_save)
    ours, theirs = caching(tracker_url), stock(tracker_url)
    session_start = [ActionExecuted("action_session_start"), SessionStarted(),
                     ActionExecuted("action_listen")]
    for store, sender in ((ours, "ours"), (theirs, "theirs")):
        await handle(store, sender, [*session_start, *turn("hello", "greet", "Hello!")])
        await handle(store, sender, turn("how much leave?", "leave_balance", "You have 3"))
    assert stock_saves == ["SQLTrackerStore"] * 3  # the stock store's own three saves only
    assert without_timestamps(stored_rows(ours, "ours")) == without_timestamps(
        stored_rows(theirs, "theirs"))
    assert dialogue(await ours.retrieve("ours")) == dialogue(await stock(tracker_url).retrieve(
        "ours"))


async def test_an_unknown_conversation_is_looked_up_with_one_query(tracker_url: str) -> None:
    ours = caching(tracker_url)
    await handle(ours, "known", turn("hello", "greet", "Hello!"))
    statements: list[str] = []
    sa.event.listen(ours.engine, "before_cursor_execute",
                    lambda _conn, _cursor, statement, *_rest: statements.append(statement))
    assert await ours.retrieve("unknown") is None
    assert len(statements) == 1 and "max(events.id)" in statements[0]
    tracker = await ours.get_or_create_tracker("unknown")
    assert [event.as_dict()["event"] for event in tracker.events] == ["action"]
    assert len(stored_rows(ours, "unknown")) == 1


async def test_an_empty_tracker_is_neither_written_nor_kept(tracker_url: str) -> None:
    ours = caching(tracker_url)
    await ours.save(DialogueStateTracker("empty", DOMAIN.slots))
    assert stored_rows(ours, "empty") == [] and "empty" not in ours._kept
    assert await ours.retrieve("empty") is None


async def test_the_latest_session_is_the_stock_stores_choice(tracker_url: str) -> None:
    """Stock picks the events timestamped at or after the newest session start, in id order,
    so an event written after the session start but timestamped before it is left out."""
    writer = stock(tracker_url)
    events = [ActionExecuted("action_listen", timestamp=10.0),
              ActionExecuted("action_session_start", timestamp=19.0),
              SessionStarted(timestamp=20.0),
              ActionExecuted("action_listen", timestamp=20.0),
              UserUttered("late", {"name": "greet", "confidence": 1.0}, timestamp=15.0),
              UserUttered("hello", {"name": "greet", "confidence": 1.0}, timestamp=21.0)]
    await writer.save(DialogueStateTracker.from_events("s", events, DOMAIN.slots))
    ours = await caching(tracker_url).retrieve("s")
    assert dialogue(ours) == dialogue(await stock(tracker_url).retrieve("s"))
    assert [e.text for e in ours.events if isinstance(e, UserUttered)] == ["hello"]


async def test_a_turn_s_events_go_in_with_a_fixed_number_of_statements_in_order(
        tracker_url: str) -> None:
    """On PostgreSQL a save draws its ids, then inserts every row in one batched statement
    (issue 27: one blocking round trip per event was the largest part of Rasa's busy time in
    the production benchmark); on SQLite one statement per event. The order is the events'."""
    ours = caching(tracker_url)
    await handle(ours, "s", turn("hello", "greet", "Hello!"))
    statements: list[str] = []
    sa.event.listen(ours.engine, "before_cursor_execute",
                    lambda _conn, _cursor, statement, *_rest: statements.append(statement))
    events = [*turn("how much leave?", "leave_balance", "You have 3"),
              *turn("and next year?", "leave_balance", "You have 25")]
    await handle(ours, "s", events)
    writes = [s for s in statements if "max(events.id)" not in s]  # the read's check
    inserts = [s for s in writes if s.lstrip().upper().startswith("INSERT")]
    if ours.engine.dialect.name == "postgresql":
        assert len(writes) == 2 and "nextval" in writes[0] and len(inserts) == 1
    else:
        assert len(inserts) == len(events)
    rows = stored_rows(ours, "s")
    assert [data for *_, data in rows[-len(events):]] == [
        CachingSQLTrackerStore._row("s", event)["data"] for event in events]
    assert dialogue(await stock(tracker_url).retrieve("s")) == dialogue(await ours.retrieve("s"))


# --- the database restarting under the store (issue 27) ----------------------------------------

@pytest.fixture
def restartable_postgres() -> Iterator[object]:
    """A PostgreSQL cluster of this test's own (benchmarks/throwaway.py), to restart. In a
    directory of /tmp that PostgreSQL's own user can reach (pytest's are private to root)."""
    import tempfile

    from benchmarks.throwaway import Postgres

    with tempfile.TemporaryDirectory(prefix="tracker-pg-") as root:
        Path(root).chmod(0o755)
        server = Postgres(Path(root))
        server.start()
        try:
            server.create_database("tracker")
            yield server
        finally:
            server.stop("immediate")


async def test_a_restarted_database_loses_and_doubles_nothing(restartable_postgres: object
                                                             ) -> None:
    server = restartable_postgres
    store = caching(server.url("tracker", driver=""))
    tracker = DialogueStateTracker.from_events("c1", turn("hi", "greet", "Hello!"))
    await store.save(tracker)
    server.restart()  # every pooled connection is now dead
    for event in turn("how much leave?", "leave_balance", "You have 12 days."):
        tracker.update(event)
    await store.save(tracker)  # the dead connection fails; the retry takes a new one
    fresh = caching(server.url("tracker", driver=""))
    assert [e.text for e in (await fresh.retrieve("c1")).events if isinstance(e, UserUttered)] \
        == ["hi", "how much leave?"]
    server.restart()
    read = await store.retrieve("c1")  # a read after the restart: the conversation, not None
    assert read is not None and len(read.events) == len(tracker.events)
    with store.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM events")).scalar() \
            == len(tracker.events)


async def test_a_database_down_for_longer_than_the_window_fails_the_call(
        restartable_postgres: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa_runtime import tracker_store

    monkeypatch.setattr(tracker_store, "RETRY_SECONDS", 0.5)
    server = restartable_postgres
    store = caching(server.url("tracker", driver=""))
    await store.save(DialogueStateTracker.from_events("c1", turn("hi", "greet", "Hello!")))
    server.stop("fast")
    with pytest.raises(sa.exc.OperationalError):
        await store.retrieve("c2")
    server.start()
    assert await store.retrieve("c1") is not None


async def test_the_full_tracker_is_read_as_the_stock_store_reads_it(tracker_url: str) -> None:
    """Rasa's HTTP API reads a conversation with `retrieve_full_tracker`, which calls the stock
    store's `_retrieve(sender_id, fetch_events_from_all_sessions=...)`: a method of ours by that
    name made every such read fall back to an empty in-memory tracker (the embedded benchmark
    found every stored transcript 'lost')."""
    ours = caching(tracker_url)
    await handle(ours, "full", turn("hello", "greet", "Hello!"))
    full = await ours.retrieve_full_tracker("full")
    assert dialogue(full) == dialogue(await stock(tracker_url).retrieve_full_tracker("full"))
    assert [e["text"] for e in dialogue(full) if e["event"] == "user"] == ["hello"]
