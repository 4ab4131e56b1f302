"""Operator commands: `python -m bot.cli migrate | seed-demo | setup`."""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys

from .config import PROJECT_ROOT, Settings
from .demo_data import load_demo_data
from .storage.database import Database
from .storage.migrate import upgrade

log = logging.getLogger("bot.cli")


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite:///"):
        (PROJECT_ROOT / "var").mkdir(exist_ok=True)


def migrate(settings: Settings) -> None:
    _ensure_sqlite_folder(settings.database_url)
    upgrade(settings.database_url)
    log.info("database schema is at the latest revision")


def seed_demo(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        with db.unit_of_work() as session:
            added = load_demo_data(session, dt.date.today())
    finally:
        db.dispose()
    log.info("demo data %s", "loaded" if added else "already present")


COMMANDS = {
    "migrate": [migrate],
    "seed-demo": [seed_demo],
    "setup": [migrate, seed_demo],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.cli", description=__doc__)
    parser.add_argument("command", choices=sorted(COMMANDS))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    for step in COMMANDS[args.command]:
        step(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
