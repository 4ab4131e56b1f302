"""The records demo: 200 employees in four departments, a year and a half of history.

`seed_records(session, today)` builds on the sign-in organisation (`organisation`: the five
sign-in employees keep their identities and leave exactly as they are) and adds the other two
departments, cost centres, pay ranges and pay dates, 195 generated employees, and for everyone
a contract, working pattern, salary, pension, tax codes, twenty months of payslips (the whole
last tax year, for P60s), personal details (fictional; phone numbers from Ofcom's drama
range), expense claims, leave and sickness; then the finance documents (`finance`). The
sign-in employees' facts are those `description` gives; everyone else's are drawn from one
seeded generator, so the same `today` and seed always give the same data (the draws are made
in a fixed order: changing that order changes the data). Loading is idempotent.

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
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.backoffice.record_tables import (
    CostCentre,
    EmploymentRecord,
    ExpenseClaim,
    ExpenseLine,
    LeaveBooking,
    LeaveEntitlement,
    PayDate,
    PayRange,
    Payslip,
    PensionMembership,
    PersonalDetails,
    SalaryRecord,
    SicknessAbsence,
    TaxCodeRecord,
    WorkingPattern,
)
from bot.backoffice.types import (
    BookingStatus,
    ClaimStatus,
    ExpenseType,
    LeaveType,
    Region,
    SicknessStatus,
    TaxBasis,
)
from bot.bank_holidays import BankHolidayCalendar
from bot.bank_holidays import load as load_bank_holidays
from bot.records.pay import last_working_day
from bot.storage.models import Department, Employee
from bot.working_days import count_leave_days

from .description import (
    CHANGED_TAX_CODES,
    CLAIM_DESCRIPTIONS,
    COST_CENTRE_NAMES,
    DEMO_EMPLOYEES,
    DEMO_SEED,
    DEPARTMENTS,
    FAMILY_NAMES,
    FLEXI_GRADES,
    FULL_TIME_HOURS,
    GENERATED_EMPLOYEES,
    GIVEN_NAMES,
    GRADES,
    MANAGER_GRADES,
    MILEAGE_PENCE,
    OTHER_DEDUCTION_PENCE,
    PATTERNS,
    PENSION_SCHEMES,
    POSTCODE_LETTERS,
    STREETS,
    TOWNS,
    Claim,
    Pattern,
    Records,
)
from .finance import seed_finance
from .organisation import leave_year, seed_organisation
from .pay import allowance_of, employer_rate, member_rate, monthly_pay, round_half

D = Decimal
HISTORY_MONTHS = 20  # back from this month: the whole last tax year and a year of history
FUTURE_PAY_DATES = 3  # months ahead
PAY_DATE_DIVISION = "england-and-wales"  # the pay calendar's bank holidays


@dataclass(frozen=True)
class Person:
    """Someone the demo gives records: a sign-in employee (`fixed`) or a generated one."""

    number: str
    given: str
    family: str
    department: str
    grade: str
    manager: str | None
    fixed: Records | None = None


def people(rng: random.Random, count: int) -> list[Person]:
    """The sign-in employees, then `count` less them generated, with managers from each
    department's own senior staff."""
    everyone = [Person(e.number, e.given_name, e.family_name, e.department, e.grade,
                       e.manager, e.records) for e in DEMO_EMPLOYEES]
    codes = tuple(department.code for department in DEPARTMENTS)
    managers: dict[str, list[str]] = {code: [] for code in codes}
    below_g7 = [g.code for g in GRADES if g.code not in ("G7", "G6") for _ in range(g.weight)]
    for index in range(count - len(everyone)):
        department = codes[index % len(codes)]
        grade = "G6" if index < 8 else ("G7" if index < 24 else rng.choice(below_g7))
        pool = managers[department]
        manager = rng.choice(pool) if pool and grade != "G6" else None
        number = f"E{2001 + index}"
        given = GIVEN_NAMES[index % len(GIVEN_NAMES)]
        family = FAMILY_NAMES[(index * 7) % len(FAMILY_NAMES)]
        everyone.append(Person(number, given, family, department, grade, manager))
        if grade in MANAGER_GRADES:
            pool.append(number)
    return everyone


@dataclass(frozen=True)
class Seeding:
    """What every employee's records are made from in one load."""

    session: Session
    rng: random.Random
    today: dt.date
    year_start: dt.date
    year_end: dt.date
    months: list[dt.date]  # the first day of each month with payslips
    pay_dates: dict[tuple[int, dt.date], dt.date]  # (department id, month) -> pay day
    holidays: BankHolidayCalendar
    cost_centres: dict[str, CostCentre]


