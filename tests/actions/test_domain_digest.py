"""What Rasa's side of the domain digest (rasa_runtime/patches/action_domain.py) relies on in the
pinned rasa-sdk: a domain sent once with its digest is used for later calls carrying only the
digest, and a call with an unknown digest and no domain is refused before the action runs."""
from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionMissingDomainException

DOMAIN = {"intents": ["greet"], "slots": {}, "responses": {}, "forms": {}}


class Echo:
    """Says which intents the domain it was given has; counts its runs. A function, not an
    `Action` subclass: rasa-sdk registers every subclass it has seen (the check that the
    action server registers exactly the domain's actions would find this one)."""

    runs = 0

    @staticmethod
    def run(dispatcher: Any, tracker: Any, domain: Any) -> list:
        Echo.runs += 1
        dispatcher.utter_message(text=",".join(domain["intents"]))
        return []


def call(**extra: Any) -> dict:
    tracker = {"sender_id": "s", "slots": {}, "latest_message": {}, "events": [],
               "paused": False, "followup_action": None, "active_loop": {},
               "latest_action_name": None}
    return {"next_action": "action_echo", "sender_id": "s", "tracker": tracker, **extra}


@pytest.fixture
def executor() -> ActionExecutor:
    Echo.runs = 0
    executor = ActionExecutor()
    executor.register_function("action_echo", Echo.run)
    return executor


async def test_a_kept_domain_serves_calls_that_carry_only_its_digest(
        executor: ActionExecutor) -> None:
    first = await executor.run(call(domain=DOMAIN, domain_digest="d1"))
    later = await executor.run(call(domain_digest="d1"))
    assert first.responses[0]["text"] == later.responses[0]["text"] == "greet"
    assert Echo.runs == 2


@pytest.mark.parametrize("digest", [None, "other"])
async def test_an_unknown_digest_without_the_domain_runs_nothing(
        executor: ActionExecutor, digest: str | None) -> None:
    await executor.run(call(domain=DOMAIN, domain_digest="d1"))
    with pytest.raises(ActionMissingDomainException):
        await executor.run(call(domain_digest=digest) if digest else call())
    assert Echo.runs == 1
