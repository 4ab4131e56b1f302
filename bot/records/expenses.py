"""Expense claims: status of the caller's claims, and submitting a new one.

Mileage is paid at the published rate per business mile (HMRC's approved mileage allowance
for cars: 45p for the first 10,000 miles of the tax year; departments may set their own, see
MILEAGE_RATE_PENCE). Amounts are integer pence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.audit import record_access
from bot.identity import EmployeeRef, Principal
from bot.storage.database import Database
from bot.storage.models import AuditOutcome

from .access import caller_for, read_own
from .errors import InvalidRequest
from bot.backoffice.registry import backoffice
from bot.backoffice.types import ClaimLine, ClaimView, ExpenseType
from bot.backoffice.writes import one_off_key, write_once


MILEAGE_RATE_PENCE = 45
MAX_LINE_PENCE = 500_000  # £5,000: bigger items go through procurement, not expenses
MAX_MILES = Decimal(1000)
CLAIM_WINDOW_DAYS = 90


@dataclass(frozen=True)
class ClaimsAnswer:
    claims: list[ClaimView]
    asked_for: ClaimView | None


def my_expense_claims(
    db: Database, principal: Principal, reference: str | None = None, *, about: Iterable[str] = ()
) -> ClaimsAnswer:
    def read(me: EmployeeRef) -> ClaimsAnswer:
        claims = backoffice(db).finance.expense_claims(me.id)
        wanted = None
        if reference:
            wanted = next((c for c in claims if c.reference == reference.upper()), None)
        return ClaimsAnswer(claims, wanted)

    return read_own(db, principal, "expense_claim", read, about=about)


def mileage_amount(miles: Decimal) -> int:
    return int((miles * MILEAGE_RATE_PENCE).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def check_line(line: ClaimLine, today: dt.date) -> ClaimLine:
    """A valid claim line, with mileage priced at the published rate; InvalidRequest if not."""
    if line.incurred_on > today:
        raise InvalidRequest("the expense date is in the future")
    if line.incurred_on < today - dt.timedelta(days=CLAIM_WINDOW_DAYS):
        raise InvalidRequest(f"expenses must be claimed within {CLAIM_WINDOW_DAYS} days")
    description = " ".join(line.description.split())
    if len(description) < 3:
        raise InvalidRequest("please describe the expense")
    if line.expense_type is ExpenseType.MILEAGE:
        if line.miles is None or not Decimal(0) < line.miles <= MAX_MILES:
            raise InvalidRequest(f"mileage must be between 0 and {MAX_MILES} miles")
        return ClaimLine(
            line.expense_type,
            line.incurred_on,
            description[:200],
            mileage_amount(line.miles),
            line.miles,
        )
    if not 0 < line.amount <= MAX_LINE_PENCE:
        raise InvalidRequest("the amount must be more than £0 and at most £5,000")
    return ClaimLine(line.expense_type, line.incurred_on, description[:200], line.amount, None)


def submit_expense_claim(
    db: Database,
    principal: Principal,
    lines: list[ClaimLine],
    today: dt.date,
    client_reference: str | None = None,
) -> ClaimView:
    """Submit a claim for the caller; the same chat turn twice submits one claim."""
    if not lines:
        raise InvalidRequest("a claim needs at least one item")
    checked = [check_line(line, today) for line in lines]
    me = caller_for(db, principal, "expense_claim")
    client_reference = client_reference or one_off_key()
    finance = backoffice(db).finance

    def follow_up(session, claim: ClaimView, created: bool) -> None:  # type: ignore[no-untyped-def]
        record_access(
            session,
            principal=principal,
            actor=me,
            subject_employee_id=me.id,
            record_type="expense_claim",
            action="create",
            outcome=AuditOutcome.ALLOWED,
            reason=None if created else "replayed: the turn had already submitted it",
        )

    claim, _ = write_once(
        db,
        key=client_reference,
        employee_id=me.id,
        kind="expense_claim",
        system=finance.system,
        find=lambda: finance.find_expense_claim(me.id, client_reference),
        write=lambda: finance.submit_expense_claim(me.id, checked, today, client_reference),
        reference_of=lambda c: c.reference,
        follow_up=follow_up,
    )
    return claim