@dataclass(frozen=True)
class Contract:
    cost_centre: CostCentre
    region: Region
    pattern: Pattern
    started: dt.date

    @property
    def fte(self) -> Decimal:
        return self.pattern.hours / FULL_TIME_HOURS


@dataclass(frozen=True)
class TaxHistory:
    code: str
    basis: TaxBasis
    previous: str | None  # the code until the first of last month, if it changed then


def seed_records(session: Session, today: dt.date, *, employees: int = GENERATED_EMPLOYEES,
                 seed: int = DEMO_SEED) -> bool:
    """Add the records demo unless present; True when something was added."""
    seed_organisation(session, today)
    if session.scalar(select(CostCentre.id).where(CostCentre.code == "DDS-101")):
        return False
    rng = random.Random(seed)
    holidays = load_bank_holidays()
    departments = _departments(session)
    cost_centres = _cost_centres(session, departments)
    year_start, year_end = leave_year(today)
    _pay_ranges(session, departments, year_start - relativedelta(years=1))
    everyone = people(rng, employees)
    rows = _employees(session, everyone, departments)
    months = [today.replace(day=1) - relativedelta(months=m)
              for m in range(HISTORY_MONTHS, -1, -1)]
    seeding = Seeding(session, rng, today, year_start, year_end, months,
                      _pay_dates(session, departments, months, holidays, today), holidays,
                      cost_centres)
    for person in everyone:
        seed_person(seeding, person, rows[person.number])
    seed_finance(session, rng, cost_centres, today)
    return True


def _departments(session: Session) -> dict[str, Department]:
    departments = {d.code: d for d in session.scalars(select(Department))}
    for department in DEPARTMENTS:
        if department.code not in departments:
            departments[department.code] = Department(code=department.code,
                                                      name=department.name)
            session.add(departments[department.code])
    session.flush()
    return departments


def _cost_centres(session: Session, departments: dict[str, Department]
                  ) -> dict[str, CostCentre]:
    cost_centres: dict[str, CostCentre] = {}
    for index, department in enumerate(DEPARTMENTS):
        for n, name in enumerate(COST_CENTRE_NAMES, start=1):
            cc = CostCentre(code=f"{department.code}-{(index + 1) * 100 + n}",
                            name=f"{departments[department.code].name}: {name}",
                            department_id=departments[department.code].id)
            cost_centres[cc.code] = cc
            session.add(cc)
    return cost_centres


def _pay_ranges(session: Session, departments: dict[str, Department], since: dt.date) -> None:
    for department in departments.values():
        for grade in GRADES:
            session.add(PayRange(department_id=department.id, grade=grade.code,
                                 effective_from=since, minimum_pence=grade.band_minimum * 100,
                                 maximum_pence=grade.band_maximum * 100))
    session.flush()


def _employees(session: Session, everyone: list[Person], departments: dict[str, Department]
               ) -> dict[str, Employee]:
    """The employee rows: the sign-in employees' as they are, the generated ones added."""
    rows = {e.employee_number: e for e in session.scalars(select(Employee))}
    for person in everyone:
        if person.number in rows:
            continue
        email = (f"{person.given}.{person.family}.{person.number}"
                 f"@{person.department.lower()}.example.gov.uk").lower().replace("'", "")
        employee = Employee(
            employee_number=person.number, given_name=person.given, family_name=person.family,
            email=email, department_id=departments[person.department].id, grade=person.grade,
            line_manager_id=rows[person.manager].id if person.manager else None,
        )
        session.add(employee)
        session.flush()
        rows[person.number] = employee
    return rows


def _pay_dates(session: Session, departments: dict[str, Department], months: list[dt.date],
               holidays: BankHolidayCalendar, today: dt.date
               ) -> dict[tuple[int, dt.date], dt.date]:
    rules = {department.code: department.pay_day for department in DEPARTMENTS}
    future = [today.replace(day=1) + relativedelta(months=m)
              for m in range(1, FUTURE_PAY_DATES + 1)]
    for department in departments.values():
        rule = rules[department.code]
        for month in months + future:
            if rule == "last":
                paid = last_working_day(month.year, month.month, holidays, PAY_DATE_DIVISION)
            else:
                paid = month.replace(day=int(rule))
                closed = holidays.dates(PAY_DATE_DIVISION, month, paid)
                while paid.weekday() >= 5 or paid in closed:
                    paid -= dt.timedelta(days=1)
            session.add(PayDate(department_id=department.id, period_start=month, pay_date=paid))
    session.flush()
    return {(p.department_id, p.period_start): p.pay_date
            for p in session.scalars(select(PayDate))}


