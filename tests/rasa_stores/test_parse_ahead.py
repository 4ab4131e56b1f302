"""A message's parse runs on the parse thread while Rasa takes the lock and reads the tracker
(`rasa_runtime.patches.parse_ahead`), and nothing else changes: the same
events, the same errors, on the trained model (models/current.txt)."""
from __future__ import annotations

import asyncio
import gc
import sys
import threading
from types import SimpleNamespace
from typing import Any, Dict, List, Optional

import pytest

from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa_runtime import patches
from rasa_runtime.patches import parse_ahead

TEXTS = ("hello", "I need to raise a query about my payslip",
         "my overtime from October is missing from my payslip", "what can you do?",
         "/greet", "how much leave do I have left?", "thanks")


def message(text: str, sender: str, parse_data: Optional[Dict[str, Any]] = None,
            message_id: Optional[str] = None) -> UserMessage:
    return UserMessage(text, CollectingOutputChannel(), sender, parse_data=parse_data,
                       message_id=message_id)


async def user_events(agent: Agent, sender: str) -> List[Dict[str, Any]]:
    tracker = await agent.tracker_store.retrieve(sender)
    return [{key: value for key, value in event.as_dict().items() if key != "timestamp"}
            for event in tracker.events if isinstance(event, UserUttered)]


async def action_names(agent: Agent, sender: str) -> List[str]:
    tracker = await agent.tracker_store.retrieve(sender)
    return [event.action_name for event in tracker.events if isinstance(event, ActionExecuted)]


