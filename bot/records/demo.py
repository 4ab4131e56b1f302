"""The deterministic demo organisation: 200 employees in four departments, a year of history.

`load_records_demo(session, today)` builds on `bot.demo_data` (the five sign-in employees,
whose widget identities and leave numbers tests rely on, are kept exactly as they are) and
adds: two more departments, cost centres, 195 generated employees, and for everyone contracts,
working patterns (full-time and part-time, half days), salaries and pay bands, tax codes,
twelve monthly payslips, pay dates, pension memberships, personal details (fictional; phone
numbers from Ofcom's drama range), sickness, expense claims, suppliers, purchase orders and
invoices. The same `today` and `seed` always give the same data. Loading is idempotent.

Well-known records for demos and tests:
- Alice Hughes (E1001, DDS, cost centre DDS-101): PO 4500012345 (Acme Office Supplies Ltd)
  and invoice INV-20931 from Acme, both in DDS-101. Another supplier's INV-20931 and
  PO 4500067890 belong to MPW-201, which Alice must never see.
- Ben Okafor (E1002): part-time (Monday to Thursday and Friday morning); his tax code changed
  to an emergency code last month.
- Chloe Singh (E1003, Scotland) manages Alice and Ben; Daniel Evans (E1004, Northern
  Ireland) manages Fatima Rahman (E1005, part-time Monday to Wednesday).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.bank_holidays import load as load_bank_holidays
from bot.demo_data import DEMO_EMPLOYEES, leave_year, load_demo_data
from bot.storage.models import (
    BookingStatus,
    Department,
    Employee,
    LeaveBooking,
    LeaveEntitlement,
    LeaveType,
)
from bot.working_days import count_leave_days

from .models import (
    ClaimStatus,
    CostCentre,
    EmploymentRecord,
    ExpenseClaim,
    ExpenseLine,
    ExpenseType,
    InvoiceStatus,
    PayDate,
    PayRange,
    Payslip,
    PensionMembership,
    PensionScheme,
    PersonalDetails,
    PurchaseOrder,
    PurchaseOrderStatus,
    Region,
    SalaryRecord,
    SicknessAbsence,
    SicknessStatus,
    Supplier,
    SupplierInvoice,
    TaxBasis,
    TaxCodeRecord,
    WorkingPattern,
)
from .pay import last_working_day

DEMO_SEED = 20261126
D = Decimal
FULL = (D(1), D(1), D(1), D(1), D(1), D(0), D(0))
FOUR_AND_A_HALF = (D(1), D(1), D(1), D(1), D("0.5"), D(0), D(0))
FOUR_DAYS = (D(1), D(1), D(1), D(1), D(0), D(0), D(0))
THREE_DAYS = (D(1), D(1), D(1), D(0), D(0), D(0), D(0))
PATTERN_HOURS = {
    FULL: D(37),
    FOUR_AND_A_HALF: D("33.3"),
    FOUR_DAYS: D("29.6"),
    THREE_DAYS: D("22.2"),
}

NEW_DEPARTMENTS = {
    "OSS": "Office for Statistical Services",
    "AFA": "Agriculture and Fisheries Agency",
}
DEPARTMENT_REGIONS = {  # where each department's staff mostly work
    "DDS": (Region.ENGLAND_AND_WALES,) * 8 + (Region.SCOTLAND,) * 2,
    "MPW": (Region.ENGLAND_AND_WALES,) * 6 + (Region.NORTHERN_IRELAND,) * 4,
    "OSS": (Region.ENGLAND_AND_WALES,) * 5 + (Region.SCOTLAND,) * 5,
    "AFA": (Region.SCOTLAND,) * 4
    + (Region.NORTHERN_IRELAND,) * 3
    + (Region.ENGLAND_AND_WALES,) * 3,
}
PAY_DAY_RULE = {"DDS": "last", "OSS": "last", "MPW": 25, "AFA": 25}
GRADES = {  # grade: (band minimum, band maximum, annual leave days) in pounds
    "AA": (23_000, 24_500, 25),
    "AO": (24_000, 26_500, 25),
    "EO": (28_000, 31_500, 25),
    "HEO": (34_000, 38_500, 27),
    "SEO": (40_000, 45_500, 28),
    "G7": (56_000, 66_000, 30),
    "G6": (70_000, 82_000, 30),
}
GRADE_WEIGHTS = (("AA", 6), ("AO", 20), ("EO", 25), ("HEO", 22), ("SEO", 14), ("G7", 9), ("G6", 4))
GIVEN = (
    "Aisha",
    "Callum",
    "Priya",
    "Owen",
    "Grace",
    "Rhys",
    "Hannah",
    "Tom",
    "Sofia",
    "Liam",
    "Megan",
    "Arjun",
    "Eilidh",
    "Jack",
    "Zara",
    "Niall",
    "Ruth",
    "Kofi",
    "Isla",
    "Sean",
    "Chen",
    "Bethan",
    "Omar",
    "Niamh",
    "Harry",
    "Amara",
    "Ewan",
    "Lucy",
    "Tariq",
    "Ciara",
)
FAMILY = (
    "Patel",
    "Campbell",
    "Jones",
    "O'Neill",
    "Williams",
    "Murray",
    "Khan",
    "Davies",
    "Brown",
    "McLaughlin",
    "Taylor",
    "Ahmed",
    "Robertson",
    "Wilson",
    "Thomas",
    "Kelly",
    "Evans-Clarke",
    "Begum",
    "Stewart",
    "Roberts",
    "Lewis",
    "Quinn",
    "Walker",
    "Hussain",
)
TOWNS = {
    Region.ENGLAND_AND_WALES: (
        ("Leeds", "LS1"),
        ("Bristol", "BS1"),
        ("Cardiff", "CF10"),
        ("Newport", "NP20"),
        ("Sheffield", "S1"),
        ("London", "SW1A"),
    ),
    Region.SCOTLAND: (("Edinburgh", "EH1"), ("Glasgow", "G2"), ("Dundee", "DD1")),
    Region.NORTHERN_IRELAND: (("Belfast", "BT1"), ("Derry", "BT48"), ("Newry", "BT34")),
}
STREETS = (
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "Victoria Street",
    "Park Avenue",
    "Queen Street",
    "King's Road",
    "Castle Terrace",
    "Riverside Walk",
)
SUPPLIERS = (
    "Acme Office Supplies Ltd",
    "Northwind Facilities plc",
    "Crown Print Services",
    "Bluebell Catering Ltd",
    "Harbour IT Consulting",
    "Meridian Travel Management",
    "Thistle Cleaning Services",
    "Causeway Security Ltd",
    "Pennine Furniture Co",
    "Greenleaf Grounds Maintenance",
    "Orbit Cloud Hosting",
    "Lighthouse Training Ltd",
    "Summit Legal LLP",
    "Kestrel Couriers",
    "Wren & Co Stationers",
)
PO_ITEMS = (
    "laptops for new starters",
    "printer toner and paper",
    "office chairs",
    "conference room hire",
    "cloud hosting for Q3",
    "security guarding (monthly)",
    "staff training: project delivery",
    "legal advice on a procurement",
    "courier services",
    "catering for the all-staff day",
    "cleaning contract (quarterly)",
    "grounds maintenance",
    "accessibility audit of the website",
)


@dataclass(frozen=True)
class Person:
    number: str
    given: str
    family: str
    department: str
    grade: str
    manager: str | None


ORIGINALS = {  # the sign-in employees' record facts (their leave is bot/demo_data.py's)
    "E1001": dict(
        start=dt.date(2019, 9, 2),
        cc="DDS-101",
        region=Region.ENGLAND_AND_WALES,
        pattern=FULL,
        salary=36_500_00,
        tax=("1257L", TaxBasis.CUMULATIVE),
        previous_tax=None,
        scheme=PensionScheme.ALPHA,
        town=("Leeds", "LS1 4AB"),
        last4="4821",
    ),
    "E1002": dict(
        start=dt.date(2022, 1, 10),
        cc="DDS-101",
        region=Region.ENGLAND_AND_WALES,
        pattern=FOUR_AND_A_HALF,
        salary=29_800_00,
        tax=("1257L M1", TaxBasis.WEEK1_MONTH1),
        previous_tax="1257L",
        scheme=PensionScheme.ALPHA,
        town=("Bristol", "BS1 5TR"),
        last4="0397",
    ),
    "E1003": dict(
        start=dt.date(2011, 4, 4),
        cc="DDS-102",
        region=Region.SCOTLAND,
        pattern=FULL,
        salary=61_250_00,
        tax=("S1257L", TaxBasis.CUMULATIVE),
        previous_tax=None,
        scheme=PensionScheme.CLASSIC,
        town=("Edinburgh", "EH1 3QR"),
        last4="7710",
    ),
    "E1004": dict(
        start=dt.date(2015, 6, 1),
        cc="MPW-201",
        region=Region.NORTHERN_IRELAND,
        pattern=FULL,
        salary=43_100_00,
        tax=("K475", TaxBasis.CUMULATIVE),
        previous_tax="1257L",
        scheme=PensionScheme.ALPHA,
        town=("Belfast", "BT1 5GS"),
        last4="5562",
    ),
    "E1005": dict(
        start=dt.date(2023, 3, 6),
        cc="MPW-201",
        region=Region.ENGLAND_AND_WALES,
        pattern=THREE_DAYS,
        salary=25_200_00,
        tax=("1257L", TaxBasis.CUMULATIVE),
        previous_tax=None,
        scheme=PensionScheme.PARTNERSHIP,
        town=("Cardiff", "CF10 1EP"),
        last4="1234",
    ),
}
# Only these sign-in employees get flexi and privilege entitlements: tests assert that Alice's
# and Ben's balances are annual leave alone.
FLEXI_FOR_ORIGINALS = ("E1003", "E1004", "E1005")


def _round_half(value: Decimal) -> Decimal:
    return (value * 2).quantize(D(1), rounding=ROUND_HALF_UP) / 2


def alpha_rate(annual_full_time_pence: int) -> Decimal:
    """alpha member contribution tiers (by full-time equivalent pensionable earnings)."""
    pounds = annual_full_time_pence / 100
    for limit, rate in ((32_000, "4.60"), (56_000, "5.45"), (150_000, "7.35")):
        if pounds <= limit:
            return D(rate)
    return D("8.05")


def monthly_pay(
    annual_pence: int, fte: Decimal, rate: Decimal, scottish: bool, allowance_pence: int = 1_257_000
) -> tuple[int, int, int, int]:
    """(gross, tax, NI, pension) for one month, a simplified 2026-27 PAYE calculation."""
    gross = int((D(annual_pence) * fte / 12).quantize(D(1), rounding=ROUND_HALF_UP))
    pension = int((D(gross) * rate / 100).quantize(D(1), rounding=ROUND_HALF_UP))
    taxable = max(0, gross - pension - allowance_pence // 12)
    basic_band = 3_770_000 // 12
    rate_basic = D("0.20") if not scottish else D("0.21")
    tax = int(
        D(min(taxable, basic_band)) * rate_basic + D(max(0, taxable - basic_band)) * D("0.40")
    )
    ni = int(
        max(0, min(gross, 418_900) - 104_800) * D("0.08") + max(0, gross - 418_900) * D("0.02")
    )
    return gross, tax, ni, pension


def _people(rng: random.Random, count: int) -> list[Person]:
    originals = [
        Person(e.number, e.given_name, e.family_name, e.department, e.grade, e.manager)
        for e in DEMO_EMPLOYEES
    ]
    departments = ("DDS", "MPW", "OSS", "AFA")
    people: list[Person] = list(originals)
    managers: dict[str, list[str]] = {d: [] for d in departments}
    grades = [g for g, w in GRADE_WEIGHTS for _ in range(w)]
    for index in range(count - len(originals)):
        department = departments[index % 4]
        grade = "G6" if index < 8 else ("G7" if index < 24 else rng.choice(grades[:-13]))
        pool = managers[department]
        manager = rng.choice(pool) if pool and grade not in ("G6",) else None
        number = f"E{2001 + index}"
        given, family = GIVEN[index % len(GIVEN)], FAMILY[(index * 7) % len(FAMILY)]
        people.append(Person(number, given, family, department, grade, manager))
        if grade in ("G6", "G7", "SEO"):
            pool.append(number)
    return people


def load_records_demo(
    session: Session, today: dt.date, *, employees: int = 200, seed: int = DEMO_SEED
) -> bool:
    """Add the records demo unless present; True when something was added."""
    load_demo_data(session, today)
    if session.scalar(select(CostCentre.id).where(CostCentre.code == "DDS-101")):
        return False
    rng = random.Random(seed)
    holidays = load_bank_holidays()
    departments = {d.code: d for d in session.scalars(select(Department))}
    for code, name in NEW_DEPARTMENTS.items():
        departments[code] = Department(code=code, name=name)
        session.add(departments[code])
    session.flush()

    cost_centres: dict[str, CostCentre] = {}
    for index, code in enumerate(("DDS", "MPW", "OSS", "AFA")):
        for n in range(1, 4):
            cc = CostCentre(
                code=f"{code}-{(index + 1) * 100 + n}",
                name=f"{departments[code].name}: {('Operations', 'Policy', 'Corporate')[n - 1]}",
                department_id=departments[code].id,
            )
            cost_centres[cc.code] = cc
            session.add(cc)
    year_start, year_end = leave_year(today)
    history_start = year_start - relativedelta(years=1)
    for department in departments.values():
        for grade, (low, high, _) in GRADES.items():
            session.add(
                PayRange(
                    department_id=department.id,
                    grade=grade,
                    effective_from=history_start,
                    minimum_pence=low * 100,
                    maximum_pence=high * 100,
                )
            )
    session.flush()

    people = _people(rng, employees)
    existing = {e.employee_number: e for e in session.scalars(select(Employee))}
    for person in people:
        if person.number in existing:
            continue
        employee = Employee(
            employee_number=person.number,
            given_name=person.given,
            family_name=person.family,
            email=f"{person.given}.{person.family}.{person.number}@{person.department.lower()}.example.gov.uk".lower().replace(
                "'", ""
            ),
            department_id=departments[person.department].id,
            grade=person.grade,
            line_manager_id=existing[person.manager].id if person.manager else None,
        )
        session.add(employee)
        session.flush()
        existing[person.number] = employee

    # twenty months back: the whole of the last tax year (for P60s) and a year of history
    months = [(today.replace(day=1) - relativedelta(months=m)) for m in range(20, -1, -1)]
    future = [(today.replace(day=1) + relativedelta(months=m)) for m in range(1, 4)]
    for department in departments.values():
        rule = PAY_DAY_RULE[department.code]
        for month in months + future:
            if rule == "last":
                paid = last_working_day(month.year, month.month, holidays, "england-and-wales")
            else:
                paid = month.replace(day=rule)
                closed = holidays.dates("england-and-wales", month, paid)
                while paid.weekday() >= 5 or paid in closed:
                    paid -= dt.timedelta(days=1)
            session.add(PayDate(department_id=department.id, period_start=month, pay_date=paid))
    session.flush()
    pay_dates = {
        (p.department_id, p.period_start): p.pay_date for p in session.scalars(select(PayDate))
    }

    originals = {e.number for e in DEMO_EMPLOYEES}
    for person in people:
        employee = existing[person.number]
        _records_for(
            session,
            rng,
            person,
            employee,
            person.number in originals,
            cost_centres,
            departments,
            today,
            year_start,
            year_end,
            months,
            pay_dates,
            holidays,
        )
    _finance(session, rng, cost_centres, today)
    return True


def _records_for(
    session: Session,
    rng: random.Random,
    person: Person,
    employee: Employee,
    original: bool,
    cost_centres: dict[str, CostCentre],
    departments: dict[str, Department],
    today: dt.date,
    year_start: dt.date,
    year_end: dt.date,
    months: list[dt.date],
    pay_dates: dict,
    holidays,
) -> None:  # type: ignore[no-untyped-def]
    fixed = ORIGINALS.get(person.number)
    if fixed:
        cc, region, pattern = cost_centres[fixed["cc"]], fixed["region"], fixed["pattern"]
    else:
        index = int(person.number[1:])
        cc = cost_centres[
            f"{person.department}-{('DDS', 'MPW', 'OSS', 'AFA').index(person.department) * 100 + 100 + 1 + index % 3}"
        ]
        region = rng.choice(DEPARTMENT_REGIONS[person.department])
        pattern = rng.choices((FULL, FOUR_AND_A_HALF, FOUR_DAYS, THREE_DAYS), (75, 10, 10, 5))[0]
    started = fixed["start"] if fixed else today - dt.timedelta(days=rng.randint(400, 9000))
    session.add(
        EmploymentRecord(
            employee_id=employee.id, cost_centre_id=cc.id, work_region=region, start_date=started
        )
    )
    session.add(
        WorkingPattern(
            employee_id=employee.id,
            effective_from=started,
            monday=pattern[0],
            tuesday=pattern[1],
            wednesday=pattern[2],
            thursday=pattern[3],
            friday=pattern[4],
            saturday=pattern[5],
            sunday=pattern[6],
            contracted_hours=PATTERN_HOURS[pattern],
        )
    )
    fte = PATTERN_HOURS[pattern] / D(37)
    low, high, leave_days = GRADES[person.grade]
    salary = fixed["salary"] if fixed else rng.randrange(low, high, 50) * 100
    award_day = (year_start - relativedelta(years=1)).replace(month=8, day=1)
    if award_day > today - relativedelta(months=3):
        award_day = award_day - relativedelta(years=1)
    session.add(
        SalaryRecord(
            employee_id=employee.id,
            effective_from=started,
            annual_salary_pence=int(salary / D("1.05")) // 100 * 100,
            pay_band=person.grade,
            reason="appointment",
        )
    )
    session.add(
        SalaryRecord(
            employee_id=employee.id,
            effective_from=max(award_day, started + dt.timedelta(days=1)),
            annual_salary_pence=salary,
            pay_band=person.grade,
            reason="pay award",
        )
    )

    scheme = (
        fixed["scheme"]
        if fixed
        else rng.choices(
            (
                PensionScheme.ALPHA,
                PensionScheme.CLASSIC,
                PensionScheme.PARTNERSHIP,
                PensionScheme.OPTED_OUT,
            ),
            (85, 7, 3, 5),
        )[0]
    )
    member_rate = {
        PensionScheme.ALPHA: alpha_rate(salary),
        PensionScheme.CLASSIC: D("4.60"),
        PensionScheme.PARTNERSHIP: D("3.00"),
        PensionScheme.OPTED_OUT: D("0.00"),
    }[scheme]
    session.add(
        PensionMembership(
            employee_id=employee.id,
            scheme=scheme,
            member_rate=member_rate,
            employer_rate=D("28.97") if scheme is not PensionScheme.OPTED_OUT else D("0.00"),
            joined_on=started,
        )
    )

    if fixed:
        code, basis = fixed["tax"]
        previous = fixed["previous_tax"]
    else:
        code = "S1257L" if region is Region.SCOTLAND else "1257L"
        basis, previous = TaxBasis.CUMULATIVE, None
        if rng.random() < 0.08:
            previous, code = code, rng.choice(("1100L", "K212", "BR", "1257L M1"))
            basis = TaxBasis.WEEK1_MONTH1 if code.endswith("M1") else TaxBasis.CUMULATIVE
    change_day = today.replace(day=1) - relativedelta(months=1)
    if previous:
        session.add(
            TaxCodeRecord(
                employee_id=employee.id,
                effective_from=started,
                code=previous,
                basis=TaxBasis.CUMULATIVE,
                source="HMRC annual coding notice (P9)",
            )
        )
        session.add(
            TaxCodeRecord(
                employee_id=employee.id,
                effective_from=change_day,
                code=code,
                basis=basis,
                source="HMRC coding notice (P6)",
            )
        )
    else:
        session.add(
            TaxCodeRecord(
                employee_id=employee.id,
                effective_from=started,
                code=code,
                basis=basis,
                source="HMRC annual coding notice (P9)",
            )
        )

    for month in months:
        paid = pay_dates[(employee.department_id, month)]
        if paid > today or month < started:
            continue
        month_code = code if (not previous or month >= change_day) else previous
        allowance = (
            1_257_000 if "1257" in month_code else (1_100_000 if "1100" in month_code else 0)
        )
        gross, tax, ni, pension = monthly_pay(
            salary, fte, member_rate, region is Region.SCOTLAND, allowance
        )
        other = 1_500 if person.number in ("E1001",) or rng.random() < 0.1 else 0  # e.g. union subs
        session.add(
            Payslip(
                employee_id=employee.id,
                period_start=month,
                pay_date=paid,
                tax_code=month_code,
                gross_pence=gross,
                tax_pence=tax,
                ni_pence=ni,
                pension_pence=pension,
                other_deductions_pence=other,
                net_pence=gross - tax - ni - pension - other,
            )
        )

    town, postcode = (
        fixed["town"]
        if fixed
        else (
            lambda t: (
                t[0],
                f"{t[1]} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
            )
        )(rng.choice(TOWNS[region]))
    )
    session.add(
        PersonalDetails(
            employee_id=employee.id,
            preferred_name=None,
            address_line1=f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
            address_line2=None,
            town=town,
            postcode=postcode,
            phone=f"07700 900{rng.randint(0, 999):03d}",
            emergency_contact_name=f"{rng.choice(GIVEN)} {person.family}",
            emergency_contact_phone=f"07700 900{rng.randint(0, 999):03d}",
            bank_account_last4=fixed["last4"] if fixed else f"{rng.randint(0, 9999):04d}",
        )
    )

    if original:
        _original_claims(session, person.number, employee.id, today)
    elif rng.random() < 0.4:
        _claims(session, rng, employee.id, today)
    if original and person.number not in FLEXI_FOR_ORIGINALS:
        return  # Alice's and Ben's leave stays exactly as bot/demo_data.py made it
    if not original:
        days = _round_half(D(leave_days) * fte)
        session.add(
            LeaveEntitlement(
                employee_id=employee.id,
                leave_type=LeaveType.ANNUAL,
                year_start=year_start,
                year_end=year_end,
                entitlement_days=days,
                carried_over_days=D(rng.randint(0, 5)),
            )
        )
        _history(session, rng, employee.id, pattern, region, today, year_start, year_end, holidays)
    session.add(
        LeaveEntitlement(
            employee_id=employee.id,
            leave_type=LeaveType.PRIVILEGE,
            year_start=year_start,
            year_end=year_end,
            entitlement_days=D(1),
            carried_over_days=D(0),
        )
    )
    if person.grade in ("AA", "AO", "EO", "HEO", "SEO"):
        session.add(
            LeaveEntitlement(
                employee_id=employee.id,
                leave_type=LeaveType.FLEXI,
                year_start=year_start,
                year_end=year_end,
                entitlement_days=D(12),
                carried_over_days=D(0),
            )
        )
    if not original and rng.random() < 0.3:
        start = today - dt.timedelta(days=rng.randint(20, 300))
        session.add(
            SicknessAbsence(
                employee_id=employee.id,
                start_date=start,
                end_date=start + dt.timedelta(days=rng.randint(0, 6)),
                status=SicknessStatus.CLOSED,
                fit_note_received=rng.random() < 0.3,
            )
        )


def _history(
    session: Session,
    rng: random.Random,
    employee_id: int,
    pattern: tuple,
    region: Region,
    today: dt.date,
    year_start: dt.date,
    year_end: dt.date,
    holidays,
) -> None:  # type: ignore[no-untyped-def]
    """A year of annual leave: a few past weeks taken, something booked, maybe a request."""
    taken: list[tuple[dt.date, dt.date]] = []
    for _ in range(rng.randint(2, 5)):
        start = year_start + dt.timedelta(days=rng.randint(0, 330))
        end = start + dt.timedelta(days=rng.choice((0, 1, 3, 4, 7)))
        if end > year_end or any(s <= end and e >= start for s, e in taken):
            continue
        count = count_leave_days(pattern, start, end, holidays.dates(region.value, start, end))
        if count.days == 0:
            continue
        taken.append((start, end))
        if end < today:
            status = BookingStatus.APPROVED
        else:
            status = rng.choice(
                (BookingStatus.APPROVED, BookingStatus.APPROVED, BookingStatus.PENDING)
            )
        session.add(
            LeaveBooking(
                employee_id=employee_id,
                leave_type=LeaveType.ANNUAL,
                start_date=start,
                end_date=end,
                days=count.days,
                status=status,
            )
        )


def _claims(session: Session, rng: random.Random, employee_id: int, today: dt.date) -> None:
    for n in range(rng.randint(1, 3)):
        submitted = today - dt.timedelta(days=rng.randint(2, 120))
        status = rng.choice(list(ClaimStatus))
        lines = []
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(list(ExpenseType))
            spent = submitted - dt.timedelta(days=rng.randint(0, 20))
            if kind is ExpenseType.MILEAGE:
                miles = D(rng.randint(10, 220))
                lines.append(
                    ExpenseLine(
                        expense_type=kind,
                        incurred_on=spent,
                        miles=miles,
                        description=f"mileage to a site visit ({miles} miles)",
                        amount_pence=int(miles * 45),
                    )
                )
            else:
                description = {
                    "travel": "return train ticket to Bristol",
                    "subsistence": "day subsistence",
                    "accommodation": "hotel, one night",
                    "other": "eye test for DSE work",
                }[kind.value]
                lines.append(
                    ExpenseLine(
                        expense_type=kind,
                        incurred_on=spent,
                        description=description,
                        amount_pence=rng.randint(500, 18000),
                    )
                )
        decided = submitted + dt.timedelta(days=3) if status is not ClaimStatus.SUBMITTED else None
        paid = (decided + dt.timedelta(days=10)) if status is ClaimStatus.PAID and decided else None
        if paid and paid > today:
            paid = today
        claim = ExpenseClaim(
            reference=f"EXP-TMP{employee_id:05d}{n}",
            employee_id=employee_id,
            status=status,
            submitted_on=submitted,
            decided_on=decided,
            paid_on=paid,
            total_pence=sum(line.amount_pence for line in lines),
        )
        claim.lines = lines
        session.add(claim)
        session.flush()
        claim.reference = f"EXP-{claim.id:06d}"


ORIGINAL_CLAIMS = {  # (days before today submitted, status, [(type, days before submission, description, pence, miles)])
    "E1001": (
        (
            9,
            ClaimStatus.PAID,
            (
                (
                    ExpenseType.TRAVEL,
                    2,
                    "return train to Bristol for the regional meeting",
                    8_640,
                    None,
                ),
                (ExpenseType.SUBSISTENCE, 2, "day subsistence in Bristol", 1_150, None),
            ),
        ),
        (
            3,
            ClaimStatus.SUBMITTED,
            (
                (
                    ExpenseType.MILEAGE,
                    1,
                    "mileage to the Harrogate site visit (42 miles)",
                    1_890,
                    D(42),
                ),
            ),
        ),
    ),
    "E1004": (
        (
            20,
            ClaimStatus.REJECTED,
            ((ExpenseType.TRAVEL, 3, "train to Bristol on 3 November", 12_300, None),),
        ),
    ),
}


def _original_claims(session: Session, number: str, employee_id: int, today: dt.date) -> None:
    for submitted_ago, status, items in ORIGINAL_CLAIMS.get(number, ()):
        submitted = today - dt.timedelta(days=submitted_ago)
        lines = [
            ExpenseLine(
                expense_type=kind,
                incurred_on=submitted - dt.timedelta(days=before),
                description=text,
                amount_pence=pence,
                miles=miles,
            )
            for kind, before, text, pence, miles in items
        ]
        decided = submitted + dt.timedelta(days=2) if status is not ClaimStatus.SUBMITTED else None
        claim = ExpenseClaim(
            reference=f"EXP-TMP{employee_id:05d}{submitted_ago}",
            employee_id=employee_id,
            status=status,
            submitted_on=submitted,
            decided_on=decided,
            paid_on=submitted + dt.timedelta(days=6) if status is ClaimStatus.PAID else None,
            total_pence=sum(line.amount_pence for line in lines),
        )
        claim.lines = lines
        session.add(claim)
        session.flush()
        claim.reference = f"EXP-{claim.id:06d}"


def _finance(
    session: Session, rng: random.Random, cost_centres: dict[str, CostCentre], today: dt.date
) -> None:
    suppliers = [
        Supplier(supplier_number=f"S{10001 + i}", name=name) for i, name in enumerate(SUPPLIERS)
    ]
    session.add_all(suppliers)
    session.flush()
    acme, northwind = suppliers[0], suppliers[1]
    number = 4500010000
    orders: list[PurchaseOrder] = []
    for cc in cost_centres.values():
        for _ in range(8):
            number += rng.randint(3, 97)
            raised = today - dt.timedelta(days=rng.randint(5, 300))
            status = rng.choice(list(PurchaseOrderStatus))
            total = rng.randint(20_000, 5_000_000)
            receipted = {
                PurchaseOrderStatus.RECEIPTED: total,
                PurchaseOrderStatus.CLOSED: total,
                PurchaseOrderStatus.PARTLY_RECEIPTED: total // 2,
            }.get(status, 0)
            orders.append(
                PurchaseOrder(
                    number=str(number),
                    cost_centre_id=cc.id,
                    supplier_id=rng.choice(suppliers).id,
                    description=rng.choice(PO_ITEMS),
                    status=status,
                    total_pence=total,
                    receipted_pence=receipted,
                    raised_on=raised,
                    expected_delivery=raised + dt.timedelta(days=rng.randint(7, 60)),
                )
            )
    dds, mpw = cost_centres["DDS-101"], cost_centres["MPW-201"]
    orders.append(
        PurchaseOrder(
            number="4500012345",
            cost_centre_id=dds.id,
            supplier_id=acme.id,
            description="laptops and docking stations for new starters",
            status=PurchaseOrderStatus.PARTLY_RECEIPTED,
            total_pence=1_845_000,
            receipted_pence=922_500,
            raised_on=today - dt.timedelta(days=40),
            expected_delivery=today + dt.timedelta(days=10),
        )
    )
    orders.append(
        PurchaseOrder(
            number="4500067890",
            cost_centre_id=mpw.id,
            supplier_id=northwind.id,
            description="building maintenance (confidential site)",
            status=PurchaseOrderStatus.APPROVED,
            total_pence=9_900_000,
            receipted_pence=0,
            raised_on=today - dt.timedelta(days=12),
            expected_delivery=today + dt.timedelta(days=30),
        )
    )
    session.add_all(orders)
    session.flush()
    invoice_no = 20000
    for order in orders[:-2]:
        if order.status in (PurchaseOrderStatus.AWAITING_APPROVAL, PurchaseOrderStatus.CANCELLED):
            continue
        invoice_no += rng.randint(5, 40)
        received = order.raised_on + dt.timedelta(days=rng.randint(5, 40))
        if received > today or invoice_no == 20931:
            continue
        status = rng.choice(list(InvoiceStatus))
        session.add(
            SupplierInvoice(
                supplier_id=order.supplier_id,
                invoice_number=f"INV-{invoice_no}",
                cost_centre_id=order.cost_centre_id,
                purchase_order_id=order.id,
                amount_pence=order.total_pence
                if order.receipted_pence == order.total_pence
                else order.receipted_pence or order.total_pence,
                received_on=received,
                due_on=received + dt.timedelta(days=30),
                status=status,
                paid_on=min(today, received + dt.timedelta(days=rng.randint(5, 25)))
                if status is InvoiceStatus.PAID
                else None,
                hold_reason="waiting for the goods receipt"
                if status is InvoiceStatus.ON_HOLD
                else None,
            )
        )
    session.add(
        SupplierInvoice(
            supplier_id=acme.id,
            invoice_number="INV-20931",
            cost_centre_id=dds.id,
            purchase_order_id=orders[-2].id,
            amount_pence=922_500,
            received_on=today - dt.timedelta(days=21),
            due_on=today + dt.timedelta(days=9),
            status=InvoiceStatus.PAID,
            paid_on=today - dt.timedelta(days=6),
        )
    )
    session.add(
        SupplierInvoice(
            supplier_id=northwind.id,
            invoice_number="INV-20931",
            cost_centre_id=mpw.id,
            purchase_order_id=orders[-1].id,
            amount_pence=4_950_000,
            received_on=today - dt.timedelta(days=5),
            due_on=today + dt.timedelta(days=25),
            status=InvoiceStatus.ON_HOLD,
            paid_on=None,
            hold_reason="waiting for the goods receipt",
        )
    )
