"""The leave, expense and personal-details forms' validation: dates understood, refusals with
reasons, corrections at the confirmation step, "stop", and the submit actions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import services
from actions.expense_forms import ActionExpenseClaimSubmit, ValidateExpenseClaimForm
from actions.leave_forms import (
    ActionLeaveCancelSubmit,
    ActionLeaveRequestSubmit,
    ActionRecordsFormCancelled,
    ValidateLeaveCancelForm,
    ValidateLeaveRequestForm,
)
from actions.personal import ActionPersonalDetailsSubmit, ValidatePersonalDetailsForm
from bot.backoffice.record_tables import ExpenseClaim, LeaveBooking, PersonalDetails
from bot.backoffice.types import BookingStatus
from tests.records_support import employee_id, widget_metadata

from .records_fixtures import records_db  # noqa: F401

pytestmark = pytest.mark.usefixtures("records_db")
ROOT = Path(__file__).resolve().parents[2]
DOMAIN: dict[str, Any] = {"forms": {}, "slots": {}}
for path in sorted((ROOT / "domain").glob("*.yml")):
    part = yaml.safe_load(path.read_text()) or {}
    DOMAIN["forms"].update(part.get("forms") or {})
    DOMAIN["slots"].update(part.get("slots") or {})


def form_tracker(
    form: str,
    text: str,
    intent: str,
    slots: dict[str, Any],
    requested: str | None,
    subject: str | None = "alice.hughes",
) -> Tracker:
    meta = widget_metadata(subject) if subject else {}
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": [],
        "metadata": meta,
    }
    all_slots = {**{name: None for name in DOMAIN["slots"]}, **slots, "requested_slot": requested}
    events = [{"event": "user", "text": text, "parse_data": latest, "metadata": meta}]
    return Tracker(
        "widget-test",
        all_slots,
        latest,
        events,
        False,
        None,
        {"name": form, "validate": True, "rejected": False},
        "action_listen",
    )


async def turn(
    action: Any,
    form: str,
    text: str,
    intent: str = "inform",
    slots: dict | None = None,
    requested: str | None = None,
    subject: str | None = "alice.hughes",
) -> tuple[dict, list[str]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(
        dispatcher, form_tracker(form, text, intent, slots or {}, requested, subject), DOMAIN
    )
    return (
        {e["name"]: e["value"] for e in events if e.get("event") == "slot"},
        [m.get("text") or m.get("response") for m in dispatcher.messages],
    )


LEAVE = "leave_request_form"


async def leave(
    text: str,
    intent: str = "inform",
    slots: dict | None = None,
    requested: str | None = None,
    subject: str | None = "alice.hughes",
) -> tuple[dict, list[str]]:
    return await turn(ValidateLeaveRequestForm(), LEAVE, text, intent, slots, requested, subject)


async def test_dates_in_the_first_message_are_understood_and_summarised() -> None:
    slots, said = await leave("I want to take 3rd to 7th March off", "leave_request")
    assert (slots["leave_start"], slots["leave_end"], slots["leave_type"]) == (
        "2027-03-03",
        "2027-03-07",
        "annual",
    )
    assert said == [
        "Annual leave from Wednesday 3 March 2027 to Sunday 7 March 2027: 3 days of leave. "
        "You'd have 15 days of annual leave left until Wednesday 31 March 2027. "
        "It goes to Chloe Singh for approval."
    ]


async def test_without_dates_the_form_asks_for_them() -> None:
    slots, said = await leave("I'd like to book some leave", "leave_request")
    assert slots == {"leave_dates": None} and said == []
    slots, said = await leave("whenever", requested="leave_dates")
    assert slots == {"leave_dates": None} and said == ["utter_leave_dates_not_understood"]


async def test_bank_holidays_and_half_days_are_counted() -> None:
    _, [summary] = await leave("w/c 22 March", requested="leave_dates")
    assert "4 days of leave (26 March is a bank holiday, not counted)" in summary
    _, [half] = await leave("Friday afternoon", requested="leave_dates")
    assert half.startswith(
        "Annual leave on Friday 27 November 2026 (afternoon): 0.5 days of leave."
    )


async def test_an_overlap_is_refused_with_the_reason_and_the_dates_asked_again() -> None:
    slots, said = await leave("11 December", requested="leave_dates")
    assert slots["leave_dates"] is None and slots["leave_start"] is None
    assert said == [
        "That overlaps your annual leave from Thursday 10 December 2026 to Sunday 13 December 2026, "
        "which is approved. Cancel that first, or choose other dates."
    ]


async def test_more_than_the_balance_is_refused() -> None:
    slots, said = await leave("1st to 26th February", requested="leave_dates", subject="ben.okafor")
    assert slots["leave_dates"] is None
    assert said == [
        "That needs 18 days but you only have 15 days of annual leave left this leave year."
    ]


CONFIRMING = {
    "leave_dates": "ok:2027-03-03/2027-03-07",
    "leave_start": "2027-03-03",
    "leave_end": "2027-03-07",
    "leave_type": "annual",
}


async def test_a_correction_at_the_confirmation_step_changes_the_dates_and_asks_again() -> None:
    slots, said = await leave(
        "actually make that the 8th", slots=CONFIRMING, requested="leave_confirmed"
    )
    assert (slots["leave_start"], slots["leave_end"], slots["leave_confirmed"]) == (
        "2027-03-03",
        "2027-03-08",
        None,
    )
    assert said[0].startswith(
        "Annual leave from Wednesday 3 March 2027 to Monday 8 March 2027: 4 days of leave."
    )


async def test_yes_no_and_nonsense_at_the_confirmation_step() -> None:
    assert (await leave("yes", "affirm", CONFIRMING, "leave_confirmed"))[0] == {
        "leave_confirmed": "yes"
    }
    assert (await leave("no", "deny", CONFIRMING, "leave_confirmed"))[0] == {
        "leave_confirmed": "no"
    }
    slots, said = await leave("hmm", slots=CONFIRMING, requested="leave_confirmed")
    assert slots == {"leave_confirmed": None} and said == ["utter_leave_confirm_unclear"]


async def test_stop_fills_nothing_so_the_form_is_interrupted() -> None:
    assert await leave("forget it", "stop", CONFIRMING, "leave_confirmed") == ({}, [])
    assert await leave("cancel that", "stop", {}, "leave_dates") == ({}, [])


async def test_without_a_verified_principal_nothing_is_quoted() -> None:
    slots, said = await leave("3rd to 7th March", requested="leave_dates", subject=None)
    assert slots == {"leave_dates": "-", "leave_confirmed": "no"} and said == [
        "utter_not_recognised"
    ]


async def submit(
    action: Any, slots: dict[str, Any], subject: str = "alice.hughes"
) -> tuple[dict, list[str]]:
    dispatcher = CollectingDispatcher()
    meta = widget_metadata(subject)
    latest = {"text": "yes", "intent": {"name": "affirm"}, "entities": [], "metadata": meta}
    tracker = Tracker(
        "widget-test",
        slots,
        latest,
        [{"event": "user", "text": "yes", "parse_data": latest, "metadata": meta}],
        False,
        None,
        {},
        "action_listen",
    )
    events = await action.run(dispatcher, tracker, {})
    return (
        {e["name"]: e["value"] for e in events if e.get("event") == "slot"},
        [m.get("text") or m.get("response") for m in dispatcher.messages],
    )


async def test_confirmed_leave_is_booked_and_the_form_cleared() -> None:
    db = services.database()
    slots, said = await submit(ActionLeaveRequestSubmit(), {**CONFIRMING, "leave_confirmed": "yes"})
    assert said == [
        "Done: your request for 3 days from Wednesday 3 March 2027 to Sunday 7 March 2027 has gone to "
        'Chloe Singh for approval. Ask me "has my leave been approved?" to check on it.'
    ]
    assert all(value is None for value in slots.values()) and "leave_dates" in slots
    with db.unit_of_work() as session:
        booking = session.scalars(
            select(LeaveBooking).where(
                LeaveBooking.employee_id == employee_id(db, "E1001"),
                LeaveBooking.start_date == __import__("datetime").date(2027, 3, 3),
            )
        ).one()
        assert booking.status is BookingStatus.PENDING


async def test_no_books_nothing() -> None:
    _, said = await submit(ActionLeaveRequestSubmit(), {**CONFIRMING, "leave_confirmed": "no"})
    assert said == ["utter_leave_not_booked"]


async def test_stopping_clears_every_records_form() -> None:
    slots, said = await submit(ActionRecordsFormCancelled(), CONFIRMING)
    assert said == ["utter_records_form_cancelled"]
    assert {"leave_dates", "leave_confirmed", "expense_amount", "details_value"} <= set(slots)
    assert all(v is None for v in slots.values())


async def test_cancelling_a_booking_through_its_form() -> None:
    slots, said = await turn(
        ValidateLeaveCancelForm(),
        "leave_cancel_form",
        "cancel my leave on 11 December",
        "leave_cancel",
    )
    booking = slots["leave_cancel_booking"]
    assert booking.isdigit()
    assert said == [
        "Your annual leave from Thursday 10 December 2026 to Sunday 13 December 2026 (4 days, approved)."
    ]
    _, done = await submit(
        ActionLeaveCancelSubmit(),
        {"leave_cancel_booking": booking, "leave_cancel_confirmed": "yes"},
    )
    assert done == [
        "Cancelled: your leave from Thursday 10 December 2026 to Sunday 13 December 2026. "
        "4 days have gone back into your balance."
    ]
    slots, said = await turn(
        ValidateLeaveCancelForm(), "leave_cancel_form", "cancel my leave in June", "leave_cancel"
    )
    assert said == ["utter_leave_cancel_nothing"]


async def test_someone_elses_booking_id_cannot_be_cancelled() -> None:
    db = services.database()
    with db.unit_of_work() as session:
        bens = session.scalars(
            select(LeaveBooking.id).where(LeaveBooking.employee_id == employee_id(db, "E1002"))
        ).first()
    _, said = await submit(
        ActionLeaveCancelSubmit(),
        {"leave_cancel_booking": str(bens), "leave_cancel_confirmed": "yes"},
    )
    assert said == ["utter_leave_cancel_nothing"]
    with db.unit_of_work() as session:
        assert session.get(LeaveBooking, bens).status is BookingStatus.APPROVED  # type: ignore[union-attr]


async def test_an_expense_claim_through_its_form() -> None:
    db = services.database()
    form, claim = "expense_claim_form", ValidateExpenseClaimForm()
    slots, _ = await turn(
        claim, form, "I need to claim for a train to Bristol", "expense_claim_submit"
    )
    assert slots == {"expense_type": "travel"}
    assert (await turn(claim, form, "yesterday", slots=slots, requested="expense_date"))[0] == {
        "expense_date": "2026-11-25"
    }
    filled = {"expense_type": "travel", "expense_date": "2026-11-25"}
    slots, said = await turn(claim, form, "£0", slots=filled, requested="expense_amount")
    assert slots == {"expense_amount": None} and said == ["utter_expense_amount_unclear"]
    slots, _ = await turn(claim, form, "it was £86.40", slots=filled, requested="expense_amount")
    filled.update(slots)
    slots, said = await turn(
        claim,
        form,
        "return train to Bristol for the regional meeting",
        slots=filled,
        requested="expense_description",
    )
    assert said == [
        "Travel on Wednesday 25 November 2026: return train to Bristol for the regional meeting, £86.40."
    ]
    filled.update(slots, expense_confirmed="yes")
    _, [done] = await submit(ActionExpenseClaimSubmit(), filled)
    assert (
        done.startswith("Submitted: claim EXP-")
        and "for £86.40 has gone to your line manager" in done
    )
    with db.unit_of_work() as session:
        assert (
            session.scalars(
                select(ExpenseClaim.total_pence).order_by(ExpenseClaim.id.desc())
            ).first()
            == 8640
        )


async def test_mileage_is_priced_at_the_published_rate() -> None:
    slots, said = await turn(
        ValidateExpenseClaimForm(),
        "expense_claim_form",
        "84 miles",
        slots={"expense_type": "mileage", "expense_date": "2026-11-25"},
        requested="expense_amount",
    )
    assert slots == {"expense_amount": "miles:84"} and said == ["84 miles at 45p a mile is £37.80."]


async def test_changing_an_address_through_its_form() -> None:
    db = services.database()
    form, details = "personal_details_form", ValidatePersonalDetailsForm()
    slots, _ = await turn(details, form, "I've moved house", "personal_details_update")
    assert slots == {"details_field": "address"}
    slots, said = await turn(
        details, form, "Leeds", slots={"details_field": "address"}, requested="details_value"
    )
    assert slots == {"details_value": None} and said[0].startswith("Sorry, I need the full address")
    slots, _ = await turn(
        details,
        form,
        "22 Park Row, Leeds, LS1 5HD",
        slots={"details_field": "address"},
        requested="details_value",
    )
    _, said = await submit(
        ActionPersonalDetailsSubmit(),
        {
            "details_field": "address",
            "details_value": slots["details_value"],
            "details_confirmed": "yes",
        },
    )
    assert said == ["Done: your home address is updated on your HR record."]
    with db.unit_of_work() as session:
        row = session.get(PersonalDetails, employee_id(db, "E1001"))
        assert (row.address_line1, row.town, row.postcode) == ("22 Park Row", "Leeds", "LS1 5HD")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text, response",
    [
        ("I need to change my bank details", "utter_bank_account_route"),
        ("I got married and changed my surname", "utter_legal_name_change"),
    ],
)
async def test_bank_details_and_legal_names_are_never_changed_in_chat(
    text: str, response: str
) -> None:
    slots, said = await turn(
        ValidatePersonalDetailsForm(), "personal_details_form", text, "personal_details_update"
    )
    assert said == [response] and slots["details_confirmed"] == "no"


async def test_an_unexpected_failure_in_a_form_is_polite_and_logs_no_personal_data(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import actions.leave_forms as forms

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("alice.hughes 3rd to 7th March")

    monkeypatch.setattr(forms, "parse_leave_dates", broken)
    slots, said = await leave("3rd to 7th March", requested="leave_dates")
    assert (slots, said) == ({}, ["utter_service_error"])
    assert "action.failed action=validate_leave_request_form error=RuntimeError" in caplog.text
    assert "alice" not in caplog.text and "March" not in caplog.text


async def test_flexi_and_privilege_days_use_their_own_balance() -> None:
    dispatcher = CollectingDispatcher()
    tracker = form_tracker(
        LEAVE, "book a flexi day on Monday 7 December", "leave_request", {}, None, "fatima.rahman"
    )
    tracker.latest_message["entities"] = [{"entity": "leave_type", "value": "flexi"}]
    events = await ValidateLeaveRequestForm().run(dispatcher, tracker, DOMAIN)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["leave_type"] == "flexi"
    assert dispatcher.messages[0]["text"] == (
        "Flexi leave on Monday 7 December 2026: 1 day of leave. You'd have 11 days of flexi leave "
        "left until Wednesday 31 March 2027. It goes to Daniel Evans for approval."
    )
    slots, said = await leave("use my privilege day on 29 December", "leave_request")
    assert said[0].startswith(
        "Annual leave"
    )  # no entity: annual leave, Alice has no privilege entitlement
