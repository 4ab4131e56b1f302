"""Data protection commands of `python -m bot.cli`:

    verify-audit [--expect SEQ:HASH]     check the audit trail's hash chain (exit 1 if broken)
    audit-export [--format jsonl|csv] [--since DATE] [--until DATE] [--output FILE]
                                         the audit trail for a SIEM (the export is audited)
    db-grants ROLE                       PostgreSQL: the application role's rights (INSERT-only
                                         on the audit trail); run by the owner after migrating
    retention [--run]                    the retention schedule and what is due (--run: apply it)
    sar-export EMPLOYEE [--output FILE]  subject access: everything held about an employee, one
                                         zip (JSON + readable HTML); recorded and audited
    erase EMPLOYEE [--confirm]           erasure: what may be erased, and what is kept and why
                                         (--confirm erases)
    rectify EMPLOYEE STATEMENT           rectification: recorded; noted on open tickets
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings
from bot.identity import Principal
from bot.storage.database import Database

from . import audit_trail, db_roles, erasure, retention, subject_access

log = logging.getLogger("bot.privacy.cli")

CLI_TENANT = "helpdesk"


def operator() -> Principal:
    """Who a command line acts as, in the audit trail: the operating-system user."""
    import getpass

    try:
        user = getpass.getuser()
    except OSError:
        user = "unknown"
    return Principal("cli", CLI_TENANT, user[:64])


def _expect(value: str | None) -> tuple[int, str] | None:
    if not value:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise SystemExit("--expect takes SEQ:HASH, a row's seq and its 64-character row_hash")
    return int(seq), digest.lower()


def verify_audit(settings: Settings, args: argparse.Namespace) -> int:
    db = Database(settings.database_url)
    try:
        result = audit_trail.verify(db, _expect(args.expect))
    finally:
        db.dispose()
    if result.ok:
        print(f"audit trail intact: {result.rows} rows, seq {result.first_seq} to "
              f"{result.last_seq}, last hash {result.last_hash}")
        return 0
    print(f"audit trail BROKEN ({len(result.problems)} problems, {result.rows} rows read):")
    for problem in result.problems:
        print(f"  - {problem}")
    return 1


def audit_export(settings: Settings, args: argparse.Namespace) -> int:
    try:
        query = audit_trail.AuditQuery.from_params({"since": args.since or "",
                                                    "until": args.until or ""})
    except audit_trail.InvalidAuditQuery as error:
        raise SystemExit(str(error)) from None
    render, _ = audit_trail.FORMATS[args.format]
    db = Database(settings.database_url)
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    count = 0
    try:
        if args.format == "csv":
            out.write(audit_trail.csv_header())
        for batch in audit_trail.export_rows(db, operator(), query, args.format):
            out.write(render(batch))
            count += len(batch)
    finally:
        if out is not sys.stdout:
            out.close()
        db.dispose()
    log.info("audit export: %d rows", count)
    return 0


def db_grants(settings: Settings, args: argparse.Namespace) -> int:
    try:
        db_roles.grant_application_role(settings.database_url, args.role)
    except db_roles.GrantError as error:
        log.error("%s", error)
        return 1
    log.info("granted the application's rights to %s (INSERT-only on the audit trail)",
             args.role)
    return 0


def retention_command(settings: Settings, args: argparse.Namespace) -> int:
    try:
        schedule = retention.RetentionSchedule.parse(settings.retention_schedule)
    except retention.InvalidSchedule as error:
        log.error("HELPDESK_RETENTION: %s", error)
        return 2
    print(f"retention schedule (days): {schedule.describe()}")
    db = Database(settings.database_url)
    try:
        report = retention.run(db, schedule, settings.tracker_store_url, started_by="cli",
                               dry_run=not args.run, actor=operator())
    finally:
        db.dispose()
    print(("done: " if args.run else "due (nothing changed; --run applies it): ")
          + report.summary())
    return 0


def sar_export(settings: Settings, args: argparse.Namespace) -> int:
    db = Database(settings.database_url)
    try:
        archive = subject_access.export(db, settings.tracker_store_url, args.employee,
                                        operator())
    except subject_access.EmployeeNotFound as error:
        log.error("%s", error)
        return 1
    finally:
        db.dispose()
    path = Path(args.output or archive.filename)
    path.write_bytes(archive.archive)
    path.chmod(0o600)  # it is all of one person's data
    print(f"{path}  sha256 {archive.sha256}")
    print(", ".join(f"{k}={v}" for k, v in archive.counts.items()))
    return 0


def erase_command(settings: Settings, args: argparse.Namespace) -> int:
    db = Database(settings.database_url)
    try:
        report = erasure.erase(db, settings.tracker_store_url, args.employee, operator(),
                               preview=not args.confirm)
    except subject_access.EmployeeNotFound as error:
        log.error("%s", error)
        return 1
    finally:
        db.dispose()
    print(("erased: " if args.confirm else "would erase (--confirm erases): ")
          + ", ".join(f"{k}={v}" for k, v in report.erased.items()))
    for what, why in report.kept.items():
        print(f"kept {what}: {why}")
    return 0


def rectify_command(settings: Settings, args: argparse.Namespace) -> int:
    db = Database(settings.database_url)
    try:
        noted = erasure.rectify(db, args.employee, args.statement, operator())
    except (subject_access.EmployeeNotFound, ValueError) as error:
        log.error("%s", error)
        return 1
    finally:
        db.dispose()
    print(f"rectification recorded; noted on {noted} open tickets; records held in the systems "
          "of record are corrected there")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m bot.cli", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = top.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify-audit", help="check the audit trail's hash chain")
    verify.add_argument("--expect", metavar="SEQ:HASH",
                        help="a row's seq and row_hash recorded outside the database")
    export = commands.add_parser("audit-export", help="the audit trail for a SIEM")
    export.add_argument("--format", choices=sorted(audit_trail.FORMATS), default="jsonl")
    export.add_argument("--since", metavar="DATE")
    export.add_argument("--until", metavar="DATE")
    export.add_argument("--output", metavar="FILE")
    grants = commands.add_parser("db-grants", help="PostgreSQL: the application role's rights")
    grants.add_argument("role")
    keep = commands.add_parser("retention", help="the retention schedule (--run applies it)")
    keep.add_argument("--run", action="store_true", help="delete and anonymise what is due")
    sar = commands.add_parser("sar-export", help="subject access: one employee's archive")
    sar.add_argument("employee", help="the employee number, e.g. E1001")
    sar.add_argument("--output", metavar="FILE")
    erase = commands.add_parser("erase", help="erasure, where the law allows")
    erase.add_argument("employee")
    erase.add_argument("--confirm", action="store_true", help="erase (else: a preview)")
    rect = commands.add_parser("rectify", help="rectification: a supplementary statement")
    rect.add_argument("employee")
    rect.add_argument("statement")
    return top


HANDLERS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "verify-audit": verify_audit,
    "audit-export": audit_export,
    "db-grants": db_grants,
    "retention": retention_command,
    "sar-export": sar_export,
    "erase": erase_command,
    "rectify": rectify_command,
}
COMMANDS = frozenset(HANDLERS)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    return HANDLERS[args.command](Settings.from_env(), args)
