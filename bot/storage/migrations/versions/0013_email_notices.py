"""e-mail notices through GOV.UK Notify: notices, chat views, opt-outs

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-07 20:45:00

PROVISIONAL NUMBER: 0013 is the spare number the lead gives out (TEAM.md); issue 24's step 5
needs a table of its own after 0010 landed. Renumber when the lead assigns one.

- `email_notices` (bot/email_notices/models.py): what may be e-mailed, once per source row.
- `chat_views`: when the employee's web chat last showed a conversation.
- `email_preferences`: employees who opted out of e-mail.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'email_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.String(length=200), nullable=True),
        sa.Column('reference', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('notify_id', sa.String(length=64), nullable=True),
        sa.Column('outcome', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['employee_id'], ['employees.id'],
                                name=op.f('fk_email_notices_employee_id_employees')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_email_notices')),
        sa.UniqueConstraint('key', name=op.f('uq_email_notices_key')),
    )
    op.create_index(op.f('ix_email_notices_employee_id'), 'email_notices', ['employee_id'])
    op.create_index(op.f('ix_email_notices_due_at'), 'email_notices', ['due_at'])
    op.create_index(op.f('ix_email_notices_state'), 'email_notices', ['state'])
    op.create_table(
        'chat_views',
        sa.Column('conversation_id', sa.String(length=200), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['employee_id'], ['employees.id'],
                                name=op.f('fk_chat_views_employee_id_employees')),
        sa.PrimaryKeyConstraint('conversation_id', name=op.f('pk_chat_views')),
    )
    op.create_index(op.f('ix_chat_views_employee_id'), 'chat_views', ['employee_id'])
    op.create_table(
        'email_preferences',
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['employee_id'], ['employees.id'],
                                name=op.f('fk_email_preferences_employee_id_employees')),
        sa.PrimaryKeyConstraint('employee_id', name=op.f('pk_email_preferences')),
    )


def downgrade() -> None:
    op.drop_table('email_preferences')
    op.drop_index(op.f('ix_chat_views_employee_id'), table_name='chat_views')
    op.drop_table('chat_views')
    op.drop_index(op.f('ix_email_notices_state'), table_name='email_notices')
    op.drop_index(op.f('ix_email_notices_due_at'), table_name='email_notices')
    op.drop_index(op.f('ix_email_notices_employee_id'), table_name='email_notices')
    op.drop_table('email_notices')