# --- one employee's records, in the order their values are drawn -----------------------------


def seed_person(seeding: Seeding, person: Person, employee: Employee) -> None:
    contract = _contract(seeding, person, employee)
    salary = _salary(seeding, person, employee, contract)
    scheme_rate = _pension(seeding, person, employee, contract, salary)
    tax = _tax_codes(seeding, person, employee, contract)
    _payslips(seeding, person, employee, contract, salary, scheme_rate, tax)
    _personal_details(seeding, person, employee, contract)
    if person.fixed:
        _described_claims(seeding, employee.id, person.fixed.claims)
    elif seeding.rng.random() < 0.4:
        _drawn_claims(seeding, employee.id)
    _leave(seeding, person, employee, contract)


def _contract(seeding: Seeding, person: Person, employee: Employee) -> Contract:
    rng, fixed = seeding.rng, person.fixed
    if fixed:
        cc, region, pattern = seeding.cost_centres[fixed.cost_centre], fixed.region, fixed.pattern
    else:
        index = int(person.number[1:])
        codes = [department.code for department in DEPARTMENTS]
        cc = seeding.cost_centres[
            f"{person.department}-{codes.index(person.department) * 100 + 100 + 1 + index % 3}"]
        department = next(d for d in DEPARTMENTS if d.code == person.department)
        region = rng.choice(department.regions)
        pattern = rng.choices(PATTERNS, [p.weight for p in PATTERNS])[0]
    started = fixed.start if fixed else seeding.today - dt.timedelta(days=rng.randint(400, 9000))
    seeding.session.add(EmploymentRecord(employee_id=employee.id, cost_centre_id=cc.id,
                                         work_region=region, start_date=started))
    days = pattern.days
    seeding.session.add(WorkingPattern(
        employee_id=employee.id, effective_from=started, monday=days[0], tuesday=days[1],
        wednesday=days[2], thursday=days[3], friday=days[4], saturday=days[5], sunday=days[6],
        contracted_hours=pattern.hours))
    return Contract(cc, region, pattern, started)


def _salary(seeding: Seeding, person: Person, employee: Employee, contract: Contract) -> int:
    """This year's salary after last August's pay award of 5 %, and the appointment's."""
    grade = next(g for g in GRADES if g.code == person.grade)
    salary = (person.fixed.salary_pence if person.fixed
              else seeding.rng.randrange(grade.band_minimum, grade.band_maximum, 50) * 100)
    award_day = (seeding.year_start - relativedelta(years=1)).replace(month=8, day=1)
    if award_day > seeding.today - relativedelta(months=3):
        award_day = award_day - relativedelta(years=1)
    seeding.session.add(SalaryRecord(
        employee_id=employee.id, effective_from=contract.started,
        annual_salary_pence=int(salary / D("1.05")) // 100 * 100, pay_band=person.grade,
        reason="appointment"))
    seeding.session.add(SalaryRecord(
        employee_id=employee.id,
        effective_from=max(award_day, contract.started + dt.timedelta(days=1)),
        annual_salary_pence=salary, pay_band=person.grade, reason="pay award"))
    return salary


def _pension(seeding: Seeding, person: Person, employee: Employee, contract: Contract,
             salary: int) -> Decimal:
    """The membership; returns the member's rate."""
    scheme = (person.fixed.pension if person.fixed else seeding.rng.choices(
        [scheme for scheme, _ in PENSION_SCHEMES],
        [weight for _, weight in PENSION_SCHEMES])[0])
    rate = member_rate(scheme, salary)
    seeding.session.add(PensionMembership(employee_id=employee.id, scheme=scheme,
                                          member_rate=rate, employer_rate=employer_rate(scheme),
                                          joined_on=contract.started))
    return rate