@pytest.fixture
def parse_threads(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """The name of the thread each parse of the agent's processor ran on."""
    threads: List[str] = []
    original = agent.processor.parse_message

    async def recorded(*args: Any, **kwargs: Any) -> Dict[str, Any]:
        threads.append(threading.current_thread().name)
        return await original(*args, **kwargs)

    monkeypatch.setattr(agent.processor, "parse_message", recorded)
    return threads


@pytest.fixture
async def parsed(agent: Agent, parse_threads: List[str],
                 monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Set when a parse of the agent's processor has finished, on whichever thread."""
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    recorded = agent.processor.parse_message

    async def signalling(*args: Any, **kwargs: Any) -> Dict[str, Any]:
        result = await recorded(*args, **kwargs)
        loop.call_soon_threadsafe(done.set)
        return result

    monkeypatch.setattr(agent.processor, "parse_message", signalling)
    return done


async def test_the_nlu_graph_of_the_model_reads_no_tracker(agent: Agent) -> None:
    assert parse_ahead.nlu_reads_no_tracker(agent.processor)


async def test_the_same_events_as_rasa_parsing_in_turn(agent: Agent,
                                                       parse_threads: List[str]) -> None:
    original = patches.original("rasa.core.agent:Agent.handle_message")
    for number, text in enumerate(TEXTS):  # remote actions fail here (no action server), alike
        await agent.handle_message(message(text, "parse-ahead", message_id=f"m{number}"))
        await original(agent, message(text, "parse-in-turn", message_id=f"m{number}"))
    ahead = await user_events(agent, "parse-ahead")
    assert [event["text"] for event in ahead] == list(TEXTS)
    assert ahead == await user_events(agent, "parse-in-turn")
    assert await action_names(agent, "parse-ahead") == await action_names(agent, "parse-in-turn")
    loop_thread = threading.current_thread().name
    assert parse_threads[0::2] == ["nlu-parse_0"] * len(TEXTS)
    assert parse_threads[1::2] == [loop_thread] * len(TEXTS)
    assert sys.getswitchinterval() == pytest.approx(0.005)  # Python's default, left alone


async def test_the_parse_does_not_wait_for_the_conversation_lock(
        agent: Agent, parsed: asyncio.Event) -> None:
    async with agent.lock_store.lock("parse-while-locked"):
        handling = asyncio.create_task(agent.handle_message(message("hello", "parse-while-locked")))
        await asyncio.wait_for(parsed.wait(), timeout=30)
        assert not handling.done()  # parsed, still waiting for the lock
    replies = await asyncio.wait_for(handling, timeout=30)
    assert replies and (await user_events(agent, "parse-while-locked"))[-1]["text"] == "hello"


async def test_a_message_arriving_while_another_is_handled_is_parsed_in_turn(
        agent: Agent, parse_threads: List[str], parsed: asyncio.Event) -> None:
    """A busy process parses on its event loop, as Rasa does: no GIL contention under load."""
    async with agent.lock_store.lock("parse-busy-first"):
        first = asyncio.create_task(agent.handle_message(message("hello", "parse-busy-first")))
        await asyncio.wait_for(parsed.wait(), timeout=30)  # the first is being handled
        second = await agent.handle_message(message("thanks", "parse-busy-second"))
        assert not first.done()  # still waiting for the lock held above
    await asyncio.wait_for(first, timeout=30)
    assert second and parse_threads == ["nlu-parse_0", threading.current_thread().name]
    assert (await user_events(agent, "parse-busy-second"))[-1]["text"] == "thanks"


async def test_a_message_that_carries_its_parse_is_not_parsed(agent: Agent,
                                                               parse_threads: List[str]) -> None:
    carried = {"intent": {"name": "greet", "confidence": 1.0}, "entities": [], "text": "hi"}
    await agent.handle_message(message("hi", "parse-carried", parse_data=carried))
    assert parse_threads == []
    assert (await user_events(agent, "parse-carried"))[-1]["parse_data"]["intent"]["name"] == "greet"


async def test_a_failing_parse_fails_the_message_as_before(
        agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    async def failing(*args: Any, **kwargs: Any) -> Dict[str, Any]:
        raise ValueError("the parse failed")

    monkeypatch.setattr(agent.processor, "parse_message", failing)
    with pytest.raises(ValueError, match="the parse failed"):
        await agent.handle_message(message("hello", "parse-fails"))
    with pytest.raises(ValueError, match="the parse failed"):
        await patches.original("rasa.core.agent:Agent.handle_message")(agent, message("hello", "parse-fails-in-turn"))


async def test_when_the_tracker_cannot_be_read_its_error_is_the_one_raised(
        agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parse's own error is dropped without asyncio's "never retrieved" report."""
    reported: List[Dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))

    async def failing_parse(*args: Any, **kwargs: Any) -> Dict[str, Any]:
        raise ValueError("the parse failed")

    async def failing_read(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the tracker store is down")

    dropped = asyncio.Event()
    drop = parse_ahead._drop_unread

    def dropping(future: "asyncio.Future[Any]") -> None:
        drop(future)
        dropped.set()

    monkeypatch.setattr(agent.processor, "parse_message", failing_parse)
    monkeypatch.setattr(agent.tracker_store, "retrieve", failing_read)
    monkeypatch.setattr(parse_ahead, "_drop_unread", dropping)
    with pytest.raises(ConnectionError):
        await agent.handle_message(message("hello", "parse-unread"))
    await asyncio.wait_for(dropped.wait(), timeout=30)
    gc.collect()  # asyncio reports an unread error when the future is collected
    assert reported == []
    loop.set_exception_handler(None)


def test_a_model_whose_nlu_reads_the_tracker_is_parsed_in_turn() -> None:
    nodes = {"converter": SimpleNamespace(needs={"messages": PLACEHOLDER_MESSAGE}),
             "reader": SimpleNamespace(needs={"messages": "converter",
                                              "tracker": PLACEHOLDER_TRACKER})}
    schema = SimpleNamespace(minimal_graph_schema=lambda targets: SimpleNamespace(nodes=nodes))
    processor = SimpleNamespace(
        http_interpreter=None,
        model_metadata=SimpleNamespace(nlu_target="reader", predict_schema=schema))
    assert not parse_ahead.can_parse_ahead(processor, message("hello", "s"))
