"""Operator commands: `python -m bot.cli migrate | seed-demo | setup | refresh-bank-holidays |
import-csv KIND FILE | import-csv FOLDER`."""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys

from .bank_holidays import BankHolidayDataError, refresh
from .config import PROJECT_ROOT, Settings
from .demo_data import load_demo_data
from .handoff.demo import load_demo_agents
from .records.csv_import import KINDS, CsvImportError, import_file, import_folder
from .records.demo import load_records_demo
from .storage.database import Database
from .storage.migrate import upgrade
from .tickets.demo import load_demo_tickets
from .tickets.sla import policy_from_settings

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
        with db.unit_of_work() as session:
            records_added = load_records_demo(session, dt.date.today())
        tickets_added = load_demo_tickets(db, policy_from_settings(settings), dt.date.today())
        # Console accounts that sign in only with HELPDESK_DEV_SIGNIN=1 (bot/handoff/demo.py).
        agents_added = load_demo_agents(db)
    finally:
        db.dispose()
    log.info("demo data %s", "loaded" if added else "already present")
    log.info("demo records %s", "loaded" if records_added else "already present")
    log.info("demo tickets %s", "loaded" if tickets_added else "already present")
    log.info("demo agents %s", f"added: {agents_added}" if agents_added else "already present")


def refresh_bank_holidays(settings: Settings) -> None:
    """Replace the shipped bank-holiday data with the official JSON (gov.uk's format)."""
    try:
        calendar = refresh(settings.bank_holidays_url, settings.bank_holidays_file or None)
    except BankHolidayDataError as error:
        log.error("bank holidays not refreshed: %s", error)
        raise SystemExit(1) from error
    log.info("bank holidays refreshed: %s to %s", calendar.first_year, calendar.last_year)


def import_csv(settings: Settings, target: str, kind: str | None = None) -> None:
    """Import one CSV file (`import-csv KIND FILE`) or a folder of them (`import-csv FOLDER`)."""
    db = Database(settings.database_url)
    try:
        if kind is None:
            reports = import_folder(db, target)
            if not reports:
                log.error("no known CSV files (%s.csv) in %s", ".csv, ".join(KINDS), target)
                raise SystemExit(1)
        else:
            reports = [import_file(db, kind, target)]
    except CsvImportError as error:
        log.error("%s", error)
        raise SystemExit(1) from error
    finally:
        db.dispose()
    for report in reports:
        print(report.summary())
    if not all(report.written for report in reports):
        raise SystemExit(1)


COMMANDS = {
    "migrate": [migrate],
    "seed-demo": [seed_demo],
    "setup": [migrate, seed_demo],
    "refresh-bank-holidays": [refresh_bank_holidays],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.cli", description=__doc__)
    parser.add_argument("command", choices=sorted([*COMMANDS, "import-csv"]))
    parser.add_argument("arguments", nargs="*", help="import-csv: KIND FILE, or FOLDER")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    if args.command == "import-csv":
        if len(args.arguments) == 2 and args.arguments[0] in KINDS:
            import_csv(settings, args.arguments[1], args.arguments[0])
        elif len(args.arguments) == 1:
            import_csv(settings, args.arguments[0])
        else:
            parser.error(f"import-csv needs KIND FILE (KIND one of {', '.join(KINDS)}) or FOLDER")
        return 0
    if args.arguments:
        parser.error(f"{args.command} takes no arguments")
    for step in COMMANDS[args.command]:
        step(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
