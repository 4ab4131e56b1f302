"""A fake Oracle HCM Cloud: the REST resources the adapter uses, in Oracle's payload shapes.

OAuth: `POST /oauth2/v1/token` (client credentials, HTTP Basic). Resources under
`/hcmRestApi/resources/11.13.18.05`: `workers` (with `names`, `addresses`, `phones`,
`workRelationships.assignments` and the assignment's descriptive flexfield `assignmentsDFF`),
`planBalances`, `absences` (create, withdraw with `absenceStatusCd: ORA_WITHDRAWN`), `payslips`
(Global Payroll: `q=PersonId=…`, `orderBy=PaymentDate:desc`, `expand=PayslipBalances`; the
header's fields as Oracle's "Manage Payslips" example, the balances modelled). Collections
are Oracle's `{"items", "count", "hasMore", "limit", "offset"}` with `limit`/`offset` paging
and the `q` filter (`Attr=value;Attr2=value2`). Validation errors are 400 with Oracle's
plain-text message.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import secrets
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.backoffice.types import BookingStatus

from .organisation import Organisation, pounds
from .server import FakeServer, bearer_required

BASE = "/hcmRestApi/resources/11.13.18.05"
CLIENT_ID, CLIENT_SECRET = "helpdesk-hcm-client", "hcm-client-secret-for-tests"
ABSENCE_TYPES = {"annual": "Annual Leave", "flexi": "Flexi Leave", "privilege": "Privilege Leave"}
SICKNESS_TYPE = "Sickness"
APPROVAL = {
    BookingStatus.PENDING: "AWAITING",
    BookingStatus.APPROVED: "APPROVED",
    BookingStatus.REJECTED: "DENIED",
    BookingStatus.CANCELLED: "APPROVED",
}


def person_id(number: str) -> int:
    return 300000040000000 + int("".join(c for c in number if c.isdigit()))


def _q(request: web.Request) -> dict[str, str]:
    """Oracle's `q` filter in its simple form: `A=1;B='x'` (conjunctions of equalities)."""
    found = {}
    for part in (request.query.get("q") or "").split(";"):
        if "=" in part:
            key, _, value = part.partition("=")
            found[key.strip()] = value.strip().strip("'\"")
    return found


def _page(request: web.Request, items: list[dict[str, Any]]) -> web.Response:
    limit = int(request.query.get("limit") or 25)
    offset = int(request.query.get("offset") or 0)
    chunk = items[offset:offset + limit]
    return web.json_response({
        "items": chunk, "count": len(chunk), "hasMore": offset + limit < len(items),
        "limit": limit, "offset": offset,
        "links": [{"rel": "self", "href": str(request.url)}],
    })


