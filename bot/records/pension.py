"""Civil Service pension: the caller's scheme, contribution rate and last contribution."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from bot.identity import EmployeeRef, Principal
from bot.storage.database import Database

from .access import read_own
from bot.backoffice.registry import backoffice
from bot.backoffice.types import PayslipView, PensionView


SCHEME_NAMES = {
    "alpha": "alpha (the Civil Service career average scheme)",
    "classic": "classic (final salary, closed to new members)",
    "premium": "premium (final salary, closed to new members)",
    "nuvos": "nuvos (career average, closed to new members)",
    "partnership": "the partnership pension account (a stakeholder pension)",
    "opted_out": "no scheme: you have opted out",
}


@dataclass(frozen=True)
class PensionAnswer:
    pension: PensionView | None
    scheme_name: str | None
    last_payslip: PayslipView | None


def my_pension(
    db: Database, principal: Principal, today: dt.date, *, about: Iterable[str] = ()
) -> PensionAnswer:
    def read(me: EmployeeRef) -> PensionAnswer:
        payroll = backoffice(db).payroll
        pension = payroll.pension(me.id)
        slips = payroll.payslips(me.id, limit=1)
        return PensionAnswer(
            pension,
            SCHEME_NAMES.get(pension.scheme) if pension else None,
            slips[0] if slips else None,
        )

    return read_own(db, principal, "pension", read, about=about)
