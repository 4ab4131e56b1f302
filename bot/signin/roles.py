"""Entra ID app roles → console roles (`bot.roles`).

The app registration defines app roles (Entra ID → App registrations → App roles) and assigns
them to people or groups (Enterprise applications → Users and groups); the ID token carries
the assigned values in `roles`. By default:

    Helpdesk.Agent            agent
    Helpdesk.Supervisor       supervisor
    Helpdesk.KnowledgeEditor  knowledge_editor
    Helpdesk.DataProtection   data_protection
    Helpdesk.SecurityAuditor  security_auditor
    Helpdesk.Admin            admin

`ENTRA_ROLE_MAP` ("Value=role,Value=role") replaces or adds entries. A value that maps to no
role is ignored; a token with none of them grants nothing (the console says so).
"""
from __future__ import annotations

from collections.abc import Iterable

from bot.roles import Role, UnknownRole

DEFAULT_MAP: dict[str, Role] = {
    "Helpdesk.Agent": Role.AGENT,
    "Helpdesk.Supervisor": Role.SUPERVISOR,
    "Helpdesk.KnowledgeEditor": Role.KNOWLEDGE_EDITOR,
    "Helpdesk.DataProtection": Role.DATA_PROTECTION,
    "Helpdesk.SecurityAuditor": Role.SECURITY_AUDITOR,
    "Helpdesk.Admin": Role.ADMIN,
}


def role_map(setting: str = "") -> dict[str, Role]:
    """The defaults with `setting`'s entries over them; `UnknownRole` for a bad entry."""
    mapping = dict(DEFAULT_MAP)
    for entry in filter(None, (part.strip() for part in (setting or "").split(","))):
        value, _, role = entry.partition("=")
        if not value.strip() or not role.strip():
            raise UnknownRole(f"ENTRA_ROLE_MAP entry {entry!r} is not Value=role")
        try:
            mapping[value.strip()] = Role(role.strip().lower())
        except ValueError:
            raise UnknownRole(f"ENTRA_ROLE_MAP: unknown role {role.strip()!r}") from None
    return mapping


def granted_roles(app_roles: Iterable[str], mapping: dict[str, Role]) -> frozenset[Role]:
    """The console roles the token's app role values grant."""
    return frozenset(mapping[value] for value in app_roles if value in mapping)
