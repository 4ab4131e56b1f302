"""The knowledge-base topics: a fixed interface (../shared/kb-topics.md), like the intents.

Outside evaluations score policy answers by these ids; never rename one. Every article declares
exactly one of them (not `none`, which means "no article covers this question").
"""
from __future__ import annotations

NONE = "none"

TOPICS: dict[str, str] = {
    "annual_leave": (
        "entitlement by grade and service, carrying over, buying and selling leave, the leave "
        "year"
    ),
    "privilege_day": "the King's birthday privilege day, who gets it, part-time pro rata",
    "bank_holidays_policy": (
        "bank holidays by nation, working on one, part-time and shift entitlement"
    ),
    "flexi_time": "flexible working hours scheme, core hours, flexi leave, debit and credit limits",
    "flexible_working_request": (
        "requests to change hours or pattern: part-time, compressed hours, job share, the "
        "statutory process"
    ),
    "hybrid_working": (
        "working from home and office attendance, home-working equipment, working abroad"
    ),
    "sickness_reporting": "how and when to report sickness, self-certification, fit notes",
    "sick_pay": (
        "occupational sick pay: how much, for how long, half pay, the link to statutory sick pay"
    ),
    "return_to_work": "return-to-work meetings, phased returns, attendance management triggers",
    "maternity": "maternity leave and pay, keeping-in-touch days, antenatal appointments",
    "paternity": "paternity leave and pay, when it can be taken",
    "shared_parental_leave": "shared parental leave and pay, notice, splitting leave",
    "adoption": "adoption and surrogacy leave and pay",
    "neonatal_care": "neonatal care leave and pay",
    "parental_leave_unpaid": "unpaid parental leave per child",
    "carers_leave": "carer's leave and support for carers, the Carer's Passport",
    "compassionate_leave": "bereavement and compassionate leave, parental bereavement leave",
    "special_leave": (
        "special leave for emergencies, dependants, moving house, public duties other than jury "
        "service"
    ),
    "fertility_treatment": "time off for fertility treatment appointments",
    "volunteering_leave": "volunteering days",
    "reserve_forces": "leave and pay for reservists",
    "jury_service": "jury service and witness duty: leave, pay, loss-of-earnings claims",
    "pension_scheme": (
        "the Civil Service Pension Scheme (alpha and legacy sections): joining, contributions, "
        "opting out, added pension"
    ),
    "retirement": "retirement, pension estimates, partial retirement, the state pension age link",
    "death_in_service": "death-in-service benefits, nominating beneficiaries",
    "salary_sacrifice": "salary sacrifice schemes in general and how they affect pay and pension",
    "cycle_to_work": "the cycle-to-work scheme",
    "childcare_support": "tax-free childcare, legacy childcare vouchers",
    "employee_assistance": "the employee assistance programme, wellbeing, mental health support",
    "travel_subsistence": (
        "travel and subsistence: booking travel, rail class, hotels, meal allowances, receipts"
    ),
    "mileage_rates": "mileage allowance rates for cars, motorcycles and bicycles, passengers",
    "relocation": "relocation and excess fares when moving office",
    "season_ticket_loan": "season ticket loans and salary advances",
    "overtime": "overtime eligibility, rates, time off in lieu",
    "pay_award": "the annual pay award, pay progression, when a rise is paid",
    "payroll_deadlines": "payroll cut-off dates and when changes reach pay",
    "overpayment": "salary overpayments and how they are recovered",
    "grievance": "raising a grievance, informal and formal stages, appeals",
    "bullying_harassment": "bullying, harassment and discrimination: how to report, support",
    "whistleblowing": (
        "raising a concern under the Civil Service Code, nominated officers, the Civil Service "
        "Commission"
    ),
    "civil_service_code": "the Civil Service Code's values and standards of behaviour",
    "conflicts_of_interest": "declaring interests, outside interests",
    "outside_employment": "second jobs and outside employment, approval",
    "gifts_hospitality": "accepting gifts and hospitality, the register",
    "political_activity": "restrictions on political activity by grade",
    "probation": "probation periods, extending them, outcomes",
    "performance_management": "performance reviews, objectives, poor performance procedure",
    "learning_development": "training, Civil Service Learning, study leave, apprenticeships",
    "recruitment_promotion": (
        "applying for jobs and promotion, Civil Service Jobs, loans and secondments"
    ),
    "security_vetting": "security clearance levels (BPSS, CTC, SC, DV), renewal, what to report",
    "reasonable_adjustments": (
        "workplace adjustments, the Workplace Adjustment Passport, disability support"
    ),
    "menopause": "menopause support and adjustments",
    "domestic_abuse": "support and special leave for people affected by domestic abuse",
    "trade_unions": "trade union membership, facility time, subscriptions by payroll deduction",
    "working_time": "working hours, breaks, the Working Time Regulations and the 48-hour opt-out",
    "leaving": "resigning, notice periods, final pay, untaken leave, the P45",
    "name_change": "changing your name or title on HR and payroll records",
    "data_rights": "your rights over your own HR data: subject access requests, corrections",
}

