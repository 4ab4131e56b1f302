"""Migrations build the schema the models describe, on both databases."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.storage.database import build_engine
from bot.storage.migrate import alembic_config, current_revision, upgrade
from bot.storage.models import Base


def test_upgrade_reaches_the_single_head(database_url: str) -> None:
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    upgrade(database_url)
    assert current_revision(database_url) == heads[0]


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    assert current_revision(database_url) is not None


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    """A model change without a migration shows up here as a difference."""
    upgrade(database_url)
    engine = build_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
