"""Finance answers: the caller's expense claims; POs and invoices of their own cost centre."""

from __future__ import annotations

import re

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.backoffice.types import ClaimStatus, InvoiceStatus, PurchaseOrderStatus
from bot.identity import Principal
from bot.records.errors import NotFound
from bot.records.expenses import my_expense_claims
from bot.records.finance_documents import (
    find_invoice_number,
    find_po_number,
    invoice_status,
    purchase_order_status,
)
from bot.records.money import pounds

from . import services
from .base import Events
from .records_common import RecordsAction, date, entity, mentions, text_of

CLAIM_WORDS = {
    ClaimStatus.SUBMITTED: "waiting for your line manager to approve it",
    ClaimStatus.APPROVED: "approved and will be paid with your next salary",
    ClaimStatus.QUERIED: "sent back with a question: check the comments in the expenses system",
    ClaimStatus.REJECTED: "rejected: the reason is in the expenses system",
    ClaimStatus.PAID: "paid",
}
PO_WORDS = {
    PurchaseOrderStatus.AWAITING_APPROVAL: "waiting for budget-holder approval",
    PurchaseOrderStatus.APPROVED: "approved but not yet sent to the supplier",
    PurchaseOrderStatus.SENT: "sent to the supplier; nothing has been receipted yet",
    PurchaseOrderStatus.PARTLY_RECEIPTED: "partly receipted",
    PurchaseOrderStatus.RECEIPTED: "fully receipted",
    PurchaseOrderStatus.CLOSED: "closed",
    PurchaseOrderStatus.CANCELLED: "cancelled",
}
INVOICE_WORDS = {
    InvoiceStatus.RECEIVED: "received and waiting to be matched to its purchase order",
    InvoiceStatus.ON_HOLD: "on hold",
    InvoiceStatus.APPROVED: "approved and in the next payment run",
    InvoiceStatus.PAID: "paid",
    InvoiceStatus.DISPUTED: "disputed with the supplier",
}
EXPENSE_REFERENCE = re.compile(r"\bEXP[\s-]?(\d{1,6})\b", re.I)


class ActionExpenseClaimStatus(RecordsAction):
    record_type = "expense_claim"

    def name(self) -> str:
        return "action_expense_claim_status"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        match = EXPENSE_REFERENCE.search(entity(tracker, "expense_reference") or text_of(tracker))
        reference = f"EXP-{int(match.group(1)):06d}" if match else None
        result = await self.call(
            dispatcher,
            my_expense_claims,
            services.database(),
            principal,
            reference,
            about=mentions(tracker),
        )
        if result is None:
            return []
        if reference and result.asked_for is None:
            dispatcher.utter_message(response="utter_expense_claim_not_found")
            return []
        claims = [result.asked_for] if result.asked_for else result.claims[:3]
        if not claims:
            dispatcher.utter_message(response="utter_no_expense_claims")
            return []
        for claim in claims:
            text = (
                f"{claim.reference} ({claim.summary}, {pounds(claim.total)}), submitted "
                f"{date(claim.submitted_on)}: {CLAIM_WORDS[claim.status]}"
            )
            if claim.status is ClaimStatus.PAID and claim.paid_on:
                text += f" on {date(claim.paid_on)}"
            dispatcher.utter_message(text=text + ".")
        return []


class ActionPurchaseOrderStatus(RecordsAction):
    record_type = "purchase_order"

    def name(self) -> str:
        return "action_purchase_order_status"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        number = find_po_number(entity(tracker, "po_number")) or find_po_number(text_of(tracker))
        if number is None:
            dispatcher.utter_message(response="utter_ask_po_number")
            return []
        try:
            po = await self.call(
                dispatcher, purchase_order_status, services.database(), principal, number
            )
        except NotFound:
            dispatcher.utter_message(response="utter_document_not_found")
            return []
        if po is None:
            return []
        text = (
            f"PO {po.number} to {po.supplier} for {po.description} ({pounds(po.total)}), "
            f"raised {date(po.raised_on)}: {PO_WORDS[po.status]}"
        )
        if po.status is PurchaseOrderStatus.PARTLY_RECEIPTED:
            text += f" ({pounds(po.receipted)} of {pounds(po.total)} received)"
        if po.expected_delivery and po.status in (
            PurchaseOrderStatus.SENT,
            PurchaseOrderStatus.PARTLY_RECEIPTED,
            PurchaseOrderStatus.APPROVED,
        ):
            text += f". Expected delivery: {date(po.expected_delivery)}"
        dispatcher.utter_message(text=text + ".")
        return []


class ActionInvoiceStatus(RecordsAction):
    record_type = "supplier_invoice"

    def name(self) -> str:
        return "action_invoice_status"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        number = find_invoice_number(entity(tracker, "invoice_number")) or find_invoice_number(
            text_of(tracker)
        )
        if number is None:
            dispatcher.utter_message(response="utter_ask_invoice_number")
            return []
        try:
            invoices = await self.call(
                dispatcher,
                invoice_status,
                services.database(),
                principal,
                number,
                entity(tracker, "supplier"),
            )
        except NotFound:
            dispatcher.utter_message(response="utter_document_not_found")
            return []
        if invoices is None:
            return []
        for invoice in invoices:
            text = (
                f"Invoice {invoice.invoice_number} from {invoice.supplier} for "
                f"{pounds(invoice.amount)}, received {date(invoice.received_on)}: "
                f"{INVOICE_WORDS[invoice.status]}"
            )
            if invoice.status is InvoiceStatus.PAID and invoice.paid_on:
                text += f" on {date(invoice.paid_on)}"
            elif invoice.hold_reason:
                text += f" ({invoice.hold_reason})"
            elif invoice.status is not InvoiceStatus.PAID:
                text += f"; due for payment by {date(invoice.due_on)}"
            if invoice.purchase_order:
                text += f". Purchase order {invoice.purchase_order}"
            dispatcher.utter_message(text=text + ".")
        return []
