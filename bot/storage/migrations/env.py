"""Alembic environment: runs migrations online against the configured URL."""
from __future__ import annotations

from alembic import context

from bot.storage.database import build_engine
from bot.storage.models import Base
import bot.tickets.models  # noqa: F401  (registers the ticket tables on Base.metadata)
import bot.records.models  # noqa: F401  (registers the records notices and conversations)
import bot.backoffice.record_tables  # noqa: F401  (registers the HR and finance record tables)
import bot.handoff.models  # noqa: F401  (registers the handoff and console tables)
import bot.knowledge.models  # noqa: F401  (registers the knowledge-base tables)
import bot.backoffice.models  # noqa: F401  (registers the back-office identity map and writes)
import bot.insight.models  # noqa: F401  (registers the service-insight tables)
import bot.privacy.models  # noqa: F401  (registers retention runs and data subject requests)
import bot.signin.models  # noqa: F401  (registers web sessions and OpenID Connect sign-ins)
import bot.email_notices.models  # noqa: F401  (registers e-mail notices, chat views, opt-outs)

config = context.config


class ForeignKeysBroken(RuntimeError):
    """A migration left rows that reference rows that no longer exist."""


def run_migrations() -> None:
    engine = build_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # On SQLite a batch migration rebuilds a table (copy, drop, rename). With
                # foreign keys enforced, dropping a table that other rows reference fails
                # once the database holds data, so keys are off while the schema changes
                # and checked as a whole before the commit: SQLite's own procedure for
                # such changes (https://www.sqlite.org/lang_altertable.html#otheralter).
                # The pragma is a no-op inside a transaction, hence before it begins.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        tables = sorted({row[0] for row in broken})
                        raise ForeignKeysBroken(
                            f"the migration left {len(broken)} rows with dangling foreign keys "
                            f"in {', '.join(tables)}; nothing was changed")
    finally:
        engine.dispose()


run_migrations()
