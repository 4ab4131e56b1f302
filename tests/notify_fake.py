"""A local GOV.UK Notify for tests, speaking its v2 API over HTTP:

    POST /v2/notifications/email   {email_address, template_id, personalisation, reference}
                                   -> 201 {id, reference, content, uri, template}
    GET  /v2/notifications?template_type=email&reference=...   -> {notifications, links}

Every request must carry `Authorization: Bearer <JWT>`: HS256 with the API key's secret,
`iss` = its service id, `iat` within 30 seconds of now (Notify's rule); otherwise 403 with
Notify's error shape. Unknown templates and malformed addresses get Notify's 400.
`fail_next` makes the next sends answer a given status (500: Notify took nothing; "timeout":
it takes the e-mail but the answer never comes in time).
"""
from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import jwt
from aiohttp import web

SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"helpdesk_test-{SERVICE_ID}-{SECRET}"


def template_id(kind: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"helpdesk-template-{kind}"))


TEMPLATES = {template_id(k): k for k in ("ticket_status", "agent_reply", "leave_decision")}


class FakeNotify:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.refused_auth = 0
        self.fail_next: list[int | str] = []
        self.timeout_seconds = 0.0
        self.url = ""

    def _error(self, status: int, error: str, message: str) -> web.Response:
        return web.json_response({"status_code": status,
                                  "errors": [{"error": error, "message": message}]},
                                 status=status)

    def _authorised(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            return False
        try:
            claims = jwt.decode(token, SECRET, algorithms=["HS256"],
                                options={"require": ["iss", "iat"], "verify_iat": False})
        except jwt.PyJWTError:
            return False
        return claims["iss"] == SERVICE_ID and abs(time.time() - claims["iat"]) <= 30

    async def send_email(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            self.refused_auth += 1
            return self._error(403, "AuthError", "Invalid token: signature, api token not found")
        body = await request.json()
        if self.fail_next:
            failure = self.fail_next.pop(0)
            if failure == "timeout":  # taken, but the answer comes too late
                self.sent.append(body)
                await asyncio.sleep(self.timeout_seconds)
                return web.json_response({}, status=201)
            return self._error(int(failure), "Exception", "Internal server error")
        template = body.get("template_id")
        if template not in TEMPLATES:
            return self._error(400, "BadRequestError", "Template not found")
        address = body.get("email_address")
        if not isinstance(address, str) or "@" not in address:
            return self._error(400, "ValidationError", "email_address Not a valid email address")
        notification_id = str(uuid.uuid4())
        self.sent.append({**body, "id": notification_id})
        return web.json_response({
            "id": notification_id, "reference": body.get("reference"),
            "content": {"subject": "Helpdesk", "body": "…", "from_email": "helpdesk@notify"},
            "uri": f"{self.url}/v2/notifications/{notification_id}",
            "template": {"id": template, "version": 1,
                         "uri": f"{self.url}/v2/template/{template}"},
        }, status=201)

    async def list_notifications(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            self.refused_auth += 1
            return self._error(403, "AuthError", "Invalid token")
        reference = request.query.get("reference")
        found = [{"id": n.get("id") or str(uuid.uuid4()), "reference": n.get("reference"),
                  "type": "email", "status": "delivered"}
                 for n in self.sent if reference is None or n.get("reference") == reference]
        return web.json_response({"notifications": found, "links": {}})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v2/notifications/email", self.send_email)
        app.router.add_get("/v2/notifications", self.list_notifications)
        return app
