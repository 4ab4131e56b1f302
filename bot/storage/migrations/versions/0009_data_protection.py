"""data protection: the audit hash chain, retention runs, data subject requests, redacted transcript

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-07 17:30:00

- `audit_events` gains `seq`, `prev_hash`, `row_hash` (the hash chain, bot/storage/audit_chain.py)
  and `target`; its employee ids lose their foreign keys (the trail outlives an erased record,
  and an append never waits on another transaction's row locks). Existing rows are chained in
  id order. `audit_chain_head` holds the chain's end; `audit_prunes` records what the retention
  schedule deleted.
- On PostgreSQL, `helpdesk_prune_audit(cutoff)`: the only way the application can delete audit
  rows (SECURITY DEFINER, owned by the migrating role, rows older than 365 days at least, the
  chain's restart recorded). EXECUTE is revoked from PUBLIC; `python -m bot.cli db-grants ROLE`
  grants it, with INSERT-only rights on the trail, to the application's login role.
- `retention_runs`, `retention_marks`, `data_subject_requests`.
- `handoff_entries.shared_body` (what everyone but the employee sees) and
  `handoffs.text_redacted_at`.
"""
from alembic import op
import sqlalchemy as sa

from bot.storage.audit_chain import GENESIS, row_hash


revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None

PRUNE_FUNCTION = """
CREATE OR REPLACE FUNCTION helpdesk_prune_audit(cutoff timestamptz) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    last_seq bigint;
    last_hash varchar(64);
    pruned bigint;
BEGIN
    IF cutoff > now() - interval '365 days' THEN
        RAISE EXCEPTION 'audit events are kept for at least 365 days';
    END IF;
    PERFORM 1 FROM audit_chain_head WHERE id = 1 FOR UPDATE;
    SELECT seq, row_hash INTO last_seq, last_hash FROM audit_events
        WHERE at < cutoff ORDER BY seq DESC LIMIT 1;
    IF last_seq IS NULL THEN
        RETURN 0;
    END IF;
    DELETE FROM audit_events WHERE seq <= last_seq;
    GET DIAGNOSTICS pruned = ROW_COUNT;
    INSERT INTO audit_prunes (at, cutoff, through_seq, through_hash, rows)
        VALUES (now(), cutoff, last_seq, last_hash, pruned);
    RETURN pruned;
END $$;
"""


def _chain_existing_rows() -> tuple[int, str]:
    connection = op.get_bind()
    events = sa.table(
        'audit_events', *(sa.column(name) for name in (
            'id', 'seq', 'at', 'channel', 'actor_principal', 'actor_employee_id',
            'subject_employee_id', 'record_type', 'action', 'outcome', 'reason', 'target',
            'prev_hash', 'row_hash')))
    rows = connection.execute(sa.select(events).order_by(events.c.id)).mappings().all()
    previous, seq = GENESIS, 0
    for row in rows:
        seq += 1
        values = dict(row, seq=seq, at=_as_datetime(row['at']))
        digest = row_hash(values, previous)
        connection.execute(events.update().where(events.c.id == row['id'])
                           .values(seq=seq, prev_hash=previous, row_hash=digest))
        previous = digest
    return seq, previous


def _as_datetime(value):  # noqa: ANN001, ANN202 - SQLite hands back text in a light table
    import datetime as dt

    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('audit_events') as batch:
        batch.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('target', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('row_hash', sa.String(length=64), nullable=True))
        batch.drop_constraint('fk_audit_events_actor_employee_id_employees', type_='foreignkey')
        batch.drop_constraint('fk_audit_events_subject_employee_id_employees',
                              type_='foreignkey')
    last_seq, last_hash = _chain_existing_rows()
    with op.batch_alter_table('audit_events') as batch:
        batch.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch.alter_column('row_hash', existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint('uq_audit_events_seq', ['seq'])
        batch.create_index('ix_audit_events_actor_principal', ['actor_principal'])
        batch.create_index('ix_audit_events_subject_employee_id', ['subject_employee_id'])

    head = op.create_table(
        'audit_chain_head',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head')),
    )
    op.bulk_insert(head, [{'id': 1, 'seq': last_seq, 'last_hash': last_hash}])
    op.create_table(
        'audit_prunes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('cutoff', sa.DateTime(timezone=True), nullable=False),
        sa.Column('through_seq', sa.BigInteger(), nullable=False),
        sa.Column('through_hash', sa.String(length=64), nullable=False),
        sa.Column('rows', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_prunes')),
    )
    op.create_table(
        'retention_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('started_by', sa.String(length=64), nullable=False),
        sa.Column('dry_run', sa.Boolean(), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('report', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_runs')),
    )
    with op.batch_alter_table('retention_runs') as batch:
        batch.create_index('ix_retention_runs_started_at', ['started_at'])
    op.create_table(
        'retention_marks',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_retention_marks')),
    )
    op.create_table(
        'data_subject_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('access', 'rectification', 'erasure',
                                  name='data_subject_request_kind', native_enum=False),
                  nullable=False),
        sa.Column('handled_by', sa.String(length=64), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('archive_sha256', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['employee_id'], ['employees.id'],
                                name=op.f('fk_data_subject_requests_employee_id_employees')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_subject_requests')),
    )
    with op.batch_alter_table('data_subject_requests') as batch:
        batch.create_index('ix_data_subject_requests_employee_id', ['employee_id'])
    with op.batch_alter_table('handoff_entries') as batch:
        batch.add_column(sa.Column('shared_body', sa.Text(), nullable=True))
    with op.batch_alter_table('handoffs') as batch:
        batch.add_column(sa.Column('text_redacted_at', sa.DateTime(timezone=True),
                                   nullable=True))
    if dialect == 'postgresql':
        op.execute(PRUNE_FUNCTION)
        op.execute('REVOKE ALL ON FUNCTION helpdesk_prune_audit(timestamptz) FROM PUBLIC')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS helpdesk_prune_audit(timestamptz)')
    with op.batch_alter_table('handoffs') as batch:
        batch.drop_column('text_redacted_at')
    with op.batch_alter_table('handoff_entries') as batch:
        batch.drop_column('shared_body')
    op.drop_table('data_subject_requests')
    op.drop_table('retention_marks')
    op.drop_table('retention_runs')
    op.drop_table('audit_prunes')
    op.drop_table('audit_chain_head')
    with op.batch_alter_table('audit_events') as batch:
        batch.drop_index('ix_audit_events_subject_employee_id')
        batch.drop_index('ix_audit_events_actor_principal')
        batch.drop_constraint('uq_audit_events_seq', type_='unique')
        batch.create_foreign_key('fk_audit_events_actor_employee_id_employees', 'employees',
                                 ['actor_employee_id'], ['id'])
        batch.create_foreign_key('fk_audit_events_subject_employee_id_employees', 'employees',
                                 ['subject_employee_id'], ['id'])
        batch.drop_column('row_hash')
        batch.drop_column('prev_hash')
        batch.drop_column('target')
        batch.drop_column('seq')
