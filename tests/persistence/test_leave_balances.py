"""Leave balances read from the caller's own records, audited, on both databases."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.backoffice.types import LeaveType
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.demo.organisation import seed_organisation
from bot.errors import UnknownPrincipal
from bot.identity import Principal
from bot.leave import my_leave_balances
from bot.storage.database import Database
from bot.storage.models import AuditEvent, AuditOutcome, Employee

from .conftest import TODAY


def widget(subject: str) -> Principal:
    return Principal("widget", DEMO_WIDGET_ISSUER, subject)


def audit_rows(db: Database) -> list[AuditEvent]:
    with db.unit_of_work() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_each_employee_gets_their_own_balance(demo_db: Database) -> None:
    alice = my_leave_balances(demo_db, widget("alice.hughes"), TODAY)
    ben = my_leave_balances(demo_db, widget("ben.okafor"), TODAY)
    assert alice.given_name == "Alice" and ben.given_name == "Ben"
    [annual] = alice.balances
    assert annual.leave_type is LeaveType.ANNUAL
    # 27 + 3 carried over; taken 5 + 2, booked 4, pending 1 (see bot/demo/description.py)
    assert (annual.entitlement, annual.taken, annual.booked, annual.pending, annual.remaining) == (
        Decimal(30), Decimal(7), Decimal(4), Decimal(1), Decimal(18))
    assert [b.remaining for b in ben.balances] == [Decimal(15)]


def test_every_read_is_audited_with_actor_and_subject(demo_db: Database) -> None:
    my_leave_balances(demo_db, widget("alice.hughes"), TODAY)
    [event] = audit_rows(demo_db)
    with demo_db.unit_of_work() as session:
        alice_id = session.scalar(select(Employee.id).where(Employee.employee_number == "E1001"))
    assert (event.actor_employee_id, event.subject_employee_id) == (alice_id, alice_id)
    assert (event.record_type, event.action, event.outcome) == (
        "leave_balance", "read", AuditOutcome.ALLOWED)
    assert event.actor_principal == "widget:helpdesk-intranet:alice.hughes"


@pytest.mark.parametrize(
    "principal",
    [
        Principal("widget", DEMO_WIDGET_ISSUER, "mallory"),
        Principal("widget", "another-intranet", "alice.hughes"),  # right subject, wrong issuer
        Principal("slack", DEMO_WIDGET_ISSUER, "alice.hughes"),  # right subject, wrong channel
    ],
)
def test_unknown_principals_are_refused_and_the_refusal_is_audited(
    demo_db: Database, principal: Principal
) -> None:
    with pytest.raises(UnknownPrincipal):
        my_leave_balances(demo_db, principal, TODAY)
    [event] = audit_rows(demo_db)
    assert event.outcome is AuditOutcome.REFUSED
    assert event.actor_employee_id is None and event.subject_employee_id is None
    assert event.reason == "unknown principal"


def test_loading_the_demo_twice_adds_nothing(demo_db: Database) -> None:
    with demo_db.unit_of_work() as session:
        assert seed_organisation(session, TODAY) is False
        assert session.scalar(select(func.count()).select_from(Employee)) == 5
