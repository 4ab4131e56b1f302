"""The audit trail's hash chain, on SQLite and PostgreSQL: appends in order, concurrent writers
keep it whole, and verification finds an edited, a deleted and an inserted row."""
from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, delete, func, select, text, update
from sqlalchemy.exc import ProgrammingError

from bot.audit import record_access
from bot.identity import Principal
from bot.privacy import audit_trail, db_roles
from bot.storage import audit_chain
from bot.storage.database import Database
from bot.storage.models import AuditChainHead, AuditEvent, AuditOutcome
from tests.databases import demo_database
from tests.persistence.conftest import TODAY

AGENT = Principal("console", "helpdesk", "sam.patel")


def _write(db: Database, count: int = 1, subject: int | None = 1, target: str | None = None):
    with db.unit_of_work() as session:
        for _ in range(count):
            record_access(session, principal=AGENT, actor=None, subject_employee_id=subject,
                          record_type="ticket", outcome=AuditOutcome.ALLOWED, target=target)


def _verify(db: Database) -> audit_chain.Verification:
    return audit_trail.verify(db)


def test_appends_are_chained_in_order(demo_db: Database) -> None:
    _write(demo_db, 3)
    _write(demo_db, 2, target="HR-000001")
    with demo_db.unit_of_work() as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        head = session.get(AuditChainHead, audit_chain.HEAD_ID)
    assert [r.seq for r in rows] == list(range(1, 6))
    assert rows[0].prev_hash == audit_chain.GENESIS
    assert all(b.prev_hash == a.row_hash for a, b in zip(rows, rows[1:]))
    assert (head.seq, head.last_hash) == (5, rows[-1].row_hash)
    result = _verify(demo_db)
    assert result.ok and result.rows == 5


def test_an_event_commits_with_its_change_or_not_at_all(demo_db: Database) -> None:
    with pytest.raises(RuntimeError):
        with demo_db.unit_of_work() as session:
            record_access(session, principal=AGENT, actor=None, subject_employee_id=1,
                          record_type="ticket", outcome=AuditOutcome.ALLOWED)
            raise RuntimeError("the change failed")
    _write(demo_db)
    with demo_db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1
    assert _verify(demo_db).ok


def test_verification_finds_an_edited_row(demo_db: Database) -> None:
    _write(demo_db, 5)
    with demo_db.engine.begin() as connection:
        connection.execute(update(AuditEvent).where(AuditEvent.seq == 3)
                           .values(actor_principal="console:helpdesk:someone.else"))
    result = _verify(demo_db)
    assert not result.ok
    assert any("row 3 was changed" in p for p in result.problems)


def test_verification_finds_a_deleted_row(demo_db: Database) -> None:
    _write(demo_db, 5)
    with demo_db.engine.begin() as connection:
        connection.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    result = _verify(demo_db)
    assert any("rows 2 are missing" in p for p in result.problems)
    assert any("row 3 does not follow" in p for p in result.problems)


def test_verification_finds_the_newest_rows_deleted(demo_db: Database) -> None:
    _write(demo_db, 5)
    with demo_db.engine.begin() as connection:
        connection.execute(delete(AuditEvent).where(AuditEvent.seq >= 4))
    assert any("newest rows were deleted" in p for p in _verify(demo_db).problems)


def test_verification_finds_an_inserted_row(demo_db: Database) -> None:
    """A forger who knows the algorithm chains a row on the end, but cannot hide it from the
    head; one who slips a row in the middle breaks the links."""
    _write(demo_db, 3)
    with demo_db.unit_of_work() as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        values = {c: getattr(last, c) for c in audit_chain.HASHED_COLUMNS}
        values.update(seq=4, actor_principal="console:helpdesk:forger")
    forged = dict(values, prev_hash=last.row_hash,
                  row_hash=audit_chain.row_hash(values, last.row_hash))
    with demo_db.engine.begin() as connection:
        connection.execute(AuditEvent.__table__.insert().values(**forged))
    result = _verify(demo_db)
    assert any("inserted behind the chain's back" in p for p in result.problems)


