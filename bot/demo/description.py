"""The demo organisation, described: departments, grades, working patterns, the five sign-in
employees with every fact the demo shows of them, the tickets and console accounts, and the
word lists the other 195 employees and the finance documents are generated from.

Data only: `organisation`, `records`, `finance`, `tickets` and `agents` turn it into rows.
Dates are relative to the day the demo is loaded (`days_ago`, `offset`), except contract
starts. Money is integer pence.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from bot.backoffice.types import (
    BookingStatus,
    ClaimStatus,
    ExpenseType,
    InvoiceStatus,
    PensionScheme,
    PurchaseOrderStatus,
    Region,
    TaxBasis,
)
from bot.tickets.enums import Priority, ServiceLine, TicketStatus

D = Decimal
DEMO_WIDGET_ISSUER = "helpdesk-intranet"  # the issuer of the development sign-in's tokens
DEMO_SEED = 20261126  # the generator's seed: the same day and seed give the same data
GENERATED_EMPLOYEES = 200  # everyone, the sign-in employees included


# --- the organisation -----------------------------------------------------------------------


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    pay_day: str | int  # "last" working day of the month, or a day of the month (earlier if closed)
    regions: tuple[Region, ...]  # where its staff work, one entry per tenth


E, S, NI = Region.ENGLAND_AND_WALES, Region.SCOTLAND, Region.NORTHERN_IRELAND
DEPARTMENTS = (  # the first two are the sign-in employees'
    Department("DDS", "Department for Digital Services", "last", (E,) * 8 + (S,) * 2),
    Department("MPW", "Ministry of Public Works", 25, (E,) * 6 + (NI,) * 4),
    Department("OSS", "Office for Statistical Services", "last", (E,) * 5 + (S,) * 5),
    Department("AFA", "Agriculture and Fisheries Agency", 25, (S,) * 4 + (NI,) * 3 + (E,) * 3),
)
COST_CENTRE_NAMES = ("Operations", "Policy", "Corporate")  # three per department: DDS-101...


@dataclass(frozen=True)
class Grade:
    code: str
    band_minimum: int  # pounds a year
    band_maximum: int
    annual_leave_days: int
    weight: int  # how many in a hundred of the generated staff


GRADES = (
    Grade("AA", 23_000, 24_500, 25, 6),
    Grade("AO", 24_000, 26_500, 25, 20),
    Grade("EO", 28_000, 31_500, 25, 25),
    Grade("HEO", 34_000, 38_500, 27, 22),
    Grade("SEO", 40_000, 45_500, 28, 14),
    Grade("G7", 56_000, 66_000, 30, 9),
    Grade("G6", 70_000, 82_000, 30, 4),
)
MANAGER_GRADES = ("G6", "G7", "SEO")
FLEXI_GRADES = ("AA", "AO", "EO", "HEO", "SEO")


@dataclass(frozen=True)
class Pattern:
    """Each weekday's share of a working day (Monday first) and the contracted hours."""

    days: tuple[Decimal, ...]
    hours: Decimal
    weight: int  # how many in a hundred of the generated staff


FULL_TIME = Pattern((D(1), D(1), D(1), D(1), D(1), D(0), D(0)), D(37), 75)
FOUR_AND_A_HALF = Pattern((D(1), D(1), D(1), D(1), D("0.5"), D(0), D(0)), D("33.3"), 10)
FOUR_DAYS = Pattern((D(1), D(1), D(1), D(1), D(0), D(0), D(0)), D("29.6"), 10)
THREE_DAYS = Pattern((D(1), D(1), D(1), D(0), D(0), D(0), D(0)), D("22.2"), 5)
PATTERNS = (FULL_TIME, FOUR_AND_A_HALF, FOUR_DAYS, THREE_DAYS)
FULL_TIME_HOURS = D(37)


# --- the five sign-in employees -------------------------------------------------------------


@dataclass(frozen=True)
class Booking:
    offset: int  # first day, days from today
    working_days: int
    status: BookingStatus


@dataclass(frozen=True)
class ClaimItem:
    kind: ExpenseType
    days_before: int  # spent this many days before the claim was submitted
    description: str
    pence: int
    miles: Decimal | None = None