def _tax_codes(seeding: Seeding, person: Person, employee: Employee,
               contract: Contract) -> TaxHistory:
    fixed = person.fixed
    if fixed:
        tax = TaxHistory(fixed.tax_code, fixed.tax_basis, fixed.previous_tax_code)
    else:
        code = "S1257L" if contract.region is Region.SCOTLAND else "1257L"
        tax = TaxHistory(code, TaxBasis.CUMULATIVE, None)
        if seeding.rng.random() < 0.08:
            changed = seeding.rng.choice(CHANGED_TAX_CODES)
            tax = TaxHistory(changed, TaxBasis.WEEK1_MONTH1 if changed.endswith("M1")
                             else TaxBasis.CUMULATIVE, code)
    annual = "HMRC annual coding notice (P9)"
    if tax.previous:
        seeding.session.add(TaxCodeRecord(
            employee_id=employee.id, effective_from=contract.started, code=tax.previous,
            basis=TaxBasis.CUMULATIVE, source=annual))
        seeding.session.add(TaxCodeRecord(
            employee_id=employee.id, effective_from=_tax_change_day(seeding), code=tax.code,
            basis=tax.basis, source="HMRC coding notice (P6)"))
    else:
        seeding.session.add(TaxCodeRecord(
            employee_id=employee.id, effective_from=contract.started, code=tax.code,
            basis=tax.basis, source=annual))
    return tax


def _tax_change_day(seeding: Seeding) -> dt.date:
    return seeding.today.replace(day=1) - relativedelta(months=1)


def _payslips(seeding: Seeding, person: Person, employee: Employee, contract: Contract,
              salary: int, rate: Decimal, tax: TaxHistory) -> None:
    change_day = _tax_change_day(seeding)
    fixed_deduction = person.fixed.monthly_deduction_pence if person.fixed else None
    for month in seeding.months:
        paid = seeding.pay_dates[(employee.department_id, month)]
        if paid > seeding.today or month < contract.started:
            continue
        code = tax.code if (not tax.previous or month >= change_day) else tax.previous
        gross, income_tax, ni, pension = monthly_pay(
            salary, contract.fte, rate, contract.region is Region.SCOTLAND, allowance_of(code))
        other = (fixed_deduction if fixed_deduction is not None
                 else OTHER_DEDUCTION_PENCE if seeding.rng.random() < 0.1 else 0)
        seeding.session.add(Payslip(
            employee_id=employee.id, period_start=month, pay_date=paid, tax_code=code,
            gross_pence=gross, tax_pence=income_tax, ni_pence=ni, pension_pence=pension,
            other_deductions_pence=other,
            net_pence=gross - income_tax - ni - pension - other))


def _personal_details(seeding: Seeding, person: Person, employee: Employee,
                      contract: Contract) -> None:
    rng = seeding.rng
    if person.fixed:
        town, postcode = person.fixed.town, person.fixed.postcode
    else:
        town, district = rng.choice(TOWNS[contract.region])
        postcode = (f"{district} {rng.randint(1, 9)}"
                    f"{rng.choice(POSTCODE_LETTERS)}{rng.choice(POSTCODE_LETTERS)}")
    address = f"{rng.randint(1, 180)} {rng.choice(STREETS)}"
    phone = f"07700 900{rng.randint(0, 999):03d}"
    emergency_name = f"{rng.choice(GIVEN_NAMES)} {person.family}"
    emergency_phone = f"07700 900{rng.randint(0, 999):03d}"
    last4 = person.fixed.bank_last4 if person.fixed else f"{rng.randint(0, 9999):04d}"
    seeding.session.add(PersonalDetails(
        employee_id=employee.id, preferred_name=None, address_line1=address,
        address_line2=None, town=town, postcode=postcode, phone=phone,
        emergency_contact_name=emergency_name, emergency_contact_phone=emergency_phone,
        bank_account_last4=last4))


def _add_claim(seeding: Seeding, claim: ExpenseClaim, lines: list[ExpenseLine]) -> None:
    """A claim gets its reference from its row id (EXP-000123)."""
    claim.lines = lines
    seeding.session.add(claim)
    seeding.session.flush()
    claim.reference = f"EXP-{claim.id:06d}"


def _described_claims(seeding: Seeding, employee_id: int, claims: tuple[Claim, ...]) -> None:
    for claim in claims:
        submitted = seeding.today - dt.timedelta(days=claim.days_ago)
        lines = [ExpenseLine(expense_type=item.kind,
                             incurred_on=submitted - dt.timedelta(days=item.days_before),
                             description=item.description, amount_pence=item.pence,
                             miles=item.miles) for item in claim.items]
        decided = (submitted + dt.timedelta(days=2)
                   if claim.status is not ClaimStatus.SUBMITTED else None)
        _add_claim(seeding, ExpenseClaim(
            reference=f"EXP-TMP{employee_id:05d}{claim.days_ago}", employee_id=employee_id,
            status=claim.status, submitted_on=submitted, decided_on=decided,
            paid_on=submitted + dt.timedelta(days=6) if claim.status is ClaimStatus.PAID else None,
            total_pence=sum(line.amount_pence for line in lines)), lines)


