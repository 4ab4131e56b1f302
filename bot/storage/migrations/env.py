"""Alembic environment: runs migrations online against the configured URL."""
from __future__ import annotations

from alembic import context

from bot.storage.database import build_engine
from bot.storage.models import Base
import bot.tickets.models  # noqa: F401  (registers the ticket tables on Base.metadata)
import bot.records.models  # noqa: F401  (registers the HR and finance record tables)
import bot.handoff.models  # noqa: F401  (registers the handoff and console tables)

config = context.config


def run_migrations() -> None:
    engine = build_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations()
