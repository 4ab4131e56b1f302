"""SAP SuccessFactors adapter (people and absence) over its OData v2 API.

Entities (docs/backoffice.md cites SAP's documentation): `PerPerson` with `personalInfoNav`
(PerPersonal), `homeAddressNavDEFLT` (PerAddressDEFLT), `phoneNav` (PerPhone),
`emergencyContactNav` and `employmentNav/jobInfoNav` (EmpEmployment / EmpJob: pay grade,
cost centre, location, standard hours, work schedule); `WorkSchedule` (its days' hours give
the work pattern); `TimeAccount` (the leave year of each account), `TimeAccountBalance`,
`EmployeeTime` (absences). Writes go through `POST /odata/v2/upsert`, which answers 200
with a status per record. An absence is created and cancelled (`approvalStatus: CANCELLED`)
by upserting `EmployeeTime` with **our client reference as its `externalCode`**: SAP's own
key, so a repeated upsert updates the same record instead of creating another.

Authentication is SuccessFactors' OAuth 2.0 SAML bearer flow (http.SamlBearer). Approvals run
in SuccessFactors' workflow: `decide` raises DecidedElsewhere.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from bot.storage.database import Database

from .errors import DecidedElsewhere, OutcomeUnknown, RecordRejected
from .http import HttpRefused, JsonApi
from .identities import ExternalPerson, IdentityMap, directory_facts
from .resilience import Guard, guarded_read, guarded_write, in_parallel
from .types import (
    ACTIVE_BOOKINGS,
    Booking,
    BookingStatus,
    ContactDetails,
    Employment,
    LeavePosition,
    LeaveType,
    NewBooking,
    Pattern,
    Sickness,
    entitlement_from_balance,
    position_of,
)

SYSTEM = "the HR system"
ODATA = "/odata/v2"
TIME_TYPES = {LeaveType.ANNUAL: "ANNUAL_LEAVE", LeaveType.FLEXI: "FLEXI_LEAVE",
              LeaveType.PRIVILEGE: "PRIVILEGE_LEAVE"}
ACCOUNT_TYPES = {LeaveType.ANNUAL: "ANNUAL", LeaveType.FLEXI: "FLEXI",
                 LeaveType.PRIVILEGE: "PRIVILEGE"}
SICKNESS = "SICKNESS"
STATUS = {"PENDING": BookingStatus.PENDING, "APPROVED": BookingStatus.APPROVED,
          "REJECTED": BookingStatus.REJECTED, "CANCELLED": BookingStatus.CANCELLED}
PERSON_EXPAND = ("personalInfoNav,homeAddressNavDEFLT,phoneNav,emergencyContactNav,"
                 "employmentNav/jobInfoNav")


def odata_date(day: dt.date) -> str:
    return f"/Date({calendar.timegm(day.timetuple()) * 1000})/"


def from_odata(value: str | None) -> dt.date | None:
    match = re.match(r"/Date\((-?\d+)", value or "")
    if not match:
        return None
    return dt.datetime.fromtimestamp(int(match.group(1)) / 1000, dt.timezone.utc).date()


def _key(value: str) -> str:
    """An OData string key literal: quotes doubled, then URL-encoded."""
    return quote(value.replace("'", "''"), safe="")


def _results(nav: Any) -> list[dict[str, Any]]:
    if isinstance(nav, dict):
        return list(nav.get("results") or [])
    return list(nav or [])


class SuccessFactors:
    def __init__(self, db: Database, api: JsonApi) -> None:
        self.db, self.api = db, api
        self.guard = Guard(SYSTEM)
        self.identities = IdentityMap(db, "successfactors", self._lookup)

    def adapter(self, area: str) -> Any:
        if area == "people":
            return SuccessFactorsPeople(self)
        if area == "absence":
            return SuccessFactorsAbsence(self)
        raise ValueError(f"SuccessFactors does not serve {area}")

    def all_results(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every row of an entity set, following SAP's server-side paging (`__next`)."""
        rows: list[dict[str, Any]] = []
        page = self.api.get(f"{ODATA}/{path}", {**params, "$format": "json"})
        while True:
            body = page.get("d") or {}
            rows += body.get("results") or []
            following = body.get("__next")
            if not following:
                return rows
            page = self.api.get(following)

    def person(self, number: str) -> dict[str, Any] | None:
        found = self.api.get_or_none(f"{ODATA}/PerPerson('{_key(number)}')",
                                     {"$expand": PERSON_EXPAND, "$format": "json"})
        return (found or {}).get("d")

    def upsert(self, entity: str, key: str, fields: dict[str, Any]) -> dict[str, Any]:
        """One record through /upsert; a record-level ERROR is a business refusal."""
        body = {"__metadata": {"uri": f"{entity}('{key}')"}, **fields}
        answer = self.api.send("POST", f"{ODATA}/upsert?$format=json", body)
        results = (answer or {}).get("d") or []
        result = results[0] if results else {}
        if result.get("status") != "OK":
            raise RecordRejected(str(result.get("message") or "the change was refused")[:200])
        return result

    def _lookup(self, number: str) -> ExternalPerson | None:
        rows = self.all_results(  # always inside a guarded call of the adapter
            "PerPerson", {"$filter": f"personIdExternal eq '{number}'", "$expand": "employmentNav"})
        if not rows:
            return None
        employment = _results(rows[0].get("employmentNav"))
        user = employment[0].get("userId") if employment else number
        return ExternalPerson(str(user), str(rows[0]["personIdExternal"]))


