"""Purchase orders and supplier invoices, visible only within the caller's own cost centre.

A document of another cost centre gets exactly the same answer as one that does not exist
(`NotFound`), so the assistant cannot be used to probe other cost centres' spending; the
audit log records which of the two it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.audit import record_access
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditOutcome

from .access import caller_for
from .errors import NotFound
from bot.backoffice.registry import backoffice
from bot.backoffice.types import InvoiceView, PurchaseOrderView


PO_NUMBER = re.compile(r"\b(4\d{9})\b")
INVOICE_NUMBER = re.compile(r"\b(INV)[\s-]?(\d{3,10})\b", re.I)


def find_po_number(text: str | None) -> str | None:
    match = PO_NUMBER.search(re.sub(r"(?<=\d)[\s-](?=\d)", "", text or ""))
    return match.group(1) if match else None


def find_invoice_number(text: str | None) -> str | None:
    match = INVOICE_NUMBER.search(text or "")
    return f"INV-{match.group(2)}" if match else None


def _check(db: Database, principal: Principal, record_type: str, lookup) -> object:  # type: ignore[no-untyped-def]
    me = caller_for(db, principal, record_type)
    office = backoffice(db)
    employment = office.people.employment(me.id)
    own = employment.cost_centre_code if employment else None
    found = lookup(office.finance)
    visible = [d for d in found if own is not None and d.cost_centre_code == own]
    reason = None if visible else ("another cost centre" if found else "no such document")
    with db.unit_of_work() as session:
        record_access(
            session,
            principal=principal,
            actor=me,
            subject_employee_id=None,
            record_type=record_type,
            outcome=AuditOutcome.ALLOWED if visible else AuditOutcome.REFUSED,
            reason=reason,
        )
    if not visible:
        raise NotFound(record_type)
    return visible


def purchase_order_status(db: Database, principal: Principal, number: str) -> PurchaseOrderView:
    normalised = find_po_number(number) or ""
    result = _check(
        db,
        principal,
        "purchase_order",
        lambda office: [po] if normalised and (po := office.purchase_order(normalised)) else [],
    )
    return result[0]  # type: ignore[index]


def invoice_status(
    db: Database, principal: Principal, number: str, supplier_hint: str | None = None
) -> list[InvoiceView]:
    """Invoices with that number in the caller's cost centre (suppliers' numbers can clash)."""
    normalised = find_invoice_number(number) or " ".join(number.split()).upper()
    result: list[InvoiceView] = _check(  # type: ignore[assignment]
        db, principal, "supplier_invoice", lambda office: office.invoices(normalised)
    )
    if supplier_hint:
        narrowed = [i for i in result if supplier_hint.lower() in i.supplier.lower()]
        return narrowed or result
    return result


def mentions(values: Iterable[str | None]) -> list[str]:
    return [v for v in values if v]
