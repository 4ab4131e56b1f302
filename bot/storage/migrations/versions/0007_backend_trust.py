"""backend trust: sign-in throttles per account, address and pair, counted atomically

Revision ID: 0007
Revises: 0011
Create Date: 2026-12-07 17:15:00

The per-account counter on `agents` was read, incremented and written back, so parallel
guesses passed the limit; it moves to `signin_throttles`, where each attempt is one atomic
upsert (bot/handoff/signin_throttle.py).
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'signin_throttles',
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('scope', 'key', name=op.f('pk_signin_throttles')),
    )
    with op.batch_alter_table('agents') as batch:
        batch.drop_column('failed_signins')
        batch.drop_column('locked_until')


def downgrade() -> None:
    with op.batch_alter_table('agents') as batch:
        batch.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('failed_signins', sa.Integer(), nullable=False,
                                   server_default='0'))
    op.drop_table('signin_throttles')
