"""CSV import: row-by-row validation, a clear report of rejected rows, nothing half-imported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.backoffice.record_tables import (
    EmploymentRecord,
    LeaveEntitlement,
    Payslip,
    WorkingPattern,
)
from bot.cli import main as cli_main
from bot.records.csv_import import CsvImportError, import_folder, import_rows
from bot.storage.database import Database
from bot.storage.models import Employee
from tests.records_support import records_database

HEADER = (
    "employee_number,given_name,family_name,email,department_code,grade,line_manager_number,"
    "cost_centre_code,work_region,start_date,working_pattern,contracted_hours\n"
)
GOOD = HEADER + (
    'E3001,Joan,Lee,joan.lee@dds.example.gov.uk,DDS,HEO,E1003,DDS-101,england-and-wales,2024-01-08,"1,1,1,1,0.5,0,0",33.3\n'
    'E3002,Raj,Kumar,raj.kumar@dds.example.gov.uk,DDS,EO,E3001,DDS-102,scotland,2024-02-01,"1,1,1,1,1,0,0",37\n'
)
PAYSLIP_HEADER = "employee_number,period,pay_date,tax_code,gross,tax,ni,pension,other,net\n"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with records_database(request.param, tmp_path, employees=12) as database:
        yield database


def counts(db: Database) -> tuple[int, ...]:
    with db.unit_of_work() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(m)) or 0
            for m in (Employee, EmploymentRecord, WorkingPattern, Payslip, LeaveEntitlement)
        )


def test_a_clean_file_is_imported_with_patterns_and_managers(db: Database) -> None:
    before = counts(db)
    report = import_rows(db, "employees", GOOD)
    assert report.written and (report.rows, report.inserted, report.updated) == (2, 2, 0)
    assert report.summary() == "employees: 2 rows imported (2 new, 0 updated)"
    assert counts(db)[:3] == (before[0] + 2, before[1] + 2, before[2] + 2)
    with db.unit_of_work() as session:
        joan, raj = (
            session.scalar(select(Employee).where(Employee.employee_number == n))
            for n in ("E3001", "E3002")
        )
        assert raj.line_manager_id == joan.id  # type: ignore[union-attr]
        pattern = session.scalar(
            select(WorkingPattern).where(WorkingPattern.employee_id == joan.id)
        )  # type: ignore[union-attr]
        assert (pattern.friday, pattern.contracted_hours) == (Decimal("0.5"), Decimal("33.3"))  # type: ignore[union-attr]


def test_reimporting_updates_instead_of_duplicating(db: Database) -> None:
    import_rows(db, "employees", GOOD)
    before = counts(db)
    report = import_rows(db, "employees", GOOD.replace("Joan,Lee", "Joanne,Lee"))
    assert (report.inserted, report.updated) == (0, 2) and counts(db) == before
    with db.unit_of_work() as session:
        assert (
            session.scalar(select(Employee.given_name).where(Employee.employee_number == "E3001"))
            == "Joanne"
        )


BAD_ROWS = [
    (
        'E3003,Ann,Cole,not-an-email,DDS,EO,,DDS-101,england-and-wales,2024-01-08,"1,1,1,1,1,0,0",37',
        "email",
    ),
    (
        'E3003,Ann,Cole,ann@x.gov.uk,DDS,EO,,DDS-101,wales,2024-01-08,"1,1,1,1,1,0,0",37',
        "work_region",
    ),
    (
        'E3003,Ann,Cole,ann@x.gov.uk,DDS,EO,,DDS-101,england-and-wales,2024-13-01,"1,1,1,1,1,0,0",37',
        "start_date",
    ),
    (
        'E3003,Ann,Cole,ann@x.gov.uk,DDS,EO,,DDS-101,england-and-wales,2024-01-08,"1,1,1",37',
        "working_pattern",
    ),
    (
        'E3003,Ann,Cole,ann@x.gov.uk,DDS,EO,,DDS-101,england-and-wales,2024-01-08,"1,1,1,1,0.7,0,0",37',
        "working_pattern",
    ),
    (
        'E3003,Ann,Cole,ann@x.gov.uk,DDS,EO,,DDS-101,england-and-wales,2024-01-08,"1,1,1,1,1,0,0",90',
        "contracted_hours",
    ),
    (
        'X3003,Ann,Cole,ann@x.gov.uk,DDS,EO,,DDS-101,england-and-wales,2024-01-08,"1,1,1,1,1,0,0",37',
        "employee_number",
    ),
    (
        'E3003,Ann,Cole,ann@x.gov.uk,ZZZ,EO,,DDS-101,england-and-wales,2024-01-08,"1,1,1,1,1,0,0",37',
        "department_code",
    ),
    (
        'E3003,Ann,Cole,ann@x.gov.uk,DDS,EO,,MPW-201,england-and-wales,2024-01-08,"1,1,1,1,1,0,0",37',
        "cost_centre_code",
    ),
    (
        'E3003,Ann,Cole,ann@x.gov.uk,DDS,EO,E9999,DDS-101,england-and-wales,2024-01-08,"1,1,1,1,1,0,0",37',
        "line_manager_number",
    ),
    (
        'E3003,Ann,Cole,ann@x.gov.uk,DDS,EO,E3003,DDS-101,england-and-wales,2024-01-08,"1,1,1,1,1,0,0",37',
        "line_manager_number",
    ),
    (
        'E3003,Ann,Cole,alice.hughes@dds.example.gov.uk,DDS,EO,,DDS-101,england-and-wales,2024-01-08,"1,1,1,1,1,0,0",37',
        "email",
    ),
    (
        'E3003,,Cole,ann@x.gov.uk,DDS,EO,,DDS-101,england-and-wales,2024-01-08,"1,1,1,1,1,0,0",37',
        "given_name",
    ),
    ("E3003,Ann,Cole,ann@x.gov.uk,DDS,EO,,DDS-101,england-and-wales,2024-01-08", "row"),
    (
        'E3001,Ann,Cole,ann@x.gov.uk,DDS,EO,,DDS-101,england-and-wales,2024-01-08,"1,1,1,1,1,0,0",37',
        "row",
    ),  # duplicate
]


@pytest.mark.parametrize(
    "row, column", BAD_ROWS, ids=[c + str(i) for i, (_, c) in enumerate(BAD_ROWS)]
)
def test_one_bad_row_rejects_the_file_and_says_which_row_and_why(
    db: Database, row: str, column: str
) -> None:
    before = counts(db)
    report = import_rows(db, "employees", GOOD + row + "\n")
    assert not report.written
    assert [(r.line, r.column) for r in report.rejected] == [(4, column)]
    assert counts(db) == before  # the two good rows were not written either
    assert report.summary().startswith(
        "employees: nothing imported; 1 of 3 rows rejected\n  line 4: " + column
    )


def test_the_report_never_repeats_the_rejected_values(db: Database) -> None:
    report = import_rows(db, "employees", GOOD + BAD_ROWS[0][0] + "\n")
    assert "not-an-email" not in report.summary()


def test_payslips_must_add_up_and_belong_to_someone(db: Database) -> None:
    rows = PAYSLIP_HEADER + (
        "E1001,2027-01,2027-01-29,1257L,3041.67,365.68,159.49,165.77,15.00,2335.73\n"
        "E1001,2027-02,2027-02-26,1257L,3041.67,365.68,159.49,165.77,15.00,2335.74\n"
        "E9999,2027-01,2027-01-29,1257L,100.00,0,0,0,0,100.00\n"
        "E1002,2027-01,2026-12-01,1257L,100.00,0,0,0,0,100.00\n"
        "E1002,2027-02,2027-02-26,1257L,100.001,0,0,0,0,100.00\n"
    )
    before = counts(db)
    report = import_rows(db, "payslips", rows)
    assert [(r.line, r.column) for r in report.rejected] == [
        (3, "net"),
        (4, "employee_number"),
        (5, "pay_date"),
        (6, "gross"),
    ]
    assert counts(db) == before
    good = import_rows(db, "payslips", PAYSLIP_HEADER + rows.splitlines()[1] + "\n")
    assert good.written
    with db.unit_of_work() as session:
        net = session.scalar(
            select(Payslip.net_pence).where(Payslip.period_start == dt.date(2027, 1, 1))
        )
    assert net == 233_573


def test_leave_entitlements(db: Database) -> None:
    text = (
        "employee_number,leave_type,year_start,year_end,entitlement_days,carried_over_days\n"
        "E1001,flexi,2026-04-01,2027-03-31,12,0\n"
    )
    assert import_rows(db, "leave_entitlements", text).written
    bad = text.replace("12,0", "12.3,0")
    assert [r.column for r in import_rows(db, "leave_entitlements", bad).rejected] == [
        "entitlement_days"
    ]


@pytest.mark.parametrize(
    "text", ["", "employee_number,given_name\nE1,x\n", HEADER.replace("email", "e_mail") + "x\n"]
)
def test_a_wrong_header_is_refused_before_any_row(db: Database, text: str) -> None:
    with pytest.raises(CsvImportError):
        import_rows(db, "employees", text)


def test_an_error_while_writing_leaves_nothing_behind(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.records import csv_import

    def explode(session, rows):  # type: ignore[no-untyped-def]
        csv_import._write_employees(session, rows[:1])
        session.flush()
        raise RuntimeError("disk full")

    monkeypatch.setitem(
        csv_import.KINDS,
        "employees",
        csv_import.KINDS["employees"].__class__(
            csv_import.EmployeeRow,
            csv_import.KINDS["employees"].key,
            csv_import.KINDS["employees"].check,
            explode,
        ),
    )
    before = counts(db)
    with pytest.raises(RuntimeError):
        import_rows(db, "employees", GOOD)
    assert counts(db) == before


def test_the_cli_imports_a_folder_in_order_and_fails_on_rejections(
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "extract"
    folder.mkdir()
    (folder / "employees.csv").write_text(GOOD)
    (folder / "payslips.csv").write_text(
        PAYSLIP_HEADER + "E3001,2027-01,2027-01-29,1257L,100,10,5,5,0,80\n"
    )
    monkeypatch.setenv("HELPDESK_DATABASE_URL", db.url)
    assert cli_main(["import-csv", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "employees: 2 rows imported" in out and "payslips: 1 rows imported" in out
    (folder / "payslips.csv").write_text(
        PAYSLIP_HEADER + "E3001,2027-02,2027-02-26,1257L,100,10,5,5,0,81\n"
    )
    with pytest.raises(SystemExit):
        cli_main(["import-csv", "payslips", str(folder / "payslips.csv")])
    assert "line 2: net" in capsys.readouterr().out
    assert [r.kind for r in import_folder(db, folder)] == ["employees", "payslips"]
