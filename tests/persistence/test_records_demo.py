"""The records demo: 200 employees in 4 departments, deterministic, keeping the sign-in five."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.backoffice.record_tables import (
    CostCentre,
    EmploymentRecord,
    LeaveBooking,
    Payslip,
    PurchaseOrder,
    SupplierInvoice,
    WorkingPattern,
)
from bot.backoffice.types import LeaveType
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.demo.records import seed_records
from bot.leave import my_leave_balances
from bot.storage.database import Database
from bot.storage.models import ChannelIdentity, Department, Employee
from tests.records_support import TODAY, build_records_database, records_database, widget


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def full_demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with records_database(request.param, tmp_path_factory.mktemp("demo"), employees=200) as db:
        yield db


def count(db: Database, model: type) -> int:
    with db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model))  # type: ignore[return-value]


def test_two_hundred_employees_in_four_departments(full_demo: Database) -> None:
    assert count(full_demo, Employee) == 200
    with full_demo.unit_of_work() as session:
        per_department = dict(
            session.execute(
                select(Department.code, func.count(Employee.id))
                .join(Employee)
                .group_by(Department.code)
            ).all()
        )
    assert set(per_department) == {"DDS", "MPW", "OSS", "AFA"}
    assert all(n >= 40 for n in per_department.values())
    assert count(full_demo, EmploymentRecord) == count(full_demo, WorkingPattern) == 200


def test_a_year_of_history(full_demo: Database) -> None:
    with full_demo.unit_of_work() as session:
        months = session.scalar(select(func.count(func.distinct(Payslip.period_start))))
        past_leave = session.scalar(
            select(func.count()).select_from(LeaveBooking).where(LeaveBooking.end_date < TODAY)
        )
    assert months is not None and months >= 12
    assert past_leave is not None and past_leave > 100


def test_payslips_add_up_to_the_penny(full_demo: Database) -> None:
    with full_demo.unit_of_work() as session:
        wrong = session.scalar(
            select(func.count())
            .select_from(Payslip)
            .where(
                Payslip.gross_pence
                - Payslip.tax_pence
                - Payslip.ni_pence
                - Payslip.pension_pence
                - Payslip.other_deductions_pence
                != Payslip.net_pence
            )
        )
    assert wrong == 0


def test_the_sign_in_employees_keep_their_identities_and_leave(full_demo: Database) -> None:
    with full_demo.unit_of_work() as session:
        subjects = set(
            session.scalars(
                select(ChannelIdentity.subject).where(ChannelIdentity.tenant == DEMO_WIDGET_ISSUER)
            )
        )
    assert subjects == {
        "alice.hughes",
        "ben.okafor",
        "chloe.singh",
        "daniel.evans",
        "fatima.rahman",
    }
    alice = my_leave_balances(full_demo, widget("alice.hughes"), TODAY)
    [annual] = alice.balances
    assert (annual.entitlement, annual.taken, annual.booked, annual.pending, annual.remaining) == (
        Decimal(30),
        Decimal(7),
        Decimal(4),
        Decimal(1),
        Decimal(18),
    )
    assert [
        b.remaining for b in my_leave_balances(full_demo, widget("ben.okafor"), TODAY).balances
    ] == [Decimal(15)]
    chloe = my_leave_balances(full_demo, widget("chloe.singh"), TODAY)
    assert {b.leave_type for b in chloe.balances} == {LeaveType.ANNUAL, LeaveType.PRIVILEGE}


def test_the_well_known_finance_documents(full_demo: Database) -> None:
    with full_demo.unit_of_work() as session:
        po = session.scalar(select(PurchaseOrder).where(PurchaseOrder.number == "4500012345"))
        invoices = session.scalars(
            select(SupplierInvoice).where(SupplierInvoice.invoice_number == "INV-20931")
        ).all()
        assert po is not None and po.cost_centre.code == "DDS-101"
        assert sorted(i.cost_centre.code for i in invoices) == ["DDS-101", "MPW-201"]
        assert session.scalar(select(func.count()).select_from(CostCentre)) == 12


def test_loading_again_adds_nothing(full_demo: Database) -> None:
    before = count(full_demo, Payslip)
    with full_demo.unit_of_work() as session:
        assert seed_records(session, TODAY) is False
    assert count(full_demo, Payslip) == before


def _digest(db: Database) -> str:
    with db.unit_of_work() as session:
        rows = session.execute(
            select(Payslip.period_start, Payslip.net_pence, Employee.employee_number)
            .join(Employee)
            .order_by(Employee.employee_number, Payslip.period_start)
        ).all()
        bookings = session.execute(
            select(LeaveBooking.start_date, LeaveBooking.days, Employee.employee_number)
            .join(Employee)
            .order_by(Employee.employee_number, LeaveBooking.start_date)
        ).all()
    return hashlib.sha256(repr((rows, bookings)).encode()).hexdigest()


def test_the_same_day_gives_the_same_organisation(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db")]
    for url in urls:
        build_records_database(url, employees=60)
    first, second = (Database(url) for url in urls)
    try:
        assert _digest(first) == _digest(second)
    finally:
        first.dispose()
        second.dispose()
