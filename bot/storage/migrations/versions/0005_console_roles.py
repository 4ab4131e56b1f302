"""console roles: what each console account may do

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 16:20:00

Existing accounts keep what they could do before: agent.
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agents') as batch:
        batch.add_column(sa.Column('roles', sa.String(length=200), nullable=False,
                                   server_default='agent'))


def downgrade() -> None:
    with op.batch_alter_table('agents') as batch:
        batch.drop_column('roles')