class OracleHcmFake:
    def __init__(self, organisation: Organisation, today: dt.date) -> None:
        self.today = today
        self.tokens: set[str] = set()
        self.workers: dict[int, dict[str, Any]] = {}
        self.absences: dict[int, dict[str, Any]] = {}
        self.entitlements: dict[int, list[dict[str, Any]]] = {}
        self.payslips: dict[int, list[dict[str, Any]]] = {}
        ids = itertools.count(300000090000001)
        for number, person in organisation.people.items():
            pid = person_id(number)
            e, c = person.employment, person.contact
            pattern = ",".join(f"{f.normalize():f}" for f in person.pattern.fractions) if person.pattern else None
            self.workers[pid] = {
                "PersonId": pid,
                "PersonNumber": number,
                "names": [{"PersonNameId": pid + 1, "FirstName": e.given_name,
                           "LastName": e.family_name,
                           "KnownAs": c.preferred_name if c else None}],
                "addresses": [{"AddressId": pid + 2, "AddressType": "HOME", "PrimaryFlag": True,
                               "AddressLine1": c.address_line1, "AddressLine2": c.address_line2,
                               "TownOrCity": c.town, "PostalCode": c.postcode, "Country": "GB"}]
                if c else [],
                "phones": [{"PhoneId": pid + 3, "PhoneType": "HM", "PrimaryFlag": True,
                            "PhoneNumber": c.phone}] if c and c.phone else [],
                "contactRelationships": [{"ContactRelationshipId": pid + 4,
                                          "EmergencyContactFlag": True,
                                          "ContactName": c.emergency_contact_name,
                                          "ContactPhoneNumber": c.emergency_contact_phone}]
                if c and c.emergency_contact_name else [],
                "workRelationships": [{
                    "PeriodOfServiceId": pid + 5,
                    "StartDate": e.start_date.isoformat() if e.start_date else None,
                    "assignments": [{
                        "AssignmentId": pid + 6,
                        "AssignmentNumber": f"E{number}",
                        "GradeCode": e.grade,
                        "DepartmentName": e.department_name,
                        "WorkingHours": float(person.pattern.contracted_hours) if person.pattern else 37.0,
                        "Frequency": "W",
                        "assignmentsDFF": [{"workPattern": pattern,
                                            "costCentre": e.cost_centre_code,
                                            "workRegion": e.region}],
                    }],
                }],
            }
            self.entitlements[pid] = [
                {"planName": ABSENCE_TYPES[x.leave_type.value], "planStart": x.year_start,
                 "planEnd": x.year_end, "days": x.days + x.carried_over}
                for x in person.entitlements
            ]
            for b in person.bookings:
                entry = next(ids)
                self.absences[entry] = {
                    "personAbsenceEntryId": entry, "personId": pid, "personNumber": number,
                    "absenceType": ABSENCE_TYPES[b.leave_type.value],
                    "startDate": b.start_date.isoformat(), "endDate": b.end_date.isoformat(),
                    "duration": float(b.days),
                    "absenceStatusCd": "ORA_WITHDRAWN" if b.status is BookingStatus.CANCELLED else "SUBMITTED",
                    "approvalStatusCd": APPROVAL[b.status], "comments": None,
                }
            for s in person.sickness:
                entry = next(ids)
                self.absences[entry] = {
                    "personAbsenceEntryId": entry, "personId": pid, "personNumber": number,
                    "absenceType": SICKNESS_TYPE, "startDate": s.start_date.isoformat(),
                    "endDate": s.end_date.isoformat() if s.end_date else None, "duration": None,
                    "absenceStatusCd": "SUBMITTED", "approvalStatusCd": "APPROVED",
                    "comments": None,
                }
            self.payslips[pid] = [self._payslip(pid, number, slip, next(ids))
                                  for slip in person.payslips]
        self._ids = ids
        self.server = FakeServer(self._app())

    @staticmethod
    def _payslip(pid: int, number: str, slip: Any, action: int) -> dict[str, Any]:
        """One payslip as Oracle's payslips resource shows it, with its balances child."""
        start = slip.period_start
        end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
        rows = [("Earnings", "Gross Pay", slip.gross), ("Deductions", "PAYE", slip.tax),
                ("Deductions", "NI Employee", slip.ni),
                ("Deductions", "Pension Employee", slip.pension)]
        if slip.other:
            rows.append(("Deductions", "Other Deductions", slip.other))
        return {
            "Amount": pounds(slip.net), "DefaultCurrencyCode": "GBP",
            "PayslipViewDate": slip.pay_date.isoformat(),
            "PeriodStartDate": start.isoformat(), "PeriodEndDate": end.isoformat(),
            "PaymentDate": slip.pay_date.isoformat(), "DocumentsOfRecordId": action + 1,
            "AttachmentEntityName": "HR_DOCUMENTS_OF_RECORD",
            "PayrollRelationshipNumber": number, "PersonId": pid,
            "PayslipBalances": [{"PayrollRelActionId": action, "CategoryName": category,
                                 "BalanceName": name, "ReportingName": name,
                                 "Amount": pounds(amount)}
                                for category, name, amount in rows],
        }

    def _app(self) -> web.Application:
        app = web.Application()
        auth = bearer_required(self.tokens)
        app.router.add_post("/oauth2/v1/token", self.token)
        app.router.add_get(f"{BASE}/workers", auth(self.get_workers))
        app.router.add_patch(f"{BASE}/workers/{{pid}}/child/{{child}}/{{cid}}", auth(self.patch_child))
        app.router.add_get(f"{BASE}/planBalances", auth(self.get_plan_balances))
        app.router.add_get(f"{BASE}/absences", auth(self.get_absences))
        app.router.add_post(f"{BASE}/absences", auth(self.post_absence))
        app.router.add_patch(f"{BASE}/absences/{{entry}}", auth(self.patch_absence))
        app.router.add_get(f"{BASE}/payslips", auth(self.get_payslips))
        return app

    async def token(self, request: web.Request) -> web.Response:
        return await client_credentials(request, self.tokens, CLIENT_ID, CLIENT_SECRET)

    async def get_workers(self, request: web.Request) -> web.Response:
        wanted = _q(request).get("PersonNumber")
        items = [w for w in self.workers.values() if wanted is None or w["PersonNumber"] == wanted]
        return _page(request, items)

    async def patch_child(self, request: web.Request) -> web.Response:
        worker = self.workers.get(int(request.match_info["pid"]))
        child = request.match_info["child"]
        if worker is None or child not in ("names", "addresses", "phones", "contactRelationships"):
            return web.Response(status=404, text="not found")
        rows = [r for r in worker[child] if str(next(iter(r.values()))) == request.match_info["cid"]]
        body = await request.json()
        if not rows:
            row = dict(body)
            worker[child].append(row)
        else:
            rows[0].update(body)
            row = rows[0]
        return web.json_response(row)

    def _year_absences(self, pid: int, plan: dict[str, Any]) -> Decimal:
        total = Decimal(0)
        for a in self.absences.values():
            if (a["personId"] == pid and a["absenceType"] == plan["planName"]
                    and a["absenceStatusCd"] != "ORA_WITHDRAWN" and a["approvalStatusCd"] != "DENIED"
                    and plan["planStart"].isoformat() <= a["startDate"] <= plan["planEnd"].isoformat()):
                total += Decimal(str(a["duration"]))
        return total

    async def get_plan_balances(self, request: web.Request) -> web.Response:
        pid = int(_q(request).get("personId", "0"))
        items = [
            {"personId": pid, "planName": p["planName"],
             "planPeriodStartDate": p["planStart"].isoformat(),
             "planPeriodEndDate": p["planEnd"].isoformat(),
             "balanceCalculationDate": self.today.isoformat(),
             "balanceAsOfBalanceCalculationDate": float(p["days"] - self._year_absences(pid, p)),
             "planUnitOfMeasure": "D"}
            for p in self.entitlements.get(pid, [])
        ]
        return _page(request, items)

    async def get_absences(self, request: web.Request) -> web.Response:
        q = _q(request)
        items = [a for a in self.absences.values()
                 if all(str(a.get(k)) == v for k, v in q.items())]
        items.sort(key=lambda a: (a["startDate"], a["personAbsenceEntryId"]))
        return _page(request, items)

    async def post_absence(self, request: web.Request) -> web.Response:
        body = await request.json()
        worker = next((w for w in self.workers.values()
                       if w["PersonNumber"] == body.get("personNumber")), None)
        if worker is None or not body.get("absenceType") or not body.get("startDate"):
            return web.Response(status=400, text="The person number or absence type isn't valid.")
        start, end = body["startDate"], body.get("endDate")
        for a in self.absences.values():
            if (a["personId"] == worker["PersonId"] and a["absenceStatusCd"] != "ORA_WITHDRAWN"
                    and a["approvalStatusCd"] != "DENIED" and a["absenceType"] != SICKNESS_TYPE
                    and body["absenceType"] != SICKNESS_TYPE
                    and a["startDate"] <= (end or start) and (a["endDate"] or start) >= start):
                return web.Response(status=400, text="You already have an absence on these dates.")
        entry = next(self._ids)
        self.absences[entry] = {
            "personAbsenceEntryId": entry, "personId": worker["PersonId"],
            "personNumber": worker["PersonNumber"], "absenceType": body["absenceType"],
            "startDate": start, "endDate": end, "duration": body.get("duration"),
            "absenceStatusCd": body.get("absenceStatusCd", "SUBMITTED"),
            "approvalStatusCd": "AWAITING" if body["absenceType"] != SICKNESS_TYPE else "APPROVED",
            "comments": body.get("comments"),
        }
        return web.json_response(self.absences[entry], status=201)

    async def patch_absence(self, request: web.Request) -> web.Response:
        entry = self.absences.get(int(request.match_info["entry"]))
        if entry is None:
            return web.Response(status=404, text="not found")
        body = await request.json()
        if body.get("absenceStatusCd") == "ORA_WITHDRAWN":
            if entry["absenceStatusCd"] == "ORA_WITHDRAWN" or entry["startDate"] <= self.today.isoformat():
                return web.Response(status=400, text="This absence can't be withdrawn.")
        entry.update({k: v for k, v in body.items() if k in ("absenceStatusCd", "endDate", "comments")})
        return web.json_response(entry)

    async def get_payslips(self, request: web.Request) -> web.Response:
        pid = int(_q(request).get("PersonId", "0"))
        items = sorted(self.payslips.get(pid, []), key=lambda p: p["PaymentDate"],
                       reverse=request.query.get("orderBy", "").endswith(":desc"))
        if "PayslipBalances" not in (request.query.get("expand") or ""):
            items = [{k: v for k, v in p.items() if k != "PayslipBalances"} for p in items]
        return _page(request, items)

    def close(self) -> None:
        self.server.close()


async def client_credentials(request: web.Request, tokens: set[str], client_id: str,
                             secret: str) -> web.Response:
    """An identity domain's token endpoint: the client by HTTP Basic, the grant checked."""
    form = await request.post()
    if request.headers.get("Authorization") != _basic(client_id, secret):
        return web.json_response({"error": "invalid_client"}, status=401)
    if form.get("grant_type") != "client_credentials":
        return web.json_response({"error": "unsupported_grant_type"}, status=400)
    token = secrets.token_urlsafe(24)
    tokens.add(token)
    return web.json_response({"access_token": token, "token_type": "Bearer", "expires_in": 3600})


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
