"""What a console account may do: its roles.

Every console page and command names the roles that may use it. The roles are the ones a
department's shared-services centre separates (and that an identity provider's app roles carry,
issue 24):

- `agent`: works the handoff queue and tickets of their skills and departments;
- `supervisor`: what an agent does, plus the service's reports and every team's queue;
- `knowledge_editor`: writes, publishes and retires knowledge-base articles (HR content);
- `data_protection`: subject access exports, rectification and erasure requests;
- `security_auditor`: reads and exports the audit trail;
- `admin`: every role (manages accounts and settings).

Roles are stored as a comma-separated list on the account, like its skills.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    KNOWLEDGE_EDITOR = "knowledge_editor"
    DATA_PROTECTION = "data_protection"
    SECURITY_AUDITOR = "security_auditor"
    ADMIN = "admin"


# A role that brings others with it: a supervisor can do an agent's work; an admin anything.
_IMPLIED: dict[Role, frozenset[Role]] = {
    Role.SUPERVISOR: frozenset({Role.AGENT}),
    Role.ADMIN: frozenset(Role),
}


class UnknownRole(ValueError):
    """A role name that is not one of `Role`."""


def parse_roles(value: str | Iterable[str]) -> frozenset[Role]:
    """Roles from "agent,supervisor" (or an iterable of names); `UnknownRole` for any other name."""
    parts = value.split(",") if isinstance(value, str) else value
    roles = set()
    for part in filter(None, (p.strip().lower() for p in parts)):
        try:
            roles.add(Role(part))
        except ValueError:
            raise UnknownRole(f"unknown role {part!r}") from None
    return frozenset(roles)


def effective_roles(roles: Iterable[Role]) -> frozenset[Role]:
    """The roles held, with those they imply."""
    held = set(roles)
    for role in list(held):
        held |= _IMPLIED.get(role, frozenset())
    return frozenset(held)


def format_roles(roles: Iterable[Role]) -> str:
    return ",".join(sorted(role.value for role in roles))