def test_verification_finds_a_row_replaced_in_the_middle(demo_db: Database) -> None:
    _write(demo_db, 4)
    with demo_db.engine.begin() as connection:
        old = connection.execute(select(AuditEvent.__table__)
                                 .where(AuditEvent.seq == 2)).mappings().one()
        connection.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
        forged = dict(old)
        forged.pop("id")
        forged["reason"] = "nothing to see"
        forged["row_hash"] = audit_chain.row_hash(forged, "f" * 64)
        forged["prev_hash"] = "f" * 64
        connection.execute(AuditEvent.__table__.insert().values(**forged))
    problems = _verify(demo_db).problems
    assert any("row 2 does not follow" in p for p in problems)
    assert any("row 3 does not follow" in p for p in problems)


def test_an_exported_row_anchors_the_chain(demo_db: Database) -> None:
    _write(demo_db, 3)
    with demo_db.unit_of_work() as session:
        row = session.scalars(select(AuditEvent).where(AuditEvent.seq == 2)).one()
        anchor = (row.seq, row.row_hash)
    assert audit_trail.verify(demo_db, anchor).ok
    assert not audit_trail.verify(demo_db, (2, "0" * 64)).ok


def test_concurrent_writers_keep_the_chain_whole(backend: str, demo_db: Database) -> None:
    """Threads, each with its own units of work, append at once: eight on PostgreSQL (the
    head row's lock serialises them); three on SQLite, whose single writer lock serialises
    them anyway (more would only measure its busy timeout on a loaded machine)."""
    threads, per_thread = (8, 15) if backend == "postgresql" else (3, 10)
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer() -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                _write(demo_db, 2)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    result = _verify(demo_db)
    assert result.ok, result.problems
    assert result.rows == threads * per_thread * 2 == result.last_seq


@pytest.fixture
def owner_db(tmp_path) -> Iterator[Database]:
    """A migrated PostgreSQL database (roles exist on PostgreSQL only), as its owner."""
    with demo_database("postgresql", tmp_path, TODAY) as db:
        yield db


@pytest.fixture
def application_role(owner_db: Database) -> Iterator[Database]:
    """The same database through a new login role with the application's grants."""
    demo_db = owner_db
    role = f"helpdesk_app_{uuid.uuid4().hex[:10]}"
    admin = create_engine(demo_db.url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    db_roles.grant_application_role(demo_db.url, role)
    url = demo_db.engine.url.set(username=role).render_as_string(hide_password=False)
    app = Database(url)
    try:
        yield app
    finally:
        app.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP OWNED BY "{role}"'))
            connection.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


def test_the_application_role_can_only_insert_into_the_trail(application_role: Database,
                                                             owner_db: Database) -> None:
    _write(application_role, 3)  # appends through the chain, as the application does
    for statement in ("UPDATE audit_events SET reason = 'edited'",
                      "DELETE FROM audit_events",
                      "TRUNCATE audit_events",
                      "DELETE FROM audit_prunes",
                      "INSERT INTO audit_prunes (at, cutoff, through_seq, through_hash, rows) "
                      "VALUES (now(), now(), 1, 'x', 1)"):
        with pytest.raises(ProgrammingError, match="permission denied"):
            with application_role.engine.begin() as connection:
                connection.execute(text(statement))
    with pytest.raises(ProgrammingError, match="kept for at least 365 days"):
        with application_role.engine.begin() as connection:
            connection.execute(text("SELECT helpdesk_prune_audit(now())"))
    result = _verify(owner_db)
    assert result.ok and result.rows == 3


def test_the_commands_verify_and_export(demo_db: Database, monkeypatch, capsys, tmp_path) -> None:
    from bot import cli

    monkeypatch.setenv("HELPDESK_DATABASE_URL", demo_db.url)
    _write(demo_db, 3, target="HR-000123")
    assert cli.main(["verify-audit"]) == 0
    assert "audit trail intact: 3 rows" in capsys.readouterr().out
    exported = tmp_path / "trail.jsonl"
    assert cli.main(["audit-export", "--format", "jsonl", "--output", str(exported)]) == 0
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4]  # the export recorded itself first
    assert (lines[-1]["record_type"], lines[-1]["action"], lines[-1]["actor_principal"][:4]) == \
        ("audit_trail", "export", "cli:")
    anchor = f"{lines[1]['seq']}:{lines[1]['row_hash']}"
    assert cli.main(["verify-audit", "--expect", anchor]) == 0
    capsys.readouterr()
    with demo_db.engine.begin() as connection:
        connection.execute(update(AuditEvent).where(AuditEvent.seq == 2)
                           .values(target="HR-000124"))
    assert cli.main(["verify-audit"]) == 1
    out = capsys.readouterr().out
    assert "audit trail BROKEN" in out and "row 2 was changed" in out