@dataclass(frozen=True)
class Claim:
    days_ago: int  # submitted
    status: ClaimStatus
    items: tuple[ClaimItem, ...]


@dataclass(frozen=True)
class Records:
    """The HR and finance facts of a sign-in employee."""

    start: dt.date
    cost_centre: str
    region: Region
    pattern: Pattern
    salary_pence: int
    tax_code: str
    tax_basis: TaxBasis
    previous_tax_code: str | None  # changed to `tax_code` last month
    pension: PensionScheme
    town: str
    postcode: str
    bank_last4: str
    flexi_and_privilege: bool  # Alice's and Ben's balances are annual leave alone
    claims: tuple[Claim, ...] = ()
    monthly_deduction_pence: int | None = None  # e.g. union subs; None: drawn as anyone's


@dataclass(frozen=True)
class DemoEmployee:
    number: str
    given_name: str
    family_name: str
    department: str
    grade: str
    manager: str | None
    annual_days: Decimal
    carried_over: Decimal
    bookings: tuple[Booking, ...]
    records: Records

    @property
    def widget_subject(self) -> str:
        return f"{self.given_name}.{self.family_name}".lower()


P, A = BookingStatus.PENDING, BookingStatus.APPROVED
DEMO_EMPLOYEES = (  # managers first
    DemoEmployee(
        "E1003", "Chloe", "Singh", "DDS", "G7", None, D(30), D(5),
        (Booking(-60, 5, A), Booking(21, 3, A)),
        Records(dt.date(2011, 4, 4), "DDS-102", S, FULL_TIME, 61_250_00, "S1257L",
                TaxBasis.CUMULATIVE, None, PensionScheme.CLASSIC, "Edinburgh", "EH1 3QR",
                "7710", flexi_and_privilege=True)),
    DemoEmployee(
        "E1001", "Alice", "Hughes", "DDS", "HEO", "E1003", D(27), D(3),
        (Booking(-90, 5, A), Booking(-30, 2, A), Booking(14, 4, A), Booking(45, 1, P)),
        Records(dt.date(2019, 9, 2), "DDS-101", E, FULL_TIME, 36_500_00, "1257L",
                TaxBasis.CUMULATIVE, None, PensionScheme.ALPHA, "Leeds", "LS1 4AB", "4821",
                flexi_and_privilege=False, monthly_deduction_pence=1_500, claims=(
                    Claim(9, ClaimStatus.PAID, (
                        ClaimItem(ExpenseType.TRAVEL, 2,
                                  "return train to Bristol for the regional meeting", 8_640),
                        ClaimItem(ExpenseType.SUBSISTENCE, 2, "day subsistence in Bristol",
                                  1_150),
                    )),
                    Claim(3, ClaimStatus.SUBMITTED, (
                        ClaimItem(ExpenseType.MILEAGE, 1,
                                  "mileage to the Harrogate site visit (42 miles)", 1_890,
                                  D(42)),
                    )),
                ))),
    DemoEmployee(
        "E1002", "Ben", "Okafor", "DDS", "EO", "E1003", D(25), D(0),
        (Booking(-45, 10, A),),
        Records(dt.date(2022, 1, 10), "DDS-101", E, FOUR_AND_A_HALF, 29_800_00, "1257L M1",
                TaxBasis.WEEK1_MONTH1, "1257L", PensionScheme.ALPHA, "Bristol", "BS1 5TR",
                "0397", flexi_and_privilege=False)),
    DemoEmployee(
        "E1004", "Daniel", "Evans", "MPW", "SEO", None, D(28), D("1.5"),
        (Booking(-20, 3, A), Booking(30, 5, P)),
        Records(dt.date(2015, 6, 1), "MPW-201", NI, FULL_TIME, 43_100_00, "K475",
                TaxBasis.CUMULATIVE, "1257L", PensionScheme.ALPHA, "Belfast", "BT1 5GS",
                "5562", flexi_and_privilege=True, claims=(
                    Claim(20, ClaimStatus.REJECTED, (
                        ClaimItem(ExpenseType.TRAVEL, 3, "train to Bristol on 3 November",
                                  12_300),
                    )),
                ))),
    DemoEmployee(
        "E1005", "Fatima", "Rahman", "MPW", "AO", "E1004", D(25), D(2),
        (),
        Records(dt.date(2023, 3, 6), "MPW-201", E, THREE_DAYS, 25_200_00, "1257L",
                TaxBasis.CUMULATIVE, None, PensionScheme.PARTNERSHIP, "Cardiff", "CF10 1EP",
                "1234", flexi_and_privilege=True)),
)


