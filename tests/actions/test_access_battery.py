"""The access battery: hundreds of attempts to read another employee's records through the
actions (names, employee numbers, entities, slot injection with `/intent{...}`, forged or
missing metadata, client-chosen sender ids, other cost centres' documents). Every attempt must
disclose nothing of the target and leave a refused audit record."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import services
from actions.finance import (
    ActionExpenseClaimStatus,
    ActionInvoiceStatus,
    ActionPurchaseOrderStatus,
)
from actions.leave import ActionLeaveBalance, ActionLeaveRequestStatus, ActionPublicHolidays
from actions.pay import (
    ActionAnnualTaxStatement,
    ActionPayDate,
    ActionPayslip,
    ActionPensionQuestion,
    ActionSalaryInfo,
    ActionTaxQuestion,
)
from actions.personal import ActionSalaryBankAccount
from bot.backoffice.record_tables import Payslip, PersonalDetails, SalaryRecord
from bot.records.money import pounds
from bot.storage.database import Database
from bot.storage.models import AuditOutcome, Employee
from tests.records_support import (
    TODAY,
    audit_since,
    last_audit_id,
    records_database,
    widget_metadata,
)

ACTIONS = {
    "payslip": ActionPayslip,
    "salary_info": ActionSalaryInfo,
    "tax_question": ActionTaxQuestion,
    "annual_tax_statement": ActionAnnualTaxStatement,
    "pension_question": ActionPensionQuestion,
    "salary_bank_account": ActionSalaryBankAccount,
    "pay_date": ActionPayDate,
    "expense_claim_status": ActionExpenseClaimStatus,
    "leave_request_status": ActionLeaveRequestStatus,
    "leave_balance": ActionLeaveBalance,
    "public_holidays": ActionPublicHolidays,
}
# (attacker's widget subject, target employee number); no target is the attacker's direct report
PAIRS = [
    ("alice.hughes", "E1002"),
    ("alice.hughes", "E1004"),
    ("ben.okafor", "E1001"),
    ("ben.okafor", "E1005"),
    ("chloe.singh", "E1004"),
    ("chloe.singh", "E1005"),
    ("daniel.evans", "E1001"),
    ("daniel.evans", "E1003"),
    ("fatima.rahman", "E1004"),
    ("fatima.rahman", "E2001"),
]
VECTORS = ("name_entity", "number_entity", "slot_injection")


@dataclass(frozen=True)
class Target:
    number: str
    id: int
    full_name: str
    secrets: tuple[str, ...]  # values that must never appear in an answer to someone else


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with records_database("sqlite", tmp_path_factory.mktemp("battery"), employees=40) as database:
        services.use_database(database)
        original_today = services.today
        services.today = lambda: TODAY  # type: ignore[assignment]
        try:
            yield database
        finally:
            services.today = original_today  # type: ignore[assignment]
            services.use_database(None)


@pytest.fixture(scope="module")
def targets(db: Database) -> dict[str, Target]:
    found = {}
    with db.unit_of_work() as session:
        for number in {t for _, t in PAIRS}:
            person = session.scalar(select(Employee).where(Employee.employee_number == number))
            salary = session.scalars(
                select(SalaryRecord.annual_salary_pence)
                .where(SalaryRecord.employee_id == person.id)
                .order_by(SalaryRecord.effective_from.desc())
            ).first()
            net = session.scalars(
                select(Payslip.net_pence)
                .where(Payslip.employee_id == person.id)
                .order_by(Payslip.period_start.desc())
            ).first()
            details = session.get(PersonalDetails, person.id)
            secrets = (
                pounds(salary),
                pounds(net),
                f"ending {details.bank_account_last4}",
                details.postcode,
                details.phone,
                details.address_line1,
            )
            found[number] = Target(
                number, person.id, f"{person.given_name} {person.family_name}", secrets
            )
    return found


def tracker(
    text: str,
    intent: str,
    metadata: Any,
    entities: list[dict] | None = None,
    slots: dict | None = None,
    sender_id: str = "widget-battery",
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": entities or [],
        "metadata": metadata,
    }
    events = [{"event": "user", "text": text, "parse_data": latest, "metadata": metadata}]
    return Tracker(sender_id, slots or {}, latest, events, False, None, {}, "action_listen")


async def answers(intent: str, tr: Tracker) -> list[str]:
    dispatcher = CollectingDispatcher()
    await ACTIONS[intent]().run(dispatcher, tr, {})
    return [json.dumps(m) for m in dispatcher.messages]


def attempt(vector: str, intent: str, attacker: str, target: Target) -> Tracker:
    metadata = widget_metadata(attacker)
    if vector == "name_entity":
        return tracker(
            f"show me {target.full_name}'s {intent.replace('_', ' ')}",
            intent,
            metadata,
            [{"entity": "person", "value": target.full_name}],
        )
    if vector == "number_entity":
        return tracker(
            f"{intent.replace('_', ' ')} for {target.number}",
            intent,
            metadata,
            [{"entity": "employee_number", "value": target.number}],
        )
    payload = {"employee_number": target.number, "person": target.full_name}
    return tracker(
        f"/{intent}{json.dumps(payload)}",
        intent,
        metadata,
        [{"entity": k, "value": v} for k, v in payload.items()],
        slots=payload,
    )


CASES = list(itertools.product(VECTORS, ACTIONS, PAIRS))


@pytest.mark.parametrize(
    "vector, intent, pair", CASES, ids=[f"{v}-{i}-{a}-{t}" for v, i, (a, t) in CASES]
)
async def test_naming_someone_else_discloses_nothing_and_is_audited(
    db: Database, targets: dict[str, Target], vector: str, intent: str, pair: tuple[str, str]
) -> None:
    attacker, number = pair
    target = targets[number]
    before = last_audit_id(db)
    said = await answers(intent, attempt(vector, intent, attacker, target))
    joined = " ".join(said)
    for secret in target.secrets:
        assert secret not in joined
    assert said == [json.dumps(_refusal(intent))]
    events = audit_since(db, before)
    assert events and all(e.outcome is AuditOutcome.REFUSED for e in events)
    assert target.id in {e.subject_employee_id for e in events}


def _refusal(intent: str) -> dict[str, Any]:
    response = (
        "utter_leave_not_your_report" if intent == "leave_balance" else "utter_records_not_yours"
    )
    return {
        "text": None,
        "buttons": [],
        "elements": [],
        "custom": {},
        "template": response,
        "response": response,
        "image": None,
        "attachment": None,
    }


FORGED = {
    "wrong issuer": {
        "principal": {"channel": "widget", "tenant": "evil-intranet", "subject": "ben.okafor"}
    },
    "stock rest channel": {
        "principal": {"channel": "rest", "tenant": "helpdesk-intranet", "subject": "ben.okafor"}
    },
    "wrong channel": {
        "principal": {"channel": "slack", "tenant": "helpdesk-intranet", "subject": "ben.okafor"}
    },
    "no subject": {"principal": {"channel": "widget", "tenant": "helpdesk-intranet"}},
    "principal as text": {"principal": "widget:helpdesk-intranet:ben.okafor"},
    "employee number instead": {"employee_number": "E1002"},
    "no metadata": {},
    "null metadata": None,
}


@pytest.mark.parametrize("intent", ACTIONS)
@pytest.mark.parametrize("forgery", FORGED)
async def test_forged_or_missing_metadata_is_refused_and_audited(
    db: Database, targets: dict[str, Target], intent: str, forgery: str
) -> None:
    ben = targets["E1002"] if "E1002" in targets else None
    before = last_audit_id(db)
    said = await answers(
        intent,
        tracker(
            "what's my pay",
            intent,
            FORGED[forgery],
            sender_id="widget:helpdesk-intranet:ben.okafor",
            slots={"principal": "ben.okafor"},
        ),
    )
    assert said == [
        json.dumps(
            {
                **_refusal(intent),
                "template": "utter_not_recognised",
                "response": "utter_not_recognised",
            }
        )
    ]
    if ben:
        assert not any(secret in " ".join(said) for secret in ben.secrets)
    events = audit_since(db, before)
    assert events and all(
        e.outcome is AuditOutcome.REFUSED and e.actor_employee_id is None for e in events
    )


DOCUMENTS = [
    (
        ActionPurchaseOrderStatus,
        "purchase_order_status",
        "what's happening with PO 4500067890",
        "po_number",
        "4500067890",
    ),
    (
        ActionPurchaseOrderStatus,
        "purchase_order_status",
        "status of 4599999999",
        "po_number",
        "4599999999",
    ),
    (
        ActionInvoiceStatus,
        "invoice_status",
        "has INV-20931 from Northwind been paid",
        "invoice_number",
        "INV-20931",
    ),
]


@pytest.mark.parametrize("attacker", ["alice.hughes", "ben.okafor", "chloe.singh"])
@pytest.mark.parametrize("action, intent, text, entity, value", DOCUMENTS)
async def test_other_cost_centres_documents_are_not_shown(
    db: Database, attacker: str, action: type, intent: str, text: str, entity: str, value: str
) -> None:
    before = last_audit_id(db)
    dispatcher = CollectingDispatcher()
    await action().run(
        dispatcher,
        tracker(
            text,
            intent,
            widget_metadata(attacker),
            [{"entity": entity, "value": value}, {"entity": "supplier", "value": "Northwind"}],
        ),
        {},
    )
    said = " ".join(json.dumps(m) for m in dispatcher.messages)
    assert "Northwind" not in said and "£49,500.00" not in said and "confidential" not in said
    if (
        intent == "invoice_status"
    ):  # Alice's own cost centre has an INV-20931 (Acme's): shown, nothing else
        assert "Acme" in said or "utter_document_not_found" in said
    else:
        assert "utter_document_not_found" in said
    events = audit_since(db, before)
    assert len(events) == 1 and events[0].subject_employee_id is None
    if intent == "purchase_order_status":
        assert events[0].outcome is AuditOutcome.REFUSED


def test_the_battery_is_big_enough() -> None:
    total = len(CASES) + len(FORGED) * len(ACTIONS) + 3 * len(DOCUMENTS)
    assert total >= 200, total
