"""Personal details: what the caller may see and change themselves, and the bank-account route.

The salary bank account is never changed in chat (a hijacked chat session must not be able to
redirect someone's pay): the assistant explains the secure route and can raise a ticket, and
it shows at most the last four digits of the account on record, which is all this service holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.audit import record_access
from bot.identity import EmployeeRef, Principal
from bot.storage.database import Database
from bot.storage.models import AuditOutcome

from .access import caller_for, read_own
from .errors import InvalidRequest
from bot.backoffice.registry import backoffice
from bot.backoffice.types import ContactDetails
from bot.backoffice.writes import one_off_key


POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})\b", re.I)
PHONE = re.compile(r"^\+?[\d\s()-]{10,16}$")
FIELDS = ("address", "phone", "emergency_contact", "preferred_name")


@dataclass(frozen=True)
class BankAccountRoute:
    last4: str | None  # the only part of the account the assistant ever shows


def bank_account_route(
    db: Database, principal: Principal, *, about: Iterable[str] = ()
) -> BankAccountRoute:
    def read(me: EmployeeRef) -> BankAccountRoute:
        details = backoffice(db).people.contact_details(me.id)
        last4 = details.bank_account_last4 if details else None
        return BankAccountRoute(last4 if last4 and re.fullmatch(r"\d{4}", last4) else None)

    return read_own(db, principal, "bank_account", read, about=about)


def my_contact_details(
    db: Database, principal: Principal, *, about: Iterable[str] = ()
) -> ContactDetails | None:
    return read_own(
        db,
        principal,
        "personal_details",
        lambda me: backoffice(db).people.contact_details(me.id),
        about=about,
    )


def parse_change(field: str, value: str) -> dict[str, str | None]:
    """The columns a change sets, validated; InvalidRequest with a reason a person can act on."""
    text = " ".join((value or "").split())
    if field == "address":
        postcode = POSTCODE.search(text)
        if not postcode:
            raise InvalidRequest("I need the full address including the postcode")
        before = text[: postcode.start()].strip(" ,")
        parts = [p.strip() for p in before.split(",") if p.strip()]
        if len(parts) < 2:
            raise InvalidRequest("please give the street and the town, separated by commas")
        return {
            "address_line1": parts[0][:200],
            "address_line2": ", ".join(parts[1:-1])[:200] or None,
            "town": parts[-1][:100],
            "postcode": f"{postcode.group(1).upper()} {postcode.group(2).upper()}",
        }
    if field == "phone":
        if not PHONE.match(text):
            raise InvalidRequest("that doesn't look like a UK phone number")
        return {"phone": text}
    if field == "emergency_contact":
        match = re.match(r"^(?P<name>[^\d,]{2,100}?)[,\s]+(?P<phone>\+?[\d\s()-]{10,16})$", text)
        if not match:
            raise InvalidRequest(
                "please give the contact's name and phone number, e.g. Sam Jones 07700 900123"
            )
        return {
            "emergency_contact_name": match.group("name").strip(),
            "emergency_contact_phone": match.group("phone").strip(),
        }
    if field == "preferred_name":
        if not 1 < len(text) <= 100 or re.search(r"\d", text):
            raise InvalidRequest("please give the name you'd like us to use")
        return {"preferred_name": text}
    raise InvalidRequest(
        "I can change your address, phone number, emergency contact or preferred name"
    )


def update_my_details(
    db: Database,
    principal: Principal,
    field: str,
    value: str,
    client_reference: str | None = None,
) -> list[str]:
    """Apply a validated change to the caller's own record; returns the fields changed.

    The same chat turn twice changes the record (and logs the change) once."""
    changes = parse_change(field, value)
    me = caller_for(db, principal, "personal_details")
    people = backoffice(db).people
    people.update_contact_details(
        me.id, changes, principal.channel, client_reference or one_off_key()
    )
    with db.unit_of_work() as session:
        record_access(
            session,
            principal=principal,
            actor=me,
            subject_employee_id=me.id,
            record_type="personal_details",
            action="update",
            outcome=AuditOutcome.ALLOWED,
        )
    return sorted(changes)