def _drawn_claims(seeding: Seeding, employee_id: int) -> None:
    rng, today = seeding.rng, seeding.today
    for n in range(rng.randint(1, 3)):
        submitted = today - dt.timedelta(days=rng.randint(2, 120))
        status = rng.choice(list(ClaimStatus))
        lines = []
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(list(ExpenseType))
            spent = submitted - dt.timedelta(days=rng.randint(0, 20))
            if kind is ExpenseType.MILEAGE:
                miles = D(rng.randint(10, 220))
                lines.append(ExpenseLine(
                    expense_type=kind, incurred_on=spent, miles=miles,
                    description=f"mileage to a site visit ({miles} miles)",
                    amount_pence=int(miles * MILEAGE_PENCE)))
            else:
                lines.append(ExpenseLine(
                    expense_type=kind, incurred_on=spent, description=CLAIM_DESCRIPTIONS[kind],
                    amount_pence=rng.randint(500, 18000)))
        decided = submitted + dt.timedelta(days=3) if status is not ClaimStatus.SUBMITTED else None
        paid = (decided + dt.timedelta(days=10)) if status is ClaimStatus.PAID and decided else None
        if paid and paid > today:
            paid = today
        _add_claim(seeding, ExpenseClaim(
            reference=f"EXP-TMP{employee_id:05d}{n}", employee_id=employee_id, status=status,
            submitted_on=submitted, decided_on=decided, paid_on=paid,
            total_pence=sum(line.amount_pence for line in lines)), lines)


def _entitlement(seeding: Seeding, employee_id: int, leave_type: LeaveType, days: Decimal,
                 carried_over: Decimal) -> LeaveEntitlement:
    return LeaveEntitlement(employee_id=employee_id, leave_type=leave_type,
                            year_start=seeding.year_start, year_end=seeding.year_end,
                            entitlement_days=days, carried_over_days=carried_over)


def _leave(seeding: Seeding, person: Person, employee: Employee, contract: Contract) -> None:
    """Annual leave (a sign-in employee's is the organisation's), privilege and flexi leave,
    and sometimes a past sickness."""
    rng, session = seeding.rng, seeding.session
    if person.fixed and not person.fixed.flexi_and_privilege:
        return  # Alice's and Ben's leave stays exactly as the organisation made it
    if not person.fixed:
        grade = next(g for g in GRADES if g.code == person.grade)
        days = round_half(D(grade.annual_leave_days) * contract.fte)
        session.add(_entitlement(seeding, employee.id, LeaveType.ANNUAL, days,
                                 D(rng.randint(0, 5))))
        _bookings(seeding, employee.id, contract)
    session.add(_entitlement(seeding, employee.id, LeaveType.PRIVILEGE, D(1), D(0)))
    if person.grade in FLEXI_GRADES:
        session.add(_entitlement(seeding, employee.id, LeaveType.FLEXI, D(12), D(0)))
    if not person.fixed and rng.random() < 0.3:
        start = seeding.today - dt.timedelta(days=rng.randint(20, 300))
        end = start + dt.timedelta(days=rng.randint(0, 6))
        session.add(SicknessAbsence(employee_id=employee.id, start_date=start, end_date=end,
                                    status=SicknessStatus.CLOSED,
                                    fit_note_received=rng.random() < 0.3))


def _bookings(seeding: Seeding, employee_id: int, contract: Contract) -> None:
    """A year of annual leave: a few past weeks taken, something booked, maybe a request."""
    rng = seeding.rng
    taken: list[tuple[dt.date, dt.date]] = []
    for _ in range(rng.randint(2, 5)):
        start = seeding.year_start + dt.timedelta(days=rng.randint(0, 330))
        end = start + dt.timedelta(days=rng.choice((0, 1, 3, 4, 7)))
        if end > seeding.year_end or any(s <= end and e >= start for s, e in taken):
            continue
        count = count_leave_days(contract.pattern.days, start, end,
                                 seeding.holidays.dates(contract.region.value, start, end))
        if count.days == 0:
            continue
        taken.append((start, end))
        if end < seeding.today:
            status = BookingStatus.APPROVED
        else:
            status = rng.choice((BookingStatus.APPROVED, BookingStatus.APPROVED,
                                 BookingStatus.PENDING))
        seeding.session.add(LeaveBooking(employee_id=employee_id, leave_type=LeaveType.ANNUAL,
                                         start_date=start, end_date=end, days=count.days,
                                         status=status))
