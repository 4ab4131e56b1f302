"""The ticket worker process: the tickets' upkeep (`bot.tickets.upkeep`: flag SLA breaches,
deliver pending notifications) periodically; e-mails (GOV.UK Notify, when NOTIFY_API_KEY is
set) what the employee did not see in chat within EMAIL_AFTER_MINUTES (bot/email_notices);
the retention schedule once a day (bot/privacy/retention.py; one worker of several claims
each day's run; HELPDESK_RETENTION_INTERVAL_HOURS=0 turns it off); and the operational
gauges of service insight on its metrics listener (`bot.insight.runtime_gauges`).

Run with the services runtime: `python -m bot.ticket_worker [--once] [--interval 30]`.
It needs HELPDESK_DATABASE_URL, RASA_URL and RELAY_TICKETS_KEY (its key for Rasa's relay
channel, good for "run action_ticket_notify" only). Several workers may run: breach flagging
skips rows another worker has locked, and notification delivery is made single-shot by the
action that utters it.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import sys
from pathlib import Path

from bot import metrics
from bot.config import Settings
from bot.email_notices import service
from bot.email_notices.notify import NotifyMailer
from bot.insight.runtime_gauges import reader
from bot.privacy import retention
from bot.privacy.retention import RetentionSchedule
from bot.redaction.logs import configure_logging
from bot.relay import Relay, relay_session
from bot.storage.database import Database
from bot.tickets.sla import policy_from_settings
from bot.tickets.upkeep import run_once

log = logging.getLogger("bot.ticket_worker")


def apply_retention(db: Database, settings: Settings, schedule: RetentionSchedule) -> None:
    """One run of the retention schedule, on a thread of its own (it may take minutes)."""
    try:
        retention.run(db, schedule, settings.tracker_store_url, started_by="worker")
    except Exception as error:  # recorded as failed in retention_runs; the type only here
        log.error("retention.failed error=%s", type(error).__name__)


def email_pass(db: Database, settings: Settings, mailer: object) -> None:
    """Copy new notices, then e-mail the due ones nobody saw in chat (bot/email_notices)."""
    delay = dt.timedelta(minutes=settings.email_after_minutes)
    service.collect(db, delay)
    service.send_due(db, mailer, service.EmailSettings(  # type: ignore[arg-type]
        delay, dict(settings.notify_templates), settings.public_base_url))


class RetentionTimer:
    """Starts the day's retention run when this worker claims it; never two at once."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self.schedule = RetentionSchedule.parse(settings.retention_schedule)  # fails fast
        self.interval = dt.timedelta(hours=settings.retention_interval_hours)
        self.task: asyncio.Task[None] | None = None

    async def tick(self) -> None:
        if self.interval <= dt.timedelta(0) or (self.task is not None and not self.task.done()):
            return
        if await asyncio.to_thread(retention.claim_daily_run, self.db, self.interval):
            self.task = asyncio.create_task(asyncio.to_thread(
                apply_retention, self.db, self.settings, self.schedule))

    async def finish(self) -> None:
        if self.task is not None:
            await self.task


async def run(settings: Settings, interval: float, once: bool,
              heartbeat: Path | None = None) -> None:
    db = Database(settings.database_url)
    policy = policy_from_settings(settings)
    if settings.metrics_port:  # the internal metrics listener (docs/insight.md)
        metrics.serve(settings.metrics_host, settings.metrics_port,
                      metrics.HelpdeskCollector(reader(settings)))
    timer = RetentionTimer(db, settings)
    mailer = None
    if settings.notify_api_key:  # e-mail through GOV.UK Notify (off without a key)
        mailer = NotifyMailer(settings.notify_api_key, settings.notify_base_url)
    try:
        key = settings.require_relay_key("tickets")
        async with relay_session() as session:
            notifier = Relay(settings.rasa_url, "tickets", key, session)
            while True:
                try:
                    await run_once(db, policy, notifier)
                    if mailer is not None:
                        await asyncio.to_thread(email_pass, db, settings, mailer)
                    metrics.WORKER_PASSES.labels("ok").inc()
                    await timer.tick()
                    if heartbeat:  # a health check reads its age: a stuck worker goes stale
                        heartbeat.touch()
                except Exception as error:  # keep going; the type only (no personal data)
                    log.error("tickets.worker.failed error=%s", type(error).__name__)
                    metrics.WORKER_PASSES.labels("failed").inc()
                if once:
                    await timer.finish()
                    return
                await asyncio.sleep(interval)  # a polling period, not synchronisation
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.ticket_worker", description=__doc__)
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between passes")
    parser.add_argument("--heartbeat", type=Path, help="file touched after each good pass")
    args = parser.parse_args(argv)
    configure_logging()
    asyncio.run(run(Settings.from_env(), args.interval, args.once, args.heartbeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
