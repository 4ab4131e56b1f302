"""The audit trail: every access to personal data, every console view, export and sign-in.

Who (the actor's verified principal, and employee when the actor is one), whose (the subject
employee), what (record type, action, and a target such as a ticket reference), when, allowed
or refused, and why. Events join the caller's unit of work and are appended to the hash chain
when it commits (`bot.storage.audit_chain`), so an event and the change it records commit
together. Read, searched and exported by `bot.privacy.audit_trail`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from .identity import EmployeeRef, Principal
from .storage.models import AuditEvent, AuditOutcome

if TYPE_CHECKING:
    from .storage.database import Database


def record_access(
    session: Session,
    *,
    principal: Principal,
    actor: EmployeeRef | None,
    subject_employee_id: int | None,
    record_type: str,
    outcome: AuditOutcome,
    action: str = "read",
    reason: str | None = None,
    target: str | None = None,
) -> None:
    """Add an audit event to the caller's unit of work (committed with it)."""
    session.add(
        AuditEvent(
            channel=principal.channel,
            actor_principal=str(principal)[:300],
            actor_employee_id=actor.id if actor else None,
            subject_employee_id=subject_employee_id,
            record_type=record_type,
            action=action,
            outcome=outcome,
            reason=reason[:200] if reason else None,
            target=target[:100] if target else None,
        )
    )


def record_refused_call(db: "Database", *, reason: str, action: str, sender_id: str) -> None:
    """Audit an action call the action server refused (no credential, or a principal whose
    proof failed): nothing ran and nothing was read. Committed in its own unit of work."""
    with db.unit_of_work() as session:
        session.add(
            AuditEvent(
                channel="action_server",
                actor_principal=f"action-call:{sender_id[:64] or '-'}",
                actor_employee_id=None,
                subject_employee_id=None,
                record_type="action_call",
                action=(action or "-")[:32],
                outcome=AuditOutcome.REFUSED,
                reason=reason[:200],
            )
        )


def record_signin(db: "Database", principal: Principal, outcome: AuditOutcome,
                  reason: str | None = None, record_type: str = "widget_session") -> None:
    """A sign-in, in its own unit of work (nothing else is written with it)."""
    with db.unit_of_work() as session:
        record_access(session, principal=principal, actor=None, subject_employee_id=None,
                      record_type=record_type, action="sign_in", outcome=outcome, reason=reason)


def record_signout(db: "Database", principal: Principal,
                   record_type: str = "widget_session") -> None:
    """A sign-out, in its own unit of work."""
    with db.unit_of_work() as session:
        record_access(session, principal=principal, actor=None, subject_employee_id=None,
                      record_type=record_type, action="sign_out", outcome=AuditOutcome.ALLOWED)
