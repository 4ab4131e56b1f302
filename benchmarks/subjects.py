"""The benchmark's simulated employees and the warm-up every measurement starts from (shared
by `python -m benchmarks` and `benchmarks.profile`)."""
from __future__ import annotations

from sqlalchemy import select

from bot.demo.description import DEMO_EMPLOYEES, DEMO_WIDGET_ISSUER
from bot.storage.database import Database
from bot.storage.models import ChannelIdentity, Employee
from scripts.stack_process import StackProcess

from . import driver

WARM_UP_CONCURRENCY = 4
WARM_UP_MESSAGES = 120  # 12 conversations, spread over the workers


def add_widget_identities(database_url: str, subjects: list[str]) -> list[str]:
    """Widget identities for simulated employees, spread over the demo employees."""
    db = Database(database_url)
    try:
        with db.unit_of_work() as session:
            numbers = [d.number for d in DEMO_EMPLOYEES]
            ids = dict(session.execute(select(Employee.employee_number, Employee.id)
                                       .where(Employee.employee_number.in_(numbers))).all())
            session.add_all(ChannelIdentity(channel="widget", tenant=DEMO_WIDGET_ISSUER,
                                            subject=s, employee_id=ids[numbers[i % len(numbers)]])
                            for i, s in enumerate(subjects))
    finally:
        db.dispose()
    return subjects


def provision_subjects(database_url: str, level: int, count: int) -> list[str]:
    """`count` benchmark employees for one level (their names say which)."""
    return add_widget_identities(database_url, [f"bench-c{level}-{i:03d}" for i in range(count)])


async def warm_up(stack: StackProcess) -> None:
    """Every Rasa worker must have met each turn of the conversation before anything is timed
    or profiled: TensorFlow traces its graphs and the memoised predictions fill on first use,
    per worker."""
    subjects = provision_subjects(
        stack.database_url, 0, driver.identities_needed(WARM_UP_CONCURRENCY, WARM_UP_MESSAGES))
    await driver.run_conversations(stack.web, subjects, WARM_UP_CONCURRENCY, seconds=20,
                                   max_messages=WARM_UP_MESSAGES)
