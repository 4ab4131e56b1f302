"""What the employee is told when a system of record is slow, down, or decides elsewhere.

Never a wrong or a silent answer: either the last answer the system gave, labelled with its
time and age, or a plain "it is not answering" with an offer to raise a ticket. A write whose
outcome is unknown is said to be unknown (it is reconciled, never sent twice).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.backoffice.errors import (
    DecidedElsewhere,
    OutcomeUnknown,
    RecordRejected,
    StaleAnswer,
    SystemUnavailable,
)

LONDON = ZoneInfo("Europe/London")


def _capital(system: str) -> str:
    return system[:1].upper() + system[1:]


def stale_notice(stale: StaleAnswer, now: dt.datetime | None = None) -> str:
    """E.g. "The HR system isn't answering just now. This is what it told me at 09:14
    (23 minutes ago):" — said before the answer built from that copy."""
    moment = now or dt.datetime.now(dt.timezone.utc)
    minutes = max(0, int((moment - stale.at).total_seconds() // 60))
    age = "less than a minute ago" if minutes == 0 else (
        "1 minute ago" if minutes == 1 else
        f"{minutes} minutes ago" if minutes < 120 else f"{minutes // 60} hours ago")
    local = stale.at.astimezone(LONDON)
    day = "" if local.date() == moment.astimezone(LONDON).date() else f" on {local:%A %-d %B}"
    return (f"{_capital(stale.system)} isn't answering just now. This is what it told me at "
            f"{local:%H:%M}{day} ({age}), so it may have changed since:")


def backoffice_reply(error: Exception) -> str | None:
    """The words for a back-office failure, or None if it is not one."""
    if isinstance(error, SystemUnavailable):
        return (f"{_capital(error.system)} isn't answering just now, so I can't look that up or "
                "change anything at the moment; nothing has been changed. Please try again in a "
                'few minutes, or say "raise a ticket" and the team will come back to you.')
    if isinstance(error, OutcomeUnknown):
        return (f"I sent that to {error.system}, but it didn't confirm in time, so I can't tell "
                "yet whether it went through. I won't send it twice: ask me again in a minute "
                "and I'll check what it recorded.")
    if isinstance(error, DecidedElsewhere):
        return (f"Leave is approved or rejected in {error.system}, not in this chat: "
                "please decide it there.")
    if isinstance(error, RecordRejected):
        return f"That wasn't accepted: {error.reason}. Nothing has been changed."
    return None
