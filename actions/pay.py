"""Pay, tax and pension answers from the caller's own records."""

from __future__ import annotations

import datetime as dt
import re

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.identity import Principal
from bot.records.money import pounds
from bot.records.pay import my_annual_tax_statement, my_pay_date, my_payslip, my_salary, my_tax_code
from bot.records.pension import my_pension

from . import services
from .base import Events
from .records_common import RecordsAction, date, entity, mentions, text_of

MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
MONTH = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b(?:\s+(20\d\d))?", re.I
)


def month_asked(tracker: Tracker) -> tuple[int | None, int | None]:
    """(month, year) the employee named ("October", "last month"), else (None, None)."""
    value = entity(tracker, "month") or ""
    text = text_of(tracker)
    match = MONTH.search(value) or MONTH.search(text)
    if match:
        month = [m[:3] for m in MONTHS].index(match.group(1).lower()[:3]) + 1
        return month, int(match.group(2)) if match.group(2) else None
    if re.search(r"\blast month\b|\bprevious month\b", text, re.I):
        today = services.today()
        first = today.replace(day=1)
        previous = first - dt.timedelta(days=1)
        return previous.month, previous.year
    return None, None


class ActionPayslip(RecordsAction):
    record_type = "payslip"

    def name(self) -> str:
        return "action_payslip"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        month, year = month_asked(tracker)
        result = await self.call(
            dispatcher,
            my_payslip,
            services.database(),
            principal,
            services.today(),
            month,
            year,
            about=mentions(tracker),
        )
        if result is None:
            return []
        slip = result.payslip
        if slip is None:
            if result.asked_for and result.latest_period:
                dispatcher.utter_message(
                    text=f"I can't find a payslip for {result.asked_for:%B %Y}. Your latest "
                    f"payslip is for {result.latest_period:%B %Y}: ask me about that month, "
                    "or see all your payslips in the HR self-service portal."
                )
            else:
                dispatcher.utter_message(response="utter_no_payslips")
            return []
        deductions = [
            f"tax {pounds(slip.tax)}",
            f"National Insurance {pounds(slip.ni)}",
            f"pension {pounds(slip.pension)}",
        ]
        if slip.other:
            deductions.append(f"other deductions {pounds(slip.other)}")
        dispatcher.utter_message(
            text=f"Your payslip for {slip.period_start:%B %Y} (paid {date(slip.pay_date)}): "
            f"gross pay {pounds(slip.gross)}, take-home pay {pounds(slip.net)}. "
            f"Deductions: {', '.join(deductions)}. Tax code {slip.tax_code}."
        )
        return []


class ActionPayDate(RecordsAction):
    record_type = "pay_date"

    def name(self) -> str:
        return "action_pay_date"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        result = await self.own_record(dispatcher, tracker, principal, my_pay_date)
        if result is None:
            return []
        text = f"Your next payday is {date(result.next_pay_date)} (pay for {result.period:%B})."
        if result.following:
            text += f" The one after is {date(result.following)}."
        if not result.from_payroll_calendar:
            text += " (Worked out as the last working day of the month: your payroll calendar has no date yet.)"
        dispatcher.utter_message(text=text)
        return []


class ActionSalaryInfo(RecordsAction):
    record_type = "salary"

    def name(self) -> str:
        return "action_salary_info"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        result = await self.own_record(dispatcher, tracker, principal, my_salary)
        if result is None:
            return []
        salary = result.salary
        if salary is None:
            dispatcher.utter_message(response="utter_no_salary_record")
            return []
        text = (
            f"Your salary is {pounds(salary.annual_salary)} a year (full-time equivalent), "
            f"grade {salary.pay_band}, since {date(salary.effective_from)} ({salary.reason})."
        )
        if result.actual_annual is not None:
            text += (
                f" You work {result.contracted_hours:g} hours a week, so you are paid "
                f"{pounds(result.actual_annual)} a year pro rata."
            )
        if salary.band_minimum is not None and salary.band_maximum is not None:
            text += (
                f" The {salary.pay_band} pay range in your department is "
                f"{pounds(salary.band_minimum)} to {pounds(salary.band_maximum)}"
            )
            text += (
                ": you are at the top of the range."
                if salary.annual_salary >= salary.band_maximum
                else ". Pay progression within the range follows your department's annual pay award."
            )
        dispatcher.utter_message(text=text)
        return []


class ActionTaxQuestion(RecordsAction):
    record_type = "tax_code"

    def name(self) -> str:
        return "action_tax_question"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        result = await self.own_record(dispatcher, tracker, principal, my_tax_code)
        if result is None:
            return []
        code = result.tax_code
        if code is None or result.meaning is None:
            dispatcher.utter_message(response="utter_no_tax_code")
            return []
        text = f"Your tax code is {code.code}, from {date(code.effective_from)} ({code.source})."
        if code.previous_code and code.previous_code != code.code:
            text += f" It changed from {code.previous_code}."
        text += " What it means: " + "; ".join(result.meaning.points) + "."
        dispatcher.utter_message(text=text)
        dispatcher.utter_message(response="utter_tax_code_hmrc")
        return []


class ActionAnnualTaxStatement(RecordsAction):
    record_type = "annual_tax_statement"

    def name(self) -> str:
        return "action_annual_tax_statement"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        result = await self.own_record(dispatcher, tracker, principal, my_annual_tax_statement)
        if result is None:
            return []
        year = f"{result.tax_year_start.year}-{str(result.tax_year_end.year)[2:]}"
        if result.payslips:
            when = (
                "is available now in the HR self-service portal under Pay > Documents"
                if result.available
                else f"will be in the HR self-service portal by {date(result.issued_by)}"
            )
            dispatcher.utter_message(
                text=f"Your P60 for the {year} tax year {when}. From your payslips it will show "
                f"pay of {pounds(result.total_pay)} and tax of {pounds(result.total_tax)} "
                f"({result.payslips} monthly payslips in this job)."
            )
        else:
            dispatcher.utter_message(
                text=f"I have no payslips for you in the {year} tax year, so there's no P60 from "
                "this job for that year. Your previous employer issues the P60 for their part."
            )
        dispatcher.utter_message(response="utter_p11d_guidance")
        return []


class ActionPensionQuestion(RecordsAction):
    record_type = "pension"

    def name(self) -> str:
        return "action_pension_question"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        result = await self.own_record(dispatcher, tracker, principal, my_pension)
        if result is None:
            return []
        if result.pension is None:
            dispatcher.utter_message(response="utter_no_pension_record")
            return []
        pension = result.pension
        if pension.scheme == "opted_out":
            text = (
                "You have opted out of the Civil Service pension, so nothing is deducted. "
                "You can rejoin at any time through the Civil Service Pension Scheme's website."
            )
        else:
            text = (
                f"You're in {result.scheme_name}, since {date(pension.joined_on)}. You pay "
                f"{pension.member_rate:f}% of your pensionable pay and your employer adds "
                f"{pension.employer_rate:f}%."
            )
            if result.last_payslip:
                text += (
                    f" Your last payslip ({result.last_payslip.period_start:%B %Y}) took "
                    f"{pounds(result.last_payslip.pension)} for your pension."
                )
        dispatcher.utter_message(text=text)
        dispatcher.utter_message(response="utter_pension_more")
        return []
