"""Every read-only records answer, from the caller's own records."""

from __future__ import annotations

import logging

import pytest

from actions import services
from actions.finance import ActionExpenseClaimStatus, ActionInvoiceStatus, ActionPurchaseOrderStatus
from actions.leave import (
    ActionLeaveApprovals,
    ActionLeaveBalance,
    ActionLeaveDecision,
    ActionLeaveRequestStatus,
    ActionPublicHolidays,
    ActionSicknessReport,
)
from actions.pay import (
    ActionAnnualTaxStatement,
    ActionPayDate,
    ActionPayslip,
    ActionPensionQuestion,
    ActionSalaryInfo,
    ActionTaxQuestion,
)
from actions.personal import ActionSalaryBankAccount
from bot.leave.team import pending_approvals
from tests.records_support import widget

from .records_fixtures import (
    records_db,  # noqa: F401
    said,
    tracker,
)

pytestmark = pytest.mark.usefixtures("records_db")


async def test_payslip_latest_and_named_month() -> None:
    [latest] = await said(ActionPayslip(), tracker("show me my payslip", "payslip"))
    assert latest.startswith(
        "Your payslip for October 2026 (paid Friday 30 October 2026): gross pay £3,041.67"
    )
    assert "take-home pay £2,335.73" in latest and "other deductions £15.00" in latest
    [march] = await said(
        ActionPayslip(),
        tracker(
            "what was my take-home pay in March",
            "payslip",
            entities=[{"entity": "month", "value": "March"}],
        ),
    )
    assert march.startswith("Your payslip for March 2026")
    [missing] = await said(ActionPayslip(), tracker("payslip for October 2019", "payslip"))
    assert missing.startswith("I can't find a payslip for October 2019")


async def test_pay_date() -> None:
    [answer] = await said(ActionPayDate(), tracker("when do we get paid", "pay_date"))
    assert answer == (
        "Your next payday is Monday 30 November 2026 (pay for November). "
        "The one after is Thursday 31 December 2026."
    )


async def test_salary_for_full_and_part_time() -> None:
    [alice] = await said(ActionSalaryInfo(), tracker("what's my salary", "salary_info"))
    assert alice.startswith("Your salary is £36,500.00 a year (full-time equivalent), grade HEO")
    assert "£34,000.00 to £38,500.00" in alice
    [ben] = await said(ActionSalaryInfo(), tracker("what's my salary", "salary_info", "ben.okafor"))
    assert "You work 33.3 hours a week, so you are paid £26,820.00 a year pro rata" in ben


async def test_tax_code_explained() -> None:
    answer, hmrc = await said(
        ActionTaxQuestion(), tracker("why has my tax code changed", "tax_question", "ben.okafor")
    )
    assert answer.startswith(
        "Your tax code is 1257L M1, from Thursday 1 October 2026 (HMRC coding notice (P6)). "
        "It changed from 1257L."
    )
    assert "emergency code" in answer
    assert hmrc == "utter_tax_code_hmrc"


async def test_p60() -> None:
    answer, p11d = await said(
        ActionAnnualTaxStatement(), tracker("where's my P60", "annual_tax_statement")
    )
    assert answer.startswith("Your P60 for the 2025-26 tax year is available now")
    assert "pay of £36,500.04" in answer and p11d == "utter_p11d_guidance"


async def test_pension() -> None:
    answer, more = await said(
        ActionPensionQuestion(), tracker("how much do I pay into my pension", "pension_question")
    )
    assert "alpha" in answer and "You pay 5.45% of your pensionable pay" in answer
    assert "took £165.77 for your pension" in answer and more == "utter_pension_more"


async def test_bank_account_route_shows_the_last_four_digits_only() -> None:
    last4, route = await said(
        ActionSalaryBankAccount(), tracker("I've changed banks", "salary_bank_account")
    )
    assert last4 == "Your pay currently goes into the account ending 4821."
    assert route == "utter_bank_account_route"


async def test_leave_balance_by_type_and_public_holidays() -> None:
    answers = await said(
        ActionLeaveBalance(),
        tracker(
            "how much flexi have I got",
            "leave_balance",
            "fatima.rahman",
            entities=[{"entity": "leave_type", "value": "flexi"}],
        ),
    )
    assert answers == [
        "You have 12 days of flexi leave left for the leave year 1 April 2026 to 31 March 2027. "
        "Your entitlement is 12 days: 0 days taken, 0 days booked."
    ]
    holidays, privilege, source = await said(
        ActionPublicHolidays(), tracker("next bank holiday", "public_holidays", "chloe.singh")
    )
    assert holidays.startswith(
        "The next bank holidays in Scotland (where you work) are: "
        "St Andrew’s Day, Monday 30 November 2026; Christmas Day, Friday 25 December 2026"
    )
    assert privilege.startswith("You also have 1 day of privilege leave")
    assert source == "(Bank holiday data as of 2026-11-26.)"
    [alice] = (await said(ActionPublicHolidays(), tracker("next bank holiday", "public_holidays")))[
        :1
    ]
    assert "England and Wales" in alice and "St Andrew" not in alice