# --- what the other employees and the finance documents are made of -------------------------

GIVEN_NAMES = (
    "Aisha", "Callum", "Priya", "Owen", "Grace", "Rhys", "Hannah", "Tom", "Sofia", "Liam",
    "Megan", "Arjun", "Eilidh", "Jack", "Zara", "Niall", "Ruth", "Kofi", "Isla", "Sean",
    "Chen", "Bethan", "Omar", "Niamh", "Harry", "Amara", "Ewan", "Lucy", "Tariq", "Ciara",
)
FAMILY_NAMES = (
    "Patel", "Campbell", "Jones", "O'Neill", "Williams", "Murray", "Khan", "Davies", "Brown",
    "McLaughlin", "Taylor", "Ahmed", "Robertson", "Wilson", "Thomas", "Kelly", "Evans-Clarke",
    "Begum", "Stewart", "Roberts", "Lewis", "Quinn", "Walker", "Hussain",
)
TOWNS = {  # (town, postcode district)
    E: (("Leeds", "LS1"), ("Bristol", "BS1"), ("Cardiff", "CF10"), ("Newport", "NP20"),
        ("Sheffield", "S1"), ("London", "SW1A")),
    S: (("Edinburgh", "EH1"), ("Glasgow", "G2"), ("Dundee", "DD1")),
    NI: (("Belfast", "BT1"), ("Derry", "BT48"), ("Newry", "BT34")),
}
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
STREETS = (
    "High Street", "Station Road", "Church Lane", "Mill Road", "Victoria Street",
    "Park Avenue", "Queen Street", "King's Road", "Castle Terrace", "Riverside Walk",
)
CHANGED_TAX_CODES = ("1100L", "K212", "BR", "1257L M1")  # 8 in 100 had their code changed
OTHER_DEDUCTION_PENCE = 1_500  # a month, for 1 in 10 payslips (union subs, say)
PENSION_SCHEMES = (  # (scheme, how many in a hundred of the generated staff)
    (PensionScheme.ALPHA, 85), (PensionScheme.CLASSIC, 7), (PensionScheme.PARTNERSHIP, 3),
    (PensionScheme.OPTED_OUT, 5),
)
# What a generated claim's line says, by kind (mileage says its miles).
CLAIM_DESCRIPTIONS = {
    ExpenseType.TRAVEL: "return train ticket to Bristol",
    ExpenseType.SUBSISTENCE: "day subsistence",
    ExpenseType.ACCOMMODATION: "hotel, one night",
    ExpenseType.OTHER: "eye test for DSE work",
}
MILEAGE_PENCE = 45  # a mile
SUPPLIERS = (  # the first two are those of the well-known documents below
    "Acme Office Supplies Ltd", "Northwind Facilities plc", "Crown Print Services",
    "Bluebell Catering Ltd", "Harbour IT Consulting", "Meridian Travel Management",
    "Thistle Cleaning Services", "Causeway Security Ltd", "Pennine Furniture Co",
    "Greenleaf Grounds Maintenance", "Orbit Cloud Hosting", "Lighthouse Training Ltd",
    "Summit Legal LLP", "Kestrel Couriers", "Wren & Co Stationers",
)
PO_ITEMS = (
    "laptops for new starters", "printer toner and paper", "office chairs",
    "conference room hire", "cloud hosting for Q3", "security guarding (monthly)",
    "staff training: project delivery", "legal advice on a procurement", "courier services",
    "catering for the all-staff day", "cleaning contract (quarterly)", "grounds maintenance",
    "accessibility audit of the website",
)
ORDERS_PER_COST_CENTRE = 8


@dataclass(frozen=True)
class WellKnownOrder:
    number: str
    cost_centre: str
    supplier: str
    description: str
    status: PurchaseOrderStatus
    total_pence: int
    receipted_pence: int
    raised_days_ago: int
    delivery_in_days: int


