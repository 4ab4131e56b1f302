"""The identity directory: verified channel principals → employees.

A principal arrives from a connector that verified it (a signed widget token, a Bot Framework
JWT, a Slack signature). This module never sees, and never trusts, anything the user typed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from .storage.models import ChannelIdentity, Employee

KNOWN_CHANNELS = frozenset({"widget", "msteams", "slack"})
# Channels whose connector may vouch for an e-mail address (Slack: users.info, confirmed only).
EMAIL_CHANNELS = frozenset({"slack"})


@dataclass(frozen=True)
class Principal:
    """Who the channel vouches for: (channel, tenant, subject)."""

    channel: str
    tenant: str
    subject: str
    # The e-mail the platform itself reported for the subject (Slack only), used when no explicit
    # ChannelIdentity exists. Not part of the identity: equality and str() ignore it.
    email: str | None = field(default=None, compare=False)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> "Principal | None":
        """Read the principal a connector put into message metadata; None if absent or malformed."""
        raw = (metadata or {}).get("principal")
        if not isinstance(raw, Mapping):
            return None
        fields = [raw.get("channel"), raw.get("tenant"), raw.get("subject")]
        if not all(isinstance(value, str) and value for value in fields):
            return None
        if fields[0] not in KNOWN_CHANNELS:
            return None
        email = raw.get("email")
        if fields[0] not in EMAIL_CHANNELS or not (
            isinstance(email, str) and "@" in email and len(email) <= 254
        ):
            email = None
        return cls(*fields, email=email.strip().lower() if email else None)

    def __str__(self) -> str:
        return f"{self.channel}:{self.tenant}:{self.subject}"


@dataclass(frozen=True)
class EmployeeRef:
    """The few facts about the caller that every service needs."""

    id: int
    employee_number: str
    given_name: str
    department_code: str


# A web session that began with Entra ID sign-in (bot/signin/entra.py) names the person by
# their tenant id and object id, as Teams does: widget principals of tenant "entra:<tid>" are
# looked up in the same ChannelIdentity rows as Teams' (msteams, tid, oid), so one person is
# one employee in web chat and in Teams.
ENTRA_TENANT_PREFIX = "entra:"


def entra_widget_tenant(tenant_id: str) -> str:
    """The widget principal's tenant for a user of Entra ID tenant `tenant_id`."""
    return ENTRA_TENANT_PREFIX + tenant_id.lower()


def directory_key(principal: Principal) -> tuple[str, str, str]:
    """The (channel, tenant, subject) of the ChannelIdentity row that speaks for `principal`."""
    if principal.channel == "widget" and principal.tenant.startswith(ENTRA_TENANT_PREFIX):
        return ("msteams", principal.tenant[len(ENTRA_TENANT_PREFIX):], principal.subject)
    return (principal.channel, principal.tenant, principal.subject)


def find_employee(session: Session, principal: Principal) -> EmployeeRef | None:
    """The employee a principal belongs to, or None for an unknown principal."""
    channel, tenant, subject = directory_key(principal)
    row = session.execute(
        select(Employee)
        .join(ChannelIdentity, ChannelIdentity.employee_id == Employee.id)
        .where(
            ChannelIdentity.channel == channel,
            ChannelIdentity.tenant == tenant,
            ChannelIdentity.subject == subject,
        )
    ).scalar_one_or_none()
    if row is None and principal.email and principal.channel in EMAIL_CHANNELS:
        row = _employee_by_platform_email(session, principal)
    if row is None:
        return None
    return EmployeeRef(row.id, row.employee_number, row.given_name, row.department.code)


def _employee_by_platform_email(session: Session, principal: Principal) -> Employee | None:
    """The employee whose e-mail the platform reported, unless they already have an explicit
    identity on that channel (then only that identity speaks for them). Ambiguous: nobody."""
    rows = session.execute(
        select(Employee).where(
            func.lower(Employee.email) == principal.email,
            ~exists().where(
                ChannelIdentity.employee_id == Employee.id,
                ChannelIdentity.channel == principal.channel,
            ),
        ).limit(2)
    ).scalars().all()
    return rows[0] if len(rows) == 1 else None


@dataclass(frozen=True)
class SigninChoice:
    """A demo identity offered on the development sign-in page."""

    subject: str
    display_name: str
    department_name: str


def widget_signin_choices(session: Session, issuer: str) -> list[SigninChoice]:
    """Widget identities of one token issuer, for the development sign-in page only."""
    rows = session.execute(
        select(ChannelIdentity.subject, Employee)
        .join(Employee, ChannelIdentity.employee_id == Employee.id)
        .where(ChannelIdentity.channel == "widget", ChannelIdentity.tenant == issuer)
        .order_by(Employee.family_name, Employee.given_name)
    ).all()
    return [
        SigninChoice(subject, f"{e.given_name} {e.family_name}", e.department.name)
        for subject, e in rows
    ]
