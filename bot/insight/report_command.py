"""`python -m bot.cli report --from 2026-12-01 --to 2026-12-07 --format json|csv`: the
dashboard's numbers on standard output (the same `bot.insight.measures.report`)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from bot.config import Settings
from bot.storage.database import Database

from .export import to_csv
from .measures import GRANULARITIES, Filters, report


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.cli report", description=__doc__)
    parser.add_argument("--from", dest="start", type=_date, required=True)
    parser.add_argument("--to", dest="end", type=_date, required=True, help="inclusive")
    parser.add_argument("--format", choices=("json", "csv"), default="json")
    parser.add_argument("--by", choices=GRANULARITIES, default="day")
    parser.add_argument("--department", help="department code, e.g. DWP")
    parser.add_argument("--channel", choices=("widget", "msteams", "slack"))
    parser.add_argument("--intent")
    args = parser.parse_args(argv)
    try:
        filters = Filters(args.start, args.end, args.department, args.channel, args.intent,
                          args.by)
    except ValueError as error:
        parser.error(str(error))
    settings = Settings.from_env()
    db = Database(settings.database_url)
    try:
        with db.unit_of_work() as session:
            result = report(session, filters, dt.datetime.now(dt.timezone.utc),
                            dt.timedelta(minutes=settings.abandon_after_minutes))
    finally:
        db.dispose()
    if args.format == "csv":
        sys.stdout.write(to_csv(result))
    else:
        json.dump(result.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0
