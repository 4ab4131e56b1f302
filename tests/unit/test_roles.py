"""Console roles: parsing, what each implies."""
from __future__ import annotations

import pytest

from bot.handoff.accounts import ConsoleAgent
from bot.roles import Role, UnknownRole, effective_roles, format_roles, parse_roles
from bot.tickets.enums import ServiceLine


def account(*roles: Role) -> ConsoleAgent:
    return ConsoleAgent(1, "someone", "Someone", frozenset({ServiceLine.HR}), frozenset(),
                        frozenset(roles))


def test_roles_parse_from_the_stored_list_and_back() -> None:
    roles = parse_roles(" Supervisor, knowledge_editor,,")
    assert roles == {Role.SUPERVISOR, Role.KNOWLEDGE_EDITOR}
    assert format_roles(roles) == "knowledge_editor,supervisor"
    assert parse_roles(["agent"]) == {Role.AGENT}


def test_an_unknown_role_is_refused_by_name() -> None:
    with pytest.raises(UnknownRole, match="'root'"):
        parse_roles("agent,root")


def test_a_supervisor_can_do_an_agents_work_but_not_edit_knowledge() -> None:
    supervisor = account(Role.SUPERVISOR)
    assert supervisor.can(Role.AGENT) and supervisor.can(Role.SUPERVISOR)
    assert not supervisor.can(Role.KNOWLEDGE_EDITOR)
    assert not supervisor.can(Role.DATA_PROTECTION, Role.SECURITY_AUDITOR)


def test_an_agent_is_not_a_supervisor_and_an_editor_is_not_an_agent() -> None:
    assert not account(Role.AGENT).can(Role.SUPERVISOR)
    assert not account(Role.KNOWLEDGE_EDITOR).can(Role.AGENT)


def test_an_administrator_holds_every_role() -> None:
    assert effective_roles({Role.ADMIN}) == frozenset(Role)
    assert all(account(Role.ADMIN).can(role) for role in Role)


def test_accounts_made_before_roles_existed_are_agents() -> None:
    assert ConsoleAgent(1, "old", "Old", frozenset({ServiceLine.HR}), frozenset()).roles == {
        Role.AGENT}
