"""The audit log of personal-data reads: who, whose, what, when, allowed or refused."""
from __future__ import annotations

from sqlalchemy.orm import Session

from .identity import EmployeeRef, Principal
from .storage.models import AuditEvent, AuditOutcome


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
            reason=reason,
        )
    )
