"""The read-only records services, each audited, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.backoffice.types import (
    ClaimLine,
    ClaimStatus,
    ExpenseType,
    InvoiceStatus,
    PurchaseOrderStatus,
)
from bot.errors import AccessRefused, UnknownPrincipal
from bot.records import expenses, finance_documents, pay, pension, personal_details
from bot.records.errors import InvalidRequest, NotFound
from bot.storage.database import Database
from bot.storage.models import AuditOutcome
from tests.records_support import (
    TODAY,
    audit_since,
    employee_id,
    last_audit_id,
    records_database,
    widget,
)

ALICE, BEN, DANIEL = widget("alice.hughes"), widget("ben.okafor"), widget("daniel.evans")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with records_database(
        request.param, tmp_path_factory.mktemp("services"), employees=40
    ) as database:
        yield database


def one_audit(
    db: Database,
    before: int,
    record_type: str,
    outcome: AuditOutcome = AuditOutcome.ALLOWED,
    subject: str | None = "E1001",
    action: str = "read",
):  # type: ignore[no-untyped-def]
    [event] = audit_since(db, before)
    assert (event.record_type, event.outcome, event.action) == (record_type, outcome, action)
    if subject:
        assert event.subject_employee_id == employee_id(db, subject)
    return event


def test_latest_payslip(db: Database) -> None:
    before = last_audit_id(db)
    answer = pay.my_payslip(db, ALICE, TODAY)
    slip = answer.payslip
    assert slip is not None and slip.period_start == dt.date(2026, 10, 1)
    assert slip.pay_date == dt.date(2026, 10, 30)  # DDS pays on the last working day
    assert slip.gross - slip.tax - slip.ni - slip.pension - slip.other == slip.net
    assert slip.gross == 304_167  # £36,500 / 12
    one_audit(db, before, "payslip")


def test_a_named_month_is_the_latest_such_month(db: Database) -> None:
    assert pay.my_payslip(db, ALICE, TODAY, month=3).payslip.period_start == dt.date(2026, 3, 1)  # type: ignore[union-attr]
    assert pay.my_payslip(db, ALICE, TODAY, month=11).payslip.period_start == dt.date(2025, 11, 1)  # type: ignore[union-attr]
    missing = pay.my_payslip(db, ALICE, TODAY, month=1, year=2020)
    assert missing.payslip is None and missing.latest_period == dt.date(2026, 10, 1)


def test_pay_dates_come_from_the_payroll_calendar(db: Database) -> None:
    alice = pay.my_pay_date(db, ALICE, TODAY)
    assert (alice.next_pay_date, alice.following) == (dt.date(2026, 11, 30), dt.date(2026, 12, 31))
    daniel = pay.my_pay_date(db, DANIEL, TODAY)  # MPW pays on the 25th or the working day before
    assert daniel.next_pay_date == dt.date(2026, 12, 24)  # 25 December is a bank holiday


def test_salary_band_and_part_time_pay(db: Database) -> None:
    alice = pay.my_salary(db, ALICE, TODAY)
    assert alice.salary.annual_salary == 36_500_00 and alice.salary.pay_band == "HEO"  # type: ignore[union-attr]
    assert (alice.salary.band_minimum, alice.salary.band_maximum) == (34_000_00, 38_500_00)  # type: ignore[union-attr]
    assert alice.actual_annual is None
    ben = pay.my_salary(db, BEN, TODAY)
    assert ben.contracted_hours == 33.3 and ben.actual_annual == round(29_800_00 * 33.3 / 37)


def test_tax_code_change_is_explained(db: Database) -> None:
    ben = pay.my_tax_code(db, BEN, TODAY)
    assert ben.tax_code.code == "1257L M1" and ben.tax_code.previous_code == "1257L"  # type: ignore[union-attr]
    assert ben.meaning.emergency  # type: ignore[union-attr]
    assert pay.my_tax_code(db, widget("chloe.singh"), TODAY).tax_code.code == "S1257L"  # type: ignore[union-attr]


def test_p60_totals_cover_the_last_complete_tax_year(db: Database) -> None:
    statement = pay.my_annual_tax_statement(db, ALICE, TODAY)
    assert (statement.tax_year_start, statement.tax_year_end) == (
        dt.date(2025, 4, 6),
        dt.date(2026, 4, 5),
    )
    assert statement.payslips == 12 and statement.available
    assert statement.total_pay == 12 * 304_167


def test_pension(db: Database) -> None:
    answer = pension.my_pension(db, ALICE, TODAY)
    assert answer.pension.scheme == "alpha" and answer.pension.member_rate == Decimal("5.45")  # type: ignore[union-attr]
    assert answer.last_payslip.pension == 16_577  # type: ignore[union-attr]


def test_the_bank_account_route_shows_the_last_four_digits_only(db: Database) -> None:
    before = last_audit_id(db)
    assert personal_details.bank_account_route(db, ALICE).last4 == "4821"
    one_audit(db, before, "bank_account")


def test_expense_claims(db: Database) -> None:
    claims = expenses.my_expense_claims(db, ALICE).claims
    assert [c.status for c in claims] == [ClaimStatus.SUBMITTED, ClaimStatus.PAID]
    assert claims[1].total == 8_640 + 1_150
    wanted = expenses.my_expense_claims(db, ALICE, claims[1].reference).asked_for
    assert wanted == claims[1]
    daniel = expenses.my_expense_claims(db, DANIEL).claims
    assert (
        expenses.my_expense_claims(db, ALICE, daniel[0].reference).asked_for is None
    )  # not Alice's


def test_finance_documents_of_the_own_cost_centre(db: Database) -> None:
    before = last_audit_id(db)
    po = finance_documents.purchase_order_status(db, ALICE, "po 4500012345")
    assert (po.supplier, po.status, po.total) == (
        "Acme Office Supplies Ltd",
        PurchaseOrderStatus.PARTLY_RECEIPTED,
        1_845_000,
    )
    one_audit(db, before, "purchase_order", subject=None)
    [invoice] = finance_documents.invoice_status(db, ALICE, "inv 20931")
    assert (invoice.supplier, invoice.status) == ("Acme Office Supplies Ltd", InvoiceStatus.PAID)


@pytest.mark.parametrize(
    "call",
    [
        lambda db: finance_documents.purchase_order_status(db, ALICE, "4500067890"),  # MPW's
        lambda db: finance_documents.purchase_order_status(db, ALICE, "4599999999"),  # nobody's
    ],
)
def test_other_cost_centres_documents_look_exactly_like_missing_ones(db: Database, call) -> None:  # type: ignore[no-untyped-def]
    before = last_audit_id(db)
    with pytest.raises(NotFound):
        call(db)
    [event] = audit_since(db, before)
    assert event.outcome is AuditOutcome.REFUSED
    assert event.reason in ("another cost centre", "no such document")


def test_an_invoice_number_two_suppliers_use_shows_only_the_own_cost_centre(db: Database) -> None:
    [daniels] = finance_documents.invoice_status(db, DANIEL, "INV-20931")
    assert daniels.supplier == "Northwind Facilities plc" and daniels.hold_reason


def test_submitting_an_expense_claim_prices_mileage(db: Database) -> None:
    before = last_audit_id(db)
    claim = expenses.submit_expense_claim(
        db,
        BEN,
        [
            ClaimLine(
                ExpenseType.MILEAGE,
                TODAY - dt.timedelta(days=2),
                "site visit to Swindon",
                0,
                Decimal(84),
            )
        ],
        TODAY,
    )
    assert claim.total == 84 * 45 and claim.status is ClaimStatus.SUBMITTED
    assert claim.reference.startswith("EXP-")
    one_audit(db, before, "expense_claim", subject="E1002", action="create")


@pytest.mark.parametrize(
    "line",
    [
        ClaimLine(ExpenseType.TRAVEL, TODAY + dt.timedelta(days=1), "train", 1000),
        ClaimLine(ExpenseType.TRAVEL, TODAY - dt.timedelta(days=200), "train", 1000),
        ClaimLine(ExpenseType.TRAVEL, TODAY, "train", 0),
        ClaimLine(ExpenseType.TRAVEL, TODAY, "train", 600_000),
        ClaimLine(ExpenseType.MILEAGE, TODAY, "drive", 0, Decimal(0)),
        ClaimLine(ExpenseType.TRAVEL, TODAY, " ", 1000),
    ],
)
def test_invalid_claims_are_refused_and_nothing_is_written(db: Database, line: ClaimLine) -> None:
    before = expenses.my_expense_claims(db, widget("fatima.rahman")).claims
    with pytest.raises(InvalidRequest):
        expenses.submit_expense_claim(db, widget("fatima.rahman"), [line], TODAY)
    assert expenses.my_expense_claims(db, widget("fatima.rahman")).claims == before


def test_personal_details_change_is_applied_and_recorded_without_values(db: Database) -> None:
    before = last_audit_id(db)
    changed = personal_details.update_my_details(
        db, widget("fatima.rahman"), "address", "7 Bute Street, Cathays, Cardiff, cf10 5ab"
    )
    assert changed == ["address_line1", "address_line2", "postcode", "town"]
    details = personal_details.my_contact_details(db, widget("fatima.rahman"))
    assert (details.address_line1, details.town, details.postcode) == (
        "7 Bute Street",
        "Cardiff",
        "CF10 5AB",
    )  # type: ignore[union-attr]
    assert [e.action for e in audit_since(db, before)] == ["update", "read"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("address", "somewhere nice"),
        ("address", "LS1 4AB"),
        ("phone", "call me maybe"),
        ("emergency_contact", "Sam"),
        ("preferred_name", "R2D2"),
        ("bank_account", "12345678"),
    ],
)
def test_invalid_detail_changes_are_refused(db: Database, field: str, value: str) -> None:
    with pytest.raises(InvalidRequest):
        personal_details.update_my_details(db, widget("fatima.rahman"), field, value)


def test_an_unknown_principal_reads_nothing_and_is_audited(db: Database) -> None:
    before = last_audit_id(db)
    with pytest.raises(UnknownPrincipal):
        pay.my_payslip(db, widget("alice.hughes", issuer="evil-intranet"), TODAY)
    [event] = audit_since(db, before)
    assert (event.outcome, event.reason, event.subject_employee_id) == (
        AuditOutcome.REFUSED,
        "unknown principal",
        None,
    )


def test_asking_about_yourself_by_number_is_fine(db: Database) -> None:
    assert pay.my_salary(db, ALICE, TODAY, about=["E1001"]).salary is not None
    with pytest.raises(AccessRefused):
        pay.my_salary(db, ALICE, TODAY, about=["E1002"])
