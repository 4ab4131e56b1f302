"""The demo's finance documents: suppliers, eight purchase orders a cost centre with their
invoices, drawn from the records demo's generator, and the well-known documents of
`description` (the same invoice number in two cost centres)."""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy.orm import Session

from bot.backoffice.record_tables import CostCentre, PurchaseOrder, Supplier, SupplierInvoice
from bot.backoffice.types import InvoiceStatus, PurchaseOrderStatus

from .description import (
    HOLD_REASON,
    ORDERS_PER_COST_CENTRE,
    PO_ITEMS,
    SUPPLIERS,
    WELL_KNOWN_INVOICES,
    WELL_KNOWN_ORDERS,
)

FIRST_ORDER_NUMBER = 4500010000
FIRST_INVOICE_NUMBER = 20000
RESERVED_INVOICE_NUMBERS = ("INV-20931",)  # the well-known invoices' own
NOT_INVOICED = (PurchaseOrderStatus.AWAITING_APPROVAL, PurchaseOrderStatus.CANCELLED)


def seed_finance(session: Session, rng: random.Random, cost_centres: dict[str, CostCentre],
                 today: dt.date) -> None:
    suppliers = [Supplier(supplier_number=f"S{10001 + i}", name=name)
                 for i, name in enumerate(SUPPLIERS)]
    session.add_all(suppliers)
    session.flush()
    drawn = _drawn_orders(rng, suppliers, cost_centres, today)
    by_name = {supplier.name: supplier for supplier in suppliers}
    known = [PurchaseOrder(
        number=order.number, cost_centre_id=cost_centres[order.cost_centre].id,
        supplier_id=by_name[order.supplier].id, description=order.description,
        status=order.status, total_pence=order.total_pence,
        receipted_pence=order.receipted_pence,
        raised_on=today - dt.timedelta(days=order.raised_days_ago),
        expected_delivery=today + dt.timedelta(days=order.delivery_in_days),
    ) for order in WELL_KNOWN_ORDERS]
    session.add_all(drawn + known)
    session.flush()
    _drawn_invoices(session, rng, drawn, today)
    orders = {order.number: order for order in known}
    for invoice in WELL_KNOWN_INVOICES:
        order = orders[invoice.order]
        session.add(SupplierInvoice(
            supplier_id=order.supplier_id, invoice_number=invoice.number,
            cost_centre_id=order.cost_centre_id, purchase_order_id=order.id,
            amount_pence=invoice.amount_pence,
            received_on=today - dt.timedelta(days=invoice.received_days_ago),
            due_on=today + dt.timedelta(days=invoice.due_in_days), status=invoice.status,
            paid_on=(today - dt.timedelta(days=invoice.paid_days_ago)
                     if invoice.paid_days_ago is not None else None),
            hold_reason=invoice.hold_reason,
        ))


def _drawn_orders(rng: random.Random, suppliers: list[Supplier],
                  cost_centres: dict[str, CostCentre], today: dt.date) -> list[PurchaseOrder]:
    number = FIRST_ORDER_NUMBER
    orders: list[PurchaseOrder] = []
    for cc in cost_centres.values():
        for _ in range(ORDERS_PER_COST_CENTRE):
            number += rng.randint(3, 97)
            raised = today - dt.timedelta(days=rng.randint(5, 300))
            status = rng.choice(list(PurchaseOrderStatus))
            total = rng.randint(20_000, 5_000_000)
            receipted = {
                PurchaseOrderStatus.RECEIPTED: total,
                PurchaseOrderStatus.CLOSED: total,
                PurchaseOrderStatus.PARTLY_RECEIPTED: total // 2,
            }.get(status, 0)
            orders.append(PurchaseOrder(
                number=str(number), cost_centre_id=cc.id, supplier_id=rng.choice(suppliers).id,
                description=rng.choice(PO_ITEMS), status=status, total_pence=total,
                receipted_pence=receipted, raised_on=raised,
                expected_delivery=raised + dt.timedelta(days=rng.randint(7, 60)),
            ))
    return orders


def _drawn_invoices(session: Session, rng: random.Random, orders: list[PurchaseOrder],
                    today: dt.date) -> None:
    """An invoice for most orders that are not awaiting approval or cancelled, once received
    (never one of the reserved numbers)."""
    invoice_no = FIRST_INVOICE_NUMBER
    for order in orders:
        if order.status in NOT_INVOICED:
            continue
        invoice_no += rng.randint(5, 40)
        received = order.raised_on + dt.timedelta(days=rng.randint(5, 40))
        if received > today or f"INV-{invoice_no}" in RESERVED_INVOICE_NUMBERS:
            continue
        status = rng.choice(list(InvoiceStatus))
        paid = status is InvoiceStatus.PAID
        session.add(SupplierInvoice(
            supplier_id=order.supplier_id, invoice_number=f"INV-{invoice_no}",
            cost_centre_id=order.cost_centre_id, purchase_order_id=order.id,
            amount_pence=(order.total_pence if order.receipted_pence == order.total_pence
                          else order.receipted_pence or order.total_pence),
            received_on=received, due_on=received + dt.timedelta(days=30), status=status,
            paid_on=min(today, received + dt.timedelta(days=rng.randint(5, 25))) if paid else None,
            hold_reason=HOLD_REASON if status is InvoiceStatus.ON_HOLD else None,
        ))
