"""service insight: conversation facts from Rasa's event broker, satisfaction ratings

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-09 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None

FACT_KINDS = ('conversation_started', 'intent', 'answered', 'fallback', 'did_you_mean',
              'handed_off', 'ticket_raised', 'rating_asked', 'rated', 'stopped')


def upgrade() -> None:
    op.create_table(
        'insight_facts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_key', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.Enum(*FACT_KINDS, name='insight_fact_kind', native_enum=False),
                  nullable=False),
        sa.Column('conversation_key', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('department_code', sa.String(length=16), nullable=False),
        sa.Column('intent', sa.String(length=100), nullable=False),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('detail', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_key', 'kind', name='uq_insight_facts_event_kind'),
    )
    op.create_index('ix_insight_facts_day_kind', 'insight_facts', ['day', 'kind'])
    op.create_index(op.f('ix_insight_facts_conversation_key'), 'insight_facts',
                    ['conversation_key'])
    op.create_table(
        'insight_conversations',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('sender_id', sa.String(length=200), nullable=False),
        sa.Column('current', sa.Boolean(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('last_event_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('department_code', sa.String(length=16), nullable=False),
        sa.Column('first_intent', sa.String(length=100), nullable=False),
        sa.Column('last_request_intent', sa.String(length=100), nullable=False),
        sa.Column('request_pending', sa.Boolean(), nullable=False),
        sa.Column('awaiting_reply', sa.Boolean(), nullable=False),
        sa.Column('active_loop', sa.String(length=100), nullable=False),
        sa.Column('turn_action', sa.String(length=100), nullable=False),
        sa.Column('turn_failed', sa.Boolean(), nullable=False),
        sa.Column('last_action', sa.String(length=100), nullable=False),
        sa.Column('answered', sa.Boolean(), nullable=False),
        sa.Column('handed_off', sa.Boolean(), nullable=False),
        sa.Column('ticket_raised', sa.Boolean(), nullable=False),
        sa.Column('stopped', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index(op.f('ix_insight_conversations_sender_id'), 'insight_conversations',
                    ['sender_id'])
    op.create_index(op.f('ix_insight_conversations_day'), 'insight_conversations', ['day'])
    op.create_table(
        'insight_offsets',
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('source'),
    )
    op.create_table(
        'insight_processed_events',
        sa.Column('event_key', sa.String(length=64), nullable=False),
        sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('event_key'),
    )
    op.create_index(op.f('ix_insight_processed_events_processed_at'),
                    'insight_processed_events', ['processed_at'])
    op.create_table(
        'insight_unanswered',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_key', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('department_code', sa.String(length=16), nullable=False),
        sa.Column('intent', sa.String(length=100), nullable=False),
        sa.Column('redacted_text', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_key'),
    )
    op.create_index(op.f('ix_insight_unanswered_day'), 'insight_unanswered', ['day'])
    op.create_table(
        'satisfaction_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subject_key', sa.String(length=250), nullable=False),
        sa.Column('subject', sa.Enum('conversation', 'handoff', 'ticket', name='rating_subject',
                                     native_enum=False), nullable=False),
        sa.Column('conversation_id', sa.String(length=200), nullable=False),
        sa.Column('intent', sa.String(length=100), nullable=False),
        sa.Column('agent', sa.String(length=64), nullable=True),
        sa.Column('ticket_reference', sa.String(length=16), nullable=True),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('department_code', sa.String(length=16), nullable=False),
        sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('subject_key'),
    )
    op.create_index(op.f('ix_satisfaction_requests_conversation_id'), 'satisfaction_requests',
                    ['conversation_id'])


def downgrade() -> None:
    op.drop_table('satisfaction_requests')
    op.drop_table('insight_unanswered')
    op.drop_table('insight_processed_events')
    op.drop_table('insight_offsets')
    op.drop_table('insight_conversations')
    op.drop_table('insight_facts')
