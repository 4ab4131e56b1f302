"""Oracle HCM Cloud adapter (people and absence) over its public REST API.

Resources (docs/backoffice.md cites Oracle's pages for each): `workers` with children
`names`, `addresses`, `phones`, `contactRelationships` and `workRelationships.assignments`
(+ the assignment's descriptive flexfield, where a department keeps its work pattern, cost
centre and work region); `planBalances` (absence plan balances); `absences` (list, create
with `absenceStatusCd: SUBMITTED`, withdraw with `absenceStatusCd: ORA_WITHDRAWN`). Base path
`/hcmRestApi/resources/11.13.18.05`; OAuth 2.0 client credentials. Collections are paged
with `limit`/`offset` until `hasMore` is false.

Leave approvals happen in Oracle's own approval workflow: `decide` raises DecidedElsewhere.

Payroll: `payslips` (Oracle's Global Payroll REST resource, newest first by `PaymentDate`,
with its `PayslipBalances` child for the earnings and deductions). Oracle's REST API offers
no UK tax code, pay calendar, salary history with pay ranges or pension scheme membership in
the shapes the helpdesk answers from, so those operations (and the payslip's tax code) come
from the documented fallback: the payroll tables of the helpdesk database (`SqlPayroll`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bot.storage.database import Database

from .errors import DecidedElsewhere, RecordRejected
from .http import HttpRefused, JsonApi
from .identities import ExternalPerson, IdentityMap, directory_facts
from .resilience import Guard, guarded_read, guarded_write, in_parallel
from .sql import SqlPayroll
from .types import (
    Booking,
    BookingStatus,
    ContactDetails,
    Employment,
    LeavePosition,
    LeaveType,
    NewBooking,
    Pattern,
    PayslipView,
    PensionView,
    SalaryView,
    Sickness,
    TaxCodeView,
    entitlement_from_balance,
    position_of,
)

BASE = "/hcmRestApi/resources/11.13.18.05"
SYSTEM = "the HR system"
# Absence types and plans as a department configures them (names are per customer).
ABSENCE_TYPES = {LeaveType.ANNUAL: "Annual Leave", LeaveType.FLEXI: "Flexi Leave",
                 LeaveType.PRIVILEGE: "Privilege Leave"}
SICKNESS_TYPE = "Sickness"
WITHDRAWN = "ORA_WITHDRAWN"
STATUS = {"AWAITING": BookingStatus.PENDING, "APPROVED": BookingStatus.APPROVED,
          "DENIED": BookingStatus.REJECTED}
CLIENT_REFERENCE_PREFIX = "helpdesk-ref:"
PAGE = 100


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value[:10]) if value else None


class OracleHcm:
    """Shared by the people and absence adapters: the API, the breaker, the identity map."""

    def __init__(self, db: Database, api: JsonApi, employer: str = "") -> None:
        self.db, self.api, self.employer = db, api, employer
        self.guard = Guard(SYSTEM)
        self.identities = IdentityMap(db, "oracle_hcm", self._lookup)

    def adapter(self, area: str) -> Any:
        if area == "people":
            return OracleHcmPeople(self)
        if area == "absence":
            return OracleHcmAbsence(self)
        if area == "payroll":
            return OracleHcmPayroll(self, SqlPayroll(self.db))
        raise ValueError(f"Oracle HCM does not serve {area}")

    def all_items(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self.api.get(f"{BASE}/{path}",
                                {**params, "limit": PAGE, "offset": offset, "onlyData": "true"})
            items += page.get("items", [])
            if not page.get("hasMore"):
                return items
            offset += PAGE

    def worker(self, number: str) -> dict[str, Any] | None:
        found = self.all_items("workers", {
            "q": f"PersonNumber='{number}'",
            "expand": "names,addresses,phones,contactRelationships,"
                      "workRelationships.assignments.assignmentsDFF",
        })
        return found[0] if found else None

    def _lookup(self, number: str) -> ExternalPerson | None:
        worker = self.worker(number)  # always inside a guarded call of the adapter
        if worker is None:
            return None
        assignment = _assignment(worker)
        return ExternalPerson(str(worker["PersonId"]), str(worker["PersonNumber"]),
                              str(assignment["AssignmentId"]) if assignment else None)


def _assignment(worker: dict[str, Any]) -> dict[str, Any] | None:
    for relationship in worker.get("workRelationships") or []:
        for assignment in relationship.get("assignments") or []:
            return assignment
    return None


def _dff(worker: dict[str, Any]) -> dict[str, Any]:
    assignment = _assignment(worker) or {}
    flex = assignment.get("assignmentsDFF") or [{}]
    return flex[0] if isinstance(flex, list) else flex


class OracleHcmPeople:
    system = SYSTEM

    def __init__(self, hcm: OracleHcm) -> None:
        self.hcm, self.guard = hcm, hcm.guard

    def _worker(self, employee_id: int) -> dict[str, Any] | None:
        person = self.hcm.identities.person(employee_id)
        return self.hcm.worker(person.person_number) if person else None

    @guarded_read
    def employment(self, employee_id: int) -> Employment | None:
        worker = self._worker(employee_id)
        if worker is None:
            return None
        name = (worker.get("names") or [{}])[0]
        assignment = _assignment(worker) or {}
        flex = _dff(worker)
        directory = directory_facts(self.hcm.db, employee_id)
        start = (worker.get("workRelationships") or [{}])[0].get("StartDate")
        return Employment(
            employee_id=employee_id,
            given_name=name.get("FirstName") or "",
            family_name=name.get("LastName") or "",
            department_id=directory.department_id if directory else 0,
            department_name=assignment.get("DepartmentName")
            or (directory.department_name if directory else ""),
            grade=assignment.get("GradeCode") or "",
            line_manager_id=directory.line_manager_id if directory else None,
            cost_centre_code=flex.get("costCentre"),
            region=flex.get("workRegion") or "england-and-wales",
            start_date=_date(start),
        )

    @guarded_read
    def working_pattern(self, employee_id: int, on: dt.date) -> Pattern | None:
        worker = self._worker(employee_id)
        if worker is None:
            return None
        flex = _dff(worker)
        hours = Decimal(str((_assignment(worker) or {}).get("WorkingHours") or 37))
        if not flex.get("workPattern"):
            return None
        return Pattern(tuple(Decimal(x) for x in flex["workPattern"].split(",")), hours)

    @guarded_read
    def contact_details(self, employee_id: int) -> ContactDetails | None:
        worker = self._worker(employee_id)
        if worker is None:
            return None
        address = next((a for a in worker.get("addresses") or [] if a.get("PrimaryFlag")), None)
        phone = next((p for p in worker.get("phones") or [] if p.get("PrimaryFlag")), None)
        emergency = next((c for c in worker.get("contactRelationships") or []
                          if c.get("EmergencyContactFlag")), None)
        if address is None:
            return None
        return ContactDetails(
            preferred_name=(worker.get("names") or [{}])[0].get("KnownAs"),
            address_line1=address.get("AddressLine1") or "",
            address_line2=address.get("AddressLine2"),
            town=address.get("TownOrCity") or "",
            postcode=address.get("PostalCode") or "",
            phone=phone.get("PhoneNumber") if phone else None,
            emergency_contact_name=emergency.get("ContactName") if emergency else None,
            emergency_contact_phone=emergency.get("ContactPhoneNumber") if emergency else None,
            bank_account_last4=None,  # bank details stay in Oracle's payment methods
        )

    @guarded_write
    def update_contact_details(
        self, employee_id: int, changes: dict[str, str | None], channel: str,
        client_reference: str,
    ) -> None:
        """PATCHes of the worker's child rows: setting the same values twice is harmless."""
        worker = self._worker(employee_id)
        if worker is None:
            raise LookupError("no worker record")
        pid = worker["PersonId"]
        patches: list[tuple[str, Any, dict[str, Any]]] = []
        address_fields = {"address_line1": "AddressLine1", "address_line2": "AddressLine2",
                          "town": "TownOrCity", "postcode": "PostalCode"}
        if any(f in changes for f in address_fields):
            address = next((a for a in worker.get("addresses") or [] if a.get("PrimaryFlag")), {})
            patches.append(("addresses", address.get("AddressId"),
                            {v: changes.get(k) for k, v in address_fields.items() if k in changes}))
        if "phone" in changes:
            phone = next((p for p in worker.get("phones") or [] if p.get("PrimaryFlag")), {})
            patches.append(("phones", phone.get("PhoneId"), {"PhoneNumber": changes["phone"]}))
        if "preferred_name" in changes:
            name = (worker.get("names") or [{}])[0]
            patches.append(("names", name.get("PersonNameId"), {"KnownAs": changes["preferred_name"]}))
        if "emergency_contact_name" in changes:
            contact = next((c for c in worker.get("contactRelationships") or []), {})
            patches.append(("contactRelationships", contact.get("ContactRelationshipId"),
                            {"EmergencyContactFlag": True,
                             "ContactName": changes["emergency_contact_name"],
                             "ContactPhoneNumber": changes.get("emergency_contact_phone")}))
        for child, child_id, body in patches:
            self.hcm.api.send("PATCH", f"{BASE}/workers/{pid}/child/{child}/{child_id}", body)
        self.guard.last_good.forget_employee(employee_id)  # no copy may show the old details


