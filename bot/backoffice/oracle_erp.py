"""Oracle Fusion Cloud ERP adapter (finance) over its public REST API.

Resources under `/fscmRestApi/resources/11.13.18.05` (cited in docs/backoffice.md):
`expenseReports` (the employee's claims; a new claim is one `POST` with its `Expense`
lines), `purchaseOrders` (with `lines.schedules.distributions`: the charge account's first
segment is the cost centre), `invoices` (with `invoiceInstallments`, `invoiceHolds` and
`invoiceLines.invoiceDistributions`). Our employee is Fusion's person through the suite's
`workers` resource (the same PersonNumber rule as the HCM adapter). The client reference of
a new claim is kept in the report's descriptive flexfield (`expenseReportDff`), where a
department configures a `helpdeskReference` segment; it is how a claim whose outcome was
unknown is found again.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bot.storage.database import Database

from .errors import RecordRejected
from .http import HttpRefused, JsonApi
from .identities import ExternalPerson, IdentityMap
from .resilience import Guard, guarded_read, guarded_write
from .types import (
    ClaimLine,
    ClaimStatus,
    ClaimView,
    ExpenseType,
    InvoiceStatus,
    InvoiceView,
    PurchaseOrderStatus,
    PurchaseOrderView,
)

BASE = "/fscmRestApi/resources/11.13.18.05"
SYSTEM = "the finance system"
CLAIM_STATUS = {"PEND_MGR_APPROVAL": ClaimStatus.SUBMITTED, "MGR_APPROVED": ClaimStatus.APPROVED,
                "PEND_AUDIT": ClaimStatus.APPROVED, "REQUEST_MORE_INFO": ClaimStatus.QUERIED,
                "REJECTED": ClaimStatus.REJECTED, "PAID": ClaimStatus.PAID}
EXPENSE_TYPES = {ExpenseType.TRAVEL: "TRAVEL", ExpenseType.SUBSISTENCE: "MEALS",
                 ExpenseType.MILEAGE: "MILEAGE", ExpenseType.ACCOMMODATION: "ACCOMMODATIONS",
                 ExpenseType.OTHER: "MISCELLANEOUS"}
PO_STATUS = {"PENDING APPROVAL": PurchaseOrderStatus.AWAITING_APPROVAL,
             "INCOMPLETE": PurchaseOrderStatus.AWAITING_APPROVAL,
             "APPROVED": PurchaseOrderStatus.APPROVED, "OPEN": PurchaseOrderStatus.SENT,
             "PARTIALLY RECEIVED": PurchaseOrderStatus.PARTLY_RECEIPTED,
             "CLOSED FOR RECEIVING": PurchaseOrderStatus.RECEIPTED,
             "CLOSED": PurchaseOrderStatus.CLOSED, "FINALLY CLOSED": PurchaseOrderStatus.CLOSED,
             "CANCELED": PurchaseOrderStatus.CANCELLED}
PAGE = 100


def _pence(amount: Any) -> int:
    return int((Decimal(str(amount or 0)) * 100).to_integral_value())


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value[:10]) if value else None


def _cost_centre(account: str | None) -> str:
    return (account or "").split(".")[0]


class OracleErp:
    def __init__(self, db: Database, api: JsonApi) -> None:
        self.db, self.api = db, api
        self.guard = Guard(SYSTEM)
        self.identities = IdentityMap(db, "oracle_erp", self._lookup)

    def adapter(self, area: str) -> Any:
        if area == "finance":
            return OracleErpFinance(self)
        raise ValueError(f"Oracle ERP does not serve {area}")

    def items(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self.api.get(path, {**params, "limit": PAGE, "offset": offset, "onlyData": "true"})
            found += page.get("items", [])
            if not page.get("hasMore"):
                return found
            offset += PAGE

    def _lookup(self, number: str) -> ExternalPerson | None:
        rows = self.items(  # always inside a guarded call of the adapter
            "/hcmRestApi/resources/11.13.18.05/workers", {"q": f"PersonNumber='{number}'"})
        return ExternalPerson(str(rows[0]["PersonId"]), number) if rows else None


class OracleErpFinance:
    system = SYSTEM

    def __init__(self, erp: OracleErp) -> None:
        self.erp, self.guard = erp, erp.guard

    @staticmethod
    def _claim(report: dict[str, Any]) -> ClaimView:
        status = CLAIM_STATUS.get(report.get("ExpenseStatusCode") or "", ClaimStatus.SUBMITTED)
        decided = _date(report.get("LastStatusDate")) if status is not ClaimStatus.SUBMITTED else None
        return ClaimView(
            reference=str(report.get("ExpenseReportNumber")),
            status=status,
            submitted_on=_date(report.get("ReportSubmitDate")),  # type: ignore[arg-type]
            decided_on=decided,
            paid_on=_date(report.get("LastStatusDate")) if status is ClaimStatus.PAID else None,
            total=_pence(report.get("ExpenseReportTotal")),
            summary=str(report.get("Purpose") or ""),
        )

    def _reports(self, person: ExternalPerson) -> list[dict[str, Any]]:
        return self.erp.items(f"{BASE}/expenseReports", {"q": f"PersonId={person.person_id}"})

    @guarded_read
    def expense_claims(self, employee_id: int) -> list[ClaimView]:
        person = self.erp.identities.person(employee_id)
        if person is None:
            return []
        claims = [self._claim(r) for r in self._reports(person)]
        return sorted(claims, key=lambda c: c.submitted_on, reverse=True)

    def find_expense_claim(self, employee_id: int, client_reference: str) -> ClaimView | None:
        def find() -> ClaimView | None:
            person = self.erp.identities.person(employee_id)
            for report in self._reports(person) if person else []:
                flex = (report.get("expenseReportDff") or [{}])[0]
                if flex.get("helpdeskReference") == client_reference:
                    return self._claim(report)
            return None

        return self.guard.read(("find", client_reference), find, cached=False)

    @guarded_write
    def submit_expense_claim(self, employee_id: int, lines: list[ClaimLine],
                             submitted_on: dt.date, client_reference: str) -> ClaimView:
        person = self.erp.identities.person(employee_id)
        if person is None:
            raise RecordRejected("the finance system has no record of you")
        for report in self._reports(person):  # this client reference was submitted before
            if (report.get("expenseReportDff") or [{}])[0].get("helpdeskReference") == client_reference:
                return self._claim(report)
        body = {
            "PersonId": int(person.person_id) if person.person_id.isdigit() else person.person_id,
            "Purpose": "; ".join(line.description for line in lines[:3])[:240],
            "ReportSubmitDate": submitted_on.isoformat(),
            "expenseReportDff": [{"helpdeskReference": client_reference}],
            "Expense": [{
                "ExpenseTypeCategoryCode": EXPENSE_TYPES[line.expense_type],
                "StartDate": line.incurred_on.isoformat(),
                "Description": line.description,
                "ReimbursableAmount": float(Decimal(line.amount) / 100),
                "ReimbursementCurrencyCode": "GBP",
                **({"TripDistance": float(line.miles), "DistanceUnitCode": "MILE"}
                   if line.miles is not None else {}),
            } for line in lines],
        }
        try:
            created = self.erp.api.send("POST", f"{BASE}/expenseReports", body)
        except HttpRefused as error:
            detail = error.body.get("detail") if isinstance(error.body, dict) else None
            raise RecordRejected(str(detail or f"it answered {error.status}")[:200]) from error
        self.guard.last_good.forget_employee(employee_id)
        return self._claim(created)

    @guarded_read
    def purchase_order(self, number: str) -> PurchaseOrderView | None:
        rows = self.erp.items(f"{BASE}/purchaseOrders", {
            "q": f"OrderNumber='{number}'", "expand": "lines.schedules.distributions"})
        if not rows:
            return None
        order = rows[0]
        schedules = [s for line in order.get("lines") or [] for s in line.get("schedules") or []]
        accounts = [d.get("POChargeAccount") for s in schedules for d in s.get("distributions") or []]
        delivery = min((d for s in schedules if (d := _date(s.get("RequestedDeliveryDate")))),
                       default=None)
        return PurchaseOrderView(
            number=str(order["OrderNumber"]),
            cost_centre_code=_cost_centre(accounts[0] if accounts else None),
            supplier=str(order.get("Supplier") or ""),
            description=str(order.get("Description") or ""),
            status=PO_STATUS.get(order.get("StatusCode") or "", PurchaseOrderStatus.SENT),
            total=_pence(order.get("Ordered")),
            receipted=sum(_pence(s.get("AmountReceived")) for s in schedules),
            raised_on=_date(order.get("CreationDate")),  # type: ignore[arg-type]
            expected_delivery=delivery,
        )

    @guarded_read
    def invoices(self, invoice_number: str) -> list[InvoiceView]:
        rows = self.erp.items(f"{BASE}/invoices", {
            "q": f"InvoiceNumber='{invoice_number}'",
            "expand": "invoiceInstallments,invoiceHolds,invoiceLines.invoiceDistributions"})
        found = []
        for row in rows:
            installment = (row.get("invoiceInstallments") or [{}])[0]
            holds = row.get("invoiceHolds") or []
            accounts = [d.get("DistributionCombination") for line in row.get("invoiceLines") or []
                        for d in line.get("invoiceDistributions") or []]
            if row.get("PaidStatus") == "Paid":
                status = InvoiceStatus.PAID
            elif holds:
                status = InvoiceStatus.ON_HOLD
            elif row.get("ApprovalStatus") == "APPROVED":
                status = InvoiceStatus.APPROVED
            elif row.get("ApprovalStatus") == "REJECTED":
                status = InvoiceStatus.DISPUTED
            else:
                status = InvoiceStatus.RECEIVED
            found.append(InvoiceView(
                invoice_number=str(row["InvoiceNumber"]),
                cost_centre_code=_cost_centre(accounts[0] if accounts else None),
                supplier=str(row.get("Supplier") or ""),
                amount=_pence(row.get("InvoiceAmount")),
                received_on=_date(row.get("InvoiceReceivedDate")),  # type: ignore[arg-type]
                due_on=_date(installment.get("DueDate")),  # type: ignore[arg-type]
                status=status,
                paid_on=_date(installment.get("PaymentDate")),
                hold_reason=holds[0].get("HoldReason") if holds else None,
                purchase_order=row.get("PurchaseOrderNumber"),
            ))
        return sorted(found, key=lambda i: i.supplier)
