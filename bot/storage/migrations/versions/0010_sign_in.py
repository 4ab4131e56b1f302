"""sign-in: Entra ID (OpenID Connect) for employees and console accounts, revocable sessions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 19:30:00

- `web_sessions`: the employee session tokens the web app mints (by `jti`) and the tokens signed
  out (`revoked_at`): a revoked token is refused at the next request (bot/signin/sessions.py).
- `oidc_sign_ins`: a sign-in in flight between the redirect to Entra ID and the callback
  (bot/signin/transactions.py): single use, ten minutes.
- `agents.entra_tenant_id`, `agents.entra_object_id` (unique together): the Entra ID user who
  signs in as a console account; `agent_sessions.granted_roles`: the roles the identity
  provider's app roles granted for that session.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'web_sessions',
        sa.Column('token_id', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('tenant', sa.String(length=200), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('method', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('token_id', name=op.f('pk_web_sessions')),
    )
    op.create_index(op.f('ix_web_sessions_expires_at'), 'web_sessions', ['expires_at'])
    op.create_table(
        'oidc_sign_ins',
        sa.Column('state_hash', sa.String(length=64), nullable=False),
        sa.Column('binding_hash', sa.String(length=64), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('flow', sa.Text(), nullable=False),
        sa.Column('return_to', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('state_hash', name=op.f('pk_oidc_sign_ins')),
    )
    op.create_index(op.f('ix_oidc_sign_ins_expires_at'), 'oidc_sign_ins', ['expires_at'])
    with op.batch_alter_table('agents') as batch:
        batch.add_column(sa.Column('entra_tenant_id', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('entra_object_id', sa.String(length=64), nullable=True))
        batch.create_unique_constraint(batch.f('uq_agents_entra_tenant_id'),
                                       ['entra_tenant_id', 'entra_object_id'])
    with op.batch_alter_table('agent_sessions') as batch:
        batch.add_column(sa.Column('granted_roles', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('agent_sessions') as batch:
        batch.drop_column('granted_roles')
    with op.batch_alter_table('agents') as batch:
        batch.drop_constraint(batch.f('uq_agents_entra_tenant_id'), type_='unique')
        batch.drop_column('entra_object_id')
        batch.drop_column('entra_tenant_id')
    op.drop_index(op.f('ix_oidc_sign_ins_expires_at'), table_name='oidc_sign_ins')
    op.drop_table('oidc_sign_ins')
    op.drop_index(op.f('ix_web_sessions_expires_at'), table_name='web_sessions')
    op.drop_table('web_sessions')