class OracleHcmAbsence:
    system = SYSTEM

    def __init__(self, hcm: OracleHcm) -> None:
        self.hcm, self.guard = hcm, hcm.guard

    def _person(self, employee_id: int) -> ExternalPerson | None:
        return self.hcm.identities.person(employee_id)

    def _absences(self, person: ExternalPerson) -> list[dict[str, Any]]:
        return self.hcm.all_items("absences", {"q": f"personId={person.person_id}"})

    @staticmethod
    def _booking(item: dict[str, Any]) -> Booking | None:
        kind = next((k for k, v in ABSENCE_TYPES.items() if v == item.get("absenceType")), None)
        if kind is None:
            return None
        status = (BookingStatus.CANCELLED if item.get("absenceStatusCd") == WITHDRAWN
                  else STATUS.get(item.get("approvalStatusCd") or "", BookingStatus.PENDING))
        return Booking(str(item["personAbsenceEntryId"]), kind, _date(item["startDate"]),  # type: ignore[arg-type]
                       _date(item["endDate"]), Decimal(str(item.get("duration") or 0)), status)  # type: ignore[arg-type]

    def _position(self, person: ExternalPerson) -> LeavePosition:
        balances, absences = in_parallel(
            lambda: self.hcm.all_items("planBalances", {"q": f"personId={person.person_id}"}),
            lambda: self._absences(person),
        )
        bookings = [b for b in (self._booking(a) for a in absences) if b is not None]
        entitlements = []
        for plan in balances:
            kind = next((k for k, v in ABSENCE_TYPES.items() if v == plan.get("planName")), None)
            start, end = _date(plan.get("planPeriodStartDate")), _date(plan.get("planPeriodEndDate"))
            if kind is None or start is None or end is None:
                continue
            balance = Decimal(str(plan.get("balanceAsOfBalanceCalculationDate") or 0))
            entitlements.append(entitlement_from_balance(kind, start, end, balance, bookings))
        return position_of(entitlements, bookings)

    @guarded_read
    def leave_position(self, employee_id: int) -> LeavePosition:
        person = self._person(employee_id)
        return self._position(person) if person else LeavePosition([], [])

    @guarded_read
    def booking(self, employee_id: int, reference: str) -> Booking | None:
        person = self._person(employee_id)
        if person is None or not reference.isdigit():
            return None
        found = self.hcm.all_items("absences", {
            "q": f"personAbsenceEntryId={reference};personId={person.person_id}"})
        return self._booking(found[0]) if found else None

    def find_booking(self, employee_id: int, client_reference: str) -> Booking | None:
        """Oracle's absences have no client-assigned key: the reference is written into
        `comments` and searched for here (reconciling a write whose outcome was unknown)."""
        def find() -> Booking | None:
            person = self._person(employee_id)
            for item in self._absences(person) if person else []:
                if item.get("comments") == CLIENT_REFERENCE_PREFIX + client_reference:
                    return self._booking(item)
            return None

        return self.guard.read(("find", client_reference), find, cached=False)

    @guarded_write
    def book(self, employee_id: int, new: NewBooking,
             guard: Callable[[LeavePosition], None]) -> Booking:
        person = self._person(employee_id)
        if person is None:
            raise RecordRejected("the HR system has no record of you")
        mine = CLIENT_REFERENCE_PREFIX + new.client_reference
        landed = next((a for a in self._absences(person) if a.get("comments") == mine), None)
        if landed is not None:  # this client reference was booked before: the same booking
            return self._booking(landed)  # type: ignore[return-value]
        guard(self._position(person))  # Oracle re-checks balance and overlaps itself too
        try:
            created = self.hcm.api.send("POST", f"{BASE}/absences", {
                "personNumber": person.person_number,
                "employer": self.hcm.employer,
                "absenceType": ABSENCE_TYPES[new.leave_type],
                "startDate": new.start.isoformat(),
                "endDate": new.end.isoformat(),
                "duration": float(new.days),
                "absenceStatusCd": "SUBMITTED",
                "comments": CLIENT_REFERENCE_PREFIX + new.client_reference,
            })
        except HttpRefused as error:
            raise RecordRejected(_message(error)) from error
        self.guard.last_good.forget_employee(employee_id)
        return self._booking(created)  # type: ignore[return-value]

    @guarded_write
    def cancel(self, employee_id: int, reference: str, after: dt.date) -> Booking | None:
        current = self.booking.__wrapped__(self, employee_id, reference)  # type: ignore[attr-defined]
        if (current is None or current.status not in (BookingStatus.PENDING, BookingStatus.APPROVED)
                or current.start_date <= after):
            return None
        try:
            updated = self.hcm.api.send("PATCH", f"{BASE}/absences/{reference}",
                                        {"absenceStatusCd": WITHDRAWN})
        except HttpRefused as error:
            if error.status in (400, 404, 409):
                return None
            raise
        self.guard.last_good.forget_employee(employee_id)
        return self._booking(updated)

    def decide(self, employee_id: int, reference: str, approve: bool,
               decided_by: int) -> Booking | None:
        raise DecidedElsewhere("Oracle HCM's approvals worklist")

    def _sickness(self, item: dict[str, Any]) -> Sickness:
        return Sickness(str(item["personAbsenceEntryId"]), _date(item["startDate"]),  # type: ignore[arg-type]
                        _date(item.get("endDate")))

    @guarded_read
    def open_sickness(self, employee_id: int) -> Sickness | None:
        person = self._person(employee_id)
        if person is None:
            return None
        for item in self._absences(person):
            if (item.get("absenceType") == SICKNESS_TYPE and not item.get("endDate")
                    and item.get("absenceStatusCd") != WITHDRAWN):
                return self._sickness(item)
        return None

    @guarded_read
    def sickness(self, employee_id: int, reference: str) -> Sickness | None:
        person = self._person(employee_id)
        if person is None or not reference.isdigit():
            return None
        found = self.hcm.all_items("absences", {
            "q": f"personAbsenceEntryId={reference};personId={person.person_id}"})
        return self._sickness(found[0]) if found and found[0].get("absenceType") == SICKNESS_TYPE else None

    @guarded_write
    def report_sickness(self, employee_id: int, start: dt.date,
                        client_reference: str) -> tuple[Sickness, bool]:
        person = self._person(employee_id)
        if person is None:
            raise RecordRejected("the HR system has no record of you")
        for item in self._absences(person):
            if item.get("comments") == CLIENT_REFERENCE_PREFIX + client_reference:
                return self._sickness(item), True
            if (item.get("absenceType") == SICKNESS_TYPE and not item.get("endDate")
                    and item.get("absenceStatusCd") != WITHDRAWN):
                return self._sickness(item), False
        try:
            created = self.hcm.api.send("POST", f"{BASE}/absences", {
                "personNumber": person.person_number,
                "employer": self.hcm.employer,
                "absenceType": SICKNESS_TYPE,
                "startDate": start.isoformat(),
                "absenceStatusCd": "SUBMITTED",
                "comments": CLIENT_REFERENCE_PREFIX + client_reference,
            })
        except HttpRefused as error:
            raise RecordRejected(_message(error)) from error
        self.guard.last_good.forget_employee(employee_id)
        return self._sickness(created), True


