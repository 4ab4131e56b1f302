"""One contract, every adapter: the same behaviour from the SQL adapter and from each vendor
adapter talking HTTP to its fake (seeded from the same demo organisation)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.backoffice.errors import DecidedElsewhere
from bot.backoffice.ports import BackOffice
from bot.backoffice.types import (
    BookingStatus,
    ClaimLine,
    ClaimStatus,
    ExpenseType,
    InvoiceStatus,
    LeavePosition,
    LeaveType,
    NewBooking,
    PurchaseOrderStatus,
)
from bot.leave.balances import current_balances
from bot.records.errors import LeaveRefusal, LeaveRefused
from bot.storage.database import Database
from tests.backoffice_fakes import RunningFakes
from tests.records_support import TODAY, employee_id

d = dt.date


def ids(db: Database) -> dict[str, int]:
    return {n: employee_id(db, n) for n in ("E1001", "E1002", "E1003", "E1004", "E1005")}


def accept(_: LeavePosition) -> None:
    return None


def test_employment_and_work_pattern(db: Database, systems: RunningFakes) -> None:
    people, who = systems.office.people, ids(db)
    alice = people.employment(who["E1001"])
    assert alice is not None
    assert (alice.full_name, alice.grade, alice.cost_centre_code, alice.region) == (
        "Alice Hughes", "HEO", "DDS-101", "england-and-wales")
    assert alice.start_date == d(2019, 9, 2) and alice.line_manager_id == who["E1003"]
    assert people.employment(who["E1003"]).region == "scotland"  # type: ignore[union-attr]
    ben = people.working_pattern(who["E1002"], TODAY)
    assert ben is not None and ben.fractions[:5] == tuple(Decimal(x) for x in ("1", "1", "1", "1", "0.5"))


def test_contact_details_read_and_change_once(db: Database, systems: RunningFakes) -> None:
    people, alice = systems.office.people, ids(db)["E1001"]
    before = people.contact_details(alice)
    assert before is not None and before.postcode == "LS1 4AB" and before.phone
    for _ in range(2):  # the same turn twice
        people.update_contact_details(alice, {"phone": "07700 900999"}, "widget", "ref-phone-1")
    after = people.contact_details(alice)
    assert after.phone == "07700 900999" and after.postcode == before.postcode  # type: ignore[union-attr]
    people.update_contact_details(
        alice, {"address_line1": "1 New Street", "address_line2": None, "town": "York",
                "postcode": "YO1 7HH"}, "widget", "ref-address-1")
    moved = people.contact_details(alice)
    assert (moved.address_line1, moved.town, moved.postcode) == ("1 New Street", "York", "YO1 7HH")  # type: ignore[union-attr]


def test_leave_balances_are_the_same_everywhere(db: Database, systems: RunningFakes) -> None:
    who = ids(db)
    alice = current_balances(systems.office.absence.leave_position(who["E1001"]), TODAY)
    assert [(b.leave_type, b.entitlement, b.taken, b.booked, b.pending, b.remaining) for b in alice] == [
        (LeaveType.ANNUAL, Decimal(30), Decimal(7), Decimal(4), Decimal(1), Decimal(18))]
    fatima = current_balances(systems.office.absence.leave_position(who["E1005"]), TODAY)
    assert [b.leave_type for b in fatima] == [LeaveType.ANNUAL, LeaveType.FLEXI, LeaveType.PRIVILEGE]


def test_booking_is_idempotent_on_the_client_reference(db: Database, systems: RunningFakes) -> None:
    absence, alice = systems.office.absence, ids(db)["E1001"]
    new = NewBooking(LeaveType.ANNUAL, d(2027, 3, 3), d(2027, 3, 5), Decimal(3), "ref-book-1")
    first = absence.book(alice, new, accept)
    again = absence.book(alice, new, accept)
    assert first.reference == again.reference and first.status is BookingStatus.PENDING
    position = absence.leave_position(alice)
    assert [b.start_date for b in position.bookings].count(d(2027, 3, 3)) == 1
    assert absence.find_booking(alice, "ref-book-1").reference == first.reference  # type: ignore[union-attr]
    assert absence.find_booking(alice, "ref-never-sent") is None
    assert absence.booking(alice, first.reference).days == 3  # type: ignore[union-attr]
    assert current_balances(position, TODAY)[0].pending == 4


def test_a_refusing_guard_books_nothing(db: Database, systems: RunningFakes) -> None:
    absence, alice = systems.office.absence, ids(db)["E1001"]

    def refuse(_: LeavePosition) -> None:
        raise LeaveRefused(LeaveRefusal.OVERLAP)

    new = NewBooking(LeaveType.ANNUAL, d(2027, 2, 1), d(2027, 2, 1), Decimal(1), "ref-refused")
    with pytest.raises(LeaveRefused):
        absence.book(alice, new, refuse)
    assert absence.find_booking(alice, "ref-refused") is None


def test_cancelling_is_conditional_and_only_your_own(db: Database, systems: RunningFakes) -> None:
    absence, who = systems.office.absence, ids(db)
    [future] = [b for b in absence.leave_position(who["E1001"]).bookings
                if b.start_date == d(2026, 12, 10)]
    cancelled = absence.cancel(who["E1001"], future.reference, TODAY)
    assert cancelled is not None and cancelled.status is BookingStatus.CANCELLED
    assert absence.cancel(who["E1001"], future.reference, TODAY) is None  # already cancelled
    [bens] = absence.leave_position(who["E1002"]).bookings
    assert absence.cancel(who["E1001"], bens.reference, TODAY) is None  # not Alice's
    assert absence.booking(who["E1001"], bens.reference) is None
    past = [b for b in absence.leave_position(who["E1001"]).bookings if b.end_date < TODAY][0]
    assert absence.cancel(who["E1001"], past.reference, TODAY) is None  # already taken


def test_decisions_where_the_system_allows_them(db: Database, systems: RunningFakes) -> None:
    absence, alice = systems.office.absence, ids(db)["E1001"]
    [pending] = [b for b in absence.leave_position(alice).bookings if b.status is BookingStatus.PENDING]
    if systems.hr is None:
        approved = absence.decide(alice, pending.reference, True, ids(db)["E1003"])
        assert approved.status is BookingStatus.APPROVED  # type: ignore[union-attr]
        assert absence.decide(alice, pending.reference, False, ids(db)["E1003"]) is None
    else:
        with pytest.raises(DecidedElsewhere):
            absence.decide(alice, pending.reference, True, ids(db)["E1003"])


def test_sickness_is_reported_once(db: Database, systems: RunningFakes) -> None:
    absence, alice = systems.office.absence, ids(db)["E1001"]
    assert absence.open_sickness(alice) is None
    first, created = absence.report_sickness(alice, TODAY, "ref-sick-1")
    assert created and first.start_date == TODAY and first.end_date is None
    assert absence.report_sickness(alice, TODAY, "ref-sick-1")[0].reference == first.reference
    again, created_again = absence.report_sickness(alice, TODAY, "ref-sick-2")
    assert not created_again and again.reference == first.reference
    assert absence.open_sickness(alice).reference == first.reference  # type: ignore[union-attr]
    assert absence.sickness(alice, first.reference).start_date == TODAY  # type: ignore[union-attr]


def test_someone_the_system_does_not_know_has_no_records(db: Database, systems: RunningFakes) -> None:
    with db.unit_of_work() as session:
        from bot.storage.models import Department, Employee

        department = session.query(Department).first()
        stranger = Employee(employee_number="E9999", given_name="Nobody", family_name="Known",
                            email="nobody@example.gov.uk", department_id=department.id, grade="EO")  # type: ignore[union-attr]
        session.add(stranger)
        session.flush()
        stranger_id = stranger.id
    office: BackOffice = systems.office
    assert office.people.employment(stranger_id) is None or systems.hr is None
    assert office.absence.leave_position(stranger_id) == LeavePosition([], [])
    assert office.people.contact_details(stranger_id) is None


def test_expense_claims_and_an_idempotent_submission(db: Database, systems: RunningFakes) -> None:
    finance, alice = systems.office.finance, ids(db)["E1001"]
    claims = finance.expense_claims(alice)
    assert [(c.status, c.total) for c in claims] == [
        (ClaimStatus.SUBMITTED, 1_890), (ClaimStatus.PAID, 9_790)]
    line = ClaimLine(ExpenseType.TRAVEL, TODAY - dt.timedelta(days=1), "train to Leeds", 4_520)
    first = finance.submit_expense_claim(alice, [line], TODAY, "ref-claim-1")
    assert finance.find_expense_claim(alice, "ref-claim-1").reference == first.reference  # type: ignore[union-attr]
    assert finance.submit_expense_claim(alice, [line], TODAY, "ref-claim-1") == first
    assert first.total == 4_520 and first.status is ClaimStatus.SUBMITTED
    assert len(finance.expense_claims(alice)) == 3


def test_purchase_orders_and_invoices(db: Database, systems: RunningFakes) -> None:
    finance = systems.office.finance
    po = finance.purchase_order("4500012345")
    assert po is not None
    assert (po.cost_centre_code, po.supplier, po.status, po.total, po.receipted) == (
        "DDS-101", "Acme Office Supplies Ltd", PurchaseOrderStatus.PARTLY_RECEIPTED,
        1_845_000, 922_500)
    assert po.expected_delivery == TODAY + dt.timedelta(days=10)
    assert finance.purchase_order("4599999999") is None
    invoices = finance.invoices("INV-20931")
    assert [(i.cost_centre_code, i.status) for i in invoices] == [
        ("DDS-101", InvoiceStatus.PAID), ("MPW-201", InvoiceStatus.ON_HOLD)]
    assert invoices[0].paid_on == TODAY - dt.timedelta(days=6)
    assert invoices[1].hold_reason == "waiting for the goods receipt"
    assert finance.invoices("INV-00000") == []


def test_payslips_newest_first_with_their_deductions(db: Database, systems: RunningFakes) -> None:
    """Oracle HCM's payslips resource in the oracle configuration; the SQL payroll (the
    documented fallback) otherwise: the same payslips either way."""
    from bot.backoffice.sql import SqlPayroll

    who = ids(db)
    for number in ("E1001", "E1002", "E1005"):
        expected = SqlPayroll(db).payslips(who[number], limit=36)
        slips = systems.office.payroll.payslips(who[number], limit=36)
        assert slips == expected and slips, number
        assert slips[0].pay_date > slips[-1].pay_date
        assert systems.office.payroll.payslips(who[number], limit=3) == expected[:3]
    if systems.hcm is not None:
        assert systems.hcm.server.count("GET", "/payslips") >= 6  # asked Oracle, not the tables
