"""handoff: queue, transcript, agent accounts, widget outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 08:07:11.949335

Generated with alembic autogenerate, then reviewed. `UNIQUE(open_conversation_id)` is what
makes a handoff request idempotent: at most one open handoff per conversation (ended handoffs
hold NULL there, and NULLs never collide on SQLite or PostgreSQL).
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('skills', sa.String(length=100), nullable=False),
    sa.Column('departments', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('demo', sa.Boolean(), nullable=False),
    sa.Column('failed_signins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents')),
    sa.UniqueConstraint('username', name=op.f('uq_agents_username'))
    )
    op.create_table('widget_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('push_id', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_widget_outbox')),
    sa.UniqueConstraint('push_id', name=op.f('uq_widget_outbox_push_id'))
    )
    with op.batch_alter_table('widget_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_widget_outbox_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_widget_outbox_created_at'), ['created_at'], unique=False)

    op.create_table('agent_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_sessions_agent_id_agents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_agent_sessions_token_hash'))
    )
    with op.batch_alter_table('agent_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_sessions_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_sessions_last_seen_at'), ['last_seen_at'], unique=False)

    op.create_table('handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=200), nullable=False),
    sa.Column('open_conversation_id', sa.String(length=200), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('tenant', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=16), nullable=False),
    sa.Column('skill', sa.Enum('hr', 'payroll', 'pensions', 'finance', 'access', name='handoff_skill', native_enum=False), nullable=False),
    sa.Column('reason', sa.Enum('requested', 'not_understood', 'referred', name='handoff_reason', native_enum=False), nullable=False),
    sa.Column('status', sa.Enum('waiting', 'assigned', 'resumed', 'ticketed', 'cancelled', name='handoff_status', native_enum=False), nullable=False),
    sa.Column('assignee', sa.String(length=64), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('feed_since', sa.Float(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ticket_reference', sa.String(length=16), nullable=True),
    sa.Column('told_position', sa.Integer(), nullable=True),
    sa.Column('told_wait_minutes', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_handoffs_employee_id_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoffs')),
    sa.UniqueConstraint('open_conversation_id', name=op.f('uq_handoffs_open_conversation_id'))
    )
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoffs_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoffs_employee_id'), ['employee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoffs_skill'), ['skill'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoffs_status'), ['status'], unique=False)

    op.create_table('handoff_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handoff_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('employee', 'agent', 'note', 'system', name='handoff_entry_kind', native_enum=False), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('source_key', sa.String(length=64), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivery_failed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id'], name=op.f('fk_handoff_entries_handoff_id_handoffs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoff_entries')),
    sa.UniqueConstraint('handoff_id', 'source_key', name=op.f('uq_handoff_entries_handoff_id'))
    )
    with op.batch_alter_table('handoff_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoff_entries_handoff_id'), ['handoff_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('handoff_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoff_entries_handoff_id'))

    op.drop_table('handoff_entries')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoffs_status'))
        batch_op.drop_index(batch_op.f('ix_handoffs_skill'))
        batch_op.drop_index(batch_op.f('ix_handoffs_employee_id'))
        batch_op.drop_index(batch_op.f('ix_handoffs_conversation_id'))

    op.drop_table('handoffs')
    with op.batch_alter_table('agent_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_sessions_last_seen_at'))
        batch_op.drop_index(batch_op.f('ix_agent_sessions_agent_id'))

    op.drop_table('agent_sessions')
    with op.batch_alter_table('widget_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_widget_outbox_created_at'))
        batch_op.drop_index(batch_op.f('ix_widget_outbox_conversation_id'))

    op.drop_table('widget_outbox')
    op.drop_table('agents')
