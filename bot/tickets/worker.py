"""The ticket worker: flags SLA breaches and delivers pending notifications, periodically.

Run with the services runtime: `python -m bot.tickets.worker [--once] [--interval 30]`.
It needs HELPDESK_DATABASE_URL, RASA_URL and RASA_JWT_SECRET (the secret Rasa was started
with). Several workers may run: breach flagging skips rows another worker has locked, and
notification delivery is made single-shot by the action that utters it.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

import aiohttp

from bot.config import Settings
from bot.storage.database import Database

from .agent import flag_breaches
from .notifications import DeliveryReport, RasaNotifier, deliver_pending
from .sla import SlaPolicy, policy_from_settings

log = logging.getLogger("bot.tickets.worker")


async def run_once(db: Database, policy: SlaPolicy, notifier: RasaNotifier) -> DeliveryReport:
    flagged = await asyncio.to_thread(flag_breaches, db, policy)
    if flagged:
        log.info("tickets.sla.breached count=%d", flagged)
    return await deliver_pending(db, notifier)


async def run(settings: Settings, interval: float, once: bool,
              heartbeat: Path | None = None) -> None:
    db = Database(settings.database_url)
    policy = policy_from_settings(settings)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
            notifier = RasaNotifier(settings.rasa_url, settings.require_rasa_jwt_secret(), session)
            while True:
                try:
                    await run_once(db, policy, notifier)
                    if heartbeat:  # a health check reads its age: a stuck worker goes stale
                        heartbeat.touch()
                except Exception as error:  # keep going; the type only (no personal data)
                    log.error("tickets.worker.failed error=%s", type(error).__name__)
                if once:
                    return
                await asyncio.sleep(interval)  # a polling period, not synchronisation
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.tickets.worker", description=__doc__)
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between passes")
    parser.add_argument("--heartbeat", type=Path, help="file touched after each good pass")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(run(Settings.from_env(), args.interval, args.once, args.heartbeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