class SuccessFactorsPeople:
    system = SYSTEM

    def __init__(self, sf: SuccessFactors) -> None:
        self.sf, self.guard = sf, sf.guard

    def _person(self, employee_id: int) -> dict[str, Any] | None:
        found = self.sf.identities.person(employee_id)
        return self.sf.person(found.person_number) if found else None

    @staticmethod
    def _job(person: dict[str, Any]) -> dict[str, Any]:
        employment = _results(person.get("employmentNav"))
        jobs = _results(employment[0].get("jobInfoNav")) if employment else []
        return jobs[0] if jobs else {}

    @guarded_read
    def employment(self, employee_id: int) -> Employment | None:
        person = self._person(employee_id)
        if person is None:
            return None
        personal = (_results(person.get("personalInfoNav")) or [{}])[0]
        employment = (_results(person.get("employmentNav")) or [{}])[0]
        job = self._job(person)
        directory = directory_facts(self.sf.db, employee_id)
        return Employment(
            employee_id=employee_id,
            given_name=personal.get("firstName") or "",
            family_name=personal.get("lastName") or "",
            department_id=directory.department_id if directory else 0,
            department_name=job.get("department") or (directory.department_name if directory else ""),
            grade=job.get("payGrade") or "",
            line_manager_id=directory.line_manager_id if directory else None,
            cost_centre_code=job.get("costCenter"),
            region=job.get("location") or "england-and-wales",
            start_date=from_odata(employment.get("startDate")),
        )

    @guarded_read
    def working_pattern(self, employee_id: int, on: dt.date) -> Pattern | None:
        person = self._person(employee_id)
        if person is None:
            return None
        job = self._job(person)
        code = job.get("workscheduleCode")
        if not code:
            return None
        schedule = (self.sf.api.get_or_none(
            f"{ODATA}/WorkSchedule('{_key(code)}')",
            {"$expand": "workScheduleDays", "$format": "json"}) or {}).get("d")
        if not schedule:
            return None
        hours = Decimal(str(job.get("standardHours") or 37))
        days = sorted(_results(schedule.get("workScheduleDays")), key=lambda d: int(d["day"]))
        worked = [Decimal(str(d.get("workingHours") or 0)) for d in days]
        full_day = max(worked) if worked and max(worked) > 0 else Decimal(1)
        return Pattern(tuple((h / full_day).quantize(Decimal("0.1")) for h in worked), hours)

    @guarded_read
    def contact_details(self, employee_id: int) -> ContactDetails | None:
        person = self._person(employee_id)
        if person is None:
            return None
        address = (_results(person.get("homeAddressNavDEFLT")) or [None])[0]
        if address is None:
            return None
        personal = (_results(person.get("personalInfoNav")) or [{}])[0]
        phone = next((p for p in _results(person.get("phoneNav")) if p.get("isPrimary")), None)
        emergency = next((c for c in _results(person.get("emergencyContactNav"))
                          if c.get("primaryFlag") == "Y"), None)
        return ContactDetails(
            preferred_name=personal.get("preferredName"),
            address_line1=address.get("address1") or "",
            address_line2=address.get("address2"),
            town=address.get("city") or "",
            postcode=address.get("zipCode") or "",
            phone=phone.get("phoneNumber") if phone else None,
            emergency_contact_name=emergency.get("name") if emergency else None,
            emergency_contact_phone=emergency.get("phone") if emergency else None,
            bank_account_last4=None,  # payment information stays in Employee Central
        )

    @guarded_write
    def update_contact_details(self, employee_id: int, changes: dict[str, str | None],
                               channel: str, client_reference: str) -> None:
        """Upserts set values: the same change twice leaves the same record."""
        found = self.sf.identities.person(employee_id)
        if found is None:
            raise LookupError("no person record")
        number = found.person_number
        address = {"address_line1": "address1", "address_line2": "address2", "town": "city",
                   "postcode": "zipCode"}
        if any(f in changes for f in address):
            self.sf.upsert("PerAddressDEFLT", number, {
                "personIdExternal": number, "addressType": "home",
                **{v: changes.get(k) for k, v in address.items() if k in changes}})
        if "phone" in changes:
            self.sf.upsert("PerPhone", number, {"personIdExternal": number, "phoneType": "home",
                                                "phoneNumber": changes["phone"], "isPrimary": True})
        if "preferred_name" in changes:
            self.sf.upsert("PerPersonal", number, {"personIdExternal": number,
                                                   "preferredName": changes["preferred_name"]})
        if "emergency_contact_name" in changes:
            self.sf.upsert("PerEmergencyContacts", number, {
                "personIdExternal": number, "name": changes["emergency_contact_name"],
                "phone": changes.get("emergency_contact_phone"), "primaryFlag": "Y"})
        self.guard.last_good.forget_employee(employee_id)


