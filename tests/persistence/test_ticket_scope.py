"""Tickets are scoped like handoffs (issue 21): an agent sees and acts on the tickets of the
service lines and departments they work; another team's ticket is refused and audited.
Supervisors and admins oversee every team. SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.handoff import accounts
from bot.identity import Principal
from bot.roles import Role
from bot.storage.database import Database
from bot.storage.models import AuditEvent, AuditOutcome
from bot.tickets import agent as service
from bot.tickets.enums import Priority, ServiceLine, TicketStatus, Visibility
from bot.tickets.errors import TicketNotEligible
from bot.tickets.requester import NewTicket, raise_ticket
from bot.tickets.sla import policy_from_settings

POLICY = policy_from_settings(Settings())
ALICE = Principal("widget", DEMO_WIDGET_ISSUER, "alice.hughes")    # DDS
FATIMA = Principal("widget", DEMO_WIDGET_ISSUER, "fatima.rahman")  # MPW


def raise_one(db: Database, who: Principal, line: ServiceLine) -> str:
    new = NewTicket(line, f"A {line.value} question from the scope test, please.")
    return raise_ticket(db, who, new, POLICY).summary.reference


def agent(username: str, skills: str, departments: str = "",
          roles: frozenset[Role] = frozenset({Role.AGENT})) -> service.AgentRef:
    return accounts.ConsoleAgent(1, username, username, accounts.parse_skills(skills),
                                 frozenset(d for d in departments.split(",") if d),
                                 roles).ticket_agent


def refusals(db: Database) -> list[AuditEvent]:
    with db.unit_of_work() as session:
        return list(session.scalars(select(AuditEvent).where(
            AuditEvent.outcome == AuditOutcome.REFUSED, AuditEvent.record_type == "ticket")))


def test_an_agent_sees_and_works_only_their_teams_tickets(demo_db: Database) -> None:
    hr_dds = raise_one(demo_db, ALICE, ServiceLine.HR)
    pay_dds = raise_one(demo_db, ALICE, ServiceLine.PAYROLL)
    hr_mpw = raise_one(demo_db, FATIMA, ServiceLine.HR)
    sam = agent("sam.hr", "hr", "DDS")
    assert {t.reference for t in service.list_tickets(demo_db, sam)} == {hr_dds}
    assert {t.reference for t in service.ticket_page(demo_db, sam).tickets} == {hr_dds}
    assert service.get_ticket(demo_db, sam, hr_dds).summary.reference == hr_dds
    for other in (pay_dds, hr_mpw):  # another service line; another department
        with pytest.raises(TicketNotEligible):
            service.get_ticket(demo_db, sam, other)
        with pytest.raises(TicketNotEligible):
            service.change_status(demo_db, sam, other, TicketStatus.OPEN, POLICY)
        with pytest.raises(TicketNotEligible):
            service.add_comment(demo_db, sam, other, "internal", Visibility.INTERNAL, POLICY)
        with pytest.raises(TicketNotEligible):
            service.assign(demo_db, sam, other, "sam.hr")
        with pytest.raises(TicketNotEligible):
            service.set_priority(demo_db, sam, other, Priority.URGENT, POLICY)
    refused = refusals(demo_db)
    assert [(a.actor_principal, a.action) for a in refused] == [
        ("console:helpdesk:sam.hr", action) for _ in range(2)
        for action in ("read", "status", "comment", "assign", "priority")]
    assert all(a.reason == "ticket of a team the agent does not work" for a in refused)
    # nothing changed on the refused tickets
    supervisor = agent("sue.super", "", roles=frozenset({Role.SUPERVISOR}))
    for other in (pay_dds, hr_mpw):
        detail = service.get_ticket(demo_db, supervisor, other)
        assert detail.summary.status is TicketStatus.NEW and detail.summary.assignee is None


def test_supervisors_and_admins_see_every_team(demo_db: Database) -> None:
    references = {raise_one(demo_db, ALICE, ServiceLine.HR),
                  raise_one(demo_db, FATIMA, ServiceLine.FINANCE)}
    for roles in ({Role.SUPERVISOR}, {Role.ADMIN}):
        overseer = agent("over.seer", "", roles=frozenset(roles))
        assert references <= {t.reference for t in service.list_tickets(demo_db, overseer)}


def test_an_agent_of_every_department_sees_every_department_of_their_lines(
        demo_db: Database) -> None:
    mine = {raise_one(demo_db, ALICE, ServiceLine.HR), raise_one(demo_db, FATIMA, ServiceLine.HR)}
    raise_one(demo_db, FATIMA, ServiceLine.PAYROLL)
    assert {t.reference for t in service.list_tickets(demo_db, agent("h.r", "hr"))} == mine
