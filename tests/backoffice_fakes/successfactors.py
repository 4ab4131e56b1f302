"""A fake SAP SuccessFactors: the OData v2 entities the adapter uses, in SAP's JSON shapes.

OAuth: `POST /oauth/idp` (returns a Base64 "SAML assertion" for client_id + user_id) and
`POST /oauth/token` (saml2-bearer grant with company_id). OData v2 under `/odata/v2`: results
in `{"d": {"results": [...], "__next": ...}}` (server-side paging: at most `PAGE` rows, the
rest behind `__next` with `$skiptoken`), single entities in `{"d": {...}}`, dates as
`/Date(ms)/`, `$filter` with `eq` and `and`. Writes through `POST /odata/v2/upsert`, whose
answer is 200 with a status per record (`OK` or `ERROR` with a message), as SAP's is.
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import re
import secrets
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.backoffice.types import BookingStatus

from .organisation import Organisation
from .server import FakeServer, bearer_required

COMPANY, CLIENT_ID, USER_ID = "SFHELPDESK", "helpdesk-sf-client", "helpdesk_api"
PRIVATE_KEY = "fake-private-key-for-tests"
PAGE = 20
TIME_TYPES = {"annual": "ANNUAL_LEAVE", "flexi": "FLEXI_LEAVE", "privilege": "PRIVILEGE_LEAVE"}
ACCOUNT_TYPES = {"annual": "ANNUAL", "flexi": "FLEXI", "privilege": "PRIVILEGE"}
SICKNESS = "SICKNESS"
STATUS = {BookingStatus.PENDING: "PENDING", BookingStatus.APPROVED: "APPROVED",
          BookingStatus.REJECTED: "REJECTED", BookingStatus.CANCELLED: "CANCELLED"}


def odata_date(day: dt.date | None) -> str | None:
    if day is None:
        return None
    return f"/Date({calendar.timegm(day.timetuple()) * 1000})/"


def from_odata(value: str | None) -> dt.date | None:
    if not value:
        return None
    match = re.match(r"/Date\((-?\d+)", value)
    return dt.datetime.fromtimestamp(int(match.group(1)) / 1000, dt.timezone.utc).date() if match else None


def _filter(request: web.Request) -> dict[str, str]:
    found = {}
    for part in re.split(r"\s+and\s+", request.query.get("$filter") or ""):
        match = re.match(r"(\w+)\s+eq\s+'?([^']*)'?", part.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


def _results(request: web.Request, rows: list[dict[str, Any]]) -> web.Response:
    skip = int(request.query.get("$skiptoken") or 0)
    chunk = rows[skip:skip + PAGE]
    body: dict[str, Any] = {"results": chunk}
    if skip + PAGE < len(rows):
        query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
        query["$skiptoken"] = str(skip + PAGE)
        body["__next"] = str(request.url.with_query(query))
    return web.json_response({"d": body})


class SuccessFactorsFake:
    def __init__(self, organisation: Organisation, today: dt.date) -> None:
        self.today = today
        self.tokens: set[str] = set()
        self.assertions: set[str] = set()
        self.people: dict[str, dict[str, Any]] = {}
        self.schedules: dict[str, dict[str, Any]] = {}
        self.accounts: list[dict[str, Any]] = []
        self.times: dict[str, dict[str, Any]] = {}
        for number, person in organisation.people.items():
            e, c = person.employment, person.contact
            schedule = None
            if person.pattern:
                schedule = "WS-" + "-".join(f"{f.normalize():f}" for f in person.pattern.fractions)
                daily = person.pattern.contracted_hours / max(sum(person.pattern.fractions), 1)
                self.schedules[schedule] = {"externalCode": schedule, "workScheduleDays": {"results": [
                    {"day": i + 1, "workingHours": f"{(f * daily).normalize():f}"}
                    for i, f in enumerate(person.pattern.fractions)]}}
            self.people[number] = {
                "personIdExternal": number,
                "personalInfoNav": {"results": [{"personIdExternal": number, "firstName": e.given_name,
                                                 "lastName": e.family_name,
                                                 "preferredName": c.preferred_name if c else None}]},
                "homeAddressNavDEFLT": {"results": [{"personIdExternal": number, "addressType": "home",
                                                     "address1": c.address_line1, "address2": c.address_line2,
                                                     "city": c.town, "zipCode": c.postcode, "country": "GBR"}]}
                if c else {"results": []},
                "phoneNav": {"results": [{"personIdExternal": number, "phoneType": "home",
                                          "phoneNumber": c.phone, "isPrimary": True}]}
                if c and c.phone else {"results": []},
                "emergencyContactNav": {"results": [{"personIdExternal": number, "name": c.emergency_contact_name,
                                                     "phone": c.emergency_contact_phone, "primaryFlag": "Y"}]}
                if c and c.emergency_contact_name else {"results": []},
                "employmentNav": {"results": [{"personIdExternal": number, "userId": number,
                                               "startDate": odata_date(e.start_date),
                                               "jobInfoNav": {"results": [{
                                                   "userId": number, "payGrade": e.grade,
                                                   "department": e.department_name,
                                                   "costCenter": e.cost_centre_code,
                                                   "location": e.region,
                                                   "standardHours": f"{person.pattern.contracted_hours:f}" if person.pattern else "37",
                                                   "workscheduleCode": schedule}]}}]},
            }
            for x in person.entitlements:
                used = sum((b.days for b in person.bookings if b.leave_type is x.leave_type
                            and b.status in (BookingStatus.PENDING, BookingStatus.APPROVED)
                            and x.year_start <= b.start_date <= x.year_end), Decimal(0))
                self.accounts.append({
                    "externalCode": f"TA-{number}-{x.leave_type.value}-{x.year_start.year}",
                    "userId": number, "accountType": ACCOUNT_TYPES[x.leave_type.value],
                    "bookingStartDate": odata_date(x.year_start),
                    "bookingEndDate": odata_date(x.year_end), "accountClosed": False,
                    "_entitlement": x.days + x.carried_over, "_used": used})
            for b in person.bookings:
                code = f"ET-{number}-{b.reference}"
                self.times[code] = {
                    "externalCode": code, "userId": number, "timeType": TIME_TYPES[b.leave_type.value],
                    "startDate": odata_date(b.start_date), "endDate": odata_date(b.end_date),
                    "quantityInDays": f"{b.days:f}", "deductionQuantity": f"{b.days:f}",
                    "approvalStatus": STATUS[b.status], "undeterminedEndDate": False, "comment": None}
            for s in person.sickness:
                code = f"SK-{number}-{s.reference}"
                self.times[code] = {
                    "externalCode": code, "userId": number, "timeType": SICKNESS,
                    "startDate": odata_date(s.start_date), "endDate": odata_date(s.end_date),
                    "quantityInDays": None, "deductionQuantity": None, "approvalStatus": "APPROVED",
                    "undeterminedEndDate": s.end_date is None, "comment": None}
        self.server = FakeServer(self._app())

    def _app(self) -> web.Application:
        app = web.Application()
        auth = bearer_required(self.tokens)
        app.router.add_post("/oauth/idp", self.idp)
        app.router.add_post("/oauth/token", self.token)
        app.router.add_get("/odata/v2/PerPerson('{number}')", auth(self.get_person))
        app.router.add_get("/odata/v2/PerPerson", auth(self.find_people))
        app.router.add_get("/odata/v2/WorkSchedule('{code}')", auth(self.get_schedule))
        app.router.add_get("/odata/v2/TimeAccount", auth(self.get_accounts))
        app.router.add_get("/odata/v2/TimeAccountBalance", auth(self.get_balances))
        app.router.add_get("/odata/v2/EmployeeTime", auth(self.get_times))
        app.router.add_post("/odata/v2/upsert", auth(self.upsert))
        return app

    async def idp(self, request: web.Request) -> web.Response:
        form = await request.post()
        if (form.get("client_id"), form.get("user_id"), form.get("private_key")) != (
                CLIENT_ID, USER_ID, PRIVATE_KEY):
            return web.Response(status=401, text="invalid client, user or key")
        assertion = base64.b64encode(f"<saml2:Assertion>{secrets.token_hex(8)}</saml2:Assertion>".encode()).decode()
        self.assertions.add(assertion)
        return web.Response(text=assertion)

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if (form.get("company_id") != COMPANY or form.get("client_id") != CLIENT_ID
                or form.get("grant_type") != "urn:ietf:params:oauth:grant-type:saml2-bearer"
                or form.get("assertion") not in self.assertions):
            return web.json_response({"errorMessage": "invalid assertion"}, status=401)
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return web.json_response({"access_token": token, "token_type": "Bearer", "expires_in": 86399})

    async def get_person(self, request: web.Request) -> web.Response:
        person = self.people.get(request.match_info["number"])
        if person is None:
            return web.json_response({"error": {"code": "COE_RESOURCE_NOT_FOUND"}}, status=404)
        return web.json_response({"d": person})

    async def find_people(self, request: web.Request) -> web.Response:
        wanted = _filter(request).get("personIdExternal")
        rows = [{"personIdExternal": n, "employmentNav": p["employmentNav"]}
                for n, p in self.people.items() if wanted in (None, n)]
        return _results(request, rows)

    async def get_schedule(self, request: web.Request) -> web.Response:
        found = self.schedules.get(request.match_info["code"])
        if found is None:
            return web.json_response({"error": {"code": "COE_RESOURCE_NOT_FOUND"}}, status=404)
        return web.json_response({"d": found})

    async def get_accounts(self, request: web.Request) -> web.Response:
        user = _filter(request).get("userId")
        return _results(request, [{k: v for k, v in a.items() if not k.startswith("_")}
                                  for a in self.accounts if a["userId"] == user])

    def _used(self, account: dict[str, Any]) -> Decimal:
        kind = next(k for k, v in ACCOUNT_TYPES.items() if v == account["accountType"])
        start, end = from_odata(account["bookingStartDate"]), from_odata(account["bookingEndDate"])
        return sum((Decimal(t["deductionQuantity"] or 0) for t in self.times.values()
                    if t["userId"] == account["userId"] and t["timeType"] == TIME_TYPES[kind]
                    and t["approvalStatus"] in ("PENDING", "APPROVED")
                    and start <= from_odata(t["startDate"]) <= end), Decimal(0))  # type: ignore[operator]

    async def get_balances(self, request: web.Request) -> web.Response:
        user = _filter(request).get("userId")
        rows = [{"userId": a["userId"], "timeAccount": a["externalCode"],
                 "timeAccountType": a["accountType"], "timeUnit": "DAYS",
                 "balance": f"{a['_entitlement'] - self._used(a):f}",
                 "asOfAccountingPeriodEnd": odata_date(self.today)}
                for a in self.accounts if a["userId"] == user]
        return _results(request, rows)

    async def get_times(self, request: web.Request) -> web.Response:
        wanted = _filter(request)
        rows = [t for t in self.times.values() if all(str(t.get(k)) == v for k, v in wanted.items())]
        rows.sort(key=lambda t: (from_odata(t["startDate"]), t["externalCode"]))
        return _results(request, rows)

    async def upsert(self, request: web.Request) -> web.Response:
        body = await request.json()
        records = body if isinstance(body, list) else [body]
        answers = [self._upsert_one(r) for r in records]
        return web.json_response({"d": answers})

    def _upsert_one(self, record: dict[str, Any]) -> dict[str, Any]:
        uri = (record.get("__metadata") or {}).get("uri", "")
        match = re.match(r"(\w+)\('([^']+)'\)", uri.rsplit("/", 1)[-1])
        if not match:
            return {"key": None, "status": "ERROR", "httpCode": 400, "message": "no entity key",
                    "editStatus": None}
        entity, key = match.groups()
        fields = {k: v for k, v in record.items() if k != "__metadata"}
        if entity == "EmployeeTime":
            return self._upsert_time(key, fields)
        person = self.people.get(fields.get("personIdExternal") or key)
        nav = {"PerAddressDEFLT": "homeAddressNavDEFLT", "PerPhone": "phoneNav",
               "PerPersonal": "personalInfoNav", "PerEmergencyContacts": "emergencyContactNav"}.get(entity)
        if person is None or nav is None:
            return {"key": f"{entity}/{key}", "status": "ERROR", "httpCode": 400,
                    "message": "unknown entity or person", "editStatus": None}
        rows = person[nav]["results"]
        if rows:
            rows[0].update(fields)
        else:
            rows.append(fields)
        return {"key": f"{entity}/{key}", "status": "OK", "httpCode": 200, "message": None,
                "editStatus": "UPSERTED"}

    def _upsert_time(self, code: str, fields: dict[str, Any]) -> dict[str, Any]:
        existing = self.times.get(code)
        if existing is not None:
            if fields.get("approvalStatus") == "CANCELLED" and (
                    existing["approvalStatus"] not in ("PENDING", "APPROVED")
                    or from_odata(existing["startDate"]) <= self.today):  # type: ignore[operator]
                return {"key": f"EmployeeTime/externalCode={code}", "status": "ERROR", "httpCode": 400,
                        "message": "This absence can no longer be cancelled.", "editStatus": None}
            existing.update(fields)
            return {"key": f"EmployeeTime/externalCode={code}", "status": "OK", "httpCode": 200,
                    "message": None, "editStatus": "UPSERTED"}
        start, end = from_odata(fields.get("startDate")), from_odata(fields.get("endDate"))
        if fields.get("timeType") != SICKNESS:
            for t in self.times.values():
                if (t["userId"] == fields.get("userId") and t["timeType"] != SICKNESS
                        and t["approvalStatus"] in ("PENDING", "APPROVED")
                        and from_odata(t["startDate"]) <= (end or start)  # type: ignore[operator]
                        and from_odata(t["endDate"]) >= start):  # type: ignore[operator]
                    return {"key": f"EmployeeTime/externalCode={code}", "status": "ERROR",
                            "httpCode": 400, "message": "Overlapping absence exists.",
                            "editStatus": None}
        self.times[code] = {"externalCode": code, "approvalStatus": "PENDING",
                            "undeterminedEndDate": False, "comment": None, **fields}
        if fields.get("timeType") == SICKNESS:
            self.times[code]["approvalStatus"] = "APPROVED"
        return {"key": f"EmployeeTime/externalCode={code}", "status": "OK", "httpCode": 200,
                "message": None, "editStatus": "INSERTED"}

    def close(self) -> None:
        self.server.close()
