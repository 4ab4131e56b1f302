"""tickets: tickets, comments, history, notification outbox, reference counters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 07:58:40.926042

Generated with alembic autogenerate, then reviewed: the counter rows of the five service
lines are inserted here, so that allocating a reference only ever locks and updates an
existing row (no insert race). Prefixes are spelled out, not imported: a migration must
not change when the code does.
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ticket_counters',
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', name=op.f('pk_ticket_counters'))
    )
    counters = sa.table(
        'ticket_counters', sa.column('prefix', sa.String), sa.column('last_number', sa.Integer)
    )
    op.bulk_insert(counters, [
        {'prefix': prefix, 'last_number': 0} for prefix in ('HR', 'PAY', 'PEN', 'FIN', 'ACC')
    ])
    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=True),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('hr', 'payroll', 'pensions', 'finance', 'access', name='ticket_category', native_enum=False), nullable=False),
    sa.Column('subject', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('priority', sa.Enum('low', 'normal', 'high', 'urgent', name='ticket_priority', native_enum=False), nullable=False),
    sa.Column('status', sa.Enum('new', 'open', 'awaiting_customer', 'resolved', 'closed', name='ticket_status', native_enum=False), nullable=False),
    sa.Column('assignee', sa.String(length=100), nullable=True),
    sa.Column('conversation_id', sa.String(length=200), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolution_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sla_paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_breached', sa.Boolean(), nullable=False),
    sa.Column('resolution_breached', sa.Boolean(), nullable=False),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['requester_id'], ['employees.id'], name=op.f('fk_tickets_requester_id_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_tickets_idempotency_key')),
    sa.UniqueConstraint('prefix', 'number', name=op.f('uq_tickets_prefix')),
    sa.UniqueConstraint('reference', name=op.f('uq_tickets_reference'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_resolution_due_at'), ['resolution_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_status'), ['status'], unique=False)

    op.create_table('ticket_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('author_kind', sa.Enum('employee', 'agent', 'system', name='ticket_actor_kind', native_enum=False), nullable=False),
    sa.Column('author_employee_id', sa.Integer(), nullable=True),
    sa.Column('author_agent', sa.String(length=100), nullable=True),
    sa.Column('visibility', sa.Enum('public', 'internal', name='ticket_comment_visibility', native_enum=False), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_employee_id'], ['employees.id'], name=op.f('fk_ticket_comments_author_employee_id_employees')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_comments_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_comments'))
    )
    with op.batch_alter_table('ticket_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_comments_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('created', 'status_changed', 'commented', 'assigned', name='ticket_event_kind', native_enum=False), nullable=False),
    sa.Column('actor_kind', sa.Enum('employee', 'agent', 'system', name='ticket_actor_kind', native_enum=False), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('from_status', sa.Enum('new', 'open', 'awaiting_customer', 'resolved', 'closed', name='ticket_status', native_enum=False), nullable=True),
    sa.Column('to_status', sa.Enum('new', 'open', 'awaiting_customer', 'resolved', 'closed', name='ticket_status', native_enum=False), nullable=True),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['comment_id'], ['ticket_comments.id'], name=op.f('fk_ticket_events_comment_id_ticket_comments')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_events_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_events'))
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_events_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=200), nullable=True),
    sa.Column('state', sa.Enum('pending', 'delivered', 'failed', 'skipped', name='ticket_notification_state', native_enum=False), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['ticket_events.id'], name=op.f('fk_ticket_notifications_event_id_ticket_events')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_notifications_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_notifications')),
    sa.UniqueConstraint('event_id', name=op.f('uq_ticket_notifications_event_id'))
    )
    with op.batch_alter_table('ticket_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_notifications_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_notifications_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_notifications_ticket_id'), ['ticket_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ticket_notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_notifications_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_ticket_notifications_state'))
        batch_op.drop_index(batch_op.f('ix_ticket_notifications_conversation_id'))

    op.drop_table('ticket_notifications')
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_events_ticket_id'))

    op.drop_table('ticket_events')
    with op.batch_alter_table('ticket_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_comments_ticket_id'))

    op.drop_table('ticket_comments')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_status'))
        batch_op.drop_index(batch_op.f('ix_tickets_resolution_due_at'))
        batch_op.drop_index(batch_op.f('ix_tickets_requester_id'))

    op.drop_table('tickets')
    op.drop_table('ticket_counters')
