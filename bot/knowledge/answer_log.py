"""What an employee was told: the record of policy answers, read back.

`answers_for_employee` is the reusable read (plain values, no audit of its own: a subject access
export calls it inside its own audited unit of work). `answers_given` is the console's: it finds
the employee by number and audits the read under the console user's principal.

Each answer is shown as it was given: the article version and section are immutable, so the
excerpt is rebuilt from the stored text exactly as the assistant quoted it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.audit import record_access
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditOutcome, Employee

from .answering import excerpt
from .models import KbAnswer, KbArticleVersion, KbSection

ZONE = ZoneInfo("Europe/London")
MAX_ROWS = 500


@dataclass(frozen=True)
class GivenAnswer:
    at: dt.datetime
    conversation_id: str
    channel: str
    answered: bool  # False: "I don't have an article on that"
    topic: str | None = None
    article_id: int | None = None
    version: int | None = None
    title: str = ""
    section: str = ""
    excerpt: str = ""


@dataclass(frozen=True)
class EmployeeAnswers:
    employee_number: str
    name: str
    answers: list[GivenAnswer]


def _bounds(start: dt.date | None, end: dt.date | None) -> tuple[dt.datetime | None,
                                                                 dt.datetime | None]:
    """UTC instants of the local (UK) days from `start` to `end`, both inclusive."""
    low = dt.datetime.combine(start, dt.time(), ZONE).astimezone(dt.timezone.utc) \
        if start else None
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), ZONE).astimezone(
        dt.timezone.utc) if end else None
    return low, high


def answers_for_employee(session: Session, employee_id: int, start: dt.date | None = None,
                         end: dt.date | None = None, limit: int = MAX_ROWS) -> list[GivenAnswer]:
    """The policy answers given to one employee between two local days, oldest first."""
    low, high = _bounds(start, end)
    query = (select(KbAnswer, KbArticleVersion, KbSection)
             .outerjoin(KbArticleVersion, (KbArticleVersion.article_id == KbAnswer.article_id)
                        & (KbArticleVersion.version == KbAnswer.version))
             .outerjoin(KbSection, (KbSection.version_id == KbArticleVersion.id)
                        & (KbSection.position == KbAnswer.section_position))
             .where(KbAnswer.employee_id == employee_id)
             .order_by(KbAnswer.at, KbAnswer.id).limit(limit))
    if low is not None:
        query = query.where(KbAnswer.at >= low)
    if high is not None:
        query = query.where(KbAnswer.at < high)
    given = []
    for answer, version, section in session.execute(query).all():
        if version is None:
            given.append(GivenAnswer(answer.at, answer.conversation_id, answer.channel,
                                     answer.answered, answer.topic, answer.article_id,
                                     answer.version))
            continue
        heading, text = (section.heading, section.body) if section is not None \
            else (version.title, version.summary)  # position 0: the summary
        given.append(GivenAnswer(answer.at, answer.conversation_id, answer.channel,
                                 answer.answered, answer.topic, answer.article_id,
                                 answer.version, version.title, heading, excerpt(text)))
    return given


class EmployeeNotFound(LookupError):
    pass


def answers_given(db: Database, reader: Principal, employee_number: str,
                  start: dt.date | None = None, end: dt.date | None = None) -> EmployeeAnswers:
    """The console's view of one employee's answers; the read is audited."""
    with db.unit_of_work() as session:
        employee = session.execute(select(Employee).where(
            Employee.employee_number == employee_number.strip().upper())).scalar_one_or_none()
        if employee is None:
            raise EmployeeNotFound("There is no employee with that number.")
        answers = answers_for_employee(session, employee.id, start, end)
        record_access(session, principal=reader, actor=None, subject_employee_id=employee.id,
                      record_type="knowledge_answers", outcome=AuditOutcome.ALLOWED)
        return EmployeeAnswers(employee.employee_number,
                               f"{employee.given_name} {employee.family_name}", answers)
