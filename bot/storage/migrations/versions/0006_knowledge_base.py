"""knowledge base: articles, versions, sections, answers given

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 16:03:07.900421

Generated with alembic autogenerate, then reviewed. Every version of an article is kept; the
partial unique indexes allow at most one published and one draft version per article (on
SQLite and PostgreSQL alike). `kb_answers` records which version each answer showed, never
the question.
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kb_articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_articles')),
    sa.UniqueConstraint('slug', name=op.f('uq_kb_articles_slug'))
    )
    op.create_table('kb_article_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'superseded', 'retired', name='kb_version_status', native_enum=False), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('source_title', sa.String(length=300), nullable=False),
    sa.Column('source_url', sa.String(length=1000), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('review_by', sa.Date(), nullable=False),
    sa.Column('departments', sa.JSON(), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('change_note', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_changed_by', sa.String(length=100), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_article_versions_article_id_kb_articles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_article_versions')),
    sa.UniqueConstraint('article_id', 'version', name=op.f('uq_kb_article_versions_article_id'))
    )
    with op.batch_alter_table('kb_article_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_article_versions_article_id'), ['article_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_article_versions_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_article_versions_status_changed_at'), ['status_changed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_article_versions_topic'), ['topic'], unique=False)
        batch_op.create_index('uq_kb_article_versions_one_draft', ['article_id'], unique=True, sqlite_where=sa.text("status = 'draft'"), postgresql_where=sa.text("status = 'draft'"))
        batch_op.create_index('uq_kb_article_versions_one_published', ['article_id'], unique=True, sqlite_where=sa.text("status = 'published'"), postgresql_where=sa.text("status = 'published'"))

    op.create_table('kb_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('conversation_id', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('answered', sa.Boolean(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('section_position', sa.Integer(), nullable=True),
    sa.Column('topic', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_answers_article_id_kb_articles')),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_kb_answers_employee_id_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_answers'))
    )
    with op.batch_alter_table('kb_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_answers_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_answers_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_answers_employee_id'), ['employee_id'], unique=False)

    op.create_table('kb_sections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('heading', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['kb_article_versions.id'], name=op.f('fk_kb_sections_version_id_kb_article_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_sections')),
    sa.UniqueConstraint('version_id', 'position', name=op.f('uq_kb_sections_version_id'))
    )
    with op.batch_alter_table('kb_sections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_sections_version_id'), ['version_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('kb_sections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_sections_version_id'))

    op.drop_table('kb_sections')
    with op.batch_alter_table('kb_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_answers_employee_id'))
        batch_op.drop_index(batch_op.f('ix_kb_answers_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_kb_answers_at'))

    op.drop_table('kb_answers')
    with op.batch_alter_table('kb_article_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_kb_article_versions_one_published', sqlite_where=sa.text("status = 'published'"), postgresql_where=sa.text("status = 'published'"))
        batch_op.drop_index('uq_kb_article_versions_one_draft', sqlite_where=sa.text("status = 'draft'"), postgresql_where=sa.text("status = 'draft'"))
        batch_op.drop_index(batch_op.f('ix_kb_article_versions_topic'))
        batch_op.drop_index(batch_op.f('ix_kb_article_versions_status_changed_at'))
        batch_op.drop_index(batch_op.f('ix_kb_article_versions_status'))
        batch_op.drop_index(batch_op.f('ix_kb_article_versions_article_id'))

    op.drop_table('kb_article_versions')
    op.drop_table('kb_articles')
