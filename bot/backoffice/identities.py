"""Our employee -> a system of record's person: the identity mapping of the vendor adapters.

The rule (docs/backoffice.md): an employee's **employee number is the system's person
number** (Oracle HCM `PersonNumber`, SuccessFactors `personIdExternal` / `userId`), which is
how the HR feed that builds the helpdesk directory identifies people. On first use the
adapter looks the number up in the system (`lookup`) and stores what it answered in
`backoffice_identities` (Oracle's `PersonId` and `AssignmentId`, SuccessFactors' `userId`),
so later calls cost no look-up. An operator can insert a row by hand for a department whose
numbers differ; a stored row always wins. A number the system does not know maps to nobody:
the adapter answers "no record", never someone else's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.storage.database import Database
from bot.storage.models import Department, Employee

from .models import ExternalIdentity


@dataclass(frozen=True)
class ExternalPerson:
    person_id: str
    person_number: str
    assignment_id: str | None = None


Lookup = Callable[[str], ExternalPerson | None]


class IdentityMap:
    def __init__(self, db: Database, system: str, lookup: Lookup) -> None:
        self.db, self.system, self.lookup = db, system, lookup
        self._known: dict[int, ExternalPerson] = {}
        self._lock = threading.Lock()

    def person(self, employee_id: int) -> ExternalPerson | None:
        with self._lock:
            if employee_id in self._known:
                return self._known[employee_id]
        with self.db.unit_of_work() as session:
            row = session.scalar(select(ExternalIdentity).where(
                ExternalIdentity.employee_id == employee_id, ExternalIdentity.system == self.system))
            number = session.scalar(select(Employee.employee_number).where(Employee.id == employee_id))
        if row is not None:
            found: ExternalPerson | None = ExternalPerson(row.person_id, row.person_number,
                                                          row.assignment_id)
        elif number is None:
            return None
        else:
            found = self.lookup(number)
            if found is None:
                return None
            try:
                with self.db.unit_of_work() as session:
                    session.add(ExternalIdentity(
                        employee_id=employee_id, system=self.system, person_id=found.person_id,
                        person_number=found.person_number, assignment_id=found.assignment_id))
            except IntegrityError:
                pass  # another worker stored the same answer first
        with self._lock:
            self._known[employee_id] = found  # type: ignore[assignment]
        return found

    def employee_for(self, person_number: str) -> int | None:
        """Our employee with that person number (the reverse mapping), if any."""
        with self.db.unit_of_work() as session:
            stored = session.scalar(select(ExternalIdentity.employee_id).where(
                ExternalIdentity.system == self.system,
                ExternalIdentity.person_number == person_number))
            if stored is not None:
                return stored
            return session.scalar(select(Employee.id).where(Employee.employee_number == person_number))


@dataclass(frozen=True)
class DirectoryFacts:
    """What the identity directory knows of an employee, for every adapter alike: the org
    chart (who manages whom) is the directory's, kept in step by the HR feed."""

    department_id: int
    department_name: str
    line_manager_id: int | None


def directory_facts(db: Database, employee_id: int) -> DirectoryFacts | None:
    with db.unit_of_work() as session:
        row = session.execute(
            select(Employee.department_id, Department.name, Employee.line_manager_id)
            .join(Department, Department.id == Employee.department_id)
            .where(Employee.id == employee_id)
        ).first()
    return DirectoryFacts(row[0], row[1], row[2]) if row else None
