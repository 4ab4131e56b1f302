"""At-least-once ingestion with exactly-once effect for Teams and Slack (issue 21).

An event is acknowledged only once it is handled, and its ids are marked done only then. What a
crashed process leaves behind is a lease on the event's ids and no answer, so the platform
retries: the lease (240 s) outlasts any handling and expires before Slack's last retry, and
the retry that comes after it is handled, once. A process that crashed after handling had
already marked the ids done, so the platform's retry is acknowledged and not handled again.

The crashed process is played by the store state it leaves (the lease, or the done mark),
written through the same `Ingestion` the channels use; the store's clock is the test's.
"""
from __future__ import annotations

from typing import Any, Iterator, List

import pytest

from connectors.dedup import InMemoryStore, Ingestion
from connectors.slack_events import message_from_event

from . import fakes
from .conftest import ChannelServer
from .test_slack_channel import post as slack_post
from .test_slack_channel import run
from .test_teams_channel import post as teams_post


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(server: ChannelServer) -> Iterator[Clock]:
    """Both channels on a store whose clock the test moves."""
    clock = Clock()
    store = InMemoryStore(clock=clock)
    saved = server.slack.store, server.teams.store
    server.slack.store = server.teams.store = store
    yield clock
    server.slack.store, server.teams.store = saved


def slack_keys(server: ChannelServer, event: dict) -> List[str]:
    return server.slack._keys(message_from_event(event))


def teams_keys(activity: dict) -> List[str]:
    return [f"msteams:activity:{activity['conversation']['id']}:{activity['id']}"]


def crashed(server: ChannelServer, keys: List[str], handled: bool) -> None:
    """What a process leaves when it dies before answering: a lease, and the done mark if it
    had handled the event."""
    ingestion = Ingestion(server.slack.store)
    assert run(server, ingestion.begin(keys)) == Ingestion.NEW
    if handled:
        run(server, ingestion.finish(keys))


def test_slack_crash_between_receipt_and_handling_the_retry_is_handled_once(
        server: ChannelServer, clock: Clock) -> None:
    event = fakes.slack_event()
    crashed(server, slack_keys(server, event), handled=False)
    # Slack's immediate retry: the lease is still live, so it is told to come back...
    assert slack_post(server, event, retry=("http_timeout", 1))[0] == 503
    assert server.agent.messages == []
    # ...and its next retry, after the dead process's lease ran out, is handled, once.
    clock.now += Ingestion(server.slack.store).lease_seconds + 1
    assert slack_post(server, event, retry=("http_timeout", 2)) == (200, None)
    server.drain()
    assert [m.text for m in server.agent.messages] == [event["event"]["text"]]
    assert slack_post(server, event, retry=("http_timeout", 3)) == (200, None)
    server.drain()
    assert len(server.agent.messages) == 1


def test_slack_crash_after_handling_the_retry_is_not_handled_again(
        server: ChannelServer, clock: Clock) -> None:
    event = fakes.slack_event()
    crashed(server, slack_keys(server, event), handled=True)
    assert slack_post(server, event, retry=("http_timeout", 1)) == (200, None)
    clock.now += 3600
    assert slack_post(server, event, retry=("http_timeout", 2)) == (200, None)
    server.drain()
    assert server.agent.messages == []


def teams_activity(server: ChannelServer) -> tuple[str, dict]:
    service_url = server.platforms.service_url
    token = fakes.mint_token(server.platforms.keys.signing, service_url=service_url)
    return token, fakes.activity(service_url)


def test_teams_crash_between_receipt_and_handling_the_redelivery_is_handled_once(
        server: ChannelServer, clock: Clock) -> None:
    token, activity = teams_activity(server)
    crashed(server, teams_keys(activity), handled=False)
    assert teams_post(server, token, activity)[0] == 503
    clock.now += Ingestion(server.teams.store).lease_seconds + 1
    assert teams_post(server, token, activity) == (202, None)
    server.drain()
    assert [m.text for m in server.agent.messages] == [activity["text"]]
    assert teams_post(server, token, activity) == (202, None)
    server.drain()
    assert len(server.agent.messages) == 1


def test_teams_crash_after_handling_the_redelivery_is_not_handled_again(
        server: ChannelServer, clock: Clock) -> None:
    token, activity = teams_activity(server)
    crashed(server, teams_keys(activity), handled=True)
    assert teams_post(server, token, activity) == (202, None)
    server.drain()
    assert server.agent.messages == []


def test_a_failed_handling_is_not_marked_done_so_the_retry_is_handled(
        server: ChannelServer, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    event = fakes.slack_event()
    failures: List[Any] = []

    async def failing(message: Any, on_new_message: Any) -> bool:
        failures.append(message)
        return False

    monkeypatch.setattr(server.slack, "_handle", failing)
    assert slack_post(server, event)[0] == 503
    monkeypatch.undo()
    clock.now += Ingestion(server.slack.store).lease_seconds + 1
    assert slack_post(server, event, retry=("http_error", 1)) == (200, None)
    server.drain()
    assert len(failures) == 1 and len(server.agent.messages) == 1