# The payslip's earnings and deductions (`PayslipBalances`: CategoryName, BalanceName,
# ReportingName, Amount, after Oracle's payslip balance view PAY_PAYSLIP_BALANCE_VL); the
# balance names are the UK legislation's as a department's payroll reports them.
GROSS = "Gross Pay"
DEDUCTIONS = {"PAYE": "tax", "NI Employee": "ni", "Pension Employee": "pension"}
PAYSLIPS_LIMIT = 36


def _pence(amount: Any) -> int:
    return int((Decimal(str(amount or 0)) * 100).to_integral_value())


class OracleHcmPayroll:
    """Payslips from Oracle HCM; pay dates, salary, tax code and pension from the fallback."""

    system = SYSTEM

    def __init__(self, hcm: OracleHcm, fallback: SqlPayroll) -> None:
        self.hcm, self.guard, self.fallback = hcm, hcm.guard, fallback

    def payslips(self, employee_id: int, limit: int = 24) -> list[PayslipView]:
        return self.guard.read(("payslips", (employee_id, limit)),
                               lambda: self._payslips(employee_id, limit))

    def _payslips(self, employee_id: int, limit: int) -> list[PayslipView]:
        person = self.hcm.identities.person(employee_id)
        if person is None:
            return []
        page = self.hcm.api.get(f"{BASE}/payslips", {
            "q": f"PersonId={person.person_id}", "orderBy": "PaymentDate:desc",
            "limit": min(limit, PAYSLIPS_LIMIT), "expand": "PayslipBalances", "onlyData": "true",
        })
        slips = []
        codes: dict[dt.date, str] = {}
        for item in page.get("items", [])[:limit]:
            paid = _date(item.get("PaymentDate"))
            start = _date(item.get("PeriodStartDate"))
            if paid is None or start is None:
                continue
            amounts = {"tax": 0, "ni": 0, "pension": 0, "other": 0}
            gross = 0
            for row in item.get("PayslipBalances") or []:
                name = row.get("BalanceName") or row.get("ReportingName")
                if name == GROSS:
                    gross = _pence(row.get("Amount"))
                elif row.get("CategoryName") == "Deductions":
                    amounts[DEDUCTIONS.get(name, "other")] += _pence(row.get("Amount"))
            if paid not in codes:
                code = self.fallback.tax_code(employee_id, paid)
                codes[paid] = code.code if code else ""
            slips.append(PayslipView(start, paid, codes[paid], gross, amounts["tax"], amounts["ni"],
                                     amounts["pension"], amounts["other"],
                                     _pence(item.get("Amount"))))
        return slips

    def pay_dates(self, employee_id: int, start: dt.date,
                  end: dt.date) -> list[tuple[dt.date, dt.date]]:
        return self.fallback.pay_dates(employee_id, start, end)

    def salary(self, employee_id: int, on: dt.date) -> SalaryView | None:
        return self.fallback.salary(employee_id, on)

    def tax_code(self, employee_id: int, on: dt.date) -> TaxCodeView | None:
        return self.fallback.tax_code(employee_id, on)

    def pension(self, employee_id: int) -> PensionView | None:
        return self.fallback.pension(employee_id)


def _message(error: HttpRefused) -> str:
    """Oracle's validation message (plain text or `detail`), shortened; never a stack."""
    body = error.body
    text = body.get("detail") or body.get("title") if isinstance(body, dict) else None
    return (str(text) if text else f"it answered {error.status}")[:200]

