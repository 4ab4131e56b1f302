"""The tickets' periodic upkeep, one pass: flag SLA breaches, deliver pending notifications
(the ticket worker, `bot/ticket_worker.py`, runs it every few seconds)."""
from __future__ import annotations

import asyncio
import logging

from bot import metrics
from bot.relay import Relay
from bot.storage.database import Database

from .agent import flag_breaches
from .notifications import DeliveryReport, deliver_pending
from .sla import SlaPolicy

log = logging.getLogger(__name__)


async def run_once(db: Database, policy: SlaPolicy, notifier: Relay) -> DeliveryReport:
    flagged = await asyncio.to_thread(flag_breaches, db, policy)
    if flagged:
        log.info("tickets.sla.breached count=%d", flagged)
        metrics.SLA_BREACHES_FLAGGED.inc(flagged)
    report = await deliver_pending(db, notifier)
    metrics.NOTIFICATIONS.labels("pushed").inc(report.pushed)
    metrics.NOTIFICATIONS.labels("given_up").inc(report.given_up)
    return report
