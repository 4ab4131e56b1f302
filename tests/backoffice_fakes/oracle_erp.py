"""A fake Oracle Fusion ERP (finance): expense reports, purchase orders and payables invoices
under `/fscmRestApi/resources/11.13.18.05`, plus the Fusion `workers` look-up the identity
mapping uses, in Oracle's collection shape (`items`, `hasMore`, `limit`, `offset`)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from aiohttp import web

from bot.backoffice.types import ClaimStatus, InvoiceStatus, PurchaseOrderStatus

from .oracle_hcm import _page, _q, client_credentials, person_id
from .organisation import Organisation, pounds
from .server import FakeServer, bearer_required

BASE = "/fscmRestApi/resources/11.13.18.05"
CLIENT_ID, CLIENT_SECRET = "helpdesk-erp-client", "erp-client-secret-for-tests"
CLAIM_STATUS = {ClaimStatus.SUBMITTED: "PEND_MGR_APPROVAL", ClaimStatus.APPROVED: "MGR_APPROVED",
                ClaimStatus.QUERIED: "REQUEST_MORE_INFO", ClaimStatus.REJECTED: "REJECTED",
                ClaimStatus.PAID: "PAID"}
EXPENSE_TYPES = {"travel": "TRAVEL", "subsistence": "MEALS", "mileage": "MILEAGE",
                 "accommodation": "ACCOMMODATIONS", "other": "MISCELLANEOUS"}
PO_STATUS = {PurchaseOrderStatus.AWAITING_APPROVAL: "PENDING APPROVAL",
             PurchaseOrderStatus.APPROVED: "APPROVED", PurchaseOrderStatus.SENT: "OPEN",
             PurchaseOrderStatus.PARTLY_RECEIPTED: "PARTIALLY RECEIVED",
             PurchaseOrderStatus.RECEIPTED: "CLOSED FOR RECEIVING",
             PurchaseOrderStatus.CLOSED: "CLOSED", PurchaseOrderStatus.CANCELLED: "CANCELED"}


class OracleErpFake:
    def __init__(self, organisation: Organisation, today: dt.date) -> None:
        self.today = today
        self.tokens: set[str] = set()
        self.workers = {n: {"PersonId": person_id(n), "PersonNumber": n}
                        for n in organisation.people}
        ids = itertools.count(300000070000001)
        self.reports: dict[int, dict[str, Any]] = {}
        for number, person in organisation.people.items():
            for claim in person.claims:
                rid = next(ids)
                self.reports[rid] = {
                    "ExpenseReportId": rid, "ExpenseReportNumber": claim.reference,
                    "PersonId": person_id(number), "Purpose": claim.summary,
                    "ReportSubmitDate": claim.submitted_on.isoformat(),
                    "ExpenseReportTotal": pounds(claim.total), "ReimbursementCurrencyCode": "GBP",
                    "ExpenseStatusCode": CLAIM_STATUS[claim.status],
                    "LastStatusDate": (claim.paid_on or claim.decided_on or claim.submitted_on).isoformat(),
                    "expenseReportDff": [{"helpdeskReference": None}],
                }
        self.orders = [{
            "POHeaderId": next(ids), "OrderNumber": po.number, "Supplier": po.supplier,
            "Description": po.description, "StatusCode": PO_STATUS[po.status],
            "Ordered": pounds(po.total), "CurrencyCode": "GBP",
            "CreationDate": f"{po.raised_on.isoformat()}T09:00:00+00:00",
            "lines": [{"LineNumber": 1, "schedules": [{
                "RequestedDeliveryDate": po.expected_delivery.isoformat() if po.expected_delivery else None,
                "AmountReceived": pounds(po.receipted),
                "distributions": [{"POChargeAccount": f"{po.cost_centre_code}.5110.000"}]}]}],
        } for po in organisation.purchase_orders]
        self.invoices = [{
            "InvoiceId": next(ids), "InvoiceNumber": i.invoice_number, "Supplier": i.supplier,
            "InvoiceAmount": pounds(i.amount), "InvoiceCurrency": "GBP",
            "InvoiceReceivedDate": i.received_on.isoformat(),
            "PaidStatus": "Paid" if i.status is InvoiceStatus.PAID else "Unpaid",
            "ApprovalStatus": "APPROVED" if i.status in (InvoiceStatus.APPROVED, InvoiceStatus.PAID)
            else ("REJECTED" if i.status is InvoiceStatus.DISPUTED else "REQUIRED"),
            "PurchaseOrderNumber": i.purchase_order,
            "invoiceInstallments": [{"DueDate": i.due_on.isoformat(),
                                     "PaymentDate": i.paid_on.isoformat() if i.paid_on else None}],
            "invoiceHolds": [{"HoldName": "Receipt required", "HoldReason": i.hold_reason}]
            if i.status is InvoiceStatus.ON_HOLD else [],
            "invoiceLines": [{"LineNumber": 1, "invoiceDistributions": [
                {"DistributionCombination": f"{i.cost_centre_code}.5110.000"}]}],
        } for i in organisation.invoices]
        self._ids = ids
        self.server = FakeServer(self._app())

    def _app(self) -> web.Application:
        app = web.Application()
        auth = bearer_required(self.tokens)
        app.router.add_post("/oauth2/v1/token", self.token)
        app.router.add_get("/hcmRestApi/resources/11.13.18.05/workers", auth(self.get_workers))
        app.router.add_get(f"{BASE}/expenseReports", auth(self.get_reports))
        app.router.add_post(f"{BASE}/expenseReports", auth(self.post_report))
        app.router.add_get(f"{BASE}/purchaseOrders", auth(self.get_orders))
        app.router.add_get(f"{BASE}/invoices", auth(self.get_invoices))
        return app

    async def token(self, request: web.Request) -> web.Response:
        return await client_credentials(request, self.tokens, CLIENT_ID, CLIENT_SECRET)

    async def get_workers(self, request: web.Request) -> web.Response:
        wanted = _q(request).get("PersonNumber")
        return _page(request, [w for n, w in self.workers.items() if n == wanted])

    async def get_reports(self, request: web.Request) -> web.Response:
        q = _q(request)
        rows = [r for r in self.reports.values() if str(r["PersonId"]) == q.get("PersonId")]
        rows.sort(key=lambda r: (r["ReportSubmitDate"], r["ExpenseReportId"]), reverse=True)
        return _page(request, rows)

    async def post_report(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("PersonId") or not body.get("Expense"):
            return web.Response(status=400, text="An expense report needs a person and an expense.")
        rid = next(self._ids)
        report = {
            "ExpenseReportId": rid, "ExpenseReportNumber": f"EXP-{rid % 1000000:06d}",
            "PersonId": body["PersonId"], "Purpose": body.get("Purpose"),
            "ReportSubmitDate": body.get("ReportSubmitDate") or self.today.isoformat(),
            "ExpenseReportTotal": round(sum(e["ReimbursableAmount"] for e in body["Expense"]), 2),
            "ReimbursementCurrencyCode": "GBP", "ExpenseStatusCode": "PEND_MGR_APPROVAL",
            "LastStatusDate": self.today.isoformat(),
            "expenseReportDff": body.get("expenseReportDff") or [{"helpdeskReference": None}],
        }
        self.reports[rid] = report
        return web.json_response(report, status=201)

    async def get_orders(self, request: web.Request) -> web.Response:
        wanted = _q(request).get("OrderNumber")
        return _page(request, [o for o in self.orders if o["OrderNumber"] == wanted])

    async def get_invoices(self, request: web.Request) -> web.Response:
        wanted = _q(request).get("InvoiceNumber")
        return _page(request, [i for i in self.invoices if i["InvoiceNumber"] == wanted])

    def close(self) -> None:
        self.server.close()
