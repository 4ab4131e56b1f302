"""back office: client references, notices by record reference, identity map, write ledger

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-07 16:30:00

Writes a chat turn makes carry the turn's key (`client_reference`) so a retry makes one
record; notices name the absence system's record reference instead of a leave_bookings row
(the record may live in Oracle HCM or SuccessFactors); `backoffice_identities` maps our
employees to a system of record's person ids; `backoffice_writes` is the write ledger.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('leave_bookings') as batch:
        batch.add_column(sa.Column('client_reference', sa.String(length=64), nullable=True))
        batch.create_unique_constraint('uq_leave_bookings_client_reference', ['client_reference'])
    with op.batch_alter_table('expense_claims') as batch:
        batch.add_column(sa.Column('client_reference', sa.String(length=64), nullable=True))
        batch.create_unique_constraint('uq_expense_claims_client_reference', ['client_reference'])
    with op.batch_alter_table('sickness_absences') as batch:
        batch.add_column(sa.Column('client_reference', sa.String(length=64), nullable=True))
        batch.create_unique_constraint(
            'uq_sickness_absences_client_reference', ['client_reference'])
    with op.batch_alter_table('personal_details_changes') as batch:
        batch.add_column(sa.Column('client_reference', sa.String(length=64), nullable=True))
        batch.create_index('ix_personal_details_changes_client_reference', ['client_reference'])

    with op.batch_alter_table('records_notices') as batch:
        batch.add_column(sa.Column('subject_employee_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('record_reference', sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE records_notices SET record_reference = CAST(booking_id AS VARCHAR(64)), "
        "subject_employee_id = (SELECT employee_id FROM leave_bookings "
        "WHERE leave_bookings.id = records_notices.booking_id) WHERE booking_id IS NOT NULL")
    op.execute(
        "UPDATE records_notices SET record_reference = CAST(absence_id AS VARCHAR(64)), "
        "subject_employee_id = (SELECT employee_id FROM sickness_absences "
        "WHERE sickness_absences.id = records_notices.absence_id) WHERE absence_id IS NOT NULL")
    op.execute("DELETE FROM records_notices WHERE record_reference IS NULL")
    with op.batch_alter_table('records_notices') as batch:
        batch.drop_constraint('fk_records_notices_booking_id_leave_bookings', type_='foreignkey')
        batch.drop_constraint(
            'fk_records_notices_absence_id_sickness_absences', type_='foreignkey')
        batch.drop_column('booking_id')
        batch.drop_column('absence_id')
        batch.alter_column('subject_employee_id', existing_type=sa.Integer(), nullable=False)
        batch.alter_column('record_reference', existing_type=sa.String(length=64),
                           nullable=False)
        batch.create_foreign_key('fk_records_notices_subject_employee_id_employees',
                                 'employees', ['subject_employee_id'], ['id'])
        batch.create_unique_constraint('uq_records_notices_kind',
                                       ['kind', 'record_reference', 'recipient_id'])

    op.create_table(
        'backoffice_identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('system', sa.String(length=32), nullable=False),
        sa.Column('person_id', sa.String(length=64), nullable=False),
        sa.Column('person_number', sa.String(length=64), nullable=False),
        sa.Column('assignment_id', sa.String(length=64), nullable=True),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['employee_id'], ['employees.id'],
                                name='fk_backoffice_identities_employee_id_employees'),
        sa.PrimaryKeyConstraint('id', name='pk_backoffice_identities'),
        sa.UniqueConstraint('employee_id', 'system', name='uq_backoffice_identities_employee_id'),
    )
    op.create_index('ix_backoffice_identities_employee_id', 'backoffice_identities',
                    ['employee_id'])
    op.create_table(
        'backoffice_writes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_reference', sa.String(length=64), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('system', sa.String(length=32), nullable=False),
        sa.Column('state', sa.Enum('pending', 'done', 'unknown', name='backoffice_write_state',
                                   native_enum=False), nullable=False),
        sa.Column('record_reference', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['employee_id'], ['employees.id'],
                                name='fk_backoffice_writes_employee_id_employees'),
        sa.PrimaryKeyConstraint('id', name='pk_backoffice_writes'),
        sa.UniqueConstraint('client_reference', name='uq_backoffice_writes_client_reference'),
    )
    op.create_index('ix_backoffice_writes_employee_id', 'backoffice_writes', ['employee_id'])


def downgrade() -> None:
    op.drop_table('backoffice_writes')
    op.drop_table('backoffice_identities')
    op.execute("DELETE FROM records_notices")
    with op.batch_alter_table('records_notices') as batch:
        batch.drop_constraint('uq_records_notices_kind', type_='unique')
        batch.drop_constraint('fk_records_notices_subject_employee_id_employees',
                              type_='foreignkey')
        batch.drop_column('record_reference')
        batch.drop_column('subject_employee_id')
        batch.add_column(sa.Column('booking_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('absence_id', sa.Integer(), nullable=True))
    for table, index in (('personal_details_changes', None), ('sickness_absences', 1),
                         ('expense_claims', 1), ('leave_bookings', 1)):
        with op.batch_alter_table(table) as batch:
            if index:
                batch.drop_constraint(f'uq_{table}_client_reference', type_='unique')
            else:
                batch.drop_index('ix_personal_details_changes_client_reference')
            batch.drop_column('client_reference')
