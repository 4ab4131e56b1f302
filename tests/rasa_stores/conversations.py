"""Conversations fed to the trained model (models/current.txt) by the Rasa-runtime tests: a
tracker after every message, and a component of the loaded model's graph."""
from __future__ import annotations

from typing import Any

from rasa.core.agent import Agent
from rasa.shared.core.trackers import DialogueStateTracker

CONVERSATIONS = (
    ("hello", "what can you do?", "what's the weather like in Leeds?", "thanks", "bye"),
    ("hi", "I need to raise a query about my payslip", "are you a bot?",
     "my overtime from October is missing from my payslip", "yes", "no", "thanks"),
    ("how much leave do I have left?", "cancel that", "hello", "who won the rugby?",
     "what's the weather in Leeds?", "can I speak to someone?", "thanks"),
)


def component(agent: Agent, kind: type) -> Any:
    nodes = agent.processor.graph_runner._instantiated_nodes.values()
    return next(node._component for node in nodes if isinstance(node._component, kind))


async def trackers(agent: Agent, prefix: str = "conversation") -> list[DialogueStateTracker]:
    """A tracker after every message of CONVERSATIONS (remote actions fail: no server)."""
    seen = []
    for number, texts in enumerate(CONVERSATIONS):
        sender = f"{prefix}-{number}"
        for text in texts:
            await agent.handle_text(text, sender_id=sender)
            seen.append(await agent.tracker_store.retrieve(sender))
    return seen
