"""The identity directory: explicit channel identities, and Slack's confirmed e-mail fallback."""
from __future__ import annotations

from bot.identity import Principal, find_employee
from bot.storage.database import Database
from bot.storage.models import ChannelIdentity, Employee
from sqlalchemy import select

ALICE_EMAIL = "alice.hughes@dds.example.gov.uk"


def resolve(db: Database, principal: Principal) -> str | None:
    with db.unit_of_work() as session:
        employee = find_employee(session, principal)
        return employee.employee_number if employee else None


def slack(user: str, email: str | None) -> Principal:
    return Principal("slack", "T0001", user, email=email)


def test_an_explicit_identity_wins(demo_db: Database) -> None:
    assert resolve(demo_db, Principal("widget", "helpdesk-intranet", "ben.okafor")) == "E1002"


def test_slack_falls_back_to_the_email_slack_confirmed(demo_db: Database) -> None:
    assert resolve(demo_db, slack("U1", ALICE_EMAIL)) == "E1001"
    assert resolve(demo_db, slack("U1", None)) is None


def test_the_email_fallback_is_for_slack_only(demo_db: Database) -> None:
    metadata = {"principal": {"channel": "widget", "tenant": "helpdesk-intranet",
                              "subject": "someone", "email": ALICE_EMAIL}}
    principal = Principal.from_metadata(metadata)
    assert principal is not None and principal.email is None
    assert resolve(demo_db, principal) is None


def test_once_an_employee_has_a_slack_identity_only_that_identity_speaks_for_them(
    demo_db: Database,
) -> None:
    with demo_db.unit_of_work() as session:
        alice = session.scalar(select(Employee.id).where(Employee.employee_number == "E1001"))
        session.add(ChannelIdentity(channel="slack", tenant="T0001", subject="U-ALICE",
                                    employee_id=alice))
    assert resolve(demo_db, slack("U-ALICE", None)) == "E1001"
    assert resolve(demo_db, slack("U-IMPOSTOR", ALICE_EMAIL)) is None


TENANT = "8d3f1a52-6c1e-4b8f-9d2a-0e5c7b4f1a23"
OBJECT_ID = "11111111-aaaa-4bbb-8ccc-000000000001"


def test_an_entra_web_session_is_the_employee_teams_knows(demo_db: Database) -> None:
    """Issue 24: (widget, entra:<tid>, oid) is looked up in the Teams row (msteams, tid, oid)."""
    assert resolve(demo_db, Principal("widget", f"entra:{TENANT}", OBJECT_ID)) is None
    with demo_db.unit_of_work() as session:
        alice = session.scalar(select(Employee.id).where(Employee.employee_number == "E1001"))
        session.add(ChannelIdentity(channel="msteams", tenant=TENANT, subject=OBJECT_ID,
                                    employee_id=alice))
    assert resolve(demo_db, Principal("msteams", TENANT, OBJECT_ID)) == "E1001"
    assert resolve(demo_db, Principal("widget", f"entra:{TENANT}", OBJECT_ID)) == "E1001"
    # Not for another tenant, and a widget identity cannot borrow the Teams row by its subject.
    assert resolve(demo_db, Principal("widget", "entra:0b1c2d3e-4f50-4617-8a9b-c0d1e2f3a4b5",
                                      OBJECT_ID)) is None
    assert resolve(demo_db, Principal("widget", "helpdesk-intranet", OBJECT_ID)) is None
