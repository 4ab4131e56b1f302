"""The application's database role on PostgreSQL: everything it needs, and on the audit trail
only INSERT (and SELECT).

Production runs two roles: the owner, which runs `python -m bot.cli migrate` and owns the
tables (and `helpdesk_prune_audit`), and the application's login role, with which the web app,
the action server and the ticket worker connect (HELPDESK_DATABASE_URL). `python -m bot.cli
db-grants ROLE`, run by the owner after each migration, gives ROLE:

- SELECT, INSERT, UPDATE, DELETE on every table of the schema, except
- `audit_events`: SELECT and INSERT only (no UPDATE, DELETE, TRUNCATE): the application can
  add to the trail and read it, never change or remove a row;
- `audit_prunes`: SELECT only; `alembic_version`: SELECT only;
- USAGE on the schema's sequences; EXECUTE on `helpdesk_prune_audit(cutoff)`, the one way to
  delete audit rows, and only those older than 365 days (the retention schedule's job).
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.storage.database import build_engine

APPEND_ONLY = ("audit_events",)
READ_ONLY = ("audit_prunes", "alembic_version")


class GrantError(RuntimeError):
    pass


def statements(role: str) -> list[str]:
    """The GRANT and REVOKE statements for `role` (quoted as an identifier)."""
    who = '"' + role.replace('"', '""') + '"'
    result = [
        f"GRANT USAGE ON SCHEMA public TO {who}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {who}",
        f"GRANT EXECUTE ON FUNCTION helpdesk_prune_audit(timestamptz) TO {who}",
    ]
    for table in APPEND_ONLY:
        result.append(f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {table} "
                      f"FROM {who}")
    for table in READ_ONLY:
        result.append(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {table} "
                      f"FROM {who}")
    return result


def grant_application_role(database_url: str, role: str) -> None:
    """Apply `statements(role)` as the connecting (owner) role, in one transaction."""
    if make_url(database_url).get_backend_name() != "postgresql":
        raise GrantError("database roles exist on PostgreSQL only; SQLite has none")
    if not role or len(role) > 63:
        raise GrantError("a role name of 1 to 63 characters is needed")
    engine = build_engine(database_url)
    try:
        with engine.begin() as connection:
            exists = connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                                       {"r": role})
            if not exists:
                raise GrantError(f"no role {role!r}: create it first (CREATE ROLE ... LOGIN)")
            for statement in statements(role):
                connection.execute(text(statement))
    finally:
        engine.dispose()
