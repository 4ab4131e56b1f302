"""Operator commands: `python -m bot.cli migrate | seed-demo | setup | refresh-bank-holidays |
import-csv KIND FILE | import-csv FOLDER | kb-import FOLDER | kb-export FOLDER | kb-ask QUESTION`,
and the data protection commands of `bot.privacy.cli` (verify-audit, audit-export, db-grants)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path

from .bank_holidays import BankHolidayDataError, refresh
from .config import PROJECT_ROOT, Settings
from .demo import seed as seed_the_demo
from .knowledge.answering import decide
from .knowledge.index_cache import IndexCache
from .knowledge.library import export_article_folder, import_article_folder
from .privacy import cli as privacy_cli
from .redaction.logs import configure_logging
from .records.csv_import import KINDS, CsvImportError, import_file, import_folder
from .storage.database import Database
from .storage.migrate import upgrade
from .tickets.sla import policy_from_settings

log = logging.getLogger("bot.cli")

KNOWLEDGE_FOLDER = PROJECT_ROOT / "knowledge" / "articles"


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite:///"):
        (PROJECT_ROOT / "var").mkdir(exist_ok=True)


def migrate(settings: Settings) -> None:
    _ensure_sqlite_folder(settings.database_url)
    upgrade(settings.database_url)
    log.info("database schema is at the latest revision")


def seed_demo(settings: Settings) -> None:
    """The demo organisation, records, tickets and console accounts (bot/demo), each part
    loaded if missing; the console accounts sign in only with HELPDESK_DEV_SIGNIN=1."""
    db = Database(settings.database_url)
    try:
        seeded = seed_the_demo(db, policy_from_settings(settings), dt.date.today())
    finally:
        db.dispose()
    for line in seeded.lines():
        log.info("%s", line)


def import_knowledge(settings: Settings, folder: Path | str = KNOWLEDGE_FOLDER) -> None:
    """Import a folder of articles; adds new articles and newer versions, never overwrites."""
    db = Database(settings.database_url)
    try:
        report = import_article_folder(db, folder)
    finally:
        db.dispose()
    print(report.summary())
    if not report.written:
        raise SystemExit(1)


def setup_knowledge(settings: Settings) -> None:
    """The starting library (knowledge/articles), when the checkout has one."""
    if KNOWLEDGE_FOLDER.is_dir():
        import_knowledge(settings, KNOWLEDGE_FOLDER)


def export_knowledge(settings: Settings, folder: str) -> None:
    db = Database(settings.database_url)
    try:
        written = export_article_folder(db, folder)
    finally:
        db.dispose()
    print(f"knowledge export: {len(written)} articles written to {folder}")


def ask_knowledge(settings: Settings, question: str, department: str | None,
                  after: int | None) -> None:
    """Print, as JSON, the ranked topics and whether the assistant would answer (no record)."""
    db = Database(settings.database_url)
    try:
        index = IndexCache(refresh_seconds=0).get(db)
    finally:
        db.dispose()
    decision = decide(index, question, department.upper() if department else None, after)
    print(json.dumps({"question": question, **decision.as_json()}, indent=2,
                     ensure_ascii=False))


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
    "setup": [migrate, seed_demo, setup_knowledge],
    "refresh-bank-holidays": [refresh_bank_holidays],
}

KNOWLEDGE_COMMANDS = {"kb-import": "FOLDER", "kb-export": "FOLDER", "kb-ask": "a QUESTION"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["report"]:  # its own options: bot/insight/report_command.py
        from bot.insight.report_command import main as report_main
        return report_main(argv[1:])
    if argv and argv[0] in privacy_cli.COMMANDS:  # data protection (bot/privacy/cli.py)
        configure_logging()
        return privacy_cli.main(argv)
    parser = argparse.ArgumentParser(prog="python -m bot.cli", description=__doc__,
                                     epilog="Data protection: " + ", ".join(
                                         sorted(privacy_cli.COMMANDS)) + " (each with --help).")
    parser.add_argument("command", choices=sorted([*COMMANDS, *KNOWLEDGE_COMMANDS, "import-csv", "report"]))
    parser.add_argument("arguments", nargs="*",
                        help="import-csv: KIND FILE, or FOLDER; kb-import, kb-export: FOLDER; "
                             "kb-ask: QUESTION")
    parser.add_argument("--department", help="kb-ask: the caller's department code")
    parser.add_argument("--after", type=int, metavar="ARTICLE_ID",
                        help="kb-ask: the article of the previous answer (a follow-up)")
    args = parser.parse_args(argv)
    configure_logging()
    settings = Settings.from_env()
    if args.command == "import-csv":
        if len(args.arguments) == 2 and args.arguments[0] in KINDS:
            import_csv(settings, args.arguments[1], args.arguments[0])
        elif len(args.arguments) == 1:
            import_csv(settings, args.arguments[0])
        else:
            parser.error(f"import-csv needs KIND FILE (KIND one of {', '.join(KINDS)}) or FOLDER")
        return 0
    if args.command in KNOWLEDGE_COMMANDS:
        if len(args.arguments) != 1:
            parser.error(f"{args.command} needs {KNOWLEDGE_COMMANDS[args.command]}")
        if args.command == "kb-import":
            import_knowledge(settings, args.arguments[0])
        elif args.command == "kb-export":
            export_knowledge(settings, args.arguments[0])
        else:
            ask_knowledge(settings, args.arguments[0], args.department, args.after)
        return 0
    if args.arguments:
        parser.error(f"{args.command} takes no arguments")
    for step in COMMANDS[args.command]:
        step(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