class SuccessFactorsAbsence:
    system = SYSTEM

    def __init__(self, sf: SuccessFactors) -> None:
        self.sf, self.guard = sf, sf.guard

    def _user(self, employee_id: int) -> ExternalPerson | None:
        return self.sf.identities.person(employee_id)

    def _times(self, user: ExternalPerson, extra: str = "") -> list[dict[str, Any]]:
        return self.sf.all_results("EmployeeTime", {
            "$filter": f"userId eq '{user.person_id}'{extra}"})

    @staticmethod
    def _booking(row: dict[str, Any]) -> Booking | None:
        kind = next((k for k, v in TIME_TYPES.items() if v == row.get("timeType")), None)
        start, end = from_odata(row.get("startDate")), from_odata(row.get("endDate"))
        if kind is None or start is None or end is None:
            return None
        days = Decimal(str(row.get("deductionQuantity") or row.get("quantityInDays") or 0))
        return Booking(str(row["externalCode"]), kind, start, end, days,
                       STATUS.get(row.get("approvalStatus") or "", BookingStatus.PENDING))

    def _position(self, user: ExternalPerson) -> LeavePosition:
        flt = {"$filter": f"userId eq '{user.person_id}'"}
        accounts, balances, times = in_parallel(
            lambda: self.sf.all_results("TimeAccount", flt),
            lambda: self.sf.all_results("TimeAccountBalance", flt),
            lambda: self._times(user),
        )
        bookings = [b for b in (self._booking(t) for t in times) if b is not None]
        balance_of = {b.get("timeAccount"): Decimal(str(b.get("balance") or 0)) for b in balances}
        entitlements = []
        for account in accounts:
            kind = next((k for k, v in ACCOUNT_TYPES.items() if v == account.get("accountType")), None)
            start, end = from_odata(account.get("bookingStartDate")), from_odata(account.get("bookingEndDate"))
            if kind is None or start is None or end is None or account.get("accountClosed"):
                continue
            balance = balance_of.get(account.get("externalCode"), Decimal(0))
            entitlements.append(entitlement_from_balance(kind, start, end, balance, bookings))
        return position_of(entitlements, bookings)

    @guarded_read
    def leave_position(self, employee_id: int) -> LeavePosition:
        user = self._user(employee_id)
        return self._position(user) if user else LeavePosition([], [])

    def _one(self, user: ExternalPerson, code: str) -> dict[str, Any] | None:
        rows = self._times(user, f" and externalCode eq '{code.replace(chr(39), '')}'")
        return rows[0] if rows else None

    @guarded_read
    def booking(self, employee_id: int, reference: str) -> Booking | None:
        user = self._user(employee_id)
        row = self._one(user, reference) if user else None
        return self._booking(row) if row else None

    def find_booking(self, employee_id: int, client_reference: str) -> Booking | None:
        """Our client reference is the EmployeeTime's externalCode: looked up directly."""
        def find() -> Booking | None:
            user = self._user(employee_id)
            row = self._one(user, client_reference) if user else None
            return self._booking(row) if row else None

        return self.guard.read(("find", client_reference), find, cached=False)

    @guarded_write
    def book(self, employee_id: int, new: NewBooking,
             guard: Callable[[LeavePosition], None]) -> Booking:
        user = self._user(employee_id)
        if user is None:
            raise RecordRejected("the HR system has no record of you")
        existing = self._one(user, new.client_reference)
        if existing is not None:
            return self._booking(existing)  # type: ignore[return-value]
        guard(self._position(user))
        try:
            self.sf.upsert("EmployeeTime", new.client_reference, {
                "externalCode": new.client_reference,
                "userId": user.person_id,
                "timeType": TIME_TYPES[new.leave_type],
                "startDate": odata_date(new.start),
                "endDate": odata_date(new.end),
                "quantityInDays": f"{new.days:f}",
                "deductionQuantity": f"{new.days:f}",
                "approvalStatus": "PENDING",
            })
        except HttpRefused as error:
            raise RecordRejected(f"it answered {error.status}") from error
        self.guard.last_good.forget_employee(employee_id)
        created = self._one(user, new.client_reference)
        if created is None:
            raise OutcomeUnknown(SYSTEM, new.client_reference)
        return self._booking(created)  # type: ignore[return-value]

    @guarded_write
    def cancel(self, employee_id: int, reference: str, after: dt.date) -> Booking | None:
        user = self._user(employee_id)
        row = self._one(user, reference) if user else None
        current = self._booking(row) if row else None
        if current is None or current.status not in ACTIVE_BOOKINGS or current.start_date <= after:
            return None
        try:
            self.sf.upsert("EmployeeTime", reference, {"externalCode": reference,
                                                       "approvalStatus": "CANCELLED"})
        except RecordRejected:
            return None  # no longer cancellable (decided or started meanwhile)
        self.guard.last_good.forget_employee(employee_id)
        updated = self._one(user, reference)  # type: ignore[arg-type]
        return self._booking(updated) if updated else None

    def decide(self, employee_id: int, reference: str, approve: bool,
               decided_by: int) -> Booking | None:
        raise DecidedElsewhere("SuccessFactors' approvals (the To-Do list)")

    @staticmethod
    def _sickness(row: dict[str, Any]) -> Sickness:
        return Sickness(str(row["externalCode"]), from_odata(row.get("startDate")),  # type: ignore[arg-type]
                        None if row.get("undeterminedEndDate") else from_odata(row.get("endDate")))

    @guarded_read
    def open_sickness(self, employee_id: int) -> Sickness | None:
        user = self._user(employee_id)
        if user is None:
            return None
        for row in self._times(user, f" and timeType eq '{SICKNESS}'"):
            if row.get("undeterminedEndDate") and row.get("approvalStatus") != "CANCELLED":
                return self._sickness(row)
        return None

    @guarded_read
    def sickness(self, employee_id: int, reference: str) -> Sickness | None:
        user = self._user(employee_id)
        row = self._one(user, reference) if user else None
        return self._sickness(row) if row and row.get("timeType") == SICKNESS else None

    @guarded_write
    def report_sickness(self, employee_id: int, start: dt.date,
                        client_reference: str) -> tuple[Sickness, bool]:
        user = self._user(employee_id)
        if user is None:
            raise RecordRejected("the HR system has no record of you")
        same = self._one(user, client_reference)
        if same is not None:
            return self._sickness(same), True
        for row in self._times(user, f" and timeType eq '{SICKNESS}'"):
            if row.get("undeterminedEndDate") and row.get("approvalStatus") != "CANCELLED":
                return self._sickness(row), False
        self.sf.upsert("EmployeeTime", client_reference, {
            "externalCode": client_reference, "userId": user.person_id, "timeType": SICKNESS,
            "startDate": odata_date(start), "endDate": odata_date(start),
            "undeterminedEndDate": True,
        })
        self.guard.last_good.forget_employee(employee_id)
        return Sickness(client_reference, start, None), True
