"""Service levels: response and resolution targets per priority, in working hours.

Targets are configured as `priority=response/resolution` hours, e.g. the default
`urgent=1/8,high=4/16,normal=8/40,low=16/80` (one working day is 8 hours). Due times are
computed on the business calendar and stored on the ticket when it is raised; the resolution
clock stops while the ticket waits for the employee and is extended by that working time.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.business_calendar import BusinessCalendar, calendar_from_settings
from bot.config import Settings
from bot.storage.times import as_utc

from .enums import Priority, TicketStatus
from .models import Ticket


class SlaConfigurationError(ValueError):
    """The SLA targets setting is malformed."""


@dataclass(frozen=True)
class Target:
    response: dt.timedelta
    resolution: dt.timedelta


def parse_targets(value: str) -> dict[Priority, Target]:
    """'urgent=1/8,high=4/16,...' → targets; every priority must be given once."""
    targets: dict[Priority, Target] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        try:
            name, hours = part.split("=")
            response, resolution = (float(h) for h in hours.split("/"))
            priority = Priority(name.strip().lower())
        except ValueError:
            raise SlaConfigurationError(
                f"bad SLA target {part!r}; expected e.g. high=4/16") from None
        if priority in targets:
            raise SlaConfigurationError(f"SLA target for {priority.value} given twice")
        if not 0 < response <= resolution:
            raise SlaConfigurationError(f"SLA target {part!r}: need 0 < response <= resolution")
        targets[priority] = Target(dt.timedelta(hours=response), dt.timedelta(hours=resolution))
    missing = set(Priority) - set(targets)
    if missing:
        raise SlaConfigurationError(
            "SLA targets missing for " + ", ".join(sorted(p.value for p in missing)))
    return targets


@dataclass(frozen=True)
class DueTimes:
    response: dt.datetime
    resolution: dt.datetime


@dataclass(frozen=True)
class SlaPolicy:
    calendar: BusinessCalendar
    targets: dict[Priority, Target]
    reopen_working_days: int = 10

    def due_times(self, priority: Priority, raised_at: dt.datetime) -> DueTimes:
        target = self.targets[priority]
        return DueTimes(
            response=self.calendar.add_working_time(raised_at, target.response),
            resolution=self.calendar.add_working_time(raised_at, target.resolution),
        )

    def reopen_deadline(self, finished_at: dt.datetime) -> dt.datetime:
        """The last moment a resolved or closed ticket may be reopened by its requester."""
        return self.calendar.add_working_days(as_utc(finished_at), self.reopen_working_days)

    def pause(self, ticket: Ticket, now: dt.datetime) -> None:
        """Stop the resolution clock (the ticket now waits for the employee)."""
        if ticket.sla_paused_at is None:
            ticket.sla_paused_at = now

    def resume(self, ticket: Ticket, now: dt.datetime) -> None:
        """Restart the clock: the resolution target moves by the working time spent waiting."""
        if ticket.sla_paused_at is None:
            return
        waited = self.calendar.working_time_between(as_utc(ticket.sla_paused_at), now)
        ticket.resolution_due_at = self.calendar.add_working_time(
            as_utc(ticket.resolution_due_at), waited)
        ticket.sla_paused_at = None

    def restart_resolution(self, ticket: Ticket, now: dt.datetime) -> None:
        """A reopened ticket gets a fresh resolution target from now."""
        target = self.targets[ticket.priority]
        ticket.resolution_due_at = self.calendar.add_working_time(now, target.resolution)
        ticket.resolution_breached = False

    def evaluate(self, ticket: Ticket, now: dt.datetime) -> bool:
        """Set the breached flags as of `now`; True when a flag changed.

        A flag, once set, stays set: a breach is a fact about the ticket's history.
        """
        changed = False
        responded = ticket.first_responded_at
        if not ticket.response_breached and _after(responded or now, ticket.response_due_at):
            ticket.response_breached = changed = True
        finished = ticket.resolved_at if ticket.status in FINISHED else None
        clock_stopped = ticket.sla_paused_at is not None and finished is None
        if not ticket.resolution_breached and not clock_stopped and _after(
            finished or now, ticket.resolution_due_at
        ):
            ticket.resolution_breached = changed = True
        return changed


FINISHED = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})


def _after(moment: dt.datetime, due: dt.datetime) -> bool:
    return as_utc(moment) > as_utc(due)


def policy_from_settings(settings: Settings) -> SlaPolicy:
    calendar = calendar_from_settings(
        settings.business_timezone, settings.business_hours, settings.bank_holiday_region
    )
    return SlaPolicy(calendar, parse_targets(settings.sla_targets),
                     settings.ticket_reopen_working_days)
