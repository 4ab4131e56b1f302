"""How actions answer a failure: one mapping of identity and access refusals to replies
(`actions.base`), used by every action and form validation; nothing escapes to rasa-sdk."""
from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

import actions
from actions import tickets as ticket_actions
from actions.base import REFUSAL_RESPONSES, SafeFormValidation, answer_failure
from actions.tickets import ActionAskTicketReference, ActionTicketCreate, ValidateTicketForm
from bot.errors import AccessRefused, UnknownPrincipal
from bot.storage.database import Database

from .conftest import make_tracker, texts, widget_metadata


class NotYourReport(AccessRefused):
    """A service's own kind of refusal."""


def form_validations() -> list[type[FormValidationAction]]:
    for module in pkgutil.iter_modules(actions.__path__):
        importlib.import_module(f"actions.{module.name}")
    found, pending = [], list(FormValidationAction.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls.__module__.startswith("actions."):
            found.append(cls)
    return found


def test_every_form_validation_of_the_action_server_is_safe() -> None:
    validations = form_validations()
    assert {cls.__name__ for cls in validations} >= {
        "ValidateTicketForm", "ValidateTicketCommentForm", "ValidateLeaveRequestForm",
        "ValidateLeaveCancelForm", "ValidateExpenseClaimForm", "ValidatePersonalDetailsForm"}
    for cls in validations:
        mro = cls.__mro__
        assert SafeFormValidation in mro, cls.__name__
        # first: its run() must wrap FormValidationAction's, not the other way round
        assert mro.index(SafeFormValidation) < mro.index(FormValidationAction), cls.__name__


@pytest.mark.parametrize(("error", "response"), [
    (UnknownPrincipal(), "utter_not_recognised"),
    (AccessRefused("payslip"), "utter_records_not_yours"),
    (NotYourReport("leave"), "utter_records_not_yours"),  # a subclass answers as its base
    (RuntimeError("alice.hughes QQ123456C"), "utter_service_error"),
])
def test_each_failure_has_one_reply(error: Exception, response: str,
                                   caplog: pytest.LogCaptureFixture) -> None:
    dispatcher = CollectingDispatcher()
    with caplog.at_level(logging.DEBUG):
        answer_failure(dispatcher, "action_x", error)
    assert texts(dispatcher) == [response]
    if response == "utter_service_error":
        assert "action.failed action=action_x error=RuntimeError" in caplog.text
    assert "alice" not in caplog.text and "QQ123456C" not in caplog.text


def test_an_action_may_word_a_refusal_its_own_way() -> None:
    dispatcher = CollectingDispatcher()
    answer_failure(dispatcher, "action_x", NotYourReport("leave"),
                   {AccessRefused: "utter_leave_not_your_report"})
    answer_failure(dispatcher, "action_x", UnknownPrincipal(),
                   {AccessRefused: "utter_leave_not_your_report"})
    assert texts(dispatcher) == ["utter_leave_not_your_report", "utter_not_recognised"]
    assert set(REFUSAL_RESPONSES) == {UnknownPrincipal, AccessRefused}


async def test_an_unexpected_failure_in_the_ticket_form_is_polite_and_logs_no_text(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(_: str) -> Any:
        raise RuntimeError("my NI number is QQ123456C")

    monkeypatch.setattr(ticket_actions, "parse_category", broken)
    tracker = make_tracker(text="my pension", intent="inform",
                           metadata=widget_metadata("alice.hughes"),
                           slots={"requested_slot": "ticket_category"})
    # the slot candidate Rasa's form appends after the message, for the validation to check
    tracker.events.append({"event": "slot", "name": "ticket_category", "value": "my pension"})
    domain = {"forms": {"ticket_form": {"required_slots": ["ticket_category"]}}}
    dispatcher = CollectingDispatcher()
    with caplog.at_level(logging.DEBUG):
        events = await ValidateTicketForm().run(dispatcher, tracker, domain)
    assert (texts(dispatcher), events) == (["utter_service_error"], [])
    assert "action.failed action=validate_ticket_form error=RuntimeError" in caplog.text
    assert "QQ123456C" not in caplog.text


async def test_a_refused_caller_is_told_so_wherever_the_refusal_comes_from(
    demo_db: Database,
) -> None:
    unknown = widget_metadata("mallory")
    dispatcher = CollectingDispatcher()
    assert await ActionAskTicketReference().run(
        dispatcher, make_tracker(intent="ticket_update", metadata=unknown), {}) == []
    form = {"ticket_category": "payroll", "ticket_description": "My overtime is missing",
            "ticket_priority": "high", "ticket_confirmed": True}
    events = await ActionTicketCreate().run(
        dispatcher, make_tracker(intent="affirm", metadata=unknown, slots=form), {})
    assert texts(dispatcher) == ["utter_not_recognised", "utter_not_recognised"]
    # the form's own events after a refusal: its slots are cleared for the next query
    assert {e["name"]: e["value"] for e in events} == {name: None for name in form}