async def test_a_manager_sees_a_direct_reports_leave() -> None:
    answers = await said(
        ActionLeaveBalance(),
        tracker(
            "how much leave has Ben got",
            "leave_balance",
            "chloe.singh",
            entities=[{"entity": "person", "value": "Ben"}],
        ),
    )
    assert answers == [
        "Ben Okafor has 15 days of annual leave left (10 days taken, 0 days booked, 0 days awaiting approval)."
    ]


async def test_leave_request_status() -> None:
    answers = await said(
        ActionLeaveRequestStatus(), tracker("has my leave been approved", "leave_request_status")
    )
    assert answers == [
        "Your annual leave Thursday 10 December 2026 to Sunday 13 December 2026 (4 days) is approved.",
        "Your annual leave Sunday 10 January 2027 (1 day) is waiting for your line manager to approve it.",
    ]
    [none] = await said(
        ActionLeaveRequestStatus(),
        tracker("is my leave for 3rd March approved", "leave_request_status"),
    )
    assert none == "utter_no_leave_requests_found"


async def test_expenses_and_finance_documents() -> None:
    mileage, train = await said(
        ActionExpenseClaimStatus(), tracker("has my travel claim been paid", "expense_claim_status")
    )
    assert (
        "mileage to the Harrogate site visit (42 miles), £18.90" in mileage
        and "waiting for your line manager" in mileage
    )
    assert "£97.90" in train and train.endswith("paid on Monday 23 November 2026.")
    [po] = await said(
        ActionPurchaseOrderStatus(),
        tracker(
            "what's happening with PO 4500012345",
            "purchase_order_status",
            entities=[{"entity": "po_number", "value": "4500012345"}],
        ),
    )
    assert (
        po.startswith(
            "PO 4500012345 to Acme Office Supplies Ltd for laptops and docking stations for new starters "
            "(£18,450.00)"
        )
        and "(£9,225.00 of £18,450.00 received)" in po
    )
    [invoice] = await said(
        ActionInvoiceStatus(),
        tracker("has invoice INV-20931 from Acme been paid", "invoice_status"),
    )
    assert invoice == (
        "Invoice INV-20931 from Acme Office Supplies Ltd for £9,225.00, received Thursday 5 November 2026: "
        "paid on Friday 20 November 2026. Purchase order 4500012345."
    )
    assert await said(
        ActionPurchaseOrderStatus(), tracker("where is my purchase order", "purchase_order_status")
    ) == ["utter_ask_po_number"]


async def test_sickness_report_once() -> None:
    first, note = await said(
        ActionSicknessReport(), tracker("I'm off sick today", "sickness_report")
    )
    assert first.startswith(
        "Sorry you're unwell. I've recorded sickness absence from Thursday 26 November 2026"
    )
    assert "Chloe Singh" in first and note == "utter_sickness_fit_note"
    [again] = await said(ActionSicknessReport(), tracker("I'm still sick", "sickness_report"))
    assert again.startswith("You already have a sickness absence open")


async def test_a_manager_approves_from_the_chat() -> None:
    db = services.database()
    listed = await said(
        ActionLeaveApprovals(), tracker("any leave to approve?", "leave_approvals", "chloe.singh")
    )
    assert listed == [
        "Alice Hughes: annual leave, Sunday 10 January 2027 to Sunday 10 January 2027 (1 day)."
    ]
    [pending] = pending_approvals(db, widget("chloe.singh"))
    entities = [
        {"entity": "booking_id", "value": pending.button_reference},
        {"entity": "decision", "value": "approve"},
    ]
    refused = await said(
        ActionLeaveDecision(),
        tracker("/leave_decision", "leave_decision", "daniel.evans", entities),
    )
    assert refused == ["utter_records_not_yours"]
    [done] = await said(
        ActionLeaveDecision(), tracker("/leave_decision", "leave_decision", "chloe.singh", entities)
    )
    assert done.startswith("Done: Alice Hughes's leave from Sunday 10 January 2027")
    assert await said(
        ActionLeaveApprovals(), tracker("any leave to approve?", "leave_approvals", "chloe.singh")
    ) == ["utter_no_leave_to_approve"]


async def test_a_failing_database_logs_no_personal_data(caplog: pytest.LogCaptureFixture) -> None:
    from bot.storage.database import Database as Db

    services.use_database(Db("sqlite:////nonexistent/folder/helpdesk.db"))
    with caplog.at_level(logging.DEBUG):
        answers = await said(
            ActionSalaryInfo(), tracker("what's my salary, my NI is QQ123456C", "salary_info")
        )
    assert answers == ["utter_service_error"]
    assert "QQ123456C" not in caplog.text and "alice" not in caplog.text