@dataclass(frozen=True)
class WellKnownInvoice:
    number: str
    order: str  # the purchase order's number
    amount_pence: int
    received_days_ago: int
    due_in_days: int
    status: InvoiceStatus
    paid_days_ago: int | None = None
    hold_reason: str | None = None


# Alice (DDS-101) may see Acme's PO 4500012345 and INV-20931; Northwind's INV-20931 and
# PO 4500067890 belong to MPW-201, which she must never see.
WELL_KNOWN_ORDERS = (
    WellKnownOrder("4500012345", "DDS-101", "Acme Office Supplies Ltd",
                   "laptops and docking stations for new starters",
                   PurchaseOrderStatus.PARTLY_RECEIPTED, 1_845_000, 922_500, 40, 10),
    WellKnownOrder("4500067890", "MPW-201", "Northwind Facilities plc",
                   "building maintenance (confidential site)", PurchaseOrderStatus.APPROVED,
                   9_900_000, 0, 12, 30),
)
HOLD_REASON = "waiting for the goods receipt"  # an invoice on hold
WELL_KNOWN_INVOICES = (
    WellKnownInvoice("INV-20931", "4500012345", 922_500, 21, 9, InvoiceStatus.PAID,
                     paid_days_ago=6),
    WellKnownInvoice("INV-20931", "4500067890", 4_950_000, 5, 25, InvoiceStatus.ON_HOLD,
                     hold_reason=HOLD_REASON),
)


# --- tickets and console accounts -----------------------------------------------------------


@dataclass(frozen=True)
class DemoTicket:
    key: str  # its idempotency key
    employee_number: str
    category: ServiceLine
    priority: Priority
    description: str
    days_ago: int
    moves: tuple[TicketStatus, ...] = ()
    public_reply: str | None = None
    internal_note: str | None = None


T = TicketStatus
DEMO_TICKETS = (
    DemoTicket("demo-1", "E1001", ServiceLine.HR, Priority.NORMAL,
               "My flexi balance looks wrong after my week of annual leave in October. "
               "It shows minus 7 hours.", 6, (T.OPEN,),
               public_reply="Thanks Alice, we're checking your October timesheets.",
               internal_note="Timesheet import failed for DDS on 14 Oct; re-run pending."),
    DemoTicket("demo-2", "E1001", ServiceLine.PAYROLL, Priority.HIGH,
               "The overtime I worked in September is missing from my October payslip.", 20,
               (T.OPEN, T.RESOLVED),
               public_reply="The overtime will be paid as arrears in your November pay."),
    DemoTicket("demo-3", "E1002", ServiceLine.PAYROLL, Priority.HIGH,
               "My tax code has changed to an emergency code and I don't know why.", 1),
    DemoTicket("demo-4", "E1004", ServiceLine.FINANCE, Priority.NORMAL,
               "My expense claim for the train to Bristol on 3 November was rejected.", 4,
               (T.OPEN, T.AWAITING_CUSTOMER),
               public_reply="Could you send us the receipt for the return ticket, please?"),
    DemoTicket("demo-5", "E1005", ServiceLine.ACCESS, Priority.HIGH,
               "I'm locked out of the HR self-service portal after resetting my password.", 30,
               (T.OPEN, T.RESOLVED, T.CLOSED)),
)
DEMO_TICKET_AGENT = "demo.agent"  # who moved and answered the demo tickets


@dataclass(frozen=True)
class DemoAgent:
    username: str
    name: str
    skills: str  # comma-separated
    departments: str  # comma-separated; "" = all
    roles: str  # comma-separated (bot/roles.py)


EVERY_SKILL = "hr,payroll,pensions,finance,access"
DEMO_AGENTS = (
    DemoAgent("sam.patel", "Sam Patel", "hr,pensions", "", "agent"),
    DemoAgent("priya.shah", "Priya Shah", "payroll,finance", "", "agent"),
    DemoAgent("tom.jones", "Tom Jones", EVERY_SKILL, "", "supervisor"),
    DemoAgent("hannah.reed", "Hannah Reed", "", "", "knowledge_editor"),
    DemoAgent("dev.okafor", "Dev Okafor", "", "", "data_protection,security_auditor"),
    DemoAgent("alex.admin", "Alex Morgan", EVERY_SKILL, "", "admin"),
)
DEFAULT_DEMO_AGENT_PASSWORD = "demo-agent-password"
